/* In-memory sources and sinks for the unit tests of the streaming code. */
#ifndef STRATA_TESTS_MEMIO_H
#define STRATA_TESTS_MEMIO_H

#include <string.h>
#include <sys/types.h>

#include "strata/error.h"
#include "util/strbuf.h"

struct mem {
	const unsigned char *p;
	size_t len, pos;
	size_t chunk; /* most bytes per read (0: no limit): short reads exercise refills */
};

/* stream_read_fn over a struct mem */
static inline ssize_t mem_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct mem *m = cookie;
	size_t n = m->len - m->pos;

	if (n > len)
		n = len;
	if (m->chunk && n > m->chunk)
		n = m->chunk;
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

/* write callback appending to a struct strbuf */
static inline int sb_write(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	strbuf_add(cookie, data, len);
	return 0;
}

#endif
