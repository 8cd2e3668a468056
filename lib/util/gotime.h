/*
 * The time.Time text forms Docker writes and prints (RFC 3339, RFC3339Nano,
 * String()).  Times are (unix seconds, nanoseconds 0..999999999); dates use
 * the proleptic Gregorian calendar like Go, so the Go zero time
 * 0001-01-01T00:00:00Z is GOTIME_ZERO_UNIX.
 */
#ifndef STRATA_UTIL_GOTIME_H
#define STRATA_UTIL_GOTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "strata/error.h"
#include "util/strbuf.h"

#define GOTIME_NS_PER_SEC 1000000000LL
#define GOTIME_ZERO_UNIX (-62135596800LL)

/*
 * Parse an RFC 3339 timestamp as Go's time.Parse(time.RFC3339Nano, s):
 * "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)".  Digits beyond the
 * ninth of the fraction are ignored (Go truncates too).
 */
int gotime_parse_rfc3339(const char *s, int64_t *sec, int32_t *nsec,
			struct strata_error **err);

/*
 * A time.Time read from JSON and marshalled again (UnmarshalJSON, then
 * MarshalJSON): s in its own zone as RFC3339Nano, the fraction's trailing
 * zeros dropped, a zero offset written "Z".  Fails as gotime_parse_rfc3339.
 */
int gotime_remarshal(struct strbuf *sb, const char *s, struct strata_error **err);

/* The clock's now as RFC3339Nano UTC (a store's fixed time: store_format_now). */
void gotime_format_now(struct strbuf *sb);

/* time.Time.UTC().Format(time.RFC3339Nano): "2026-11-28T14:53:15.93392465Z". */
void gotime_format_rfc3339nano_utc(struct strbuf *sb, int64_t sec, int32_t nsec);
/* Format(time.RFC3339) in UTC ("...Z") or, when local, the local zone (TZ). */
void gotime_format_rfc3339(struct strbuf *sb, int64_t sec, bool local);
/* time.Time.String(): "2026-11-28 14:46:32.334629242 +0000 UTC". */
void gotime_format_go_time(struct strbuf *sb, int64_t sec, int32_t nsec, bool local);

#endif
