/*
 * Docker's legacy v1 image JSON, both ways (dockerd 20.10's image/v1): the
 * config a pre-1.10 image becomes, and the v1 JSON and ID of each layer of
 * an image, as save writes them and load recognises them.
 */
#ifndef STRATA_IMAGE_V1_H
#define STRATA_IMAGE_V1_H

#include <stddef.h>
#include <jansson.h>

#include "digest/digest.h"
#include "strata/error.h"
#include "util/strbuf.h"

/*
 * The image config dockerd builds from v1 JSON (MakeConfigFromV1Config):
 * rootfs diff IDs and the history entries (each an encoded JSON object).
 */
int image_v1_config(const char *v1json, size_t len, const char *const *diff_ids, size_t nr_diffs,
		    const char *const *history, size_t nr_history, struct strbuf *out,
		    struct strata_error **err);
/* The history entry HistoryFromConfig makes of v1 JSON, encoded. */
int image_v1_history_entry(const char *v1json, size_t len, struct strbuf *out, struct strata_error **err);
/* The os and parent fields of v1 JSON as Go decodes it (NULL when unset); the caller frees them. */
int image_v1_os_parent(const char *v1json, size_t len, char **os, char **parent, struct strata_error **err);

/*
 * The legacy v1 JSON of layer i (of n) of an image and its v1 ID, as
 * dockerd's save computes them (v1.CreateID): lower layers get an empty
 * V1Image created at the epoch, the top layer the image's own v1 fields.
 * parent_v1 is the previous layer's v1 ID hex ("" for the first layer).
 * json (may be NULL) receives the bytes written to <v1id>/json.
 */
void image_v1_layer(const json_t *config, size_t i, size_t n, const char *chain_id, const char *parent_v1,
		    char v1id[STRATA_HEX_LEN + 1], struct strbuf *json);

#endif
