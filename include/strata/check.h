/* strata check: verify (and repair) a whole store, dockerd's or strata's. */
#ifndef STRATA_CHECK_H
#define STRATA_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "strata/error.h"
#include "strata/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct strata_store;

struct strata_check_options {
	bool deep;   /* also rebuild every layer tar from tar-split and compare its diff ID */
	bool repair; /* remove orphans and leftovers, restore missing l/ links */
};

struct strata_check_result {
	size_t images, layers, problems, repaired;
};

/* One problem: object names what (a path or an ID), problem says what is wrong. */
typedef void (*strata_check_report_fn)(void *cookie, const char *object, const char *problem,
				       bool repaired);

STRATA_PUBLIC int strata_store_check(struct strata_store *store, const struct strata_check_options *opts,
				     strata_check_report_fn report, void *cookie,
				     struct strata_check_result *result, struct strata_error **err);

#ifdef __cplusplus
}
#endif

#endif
