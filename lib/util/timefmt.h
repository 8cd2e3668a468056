/* Timestamps as Go's time package writes them in Docker's files. */
#ifndef STRATA_UTIL_TIMEFMT_H
#define STRATA_UTIL_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* RFC3339Nano in UTC with trailing zeros of the fraction trimmed
 * ("2026-11-28T14:53:15.93392465Z", no fraction when nsec is 0). */
void timefmt_rfc3339nano_utc(char *buf, size_t size, int64_t sec, long nsec);



/* Now as RFC3339Nano UTC, or SOURCE_DATE_EPOCH when set (reproducible stores). */
void timefmt_now(char *buf, size_t size);

/*
 * Parse RFC 3339 ("2026-11-28T14:46:32.334629242Z", "...+01:00") into Unix
 * seconds and nanoseconds; returns -1 on anything else.
 */
int timefmt_parse_rfc3339(const char *s, int64_t *sec, long *nsec);
#endif
