/*
 * libstrata: Docker's image commands over Docker's classic image store,
 * without a daemon.  One header for the whole API:
 *
 *   pkg-config --cflags --libs strata
 *   #include <strata/strata.h>
 *
 * Every fallible function returns 0 (or a count) on success and
 * -STRATA_ERR_* on failure, with *err (when err is not NULL) describing
 * it; strata_error_free releases it.  Strings and arrays the library hands
 * over are released with free() unless a function says otherwise.
 */
#ifndef STRATA_STRATA_H
#define STRATA_STRATA_H

#include "strata/analyze.h"
#include "strata/archive.h"
#include "strata/build.h"
#include "strata/cancel.h"
#include "strata/check.h"
#include "strata/container.h"
#include "strata/error.h"
#include "strata/export.h"
#include "strata/image.h"
#include "strata/reference.h"
#include "strata/squash.h"
#include "strata/registry.h"
#include "strata/store.h"
#include "strata/system.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, "MAJOR.MINOR.PATCH". */
STRATA_PUBLIC const char *strata_version(void);

#ifdef __cplusplus
}
#endif

#endif
