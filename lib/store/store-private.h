/* What the library's modules share about an open store. */
#ifndef STRATA_STORE_PRIVATE_H
#define STRATA_STORE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/store.h"
#include "util/strbuf.h"

struct graph_driver;
struct graph_driver_ops;
struct strata_image_cache;

struct strata_store {
	char *root;        /* absolute, cleaned data root */
	const struct graph_driver_ops *driver_ops;
	const char *driver_name; /* driver_ops->name, for messages and inspect */
	char *image_dir;   /* image/<driver>, relative to root */
	int root_fd;       /* -1 when the root does not exist (empty, read-only) */
	int image_fd;      /* image/<driver>/, -1 when absent */
	int lock_fd;       /* held exclusively by writers, -1 otherwise */
	int dockerd_guard_fd; /* shared flock on volumes/metadata.db while writing */
	bool writable;
	struct graph_driver *driver; /* opened on first use */
	bool fixed_time;   /* strata_store_set_time: "now" is fixed_sec */
	struct strata_image_cache *image_cache; /* strata_image_cache_use: not owned */
	int64_t fixed_sec;
};

/* "Now" as RFC3339Nano UTC for what the store records: the clock, or the fixed time. */
void store_format_now(const struct strata_store *store, struct strbuf *sb);

/* The graph driver of the store, opened on first use (owned by the store); a
 * read-only store must already have the driver folder. */
int store_driver(struct strata_store *store, struct graph_driver **out,
		 struct strata_error **err);

/*
 * Whether the store's driver lets the layers of one chain be created first
 * and then applied at the same time (overlay2); otherwise each layer must be
 * complete before its child is created (vfs copies the parent).
 */
bool store_parallel_apply(const struct strata_store *store);

/*
 * Finish or roll back what dead writers left (staging, .tmp- files of atomic
 * writes, interrupted layer removals); the caller holds the store lock.
 */
int store_recover(struct strata_store *store, struct strata_error **err);

/* One key of GraphDriver.Data, in sorted key order. */
typedef void (*store_metadata_fn)(void *cookie, const char *key, const char *value);

/*
 * The driver's GraphDriver.Data for the layer folder cache_id on the parent
 * folders lower_cache_ids (nearest first); fn is never called when the
 * driver reports none (the API's null).  The driver is not opened.
 */
int store_driver_metadata(const struct strata_store *store, const char *cache_id,
			  const char *const *lower_cache_ids, size_t nr_lower, store_metadata_fn fn,
			  void *cookie, struct strata_error **err);

#endif
