/*
 * Pull and push over the distribution API, straight into / out of a Docker
 * classic image store (what `docker pull` / `docker push` do through dockerd),
 * and the registry credentials of `docker login` / `docker logout`.
 *
 * Progress is reported as docker's lines: progress(cookie, id, status) with
 * id = NULL for a plain message ("v1: Pulling from ref/seed-image",
 * "Digest: sha256:...") or the 12-hex layer id ("00aef3ae34f2", "Pull
 * complete").  Calls are serialised by the library (never two at once), but
 * may come from worker threads.
 *
 * Credentials live where the docker CLI keeps them: config.json in a
 * docker config folder (the CLI's $DOCKER_CONFIG, else ~/.docker), as
 * base64 "auth" entries or through its credential helpers.  The library
 * reads no environment: the folder is passed in the options.
 */
#ifndef STRATA_REGISTRY_PUBLIC_H
#define STRATA_REGISTRY_PUBLIC_H

#include <stdbool.h>
#include <stdint.h>

#include "strata/cancel.h"
#include "strata/error.h"
#include "strata/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct strata_store;
struct strata_image_index;

typedef void (*strata_progress_fn)(void *cookie, const char *id, const char *status);
/*
 * Bytes moved for one layer id: action "Downloading" or "Pushing", current
 * of total bytes (total < 0: not known).  Called from worker threads (one
 * call at a time), at most every 512 KiB and at the end of the layer; the
 * cookie is progress_cookie.  Docker draws these as bars on a terminal.
 */
typedef void (*strata_progress_bytes_fn)(void *cookie, const char *id, const char *action,
					 int64_t current, int64_t total);

struct strata_credentials {
	char *username;
	char *password;
	char *identity_token; /* OAuth refresh token stored instead of a password */
};

struct strata_pull_options {
	const char *config_path;       /* strata config (registries); NULL = default path */
	const char *docker_config_dir; /* credentials; NULL = anonymous */
	const char *platform;          /* "os/arch[/variant]"; NULL = this host */
	bool all_tags;                 /* -a: every tag of the repository */
	strata_progress_fn progress;
	void *progress_cookie;
	struct strata_cancel *cancel;  /* NULL: not cancellable */
	strata_progress_bytes_fn progress_bytes; /* NULL: none */
	/* this call's credentials (the Engine API's X-Registry-Auth), used
	 * instead of docker_config_dir's; NULL: those */
	const struct strata_credentials *credentials;
	/* a broken or cancelled pull removes its partial files too, as dockerd's
	 * (a daemon's client does not come back to resume); false: kept for the next pull */
	bool no_resume;
};

/*
 * docker pull NAME[:TAG|@DIGEST] into store (opened for writing).  Schema 2
 * and OCI manifests, manifest lists / OCI indexes (nested, platform
 * selection), schema 1 refused.  Downloads run in parallel
 * (max-concurrent-downloads) into layerdb/tmp/pull-<blob hex>.partial while
 * the layers are registered in chain order, each one streamed from its
 * partial file as it grows; the blob digest, size and diff ID are verified
 * before a layer is committed.  A broken connection resumes with Range; a
 * killed pull leaves the partial files, which the next pull re-hashes and
 * continues.  Writes the config (byte for byte), distribution metadata
 * (HMAC ""), and repositories.json tag + digest references.
 * *full_ref (owned) = what docker prints last ("docker.io/library/x:tag").
 */
STRATA_PUBLIC int strata_pull(struct strata_store *store, const char *name,
			      const struct strata_pull_options *opts, char **full_ref,
			      struct strata_error **err);

struct strata_push_options {
	const char *config_path;
	const char *docker_config_dir; /* credentials; NULL = anonymous */
	bool all_tags;                 /* -a: every local tag of the repository */
	strata_progress_fn progress;
	void *progress_cookie;
	struct strata_cancel *cancel;  /* NULL: not cancellable */
	strata_progress_bytes_fn progress_bytes; /* NULL: none */
	/* this call's credentials (the Engine API's X-Registry-Auth), used
	 * instead of docker_config_dir's; NULL: those */
	const struct strata_credentials *credentials;
};

/*
 * docker push NAME[:TAG] from the store behind idx (opened for writing: the
 * distribution metadata and the digest reference are recorded).  Layers are
 * rebuilt from tar-split and gzip-compressed while uploading (POST, one
 * PATCH, PUT with the digest computed on the way); blobs the repository has
 * are skipped ("Layer already exists"), blobs another repository of the same
 * registry has are mounted ("Mounted from REPO").
 */
STRATA_PUBLIC int strata_push(struct strata_image_index *idx, const char *name,
			      const struct strata_push_options *opts, struct strata_error **err);

/* Free the strings (secrets are wiped first) and zero c. */
STRATA_PUBLIC void strata_credentials_release(struct strata_credentials *c);

/*
 * The credentials of an Engine API request's X-Registry-Auth header: the
 * base64url (padded or not) JSON of docker's AuthConfig ("username",
 * "password", "identitytoken"; "auth" = base64 "user:password" when those
 * are absent).  1 with *out filled (release it), 0 when the header names
 * none; -STRATA_ERR_INVALID when it is not that encoding, which dockerd's
 * pull and push treat as no credentials.
 */
STRATA_PUBLIC int strata_credentials_decode_header(const char *value, struct strata_credentials *out,
						   struct strata_error **err);

/*
 * The key docker stores the credentials of server under (new string):
 * "https://index.docker.io/v1/" for Docker Hub (server NULL or ""), else
 * server's host[:port].
 */
STRATA_PUBLIC char *strata_credentials_key(const char *server);

/*
 * The stored credentials of server: its credential helper, else the
 * configured store, else the config.json entry for exactly its key (never
 * another host's).  1 with *out filled (release it), 0 when none are stored.
 */
STRATA_PUBLIC int strata_credentials_get(const char *docker_config_dir, const char *server,
					 struct strata_credentials *out, struct strata_error **err);

/*
 * Store c for server, as docker login does once the registry accepted
 * them: through the credential helper that applies, else as a base64
 * "auth" in config.json (atomic, mode 0600, its other keys kept).
 */
STRATA_PUBLIC int strata_credentials_store(const char *docker_config_dir, const char *server,
					   const struct strata_credentials *c, struct strata_error **err);

struct strata_login_options {
	const char *config_path; /* strata config (insecure registries); NULL = default path */
	const char *username;
	const char *password;
};

/*
 * The check of docker login, done by dockerd (the Engine API's /auth):
 * are username and password good for the registry of server (NULL or "" =
 * Docker Hub)?  Basic registries get GET /v2/ with them, Bearer registries
 * a token request (sent only to a realm on the registry's host or domain).
 * STRATA_ERR_AUTH "unauthorized: ..." when refused.  Nothing is stored:
 * strata_credentials_store does that.
 */
STRATA_PUBLIC int strata_login(const char *server, const struct strata_login_options *opts,
			       struct strata_error **err);

/*
 * docker logout SERVER: remove the stored credentials of server (helper
 * and config.json).  1 when some were removed, 0 when none were stored.
 */
STRATA_PUBLIC int strata_logout(const char *docker_config_dir, const char *server,
				struct strata_error **err);

#ifdef __cplusplus
}
#endif

#endif
