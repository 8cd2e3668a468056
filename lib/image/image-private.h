#ifndef STRATA_IMAGE_PRIVATE_H
#define STRATA_IMAGE_PRIVATE_H

#include "image/refstore.h"
#include "strata/image.h"

struct strata_image_index {
	struct strata_store *store;
	struct strata_image **images;
	size_t nr, alloc;
	struct refstore refs;
};

/* Recount nr_children from metadata parents (after images were removed). */
void image_index_count_children(struct strata_image_index *idx);
/* Drop img from the index and free it. */
void image_index_forget(struct strata_image_index *idx, struct strata_image *img);

#endif
