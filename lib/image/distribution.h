/*
 * Docker's distribution metadata (names and folder modes: store/layout.h):
 *
 *   diffid-by-digest entry      "sha256:<diff id>" (no newline)
 *   v2metadata-by-diffid entry  [{"Digest":..,"SourceRepository":..,"HMAC":..},..]
 *
 * Files 0644, every write atomic.  v2metadata entries keep the
 * order they were first seen in and are unique on (Digest, SourceRepository);
 * adding an existing pair replaces its HMAC in place (dockerd drops and
 * re-appends; for a pull the HMAC is "" either way).
 *
 * HMAC rule (reference §2): key = "sha256:" + hex(sha256(json(authConfig))),
 * the anonymous auth config marshalling to "{}"; HMAC = hex(HMAC-SHA256(key,
 * Digest + SourceRepository)).  After a pull the HMAC is "".
 */
#ifndef STRATA_IMAGE_DISTRIBUTION_H
#define STRATA_IMAGE_DISTRIBUTION_H

#include <stdbool.h>
#include <stddef.h>

#include "digest/digest.h"
#include "strata/error.h"

struct strata_store;

struct v2metadata {
	char *digest;            /* "sha256:<blob hex>" */
	char *source_repository; /* "127.0.0.1:5000/ref/seed-image", "docker.io/library/x" */
	char *hmac;              /* "" or 64 hex */
};

/* Blob digest -> diff ID.  *diff_id is "" (and 0 returned) when unknown. */
int distribution_diffid_get(struct strata_store *store, const char *blob_digest,
			    char diff_id[STRATA_DIGEST_LEN + 1], struct strata_error **err);
int distribution_diffid_set(struct strata_store *store, const char *blob_digest,
			    const char *diff_id, struct strata_error **err);

/* All v2metadata entries of diff_id (none: *out = NULL, *n = 0). */
int distribution_v2metadata_get(struct strata_store *store, const char *diff_id,
				struct v2metadata **out, size_t *n, struct strata_error **err);
void distribution_v2metadata_free(struct v2metadata *m, size_t n);
/* Add (or refresh the HMAC of) one entry for diff_id. */
int distribution_v2metadata_add(struct strata_store *store, const char *diff_id,
				const struct v2metadata *entry, struct strata_error **err);

/*
 * The HMAC key of an auth config given as its exact JSON marshalling (NULL
 * or "" = anonymous, "{}"): "sha256:<hex>" into key.
 */
void distribution_hmac_key(const char *auth_config_json, char key[STRATA_DIGEST_LEN + 1]);
/* hex(HMAC-SHA256(key, digest + source_repository)). */
void distribution_hmac(const char *key, const char *digest, const char *source_repository,
		       char hex[STRATA_HEX_LEN + 1]);
/*
 * The JSON of docker's types.AuthConfig for a registry login as dockerd
 * marshals it for the HMAC key (fields with omitempty; "{}" when
 * anonymous).  username/password/identity_token may be NULL.
 */
char *distribution_auth_config_json(const char *username, const char *password,
				    const char *identity_token, const char *server_address);

#endif
