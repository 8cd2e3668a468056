/* The tar-split reader of strata analyze, for the checker: every line and header as analyze reads them. */
#ifndef STRATA_ANALYZE_SCAN_H
#define STRATA_ANALYZE_SCAN_H

#include "strata/error.h"

/* Read the tar-split file at fd (from where it is) as strata analyze does; an error names the damaged entry. */
int analyze_tarsplit_check(int fd, struct strata_error **err);

#endif
