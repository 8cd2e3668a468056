#ifndef STRATA_IMAGE_PRIVATE_H
#define STRATA_IMAGE_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <jansson.h>

#include "image/refstore.h"
#include "layer/layerdb.h"
#include "strata/image.h"

/* A layer of a loaded image: its layerdb record. */
struct strata_layer {
	struct layer_record rec;
};

struct strata_image {
	char id[72];            /* "sha256:<hex>" */
	char *config_raw;       /* exact config bytes (their sha256 is the ID), NUL-terminated */
	size_t config_len;
	json_t *config_parsed;  /* the parsed config, the image's own: read it with image_config() */
	json_t *labels;         /* the config's config.Labels, NULL when absent */
	bool has_config_section; /* the config has a "config" object */
	size_t nr_layers;
	char (*diff_ids)[72];
	char (*chain_ids)[72];
	struct strata_layer *layers; /* base first, as layerdb has them */
	int64_t size;           /* sum of all layer sizes */
	int64_t created_sec;    /* config "created" */
	int32_t created_nsec;
	char *parent;           /* metadata parent "sha256:...", NULL when none */
	size_t nr_children;     /* images of the index whose metadata parent is this one */
	/*
	 * An index's image may share everything above with a cache's copy
	 * (origin), which it then holds a reference to; only nr_children is
	 * its own. refs counts the holders of a cache's copy.
	 */
	struct strata_image *origin;
	int refs;
};

/* An image the index could not load: skipped by listings, named by lookups. */
struct damaged_image {
	char id[72];
	struct strata_error *why;
};

struct strata_image_index {
	struct strata_store *store;
	struct strata_image **images;
	size_t nr, alloc;
	struct damaged_image *damaged;
	size_t nr_damaged, alloc_damaged;
	struct refstore refs;
};

/* img's parsed config, parsed on first use (a cached image keeps only its bytes). */
json_t *image_config(const struct strata_image *img);
/* Load the stored image hex as an index's image: from the store's image cache when it has one. */
int image_get(struct strata_store *store, const char *hex, struct strata_image **out, struct strata_error **err);
/* Free an index's image (or drop its reference to the cache's copy). */
void image_release(struct strata_image *img);

/*
 * What a cached image was loaded from, besides its content-addressed
 * config: the folders of its metadata and of each of its layers; a
 * path_stamp tells whether a path is still what it was.
 */
struct path_stamp {
	bool exists;
	dev_t dev;
	ino_t ino;
	struct timespec ctime;
};
struct image_stamps {
	struct path_stamp metadata;
	struct path_stamp *layers; /* one per layer of the image */
	size_t nr_layers;
	struct timespec taken;       /* when, by the clock the filesystem stamps with */
};
/* Stamp the folders img (its config parsed, its layers not yet read) is loaded from. */
void image_stamps_take(struct strata_store *store, const struct strata_image *img, struct image_stamps *st);
void image_stamps_release(struct image_stamps *st);
/* Load the stored image hex, stamped (st) before its layers and metadata are read. */
int image_load_stamped(struct strata_store *store, const char *hex, struct strata_image **out,
		       struct image_stamps *st, struct strata_error **err);
/* Load repositories.json into refs: from the store's image cache when it has one. */
int image_refs_load(struct strata_store *store, struct refstore *refs, struct strata_error **err);
/* Forget the cached images not among ids (hex; sorted here): the store no longer lists them. */
void image_cache_retain(struct strata_image_cache *cache, char **ids, size_t nr);

/* Recount nr_children from metadata parents (after images were removed). */
void image_index_count_children(struct strata_image_index *idx);
/* Load the stored image hex into the index (one just written); an image already there is kept. */
int image_index_add(struct strata_image_index *idx, const char *hex, struct strata_image **out,
		    struct strata_error **err);

/* Drop img from the index and free it. */
void image_index_forget(struct strata_image_index *idx, struct strata_image *img);
/* The damaged image a user's name resolves to (as strata_image_lookup would), or NULL. */
struct damaged_image *image_index_find_damaged(const struct strata_image_index *idx, const char *name);
/* Drop a damaged image from the index. */
void image_index_forget_damaged(struct strata_image_index *idx, struct damaged_image *d);

/* docker image prune's filters (dangling, until, label, label!), parsed. */
struct image_prune_filters {
	bool dangling_only;
	bool until;
	int64_t until_sec;
	int32_t until_nsec;
	const char **labels, **not_labels;
	size_t nr_labels, nr_not_labels;
};

/* Parse "key=value" prune filters as dockerd's ImagesPrune; bad ones give STRATA_ERR_INVALID. */
int image_prune_filters(const struct strata_image_index *idx, const char *const *filters, size_t nr_filters,
			struct image_prune_filters *out, struct strata_error **err);
void image_prune_filters_release(struct image_prune_filters *f);
/* Whether the until and label filters keep img among prune's candidates. */
bool image_prune_selects(const struct image_prune_filters *f, const struct strata_image *img);

#endif
