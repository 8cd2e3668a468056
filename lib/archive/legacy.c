/*
 * docker load of legacy (pre-1.10) archives, as dockerd 20.10 does it
 * (image/tarexport legacyLoad, image/v1 MakeConfigFromV1Config):
 *
 *  - every top-level folder is a v1 image; its `parent` is loaded first;
 *  - its layer.tar (possibly compressed, possibly 0 bytes: dockerd then
 *    registers a layer whose diff ID is the sha256 of nothing) is a layer on
 *    the parent's chain;
 *  - the config is the v1 JSON with id, parent, Size, parent_id, layer_id and
 *    throwaway removed and rootfs + history added, top-level keys sorted; the
 *    other values are kept as written (compacted, HTML-escaped), except for
 *    JSON from docker older than 1.8.3, which is first decoded into Go's
 *    V1Image struct and marshalled again (unknown keys dropped, empty strings
 *    omitted, container configs in struct order, times re-formatted);
 *  - history = the parent's history plus {created, author, created_by
 *    (container_config.Cmd joined by spaces), comment}, never empty_layer;
 *  - tags come from `repositories` (repo -> tag -> v1 id); nothing is printed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/load.h"
#include "image/v1.h"
#include "json/gojson.h"
#include "layer/layerdb.h"
#include "strata/reference.h"
#include "util/limits.h"
#include "util/alloc.h"
#include "util/cleanup.h"


/* ---- the plan ---- */

struct v1node {
	char *name;
	char *json;
	size_t json_len;
	char *parent;     /* v1 parent name, or NULL */
	int state;        /* 0 new, 1 loading, 2 loaded */
	size_t img;       /* index in the plan once loaded */
	char diff_id[STRATA_DIGEST_LEN + 1];
	char *history;    /* encoded history entry */
};

struct legacy_plan {
	struct loader *l;
	struct v1node *nodes;
	size_t nr_nodes;
	struct load_image *imgs;
	size_t nr, alloc;
};

static struct v1node *node_find(struct legacy_plan *p, const char *name)
{
	for (size_t i = 0; i < p->nr_nodes; i++)
		if (!strcmp(p->nodes[i].name, name))
			return &p->nodes[i];
	return NULL;
}

static bool safe_component(const char *s)
{
	return *s && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/') && !strchr(s, '\\');
}

static int load_node(struct legacy_plan *p, struct v1node *nd, size_t depth, struct strata_error **err);

static int node_read(struct legacy_plan *p, struct v1node *nd, struct strata_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/json", nd->name), *os = NULL, *parent = NULL;
	int ret;

	ret = loader_read(p->l, path, true, LIMIT_CONFIG, &nd->json, &nd->json_len, err);
	if (ret < 0)
		return strata_error_wrap(err, "legacy image '%s'", nd->name);
	ret = image_v1_os_parent(nd->json, nd->json_len, &os, &parent, err);
	if (ret >= 0 && os && *os && strcmp(os, "linux"))
		ret = strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0, "cannot load %s image on linux", os);
	if (ret >= 0 && parent && *parent) {
		if (!safe_component(parent))
			ret = strata_error_set(err, STRATA_ERR_UNSAFE_PATH, 0, "invalid parent ID '%s'", parent);
		else
			nd->parent = steal_pointer(&parent);
	}
	if (ret < 0)
		return strata_error_wrap(err, "legacy image '%s'", nd->name);
	return 0;
}

static int load_node(struct legacy_plan *p, struct v1node *nd, size_t depth, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf cfg = STRBUF_INIT, h = STRBUF_INIT;
	_cleanup_free_ char *layer = NULL;
	const char **diffs = NULL, **hist = NULL;
	struct load_image *img, *parent_img = NULL;
	size_t n, parent_idx = (size_t)-1;
	int ret;

	if (nd->state == 2)
		return 0;
	if (nd->state == 1)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "legacy image '%s': parent chain loops", nd->name);
	if (depth >= LIMIT_LAYERS)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
					"legacy image '%s': max depth exceeded (more than %u layers)", nd->name,
					LIMIT_LAYERS);
	nd->state = 1;
	ret = node_read(p, nd, err);
	if (ret < 0)
		return ret;
	if (nd->parent) {
		struct v1node *pn = node_find(p, nd->parent);

		if (!pn)
			return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0,
						"legacy image '%s': parent '%s' is missing from the archive", nd->name,
						nd->parent);
		ret = load_node(p, pn, depth + 1, err);
		if (ret < 0)
			return ret;
		parent_idx = pn->img;
	}
	layer = xasprintf("%s/layer.tar", nd->name);
	ret = loader_diff_id(p->l, layer, nd->diff_id, err);
	if (ret < 0)
		return strata_error_wrap(err, "legacy image '%s'", nd->name);
	ret = image_v1_history_entry(nd->json, nd->json_len, &h, err);
	if (ret < 0)
		return ret;
	nd->history = strbuf_detach(&h, NULL);

	ALLOC_GROW(p->imgs, p->nr + 1, p->alloc);
	/* only now: growing the plan moves the images */
	if (parent_idx != (size_t)-1)
		parent_img = &p->imgs[parent_idx];
	n = parent_img ? parent_img->nr_layers + 1 : 1;
	if (n > LIMIT_LAYERS)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "max depth exceeded");
	img = &p->imgs[p->nr];
	memset(img, 0, sizeof(*img));
	diffs = xcalloc(n, sizeof(*diffs));
	hist = xcalloc(n, sizeof(*hist));
	img->nr_layers = n;
	img->layer_paths = xcalloc(n + 1, sizeof(char *));
	for (size_t k = 0; k + 1 < n; k++) {
		img->layer_paths[k] = xstrdup(parent_img->layer_paths[k]);
		diffs[k] = parent_img->diff_ids[k];
	}
	img->layer_paths[n - 1] = steal_pointer(&layer);
	diffs[n - 1] = nd->diff_id;
	/* history: each ancestor's entry, bottom first */
	{
		struct v1node *a = nd;
		size_t k = n;

		while (a && k > 0) {
			hist[--k] = a->history;
			a = a->parent ? node_find(p, a->parent) : NULL;
		}
	}
	ret = image_v1_config(nd->json, nd->json_len, diffs, n, hist, n, &cfg, err);
	free(diffs);
	free(hist);
	p->nr++;
	if (ret < 0)
		return strata_error_wrap(err, "legacy image '%s'", nd->name);
	if (parent_img)
		img->parent = xstrdup(parent_img->id);
	{
		size_t clen;
		char *c = strbuf_detach(&cfg, &clen);

		ret = load_image_set_config(img, c, clen, NULL, nd->name, err);
	}
	if (ret < 0)
		return strata_error_wrap(err, "legacy image '%s'", nd->name);
	nd->img = p->nr - 1;
	nd->state = 2;
	return 0;
}

static int add_tags(struct legacy_plan *p, const json_t *repos, struct strata_error **err)
{
	const char *name, *tag;
	json_t *tags, *id;

	if (!json_is_object(repos))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid repositories file");
	json_object_foreach((json_t *)repos, name, tags) {
		struct strata_ref ref = { 0 };
		bool named_only;
		int ret;

		if (!json_is_object(tags))
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid repositories file");
		ret = strata_ref_parse(name, &ref, err);
		if (ret < 0)
			return strata_error_wrap(err, "repositories: '%s'", name);
		named_only = !ref.tag && !ref.digest;
		strata_ref_release(&ref);
		if (!named_only)
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"repositories: '%s' is not a repository name", name);
		json_object_foreach(tags, tag, id) {
			struct v1node *nd = json_is_string(id) ? node_find(p, json_string_value(id)) : NULL;
			struct load_image *img;
			_cleanup_free_ char *full = NULL;

			if (!nd || nd->state != 2)
				return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "invalid target ID: %s",
							json_is_string(id) ? json_string_value(id) : "(not a string)");
			if (!strata_ref_tag_valid(tag))
				return strata_error_set(err, STRATA_ERR_INVALID, 0, "repositories: invalid tag '%s'",
							tag);
			full = xasprintf("%s:%s", name, tag);
			ret = strata_ref_parse(full, &ref, err);
			if (ret < 0)
				return strata_error_wrap(err, "repositories");
			strata_ref_release(&ref);
			img = &p->imgs[nd->img];
			img->tags = xrealloc(img->tags, (img->nr_tags + 2) * sizeof(char *));
			img->tags[img->nr_tags++] = steal_pointer(&full);
			img->tags[img->nr_tags] = NULL;
		}
	}
	return 0;
}

int legacy_load_plan(struct loader *l, struct load_image **out, size_t *nr, struct strata_error **err)
{
	struct legacy_plan p = { .l = l };
	_cleanup_free_ char *repos_buf = NULL;
	_cleanup_json_ json_t *repos = NULL;
	char **dirs = NULL;
	size_t nr_dirs = 0, repos_len;
	int ret;

	*out = NULL;
	*nr = 0;
	ret = loader_top_dirs(l, &dirs, &nr_dirs, err);
	if (ret < 0)
		return ret;
	p.nodes = xcalloc(nr_dirs + 1, sizeof(*p.nodes));
	for (size_t i = 0; i < nr_dirs; i++)
		p.nodes[p.nr_nodes++].name = dirs[i];
	free(dirs);
	if (p.nr_nodes > LOAD_MAX_IMAGES)
		ret = strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "too many images in the archive");
	/* every folder is an image, in name order, parents first (moby's legacyLoad) */
	for (size_t i = 0; ret >= 0 && i < p.nr_nodes; i++)
		ret = load_node(&p, &p.nodes[i], 0, err);
	if (ret >= 0)
		ret = loader_read(l, "repositories", true, LIMIT_CONFIG, &repos_buf, &repos_len, err);
	if (ret >= 0)
		ret = gojson_parse(repos_buf, repos_len, "repositories", &repos, err);
	if (ret >= 0)
		ret = add_tags(&p, repos, err);
	for (size_t i = 0; i < p.nr_nodes; i++) {
		free(p.nodes[i].name);
		free(p.nodes[i].json);
		free(p.nodes[i].parent);
		free(p.nodes[i].history);
	}
	free(p.nodes);
	*out = p.imgs;
	*nr = p.nr;
	return ret < 0 ? ret : 0;
}
