/*
 * Legacy (pre-1.10) docker-archives: a `repositories` file and one folder
 * per v1 image (<v1id>/json, <v1id>/VERSION, <v1id>/layer.tar), no
 * manifest.json.  Loaded as dockerd 20.10's legacyLoad does: every folder
 * becomes an image whose config is built from its v1 JSON
 * (MakeConfigFromV1Config), parents first, with the parent link recorded.
 */
#ifndef STRATA_ARCHIVE_LEGACY_H
#define STRATA_ARCHIVE_LEGACY_H

#include <stddef.h>

#include "archive/load.h"
#include "strata/error.h"
#include "util/strbuf.h"

/* The plan: one image per v1 folder, parents before children; tags from `repositories`. */
int legacy_load_plan(struct loader *l, struct load_image **out, size_t *nr, struct strata_error **err);

/* Provided by docker_load.c: the archive's top-level folders, sorted bytewise. */
int loader_top_dirs(struct loader *l, char ***names, size_t *nr, struct strata_error **err);
/* Provided by docker_load.c: the diff ID (sha256 of the decompressed bytes) of member path. */
int loader_diff_id(struct loader *l, const char *path, char out[STRATA_DIGEST_LEN + 1],
		   struct strata_error **err);

/*
 * The image config dockerd builds from v1 JSON (exposed for unit tests):
 * rootfs diff IDs and the history entries (each an encoded JSON object).
 */
int legacy_make_config(const char *v1json, size_t len, const char *const *diff_ids, size_t nr_diffs,
		       const char *const *history, size_t nr_history, struct strbuf *out,
		       struct strata_error **err);
/* The history entry HistoryFromConfig makes of v1 JSON, encoded. */
int legacy_history_entry(const char *v1json, size_t len, struct strbuf *out, struct strata_error **err);

#endif
