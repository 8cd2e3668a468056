/* Cleanup attributes so every early return frees what it owns (crun, systemd). */
#ifndef STRATA_UTIL_CLEANUP_H
#define STRATA_UTIL_CLEANUP_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <jansson.h>

static inline void strata_freep(void *p) { free(*(void **)p); }
static inline void strata_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void strata_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline void strata_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
static inline void strata_json_decrefp(json_t **j) { json_decref(*j); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(strata_freep)
#define _cleanup_close_ _cleanup_(strata_closep)
#define _cleanup_fclose_ _cleanup_(strata_fclosep)
#define _cleanup_closedir_ _cleanup_(strata_closedirp)
#define _cleanup_json_ _cleanup_(strata_json_decrefp)
#define _cleanup_error_ _cleanup_(strata_error_freep)

/* Hand ownership over: return the value and leave NULL / -1 behind. */
#define steal_pointer(pp)                                                        \
	({                                                                       \
		__typeof__(*(pp)) _v = *(pp);                                    \
		*(pp) = NULL;                                                    \
		_v;                                                              \
	})
static inline int steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

#endif
