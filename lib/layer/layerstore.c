#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "unpack/apply.h"
#include "driver/driver.h"
#include "layer/layerdb.h"
#include "layer/layerstore.h"
#include "store/intent.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/safepath.h"
#include "util/strbuf.h"
#include "tarsplit/tarsplit.h"

/* Count how many folders below dir of image_fd have a parent file naming chain_id. */
static int count_parent_refs(struct strata_store *store, const char *dir, const char *chain_id,
			     size_t *count, struct strata_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	struct strata_error *e = NULL;
	int ret = fs_opendir_at(store->image_fd, dir, &d, &e);

	if (ret == -STRATA_ERR_NOT_FOUND) {
		strata_error_free(e);
		return 0;
	}
	if (ret < 0)
		return strata_error_propagate(err, e);
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = NULL;
		_cleanup_free_ char *parent = NULL;
		size_t len;

		if (de->d_name[0] == '.' || layout_layer_is_removing(de->d_name))
			continue;
		/* layers and mounts name their parent chain alike */
		path = xasprintf("%s/" LAYOUT_LAYER_PARENT, de->d_name);
		if (fs_read_file_at(dirfd(d), path, 4096, &parent, &len, NULL) < 0)
			continue;
		while (len && (parent[len - 1] == '\n' || parent[len - 1] == ' '))
			parent[--len] = '\0';
		if (!strcmp(parent, chain_id))
			(*count)++;
	}
	return 0;
}

static int references(struct strata_store *store, const char *chain_id, const char *const *in_use,
		      size_t nr_in_use, size_t *count, struct strata_error **err)
{
	int ret;

	*count = 0;
	for (size_t i = 0; i < nr_in_use; i++)
		if (!strcmp(in_use[i], chain_id))
			(*count)++;
	ret = count_parent_refs(store, LAYOUT_LAYERDB_LAYERS, chain_id, count, err);
	if (ret < 0)
		return ret;
	return count_parent_refs(store, LAYOUT_LAYERDB_MOUNTS, chain_id, count, err);
}

/* dockerd's order: rename the layerdb folder aside, remove the driver folder, then the rest. */
static int delete_layer(struct strata_store *store, struct graph_driver *driver,
			const struct layer_record *rec, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf from = STRBUF_INIT, aside = STRBUF_INIT;
	int ret;

	if ((ret = layout_layer_dir(&from, rec->chain_id + 7, err)) < 0 ||
	    (ret = layout_layer_removing(&aside, rec->chain_id + 7, getpid(), err)) < 0)
		return ret;
	if (renameat(store->image_fd, from.buf, store->image_fd, aside.buf) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "move layer %s aside", rec->chain_id);
	ret = fs_fsync_dir_at(store->image_fd, LAYOUT_LAYERDB_LAYERS, err);
	if (ret < 0)
		return ret;
	ret = graph_driver_remove(driver, rec->cache_id, err);
	if (ret < 0)
		return strata_error_wrap(err, "remove layer %s", rec->chain_id);
	return fs_remove_tree_at(store->image_fd, aside.buf, err);
}

/* Append the chains layerstore_release would delete to plan, top first, one per line. */
static int plan_release(struct strata_store *store, const char *chain_id, const char *const *in_use,
			size_t nr_in_use, struct strbuf *plan, size_t *nr, struct strata_error **err)
{
	char current[STRATA_DIGEST_LEN + 1];
	int ret;

	*nr = 0;
	snprintf(current, sizeof(current), "%s", chain_id);
	while (*current) {
		struct layer_record rec;
		struct strata_error *e = NULL;
		size_t refs;

		ret = references(store, current, in_use, nr_in_use, &refs, err);
		if (ret < 0)
			return ret;
		/* the child planned just before goes too */
		if (refs > (*nr ? 1u : 0u))
			return 0;
		ret = layerdb_read(store, current, &rec, &e);
		if (ret == -STRATA_ERR_NOT_FOUND) {
			strata_error_free(e);
			return 0;
		}
		if (ret < 0)
			return strata_error_propagate(err, e);
		strbuf_addf(plan, "%s\n", rec.chain_id);
		(*nr)++;
		snprintf(current, sizeof(current), "%s", rec.parent);
	}
	return 0;
}

/* Delete the layers of a plan (one chain ID per line, top first). */
static int delete_planned(struct strata_store *store, struct graph_driver *driver, char *line,
			  layer_deleted_fn deleted, void *cookie, struct strata_error **err)
{
	for (char *end; (end = strchr(line, '\n')); line = end + 1) {
		struct layer_record rec;
		int ret;

		*end = '\0';
		if ((ret = layerdb_read(store, line, &rec, err)) < 0 || (ret = delete_layer(store, driver, &rec, err)) < 0)
			return ret;
		if (deleted)
			deleted(cookie, rec.chain_id, rec.size);
	}
	return 0;
}

int layerstore_release(struct strata_store *store, const char *chain_id,
		       const char *const *in_use, size_t nr_in_use,
		       layer_deleted_fn deleted, void *cookie, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf plan = STRBUF_INIT;
	struct graph_driver *driver;
	size_t nr;
	int ret;

	if ((ret = store_driver(store, &driver, err)) < 0 ||
	    (ret = plan_release(store, chain_id, in_use, nr_in_use, &plan, &nr, err)) < 0)
		return ret;
	return nr ? delete_planned(store, driver, plan.buf, deleted, cookie, err) : 0;
}

int layerstore_release_image(struct strata_store *store, const char *image_id, const char *chain_id,
			     const char *const *in_use, size_t nr_in_use, layer_drop_image_fn drop,
			     layer_deleted_fn deleted, void *cookie, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf intent = STRBUF_INIT, plan = STRBUF_INIT;
	struct graph_driver *driver;
	size_t nr;
	int ret;

	if ((ret = store_driver(store, &driver, err)) < 0 ||
	    (ret = plan_release(store, chain_id, in_use, nr_in_use, &plan, &nr, err)) < 0)
		return ret;
	if (!nr)
		return drop(cookie, err);
	if ((ret = release_intent_write(store, image_id, plan.buf, &intent, err)) < 0)
		return ret;
	ret = drop(cookie, err);
	if (ret < 0) {
		release_intent_remove(store, intent.buf, NULL);
		return ret;
	}
	ret = delete_planned(store, driver, plan.buf, deleted, cookie, err);
	if (ret < 0)
		return ret; /* the intent stays: the next writer finishes the removal */
	return release_intent_remove(store, intent.buf, err);
}

bool layerstore_has(struct strata_store *store, const char *chain_id)
{
	_cleanup_strbuf_ struct strbuf dir = STRBUF_INIT;

	if (store->image_fd < 0 || !digest_valid(chain_id) || layout_layer_dir(&dir, chain_id + 7, NULL) < 0)
		return false;
	return fs_exists_at(store->image_fd, dir.buf);
}

/* cache-ids are free-form to dockerd; deriving them makes a store reproducible. */
static void derive_cache_id(const char *seed, char out[STRATA_HEX_LEN + 1])
{
	_cleanup_free_ char *text = xasprintf("strata cache-id %s", seed);

	sha256_hex(text, strlen(text), out);
}

struct staging {
	char *name; /* layerdb/tmp/write-set-... */
	int fd;
};

static int staging_create(struct strata_store *store, const char *cache_id, struct staging *st,
			  struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf name = STRBUF_INIT;
	int ret;

	if ((ret = layout_mkdir(store->image_fd, LAYOUT_LAYERDB_LAYERS, err)) < 0 ||
	    (ret = layout_mkdir(store->image_fd, LAYOUT_LAYERDB_TMP, err)) < 0 ||
	    (ret = layout_tmp_write_set(&name, cache_id, getpid(), err)) < 0)
		return ret;
	st->name = strbuf_detach(&name, NULL);
	ret = fs_remove_tree_at(store->image_fd, st->name, err);
	if (ret >= 0)
		ret = fs_mkdir_at(store->image_fd, st->name, 0700, err);
	if (ret < 0)
		return ret;
	st->fd = fs_open_dir_at(store->image_fd, st->name, err);
	return st->fd < 0 ? st->fd : 0;
}

static void staging_discard(struct strata_store *store, struct staging *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
	if (st->name)
		fs_remove_tree_at(store->image_fd, st->name, NULL);
	free(st->name);
	st->name = NULL;
}

static int write_record(struct staging *st, const struct layer_register_result *res, const char *cache_id,
			const char *parent_chain, struct strata_error **err)
{
	char size[32];
	int ret;

	snprintf(size, sizeof(size), "%lld", (long long)res->size);
	if ((ret = fs_write_file_at(st->fd, LAYOUT_LAYER_DIFF, res->diff_id, strlen(res->diff_id), 0644, err)) < 0 ||
	    (ret = fs_write_file_at(st->fd, LAYOUT_LAYER_SIZE, size, strlen(size), 0644, err)) < 0 ||
	    (ret = fs_write_file_at(st->fd, LAYOUT_LAYER_CACHE_ID, cache_id, strlen(cache_id), 0644, err)) < 0)
		return ret;
	if (parent_chain && *parent_chain &&
	    (ret = fs_write_file_at(st->fd, LAYOUT_LAYER_PARENT, parent_chain, strlen(parent_chain), 0644, err)) < 0)
		return ret;
	if (fsync(st->fd) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "fsync '%s'", st->name);
	return 0;
}

struct layer_job {
	struct strata_store *store;
	struct graph_driver *driver;
	char parent_chain[STRATA_DIGEST_LEN + 1]; /* "" for a base layer */
	char *expected;                           /* expected diff ID, or NULL */
	char cache_id[CACHE_ID_MAX + 1];
	struct staging st;
	bool created;  /* the driver folder is ours */
	bool ingested;
	struct layer_register_result res;
};

bool layerstore_job_existed(const struct layer_job *job)
{
	return job->res.existed;
}

const char *layerstore_job_chain_id(const struct layer_job *job)
{
	return job->res.chain_id;
}

static void job_free(struct layer_job *job)
{
	if (job->st.fd >= 0)
		close(job->st.fd);
	free(job->st.name);
	free(job->expected);
	free(job);
}

void layerstore_job_abort(struct layer_job *job)
{
	if (!job)
		return;
	staging_discard(job->store, &job->st);
	if (job->created)
		graph_driver_remove(job->driver, job->cache_id, NULL);
	job_free(job);
}

int layerstore_prepare(struct strata_store *store, const char *parent_chain,
		       const struct layer_job *parent_job, const char *expected_diff_id,
		       struct layer_job **out, struct strata_error **err)
{
	struct layer_job *job;
	struct layer_record parent = { 0 };
	const char *parent_cache = NULL;
	int ret;

	*out = NULL;
	if (parent_job) {
		if (!*parent_job->res.chain_id)
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"parent layer: its chain ID is not known before it is read");
		if (parent_chain && *parent_chain && strcmp(parent_chain, parent_job->res.chain_id))
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"parent layer: %s is not the prepared parent %s", parent_chain,
						parent_job->res.chain_id);
		parent_cache = parent_job->cache_id;
	} else if (parent_chain && *parent_chain) {
		ret = layerdb_read(store, parent_chain, &parent, err);
		if (ret < 0)
			return strata_error_wrap(err, "parent layer");
		parent_cache = parent.cache_id;
	}
	job = xcalloc(1, sizeof(*job));
	job->store = store;
	job->st.fd = -1;
	snprintf(job->parent_chain, sizeof(job->parent_chain), "%s",
		 parent_job ? parent_job->res.chain_id : parent_chain ? parent_chain : "");
	if (expected_diff_id) {
		job->expected = xstrdup(expected_diff_id);
		layer_chain_id(job->parent_chain, expected_diff_id, job->res.chain_id);
		if (layerstore_has(store, job->res.chain_id)) {
			struct layer_record rec;

			ret = layerdb_read(store, job->res.chain_id, &rec, err);
			if (ret < 0) {
				job_free(job);
				return ret;
			}
			memcpy(job->res.diff_id, rec.diff_id, sizeof(job->res.diff_id));
			memcpy(job->cache_id, rec.cache_id, sizeof(job->cache_id));
			job->res.size = rec.size;
			job->res.existed = true;
			*out = job;
			return 0;
		}
		derive_cache_id(job->res.chain_id, job->cache_id);
	} else {
		struct timespec now;
		_cleanup_free_ char *seed = NULL;

		/* The chain is unknown until the stream is read: no content to derive from. */
		clock_gettime(CLOCK_REALTIME, &now);
		seed = xasprintf("%s %ld %ld.%09ld", job->parent_chain, (long)getpid(), (long)now.tv_sec,
				 now.tv_nsec);
		derive_cache_id(seed, job->cache_id);
	}
	ret = store_driver(store, &job->driver, err);
	if (ret >= 0)
		ret = staging_create(store, job->cache_id, &job->st, err);
	if (ret >= 0)
		ret = graph_driver_create(job->driver, job->cache_id, parent_cache && *parent_cache ? parent_cache : NULL,
					  err);
	if (ret < 0) {
		layerstore_job_abort(job);
		return ret;
	}
	job->created = true;
	*out = job;
	return 0;
}

/* Ready the job's folder and tar-split file to be written. */
static int job_begin(struct layer_job *job, struct layer_applier **applier, int *ts_fd, struct strata_error **err)
{
	int ret;

	if (!job->created || job->ingested)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "layer job is not ready to be read into");
	ret = graph_driver_apply_begin(job->driver, job->cache_id, applier, err);
	if (ret < 0)
		return ret;
	*ts_fd = openat(job->st.fd, LAYOUT_LAYER_TAR_SPLIT, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (*ts_fd < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "create '%s/" LAYOUT_LAYER_TAR_SPLIT "'", job->st.name);
	return 0;
}

/* After the last member: the layer's size, tar-split on disk, the diff ID checked. */
static int job_end(struct layer_job *job, struct layer_applier *applier, int ts_fd, const char *diff_hex,
		   const char *compressed_hex, uint64_t compressed_size, struct strata_error **err)
{
	struct layer_register_result *res = &job->res;
	int ret = layer_applier_finish(applier, &res->size, err);

	if (ret < 0)
		return ret;
	if (fsync(ts_fd) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "fsync tar-split");
	snprintf(res->diff_id, sizeof(res->diff_id), "sha256:%s", diff_hex);
	snprintf(res->compressed_digest, sizeof(res->compressed_digest), "sha256:%s", compressed_hex);
	res->compressed_size = compressed_size;
	if (job->expected && strcmp(job->expected, res->diff_id))
		return strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
					"layer diff ID mismatch: expected %s, the tar hashes to %s", job->expected,
					res->diff_id);
	job->ingested = true;
	return 0;
}

int layerstore_job_ingest(struct layer_job *job, stream_read_fn src, void *src_cookie,
			  struct strata_error **err)
{
	struct tarsplit_ingest_result ing;
	struct layer_applier *applier = NULL;
	_cleanup_close_ int ts_fd = -1;
	int ret;

	if (job->res.existed)
		return 0;
	ret = job_begin(job, &applier, &ts_fd, err);
	if (ret >= 0)
		ret = tarsplit_ingest(src, src_cookie, ts_fd, layer_applier_entry, applier, &ing, err);
	if (ret >= 0)
		ret = job_end(job, applier, ts_fd, ing.diff_id_hex, ing.compressed_hex, ing.compressed_size, err);
	layer_applier_free(applier);
	return ret < 0 ? ret : 0;
}

struct layer_writer {
	struct layer_applier *applier;
	struct tarsplit_writer *ts;
	struct sha256_async *sha;  /* most of the cost: overlaps the rest */
	uint64_t size;             /* tar bytes so far */
	uint64_t data_left;        /* of the current member */
};

int layer_writer_write(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	struct layer_writer *w = cookie;
	size_t take = len < w->data_left ? len : (size_t)w->data_left;
	int ret = 0;

	sha256_async_update(w->sha, data, len);
	w->size += len;
	if (take) {
		ret = tarsplit_writer_data(w->ts, data, take, err);
		w->data_left -= take;
	}
	if (ret >= 0 && take < len)
		ret = tarsplit_writer_raw(w->ts, (const char *)data + take, len - take, err);
	return ret;
}

static ssize_t no_data(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	(void)cookie, (void)buf, (void)len;
	return strata_error_set(err, STRATA_ERR_INVALID, 0, "a member with data has no source file");
}

int layer_writer_member(struct layer_writer *w, const struct tar_entry *e, int src_fd, struct strata_error **err)
{
	int ret = tarsplit_writer_member(w->ts, e->name, e->size, err);

	if (ret < 0)
		return ret;
	w->data_left = e->size;
	if (src_fd >= 0)
		return layer_applier_apply_fd(w->applier, e, e->size, src_fd, err);
	return layer_applier_apply(w->applier, e, e->size, no_data, NULL, err);
}

int layerstore_job_write(struct layer_job *job, layer_write_fn produce, void *cookie, struct strata_error **err)
{
	struct layer_writer w = { 0 };
	_cleanup_close_ int ts_fd = -1;
	char hex[STRATA_HEX_LEN + 1];
	int ret;

	if (job->res.existed)
		return 0;
	ret = job_begin(job, &w.applier, &ts_fd, err);
	if (ret < 0) {
		layer_applier_free(w.applier);
		return ret;
	}
	w.ts = tarsplit_writer_new(ts_fd);
	w.sha = sha256_async_new();
	ret = produce(cookie, &w, err);
	if (ret >= 0 && w.data_left)
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "layer tar: a member's data is missing");
	if (ret >= 0)
		ret = tarsplit_writer_finish(w.ts, err);
	if (ret >= 0) {
		sha256_async_final_hex(steal_pointer(&w.sha), hex);
		ret = job_end(job, w.applier, ts_fd, hex, hex, w.size, err);
	}
	sha256_async_free(w.sha);
	tarsplit_writer_free(w.ts);
	layer_applier_free(w.applier);
	return ret < 0 ? ret : 0;
}

int layerstore_job_commit(struct layer_job *job, struct layer_register_result *out,
			  struct strata_error **err)
{
	struct strata_store *store = job->store;
	struct layer_register_result res = job->res;
	_cleanup_strbuf_ struct strbuf final = STRBUF_INIT;
	int ret;

	if (res.existed) {
		*out = res;
		job_free(job);
		return 0;
	}
	if (!job->ingested) {
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "layer job was not read completely");
		goto fail;
	}
	if (job->expected && strcmp(job->expected, res.diff_id)) {
		ret = strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
				       "layer diff ID mismatch: expected %s, the tar hashes to %s", job->expected,
				       res.diff_id);
		goto fail;
	}
	layer_chain_id(job->parent_chain, res.diff_id, res.chain_id);
	if (layerstore_has(store, res.chain_id)) {
		/* Same content registered before (import of a known tar): keep the old one. */
		struct layer_record rec;

		ret = layerdb_read(store, res.chain_id, &rec, err);
		staging_discard(store, &job->st);
		/* Never the folder the registered layer uses (a derived cache-id can be the same). */
		if (ret < 0 || strcmp(rec.cache_id, job->cache_id))
			graph_driver_remove(job->driver, job->cache_id, NULL);
		job->created = false;
		job_free(job);
		if (ret < 0)
			return ret;
		res.size = rec.size;
		res.existed = true;
		*out = res;
		return 0;
	}
	if (*job->parent_chain && !layerstore_has(store, job->parent_chain)) {
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "parent layer %s is not registered",
				       job->parent_chain);
		goto fail;
	}
	/*
	 * The layer's files were written without fsync: they reach the disk
	 * before the record that names them.  In a batch the first commit's
	 * sync flushes every layer, the later ones find little left to do.
	 */
	if (syncfs(store->root_fd) < 0) {
		ret = strata_error_set(err, fs_errcode(errno), errno, "sync the files of layer %s", res.chain_id);
		goto fail;
	}
	ret = write_record(&job->st, &res, job->cache_id, job->parent_chain, err);
	if (ret < 0)
		goto fail;
	ret = layout_layer_dir(&final, res.chain_id + 7, err);
	if (ret < 0)
		goto fail;
	if (renameat(store->image_fd, job->st.name, store->image_fd, final.buf) < 0) {
		ret = strata_error_set(err, STRATA_ERR_IO, errno, "move layer %s into place", res.chain_id);
		goto fail;
	}
	ret = fs_fsync_dir_at(store->image_fd, LAYOUT_LAYERDB_LAYERS, err);
	if (ret < 0)
		goto fail;
	job_free(job);
	*out = res;
	return 0;
fail:
	layerstore_job_abort(job);
	return ret;
}

/* After the job was read or written (ret): register it, or remove it on failure. */
static int commit_or_abort(struct layer_job *job, int ret, struct layer_register_result *out,
			   struct strata_error **err)
{
	if (ret < 0) {
		layerstore_job_abort(job);
		return ret;
	}
	return layerstore_job_commit(job, out, err);
}

struct producer {
	layer_produce_fn produce;
	void *cookie;
	int out;
	int ret;
	struct strata_error *err;
};

static int producer_send(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	return fs_send_all(((struct producer *)cookie)->out, data, len, "write the layer", err);
}

static void *producer_run(void *cookie)
{
	struct producer *p = cookie;

	p->ret = p->produce(p->cookie, producer_send, p, &p->err);
	close(p->out);
	return NULL;
}

int layerstore_register_produced(struct strata_store *store, const char *parent_chain, layer_produce_fn produce,
				 void *cookie, const char *expected_diff_id, struct layer_register_result *out,
				 struct strata_error **err)
{
	struct producer p = { produce, cookie, -1, 0, NULL };
	_cleanup_error_ struct strata_error *e = NULL;
	pthread_t tid;
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "socketpair");
	p.out = sv[1];
	if (pthread_create(&tid, NULL, producer_run, &p) != 0) {
		close(sv[0]);
		close(sv[1]);
		return strata_error_set(err, STRATA_ERR_IO, 0, "start the layer writer");
	}
	ret = layerstore_register(store, parent_chain, compress_fd_read, &sv[0], expected_diff_id, out, &e);
	close(sv[0]); /* the writer stops at once if the store gave up (or never read) */
	pthread_join(tid, NULL);
	/* an existing chain named by expected_diff_id is not read: the cut-off writer's error is none */
	if (p.ret < 0 && !(ret >= 0 && out->existed && expected_diff_id)) {
		if (ret >= 0 && !out->existed)
			layerstore_release(store, out->chain_id, NULL, 0, NULL, NULL, NULL);
		return strata_error_propagate(err, p.err);
	}
	strata_error_free(p.err);
	if (ret < 0)
		return strata_error_propagate(err, steal_pointer(&e));
	return ret;
}

int layerstore_register(struct strata_store *store, const char *parent_chain,
			stream_read_fn src, void *src_cookie, const char *expected_diff_id,
			struct layer_register_result *out, struct strata_error **err)
{
	struct layer_job *job;
	int ret = layerstore_prepare(store, parent_chain, NULL, expected_diff_id, &job, err);

	if (ret < 0)
		return ret;
	return commit_or_abort(job, layerstore_job_ingest(job, src, src_cookie, err), out, err);
}

int layerstore_register_written(struct strata_store *store, const char *parent_chain, layer_write_fn produce,
				void *cookie, struct layer_register_result *out, struct strata_error **err)
{
	struct layer_job *job;
	int ret = layerstore_prepare(store, parent_chain, NULL, NULL, &job, err);

	if (ret < 0)
		return ret;
	return commit_or_abort(job, layerstore_job_write(job, produce, cookie, err), out, err);
}

struct assembly {
	struct layer_record rec;
	int dir_fd, ts_fd;
	stream_write_fn write;
	void *cookie;
};

static int open_member(void *cookie, const char *name, uint64_t size, struct strata_error **err)
{
	struct assembly *a = cookie;

	/* Names come from a file a hostile layer could have shaped: stay inside. */
	return safepath_open(a->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0, err);
}

static int write_out(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	struct assembly *a = cookie;

	return a->write(a->cookie, data, len, err);
}

/* cache_id NULL: the recorded one; else only the tar-split is taken from the record. */
static int assembly_open(struct strata_store *store, const char *chain_id, const char *cache_id,
			 struct assembly *a, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf ts = STRBUF_INIT;
	struct graph_driver *driver;
	int ret;

	a->dir_fd = a->ts_fd = -1;
	if (!cache_id) {
		ret = layerdb_read(store, chain_id, &a->rec, err);
		if (ret < 0)
			return ret;
		cache_id = a->rec.cache_id;
	}
	ret = store_driver(store, &driver, err);
	if (ret < 0)
		return ret;
	a->dir_fd = graph_driver_diff_fd(driver, cache_id, err);
	if (a->dir_fd < 0)
		return strata_error_wrap(err, "layer %s", chain_id);
	ret = layout_layer_file(&ts, chain_id + 7, LAYOUT_LAYER_TAR_SPLIT, err);
	if (ret < 0)
		return ret;
	a->ts_fd = openat(store->image_fd, ts.buf, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (a->ts_fd < 0)
		return strata_error_set(err, errno == ENOENT ? STRATA_ERR_CORRUPT : STRATA_ERR_IO, errno,
					"layer %s: open " LAYOUT_LAYER_TAR_SPLIT, chain_id);
	return 0;
}

static void assembly_close(struct assembly *a)
{
	if (a->dir_fd >= 0)
		close(a->dir_fd);
	if (a->ts_fd >= 0)
		close(a->ts_fd);
}

int layerstore_assemble(struct strata_store *store, const char *chain_id, stream_write_fn write,
			void *cookie, struct strata_error **err)
{
	struct assembly a = { .write = write, .cookie = cookie };
	int ret = assembly_open(store, chain_id, NULL, &a, err);

	if (ret >= 0)
		ret = tarsplit_assemble(a.ts_fd, open_member, write_out, &a, err);
	assembly_close(&a);
	if (ret < 0)
		return strata_error_wrap(err, "rebuild layer %s", chain_id);
	return 0;
}

static int assemble_sha256(struct strata_store *store, const char *chain_id, const char *cache_id,
			   char hex[STRATA_HEX_LEN + 1], uint64_t *size, struct strata_error **err)
{
	struct assembly a = { 0 };
	int ret = assembly_open(store, chain_id, cache_id, &a, err);

	if (ret >= 0)
		ret = tarsplit_assemble_sha256(a.ts_fd, open_member, &a, hex, size, err);
	assembly_close(&a);
	if (ret < 0)
		return strata_error_wrap(err, "rebuild layer %s", chain_id);
	return 0;
}

int layerstore_assemble_sha256(struct strata_store *store, const char *chain_id,
			       char hex[STRATA_HEX_LEN + 1], uint64_t *size, struct strata_error **err)
{
	return assemble_sha256(store, chain_id, NULL, hex, size, err);
}

int layerstore_assemble_sha256_from(struct strata_store *store, const char *chain_id, const char *cache_id,
				    char hex[STRATA_HEX_LEN + 1], uint64_t *size, struct strata_error **err)
{
	return assemble_sha256(store, chain_id, cache_id, hex, size, err);
}

void layerstore_derived_cache_id(const char *chain_id, char out[STRATA_HEX_LEN + 1])
{
	derive_cache_id(chain_id, out);
}
