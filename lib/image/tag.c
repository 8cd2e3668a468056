#include <string.h>

#include "image/image-private.h"
#include "image/imagedb.h"
#include "strata/reference.h"
#include "util/cleanup.h"

int strata_image_tag(struct strata_image_index *idx, const char *source, const char *target,
		     struct strata_error **err)
{
	struct strata_image *img;
	struct strata_ref ref;
	int ret;

	ret = strata_image_lookup(idx, source, &img, err);
	if (ret < 0)
		return ret;
	ret = strata_ref_parse(target, &ref, err);
	if (ret < 0)
		return strata_error_wrap(err, "Error parsing reference: \"%s\" is not a valid repository/tag", target);
	if (ref.digest) {
		strata_ref_release(&ref);
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "refusing to create a tag with a digest reference");
	}
	strata_ref_default_tag(&ref);
	ret = refstore_add(&idx->refs, &ref, img->id, err);
	strata_ref_release(&ref);
	if (ret < 0)
		return ret;
	/* Image metadata before the name that points at it. */
	ret = imagedb_touch_last_updated(idx->store, img->id + 7, err);
	if (ret < 0)
		return ret;
	return refstore_save(idx->store, &idx->refs, err);
}
