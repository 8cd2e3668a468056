/*
 * layerdb: one folder per layer chain holding diff, size, cache-id, parent
 * and tar-split.json.gz, beside the container mounts (names:
 * store/layout.h).  Reference counts are derived from images and mounts,
 * as dockerd does: no extra files.
 */
#ifndef STRATA_LAYER_LAYERDB_H
#define STRATA_LAYER_LAYERDB_H

#include <stdint.h>

#include "digest/digest.h"
#include "strata/error.h"

struct strata_store;

#define CACHE_ID_MAX 128

struct layer_record {
	char chain_id[STRATA_DIGEST_LEN + 1]; /* "sha256:..." */
	char diff_id[STRATA_DIGEST_LEN + 1];
	char parent[STRATA_DIGEST_LEN + 1];   /* parent chain ID, "" for a base layer */
	char cache_id[CACHE_ID_MAX + 1];      /* graph driver folder name */
	int64_t size;                         /* this layer's own size */
};

/* ChainID(L0) = DiffID(L0); ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)). */
void layer_chain_id(const char *parent_chain, const char *diff_id, char out[STRATA_DIGEST_LEN + 1]);

/* Read and validate the record of chain_id; a missing layer is STRATA_ERR_NOT_FOUND. */
int layerdb_read(struct strata_store *store, const char *chain_id, struct layer_record *out,
		 struct strata_error **err);

/*
 * One file of chain_id's record (LAYOUT_LAYER_*), trimmed as dockerd reads
 * it, without checking the others: what is left of a damaged record.
 */
int layerdb_read_field(struct strata_store *store, const char *chain_id, const char *name, char **out,
		       struct strata_error **err);

/* Replace chain_id's cache-id file atomically (the checker restores a proven one). */
int layerdb_write_cache_id(struct strata_store *store, const char *chain_id, const char *cache_id,
			   struct strata_error **err);

/* True when a cache-id is a safe single folder name. */
bool layer_cache_id_valid(const char *id);

#endif
