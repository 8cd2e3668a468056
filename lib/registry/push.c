/*
 * strata push: layers (skip / mount / upload in parallel) -> config ->
 * manifest -> distribution metadata and the digest reference.
 *
 * The manifest is Docker schema 2, as dockerd pushes, except for images that
 * were pulled as OCI.  The store keeps no record of that (it stays dockerd's),
 * so it is asked of the registry: a digest reference of the image
 * (REPO@sha256:..., written by pull) on the push target's host names the
 * manifest it came from; fetched by digest (so verified) and, through an
 * index, down to the entry for the image's platform.  When that manifest is
 * an OCI image manifest whose config is this image, the push is an OCI image
 * manifest; anything else (other host, registry unreachable, no digest
 * reference, a Docker manifest) gives schema 2.
 *
 * A layer upload streams: a producer thread rebuilds the layer tar from
 * tar-split (layerstore_assemble), hashes it (the diff ID is re-verified)
 * and gzip-compresses it into a socket pair; the upload reads the other end
 * as the body of one PATCH, and the registry client hashes the compressed
 * bytes on the way for the closing PUT ?digest=, which the distribution API
 * allows.  Nothing of the blob is kept in memory or on disk.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "compress/compress.h"
#include "digest/digest.h"
#include "image/distribution.h"
#include "image/image-private.h"
#include "image/refstore.h"
#include "layer/layerdb.h"
#include "layer/layerstore.h"
#include "registry/progress.h"
#include "image/manifest.h"
#include "registry/registry.h"
#include "store/store-private.h"
#include "strata/image.h"
#include "strata/reference.h"
#include "strata/registry.h"
#include "util/fs.h"
#include "util/limits.h"
#include "util/alloc.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/workq.h"

#define MAX_MOUNT_CANDIDATES 3

struct push_ctx {
	struct strata_store *store;
	struct strata_image_index *idx;
	const struct strata_push_options *opts;
	struct registry_config cfg;
	struct registry_client_options copts;
	struct registry_credentials given; /* opts->credentials, borrowed */
	struct registry_client *client;
	struct registry_client *lookup; /* pull-only client for source manifests, lazily */
	bool lookup_failed;
	struct strata_ref ref;
	char *full_name;  /* SourceRepository of what we push */
	char hmac_key[STRATA_DIGEST_LEN + 1];
	struct progress progress;
	pthread_mutex_t meta_mu; /* distribution metadata read-modify-write */
};

/* ---- streamed layer blob ---- */

struct producer {
	struct strata_store *store;
	const char *chain_id;
	const char *diff_id;
	int fd;
	struct sha256_ctx tar_sha;
	struct gzip_writer *gz;
	const struct strata_cancel *cancel;
	struct progress *progress;
	char short_id[13];
	int64_t diff_size;  /* the layer's size record: docker's "Pushing" total */
	uint64_t tar_bytes, reported;
	bool stream_failed; /* the socket went away: the upload's error says why */
	int rc;
	struct strata_error *err;
};

static int sock_write(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	struct producer *pr = cookie;
	int ret = fs_send_all(pr->fd, data, len, "layer stream", err);

	if (ret < 0)
		pr->stream_failed = true;
	return ret;
}

static int tar_sink(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	struct producer *pr = cookie;
	int ret = cancel_check(pr->cancel, err);

	if (ret < 0)
		return ret;
	sha256_update(&pr->tar_sha, data, len);
	/* docker counts the tar before compression, against the layer's size */
	pr->tar_bytes += len;
	progress_bytes(pr->progress, pr->short_id, "Pushing", pr->tar_bytes, pr->diff_size,
		       &pr->reported);
	return gzip_writer_write(pr->gz, data, len, err);
}

static void *producer_main(void *arg)
{
	struct producer *pr = arg;
	char hex[STRATA_HEX_LEN + 1];

	sha256_init(&pr->tar_sha);
	pr->gz = gzip_writer_new(sock_write, pr);
	pr->rc = layerstore_assemble(pr->store, pr->chain_id, tar_sink, pr, &pr->err);
	if (pr->rc >= 0)
		pr->rc = gzip_writer_close(pr->gz, &pr->err);
	gzip_writer_free(pr->gz);
	sha256_final_hex(&pr->tar_sha, hex);
	if (pr->rc >= 0 && strcmp(hex, pr->diff_id + 7))
		pr->rc = strata_error_set(&pr->err, STRATA_ERR_CORRUPT, 0,
					  "could not verify layer data for: %s. This may be because "
					  "internal files in the layer store were modified",
					  pr->diff_id);
	shutdown(pr->fd, SHUT_WR);
	return NULL;
}

struct blob_stream {
	struct producer pr;
	pthread_t thread;
	bool running;
	int fd; /* read end */
	uint64_t size;
	bool finished;
};

static int stream_join(struct blob_stream *s)
{
	if (s->running) {
		pthread_join(s->thread, NULL);
		s->running = false;
	}
	return s->pr.rc;
}

static ssize_t stream_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct blob_stream *s = cookie;
	ssize_t n;

	(void)err; /* the upload reports a failed body; upload_layer names the cause */
	if (s->finished)
		return 0;
	do
		n = read(s->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -STRATA_ERR_IO;
	if (n > 0) {
		s->size += (uint64_t)n;
		return n;
	}
	if (stream_join(s) < 0)
		return s->pr.rc;
	s->finished = true;
	return 0;
}

static int upload_layer(struct push_ctx *p, struct registry_client *c, const char *chain_id,
			const char *diff_id, const char *location, char digest[STRATA_DIGEST_LEN + 1],
			int64_t *size, struct strata_error **err)
{
	struct blob_stream s = { 0 };
	struct strata_error *e = NULL;
	int sv[2];
	int ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "socketpair");
	s.fd = sv[0];
	s.pr.fd = sv[1];
	s.pr.store = p->store;
	s.pr.chain_id = chain_id;
	s.pr.diff_id = diff_id;
	s.pr.cancel = p->opts->cancel;
	s.pr.progress = &p->progress;
	snprintf(s.pr.short_id, sizeof(s.pr.short_id), "%.12s", diff_id + 7);
	s.pr.diff_size = -1;
	{
		_cleanup_free_ char *recorded = NULL;
		struct strata_error *e2 = NULL;

		if (layerdb_read_field(p->store, chain_id, "size", &recorded, &e2) == 0)
			s.pr.diff_size = strtoll(recorded, NULL, 10);
		strata_error_free(e2); /* the size only feeds the progress bar */
	}
	if (pthread_create(&s.thread, NULL, producer_main, &s.pr) != 0) {
		close(sv[0]);
		close(sv[1]);
		return strata_error_set(err, STRATA_ERR_IO, errno, "start layer stream");
	}
	s.running = true;
	ret = registry_blob_upload(c, p->ref.path, NULL, stream_read, &s, location, digest, &e);
	/* unblock a producer stuck on a full socket, then collect it */
	shutdown(sv[0], SHUT_RDWR);
	stream_join(&s);
	if (s.pr.rc < 0 && !(ret < 0 && s.pr.stream_failed)) {
		/* the producer's error is the cause; the upload saw only its stream fail
		 * (a producer that lost its socket only tells that the upload ended) */
		strata_error_free(e);
		ret = s.pr.err ? strata_error_propagate(err, steal_pointer(&s.pr.err))
			       : strata_error_set(err, STRATA_ERR_IO, 0, "layer stream failed");
	} else if (ret < 0) {
		strata_error_propagate(err, e);
	} else if (!s.finished) {
		ret = strata_error_set(err, STRATA_ERR_IO, 0, "layer stream ended early");
	}
	strata_error_free(s.pr.err);
	close(sv[0]);
	close(sv[1]);
	if (ret < 0)
		return ret;
	*size = (int64_t)s.size;
	return 0;
}

/* ---- one layer ---- */

struct layer_job {
	const char *diff_id;
	const char *chain_id;
	char short_id[13];
	char digest[STRATA_DIGEST_LEN + 1];
	int64_t size;
	int rc;
	struct strata_error *err;
};

/* "host/path" of a SourceRepository when it is on our registry host, else NULL. */
static const char *same_host_path(const struct push_ctx *p, const char *source)
{
	size_t hl = strlen(p->ref.domain);

	if (strncmp(source, p->ref.domain, hl) || source[hl] != '/')
		return NULL;
	return source + hl + 1;
}

static int record(struct push_ctx *p, const char *diff_id, const char *digest,
		  struct strata_error **err)
{
	char hmac[STRATA_HEX_LEN + 1];
	struct v2metadata md;
	int ret;

	distribution_hmac(p->hmac_key, digest, p->full_name, hmac);
	md.digest = (char *)digest;
	md.source_repository = p->full_name;
	md.hmac = hmac;
	pthread_mutex_lock(&p->meta_mu);
	ret = distribution_diffid_set(p->store, digest, diff_id, err);
	if (ret >= 0)
		ret = distribution_v2metadata_add(p->store, diff_id, &md, err);
	pthread_mutex_unlock(&p->meta_mu);
	return ret;
}

static int push_layer(struct push_ctx *p, struct registry_client *c, struct layer_job *j,
		      struct strata_error **err)
{
	struct v2metadata *md = NULL;
	size_t n = 0, tried = 0;
	_cleanup_free_ char *location = NULL;
	int ret;

	pthread_mutex_lock(&p->meta_mu);
	ret = distribution_v2metadata_get(p->store, j->diff_id, &md, &n, err);
	pthread_mutex_unlock(&p->meta_mu);
	if (ret < 0)
		return ret;
	/* 1. the repository may have it already: HEAD each digest known on this registry */
	for (size_t i = 0; i < n && tried < MAX_MOUNT_CANDIDATES; i++) {
		bool seen = false;
		int64_t size = -1;

		if (!same_host_path(p, md[i].source_repository))
			continue;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(md[k].digest, md[i].digest) && same_host_path(p, md[k].source_repository))
				seen = true;
		if (seen)
			continue;
		tried++;
		ret = registry_blob_exists(c, p->ref.path, md[i].digest, &size, err);
		if (ret < 0)
			goto out;
		if (ret == 1 && size >= 0) {
			snprintf(j->digest, sizeof(j->digest), "%s", md[i].digest);
			j->size = size;
			progress_say(&p->progress, j->short_id, "Layer already exists");
			ret = record(p, j->diff_id, j->digest, err);
			goto out;
		}
	}
	/* 2. mount from another repository of the same registry (matching HMAC first) */
	tried = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n && tried < MAX_MOUNT_CANDIDATES; i++) {
			const char *from = same_host_path(p, md[i].source_repository);
			char want[STRATA_HEX_LEN + 1];
			bool match;
			int64_t size = -1;

			if (!from || !strcmp(from, p->ref.path))
				continue;
			distribution_hmac(p->hmac_key, md[i].digest, md[i].source_repository, want);
			match = !strcmp(want, md[i].hmac);
			if (match != (pass == 0))
				continue;
			tried++;
			free(location);
			location = NULL;
			/* a failed mount only means trying the next candidate */
			ret = registry_blob_mount(c, p->ref.path, md[i].digest, from, &location, NULL);
			if (ret <= 0)
				continue;
			ret = registry_blob_exists(c, p->ref.path, md[i].digest, &size, err);
			if (ret < 0)
				goto out;
			if (ret == 1 && size >= 0) {
				snprintf(j->digest, sizeof(j->digest), "%s", md[i].digest);
				j->size = size;
				progress_say(&p->progress, j->short_id, "Mounted from %s", from);
				ret = record(p, j->diff_id, j->digest, err);
				goto out;
			}
		}
	}
	/* 3. upload (into the session a refused mount opened, if any) */
	ret = upload_layer(p, c, j->chain_id, j->diff_id, location, j->digest, &j->size, err);
	if (ret < 0)
		goto out;
	progress_say(&p->progress, j->short_id, "Pushed");
	ret = record(p, j->diff_id, j->digest, err);
out:
	distribution_v2metadata_free(md, n);
	return ret;
}

/* The layers to upload, each worker with a registry connection of its own. */
struct up_shared {
	struct push_ctx *p;
	struct layer_job *jobs;
};

static int up_one(void *cookie, void **state, size_t i)
{
	struct up_shared *sh = cookie;
	struct registry_client **c = (struct registry_client **)state;
	struct layer_job *j = &sh->jobs[i];
	int rc;

	rc = cancel_check(sh->p->opts->cancel, &j->err);
	if (rc >= 0 && !*c)
		rc = registry_client_new(sh->p->ref.domain, &sh->p->copts, c, &j->err);
	if (rc >= 0)
		rc = push_layer(sh->p, *c, j, &j->err);
	j->rc = rc < 0 ? rc : 0;
	return j->rc;
}

static void up_done(void *cookie, void *state)
{
	(void)cookie;
	registry_client_free(state);
}

/* ---- the manifest format: OCI for images pulled as OCI ---- */

/* The platform of img's config (os, architecture, variant); the host's when absent. */
static void image_platform(const struct strata_image *img, struct registry_platform *out)
{
	const char *os = json_string_value(json_object_get(image_config(img), "os"));
	const char *arch = json_string_value(json_object_get(image_config(img), "architecture"));
	const char *variant = json_string_value(json_object_get(image_config(img), "variant"));

	memset(out, 0, sizeof(*out));
	if (!os || !*os || !arch || !*arch) {
		registry_platform_host(out);
		return;
	}
	out->os = xstrdup(os);
	out->architecture = xstrdup(arch);
	out->variant = variant && *variant ? xstrdup(variant) : NULL;
	registry_platform_normalize(out);
}

static int fetch_source_manifest(struct registry_client *c, const char *repo, const char *digest,
				 struct registry_manifest **m, struct strata_error **err)
{
	_cleanup_free_ char *bytes = NULL, *mt = NULL, *got = NULL;
	size_t len = 0;
	int ret;

	ret = registry_get_manifest(c, repo, digest, registry_manifest_accept, &bytes, &len, &mt,
				    &got, err);
	if (ret < 0)
		return ret;
	if (strcmp(got, digest))
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "manifest digest mismatch");
	return registry_manifest_parse(bytes, len, mt, m, err);
}

/*
 * The leaf manifest behind digest reference repo@digest for img: indexes
 * are followed to the entry for img's platform; NULL when it cannot be had
 * or its config is not img.
 */
static struct registry_manifest *source_leaf(struct registry_client *c, const char *repo,
					     const char *digest, const struct strata_image *img,
					     const struct registry_platform *plat)
{
	struct registry_manifest *m = NULL;
	struct strata_error *e = NULL;

	if (fetch_source_manifest(c, repo, digest, &m, &e) < 0)
		goto fail;
	for (int depth = 0; registry_manifest_is_index(m); depth++) {
		const struct registry_descriptor *d;
		struct registry_manifest *cm = NULL;
		_cleanup_free_ char *child = NULL;

		if (depth >= LIMIT_INDEX_DEPTH || registry_manifest_select(m, plat, &d, &e) < 0)
			goto fail;
		child = xstrdup(d->digest);
		if (fetch_source_manifest(c, repo, child, &cm, &e) < 0)
			goto fail;
		registry_manifest_free(m);
		m = cm;
	}
	if (strcmp(m->config.digest, img->id))
		goto fail;
	return m;
fail:
	strata_error_free(e);
	registry_manifest_free(m);
	return NULL;
}

/*
 * The OCI image manifest img was pulled as, from this registry; NULL when
 * the push is schema 2.  Never fails: an unanswerable question means schema 2.
 */
static struct registry_manifest *oci_source(struct push_ctx *p, const struct strata_image *img)
{
	struct registry_manifest *found = NULL;
	struct registry_platform plat;
	const char **refs = NULL;
	size_t n;

	n = refstore_refs_of(&p->idx->refs, img->id, false, true, &refs);
	if (!n) {
		free(refs);
		return NULL;
	}
	image_platform(img, &plat);
	for (size_t i = 0; i < n && !p->lookup_failed; i++) {
		struct strata_ref r;
		struct strata_error *e = NULL;
		struct registry_manifest *m;

		if (strata_ref_parse(refs[i], &r, &e) < 0) {
			strata_error_free(e);
			continue;
		}
		if (!r.digest || strcmp(r.domain, p->ref.domain)) {
			strata_ref_release(&r);
			continue;
		}
		if (!p->lookup) {
			struct registry_client_options o = p->copts;

			o.push = false;
			if (registry_client_new(p->ref.domain, &o, &p->lookup, &e) < 0) {
				strata_error_free(e);
				p->lookup_failed = true;
				strata_ref_release(&r);
				break;
			}
		}
		m = source_leaf(p->lookup, r.path, r.digest, img, &plat);
		strata_ref_release(&r);
		if (!m)
			continue;
		/* the first manifest that is this image decides */
		if (m->kind == REGISTRY_MANIFEST_OCI)
			found = m;
		else
			registry_manifest_free(m);
		break;
	}
	registry_platform_release(&plat);
	free(refs);
	return found;
}

/* Media type of a pushed layer blob in an OCI manifest. */
static const char *oci_layer_type(const struct registry_manifest *src, size_t k, const char *digest)
{
	const struct registry_descriptor *d = NULL;

	/* the source's entry for the same blob (same position first) */
	if (k < src->n_layers && !strcmp(src->layers[k].digest, digest))
		d = &src->layers[k];
	for (size_t i = 0; !d && i < src->n_layers; i++)
		if (!strcmp(src->layers[i].digest, digest))
			d = &src->layers[i];
	if (d && (!strcmp(d->media_type, MT_OCI_LAYER_ZSTD) || !strcmp(d->media_type, MT_OCI_LAYER)))
		return d->media_type;
	/* a blob strata compressed, or a gzip one */
	return MT_OCI_LAYER_GZIP;
}

/* ---- one image under one tag ---- */

static int push_image(struct push_ctx *p, const struct strata_image *img, const char *tag,
		      struct strata_error **err)
{
	struct up_shared sh = { .p = p };
	size_t n = img->nr_layers;
	_cleanup_free_ size_t *job_of = xcalloc(n + 1, sizeof(size_t));
	_cleanup_free_ struct registry_descriptor *layers = NULL;
	_cleanup_strbuf_ struct strbuf mf = STRBUF_INIT;
	_cleanup_free_ char *mdigest = NULL;
	struct registry_descriptor config = { 0 };
	struct registry_manifest *src = NULL;
	struct refstore rs = REFSTORE_INIT;
	struct strata_ref dref = { 0 };
	struct workq_task task = { .fn = up_one, .done = up_done, .cookie = &sh, .stop_on_failure = true };
	size_t n_jobs = 0;
	int ret = 0;

	sh.jobs = xcalloc(n + 1, sizeof(*sh.jobs));
	/* top layer first, as dockerd lists them */
	for (size_t k = n; k-- > 0;) {
		size_t i;

		for (i = 0; i < n_jobs; i++)
			if (!strcmp(sh.jobs[i].diff_id, img->diff_ids[k]))
				break;
		if (i == n_jobs) {
			struct layer_job *j = &sh.jobs[n_jobs++];

			j->diff_id = img->diff_ids[k];
			j->chain_id = img->chain_ids[k];
			snprintf(j->short_id, sizeof(j->short_id), "%.12s", j->diff_id + 7);
			progress_say(&p->progress, j->short_id, "Preparing");
		}
		job_of[k] = i;
	}
	workq_run(n_jobs, (size_t)p->cfg.max_uploads, &task);
	for (size_t i = 0; i < n_jobs; i++) {
		if (sh.jobs[i].rc < 0) {
			struct strata_error *e = sh.jobs[i].err;

			ret = strata_error_set(err, e ? e->code : STRATA_ERR_IO, 0, "%s",
					       e ? e->msg : "layer upload failed");
			goto out;
		}
	}
	/* schema 2, or OCI when the image was pulled as OCI from this registry */
	src = oci_source(p, img);
	/* config */
	config.media_type = (char *)(src ? MT_OCI_CONFIG : MT_DOCKER_CONFIG);
	config.size = (int64_t)img->config_len;
	config.digest = (char *)img->id;
	ret = registry_blob_exists(p->client, p->ref.path, img->id, NULL, err);
	if (ret == 0)
		ret = registry_blob_upload_buf(p->client, p->ref.path, img->id, img->config_raw,
					       img->config_len, err);
	if (ret < 0)
		goto out;
	/* manifest */
	layers = xcalloc(n + 1, sizeof(*layers));
	for (size_t k = 0; k < n; k++) {
		layers[k].size = sh.jobs[job_of[k]].size;
		layers[k].digest = sh.jobs[job_of[k]].digest;
		layers[k].media_type = (char *)(src ? oci_layer_type(src, k, layers[k].digest)
						    : MT_DOCKER_LAYER);
	}
	if (src)
		registry_manifest_encode_oci(&mf, &config, layers, n);
	else
		registry_manifest_encode_schema2(&mf, &config, layers, n);
	ret = registry_put_manifest(p->client, p->ref.path, tag, mf.buf, mf.len,
				    src ? MT_OCI_MANIFEST : MT_DOCKER_MANIFEST, &mdigest, err);
	if (ret < 0)
		goto out;
	/* name@digest, as dockerd records after a push */
	ret = refstore_load(p->store, &rs, err);
	if (ret < 0)
		goto out;
	dref.domain = p->ref.domain;
	dref.path = p->ref.path;
	dref.digest = mdigest;
	ret = refstore_add(&rs, &dref, img->id, err);
	if (ret >= 0)
		ret = refstore_save(p->store, &rs, err);
	if (ret >= 0) {
		/* keep the in-memory index in step with the file */
		refstore_add(&p->idx->refs, &dref, img->id, NULL);
		progress_say(&p->progress, NULL, "%s: digest: %s size: %zu", tag, mdigest, mf.len);
	}
out:
	registry_manifest_free(src);
	refstore_release(&rs);
	for (size_t i = 0; i < n_jobs; i++)
		strata_error_free(sh.jobs[i].err);
	free(sh.jobs);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int strata_push(struct strata_image_index *idx, const char *name,
		const struct strata_push_options *opts, struct strata_error **err)
{
	struct push_ctx p = { .idx = idx, .opts = opts };
	struct registry_credentials creds = { 0 };
	_cleanup_free_ char *familiar = NULL, *key = NULL, *auth_json = NULL;
	char **tags = NULL;
	size_t n_tags = 0;
	bool repo_known = false;
	int ret;

	p.store = strata_image_index_store(idx);
	progress_init(&p.progress, opts->progress, opts->progress_cookie);
	p.progress.bytes_fn = opts->progress_bytes;
	pthread_mutex_init(&p.meta_mu, NULL);
	registry_config_init(&p.cfg);
	ret = strata_ref_parse(name, &p.ref, err);
	if (ret < 0)
		goto out;
	if (p.ref.digest) {
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "cannot push a digest reference");
		goto out;
	}
	if (opts->all_tags && p.ref.tag) {
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "tag can't be used with --all-tags/-a");
		goto out;
	}
	familiar = strata_ref_familiar_name(&p.ref);
	if (!opts->all_tags && !p.ref.tag) {
		progress_say(&p.progress, NULL, "Using default tag: latest");
		strata_ref_default_tag(&p.ref);
	}
	/* dockerd names the repository before it looks for the tags */
	p.full_name = strata_ref_full_name(&p.ref);
	progress_say(&p.progress, NULL, "The push refers to repository [%s]", p.full_name);
	/* the tags to push */
	for (size_t i = 0; i < idx->refs.nr; i++) {
		struct strata_ref r;
		struct strata_error *e = NULL;

		if (strcmp(idx->refs.entries[i].repo, familiar))
			continue;
		repo_known = true;
		if (strata_ref_parse(idx->refs.entries[i].ref, &r, &e) < 0) {
			strata_error_free(e);
			continue;
		}
		if (r.tag && !r.digest && (opts->all_tags || !strcmp(r.tag, p.ref.tag))) {
			tags = xrealloc(tags, (n_tags + 1) * sizeof(*tags));
			tags[n_tags++] = xstrdup(r.tag);
		}
		strata_ref_release(&r);
	}
	/* dockerd: no reference of the repository at all fails at once */
	if (!n_tags && (opts->all_tags || !repo_known)) {
		ret = strata_error_set(err, STRATA_ERR_NOT_FOUND, 0,
				       "An image does not exist locally with the tag: %s", familiar);
		goto out;
	}
	if (n_tags) /* none: a missing tag, reported after the registry is reached */
		qsort(tags, n_tags, sizeof(*tags), cmp_str);
	ret = registry_config_load(&p.cfg, opts->config_path, err);
	if (ret < 0)
		goto out;
	p.copts.config = &p.cfg;
	p.copts.docker_config_dir = opts->docker_config_dir;
	p.copts.push = true;
	/* the HMAC key: json(authConfig) of the credentials used, "{}" when anonymous */
	key = registry_auth_key(p.ref.domain);
	if (opts->credentials) {
		const struct strata_credentials *g = opts->credentials;

		p.given = (struct registry_credentials){ g->username, g->password, g->identity_token };
		p.copts.credentials = &p.given;
		auth_json = distribution_auth_config_json(g->username, g->password, g->identity_token, key);
	} else if (registry_credentials_get(opts->docker_config_dir, key, &creds, NULL) > 0) {
		auth_json = distribution_auth_config_json(creds.username, creds.password,
							  creds.identity_token, key);
	}
	registry_credentials_release(&creds);
	distribution_hmac_key(auth_json, p.hmac_key);
	if (auth_json)
		explicit_bzero(auth_json, strlen(auth_json));
	ret = registry_client_new(p.ref.domain, &p.copts, &p.client, err);
	if (ret < 0)
		goto out;
	{
		struct graph_driver *drv;

		/* opened once here: the upload threads share it */
		ret = store_driver(p.store, &drv, err);
		if (ret < 0)
			goto out;
	}
	/* as dockerd, reach the registry before any layer: an unreachable one
	 * fails with the connection's error, not a layer upload's */
	ret = registry_ping(p.client, err);
	/* a missing tag of a known repository only after that, as dockerd */
	if (ret >= 0 && !n_tags)
		ret = strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "tag does not exist: %s:%s",
				       familiar, p.ref.tag);
	for (size_t t = 0; t < n_tags && ret >= 0; t++) {
		struct strata_ref tr = { p.ref.domain, p.ref.path, tags[t], NULL };
		_cleanup_free_ char *s = strata_ref_familiar_string(&tr);
		struct strata_image *img = NULL;

		ret = strata_image_lookup(idx, s, &img, err);
		if (ret >= 0)
			ret = push_image(&p, img, tags[t], err);
	}
out:
	for (size_t i = 0; i < n_tags; i++)
		free(tags[i]);
	free(tags);
	registry_client_free(p.client);
	registry_client_free(p.lookup);
	free(p.full_name);
	strata_ref_release(&p.ref);
	registry_config_release(&p.cfg);
	progress_release(&p.progress);
	pthread_mutex_destroy(&p.meta_mu);
	return ret;
}
