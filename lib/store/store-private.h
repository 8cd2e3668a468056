/* What the library's modules share about an open store. */
#ifndef STRATA_STORE_PRIVATE_H
#define STRATA_STORE_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "strata/store.h"
#include "util/strbuf.h"

struct graph_driver;

struct strata_store {
	char *root;        /* absolute, cleaned data root */
	char *driver_name; /* "overlay2" or "vfs" */
	int root_fd;       /* -1 when the root does not exist (empty, read-only) */
	int image_fd;      /* image/<driver>/, -1 when absent */
	int lock_fd;       /* held exclusively by writers, -1 otherwise */
	int dockerd_guard_fd; /* shared flock on volumes/metadata.db while writing */
	bool writable;
	struct graph_driver *driver; /* opened on first use */
	bool fixed_time;   /* strata_store_set_time: "now" is fixed_sec */
	int64_t fixed_sec;
};

/* "Now" as RFC3339Nano UTC for what the store records: the clock, or the fixed time. */
void store_format_now(const struct strata_store *store, struct strbuf *sb);

/* The graph driver of the store, opened on first use (owned by the store); a
 * read-only store must already have the driver folder. */
int store_driver(struct strata_store *store, struct graph_driver **out,
		 struct strata_error **err);

#endif
