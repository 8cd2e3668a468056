/* Minimal TAP producer for the unit tests: one "ok N - name" line per check. */
#ifndef STRATA_TESTS_TAP_H
#define STRATA_TESTS_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count, tap_failed;

#define ok(cond, ...)                                                            \
	do {                                                                     \
		int _c = !!(cond);                                               \
		tap_count++;                                                     \
		if (!_c)                                                         \
			tap_failed++;                                            \
		printf("%sok %d - ", _c ? "" : "not ", tap_count);               \
		printf(__VA_ARGS__);                                             \
		printf("\n");                                                    \
		if (!_c)                                                         \
			printf("#   failed at %s:%d\n", __FILE__, __LINE__);         \
	} while (0)

#define is_str(got, want, ...)                                                   \
	do {                                                                     \
		const char *_g = (got), *_w = (want);                            \
		int _same = _g && _w && !strcmp(_g, _w);                         \
		ok(_same, __VA_ARGS__);                                          \
		if (!_same)                                                      \
			printf("#   got  '%s'\n#   want '%s'\n", _g ? _g : "(null)", \
			       _w ? _w : "(null)");                              \
	} while (0)

/* A setup step failed: nothing after it can run, so stop (it is not a test). */
#define bail_out(...)                                                            \
	do {                                                                     \
		printf("Bail out! ");                                            \
		printf(__VA_ARGS__);                                             \
		printf("\n");                                                    \
		fflush(stdout);                                                  \
		exit(1);                                                         \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
