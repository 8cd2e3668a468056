/*
 * The store layout: the name of every file and folder strata reads or
 * writes in a data root, as dockerd 20.10 names them.  The only place in
 * lib/ that spells them (the driver folders, overlay2/ and vfs/, belong to
 * lib/driver).
 *
 *   <data root>/
 *     image/<driver>/                            layout_image_dir()
 *       repositories.json                        tags and digests -> image IDs
 *       imagedb/content/sha256/<hex>             image configs
 *       imagedb/metadata/sha256/<hex>/           parent, lastUpdated
 *       layerdb/sha256/<chain hex>/              diff, size, cache-id, parent, tar-split.json.gz
 *       layerdb/sha256/<chain hex>-<pid>-removing  a layer being removed
 *       layerdb/mounts/<id>/                     container layers: mount-id, init-id, parent
 *       layerdb/tmp/                             staging; an entry whose writer is gone is dead:
 *         write-set-<cache id:16>-<pid>/           a layer being registered
 *         load-<pid>/                              members of an archive being loaded
 *         pull-<blob hex>.partial                  a blob being downloaded (kept to resume)
 *         release-<pid>                            image ID + the chains its removal deletes
 *       distribution/diffid-by-digest/sha256/<blob hex>
 *       distribution/v2metadata-by-diffid/sha256/<diff hex>
 *     containers/<id>/config.v2.json             read for rmi's conflict rules
 *     volumes/metadata.db                        locked by a running dockerd
 *
 * Paths inside image/<driver>/ are relative to it (the store's image_fd),
 * the others to the data root.  The functions append a path to sb; those
 * taking a hex ID fail with STRATA_ERR_INVALID (appending nothing) unless
 * it is 64 lowercase hex digits.
 */
#ifndef STRATA_STORE_LAYOUT_H
#define STRATA_STORE_LAYOUT_H

#include <stdbool.h>
#include <sys/types.h>

#include "strata/error.h"
#include "util/strbuf.h"

/* Folders and files inside image/<driver>/. */
#define LAYOUT_REPOSITORIES "repositories.json"
#define LAYOUT_IMAGEDB_CONTENT "imagedb/content/sha256"
#define LAYOUT_IMAGEDB_METADATA "imagedb/metadata/sha256"
#define LAYOUT_LAYERDB_LAYERS "layerdb/sha256"
#define LAYOUT_LAYERDB_MOUNTS "layerdb/mounts"
#define LAYOUT_LAYERDB_TMP "layerdb/tmp"
#define LAYOUT_DIFFID_BY_DIGEST "distribution/diffid-by-digest/sha256"
#define LAYOUT_V2METADATA_BY_DIFFID "distribution/v2metadata-by-diffid/sha256"

/* Files of a layer folder (layerdb/sha256/<hex>/). */
#define LAYOUT_LAYER_DIFF "diff"
#define LAYOUT_LAYER_SIZE "size"
#define LAYOUT_LAYER_CACHE_ID "cache-id"
#define LAYOUT_LAYER_PARENT "parent"
#define LAYOUT_LAYER_TAR_SPLIT "tar-split.json.gz"

/* Files of a container mount folder (layerdb/mounts/<id>/). */
#define LAYOUT_MOUNT_MOUNT_ID "mount-id"
#define LAYOUT_MOUNT_INIT_ID "init-id"
#define LAYOUT_MOUNT_PARENT "parent"

/* Files of an image's metadata folder (imagedb/metadata/sha256/<hex>/). */
#define LAYOUT_IMAGE_PARENT "parent"
#define LAYOUT_IMAGE_LAST_UPDATED "lastUpdated"

/* In the data root. */
#define LAYOUT_CONTAINERS "containers"
/*
 * DATA_ROOT/tmp/strata-<container id>/: the runtime bundle of a container
 * a strata process runs; there while the container may run or be mounted.
 */
#define LAYOUT_TMP "tmp"
#define LAYOUT_RUN_BUNDLE_PREFIX "strata-"
/*
 * In a bundle: the container goes with its run (a build step's, or --rm's,
 * as dockerd's restore removes AutoRemove containers): recovery removes it
 * when the strata that ran it died, rather than marking it exited.
 */
#define LAYOUT_RUN_DISPOSABLE "disposable"
#define LAYOUT_DOCKERD_VOLUMES_DB "volumes/metadata.db"

/* "image/<driver>", relative to the data root; the caller frees it. */
char *layout_image_dir(const char *driver);

/*
 * Create image/<driver>/ in the data root and what dockerd makes in it when
 * it starts (imagedb/, layerdb/, distribution/, an empty
 * repositories.json), with dockerd's modes; what exists is kept.  Sets
 * *image_fd to the open image/<driver>/.
 */
int layout_create(int root_fd, const char *driver, int *image_fd, struct strata_error **err);

/*
 * Create dir, one of the LAYOUT_* folders inside image/<driver>/, and its
 * missing parents, each with the mode dockerd gives it.
 */
int layout_mkdir(int image_fd, const char *dir, struct strata_error **err);

/* layerdb/sha256/<hex> and layerdb/sha256/<hex>/<file>. */
int layout_layer_dir(struct strbuf *sb, const char *hex, struct strata_error **err);
int layout_layer_file(struct strbuf *sb, const char *hex, const char *file, struct strata_error **err);
/* layerdb/sha256/<hex>-<pid>-removing: where a removal moves the layer folder first. */
int layout_layer_removing(struct strbuf *sb, const char *hex, pid_t pid, struct strata_error **err);
/* True for an entry of layerdb/sha256 or layerdb/mounts that a removal moved aside. */
bool layout_layer_is_removing(const char *name);

/* imagedb/content/sha256/<hex>. */
int layout_image_config(struct strbuf *sb, const char *hex, struct strata_error **err);
/* imagedb/metadata/sha256/<hex>, or the file of that folder when file is not NULL. */
int layout_image_metadata(struct strbuf *sb, const char *hex, const char *file, struct strata_error **err);

/* distribution/diffid-by-digest/sha256/<blob hex>. */
int layout_diffid_by_digest(struct strbuf *sb, const char *blob_hex, struct strata_error **err);
/* distribution/v2metadata-by-diffid/sha256/<diff hex>. */
int layout_v2metadata_by_diffid(struct strbuf *sb, const char *diff_hex, struct strata_error **err);

/* layerdb/tmp/write-set-<first 16 digits of cache_id>-<pid>: a layer being registered. */
int layout_tmp_write_set(struct strbuf *sb, const char *cache_id, pid_t pid, struct strata_error **err);
/* layerdb/tmp/load-<pid>: the members of an archive being loaded. */
void layout_tmp_load(struct strbuf *sb, pid_t pid);
/* layerdb/tmp/pull-<blob hex>.partial: a blob being downloaded. */
int layout_tmp_pull(struct strbuf *sb, const char *blob_hex, struct strata_error **err);
/* layerdb/tmp/release-<pid>: the layers an image removal deletes once its config is gone. */
void layout_tmp_release(struct strbuf *sb, pid_t pid);
/* True when name, an entry of layerdb/tmp, is such a release intent. */
bool layout_tmp_is_release(const char *name);
/* True when name, an entry of layerdb/tmp, is a partial download (kept for a resume). */
bool layout_tmp_is_pull(const char *name);

/* <id>/config.v2.json: a container's config, inside LAYOUT_CONTAINERS. */
int layout_container_config(struct strbuf *sb, const char *id, struct strata_error **err);

/*
 * <dir>/<name>, or <dir>/<name>/<file> when file is not NULL, for an entry
 * found by listing dir (a LAYOUT_* folder): name must be one folder entry
 * (not empty, ".", ".." or holding a '/').
 */
int layout_entry(struct strbuf *sb, const char *dir, const char *name, const char *file,
		 struct strata_error **err);

#endif
