/*
 * The store checker: everything dockerd relies on, one problem per line.
 * Repairs only remove what nothing uses (orphans, leftovers, dangling
 * references) or a damaged config, and restore what can be derived or
 * proven (overlay2 l/ links, cache-ids).  A damaged object never costs more
 * than itself: no driver folder is removed while a cache-id is unreadable.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/scan.h"
#include "compress/compress.h"
#include "driver/driver.h"
#include "image/imagedb.h"
#include "image/refstore.h"
#include "image/rootfs.h"
#include "json/gojson.h"
#include "layer/layerdb.h"
#include "layer/layerstore.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "strata/check.h"
#include "tarsplit/tarsplit.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"

struct checker {
	struct strata_store *store;
	struct graph_driver *driver;
	const struct strata_check_options *opts;
	strata_check_report_fn report;
	void *cookie;
	struct strata_check_result res;
	/* chain IDs used by images (every prefix) and mounts */
	char **used_chains;
	size_t nr_used, alloc_used;
	/* cache-ids named by layerdb entries and mounts */
	char **cache_ids;
	size_t nr_cache, alloc_cache;
	char **images; /* valid image IDs */
	size_t nr_images, alloc_images;
	char **removed; /* chains this repair removed */
	size_t nr_removed, alloc_removed;
	/* layers whose cache-id file is damaged: their folder is unknown */
	char **lost_cache;
	size_t nr_lost, alloc_lost;
};

static void problem(struct checker *c, const char *object, bool repaired, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(struct checker *c, const char *object, bool repaired, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	c->res.problems++;
	if (repaired)
		c->res.repaired++;
	if (c->report)
		c->report(c->cookie, object, msg, repaired);
}

static void push(char ***arr, size_t *nr, size_t *alloc, const char *s)
{
	ALLOC_GROW(*arr, *nr + 1, *alloc);
	(*arr)[(*nr)++] = xstrdup(s);
}

static bool contains(char **arr, size_t nr, const char *s)
{
	for (size_t i = 0; i < nr; i++)
		if (!strcmp(arr[i], s))
			return true;
	return false;
}

static void free_list(char **arr, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		free(arr[i]);
	free(arr);
}

/* Open a folder below the image dir for listing; NULL when it does not exist. */
static DIR *open_listing(struct checker *c, const char *path)
{
	DIR *d = NULL;

	fs_opendir_at(c->store->image_fd, path, &d, NULL);
	return d;
}

static bool layer_exists(struct checker *c, const char *chain_id)
{
	_cleanup_strbuf_ struct strbuf dir = STRBUF_INIT;

	return layout_layer_dir(&dir, chain_id + 7, NULL) == 0 && fs_exists_at(c->store->image_fd, dir.buf);
}

/* A config that is not what its name says: dockerd drops it, repair removes it. */
static void damaged_config(struct checker *c, const char *object, const char *hex, struct strata_error *err)
{
	struct strata_error *e2 = NULL;

	if (!c->opts->repair || (err->code != STRATA_ERR_CORRUPT && err->code != STRATA_ERR_INVALID)) {
		problem(c, object, false, "%s", err->msg);
		return;
	}
	if (imagedb_delete(c->store, hex, &e2) < 0) {
		problem(c, object, false, "%s (cannot remove it: %s)", err->msg, e2->msg);
		strata_error_free(e2);
		return;
	}
	problem(c, object, true, "%s; removed it with its tags: load or pull the image again", err->msg);
}

static void check_images(struct checker *c)
{
	_cleanup_closedir_ DIR *d = open_listing(c, LAYOUT_IMAGEDB_CONTENT);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		_cleanup_free_ char *bytes = NULL, *object = NULL;
		_cleanup_json_ json_t *cfg = NULL;
		struct strata_error *err = NULL;
		struct image_rootfs layers;
		size_t len;
		int ret;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		object = xasprintf("image sha256:%s", de->d_name);
		if (fs_is_atomic_tmp(de->d_name)) {
			_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
			bool fixed = false;

			if (layout_entry(&path, LAYOUT_IMAGEDB_CONTENT, de->d_name, NULL, NULL) < 0)
				continue;
			/* Writers hold the store lock, which repair holds too: this is dead. */
			if (c->opts->repair)
				fixed = unlinkat(c->store->image_fd, path.buf, 0) == 0;
			problem(c, path.buf, fixed, "leftover of an interrupted image write");
			continue;
		}
		if (!digest_hex_valid(de->d_name)) {
			problem(c, object, false, "unexpected file in " LAYOUT_IMAGEDB_CONTENT);
			continue;
		}
		c->res.images++;
		if (imagedb_read_config(c->store, de->d_name, &bytes, &len, &err) < 0 ||
		    gojson_parse(bytes, len, "config", &cfg, &err) < 0) {
			damaged_config(c, object, de->d_name, err);
			strata_error_free(err);
			continue;
		}
		push(&c->images, &c->nr_images, &c->alloc_images, object + 6);
		/* the layers before a malformed diff ID are still this image's */
		ret = image_rootfs_parse(cfg, &layers, &err);
		for (size_t i = 0; i < layers.n; i++) {
			const char *chain = layers.chain_ids[i];

			if (!contains(c->used_chains, c->nr_used, chain))
				push(&c->used_chains, &c->nr_used, &c->alloc_used, chain);
			if (!layer_exists(c, chain)) {
				problem(c, object, false, "layer %s (diff %s) is missing", chain, layers.diff_ids[i]);
				break;
			}
		}
		if (ret < 0)
			problem(c, object, false, "%s", err->msg);
		strata_error_free(err);
		image_rootfs_release(&layers);
	}
}

static void check_metadata(struct checker *c)
{
	_cleanup_closedir_ DIR *d = open_listing(c, LAYOUT_IMAGEDB_METADATA);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		_cleanup_free_ char *parent = NULL, *object = NULL;
		struct strata_error *err = NULL;
		char id[STRATA_DIGEST_LEN + 1];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		object = xasprintf("image metadata %s", de->d_name);
		snprintf(id, sizeof(id), "sha256:%.64s", de->d_name);
		if (!digest_hex_valid(de->d_name) || !contains(c->images, c->nr_images, id)) {
			_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
			bool fixed = c->opts->repair &&
				     layout_entry(&path, LAYOUT_IMAGEDB_METADATA, de->d_name, NULL, NULL) == 0 &&
				     fs_remove_tree_at(c->store->image_fd, path.buf, NULL) == 0;

			problem(c, object, fixed, "metadata of an image that does not exist");
			continue;
		}
		if (imagedb_get_parent(c->store, de->d_name, &parent, &err) < 0) {
			problem(c, object, false, "%s", err->msg);
			strata_error_free(err);
		} else if (parent && !contains(c->images, c->nr_images, parent)) {
			problem(c, object, false, "parent image %s does not exist", parent);
		}
	}
}

/* Decompress the whole tar-split file: a truncated or damaged one fails here. */
static int tarsplit_readable(int fd, struct strata_error **err)
{
	struct decomp_reader *d = decomp_reader_new(compress_fd_read, &fd, 0);
	struct decomp_sums sums;
	enum compress_kind kind;
	int ret;

	ret = decomp_reader_detect(d, &kind, err);
	if (ret >= 0 && kind != COMPRESS_GZIP)
		ret = strata_error_set(err, STRATA_ERR_CORRUPT, 0,
				       LAYOUT_LAYER_TAR_SPLIT " is not gzip (dockerd: gzip: invalid header)");
	if (ret >= 0)
		ret = decomp_reader_finish(d, &sums, err);
	decomp_reader_free(d);
	return ret;
}

static void check_layer_deep(struct checker *c, const char *object, const struct layer_record *rec)
{
	struct strata_error *err = NULL;
	char hex[STRATA_HEX_LEN + 1];
	uint64_t size;

	if (layerstore_assemble_sha256(c->store, rec->chain_id, hex, &size, &err) < 0) {
		problem(c, object, false, "cannot rebuild the layer tar: %s", err->msg);
		strata_error_free(err);
	} else if (strcmp(hex, rec->diff_id + 7)) {
		problem(c, object, false, "rebuilt layer tar hashes to sha256:%s, not its diff ID %s", hex, rec->diff_id);
	}
}

static void report_driver_problem(void *cookie, const char *id, const char *what)
{
	struct checker *c = cookie;
	_cleanup_free_ char *object = xasprintf("%s/%s", graph_driver_name(c->driver), id);

	problem(c, object, false, "%s", what);
}

static bool remove_orphan_layer(struct checker *c, const char *dirname, const char *cache_id)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;

	if (!c->opts->repair || layout_entry(&path, LAYOUT_LAYERDB_LAYERS, dirname, NULL, NULL) < 0)
		return false;
	if (cache_id && *cache_id && !contains(c->cache_ids, c->nr_cache, cache_id) &&
	    graph_driver_remove(c->driver, cache_id, NULL) < 0)
		return false;
	return fs_remove_tree_at(c->store->image_fd, path.buf, NULL) == 0;
}

/* Chains used by images, plus the parents of used chains and of container mounts. */
static void collect_mount_chains(struct checker *c)
{
	_cleanup_closedir_ DIR *d = open_listing(c, LAYOUT_LAYERDB_MOUNTS);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		static const char *const files[] = { LAYOUT_MOUNT_MOUNT_ID, LAYOUT_MOUNT_INIT_ID, LAYOUT_MOUNT_PARENT };

		if (de->d_name[0] == '.')
			continue;
		for (size_t i = 0; i < 3; i++) {
			_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
			_cleanup_free_ char *v = NULL;
			struct strata_error *err = NULL;

			if (layout_entry(&path, LAYOUT_LAYERDB_MOUNTS, de->d_name, files[i], &err) < 0 ||
			    fs_read_file_at(c->store->image_fd, path.buf, 4096, &v, NULL, &err) < 0) {
				strata_error_free(err);
				continue;
			}
			if (i < 2)
				push(&c->cache_ids, &c->nr_cache, &c->alloc_cache, v);
			else if (digest_valid(v) && !contains(c->used_chains, c->nr_used, v))
				push(&c->used_chains, &c->nr_used, &c->alloc_used, v);
		}
	}
}

/*
 * The folder a damaged record still names stays in use.  False when the
 * cache-id itself is unreadable: the layer's folder is then unknown.
 */
static bool claim_recorded_cache_id(struct checker *c, const char *chain)
{
	_cleanup_free_ char *cache = NULL;
	struct strata_error *err = NULL;

	if (layerdb_read_field(c->store, chain, LAYOUT_LAYER_CACHE_ID, &cache, &err) < 0 ||
	    !layer_cache_id_valid(cache)) {
		strata_error_free(err);
		push(&c->lost_cache, &c->nr_lost, &c->alloc_lost, chain);
		return false;
	}
	if (!contains(c->cache_ids, c->nr_cache, cache))
		push(&c->cache_ids, &c->nr_cache, &c->alloc_cache, cache);
	return true;
}

/* True when chain's tar-split over the files of folder cache_id rebuilds its diff ID. */
static bool folder_proves_layer(struct checker *c, const char *chain, const char *cache_id)
{
	_cleanup_free_ char *diff = NULL;
	struct strata_error *err = NULL;
	char hex[STRATA_HEX_LEN + 1];
	uint64_t size;
	bool ok;

	if (contains(c->cache_ids, c->nr_cache, cache_id) || !graph_driver_exists(c->driver, cache_id))
		return false;
	ok = layerdb_read_field(c->store, chain, LAYOUT_LAYER_DIFF, &diff, &err) == 0 && digest_valid(diff) &&
	     layerstore_assemble_sha256_from(c->store, chain, cache_id, hex, &size, &err) == 0 &&
	     !strcmp(hex, diff + 7);
	strata_error_free(err);
	return ok;
}

/*
 * Layers whose cache-id is unreadable: repair looks for the folder that
 * rebuilds the layer (the derived cache-id first, then the folders no layer
 * claims) and writes its name back; the others keep every folder alive.
 */
static void restore_cache_ids(struct checker *c)
{
	char **ids = NULL;
	size_t nr = 0;
	bool listed = false;

	for (size_t i = 0; i < c->nr_lost; i++) {
		const char *chain = c->lost_cache[i];
		_cleanup_free_ char *object = xasprintf("layer %s", chain);
		struct layer_record rec;
		struct strata_error *err = NULL;
		char derived[STRATA_HEX_LEN + 1];
		const char *found = NULL;

		if (layerdb_read(c->store, chain, &rec, &err) == 0)
			strata_error_set(&err, STRATA_ERR_CORRUPT, 0, "layer %s is damaged: malformed cache-id", chain);
		if (c->opts->repair) {
			layerstore_derived_cache_id(chain, derived);
			if (folder_proves_layer(c, chain, derived))
				found = derived;
			if (!found && !listed)
				listed = graph_driver_list(c->driver, &ids, &nr, NULL) == 0;
			for (size_t k = 0; !found && k < nr; k++)
				if (folder_proves_layer(c, chain, ids[k]))
					found = ids[k];
		}
		if (found && layerdb_write_cache_id(c->store, chain, found, NULL) == 0) {
			push(&c->cache_ids, &c->nr_cache, &c->alloc_cache, found);
			problem(c, object, true, "%s; restored cache-id %s, whose folder rebuilds the layer's diff ID",
				err->msg, found);
			free(c->lost_cache[i]);
			c->lost_cache[i--] = c->lost_cache[--c->nr_lost];
		} else {
			problem(c, object, false, "%s", err->msg);
		}
		strata_error_free(err);
	}
	if (listed)
		graph_driver_list_free(ids);
}

static void check_layers(struct checker *c)
{
	_cleanup_closedir_ DIR *d = open_listing(c, LAYOUT_LAYERDB_LAYERS);
	struct dirent *de;

	/* A used chain keeps its parents: walk every used chain down. */
	for (size_t i = 0; i < c->nr_used; i++) {
		struct layer_record rec;
		struct strata_error *err = NULL;

		if (layerdb_read(c->store, c->used_chains[i], &rec, &err) < 0) {
			strata_error_free(err);
			continue;
		}
		push(&c->cache_ids, &c->nr_cache, &c->alloc_cache, rec.cache_id);
		if (*rec.parent && !contains(c->used_chains, c->nr_used, rec.parent))
			push(&c->used_chains, &c->nr_used, &c->alloc_used, rec.parent);
	}
	while (d && (de = readdir(d))) {
		struct layer_record rec;
		struct strata_error *err = NULL;
		_cleanup_close_ int ts_fd = -1;
		_cleanup_strbuf_ struct strbuf ts = STRBUF_INIT;
		_cleanup_free_ char *object = NULL;
		char chain[STRATA_DIGEST_LEN + 1], expect[STRATA_DIGEST_LEN + 1];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		object = xasprintf("layer sha256:%s", de->d_name);
		if (!digest_hex_valid(de->d_name)) {
			_cleanup_free_ char *cache = NULL;
			_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
			struct strata_error *e2 = NULL;

			if (layout_entry(&path, LAYOUT_LAYERDB_LAYERS, de->d_name, LAYOUT_LAYER_CACHE_ID, &e2) < 0 ||
			    fs_read_file_at(c->store->image_fd, path.buf, 4096, &cache, NULL, &e2) < 0 ||
			    !graph_driver_id_valid(cache)) {
				free(cache);
				cache = NULL;
				strata_error_free(e2);
			}
			problem(c, object, remove_orphan_layer(c, de->d_name, cache),
				"leftover of an interrupted layer removal");
			continue;
		}
		c->res.layers++;
		snprintf(chain, sizeof(chain), "sha256:%.64s", de->d_name);
		if (layerdb_read(c->store, chain, &rec, &err) < 0) {
			/* a lost cache-id is reported (and maybe restored) once all folders are known */
			if (claim_recorded_cache_id(c, chain))
				problem(c, object, false, "%s", err->msg);
			strata_error_free(err);
			continue;
		}
		layer_chain_id(rec.parent, rec.diff_id, expect);
		if (strcmp(expect, chain))
			problem(c, object, false, "chain ID does not match parent %s + diff %s (expected %s)",
				*rec.parent ? rec.parent : "(none)", rec.diff_id, expect);
		/* an orphan's parent may be an orphan this repair removed a moment ago */
		if (*rec.parent && !layer_exists(c, rec.parent) && !contains(c->removed, c->nr_removed, rec.parent))
			problem(c, object, false, "parent layer %s is missing", rec.parent);
		if (!contains(c->used_chains, c->nr_used, chain)) {
			bool fixed = remove_orphan_layer(c, de->d_name, rec.cache_id);

			if (fixed)
				push(&c->removed, &c->nr_removed, &c->alloc_removed, chain);
			problem(c, object, fixed, "no image or container uses this layer");
			continue;
		}
		if (!graph_driver_exists(c->driver, rec.cache_id)) {
			problem(c, object, false, "driver folder %s/%s is missing", graph_driver_name(c->driver), rec.cache_id);
			continue;
		}
		if (c->opts->repair) {
			const char *what = NULL;

			if (graph_driver_repair(c->driver, rec.cache_id, &what, &err) > 0) {
				_cleanup_free_ char *dobj = xasprintf("%s/%s", graph_driver_name(c->driver), rec.cache_id);

				problem(c, dobj, true, "%s", what);
			} else if (err) {
				problem(c, object, false, "%s", err->msg);
				strata_error_free(err);
				err = NULL;
			}
		}
		{
			struct layer_record parent = { 0 };
			bool parent_damaged = false;

			if (*rec.parent && layerdb_read(c->store, rec.parent, &parent, &err) < 0) {
				/* reported at the parent, whose folder is unknown here */
				parent_damaged = err->code != STRATA_ERR_NOT_FOUND;
				strata_error_free(err);
				err = NULL;
			}
			if (!parent_damaged &&
			    graph_driver_check(c->driver, rec.cache_id, *parent.cache_id ? parent.cache_id : NULL,
					       report_driver_problem, c, &err) < 0) {
				problem(c, object, false, "%s", err->msg);
				strata_error_free(err);
				err = NULL;
			}
		}
		if (layout_layer_file(&ts, de->d_name, LAYOUT_LAYER_TAR_SPLIT, NULL) == 0)
			ts_fd = openat(c->store->image_fd, ts.buf, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (ts_fd < 0) {
			problem(c, object, false,
				LAYOUT_LAYER_TAR_SPLIT " is missing: save and push cannot rebuild this layer");
			continue;
		}
		/* whole gzip first (CRC, length), then every line as analyze, save and push read it */
		if (tarsplit_readable(ts_fd, &err) < 0 ||
		    (lseek(ts_fd, 0, SEEK_SET) == 0 && analyze_tarsplit_check(ts_fd, &err) < 0)) {
			problem(c, object, false, LAYOUT_LAYER_TAR_SPLIT " is damaged: %s", err->msg);
			strata_error_free(err);
			continue;
		}
		if (c->opts->deep)
			check_layer_deep(c, object, &rec);
	}
}

static void check_tmp(struct checker *c)
{
	_cleanup_closedir_ DIR *d = open_listing(c, LAYOUT_LAYERDB_TMP);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
		bool fixed = false;

		if (layout_entry(&path, LAYOUT_LAYERDB_TMP, de->d_name, NULL, NULL) < 0)
			continue; /* "." and ".." */
		if (layout_tmp_is_pull(de->d_name))
			continue; /* a partial download the next pull of the blob resumes */
		/* Writers hold the store lock, which repair holds too: this is dead. */
		if (c->opts->repair)
			fixed = fs_remove_tree_at(c->store->image_fd, path.buf, NULL) == 0;
		problem(c, path.buf, fixed, layout_tmp_is_release(de->d_name) ? "leftover of an interrupted image removal"
									   : "leftover of an interrupted layer registration");
	}
}

static void check_driver_orphans(struct checker *c)
{
	struct strata_error *err = NULL;
	char **ids = NULL;
	size_t nr = 0;

	if (graph_driver_list(c->driver, &ids, &nr, &err) < 0) {
		problem(c, graph_driver_name(c->driver), false, "%s", err->msg);
		strata_error_free(err);
		return;
	}
	for (size_t i = 0; i < nr; i++) {
		_cleanup_free_ char *object = NULL;
		bool fixed = false;

		if (contains(c->cache_ids, c->nr_cache, ids[i]))
			continue;
		object = xasprintf("%s/%s", graph_driver_name(c->driver), ids[i]);
		if (c->nr_lost) {
			problem(c, object, false,
				"folder that no layer or container uses (kept while a layer's cache-id is damaged)");
			continue;
		}
		if (c->opts->repair)
			fixed = graph_driver_remove(c->driver, ids[i], NULL) == 0;
		problem(c, object, fixed, "folder that no layer or container uses");
	}
	graph_driver_list_free(ids);
}

static void check_references(struct checker *c)
{
	struct refstore rs = REFSTORE_INIT;
	struct strata_error *err = NULL;
	bool dirty = false;

	if (refstore_load(c->store, &rs, &err) < 0) {
		problem(c, LAYOUT_REPOSITORIES, false, "%s", err->msg);
		strata_error_free(err);
		return;
	}
	for (size_t i = 0; i < rs.nr;) {
		struct strata_ref ref;

		if (contains(c->images, c->nr_images, rs.entries[i].id)) {
			i++;
			continue;
		}
		if (!c->opts->repair) {
			problem(c, LAYOUT_REPOSITORIES, false, "%s points at missing image %s", rs.entries[i].ref,
				rs.entries[i].id);
			i++;
			continue;
		}
		problem(c, LAYOUT_REPOSITORIES, true, "%s points at missing image %s", rs.entries[i].ref,
			rs.entries[i].id);
		strata_ref_parse(rs.entries[i].ref, &ref, NULL);
		refstore_remove(&rs, &ref);
		strata_ref_release(&ref);
		dirty = true;
	}
	if (dirty && refstore_save(c->store, &rs, &err) < 0) {
		problem(c, LAYOUT_REPOSITORIES, false, "%s", err->msg);
		strata_error_free(err);
	}
	refstore_release(&rs);
}

static void check_distribution(struct checker *c)
{
	static const char *const dirs[] = { LAYOUT_DIFFID_BY_DIGEST, LAYOUT_V2METADATA_BY_DIFFID };

	for (size_t k = 0; k < 2; k++) {
		_cleanup_closedir_ DIR *d = open_listing(c, dirs[k]);
		struct dirent *de;

		while (d && (de = readdir(d))) {
			_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
			_cleanup_free_ char *buf = NULL;
			_cleanup_json_ json_t *j = NULL;
			struct strata_error *err = NULL;
			const char *object;
			size_t len;

			if (layout_entry(&path, dirs[k], de->d_name, NULL, NULL) < 0)
				continue; /* "." and ".." */
			object = path.buf;
			if (!digest_hex_valid(de->d_name)) {
				problem(c, object, false, "unexpected file name");
				continue;
			}
			if (fs_read_file_at(c->store->image_fd, path.buf, 1u << 20, &buf, &len, &err) < 0) {
				problem(c, object, false, "%s", err->msg);
				strata_error_free(err);
				continue;
			}
			if (k == 0 && !digest_valid(buf))
				problem(c, object, false, "does not hold a diff ID");
			if (k == 1 && (gojson_parse(buf, len, "v2metadata", &j, &err) < 0 || !json_is_array(j))) {
				problem(c, object, false, "is not a JSON array%s%s", err ? ": " : "", err ? err->msg : "");
				strata_error_free(err);
			}
		}
	}
}

int strata_store_check(struct strata_store *store, const struct strata_check_options *opts,
		       strata_check_report_fn report, void *cookie, struct strata_check_result *result,
		       struct strata_error **err)
{
	struct checker c = { .store = store, .opts = opts, .report = report, .cookie = cookie };
	int ret;

	if (store->image_fd < 0)
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "'%s' holds no image store", store->root);
	ret = store_driver(store, &c.driver, err);
	if (ret < 0)
		return ret;
	check_images(&c);
	check_metadata(&c);
	collect_mount_chains(&c);
	check_layers(&c);
	restore_cache_ids(&c);
	check_tmp(&c);
	check_driver_orphans(&c);
	check_references(&c);
	check_distribution(&c);
	free_list(c.used_chains, c.nr_used);
	free_list(c.cache_ids, c.nr_cache);
	free_list(c.images, c.nr_images);
	free_list(c.lost_cache, c.nr_lost);
	free_list(c.removed, c.nr_removed);
	*result = c.res;
	return 0;
}
