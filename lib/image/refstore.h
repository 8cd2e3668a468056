/*
 * repositories.json: tag and digest references -> image IDs, read and written
 * exactly as dockerd (compact, sorted keys, familiar names, no newline).
 */
#ifndef STRATA_IMAGE_REFSTORE_H
#define STRATA_IMAGE_REFSTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "strata/error.h"
#include "strata/reference.h"

struct strata_store;

struct refstore_entry {
	char *repo; /* familiar name: "busybox", "127.0.0.1:5000/ref/seed" */
	char *ref;  /* familiar string: "busybox:local", "x@sha256:..." */
	char *id;   /* "sha256:<image id>" */
};

struct refstore {
	struct refstore_entry *entries;
	size_t nr, alloc;
};

#define REFSTORE_INIT { NULL, 0, 0 }

/* Load repositories.json; a missing file is an empty store, a damaged one an error. */
int refstore_load(struct strata_store *store, struct refstore *rs, struct strata_error **err);
/* Write it back atomically. */
int refstore_save(struct strata_store *store, const struct refstore *rs, struct strata_error **err);
void refstore_release(struct refstore *rs);
/* Append from's references to to. */
void refstore_copy(const struct refstore *from, struct refstore *to);

/* The image a reference points at ("sha256:..."), NULL when none; ref is normalised. */
const char *refstore_get(const struct refstore *rs, const struct strata_ref *ref);
/* Point ref at id, replacing what it pointed at (docker tag's force). */
int refstore_add(struct refstore *rs, const struct strata_ref *ref, const char *id,
		 struct strata_error **err);
/* Remove ref; returns false when it was not there. */
bool refstore_remove(struct refstore *rs, const struct strata_ref *ref);

/*
 * References of image id as familiar strings in lexical order (caller frees
 * the array, not the strings, which stay owned by rs).  tags / digests select
 * which kinds to return.
 */
size_t refstore_refs_of(const struct refstore *rs, const char *id, bool tags, bool digests,
			const char ***out);

#endif
