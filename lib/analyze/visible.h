/* What of a layer range is still visible, for strata squash. */
#ifndef STRATA_ANALYZE_VISIBLE_H
#define STRATA_ANALYZE_VISIBLE_H

#include <stddef.h>

#include "strata/error.h"

struct strata_image;
struct strata_image_index;

struct analyze_paths {
	char **v; /* "/a/b", sorted bytewise */
	size_t nr;
};

/*
 * The paths whose visible entry one of layers [from, n) of img wrote, read
 * from tar-split as strata analyze reads it: a squash keeping layers
 * 0..from-1 writes each of them again, even where its content equals the
 * kept base's copy, so that it shrinks the image by exactly the range's
 * waste.
 */
int analyze_range_visible(const struct strata_image_index *idx, const struct strata_image *img, size_t from,
			  struct analyze_paths *out, struct strata_error **err);

void analyze_paths_release(struct analyze_paths *p);

#endif
