/* strata squash: a new image whose top layers are merged into one, written from the driver folders. */
#ifndef STRATA_SQUASH_H
#define STRATA_SQUASH_H

#include <stddef.h>

#include "strata/error.h"
#include "strata/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct strata_image_index;

struct strata_squash_options {
	const char *tag;       /* NAME[:TAG] for the new image, or NULL */
	size_t from;           /* keep layers 0..from-1 (0: squash them all) */
	const char *keep_base; /* or keep the layers of this image (a prefix of the chain) */
	const char *message;   /* the new history entry's comment; NULL: "merge <id> to <parent>" */
};

/*
 * Squash the image name: the kept base layers are shared, the rest become
 * one layer with the merged result of the range (the same root filesystem
 * as the original's), registered as any layer (tar-split included).  The
 * config keeps the original's settings; history keeps every entry, the
 * squashed ones marked empty_layer, plus one entry for the new layer.  The
 * original image stays.  id receives "sha256:<hex>".
 */
STRATA_PUBLIC int strata_image_squash(struct strata_image_index *idx, const char *name,
				      const struct strata_squash_options *opts, char id[72],
				      struct strata_error **err);

#ifdef __cplusplus
}
#endif

#endif
