/*
 * docker save, as dockerd 20.10's image/tarexport writes it: the files it
 * would put in its temporary folder, emitted in the order its archive walk
 * finds them (lexical), with the same headers, times and bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/save.h"
#include "compress/compress.h"
#include "image/config.h"
#include "image/image-private.h"
#include "image/v1.h"
#include "json/gojson.h"
#include "layer/layerstore.h"
#include "strata/archive.h"
#include "strata/image.h"
#include "strata/reference.h"
#include "tar/tar.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* ---- which images, which tags ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void save_items_free(struct save_item *items, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		for (size_t k = 0; k < items[i].nr_tags; k++)
			free(items[i].tags[k]);
		free(items[i].tags);
	}
	free(items);
}

static void add_item(struct save_item **items, size_t *nr, size_t *alloc, struct strata_image *img,
		     const char *tag)
{
	struct save_item *it = NULL;

	for (size_t i = 0; i < *nr; i++)
		if ((*items)[i].img == img)
			it = &(*items)[i];
	if (!it) {
		ALLOC_GROW(*items, *nr + 1, *alloc);
		it = &(*items)[(*nr)++];
		memset(it, 0, sizeof(*it));
		it->img = img;
	}
	if (!tag)
		return;
	for (size_t k = 0; k < it->nr_tags; k++)
		if (!strcmp(it->tags[k], tag))
			return;
	it->tags = xrealloc(it->tags, (it->nr_tags + 1) * sizeof(char *));
	it->tags[it->nr_tags++] = xstrdup(tag);
}

static bool is_id(const char *name)
{
	if (!strncmp(name, "sha256:", 7))
		name += 7;
	return strata_ref_is_full_id(name);
}

static int resolve_one(struct strata_image_index *idx, const char *name, struct save_item **items, size_t *nr,
		       size_t *alloc, struct strata_error **err)
{
	struct strata_ref ref = { 0 };
	struct strata_image *img;
	_cleanup_free_ char *fam_name = NULL;
	int ret;

	if (is_id(name)) {
		ret = strata_image_lookup(idx, name, &img, err);
		if (ret < 0)
			return ret;
		add_item(items, nr, alloc, img, NULL);
		return 0;
	}
	ret = strata_ref_parse(name, &ref, err);
	if (ret < 0)
		return ret;
	fam_name = strata_ref_familiar_name(&ref);
	if (ref.digest || !strcmp(fam_name, "sha256")) {
		strata_ref_release(&ref);
		ret = strata_image_lookup(idx, name, &img, err);
		if (ret < 0)
			return ret;
		add_item(items, nr, alloc, img, NULL);
		return 0;
	}
	if (!ref.tag) {
		const char **refs = xcalloc(idx->refs.nr + 1, sizeof(*refs));
		size_t n = 0;

		strata_ref_release(&ref);
		for (size_t i = 0; i < idx->refs.nr; i++) {
			const struct refstore_entry *e = &idx->refs.entries[i];

			if (!strcmp(e->repo, fam_name) && !strchr(e->ref, '@'))
				refs[n++] = e->ref;
		}
		qsort(refs, n, sizeof(*refs), cmp_str);
		for (size_t i = 0; i < n; i++) {
			struct strata_ref r = { 0 };
			const char *id;

			if (strata_ref_parse(refs[i], &r, NULL) < 0)
				continue;
			id = refstore_get(&idx->refs, &r);
			img = id ? strata_image_index_find(idx, id) : NULL;
			strata_ref_release(&r);
			if (img)
				add_item(items, nr, alloc, img, refs[i]);
		}
		free(refs);
		if (n)
			return 0;
		ret = strata_image_lookup(idx, name, &img, err);
		if (ret < 0)
			return ret;
		add_item(items, nr, alloc, img, NULL);
		return 0;
	}
	{
		const char *id = refstore_get(&idx->refs, &ref);
		_cleanup_free_ char *fam = strata_ref_familiar_string(&ref);

		strata_ref_release(&ref);
		img = id ? strata_image_index_find(idx, id) : NULL;
		if (!img && id) /* a damaged image: say what is wrong with it */
			return strata_image_lookup(idx, id, &img, err);
		if (!img)
			return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "reference does not exist");
		add_item(items, nr, alloc, img, fam);
	}
	return 0;
}

int save_resolve(struct strata_image_index *idx, const char *const *names, size_t nr,
		 struct save_item **out, size_t *nr_out, struct strata_error **err)
{
	struct save_item *items = NULL;
	size_t n = 0, alloc = 0;

	for (size_t i = 0; i < nr; i++) {
		int ret = resolve_one(idx, names[i], &items, &n, &alloc, err);

		if (ret < 0) {
			save_items_free(items, n);
			return ret;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!items[i].img->nr_layers) {
			save_items_free(items, n);
			return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0, "empty export - not implemented");
		}
	*out = items;
	*nr_out = n;
	return 0;
}

/* ---- the archive ---- */

struct layer_dir {
	char v1id[STRATA_HEX_LEN + 1];
	char *json;
	size_t json_len;
	const char *chain;
	const char *link_to; /* v1 ID whose layer.tar has the same diff ID, or NULL */
	int64_t mtime;
};

struct top_entry {
	char *name;
	struct layer_dir *dir;      /* a layer folder, or */
	const struct strata_image *config; /* <id>.json */
};

struct out {
	int fd;
	struct tar_writer *w;
};

static int write_fd(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	return compress_fd_write(&((struct out *)cookie)->fd, data, len, err);
}

static int write_member_data(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	return tar_writer_write_data(((struct out *)cookie)->w, data, len, err);
}

static int add_entry(struct out *o, const char *name, char type, uint32_t mode, int64_t mtime,
		     const char *link, const void *data, uint64_t size, struct strata_error **err)
{
	struct tar_entry e = {
		.name = (char *)name, .linkname = (char *)(link ? link : ""), .typeflag = type,
		.mode = mode, .uname = "root", .gname = "root", .mtime_sec = mtime, .size = size,
	};
	int ret = tar_writer_add(o->w, &e, err);

	if (ret >= 0 && data && size)
		ret = tar_writer_write_data(o->w, data, size, err);
	return ret;
}

static int cmp_top(const void *a, const void *b)
{
	return strcmp(((const struct top_entry *)a)->name, ((const struct top_entry *)b)->name);
}

static int write_layer_dir(struct strata_image_index *idx, struct out *o, const struct layer_dir *d,
			   const char *diff_id, struct strata_error **err)
{
	_cleanup_free_ char *dir = xasprintf("%s/", d->v1id);
	_cleanup_free_ char *version = xasprintf("%s/VERSION", d->v1id);
	_cleanup_free_ char *json = xasprintf("%s/json", d->v1id);
	_cleanup_free_ char *layer = xasprintf("%s/layer.tar", d->v1id);
	char hex[STRATA_HEX_LEN + 1];
	uint64_t size;
	int ret;

	if ((ret = add_entry(o, dir, TAR_DIR, 0755, d->mtime, NULL, NULL, 0, err)) < 0 ||
	    (ret = add_entry(o, version, TAR_REG, 0644, d->mtime, NULL, "1.0", 3, err)) < 0 ||
	    (ret = add_entry(o, json, TAR_REG, 0644, d->mtime, NULL, d->json, d->json_len, err)) < 0)
		return ret;
	if (d->link_to) {
		_cleanup_free_ char *target = xasprintf("../%s/layer.tar", d->link_to);

		return add_entry(o, layer, TAR_SYMLINK, 0777, d->mtime, target, NULL, 0, err);
	}
	/* The header needs the size first: rebuild once to measure and verify. */
	ret = layerstore_assemble_sha256(idx->store, d->chain, hex, &size, err);
	if (ret < 0)
		return ret;
	if (strcmp(hex, diff_id + 7))
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
					"layer %s: rebuilt tar hashes to sha256:%s, not its diff ID %s", d->chain,
					hex, diff_id);
	ret = add_entry(o, layer, TAR_REG, 0644, d->mtime, NULL, NULL, size, err);
	if (ret >= 0)
		ret = layerstore_assemble(idx->store, d->chain, write_member_data, o, err);
	return ret;
}

static const char *diff_of(struct save_item *items, size_t nr, const char *chain)
{
	for (size_t i = 0; i < nr; i++)
		for (size_t k = 0; k < items[i].img->nr_layers; k++)
			if (!strcmp(items[i].img->chain_ids[k], chain))
				return items[i].img->diff_ids[k];
	return NULL;
}

static int docker_save(struct strata_image_index *idx, struct save_item *items, size_t nr, int out_fd,
		       struct strata_error **err)
{
	struct layer_dir *dirs = NULL;
	struct top_entry *top = NULL;
	size_t nr_dirs = 0, nr_top = 0, total = 0;
	_cleanup_strbuf_ struct strbuf manifest = STRBUF_INIT, repos_text = STRBUF_INIT;
	_cleanup_json_ json_t *man = json_array(), *repos = json_object();
	struct out o = { .fd = out_fd };
	char (**v1ids)[STRATA_HEX_LEN + 1] = xcalloc(nr + 1, sizeof(*v1ids));
	int ret = 0;

	for (size_t i = 0; i < nr; i++)
		total += items[i].img->nr_layers;
	dirs = xcalloc(total + 1, sizeof(*dirs));
	top = xcalloc(total + nr + 1, sizeof(*top));
	for (size_t i = 0; i < nr; i++) {
		struct strata_image *img = items[i].img;
		json_t *entry = json_object(), *layers = json_array(), *tags;

		v1ids[i] = xcalloc(img->nr_layers, sizeof(**v1ids));
		for (size_t k = 0; k < img->nr_layers; k++) {
			_cleanup_strbuf_ struct strbuf json = STRBUF_INIT;
			_cleanup_free_ char *lp = NULL;
			bool seen = false;

			image_v1_layer(image_config(img), k, img->nr_layers, img->chain_ids[k], k ? v1ids[i][k - 1] : "",
				      v1ids[i][k], &json);
			lp = xasprintf("%s/layer.tar", v1ids[i][k]);
			json_array_append_new(layers, json_string(lp));
			for (size_t d = 0; d < nr_dirs && !seen; d++)
				seen = !strcmp(dirs[d].v1id, v1ids[i][k]);
			if (seen)
				continue;
			struct layer_dir *d = &dirs[nr_dirs++];

			memcpy(d->v1id, v1ids[i][k], sizeof(d->v1id));
			d->json = strbuf_detach(&json, &d->json_len);
			d->chain = img->chain_ids[k];
			d->mtime = img->created_sec;
			for (size_t p = 0; p + 1 < nr_dirs; p++)
				if (!dirs[p].link_to && !strcmp(diff_of(items, nr, dirs[p].chain), img->diff_ids[k])) {
					d->link_to = dirs[p].v1id;
					break;
				}
			top[nr_top].name = xstrdup(d->v1id);
			top[nr_top++].dir = d;
		}
		top[nr_top].name = xasprintf("%s.json", img->id + 7);
		top[nr_top++].config = img;
		{
			_cleanup_free_ char *cfg = xasprintf("%s.json", img->id + 7);

			json_object_set_new(entry, "Config", json_string(cfg));
		}
		tags = items[i].nr_tags ? json_array() : json_null();
		for (size_t t = 0; t < items[i].nr_tags; t++) {
			struct strata_ref ref = { 0 };
			_cleanup_free_ char *fam = NULL;
			json_t *repo;

			json_array_append_new(tags, json_string(items[i].tags[t]));
			if (strata_ref_parse(items[i].tags[t], &ref, NULL) < 0)
				continue;
			fam = strata_ref_familiar_name(&ref);
			repo = json_object_get(repos, fam);
			if (!repo) {
				repo = json_object();
				json_object_set_new(repos, fam, repo);
			}
			json_object_set_new(repo, ref.tag, json_string(v1ids[i][img->nr_layers - 1]));
			strata_ref_release(&ref);
		}
		json_object_set_new(entry, "RepoTags", tags);
		json_object_set_new(entry, "Layers", layers);
		if (img->parent)
			for (size_t p = 0; p < nr; p++)
				if (!strcmp(items[p].img->id, img->parent))
					json_object_set_new(entry, "Parent", json_string(img->parent));
		json_array_append_new(man, entry);
	}
	gojson_encode(&manifest, man, 0);
	strbuf_addch(&manifest, '\n');
	if (json_object_size(repos)) {
		gojson_encode(&repos_text, repos, GOJSON_SORT_KEYS);
		strbuf_addch(&repos_text, '\n');
	}
	qsort(top, nr_top, sizeof(*top), cmp_top);
	o.w = tar_writer_new(write_fd, &o);
	for (size_t t = 0; t < nr_top && ret >= 0; t++) {
		if (top[t].config) {
			const struct strata_image *img = top[t].config;

			ret = add_entry(&o, top[t].name, TAR_REG, 0644, img->created_sec, NULL, img->config_raw,
					img->config_len, err);
		} else {
			ret = write_layer_dir(idx, &o, top[t].dir, diff_of(items, nr, top[t].dir->chain), err);
		}
	}
	if (ret >= 0)
		ret = add_entry(&o, "manifest.json", TAR_REG, 0644, 0, NULL, manifest.buf, manifest.len, err);
	if (ret >= 0 && repos_text.len)
		ret = add_entry(&o, "repositories", TAR_REG, 0644, 0, NULL, repos_text.buf, repos_text.len, err);
	if (ret >= 0)
		ret = tar_writer_finish(o.w, err);
	tar_writer_free(o.w);
	for (size_t t = 0; t < nr_top; t++)
		free(top[t].name);
	free(top);
	for (size_t d = 0; d < nr_dirs; d++)
		free(dirs[d].json);
	free(dirs);
	for (size_t i = 0; i < nr; i++)
		free(v1ids[i]);
	free(v1ids);
	return ret;
}

int strata_image_save(struct strata_image_index *idx, const char *const *names, size_t nr_names,
		      enum strata_save_format format, int out_fd, struct strata_error **err)
{
	struct save_item *items = NULL;
	size_t nr = 0;
	int ret;

	ret = save_resolve(idx, names, nr_names, &items, &nr, err);
	if (ret < 0)
		return ret;
	if (format == STRATA_SAVE_OCI)
		ret = oci_save(idx, items, nr, out_fd, err);
	else
		ret = docker_save(idx, items, nr, out_fd, err);
	save_items_free(items, nr);
	return ret < 0 ? ret : 0;
}
