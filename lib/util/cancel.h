/* The library's side of strata/cancel.h: where long operations look at the token. */
#ifndef STRATA_UTIL_CANCEL_H
#define STRATA_UTIL_CANCEL_H

#include "strata/cancel.h"
#include "strata/error.h"

/* 0, or -STRATA_ERR_INTERRUPTED with *err set once cancel was requested. */
int cancel_check(const struct strata_cancel *cancel, struct strata_error **err);

#endif
