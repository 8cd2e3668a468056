/*
 * imagedb: image configs stored byte for byte, plus per-image metadata
 * (parent, lastUpdated); where they live is store/layout.h's.
 */
#ifndef STRATA_IMAGE_IMAGEDB_H
#define STRATA_IMAGE_IMAGEDB_H

#include <stdbool.h>
#include <stddef.h>

#include "digest/digest.h"
#include "strata/error.h"

struct strata_store;


/* Hex IDs of all configs in the store (caller frees each and the array). */
int imagedb_list(struct strata_store *store, char ***ids, size_t *nr, struct strata_error **err);
void imagedb_list_free(char **ids, size_t nr);

/* Read a config and verify sha256(bytes) == hex; a mismatch is STRATA_ERR_CORRUPT. */
int imagedb_read_config(struct strata_store *store, const char *hex, char **bytes,
			size_t *len, struct strata_error **err);

/* Store config bytes unchanged; hex receives its ID.  Existing content is kept. */
/* Whether a config file (intact or not) is there for the image ID hex. */
bool imagedb_has_config(struct strata_store *store, const char *hex);
int imagedb_write_config(struct strata_store *store, const char *bytes, size_t len,
			 char hex[STRATA_HEX_LEN + 1], struct strata_error **err);

/* metadata/<hex>/parent: "sha256:<hex>" or *parent = NULL when absent. */
int imagedb_get_parent(struct strata_store *store, const char *hex, char **parent,
		       struct strata_error **err);
int imagedb_set_parent(struct strata_store *store, const char *hex, const char *parent,
		       struct strata_error **err);
/* metadata/<hex>/lastUpdated: RFC 3339 nano or *value = NULL when absent. */
int imagedb_get_last_updated(struct strata_store *store, const char *hex, char **value,
			     struct strata_error **err);
/* Write the current time, as dockerd does whenever a tag is set. */
int imagedb_touch_last_updated(struct strata_store *store, const char *hex,
			       struct strata_error **err);

/* Remove the config and its metadata folder. */
int imagedb_delete(struct strata_store *store, const char *hex, struct strata_error **err);

#endif
