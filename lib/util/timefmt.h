/* Timestamps as Go's time package writes them in Docker's files. */
#ifndef STRATA_UTIL_TIMEFMT_H
#define STRATA_UTIL_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* RFC3339Nano in UTC with trailing zeros of the fraction trimmed
 * ("2026-11-28T14:53:15.93392465Z", no fraction when nsec is 0). */
void timefmt_rfc3339nano_utc(char *buf, size_t size, int64_t sec, long nsec);

#endif
