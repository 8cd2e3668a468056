/*
 * A Docker classic image store (a dockerd --data-root) opened by strata.
 * The handle carries everything the library needs: no global state.
 */
#ifndef STRATA_STORE_H
#define STRATA_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "strata/error.h"
#include "strata/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct strata_store;

enum strata_store_flags {
	/* The caller will change the store: take the store lock, create the
	 * layout, and refuse while a dockerd uses the data root. */
	STRATA_STORE_WRITE = 1 << 0,
	/* With STRATA_STORE_WRITE: leave what an interrupted command left
	 * behind in place (the checker reports it before it repairs it);
	 * otherwise opening for writing finishes or removes it first. */
	STRATA_STORE_KEEP_LEFTOVERS = 1 << 1,
	/* Without STRATA_STORE_WRITE: see the store as no writer is changing
	 * it (the checker); waits for a running writer and holds new ones off
	 * until the store is freed. */
	STRATA_STORE_STABLE = 1 << 2,
};

/*
 * Open data_root.  driver is "overlay2", "vfs" or NULL for the driver the
 * root already uses (a new root gets overlay2 when an overlay mount works
 * there, else vfs).  Without STRATA_STORE_WRITE a missing root reads as an
 * empty store.
 */
STRATA_PUBLIC int strata_store_open(const char *data_root, const char *driver, unsigned flags,
				    struct strata_store **out, struct strata_error **err);
STRATA_PUBLIC void strata_store_free(struct strata_store *store);

/*
 * Write unix_seconds instead of the clock's time wherever the library
 * records "now" in the store (an imported image's created time, the
 * lastUpdated of tagged images): reproducible stores, as SOURCE_DATE_EPOCH
 * asks of a build.
 */
STRATA_PUBLIC void strata_store_set_time(struct strata_store *store, int64_t unix_seconds);

STRATA_PUBLIC const char *strata_store_root(const struct strata_store *store);
STRATA_PUBLIC const char *strata_store_driver_name(const struct strata_store *store);

#ifdef __cplusplus
}
#endif

#endif
