/* The library's version: STRATA_VERSION comes from the Makefile, its one home. */
#include "strata/strata.h"

#ifndef STRATA_VERSION
#error "STRATA_VERSION is set by the Makefile"
#endif

const char *strata_version(void)
{
	return STRATA_VERSION;
}
