/*
 * Registry documents: manifests and indexes (the first byte picks the
 * Content-Type the registry claimed), platform selection over an index,
 * and an image config's rootfs as the store reads it.
 */
#include <jansson.h>

#include "fuzz.h"
#include "image/manifest.h"
#include "image/rootfs.h"
#include "json/gojson.h"

static const char *const types[] = {
	NULL,
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"application/json",
	"application/vnd.docker.distribution.manifest.v1+prettyjws",
	"text/plain; charset=utf-8",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registry_manifest *m = NULL;
	struct strata_error *err = NULL;
	const char *type;
	json_t *cfg;

	if (!size)
		return 0;
	type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	if (registry_manifest_parse((const char *)data + 1, size - 1, type, &m, &err) == 0) {
		if (registry_manifest_is_index(m)) {
			struct registry_platform want;
			const struct registry_descriptor *d;

			registry_platform_host(&want);
			registry_manifest_select(m, &want, &d, &err);
			registry_platform_release(&want);
		}
		registry_manifest_free(m);
	}
	strata_error_free(err);
	err = NULL;
	/* the same bytes as an image config */
	if (gojson_parse((const char *)data + 1, size - 1, "config", &cfg, &err) == 0) {
		struct image_rootfs rootfs = { 0 };

		image_rootfs_parse(cfg, &rootfs, &err);
		image_rootfs_release(&rootfs);
		json_decref(cfg);
	}
	strata_error_free(err);
	return 0;
}
