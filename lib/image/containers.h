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

struct container_list {
	struct container_info *items;
	size_t nr, alloc;
};

int containers_load(struct strata_store *store, struct container_list *out, struct strata_error **err);
void containers_release(struct container_list *list);
/* The first container using image_id (running or stopped as asked), NULL when none. */
const struct container_info *containers_first(const struct container_list *list, const char *image_id,
					      int running /* 1 running, 0 stopped, -1 any */);

#endif
