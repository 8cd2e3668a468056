/*
 * Pull and push over the distribution API, straight into / out of a Docker
 * classic image store (what `docker pull` / `docker push` do through dockerd).
 *
 * Progress is reported as docker's lines: progress(cookie, id, status) with
 * id = NULL for a plain message ("v1: Pulling from ref/seed-image",
 * "Digest: sha256:...") or the 12-hex layer id ("00aef3ae34f2", "Pull
 * complete").  Calls are serialised by the library (never two at once), but
 * may come from worker threads.
 */
#ifndef STRATA_REGISTRY_PUBLIC_H
#define STRATA_REGISTRY_PUBLIC_H

#include <stdbool.h>

#include "strata/error.h"

struct strata_store;
struct strata_image_index;

typedef void (*strata_progress_fn)(void *cookie, const char *id, const char *status);

struct strata_pull_options {
	const char *config_path;   /* strata config (registries); NULL = default path */
	const char *platform;      /* "os/arch[/variant]"; NULL = this host */
	bool all_tags;             /* -a: every tag of the repository */
	strata_progress_fn progress;
	void *progress_cookie;
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
int strata_pull(struct strata_store *store, const char *name,
		const struct strata_pull_options *opts, char **full_ref,
		struct strata_error **err);

struct strata_push_options {
	const char *config_path;
	bool all_tags;             /* -a: every local tag of the repository */
	strata_progress_fn progress;
	void *progress_cookie;
};

/*
 * docker push NAME[:TAG] from the store behind idx (opened for writing: the
 * distribution metadata and the digest reference are recorded).  Layers are
 * rebuilt from tar-split and gzip-compressed while uploading (POST, one
 * PATCH, PUT with the digest computed on the way); blobs the repository has
 * are skipped ("Layer already exists"), blobs another repository of the same
 * registry has are mounted ("Mounted from REPO").
 */
int strata_push(struct strata_image_index *idx, const char *name,
		const struct strata_push_options *opts, struct strata_error **err);

#endif
