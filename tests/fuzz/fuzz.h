/*
 * Shared pieces of the libFuzzer targets (tests/fuzz/fuzz-*.c): each defines
 * LLVMFuzzerTestOneInput, built with clang -fsanitize=fuzzer for `make fuzz`
 * and with replay.c's main for `make check` (tests/cli/t0730 replays the
 * committed corpora, so a crasher once found stays a regression test).
 */
#ifndef STRATA_FUZZ_H
#define STRATA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "strata/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A byte stream over the input, for stream_read_fn consumers. */
struct fuzz_input {
	const uint8_t *data;
	size_t size, pos;
};

static inline ssize_t fuzz_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct fuzz_input *in = cookie;
	size_t n = in->size - in->pos;

	(void)err;
	/* short reads on purpose: readers must not assume full buffers */
	if (n > len)
		n = len;
	if (n > 4096 && (in->pos & 1))
		n = 4096;
	memcpy(buf, in->data + in->pos, n);
	in->pos += n;
	return (ssize_t)n;
}

static inline int fuzz_discard(void *cookie, const void *data, size_t len,
			       struct strata_error **err)
{
	(void)cookie;
	(void)data;
	(void)len;
	(void)err;
	return 0;
}

/* An anonymous file holding data (fd-based readers); -1 on failure. */
static inline int fuzz_memfd(const void *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

#endif
