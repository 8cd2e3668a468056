/* The one reader and one writer shape of every byte stream in the library. */
#ifndef STRATA_UTIL_STREAM_H
#define STRATA_UTIL_STREAM_H

#include <stddef.h>
#include <sys/types.h>

#include "strata/error.h"

/* Source of bytes: bytes read, 0 at the end of input, < 0 with err set. */
typedef ssize_t (*stream_read_fn)(void *cookie, void *buf, size_t len, struct strata_error **err);
/* Sink of bytes: 0 when all len bytes were taken, < 0 with err set. */
typedef int (*stream_write_fn)(void *cookie, const void *data, size_t len, struct strata_error **err);

#endif
