/*
 * The layers an image config names: rootfs.diff_ids and the chain IDs they
 * make.  The one reader of them, for the store's images, archives being
 * loaded, pulled configs and the checker.
 */
#ifndef STRATA_IMAGE_ROOTFS_H
#define STRATA_IMAGE_ROOTFS_H

#include <jansson.h>
#include <stddef.h>

#include "digest/digest.h"
#include "strata/error.h"

struct image_rootfs {
	size_t n;
	char (*diff_ids)[STRATA_DIGEST_LEN + 1];
	char (*chain_ids)[STRATA_DIGEST_LEN + 1];
};

/*
 * Read config's rootfs.diff_ids (absent or null: no layers) into out, which
 * the caller releases also after a failure.  Fails with STRATA_ERR_INVALID
 * when diff_ids is not an array or a diff ID is malformed (out then holds
 * the valid ones before it), STRATA_ERR_TOO_LARGE above LIMIT_LAYERS.
 * Callers add their context and, for the store's own images, recode.
 */
int image_rootfs_parse(const json_t *config, struct image_rootfs *out, struct strata_error **err);
void image_rootfs_release(struct image_rootfs *r);

#endif
