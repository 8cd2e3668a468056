#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/timefmt.h"

void timefmt_rfc3339nano_utc(char *buf, size_t size, int64_t sec, long nsec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	char frac[24] = "";
	size_t n;

	gmtime_r(&t, &tm);
	if (nsec > 0) {
		snprintf(frac, sizeof(frac), ".%09ld", nsec);
		n = strlen(frac);
		while (frac[n - 1] == '0')
			frac[--n] = '\0';
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int timefmt_parse_rfc3339(const char *s, int64_t *sec, long *nsec)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	long ns = 0;
	int64_t days;

	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
	    digits(&s, 2, &d) || (*s != 'T' && *s != 't') || !*s++ || digits(&s, 2, &h) ||
	    *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' || digits(&s, 2, &se))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
		return -1;
	if (*s == '.') {
		int n = 0;

		s++;
		while (*s >= '0' && *s <= '9') {
			if (n < 9)
				ns = ns * 10 + (*s - '0');
			n++;
			s++;
		}
		if (!n)
			return -1;
		for (; n < 9; n++)
			ns *= 10;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om) || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*s)
		return -1;
	/* Days from civil date (proleptic Gregorian), as in Howard Hinnant's algorithm. */
	{
		int yy = y - (mo <= 2);
		int era = (yy >= 0 ? yy : yy - 399) / 400;
		int yoe = yy - era * 400;
		int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
		int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		days = (int64_t)era * 146097 + doe - 719468;
	}
	*sec = days * 86400 + h * 3600 + mi * 60 + se - sign * (oh * 3600 + om * 60);
	*nsec = ns;
	return 0;
}

void timefmt_now(char *buf, size_t size)
{
	const char *epoch = getenv("SOURCE_DATE_EPOCH");
	struct timespec now;

	if (epoch && *epoch) {
		char *end;
		long long v = strtoll(epoch, &end, 10);

		if (!*end && v >= 0) {
			timefmt_rfc3339nano_utc(buf, size, v, 0);
			return;
		}
	}
	clock_gettime(CLOCK_REALTIME, &now);
	timefmt_rfc3339nano_utc(buf, size, now.tv_sec, now.tv_nsec);
}
