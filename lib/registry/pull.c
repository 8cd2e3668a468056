/*
 * strata pull: manifests -> config -> layers (parallel downloads, chain-order
 * registration streamed from the growing download files) -> metadata.
 *
 * Each blob that is not in the store yet is downloaded by one of
 * max-concurrent-downloads worker threads into
 * layerdb/tmp/pull-<blob hex>.partial, continuing from the size that file
 * already has (a pull that was killed).  The main thread registers the
 * layers in chain order; each layer reads its partial file as it grows
 * (waiting on the worker when it catches up), so a layer is extracted while
 * it downloads and later layers keep downloading meanwhile.  The reader
 * hashes every byte it hands on (kept bytes included) and, at the end,
 * fails with a digest error unless size and sha256 match the descriptor:
 * that failure happens inside layerstore_register, before anything of the
 * layer is committed.  Partial files are removed when their layers are in.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "digest/digest.h"
#include "image/rootfs.h"
#include "image/distribution.h"
#include "image/imagedb.h"
#include "image/refstore.h"
#include "json/gojson.h"
#include "layer/layerdb.h"
#include "layer/layerstore.h"
#include "layer/pipeline.h"
#include "registry/progress.h"
#include "image/manifest.h"
#include "registry/registry.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "strata/reference.h"
#include "strata/registry.h"
#include "util/limits.h"
#include "util/alloc.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/workq.h"

struct pull_ctx {
	struct strata_store *store;
	const struct strata_pull_options *opts;
	struct registry_config cfg;
	struct registry_client_options copts;
	struct registry_credentials given; /* opts->credentials, borrowed */
	struct registry_client *client;
	const char *host; /* the endpoint clients talk to: ref.domain or a mirror's */
	struct strata_ref ref;
	char *full_name;  /* "127.0.0.1:5000/ref/seed-image" (SourceRepository) */
	struct progress progress;
};

/* ---- downloads ---- */

struct dl_job {
	const struct registry_descriptor *desc;
	char short_id[13];
	char *partial;     /* layerdb/tmp/pull-<hex>.partial */
	int fd;
	uint64_t written;  /* bytes in the file */
	uint64_t reported; /* bytes told to progress_bytes */
	bool done;
	int rc;
	struct strata_error *err;
	size_t users;      /* layers still to register from it */
};

struct dl_shared {
	struct pull_ctx *p;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct dl_job *jobs;
	size_t n_jobs;
	bool abort;
};

struct dl_sink {
	struct dl_shared *sh;
	struct dl_job *job;
	struct strata_error *err;
};

static int dl_write(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	struct dl_sink *s = cookie;
	struct dl_job *j = s->job;
	const char *b = data;
	uint64_t off;
	bool abort;
	int ret;

	pthread_mutex_lock(&s->sh->mu);
	off = j->written;
	abort = s->sh->abort;
	pthread_mutex_unlock(&s->sh->mu);
	if (abort)
		return strata_error_set(err, STRATA_ERR_INTERRUPTED, 0, "pull aborted");
	ret = cancel_check(s->sh->p->opts->cancel, err);
	if (ret < 0)
		return ret;
	if (off + len > (uint64_t)j->desc->size)
		return strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
					"filesystem layer verification failed for digest %s: "
					"more than the %lld bytes announced",
					j->desc->digest, (long long)j->desc->size);
	while (len) {
		ssize_t n = pwrite(j->fd, b, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return strata_error_set(err, errno == ENOSPC ? STRATA_ERR_NOSPC : STRATA_ERR_IO,
						errno, "write '%s'", j->partial);
		}
		b += n;
		len -= (size_t)n;
		off += (uint64_t)n;
		pthread_mutex_lock(&s->sh->mu);
		j->written = off;
		pthread_cond_broadcast(&s->sh->cv);
		pthread_mutex_unlock(&s->sh->mu);
		/* only this download's thread writes j->reported */
		progress_bytes(&s->sh->p->progress, j->short_id, "Downloading", off, j->desc->size,
			       &j->reported);
	}
	return 0;
}

/* Download job i into its partial file, resuming from what is there. */
static int dl_one(void *cookie, void **state, size_t i)
{
	struct dl_shared *sh = cookie;
	struct pull_ctx *p = sh->p;
	struct registry_client **c = (struct registry_client **)state;
	struct dl_job *j = &sh->jobs[i];
	struct dl_sink sink = { sh, j, NULL };
	uint64_t start;
	int rc = 0;

	pthread_mutex_lock(&sh->mu);
	start = j->written;
	pthread_mutex_unlock(&sh->mu);
	if (start < (uint64_t)j->desc->size) {
		if (!*c)
			rc = registry_client_new(p->host, &p->copts, c, &sink.err);
		/*
		 * The transport resumes a broken body by itself; when it gives up
		 * (or refuses the answer to its Range request), continue here from
		 * what reached the file, a few times while there is progress.
		 */
		for (int attempt = 0, stalled = 0; rc >= 0; attempt++) {
			uint64_t before;

			pthread_mutex_lock(&sh->mu);
			before = j->written;
			pthread_mutex_unlock(&sh->mu);
			rc = registry_blob_get(*c, p->ref.path, j->desc->digest, before, dl_write, &sink,
					       &sink.err);
			if (rc >= 0 || !sink.err || sink.err->code != STRATA_ERR_NET)
				break;
			pthread_mutex_lock(&sh->mu);
			stalled = j->written == before ? stalled + 1 : 0;
			rc = sh->abort ? -STRATA_ERR_INTERRUPTED : 0;
			pthread_mutex_unlock(&sh->mu);
			if (rc < 0 || stalled >= 3 || attempt >= 20) {
				rc = -STRATA_ERR_NET;
				break;
			}
			strata_error_freep(&sink.err);
			usleep(100000u * (unsigned)(stalled + 1));
		}
	}
	if (rc >= 0) {
		progress_say(&p->progress, j->short_id, "Verifying Checksum");
		progress_say(&p->progress, j->short_id, "Download complete");
	}
	pthread_mutex_lock(&sh->mu);
	j->done = true;
	j->rc = rc < 0 ? rc : 0;
	if (rc < 0) {
		if (!sink.err)
			strata_error_set(&sink.err, STRATA_ERR_NET, 0, "download of %s failed", j->desc->digest);
		j->err = sink.err;
		sink.err = NULL;
	}
	pthread_cond_broadcast(&sh->cv);
	pthread_mutex_unlock(&sh->mu);
	strata_error_free(sink.err);
	return 0; /* the follower of the layer reports the failure */
}

static void dl_done(void *cookie, void *state)
{
	(void)cookie;
	registry_client_free(state);
}

/* stream_read_fn over a growing partial file, verifying size and digest at the end. */
struct follower {
	struct dl_shared *sh;
	struct dl_job *job;
	uint64_t off;
	struct sha256_ctx sha;
	bool verified;
};

static ssize_t follow_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct follower *f = cookie;
	struct dl_job *j = f->job;
	struct dl_shared *sh = f->sh;
	uint64_t avail;
	bool done;
	ssize_t n;

	if (f->verified)
		return 0;
	n = cancel_check(sh->p->opts->cancel, err);
	if (n < 0)
		return n;
	pthread_mutex_lock(&sh->mu);
	while (f->off >= j->written && !j->done && !sh->abort)
		pthread_cond_wait(&sh->cv, &sh->mu);
	avail = j->written - f->off;
	done = j->done;
	if (!avail && done && j->rc < 0) {
		int code = j->err ? j->err->code : STRATA_ERR_NET;
		int ret = strata_error_set(err, code, 0, "%s", j->err ? j->err->msg : "download failed");

		pthread_mutex_unlock(&sh->mu);
		return ret;
	}
	if (!avail && !done) {
		pthread_mutex_unlock(&sh->mu);
		return strata_error_set(err, STRATA_ERR_INTERRUPTED, 0, "pull aborted");
	}
	pthread_mutex_unlock(&sh->mu);
	if (!avail) {
		char hex[STRATA_HEX_LEN + 1];

		sha256_final_hex(&f->sha, hex);
		f->verified = true;
		if (f->off != (uint64_t)j->desc->size || strcmp(hex, j->desc->digest + 7))
			return strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
						"filesystem layer verification failed for digest %s",
						j->desc->digest);
		return 0;
	}
	if (len > avail)
		len = (size_t)avail;
	do
		n = pread(j->fd, buf, len, (off_t)f->off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "read '%s'", j->partial);
	if (n == 0)
		return strata_error_set(err, STRATA_ERR_IO, 0, "'%s' shrank while reading", j->partial);
	sha256_update(&f->sha, buf, (size_t)n);
	f->off += (uint64_t)n;
	return n;
}

/* Whole-file check after a failed registration: was the blob itself bad? */
/* A failure the same pull, run again, may get past with the data it has: keep the partial files. */
static bool resumable(const struct strata_error *e)
{
	return e && (e->code == STRATA_ERR_NET || e->code == STRATA_ERR_INTERRUPTED);
}

static bool partial_matches(struct dl_job *j)
{
	char buf[65536], hex[STRATA_HEX_LEN + 1];
	struct sha256_ctx sha;
	uint64_t off = 0;
	ssize_t n;

	sha256_init(&sha);
	while ((n = pread(j->fd, buf, sizeof(buf), (off_t)off)) > 0) {
		sha256_update(&sha, buf, (size_t)n);
		off += (uint64_t)n;
	}
	sha256_final_hex(&sha, hex);
	return off == (uint64_t)j->desc->size && !strcmp(hex, j->desc->digest + 7);
}

/* ---- manifests and config ---- */

static int fetch_manifest(struct pull_ctx *p, const char *reference, struct registry_manifest **m,
			  char **digest, struct strata_error **err)
{
	_cleanup_free_ char *bytes = NULL, *mt = NULL;
	size_t len;
	int ret;

	ret = registry_get_manifest(p->client, p->ref.path, reference, NULL, &bytes, &len, &mt, digest,
				    err);
	if (ret < 0)
		return ret;
	ret = registry_manifest_parse(bytes, len, mt, m, err);
	if (ret < 0) {
		free(*digest);
		*digest = NULL;
	}
	return ret;
}

struct pulled_config {
	char *bytes;
	size_t len;
	struct image_rootfs layers;
};

static void pulled_config_release(struct pulled_config *c)
{
	image_rootfs_release(&c->layers);
	free(c->bytes);
}

static int parse_config(struct pulled_config *c, struct strata_error **err)
{
	_cleanup_json_ json_t *j = NULL;
	json_t *rootfs;
	int ret;

	ret = gojson_parse(c->bytes, c->len, "image config", &j, err);
	if (ret < 0)
		return ret;
	rootfs = json_object_get(j, "rootfs");
	if (!json_is_object(rootfs) || !gojson_get_string(rootfs, "type") ||
	    strcmp(gojson_get_string(rootfs, "type"), "layers"))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "image config has no layer rootfs");
	ret = image_rootfs_parse(j, &c->layers, err);
	return ret < 0 ? strata_error_wrap(err, "image config") : 0;
}

/* ---- one manifest ---- */

/* ---- registration: layers extract in parallel while they download ---- */

/* The pull's side of the layer pipeline: item k registers layer layer_of[k]. */
struct pull_run {
	struct pull_ctx *p;
	struct dl_shared *sh;
	const size_t *job_of;   /* layer -> its download */
	size_t *layer_of;       /* item -> layer */
	struct follower *f;     /* per item: its reader of the growing download */
	size_t *top_new;
	bool *bad_data;
};

static int item_open(void *cookie, size_t k, uint64_t *size, struct strata_error **err)
{
	struct pull_run *r = cookie;

	(void)size;
	(void)err;
	r->f[k] = (struct follower){ r->sh, &r->sh->jobs[r->job_of[r->layer_of[k]]], 0, { 0 }, false };
	return 0;
}

static int item_ingest(void *cookie, size_t k, struct layer_job *job, struct strata_error **err)
{
	struct follower *f = &((struct pull_run *)cookie)->f[k];
	int ret;

	sha256_init(&f->sha);
	ret = layerstore_job_ingest(job, follow_read, f, err);
	if (!f->verified)
		sha256_release(&f->sha);
	return ret;
}

/* After a failed ingest: tell a bad blob (digest error) from a failed extraction. */
static int item_failed(void *cookie, size_t k, struct strata_error **ingest_err, struct strata_error **err)
{
	struct pull_run *r = cookie;
	struct dl_shared *sh = r->sh;
	struct dl_job *j = r->f[k].job;
	bool bad_blob;

	pthread_mutex_lock(&sh->mu);
	while (!j->done)
		pthread_cond_wait(&sh->cv, &sh->mu);
	bad_blob = j->rc == 0 && !partial_matches(j);
	pthread_mutex_unlock(&sh->mu);
	if (bad_blob) {
		*r->bad_data = true;
		return strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
					"filesystem layer verification failed for digest %s", j->desc->digest);
	}
	*r->bad_data = *ingest_err && (*ingest_err)->code == STRATA_ERR_DIGEST_MISMATCH;
	return strata_error_propagate(err, steal_pointer(ingest_err));
}

static int item_committed(void *cookie, size_t k, const struct layer_register_result *res,
			  struct strata_error **err)
{
	struct pull_run *r = cookie;
	struct dl_job *j = r->f[k].job;

	(void)err;
	if (!res->existed)
		*r->top_new = r->layer_of[k];
	progress_say(&r->p->progress, j->short_id, "Pull complete");
	if (--j->users == 0)
		unlinkat(r->p->store->image_fd, j->partial, 0);
	return 0;
}

/* Register the needed layers, each extracted from its download as it grows. */
static int register_layers(struct pull_ctx *p, struct dl_shared *sh, const struct pulled_config *cfg,
			   const bool *needed, const size_t *job_of, size_t *top_new, bool *bad_data,
			   struct strata_error **err)
{
	size_t n = cfg->layers.n, nr = 0;
	_cleanup_free_ struct layer_pipeline_item *items = xcalloc(n + 1, sizeof(*items));
	_cleanup_free_ size_t *layer_of = xcalloc(n + 1, sizeof(*layer_of));
	_cleanup_free_ struct follower *f = xcalloc(n + 1, sizeof(*f));
	struct pull_run r = { p, sh, job_of, layer_of, f, top_new, bad_data };
	struct layer_pipeline pl = {
		.store = p->store, .cancel = p->opts->cancel, .cookie = &r,
		.open = item_open, .ingest = item_ingest, .failed = item_failed, .committed = item_committed,
	};

	for (size_t i = 0; i < n; i++) {
		if (!needed[i])
			continue;
		layer_of[nr] = i;
		items[nr++] = (struct layer_pipeline_item){ cfg->layers.chain_ids[i],
							    i ? cfg->layers.chain_ids[i - 1] : NULL,
							    cfg->layers.diff_ids[i] };
	}
	return layer_pipeline_run(&pl, items, nr, err);
}

static int pull_layers(struct pull_ctx *p, const struct registry_manifest *m,
		       const struct pulled_config *cfg, bool *downloaded, struct strata_error **err)
{
	struct dl_shared sh = { .p = p };
	size_t n = m->n_layers;
	_cleanup_free_ size_t *job_of = xcalloc(n + 1, sizeof(size_t));
	_cleanup_free_ bool *needed = xcalloc(n + 1, sizeof(bool));
	const char(*chains)[STRATA_DIGEST_LEN + 1] = cfg->layers.chain_ids;
	struct workq_task dl_task = { .fn = dl_one, .done = dl_done, .cookie = &sh };
	struct workq *downloads = NULL;
	size_t top_new = SIZE_MAX;
	bool bad_data = false;
	int ret = 0;

	pthread_mutex_init(&sh.mu, NULL);
	pthread_cond_init(&sh.cv, NULL);
	sh.jobs = xcalloc(n + 1, sizeof(*sh.jobs));
	for (size_t i = 0; i < n; i++) {
		if (layerstore_has(p->store, chains[i]))
			continue;
		needed[i] = true;
		for (job_of[i] = 0; job_of[i] < sh.n_jobs; job_of[i]++)
			if (!strcmp(sh.jobs[job_of[i]].desc->digest, m->layers[i].digest))
				break;
		if (job_of[i] == sh.n_jobs) {
			struct dl_job *j = &sh.jobs[sh.n_jobs++];

			j->desc = &m->layers[i];
			j->fd = -1;
			snprintf(j->short_id, sizeof(j->short_id), "%.12s", m->layers[i].digest + 7);
		}
		sh.jobs[job_of[i]].users++;
	}
	/* docker's lines: existing layers first, then the ones to fetch */
	for (size_t i = 0; i < n; i++) {
		char id[13];

		snprintf(id, sizeof(id), "%.12s", m->layers[i].digest + 7);
		if (!needed[i])
			progress_say(&p->progress, id, "Already exists");
	}
	for (size_t k = 0; k < sh.n_jobs; k++)
		progress_say(&p->progress, sh.jobs[k].short_id, "Pulling fs layer");
	for (size_t k = (size_t)p->cfg.max_downloads; k < sh.n_jobs; k++)
		progress_say(&p->progress, sh.jobs[k].short_id, "Waiting");
	if (sh.n_jobs) {
		*downloaded = true;
		if ((ret = layout_mkdir(p->store->image_fd, LAYOUT_LAYERDB_TMP, err)) < 0)
			goto out;
	}
	for (size_t k = 0; k < sh.n_jobs; k++) {
		struct dl_job *j = &sh.jobs[k];
		struct strbuf partial = STRBUF_INIT;
		struct stat st;

		if ((ret = layout_tmp_pull(&partial, j->desc->digest + 7, err)) < 0)
			goto out;
		j->partial = strbuf_detach(&partial, NULL);
		j->fd = openat(p->store->image_fd, j->partial,
			       O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (j->fd < 0 || fstat(j->fd, &st) < 0) {
			ret = strata_error_set(err, STRATA_ERR_IO, errno, "open '%s'", j->partial);
			goto out;
		}
		if (st.st_size > j->desc->size && ftruncate(j->fd, 0) < 0) {
			ret = strata_error_set(err, STRATA_ERR_IO, errno, "truncate '%s'", j->partial);
			goto out;
		}
		j->written = st.st_size > j->desc->size ? 0 : (uint64_t)st.st_size;
	}
	ret = workq_start(sh.n_jobs, (size_t)p->cfg.max_downloads, &dl_task, &downloads, err);
	if (ret < 0)
		goto out;
	ret = register_layers(p, &sh, cfg, needed, job_of, &top_new, &bad_data, err);
	if (ret < 0)
		goto out;
	/* every layer is in: blob -> diff ID, and where it came from (HMAC "" after a pull) */
	for (size_t i = 0; i < n; i++) {
		struct v2metadata md = { m->layers[i].digest, p->full_name, "" };

		if ((ret = distribution_diffid_set(p->store, m->layers[i].digest, cfg->layers.diff_ids[i], err)) < 0 ||
		    (ret = distribution_v2metadata_add(p->store, cfg->layers.diff_ids[i], &md, err)) < 0)
			goto out;
	}
out:
	if (ret < 0 && top_new != SIZE_MAX) {
		/*
		 * Leave the store as it was: drop the layers this pull added.  They
		 * form the top of the chain (a chain exists only on its parent), so
		 * protecting the first pre-existing parent stops the walk there.
		 */
		const char *keep[1];
		size_t first = 0;

		while (first < n && !needed[first])
			first++;
		keep[0] = first ? chains[first - 1] : "";
		layerstore_release(p->store, chains[top_new], keep, first ? 1 : 0, NULL, NULL, NULL);
	}
	pthread_mutex_lock(&sh.mu);
	sh.abort = true;
	pthread_cond_broadcast(&sh.cv);
	pthread_mutex_unlock(&sh.mu);
	if (downloads) {
		workq_stop(downloads);
		workq_finish(downloads);
	}
	for (size_t k = 0; k < sh.n_jobs; k++) {
		/*
		 * Only a broken transfer is worth resuming; after bad data, a full
		 * disk or a refusal the pull gives back all the space it used.
		 */
		if (ret < 0 && (bad_data || !resumable(*err) || p->opts->no_resume) && sh.jobs[k].partial)
			unlinkat(p->store->image_fd, sh.jobs[k].partial, 0);
		if (sh.jobs[k].fd >= 0)
			close(sh.jobs[k].fd);
		free(sh.jobs[k].partial);
		strata_error_free(sh.jobs[k].err);
	}
	free(sh.jobs);
	pthread_cond_destroy(&sh.cv);
	pthread_mutex_destroy(&sh.mu);
	return ret;
}

/*
 * Pull one tag or digest.  *updated: the tag (or digest) reference now
 * points at a different image than before.
 */
static int pull_one(struct pull_ctx *p, const char *reference, bool by_digest, bool *updated,
		    struct strata_error **err)
{
	struct registry_manifest *m = NULL;
	_cleanup_free_ char *top_digest = NULL;
	struct pulled_config cfg = { 0 };
	struct refstore rs = REFSTORE_INIT;
	struct registry_platform want = { 0 };
	struct strata_ref tag_ref = { 0 }, dig_ref = { 0 };
	char hex[STRATA_HEX_LEN + 1], id[STRATA_DIGEST_LEN + 1];
	bool downloaded = false;
	const char *old;
	int ret;

	ret = cancel_check(p->opts->cancel, err);
	if (ret >= 0)
		ret = fetch_manifest(p, reference, &m, &top_digest, err);
	if (ret < 0)
		goto out;
	progress_say(&p->progress, reference, "Pulling from %s", p->ref.path);
	if (p->opts->platform) {
		ret = registry_platform_parse(p->opts->platform, &want, err);
		if (ret < 0)
			goto out;
	} else {
		registry_platform_host(&want);
	}
	for (int depth = 0; registry_manifest_is_index(m); depth++) {
		const struct registry_descriptor *d;
		_cleanup_free_ char *child = NULL, *dg = NULL;
		struct registry_manifest *cm = NULL;

		if (depth >= LIMIT_INDEX_DEPTH) {
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
					       "manifest lists nested deeper than %d levels",
					       LIMIT_INDEX_DEPTH);
			goto out;
		}
		ret = registry_manifest_select(m, &want, &d, err);
		if (ret < 0)
			goto out;
		child = xstrdup(d->digest);
		ret = fetch_manifest(p, child, &cm, &dg, err);
		if (ret < 0)
			goto out;
		registry_manifest_free(m);
		m = cm;
	}
	if (m->n_layers > LIMIT_LAYERS) {
		ret = strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "too many layers (%zu)", m->n_layers);
		goto out;
	}
	for (size_t i = 0; i < m->n_layers; i++) {
		if (!registry_media_type_is_layer(m->layers[i].media_type) || m->layers[i].size < 0) {
			ret = strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
					       "unsupported layer media type '%s'",
					       m->layers[i].media_type ? m->layers[i].media_type : "");
			goto out;
		}
	}
	if (m->config.size > (int64_t)LIMIT_CONFIG) {
		ret = strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "image config is too large");
		goto out;
	}
	ret = registry_blob_get_buf(p->client, p->ref.path, m->config.digest, LIMIT_CONFIG,
				    &cfg.bytes, &cfg.len, err);
	if (ret < 0)
		goto out;
	if (m->config.size >= 0 && (size_t)m->config.size != cfg.len) {
		ret = strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
				       "image config size %zu differs from the manifest's %lld", cfg.len,
				       (long long)m->config.size);
		goto out;
	}
	ret = parse_config(&cfg, err);
	if (ret < 0)
		goto out;
	if (cfg.layers.n != m->n_layers) {
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
				       "layers from manifest don't match image configuration");
		goto out;
	}
	ret = pull_layers(p, m, &cfg, &downloaded, err);
	if (ret < 0)
		goto out;
	ret = imagedb_write_config(p->store, cfg.bytes, cfg.len, hex, err);
	if (ret < 0)
		goto out;
	if (strcmp(hex, m->config.digest + 7)) {
		ret = strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0, "config digest mismatch");
		goto out;
	}
	snprintf(id, sizeof(id), "sha256:%s", hex);
	ret = refstore_load(p->store, &rs, err);
	if (ret < 0)
		goto out;
	dig_ref.domain = p->ref.domain;
	dig_ref.path = p->ref.path;
	dig_ref.digest = top_digest;
	if (by_digest) {
		old = refstore_get(&rs, &dig_ref);
		*updated = !old || strcmp(old, id);
	} else {
		tag_ref.domain = p->ref.domain;
		tag_ref.path = p->ref.path;
		tag_ref.tag = (char *)reference;
		old = refstore_get(&rs, &tag_ref);
		*updated = !old || strcmp(old, id);
		ret = refstore_add(&rs, &tag_ref, id, err);
		if (ret < 0)
			goto out;
	}
	ret = refstore_add(&rs, &dig_ref, id, err);
	if (ret < 0)
		goto out;
	ret = refstore_save(p->store, &rs, err);
	if (ret < 0)
		goto out;
	progress_say(&p->progress, NULL, "Digest: %s", top_digest);
	(void)downloaded;
out:
	refstore_release(&rs);
	registry_platform_release(&want);
	pulled_config_release(&cfg);
	registry_manifest_free(m);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Pull the tag, digest or all tags of p->ref from p->client. */
static int pull_from(struct pull_ctx *p, bool *updated, struct strata_error **err)
{
	int ret = 0;

	if (p->opts->all_tags) {
		char **tags = NULL;
		size_t n = 0;

		ret = registry_list_tags(p->client, p->ref.path, &tags, &n, err);
		if (ret < 0)
			return ret;
		qsort(tags, n, sizeof(*tags), cmp_str);
		for (size_t i = 0; i < n && ret >= 0; i++) {
			bool u = false;

			ret = pull_one(p, tags[i], false, &u, err);
			*updated = *updated || u;
		}
		registry_tags_free(tags, n);
		return ret;
	}
	return pull_one(p, p->ref.digest ? p->ref.digest : p->ref.tag, p->ref.digest != NULL,
			updated, err);
}

/*
 * A failure at a mirror sends the pull on to the next endpoint (dockerd
 * falls back on nearly anything a mirror does wrong); local trouble does not.
 */
static bool mirror_fallback(const struct strata_error *e)
{
	if (!e)
		return true;
	switch (e->code) {
	case STRATA_ERR_IO:
	case STRATA_ERR_NOSPC:
	case STRATA_ERR_INTERRUPTED:
	case STRATA_ERR_BUSY:
	case STRATA_ERR_CORRUPT:
		return false;
	default:
		return true;
	}
}

/*
 * Docker Hub images go through the configured registry-mirrors first, in
 * order, then Docker Hub itself (dockerd's pull endpoints; push never uses
 * mirrors).  A mirror is reached with its own URL scheme and its own
 * credentials (looked up by its host, never Docker Hub's); the image is
 * recorded under its docker.io name.
 */
static int pull_endpoints(struct pull_ctx *p, bool *updated, struct strata_error **err)
{
	size_t n_mirrors = registry_host_is_hub(p->ref.domain) ? p->cfg.n_mirrors : 0;
	int ret = 0;

	for (size_t i = 0; i <= n_mirrors; i++) {
		_cleanup_free_ char *scheme = NULL, *host = NULL;
		struct strata_error *e = NULL;

		p->copts.scheme = NULL;
		p->host = p->ref.domain;
		if (i < n_mirrors) {
			const char *url = p->cfg.mirrors[i], *sep = strstr(url, "://");

			scheme = xstrndup(url, (size_t)(sep - url));
			host = xstrndup(sep + 3, strcspn(sep + 3, "/"));
			p->copts.scheme = scheme;
			p->host = host;
		}
		ret = registry_client_new(p->host, &p->copts, &p->client, &e);
		if (ret >= 0) {
			ret = pull_from(p, updated, &e);
			registry_client_free(p->client);
			p->client = NULL;
		}
		p->copts.scheme = NULL;
		p->host = NULL;
		if (ret >= 0)
			return ret;
		if (i == n_mirrors || !mirror_fallback(e)) {
			strata_error_propagate(err, e);
			return ret;
		}
		strata_error_free(e);
	}
	return ret;
}

int strata_pull(struct strata_store *store, const char *name,
		const struct strata_pull_options *opts, char **full_ref, struct strata_error **err)
{
	struct pull_ctx p = { .store = store, .opts = opts };
	_cleanup_free_ char *familiar = NULL;
	bool updated = false;
	int ret;

	progress_init(&p.progress, opts->progress, opts->progress_cookie);
	p.progress.bytes_fn = opts->progress_bytes;
	registry_config_init(&p.cfg);
	*full_ref = NULL;
	ret = strata_ref_parse(name, &p.ref, err);
	if (ret < 0)
		goto out;
	if (opts->all_tags && (p.ref.tag || p.ref.digest)) {
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
				       "tag can't be used with --all-tags/-a");
		goto out;
	}
	if (!opts->all_tags && !p.ref.tag && !p.ref.digest) {
		progress_say(&p.progress, NULL, "Using default tag: latest");
		strata_ref_default_tag(&p.ref);
	}
	if (opts->platform) {
		struct registry_platform plat;

		/* dockerd refuses a bad --platform before it reaches a registry */
		ret = registry_platform_parse(opts->platform, &plat, err);
		if (ret < 0)
			goto out;
		registry_platform_release(&plat);
	}
	if (store->image_fd < 0) {
		ret = strata_error_set(err, STRATA_ERR_IO, 0, "the store is not open for writing");
		goto out;
	}
	ret = registry_config_load(&p.cfg, opts->config_path, err);
	if (ret < 0)
		goto out;
	p.copts.config = &p.cfg;
	p.copts.docker_config_dir = opts->docker_config_dir;
	if (opts->credentials) {
		p.given = (struct registry_credentials){ opts->credentials->username, opts->credentials->password,
							 opts->credentials->identity_token };
		p.copts.credentials = &p.given;
	}
	p.full_name = strata_ref_full_name(&p.ref);
	ret = pull_endpoints(&p, &updated, err);
	if (ret < 0)
		goto out;
	if (opts->all_tags) {
		familiar = strata_ref_familiar_name(&p.ref);
		*full_ref = strata_ref_full_name(&p.ref);
	} else {
		familiar = strata_ref_familiar_string(&p.ref);
		{
			_cleanup_free_ char *fn = strata_ref_full_name(&p.ref);

			if (p.ref.digest)
				*full_ref = xasprintf("%s@%s", fn, p.ref.digest);
			else
				*full_ref = xasprintf("%s:%s", fn, p.ref.tag);
		}
	}
	progress_say(&p.progress, NULL, "Status: %s for %s",
	    updated ? "Downloaded newer image" : "Image is up to date", familiar);
out:
	if (ret < 0 && err && *err && (*err)->code == STRATA_ERR_NOT_FOUND && p.ref.path &&
	    strstr((*err)->msg, "manifest unknown")) {
		_cleanup_free_ char *fs = strata_ref_familiar_string(&p.ref);

		strata_error_wrap(err, "manifest for %s not found", fs);
	}
	registry_client_free(p.client);
	free(p.full_name);
	strata_ref_release(&p.ref);
	registry_config_release(&p.cfg);
	progress_release(&p.progress);
	return ret;
}
