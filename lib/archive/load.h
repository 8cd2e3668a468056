/*
 * Internals shared by the loaders: the archive's members as seen by one
 * streaming pass (kept in memory, staged once under layerdb/tmp, or already
 * registered as layers), and the plan of images built from manifest.json
 * (docker-archive) or index.json (OCI layout).
 */
#ifndef STRATA_ARCHIVE_LOAD_H
#define STRATA_ARCHIVE_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "digest/digest.h"
#include "strata/error.h"

struct loader;

/* Bounds for an archive beyond util/limits.h (RELIABILITY §1.6). */
#define LOAD_MAX_IMAGES 10000

struct load_image {
	char id[STRATA_DIGEST_LEN + 1]; /* "sha256:" + sha256 of config */
	char *config;                   /* exact bytes */
	size_t config_len;
	json_t *config_json;
	size_t nr_layers;
	char **layer_paths;             /* archive paths as written in the manifest */
	char (*diff_ids)[STRATA_DIGEST_LEN + 1];
	char (*chain_ids)[STRATA_DIGEST_LEN + 1];
	char (*blob_digests)[STRATA_DIGEST_LEN + 1]; /* OCI descriptors; "" when unknown */
	int64_t *blob_sizes;            /* OCI descriptors; -1 when unknown */
	char **tags;                    /* familiar "name:tag" as given, validated */
	size_t nr_tags;
	char *parent;                   /* manifest.json "Parent", or NULL */
};

void load_image_release(struct load_image *img);

/*
 * Read the member at archive path `path` (cleaned, refused when unsafe) as
 * a document of at most max bytes.  follow: symlink members are resolved
 * inside the archive (moby's safePath); otherwise a symlink is refused.
 * A missing member is STRATA_ERR_NOT_FOUND.
 */
int loader_read(struct loader *l, const char *path, bool follow, size_t max, char **buf,
		size_t *len, struct strata_error **err);
bool loader_has(struct loader *l, const char *path);
/* The archive's top-level folders, sorted bytewise. */
int loader_top_dirs(struct loader *l, char ***names, size_t *nr, struct strata_error **err);
/* The diff ID (sha256 of the decompressed bytes) of member path. */
int loader_diff_id(struct loader *l, const char *path, char out[STRATA_DIGEST_LEN + 1],
		   struct strata_error **err);

/*
 * Fill img's config fields from the config bytes: ID, diff IDs, chain IDs,
 * OS check, and the layer count against nr_layers.  expect_hex, when not
 * NULL, is the digest the archive names the config by.
 */
int load_image_set_config(struct load_image *img, char *config, size_t len, const char *expect_hex,
			  const char *what, struct strata_error **err);

/*
 * The planners: the images an archive holds, for the loader to ingest.
 * OCI, from index.json: one image per selected manifest (host platform).
 */
int oci_load_plan(struct loader *l, struct load_image **out, size_t *nr, struct strata_error **err);
/*
 * Legacy (pre-1.10) docker-archives, without manifest.json: one image per
 * v1 folder, parents before children, tags from `repositories`.
 */
int legacy_load_plan(struct loader *l, struct load_image **out, size_t *nr, struct strata_error **err);

#endif
