/* Containers of the data root (containers/<id>/config.v2.json), for rmi's conflict rules. */
#ifndef STRATA_IMAGE_CONTAINERS_H
#define STRATA_IMAGE_CONTAINERS_H

#include <stdbool.h>
#include <stddef.h>

#include "strata/error.h"

struct strata_store;

struct container_info {
	char *id;       /* 64 hex */
	char *image_id; /* "sha256:..." */
	bool running;
};

struct damaged_container {
	char id[65];
	struct strata_error *why;
};

struct container_list {
	struct container_info *items;
	size_t nr, alloc;
	struct damaged_container *damaged; /* skipped, when containers_load was asked to */
	size_t nr_damaged, alloc_damaged;
};

/*
 * Every container's ID, image and state.  A config.v2.json that cannot be
 * read or parsed fails the load, or with skip_damaged is left out and
 * recorded in out->damaged (as dockerd skips a container it cannot load);
 * the rmi conflict rules need every container, a count does not.
 */
int containers_load(struct strata_store *store, struct container_list *out, bool skip_damaged,
		    struct strata_error **err);
void containers_release(struct container_list *list);
/* The first container using image_id (running or stopped as asked), NULL when none. */
const struct container_info *containers_first(const struct container_list *list, const char *image_id,
					      int running /* 1 running, 0 stopped, -1 any */);

#endif
