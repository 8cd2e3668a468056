/*
 * Squash in place: the merged tree of the squashed layers, read from the
 * driver (overlay2 mounts the chain read-only, vfs keeps full copies), is
 * written as a new layer: a whole tree when nothing is kept, else the
 * changes against the kept base's tree (deletions as whiteouts) together
 * with every visible path the squashed layers wrote.  Its tar is hashed and
 * recorded as tar-split while it is made, never written out or read back,
 * and the new layer's files are hard links to the layers' own where they
 * are the same inode (see layer_applier_apply_fd).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyze/visible.h"
#include "diff/diff.h"
#include "driver/driver.h"
#include "image/config.h"
#include "image/image-private.h"
#include "image/imagedb.h"
#include "image/refstore.h"
#include "json/gojson.h"
#include "layer/layerstore.h"
#include "store/store-private.h"
#include "strata/reference.h"
#include "strata/squash.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/safepath.h"
#include "util/strbuf.h"

/* The new layer, written from the merged tree top_fd (or the changes in it). */
struct squash_writer {
	int top_fd;
	const struct diff_changes *changes; /* NULL: the whole tree */
	struct diff_options opts;
	int *diff_fds; /* the diff folders of the image's layers, top first */
	size_t nr_diffs;
	struct layer_writer *w;
};

/*
 * The file of some layer's diff folder that the merged tree shows at rel
 * (st: as the tree shows it), so that the new layer can link to it: the
 * top-most layer holding rel, when it is that very inode (overlay2 shows a
 * lower file's own inode number; vfs's top folder is the tree).  -1 when
 * there is none.
 */
static int layer_file(const struct squash_writer *s, const char *rel, const struct stat *st)
{
	for (size_t i = 0; i < s->nr_diffs; i++) {
		_cleanup_error_ struct strata_error *e = NULL;
		struct stat got;
		int fd = safepath_open(s->diff_fds[i], rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0, &e);

		if (fd < 0 && e->code == STRATA_ERR_NOT_FOUND)
			continue;
		if (fd >= 0 && fstat(fd, &got) == 0 && S_ISREG(got.st_mode) && got.st_ino == st->st_ino &&
		    got.st_size == st->st_size)
			return fd;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return -1;
}

static int squash_member(void *cookie, const struct tar_entry *e, int dfd, const char *name,
			 const struct stat *st, struct strata_error **err)
{
	struct squash_writer *s = cookie;
	_cleanup_close_ int src = -1;

	if (e->typeflag != TAR_REG || !e->size || dfd < 0)
		return layer_writer_member(s->w, e, -1, err);
	src = layer_file(s, e->name, st);
	if (src < 0)
		src = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "open '%s'", e->name);
	return layer_writer_member(s->w, e, src, err);
}

static int squash_produce(void *cookie, struct layer_writer *w, struct strata_error **err)
{
	struct squash_writer *s = cookie;

	s->w = w;
	if (!s->changes)
		return diff_full_tar(s->top_fd, &s->opts, layer_writer_write, w, err);
	return diff_changes_tar(s->top_fd, s->changes, &s->opts, layer_writer_write, w, err);
}

/* Mount (or find) the merged tree of the layer with cache id; *fd opened on it. */
static int open_tree(struct graph_driver *d, const char *cache_id, int *fd, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	int ret = graph_driver_get(d, cache_id, &path, err);

	if (ret < 0)
		return ret;
	*fd = open(path.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0) {
		ret = strata_error_set(err, STRATA_ERR_IO, errno, "open '%s'", path.buf);
		graph_driver_put(d, cache_id, NULL);
	}
	return ret;
}

static int cmp_change(const void *pa, const void *pb)
{
	const struct diff_change *a = pa, *b = pb;
	int c = strcmp(a->path, b->path);

	return c ? c : (int)b->kind - (int)a->kind; /* a deletion first: it is what the tree holds */
}

static void push_change(struct diff_changes *c, char *path)
{
	ALLOC_GROW(c->items, c->nr + 1, c->alloc);
	c->items[c->nr++] = (struct diff_change){ .path = path, .kind = DIFF_MODIFY };
}

/*
 * The naive diff against the kept base leaves out a path the range wrote
 * again unchanged (same mode, size and mtime), so the new layer would miss
 * bytes the old size counted: every visible path the range wrote is added,
 * with its folders, and the image shrinks by exactly the range's waste.
 */
static void add_range_paths(struct diff_changes *c, struct analyze_paths *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nr; i++) {
		const char *path = p->v[i];

		/* its folders ("/a/b/c": "/a/b", "/a"), in case the layer's tar left them out */
		for (size_t len = strlen(path); len > 1;) {
			const char *slash = memrchr(path, '/', len);

			len = (size_t)(slash - path);
			if (len)
				push_change(c, xstrndup(path, len));
		}
		push_change(c, steal_pointer(&p->v[i]));
	}
	if (!c->nr)
		return;
	qsort(c->items, c->nr, sizeof(*c->items), cmp_change);
	for (size_t i = 0; i < c->nr; i++) {
		if (n && !strcmp(c->items[n - 1].path, c->items[i].path)) {
			free(c->items[i].path);
			continue;
		}
		c->items[n++] = c->items[i];
	}
	c->nr = n;
}

/* What the new layer holds against the kept base's tree base_fd. */
static int range_changes(const struct strata_image_index *idx, const struct strata_image *img, size_t base,
			 int top_fd, int base_fd, struct diff_changes *c, struct strata_error **err)
{
	struct analyze_paths p;
	int ret = analyze_range_visible(idx, img, base, &p, err);

	if (ret < 0)
		return ret;
	ret = diff_naive_changes(top_fd, base_fd, c, err);
	if (ret >= 0)
		add_range_paths(c, &p);
	analyze_paths_release(&p);
	return ret;
}

/* Open the diff folders of img's layers, top first, into s. */
static int open_diffs(struct graph_driver *d, const struct strata_image *img, struct squash_writer *s,
		      struct strata_error **err)
{
	s->diff_fds = xcalloc(img->nr_layers, sizeof(*s->diff_fds));
	for (size_t i = img->nr_layers; i-- > 0;) {
		int fd = graph_driver_diff_fd(d, img->layers[i].rec.cache_id, err);

		if (fd < 0)
			return fd;
		s->diff_fds[s->nr_diffs++] = fd;
	}
	return 0;
}

/*
 * Register the merged tree of layers [base, n) on the kept base: its tar
 * is never written out, the layer store hashes and records it as it is
 * made while the new layer's files are linked to (or copied from) the
 * layers' own.
 */
static int register_merged(struct strata_image_index *idx, const struct strata_image *img, size_t base,
			   struct layer_register_result *res, struct strata_error **err)
{
	struct strata_store *store = idx->store;
	const char *top = img->layers[img->nr_layers - 1].rec.cache_id;
	const char *below = base ? img->layers[base - 1].rec.cache_id : NULL;
	struct squash_writer s = { .top_fd = -1, .opts = { .mtime_clamp = -1, .now = time(NULL) } };
	struct diff_changes changes = { 0 };
	struct graph_driver *d;
	int base_fd = -1, ret;

	s.opts.member = squash_member;
	s.opts.member_cookie = &s;
	if ((ret = store_driver(store, &d, err)) < 0 || (ret = open_tree(d, top, &s.top_fd, err)) < 0)
		return ret;
	if (below) {
		if ((ret = open_tree(d, below, &base_fd, err)) < 0)
			goto out;
		ret = range_changes(idx, img, base, s.top_fd, base_fd, &changes, err);
		close(base_fd);
		graph_driver_put(d, below, NULL);
		if (ret < 0)
			goto out;
		s.changes = &changes;
	}
	if ((ret = open_diffs(d, img, &s, err)) >= 0)
		ret = layerstore_register_written(store, base ? img->chain_ids[base - 1] : NULL, squash_produce, &s,
						  res, err);
out:
	for (size_t i = 0; i < s.nr_diffs; i++)
		close(s.diff_fds[i]);
	free(s.diff_fds);
	diff_changes_release(&changes);
	close(s.top_fd);
	graph_driver_put(d, top, NULL);
	return ret;
}

/* The history: every old entry, the squashed layers' ones empty, then the new layer's. */
static json_t *squashed_history(const json_t *old, size_t base, const char *created, const char *comment)
{
	json_t *out = json_array(), *h, *entry;
	size_t i, layer = 0;

	json_array_foreach((json_t *)old, i, h) {
		json_t *copy = json_deep_copy(h);

		if (!json_is_true(json_object_get(h, "empty_layer")) && layer++ >= base)
			json_object_set_new(copy, "empty_layer", json_true());
		json_array_append_new(out, copy);
	}
	entry = json_object();
	json_object_set_new(entry, "created", json_string(created));
	json_object_set_new(entry, "created_by", json_string("strata squash"));
	json_object_set_new(entry, "comment", json_string(comment));
	json_array_append_new(out, entry);
	return out;
}

/* The ancestor of img (by parent metadata) with exactly base layers, or NULL. */
static const struct strata_image *ancestor_with(const struct strata_image_index *idx,
						const struct strata_image *img, size_t base)
{
	for (const struct strata_image *a = img; a; a = a->parent ? strata_image_index_find(idx, a->parent) : NULL)
		if (a->nr_layers == base && (!base || !strcmp(a->chain_ids[base - 1], img->chain_ids[base - 1])))
			return a;
	return NULL;
}

int strata_image_squash(struct strata_image_index *idx, const char *name,
			const struct strata_squash_options *opts, char id[72], struct strata_error **err)
{
	struct strata_store *store = idx->store;
	struct strata_image *img, *kept = NULL;
	struct layer_register_result res;
	_cleanup_json_ json_t *config = NULL;
	_cleanup_strbuf_ struct strbuf created = STRBUF_INIT, bytes = STRBUF_INIT;
	_cleanup_free_ char *comment = NULL;
	const struct strata_image *parent;
	struct strata_ref ref = { 0 };
	char hex[STRATA_HEX_LEN + 1];
	json_t *diff_ids;
	size_t base = opts->from;
	bool registered = false;
	int ret;

	if (opts->tag && (ret = strata_ref_parse_tag(opts->tag, &ref, err)) < 0)
		return ret;
	if ((ret = strata_image_lookup(idx, name, &img, err)) < 0)
		goto out;
	if (opts->keep_base) {
		if ((ret = strata_image_lookup(idx, opts->keep_base, &kept, err)) < 0)
			goto out;
		base = kept->nr_layers;
		if (base > img->nr_layers || (base && strcmp(kept->chain_ids[base - 1], img->chain_ids[base - 1]))) {
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "image %.19s is not a base of image %.19s",
					       kept->id, img->id);
			goto out;
		}
	}
	if (base >= img->nr_layers) {
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
				       "nothing to squash: image %.19s has %zu layers, %zu are kept", img->id,
				       img->nr_layers, base);
		goto out;
	}
	parent = kept ? kept : ancestor_with(idx, img, base);
	if ((ret = register_merged(idx, img, base, &res, err)) < 0)
		goto out;
	registered = !res.existed;
	config = json_deep_copy(image_config(img));
	store_format_now(store, &created);
	if (opts->message && *opts->message)
		comment = xstrdup(opts->message);
	else if (parent)
		comment = xasprintf("merge %s to %s", img->id, parent->id);
	else
		comment = xasprintf("create new from %s", img->id);
	json_object_set_new(config, "created", json_string(created.buf));
	json_object_set_new(config, "history",
			    squashed_history(json_object_get(image_config(img), "history"), base, created.buf, comment));
	diff_ids = json_array();
	for (size_t i = 0; i < base; i++)
		json_array_append_new(diff_ids, json_string(img->diff_ids[i]));
	json_array_append_new(diff_ids, json_string(res.diff_id));
	json_object_set_new(json_object_get(config, "rootfs"), "diff_ids", diff_ids);
	config_encode(&bytes, config);
	if ((ret = imagedb_write_config(store, bytes.buf, bytes.len, hex, err)) < 0 ||
	    (parent && (ret = imagedb_set_parent(store, hex, parent->id, err)) < 0) ||
	    (ret = image_index_add(idx, hex, NULL, err)) < 0)
		goto out;
	snprintf(id, 72, "sha256:%s", hex);
	if (opts->tag && ((ret = imagedb_touch_last_updated(store, hex, err)) < 0 ||
			  (ret = refstore_add(&idx->refs, &ref, id, err)) < 0 ||
			  (ret = refstore_save(store, &idx->refs, err)) < 0))
		goto out;
out:
	strata_ref_release(&ref);
	if (ret < 0 && registered) /* nothing of a failed squash stays */
		layerstore_release(store, res.chain_id, NULL, 0, NULL, NULL, NULL);
	return ret < 0 ? strata_error_wrap(err, "squash %s", name) : 0;
}
