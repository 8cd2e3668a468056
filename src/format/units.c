/* Sizes, durations and timestamps printed the way docker's Go code does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/units.h"
#include "util/gotime.h"

static const char *const size_units[] = { "B", "kB", "MB", "GB", "TB",
					   "PB", "EB", "ZB", "YB" };

void units_human_size_prec(struct strbuf *sb, double bytes, int precision)
{
	size_t i = 0, last = sizeof(size_units) / sizeof(size_units[0]) - 1;

	/* Divide while >= 1000, stopping at the largest unit (go-units). */
	while (bytes >= 1000.0 && i < last) {
		bytes /= 1000.0;
		i++;
	}
	/*
	 * Go's %.Ng and C's %.Ng agree for finite values: the same exponent
	 * rule (exp < -4 || exp >= N), trailing zeros removed, and an
	 * exponent of at least two digits ("1e+03").  Only NaN/Inf differ.
	 */
	if (bytes != bytes)
		strbuf_addstr(sb, "NaN");
	else if (bytes > 1e308)
		strbuf_addstr(sb, "+Inf");
	else if (bytes < -1e308)
		strbuf_addstr(sb, "-Inf");
	else
		strbuf_addf(sb, "%.*g", precision, bytes);
	strbuf_addstr(sb, size_units[i]);
}

void units_human_size(struct strbuf *sb, double bytes)
{
	units_human_size_prec(sb, bytes, 3);
}

/* time.Duration.Seconds()/Minutes()/Hours(): whole units + fraction. */
static double dur_in(int64_t ns, int64_t unit)
{
	return (double)(ns / unit) + (double)(ns % unit) / (double)unit;
}

void units_human_duration(struct strbuf *sb, int64_t ns)
{
	const int64_t minute = 60 * GOTIME_NS_PER_SEC, hour = 60 * minute;
	int64_t seconds = (int64_t)dur_in(ns, GOTIME_NS_PER_SEC);
	int64_t minutes, hours;

	if (seconds < 1) {
		strbuf_addstr(sb, "Less than a second");
		return;
	}
	if (seconds == 1) {
		strbuf_addstr(sb, "1 second");
		return;
	}
	if (seconds < 60) {
		strbuf_addf(sb, "%lld seconds", (long long)seconds);
		return;
	}
	minutes = (int64_t)dur_in(ns, minute);
	if (minutes == 1) {
		strbuf_addstr(sb, "About a minute");
		return;
	}
	if (minutes < 60) {
		strbuf_addf(sb, "%lld minutes", (long long)minutes);
		return;
	}
	hours = (int64_t)(dur_in(ns, hour) + 0.5); /* rounded */
	if (hours == 1)
		strbuf_addstr(sb, "About an hour");
	else if (hours < 48)
		strbuf_addf(sb, "%lld hours", (long long)hours);
	else if (hours < 24 * 7 * 2)
		strbuf_addf(sb, "%lld days", (long long)(hours / 24));
	else if (hours < 24 * 30 * 2)
		strbuf_addf(sb, "%lld weeks", (long long)(hours / 24 / 7));
	else if (hours < 24 * 365 * 2)
		strbuf_addf(sb, "%lld months", (long long)(hours / 24 / 30));
	else /* years use the truncated hour count */
		strbuf_addf(sb, "%lld years",
			    (long long)((int64_t)dur_in(ns, hour) / 24 / 365));
}
