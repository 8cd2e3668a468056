/* Go's time.Time text forms: RFC 3339 parsing and the layouts Docker prints. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/gotime.h"

/* ---- calendar ---------------------------------------------------------- */

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool parse_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

int gotime_parse_rfc3339(const char *s, int64_t *sec, int32_t *nsec,
			struct strata_error **err)
{
	const char *p = s;
	int year, mon, day, hh, mm, ss, oh = 0, om = 0, sign = 0;
	int32_t frac = 0;

	if (!parse_digits(&p, 4, &year) || *p++ != '-' ||
	    !parse_digits(&p, 2, &mon) || *p++ != '-' ||
	    !parse_digits(&p, 2, &day) || *p++ != 'T' ||
	    !parse_digits(&p, 2, &hh) || *p++ != ':' ||
	    !parse_digits(&p, 2, &mm) || *p++ != ':' ||
	    !parse_digits(&p, 2, &ss))
		goto bad;
	if (*p == '.' || *p == ',') {
		int n = 0;

		p++;
		if (*p < '0' || *p > '9')
			goto bad;
		while (*p >= '0' && *p <= '9') {
			if (n < 9) {
				frac = frac * 10 + (*p - '0');
				n++;
			}
			p++;
		}
		for (; n < 9; n++)
			frac *= 10;
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (!parse_digits(&p, 2, &oh) || *p++ != ':' ||
		    !parse_digits(&p, 2, &om))
			goto bad;
		if (oh > 23 || om > 59)
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"parsing time \"%s\": time zone offset out of range", s);
	} else {
		goto bad;
	}
	if (*p)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"parsing time \"%s\": extra text", s);
	if (mon < 1 || mon > 12)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"parsing time \"%s\": month out of range", s);
	if (day < 1 || day > days_in_month(year, mon))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"parsing time \"%s\": day out of range", s);
	if (hh > 23 || mm > 59 || ss > 59)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"parsing time \"%s\": time out of range", s);
	*sec = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss -
	       (int64_t)sign * (oh * 3600 + om * 60);
	*nsec = frac;
	return 0;
bad:
	return strata_error_set(err, STRATA_ERR_INVALID, 0,
				"parsing time \"%s\" as RFC 3339: bad syntax", s);
}

int gotime_remarshal(struct strbuf *sb, const char *s, struct strata_error **err)
{
	const char *p = s + 19, *zone;
	size_t nf = 0;
	int64_t sec;
	int32_t nsec;
	int ret = gotime_parse_rfc3339(s, &sec, &nsec, err);

	if (ret < 0)
		return ret;
	strbuf_add(sb, s, 19);
	if (*p == '.' || *p == ',') {
		const char *f = ++p;

		while (*p >= '0' && *p <= '9')
			p++;
		nf = (size_t)(p - f) < 9 ? (size_t)(p - f) : 9;
		while (nf && f[nf - 1] == '0')
			nf--;
		if (nf)
			strbuf_addf(sb, ".%.*s", (int)nf, f);
	}
	zone = p;
	if (*zone == 'Z' || !strcmp(zone + 1, "00:00"))
		strbuf_addch(sb, 'Z');
	else
		strbuf_addstr(sb, zone);
	return 0;
}

/* ---- formatting -------------------------------------------------------- */

struct civil {
	struct tm tm;
	long gmtoff;
	const char *zone;
};

static void to_civil(int64_t sec, bool local, struct civil *c)
{
	time_t t = (time_t)sec;

	memset(c, 0, sizeof(*c));
	if (local && localtime_r(&t, &c->tm)) {
		c->gmtoff = c->tm.tm_gmtoff;
		c->zone = c->tm.tm_zone;
	} else {
		gmtime_r(&t, &c->tm);
		c->gmtoff = 0;
		c->zone = "UTC";
	}
}

static void add_date_time(struct strbuf *sb, const struct tm *tm, char sep)
{
	strbuf_addf(sb, "%04lld-%02d-%02d%c%02d:%02d:%02d",
		    (long long)tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, sep,
		    tm->tm_hour, tm->tm_min, tm->tm_sec);
}

/* ".999999999" layout: the fraction without trailing zeros, none when 0. */
static void add_fraction(struct strbuf *sb, int32_t nsec)
{
	char buf[16];
	int n;

	if (nsec <= 0)
		return;
	n = snprintf(buf, sizeof(buf), ".%09d", (int)nsec);
	while (n > 1 && buf[n - 1] == '0')
		n--;
	strbuf_add(sb, buf, (size_t)n);
}

void gotime_format_rfc3339nano_utc(struct strbuf *sb, int64_t sec, int32_t nsec)
{
	struct civil c;

	to_civil(sec, false, &c);
	add_date_time(sb, &c.tm, 'T');
	add_fraction(sb, nsec);
	strbuf_addch(sb, 'Z');
}

void gotime_format_rfc3339(struct strbuf *sb, int64_t sec, bool local)
{
	struct civil c;
	long off;

	to_civil(sec, local, &c);
	add_date_time(sb, &c.tm, 'T');
	if (c.gmtoff == 0) {
		strbuf_addch(sb, 'Z');
		return;
	}
	off = c.gmtoff < 0 ? -c.gmtoff : c.gmtoff;
	strbuf_addf(sb, "%c%02ld:%02ld", c.gmtoff < 0 ? '-' : '+', off / 3600,
		    off / 60 % 60);
}

void gotime_format_go_time(struct strbuf *sb, int64_t sec, int32_t nsec, bool local)
{
	struct civil c;
	long off;

	to_civil(sec, local, &c);
	add_date_time(sb, &c.tm, ' ');
	add_fraction(sb, nsec);
	off = c.gmtoff < 0 ? -c.gmtoff : c.gmtoff;
	strbuf_addf(sb, " %c%02ld%02ld", c.gmtoff < 0 ? '-' : '+', off / 3600,
		    off / 60 % 60);
	if (c.zone && *c.zone) /* Go repeats the numeric offset without a name */
		strbuf_addf(sb, " %s", c.zone);
	else
		strbuf_addf(sb, " %c%02ld%02ld", c.gmtoff < 0 ? '-' : '+',
			    off / 3600, off / 60 % 60);
}

void gotime_format_now(struct strbuf *sb)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	gotime_format_rfc3339nano_utc(sb, now.tv_sec, (int32_t)now.tv_nsec);
}
