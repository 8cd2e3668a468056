/* strata_system_df and the partial-download part of system prune. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json/gojson.h"
#include "layer/layerdb.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "strata/container.h"
#include "strata/image.h"
#include "strata/system.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* How many listed images use each chain ID (dockerd's layerRefs). */
struct chain_ref {
	const char *chain_id;
	size_t refs;
};

static int cmp_chain(const void *a, const void *b)
{
	return strcmp(((const struct chain_ref *)a)->chain_id, ((const struct chain_ref *)b)->chain_id);
}

/* Newest first, as dockerd sorts docker images (byCreated, reversed). */
static int cmp_created(const void *a, const void *b)
{
	const struct strata_image *x = *(struct strata_image *const *)a, *y = *(struct strata_image *const *)b;
	int32_t xn = 0, yn = 0;
	int64_t xs = strata_image_created(x, &xn), ys = strata_image_created(y, &yn);

	if (xs != ys)
		return xs < ys ? 1 : -1;
	if (xn != yn)
		return xn < yn ? 1 : -1;
	return strcmp(strata_image_id(x), strata_image_id(y));
}

/*
 * The images docker images lists without -a, so the ones dockerd's
 * SystemDiskUsage counts: an untagged image with children is an
 * intermediate one and left out.
 */
static struct strata_image **listed_images(const struct strata_image_index *idx, size_t *nr)
{
	size_t n = strata_image_index_count(idx);
	struct strata_image **v = xcalloc(n ? n : 1, sizeof(*v));

	*nr = 0;
	for (size_t i = 0; i < n; i++) {
		struct strata_image *img = strata_image_index_at(idx, i);
		const char **refs = NULL;
		size_t nrefs = strata_image_refs(idx, img, true, true, &refs);

		free(refs);
		if (!nrefs && strata_image_children(img))
			continue;
		v[(*nr)++] = img;
	}
	qsort(v, *nr, sizeof(*v), cmp_created);
	return v;
}

static struct chain_ref *find_chain(struct chain_ref *refs, size_t nr, const char *chain_id)
{
	struct chain_ref key = { chain_id, 0 };

	return bsearch(&key, refs, nr, sizeof(*refs), cmp_chain);
}

/* Every chain of the listed images with its use count, sorted for bsearch. */
static struct chain_ref *count_chains(struct strata_image **v, size_t nr, size_t *nr_chains)
{
	size_t total = 0, n = 0;
	struct chain_ref *refs;

	for (size_t i = 0; i < nr; i++)
		total += strata_image_layer_count(v[i]);
	refs = xcalloc(total ? total : 1, sizeof(*refs));
	for (size_t i = 0; i < nr; i++)
		for (size_t l = 0; l < strata_image_layer_count(v[i]); l++)
			refs[n++].chain_id = strata_layer_chain_id(strata_image_layer(v[i], l));
	qsort(refs, n, sizeof(*refs), cmp_chain);
	/* collapse duplicates, counting them */
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (out && !strcmp(refs[out - 1].chain_id, refs[i].chain_id)) {
			refs[out - 1].refs++;
			continue;
		}
		refs[out].chain_id = refs[i].chain_id;
		refs[out++].refs = 1;
	}
	*nr_chains = out;
	return refs;
}

/* The image IDs of the containers, to count the containers of each image. */
struct container_images {
	const char **image_ids;
	size_t nr;
};

static json_t *image_rows(const struct strata_image_index *idx, const struct container_images *cv)
{
	size_t nr = 0, nr_chains = 0;
	_cleanup_free_ struct strata_image **v = listed_images(idx, &nr);
	_cleanup_free_ struct chain_ref *chains = count_chains(v, nr, &nr_chains);
	json_t *rows = json_array();

	for (size_t i = 0; i < nr; i++) {
		const char **tags = NULL;
		size_t ntags = strata_image_refs(idx, v[i], true, false, &tags);
		json_t *jt = json_array();
		int64_t shared = 0, containers = 0;

		for (size_t t = 0; t < ntags; t++)
			json_array_append_new(jt, json_string(tags[t]));
		free(tags);
		for (size_t l = 0; l < strata_image_layer_count(v[i]); l++) {
			const struct strata_layer *layer = strata_image_layer(v[i], l);
			const struct chain_ref *c = find_chain(chains, nr_chains, strata_layer_chain_id(layer));

			if (c && c->refs > 1)
				shared += strata_layer_size(layer);
		}
		for (size_t c = 0; c < cv->nr; c++)
			containers += !strcmp(cv->image_ids[c], strata_image_id(v[i]));
		json_array_append_new(rows, json_pack("{s:s,s:o,s:I,s:I,s:I,s:I}", "Id", strata_image_id(v[i]),
						      "RepoTags", jt, "Created",
						      (json_int_t)strata_image_created(v[i], NULL), "Size",
						      (json_int_t)strata_image_size(v[i]), "SharedSize",
						      (json_int_t)shared, "Containers", (json_int_t)containers));
	}
	return rows;
}

/* Sum of the size files of every layer in layerdb (dockerd's LayerDiskUsage). */
static int layers_size(struct strata_store *store, int64_t *total, struct strata_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	*total = 0;
	if (store->image_fd < 0)
		return 0;
	fd = openat(store->image_fd, LAYOUT_LAYERDB_LAYERS, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0
				       : strata_error_set(err, STRATA_ERR_IO, errno, "open '%s'", LAYOUT_LAYERDB_LAYERS);
	if (!(d = fdopendir(fd))) {
		close(fd);
		return strata_error_set(err, STRATA_ERR_IO, errno, "read '%s'", LAYOUT_LAYERDB_LAYERS);
	}
	while ((de = readdir(d))) {
		_cleanup_free_ char *chain = NULL, *size = NULL;
		struct strata_error *e = NULL;
		char *end;
		long long v;

		if (de->d_name[0] == '.' || layout_layer_is_removing(de->d_name))
			continue;
		chain = xasprintf("sha256:%s", de->d_name);
		/* a damaged record counts 0, as dockerd skips layers it cannot load */
		if (layerdb_read_field(store, chain, LAYOUT_LAYER_SIZE, &size, &e) < 0) {
			strata_error_free(e);
			continue;
		}
		errno = 0;
		v = strtoll(size, &end, 10);
		if (!errno && end != size && !*end && v > 0)
			*total += v;
	}
	return 0;
}

/* Calls fn for each partial download of layerdb/tmp with its size; stops on fn < 0. */
typedef int (*partial_fn)(void *cookie, int dir_fd, const char *name, int64_t size, struct strata_error **err);

static int each_partial(struct strata_store *store, partial_fn fn, void *cookie, struct strata_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (store->image_fd < 0)
		return 0;
	fd = openat(store->image_fd, LAYOUT_LAYERDB_TMP, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : strata_error_set(err, STRATA_ERR_IO, errno, "open '%s'", LAYOUT_LAYERDB_TMP);
	if (!(d = fdopendir(fd))) {
		close(fd);
		return strata_error_set(err, STRATA_ERR_IO, errno, "read '%s'", LAYOUT_LAYERDB_TMP);
	}
	while ((de = readdir(d))) {
		struct stat st;
		int ret;

		if (!layout_tmp_is_pull(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if ((ret = fn(cookie, dirfd(d), de->d_name, (int64_t)st.st_size, err)) < 0)
			return ret;
	}
	return 0;
}

static int add_partial(void *cookie, int dir_fd, const char *name, int64_t size, struct strata_error **err)
{
	(void)dir_fd;
	(void)err;
	json_array_append_new(cookie, json_pack("{s:s,s:I}", "Name", name, "Size", (json_int_t)size));
	return 0;
}

int strata_system_df(const struct strata_image_index *idx, char **out, struct strata_error **err)
{
	struct strata_store *store = strata_image_index_store(idx);
	struct strata_container **cs = NULL;
	size_t nr = 0;
	struct container_images cv = { 0 };
	_cleanup_json_ json_t *du = NULL;
	json_t *containers, *partials;
	struct strbuf sb = STRBUF_INIT;
	int64_t layers = 0;
	int ret;

	*out = NULL;
	if ((ret = layers_size(store, &layers, err)) < 0)
		return ret;
	if ((ret = strata_container_list(store, &cs, &nr, err)) < 0)
		return ret;
	cv.image_ids = xcalloc(nr ? nr : 1, sizeof(*cv.image_ids));
	containers = json_array();
	for (size_t i = 0; i < nr; i++) {
		struct strata_container_state st;
		struct strata_error *e = NULL;
		int64_t rw = 0, vsize = 0;

		strata_container_state(cs[i], &st);
		/* an unreadable rw layer counts 0, as dockerd's getSize only logs it */
		if (strata_container_size(cs[i], &rw, &vsize, &e) < 0) {
			strata_error_free(e);
			rw = 0;
		}
		cv.image_ids[cv.nr++] = strata_container_image_id(cs[i]);
		json_array_append_new(containers, json_pack("{s:s,s:b,s:I}", "Id", strata_container_id(cs[i]),
							    "Running", st.running, "SizeRw", (json_int_t)rw));
	}
	partials = json_array();
	ret = each_partial(store, add_partial, partials, err);
	if (ret >= 0) {
		du = json_pack("{s:I,s:o,s:o,s:[],s:[],s:o}", "LayersSize", (json_int_t)layers, "Images",
			       image_rows(idx, &cv), "Containers", containers, "Volumes", "BuildCache",
			       "PartialDownloads", partials);
		gojson_encode(&sb, du, 0);
		*out = strbuf_detach(&sb, NULL);
	} else {
		json_decref(containers);
		json_decref(partials);
	}
	free(cv.image_ids);
	strata_container_list_free(cs, nr);
	return ret < 0 ? ret : 0;
}

struct prune_partials {
	strata_partial_fn report;
	void *cookie;
	uint64_t reclaimed;
};

static int remove_partial(void *cookie, int dir_fd, const char *name, int64_t size, struct strata_error **err)
{
	struct prune_partials *p = cookie;

	if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
		return strata_error_set(err, STRATA_ERR_IO, errno, "remove '%s/%s'", LAYOUT_LAYERDB_TMP, name);
	p->reclaimed += (uint64_t)size;
	if (p->report)
		p->report(p->cookie, name, size);
	return 0;
}

int strata_system_prune_partials(struct strata_store *store, strata_partial_fn report, void *cookie,
				 uint64_t *reclaimed, struct strata_error **err)
{
	struct prune_partials p = { report, cookie, 0 };
	int ret = each_partial(store, remove_partial, &p, err);

	*reclaimed = p.reclaimed;
	return ret < 0 ? ret : 0;
}
