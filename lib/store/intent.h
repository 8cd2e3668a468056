/*
 * The release intent of an image removal, layerdb/tmp/release-<pid>: the
 * image's ID, then the chain IDs of the layers its removal deletes, one per
 * line.  It is written before the image's config goes and removed after
 * the layers went, so a removal killed in between is finished by the next
 * writer (store/recover.c) — and one killed before the config went leaves
 * the layers alone.  Written by the layer store, read by recovery: the
 * format lives here, once.
 */
#ifndef STRATA_STORE_INTENT_H
#define STRATA_STORE_INTENT_H

#include <stdbool.h>

#include "digest/digest.h"
#include "store/store-private.h"
#include "util/strbuf.h"

/* Record (atomically) that image_id's removal deletes chains ("sha256:...\n" lines); path receives its name. */
int release_intent_write(struct strata_store *store, const char *image_id, const char *chains,
			 struct strbuf *path, struct strata_error **err);

/*
 * Read the intent at path (relative to the image folder): image_id gets the
 * image's ID, *chains the chain lines (freed by the caller); a malformed
 * first line leaves image_id empty.
 */
int release_intent_read(struct strata_store *store, const char *path, char image_id[STRATA_DIGEST_LEN + 1],
			char **chains, struct strata_error **err);

int release_intent_remove(struct strata_store *store, const char *path, struct strata_error **err);

#endif
