/* go-units sizes/durations and Go time formats. */
#include <stdlib.h>
#include <time.h>

#include "format/units.h"
#include "util/gotime.h"
#include "tap.h"
#include "util/cleanup.h"

static void size_is(double v, const char *want)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	units_human_size(&sb, v);
	is_str(sb.buf, want, "size %.0f -> %s", v, want);
}

#define SEC 1000000000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define WEEK (7 * DAY)
#define MONTH (30 * DAY)
#define YEAR (365 * DAY)

static void dur_is(int64_t ns, const char *want)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	units_human_duration(&sb, ns);
	is_str(sb.buf, want, "duration %lld ns -> %s", (long long)ns, want);
}

static void rfc_roundtrip(const char *in, const char *want_nano, int64_t want_sec)
{
	_cleanup_error_ struct strata_error *err = NULL;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	int64_t sec = 0;
	int32_t nsec = 0;

	ok(gotime_parse_rfc3339(in, &sec, &nsec, &err) == 0, "parse %s", in);
	ok(sec == want_sec, "%s -> %lld (got %lld)", in, (long long)want_sec,
	   (long long)sec);
	gotime_format_rfc3339nano_utc(&sb, sec, nsec);
	is_str(sb.buf, want_nano, "rfc3339nano of %s", in);
}

static void rfc_bad(const char *in)
{
	_cleanup_error_ struct strata_error *err = NULL;
	int64_t sec;
	int32_t nsec;

	ok(gotime_parse_rfc3339(in, &sec, &nsec, &err) < 0 && err &&
		   err->code == STRATA_ERR_INVALID,
	   "reject '%s' (%s)", in, err ? err->msg : "no error");
}

int main(void)
{
	/* The whole SIZE table of size/round-20.10.txt. */
	static const struct {
		double v;
		const char *s;
	} sizes[] = {
		{ 0, "0B" },		 { 1, "1B" },		{ 999, "999B" },
		{ 1000, "1kB" },	 { 1001, "1kB" },	{ 1234, "1.23kB" },
		{ 9994, "9.99kB" },	 { 9995, "9.99kB" },	{ 9996, "10kB" },
		{ 99949, "99.9kB" },	 { 99950, "100kB" },	{ 999499, "999kB" },
		{ 999500, "1e+03kB" },	 { 999999, "1e+03kB" }, { 1000000, "1MB" },
		{ 1234567, "1.23MB" },	 { 1982326, "1.98MB" }, { 1982359, "1.98MB" },
		{ 23, "23B" },		 { 1e9, "1GB" },	{ 1e12, "1TB" },
		{ 1e15, "1PB" },	 { 1e18, "1EB" },	{ 1e21, "1ZB" },
		{ 1e24, "1YB" },	 { 1e27, "1e+03YB" },
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		size_is(sizes[i].v, sizes[i].s);
	{
		_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

		units_human_size_prec(&sb, 1982326, 4); /* HumanSize */
		is_str(sb.buf, "1.982MB", "HumanSize precision 4");
	}

	/* go-units duration_test.go thresholds. */
	dur_is(0, "Less than a second");
	dur_is(-5 * SEC, "Less than a second");
	dur_is(450 * 1000000LL, "Less than a second");
	dur_is(SEC - 1, "Less than a second");
	dur_is(SEC, "1 second");
	dur_is(2 * SEC - 1, "1 second");
	dur_is(2 * SEC, "2 seconds");
	dur_is(45 * SEC, "45 seconds");
	dur_is(59 * SEC, "59 seconds");
	dur_is(60 * SEC, "About a minute");
	dur_is(119 * SEC, "About a minute");
	dur_is(2 * MIN, "2 minutes");
	dur_is(3 * MIN, "3 minutes");
	dur_is(35 * MIN + 40 * SEC, "35 minutes");
	dur_is(59 * MIN + 59 * SEC, "59 minutes");
	dur_is(HOUR, "About an hour");
	dur_is(HOUR + 29 * MIN, "About an hour");
	dur_is(HOUR + 30 * MIN, "2 hours");
	dur_is(HOUR + 31 * MIN, "2 hours");
	dur_is(3 * HOUR + 29 * MIN, "3 hours");
	dur_is(3 * HOUR + 31 * MIN, "4 hours");
	dur_is(24 * HOUR, "24 hours");
	dur_is(DAY + 12 * HOUR, "36 hours");
	dur_is(47 * HOUR + 29 * MIN, "47 hours");
	dur_is(47 * HOUR + 30 * MIN, "2 days");
	dur_is(2 * DAY, "2 days");
	dur_is(13 * DAY + 5 * HOUR, "13 days");
	dur_is(2 * WEEK, "2 weeks");
	dur_is(2 * WEEK + 4 * DAY, "2 weeks");
	dur_is(4 * WEEK + 3 * DAY, "4 weeks");
	dur_is(MONTH, "4 weeks");
	dur_is(MONTH + 2 * WEEK, "6 weeks");
	dur_is(2 * MONTH - HOUR, "8 weeks");
	dur_is(2 * MONTH, "2 months");
	dur_is(3 * MONTH + WEEK, "3 months");
	dur_is(13 * MONTH, "13 months");
	dur_is(24 * MONTH, "24 months");
	dur_is(24 * MONTH + 2 * WEEK, "2 years");
	dur_is(3 * YEAR + 2 * MONTH, "3 years");
	dur_is(5 * MIN + 43 * SEC, "5 minutes");

	/* RFC 3339 parse / RFC3339Nano format. */
	rfc_roundtrip("2026-11-28T14:53:15.93392465Z", "2026-11-28T14:53:15.93392465Z",
		      1795877595);
	rfc_roundtrip("2026-11-28T14:46:32.334629242Z",
		      "2026-11-28T14:46:32.334629242Z", 1795877192);
	rfc_roundtrip("2026-11-28T14:46:32Z", "2026-11-28T14:46:32Z", 1795877192);
	rfc_roundtrip("2026-11-28T14:46:32.000Z", "2026-11-28T14:46:32Z", 1795877192);
	rfc_roundtrip("2026-11-28T15:46:32.5+01:00", "2026-11-28T14:46:32.5Z",
		      1795877192);
	rfc_roundtrip("2026-11-28T09:16:32-05:30", "2026-11-28T14:46:32Z", 1795877192);
	rfc_roundtrip("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z", 0);
	rfc_roundtrip("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z",
		      GOTIME_ZERO_UNIX);
	rfc_roundtrip("2000-02-29T23:59:59.1234567891Z", "2000-02-29T23:59:59.123456789Z",
		      951868799);
	rfc_bad("");
	rfc_bad("2026-11-28");
	rfc_bad("2026-11-28T14:46:32");
	rfc_bad("2026-11-28 14:46:32Z");
	rfc_bad("2026-11-28T14:46:32Zjunk");
	rfc_bad("2026-13-28T14:46:32Z");
	rfc_bad("2026-02-29T14:46:32Z");
	rfc_bad("2026-11-28T24:00:00Z");
	rfc_bad("2026-11-28T14:46:32.Z");
	rfc_bad("2026-11-28T14:46:32+0100");
	rfc_bad("2026-11-28T14:46:32+25:00");
	rfc_bad("26-11-28T14:46:32Z");

	/* RFC 3339 seconds (history -H=false) and Go's String(). */
	{
		_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

		gotime_format_rfc3339(&sb, 1795877192, false);
		is_str(sb.buf, "2026-11-28T14:46:32Z", "RFC 3339 UTC");
		setenv("TZ", "UTC", 1);
		tzset();
		strbuf_reset(&sb);
		gotime_format_rfc3339(&sb, 1795877192, true);
		is_str(sb.buf, "2026-11-28T14:46:32Z", "RFC 3339 local=UTC");
		setenv("TZ", "Europe/Paris", 1);
		tzset();
		strbuf_reset(&sb);
		gotime_format_rfc3339(&sb, 1795877192, true);
		is_str(sb.buf, "2026-11-28T15:46:32+01:00", "RFC 3339 local +01:00");
		strbuf_reset(&sb);
		gotime_format_go_time(&sb, 1795877192, 0, true);
		is_str(sb.buf, "2026-11-28 15:46:32 +0100 CET", "String() local");
		setenv("TZ", "America/St_Johns", 1);
		tzset();
		strbuf_reset(&sb);
		gotime_format_rfc3339(&sb, 1795877192, true);
		is_str(sb.buf, "2026-11-28T11:16:32-03:30", "RFC 3339 local -03:30");
		strbuf_reset(&sb);
		gotime_format_go_time(&sb, 1795877192, 334629242, false);
		is_str(sb.buf, "2026-11-28 14:46:32.334629242 +0000 UTC", "String() UTC");
		strbuf_reset(&sb);
		gotime_format_go_time(&sb, GOTIME_ZERO_UNIX, 0, false);
		is_str(sb.buf, "0001-01-01 00:00:00 +0000 UTC", "zero time String()");
		strbuf_reset(&sb);
		gotime_format_rfc3339(&sb, GOTIME_ZERO_UNIX, false);
		is_str(sb.buf, "0001-01-01T00:00:00Z", "zero time RFC 3339");
	}
	return tap_done();
}
