/*
 * Where the unit tests find tests/fixtures: $STRATA_FIXTURES (tests/run.sh
 * sets it), else tests/fixtures below the current folder (the repository
 * root, where run.sh and make run them).  A missing fixture is a failure.
 */
#ifndef STRATA_TESTS_FIXTURES_H
#define STRATA_TESTS_FIXTURES_H

#include <stdlib.h>

static inline const char *fixtures_dir(void)
{
	const char *dir = getenv("STRATA_FIXTURES");

	return dir && *dir ? dir : "tests/fixtures";
}

#endif
