#include <stdio.h>
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
