/*
 * The images of a store: configs from imagedb, their layers from layerdb,
 * their references from repositories.json, loaded once into an index that
 * the commands read and change.
 */
#ifndef STRATA_IMAGE_H
#define STRATA_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "strata/error.h"

struct strata_store;
struct strata_image_index;

struct strata_image {
	char id[72];            /* "sha256:<hex>" */
	char *config_raw;       /* exact config bytes (their sha256 is the ID) */
	size_t config_len;
	json_t *config;         /* parsed config */
	size_t nr_layers;
	char (*diff_ids)[72];
	char (*chain_ids)[72];
	int64_t *layer_sizes;   /* each layer's own size (layerdb size file) */
	int64_t size;           /* sum of all layer sizes */
	int64_t created_sec;    /* config "created" */
	int32_t created_nsec;
	char *parent;           /* metadata parent "sha256:...", NULL when none */
	size_t nr_children;     /* images whose metadata parent is this one */
};

int strata_image_index_load(struct strata_store *store, struct strata_image_index **out,
			    struct strata_error **err);
void strata_image_index_free(struct strata_image_index *idx);

size_t strata_image_index_count(const struct strata_image_index *idx);
struct strata_image *strata_image_index_at(const struct strata_image_index *idx, size_t i);
/* By full ID "sha256:<hex>"; NULL when absent. */
struct strata_image *strata_image_index_find(const struct strata_image_index *idx, const char *id);

/*
 * Resolve what a user typed, as dockerd's GetImage: a full or short ID
 * (with or without "sha256:"), name[:tag], name@digest.  Not found gives
 * STRATA_ERR_NOT_FOUND with "No such image: NAME".
 */
int strata_image_lookup(const struct strata_image_index *idx, const char *name,
			struct strata_image **out, struct strata_error **err);

/* Familiar tag and/or digest references of img, lexically sorted; free the array only. */
size_t strata_image_refs(const struct strata_image_index *idx, const struct strata_image *img,
			 bool tags, bool digests, const char ***out);

/* The store's driver name and root, for GraphDriver data in inspect. */
struct strata_store *strata_image_index_store(const struct strata_image_index *idx);



/* What rmi and prune report, in order: "Untagged: REF" and "Deleted: ID". */
enum strata_removal { STRATA_UNTAGGED, STRATA_DELETED };
typedef void (*strata_removal_fn)(void *cookie, enum strata_removal what, const char *value);

/*
 * docker rmi NAME: untag and/or delete with dockerd's conflict rules
 * (children, containers, several references given by ID; STRATA_ERR_CONFLICT
 * with docker's message).  prune also deletes untagged parents left without
 * children.  Layers nothing uses any more are released.
 */
int strata_image_remove(struct strata_image_index *idx, const char *name, bool force, bool prune,
			strata_removal_fn report, void *cookie, struct strata_error **err);

/*
 * docker image prune: delete dangling images (all unused ones with all);
 * *reclaimed receives the summed size of the released layers.
 */
int strata_image_prune(struct strata_image_index *idx, bool all, strata_removal_fn report,
		       void *cookie, uint64_t *reclaimed, struct strata_error **err);

/* docker tag SOURCE TARGET */
int strata_image_tag(struct strata_image_index *idx, const char *source, const char *target,
		     struct strata_error **err);

/* docker image inspect's object for img, keys in the API's order. */
int strata_image_inspect(const struct strata_image_index *idx, const struct strata_image *img,
			 json_t **out, struct strata_error **err);

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
int strata_image_history(const struct strata_image_index *idx, const struct strata_image *img,
			 struct strata_history_entry **out, size_t *nr, struct strata_error **err);
void strata_history_free(struct strata_history_entry *entries, size_t nr);


struct strata_import_options {
	const char *const *changes; /* -c: Dockerfile instructions applied to the config */
	size_t nr_changes;
	const char *message;  /* -m, default "Imported from -" */
	const char *platform; /* "os/arch[/variant]", default linux/<host arch> */
	const char *ref;      /* REPOSITORY[:TAG] to tag, or NULL */
};

/*
 * docker import: a rootfs tar (plain, gzip or zstd; path or "-" for stdin)
 * becomes a one-layer image with the config dockerd writes for an import;
 * the input tar bytes are kept as the layer (tar-split).  A regular file is
 * hashed first so that the layer's cache-id derives from its content (the
 * same input gives the same store).  id receives "sha256:<image id>".
 */
int strata_image_import(struct strata_image_index *idx, const char *path,
			const struct strata_import_options *opts, char id[72], struct strata_error **err);
#endif
