/*
 * Registry client (OCI distribution API v2) used by pull and push.
 *
 * A client is bound to one registry host ("docker.io" is reached at
 * registry-1.docker.io, credentials under "https://index.docker.io/v1/"),
 * pings /v2/ once to learn how it authenticates (none, Basic or Bearer),
 * then fetches and caches Bearer tokens per scope (retrying once on 401 with
 * a fresh token).  Credentials come from the options (login) or from the
 * Docker client config in the options' docker_config_dir (see auth.h).  Token requests carry Basic credentials
 * only to a realm on the registry's own host or domain (or on loopback), and
 * never over plain HTTP to a host that is not loopback/insecure.
 *
 * Threads: a client is used by one thread at a time (one curl handle, so
 * connections are reused); parallel workers create one client each.
 *
 * Repository names are path components as sent on the wire ("ref/seed-image",
 * for Docker Hub "library/busybox"; a one-component Hub name gets "library/").
 * Errors from the registry are reported as docker does:
 * "unauthorized: authentication required", "manifest unknown: ...".
 */
#ifndef STRATA_REGISTRY_REGISTRY_H
#define STRATA_REGISTRY_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest/digest.h"
#include "registry/auth.h"
#include "registry/config.h"
#include "registry/http.h"
#include "strata/error.h"

struct registry_client_options {
	const struct registry_config *config;            /* NULL: defaults */
	const struct registry_credentials *credentials;  /* NULL: from docker config */
	const char *docker_config_dir; /* the docker config folder; NULL: no stored credentials */
	bool anonymous;        /* do not look credentials up */
	bool push;             /* ask for pull,push scopes (push sessions) */
	const char *certs_dir; /* NULL: /etc/docker/certs.d */
	const char *scheme;    /* "https"/"http": only that (mirrors); NULL: decide */
	const char *user_agent;
	int max_retries;       /* see registry_http_options */
	long retry_delay_ms;
};

struct registry_client;

int registry_client_new(const char *host, const struct registry_client_options *opts,
			struct registry_client **out, struct strata_error **err);
void registry_client_free(struct registry_client *c);
/* Host the client talks to (registry-1.docker.io for docker.io). */
const char *registry_client_host(const struct registry_client *c);

/*
 * A token server's JSON answer: "token" (or "access_token"), and
 * "expires_in" seconds (60 when missing or out of range).
 */
int registry_token_parse(const char *body, size_t len, char **token, int *expires_in,
			 struct strata_error **err);
/* GET /v2/ and learn the authentication scheme (done lazily by every call). */
int registry_ping(struct registry_client *c, struct strata_error **err);
/*
 * Check the client's credentials against the registry (docker login):
 * Basic: GET /v2/ with them; Bearer: a token request with them and no scope.
 * STRATA_ERR_AUTH "unauthorized: ..." when refused.
 */
int registry_login(struct registry_client *c, struct strata_error **err);

/*
 * Fetch a manifest the way dockerd does: for a tag, HEAD to learn the
 * digest then GET by digest; for a digest, GET.  The bytes are checked
 * against the digest (requested or announced); size capped at 4 MiB.
 * accept: NULL-terminated media types, NULL = the four schema 2/OCI types.
 * Out (all owned by the caller): bytes/len, media_type (Content-Type
 * without parameters, may be NULL), digest ("sha256:...", of the bytes).
 */
int registry_get_manifest(struct registry_client *c, const char *repo, const char *reference,
			  const char *const *accept, char **bytes, size_t *len, char **media_type,
			  char **digest, struct strata_error **err);

/*
 * Stream blob digest from offset to write_fn (following redirects, resuming
 * after broken connections).  The caller verifies size and digest.
 */
int registry_blob_get(struct registry_client *c, const char *repo, const char *digest,
		      uint64_t offset, stream_write_fn write_fn, void *cookie,
		      struct strata_error **err);
/* Small blob (config) into memory, at most max bytes, digest verified. */
int registry_blob_get_buf(struct registry_client *c, const char *repo, const char *digest,
			  size_t max, char **out, size_t *len, struct strata_error **err);
/* HEAD: 1 (and *size when not NULL) when present, 0 when unknown. */
int registry_blob_exists(struct registry_client *c, const char *repo, const char *digest,
			 int64_t *size, struct strata_error **err);
/*
 * Cross-repository mount: 1 when mounted; 0 when the registry started an
 * upload instead (*location, owned, may be passed to registry_blob_upload;
 * location may be NULL to discard it).
 */
int registry_blob_mount(struct registry_client *c, const char *repo, const char *digest,
			const char *from_repo, char **location, struct strata_error **err);
/*
 * Upload a blob: POST (unless location is given), one chunked PATCH with the
 * whole stream from read_fn, PUT ?digest= with the sha256 of the bytes sent
 * (the distribution API takes the digest only at the end, so a stream need
 * not be known up front).  expected, when not NULL, must match before the
 * PUT; digest_out (may be NULL) receives the digest.  The registry verifies
 * it too.
 */
int registry_blob_upload(struct registry_client *c, const char *repo, const char *expected,
			 stream_read_fn read_fn, void *cookie, const char *location,
			 char digest_out[STRATA_DIGEST_LEN + 1], struct strata_error **err);
/* Upload a blob held in memory (configs). */
int registry_blob_upload_buf(struct registry_client *c, const char *repo, const char *digest,
			     const void *data, size_t len, struct strata_error **err);
/*
 * PUT a manifest under reference (tag or digest) with Content-Type
 * media_type; *digest (owned, may be NULL) = sha256 of bytes, checked
 * against the registry's Docker-Content-Digest.
 */
int registry_put_manifest(struct registry_client *c, const char *repo, const char *reference,
			  const void *bytes, size_t len, const char *media_type, char **digest,
			  struct strata_error **err);
/* All tags of repo, following Link pagination; *tags (owned) has *n entries. */
int registry_list_tags(struct registry_client *c, const char *repo, char ***tags, size_t *n,
		       struct strata_error **err);
void registry_tags_free(char **tags, size_t n);

/* Turn a non-2xx response into an error (docker's wording); returns -code. */
int registry_error_from_response(const struct registry_response *resp, const char *what,
				 struct strata_error **err);

#endif
