/* One error type carried up through libstrata with context (crun style). */
#ifndef STRATA_ERROR_H
#define STRATA_ERROR_H

#include <stddef.h>

#include "strata/export.h"

#ifdef __cplusplus
extern "C" {
#endif

enum strata_errcode {
	STRATA_ERR_IO = 1,
	STRATA_ERR_NOSPC,
	STRATA_ERR_NOT_FOUND,
	STRATA_ERR_EXISTS,
	STRATA_ERR_INVALID,
	STRATA_ERR_TOO_LARGE,
	STRATA_ERR_UNSAFE_PATH,
	STRATA_ERR_DIGEST_MISMATCH,
	STRATA_ERR_CORRUPT,
	STRATA_ERR_BUSY,
	STRATA_ERR_CONFLICT,
	STRATA_ERR_NET,
	STRATA_ERR_AUTH,
	STRATA_ERR_UNSUPPORTED,
	STRATA_ERR_INTERRUPTED,
};

struct strata_error {
	enum strata_errcode code;
	int sys_errno; /* 0 when the failure did not come from a syscall */
	char *msg;     /* "outer context: inner context: cause" */
};

/*
 * Record an error in *err (when err is not NULL and holds none yet) and
 * return -code, so "return strata_error_set(...)" propagates.  When
 * sys_errno is not 0, ": strerror(sys_errno)" is appended.
 */
STRATA_PUBLIC int strata_error_set(struct strata_error **err, enum strata_errcode code,
				   int sys_errno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prepend "context: " to the message of *err; returns -code. */
STRATA_PUBLIC int strata_error_wrap(struct strata_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A function never frees or replaces the error its caller passed in.  Code
 * that tries something and falls back keeps a local error and frees it, or
 * hands it up with propagate: into *err when err is not NULL and holds none
 * yet, else freed.  Returns -code of e (-STRATA_ERR_IO when e is NULL).
 */
STRATA_PUBLIC int strata_error_propagate(struct strata_error **err, struct strata_error *e);

/* Give the error in *err a new code on purpose (message kept); returns -code. */
STRATA_PUBLIC int strata_error_recode(struct strata_error **err, enum strata_errcode code);

STRATA_PUBLIC void strata_error_free(struct strata_error *err);

/*
 * The enumerator's name of code ("STRATA_ERR_NOT_FOUND"), for logs and
 * language bindings; code may also be negated, as functions return it.
 * "STRATA_ERR_UNKNOWN" for any other value.
 */
STRATA_PUBLIC const char *strata_error_name(int code);

/* Drop the error held in *err; err itself may be NULL (caller ignores errors). */
static inline void strata_error_freep(struct strata_error **err)
{
	if (!err)
		return;
	strata_error_free(*err);
	*err = NULL;
}

#ifdef __cplusplus
}
#endif

#endif
