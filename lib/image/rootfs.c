#include <string.h>

#include "image/rootfs.h"
#include "layer/layerdb.h"
#include "util/alloc.h"
#include "util/limits.h"

int image_rootfs_parse(const json_t *config, struct image_rootfs *out, struct strata_error **err)
{
	const json_t *ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	size_t n = json_array_size(ids);

	*out = (struct image_rootfs){ 0 };
	if (ids && !json_is_array(ids) && !json_is_null(ids))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "rootfs.diff_ids is not an array");
	if (n > LIMIT_LAYERS)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "max depth exceeded (%zu layers)", n);
	out->diff_ids = xcalloc(n + 1, sizeof(*out->diff_ids));
	out->chain_ids = xcalloc(n + 1, sizeof(*out->chain_ids));
	for (size_t i = 0; i < n; i++) {
		const char *d = json_string_value(json_array_get(ids, i));

		if (!d || !digest_valid(d))
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "malformed diff ID in rootfs");
		memcpy(out->diff_ids[i], d, STRATA_DIGEST_LEN + 1);
		layer_chain_id(i ? out->chain_ids[i - 1] : NULL, d, out->chain_ids[i]);
		out->n = i + 1;
	}
	return 0;
}

void image_rootfs_release(struct image_rootfs *r)
{
	free(r->diff_ids);
	free(r->chain_ids);
	*r = (struct image_rootfs){ 0 };
}
