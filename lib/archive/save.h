/* Internals of docker save shared with the loader and the OCI writer. */
#ifndef STRATA_ARCHIVE_SAVE_H
#define STRATA_ARCHIVE_SAVE_H

#include <stddef.h>
#include <jansson.h>

#include "digest/digest.h"
#include "strata/error.h"
#include "util/strbuf.h"

struct strata_image;
struct strata_image_index;

/*
 * The legacy v1 JSON of layer i (of n) of an image and its v1 ID, as
 * dockerd's save computes them (v1.CreateID): lower layers get an empty
 * V1Image created at the epoch, the top layer the image's own v1 fields.
 * parent_v1 is the previous layer's v1 ID hex ("" for the first layer).
 * json receives the bytes written to <v1id>/json.
 */
void save_v1_layer(const json_t *config, size_t i, size_t n, const char *chain_id,
		   const char *parent_v1, char v1id[STRATA_HEX_LEN + 1], struct strbuf *json);

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
