/* Internals of docker save shared with the OCI writer. */
#ifndef STRATA_ARCHIVE_SAVE_H
#define STRATA_ARCHIVE_SAVE_H

#include <stddef.h>
#include <jansson.h>

#include "digest/digest.h"
#include "strata/error.h"
#include "util/strbuf.h"

struct strata_image;
struct strata_image_index;

/* An image chosen for saving and the tags it is saved with. */
struct save_item {
	struct strata_image *img;
	char **tags; /* familiar "name:tag" */
	size_t nr_tags;
};

/* Resolve docker save's arguments as moby's parseNames (first-seen order). */
int save_resolve(struct strata_image_index *idx, const char *const *names, size_t nr,
		 struct save_item **out, size_t *nr_out, struct strata_error **err);
void save_items_free(struct save_item *items, size_t nr);

/* Write an OCI image layout tar of items to out_fd. */
int oci_save(struct strata_image_index *idx, struct save_item *items, size_t nr, int out_fd,
	     struct strata_error **err);

#endif
