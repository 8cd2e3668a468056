/*
 * The images of a store: configs from imagedb, their layers from layerdb,
 * their references from repositories.json, loaded once into an index that
 * the commands read and change.
 *
 * Images and layers are handles owned by the index: valid until the index
 * is freed or the image is removed from it.
 */
#ifndef STRATA_IMAGE_H
#define STRATA_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/cancel.h"
#include "strata/error.h"
#include "strata/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct strata_store;
struct strata_image_index;
struct strata_image;
struct strata_layer;

STRATA_PUBLIC int strata_image_index_load(struct strata_store *store, struct strata_image_index **out,
					  struct strata_error **err);
STRATA_PUBLIC void strata_image_index_free(struct strata_image_index *idx);

/*
 * Images kept in memory between the index loads of a long-running front
 * end (the API server), so that a load reads only what changed: given to
 * a store with strata_image_cache_use, the store's loads check each kept
 * image against the folders it was read from and re-read only those that
 * changed, so a change another process made is seen by the next load.
 * Safe to share between threads; it relies on the store's files being
 * replaced, never rewritten in place, as strata and dockerd write them.
 */
struct strata_image_cache;
STRATA_PUBLIC struct strata_image_cache *strata_image_cache_new(void);
STRATA_PUBLIC void strata_image_cache_free(struct strata_image_cache *cache);
/* Let store's image loads use cache (which must outlive the store). */
STRATA_PUBLIC void strata_image_cache_use(struct strata_store *store, struct strata_image_cache *cache);

STRATA_PUBLIC size_t strata_image_index_count(const struct strata_image_index *idx);
STRATA_PUBLIC struct strata_image *strata_image_index_at(const struct strata_image_index *idx, size_t i);
/*
 * Images the index skipped because they are damaged (a bad config, a
 * missing or inconsistent layer): listings leave them out, lookups that
 * name one fail with what is wrong, rmi removes them.
 */
STRATA_PUBLIC size_t strata_image_index_damaged_count(const struct strata_image_index *idx);
/* The i-th damaged image's ID and what is wrong with it. */
STRATA_PUBLIC const char *strata_image_index_damaged_id(const struct strata_image_index *idx, size_t i);
STRATA_PUBLIC const char *strata_image_index_damaged_why(const struct strata_image_index *idx, size_t i);
/* By full ID "sha256:<hex>"; NULL when absent. */
STRATA_PUBLIC struct strata_image *strata_image_index_find(const struct strata_image_index *idx,
							   const char *id);

/*
 * Resolve what a user typed, as dockerd's GetImage: a full or short ID
 * (with or without "sha256:"), name[:tag], name@digest.  Not found gives
 * STRATA_ERR_NOT_FOUND with "No such image: NAME".
 */
STRATA_PUBLIC int strata_image_lookup(const struct strata_image_index *idx, const char *name,
				      struct strata_image **out, struct strata_error **err);

/*
 * For a request about one image (inspect): an index of the references and
 * just the image NAME resolves to when a full ID or a stored reference
 * names it, so that one config is read instead of all; any other name (a
 * short ID, an unknown or damaged image) loads the whole index and looks
 * it up there.  *img is the image; errors as strata_image_lookup's.  Other
 * images are not in the index: no children, parents or listing from it.
 */
STRATA_PUBLIC int strata_image_index_load_one(struct strata_store *store, const char *name,
					      struct strata_image_index **out, struct strata_image **img,
					      struct strata_error **err);

/* Familiar tag and/or digest references of img, lexically sorted; free the array only. */
STRATA_PUBLIC size_t strata_image_refs(const struct strata_image_index *idx, const struct strata_image *img,
				       bool tags, bool digests, const char ***out);

/* An image docker images lists, with its references the filters kept. */
struct strata_image_summary {
	struct strata_image *img;
	const char **tags, **digests; /* familiar strings, sorted */
	size_t nr_tags, nr_digests;
	bool dangling;                /* no references: docker shows <none> */
};

/*
 * dockerd's Images(): the images docker images lists (intermediate ones
 * too with all), newest first, after filters given as docker's --filter
 * "key=value" strings (dangling, label, before, since, reference; others
 * are STRATA_ERR_INVALID "Invalid filter 'KEY'").  Free with
 * strata_image_list_free.
 */
STRATA_PUBLIC int strata_image_list(const struct strata_image_index *idx, const char *const *filters,
				    size_t nr_filters, bool all, struct strata_image_summary **out, size_t *nr,
				    struct strata_error **err);
STRATA_PUBLIC void strata_image_list_free(struct strata_image_summary *summaries, size_t nr);

/* The store the index was loaded from. */
STRATA_PUBLIC struct strata_store *strata_image_index_store(const struct strata_image_index *idx);

/* "sha256:<hex>" */
STRATA_PUBLIC const char *strata_image_id(const struct strata_image *img);
/* The exact config bytes (JSON; their sha256 is the ID), NUL-terminated; *len may be NULL. */
STRATA_PUBLIC const char *strata_image_config(const struct strata_image *img, size_t *len);
/* The config's "created" in Unix seconds; *nsec (may be NULL) gets the nanoseconds. */
STRATA_PUBLIC int64_t strata_image_created(const struct strata_image *img, int32_t *nsec);
/*
 * The config's Labels sorted by key (as Go marshals a map): *keys and
 * *values point into the image; free the two arrays only.  0 (and NULL
 * arrays) when there are none; *has_labels (may be NULL) says whether the
 * config has a Labels map at all (dockerd's null against {}).
 */
STRATA_PUBLIC size_t strata_image_labels(const struct strata_image *img, const char ***keys, const char ***values,
					 bool *has_labels);
/* Sum of the layers' own sizes, as docker images shows it. */
STRATA_PUBLIC int64_t strata_image_size(const struct strata_image *img);
/* The metadata parent "sha256:..." (local builds, legacy loads); NULL when none. */
STRATA_PUBLIC const char *strata_image_parent(const struct strata_image *img);
/* How many images of the index have img as their metadata parent. */
STRATA_PUBLIC size_t strata_image_children(const struct strata_image *img);

/* The layers of img, base first: i < strata_image_layer_count(img). */
STRATA_PUBLIC size_t strata_image_layer_count(const struct strata_image *img);
STRATA_PUBLIC const struct strata_layer *strata_image_layer(const struct strata_image *img, size_t i);
/* "sha256:..." of the layer stack up to this one (its layerdb folder). */
STRATA_PUBLIC const char *strata_layer_chain_id(const struct strata_layer *layer);
/* "sha256:..." of the layer's uncompressed tar. */
STRATA_PUBLIC const char *strata_layer_diff_id(const struct strata_layer *layer);
/* The graph driver's folder name of the layer. */
STRATA_PUBLIC const char *strata_layer_cache_id(const struct strata_layer *layer);
/* The layer's own size in bytes (layerdb's size file). */
STRATA_PUBLIC int64_t strata_layer_size(const struct strata_layer *layer);

/* What rmi and prune report, in order: "Untagged: REF" and "Deleted: ID". */
enum strata_removal { STRATA_UNTAGGED, STRATA_DELETED };
typedef void (*strata_removal_fn)(void *cookie, enum strata_removal what, const char *value);

/*
 * docker rmi NAME: untag and/or delete with dockerd's conflict rules
 * (children, containers, several references given by ID; STRATA_ERR_CONFLICT
 * with docker's message).  prune also deletes untagged parents left without
 * children.  Layers nothing uses any more are released.
 */
STRATA_PUBLIC int strata_image_remove(struct strata_image_index *idx, const char *name, bool force,
				      bool prune, strata_removal_fn report, void *cookie,
				      struct strata_error **err);

/*
 * docker image prune: delete dangling images (all unused ones with all);
 * *reclaimed receives the summed size of the released layers.
 */
STRATA_PUBLIC int strata_image_prune(struct strata_image_index *idx, bool all, strata_removal_fn report,
				     void *cookie, uint64_t *reclaimed, struct strata_error **err);

/*
 * The same after filters given as "key=value" strings, as dockerd's
 * ImagesPrune: dangling=true|false|1|0 (without it, dangling only),
 * until=TIME (a duration before now, RFC 3339 or Unix seconds), label=K[=V],
 * label!=K[=V]; others are STRATA_ERR_INVALID.
 */
STRATA_PUBLIC int strata_image_prune_filtered(struct strata_image_index *idx, const char *const *filters,
					      size_t nr_filters, strata_removal_fn report, void *cookie,
					      uint64_t *reclaimed, struct strata_error **err);

/* docker tag SOURCE TARGET */
STRATA_PUBLIC int strata_image_tag(struct strata_image_index *idx, const char *source, const char *target,
				   struct strata_error **err);

/*
 * docker image inspect's object for img as compact JSON text, keys in the
 * API's order; *json is NUL-terminated, free() it.
 */
STRATA_PUBLIC int strata_image_inspect(const struct strata_image_index *idx, const struct strata_image *img,
				       char **json, struct strata_error **err);

struct strata_history_entry {
	char *id;         /* "sha256:..." or "<missing>" */
	int64_t created;  /* Unix seconds */
	const char *created_by;
	const char *comment;
	int64_t size;
	const char **tags; /* familiar tag references of that image */
	size_t nr_tags;
};

/* docker history: newest first. Free with strata_history_free. */
STRATA_PUBLIC int strata_image_history(const struct strata_image_index *idx, const struct strata_image *img,
				       struct strata_history_entry **out, size_t *nr,
				       struct strata_error **err);
STRATA_PUBLIC void strata_history_free(struct strata_history_entry *entries, size_t nr);

struct strata_import_options {
	const char *const *changes; /* -c: Dockerfile instructions applied to the config */
	size_t nr_changes;
	const char *message;  /* -m, default "Imported from -" */
	const char *platform; /* "os/arch[/variant]", default linux/<host arch> */
	const char *ref;      /* REPOSITORY[:TAG] to tag, or NULL */
	int fd;               /* path "-": the tar is read from fd (0, stdin, in zeroed options) */
	/* path a URL (it has "://"; http or https): the download's bytes so far of total (-1 unknown), first 0 once it answered */
	void (*progress)(void *cookie, uint64_t current, int64_t total);
	void *progress_cookie;
	struct strata_cancel *cancel; /* NULL: not cancellable (a download) */
};

/*
 * docker import: a rootfs tar (plain, gzip or zstd; path, "-" for opts->fd, or
 * a URL, any with "://", downloaded first, as dockerd's ImportImage) becomes a one-layer image with the config dockerd writes for an import;
 * the input tar bytes are kept as the layer (tar-split).  A regular file is
 * hashed first so that the layer's cache-id derives from its content (the
 * same input gives the same store).  id receives "sha256:<image id>".
 */
STRATA_PUBLIC int strata_image_import(struct strata_image_index *idx, const char *path,
				      const struct strata_import_options *opts, char id[72],
				      struct strata_error **err);

#ifdef __cplusplus
}
#endif

#endif
