/*
 * The image endpoints that read and edit the store: /images/json,
 * /images/{name}/json, /images/{name}/history, /images/{name}/tag,
 * DELETE /images/{name}, /images/prune, and /system/df.  Each request loads
 * the index afresh (other strata processes change the store).
 */
#include <stdlib.h>
#include <string.h>

#include "json/gojson.h"
#include "serve/api.h"
#include "strata/image.h"
#include "strata/reference.h"
#include "strata/store.h"
#include "strata/system.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* The filters parameter ({key: [values]}) as the library's "key=value" strings; NULL: answered 400. */
static const char **filter_strings(struct api_request *req, size_t *nr, json_t **owner)
{
	json_t *filters = api_query_filters(req), *values, *v;
	const char *key, **out;
	size_t n = 0, i;

	*nr = 0;
	*owner = NULL;
	if (!filters)
		return NULL;
	json_object_foreach(filters, key, values)
		n += json_array_size(values);
	out = xcalloc(n + 1, sizeof(*out));
	*owner = json_array(); /* keeps the strings alive */
	json_object_foreach(filters, key, values) {
		json_array_foreach(values, i, v) {
			json_t *s = json_sprintf("%s=%s", key, json_string_value(v));

			json_array_append_new(*owner, s);
			out[(*nr)++] = json_string_value(s);
		}
	}
	json_decref(filters);
	return out;
}

static json_t *string_array(const char **v, size_t n)
{
	json_t *a;

	if (!n)
		return json_null(); /* a nil slice */
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The config's Labels as a map; null when it has none. */
static json_t *labels_of(const struct strata_image *img)
{
	_cleanup_free_ const char **keys = NULL;
	_cleanup_free_ const char **values = NULL;
	bool has;
	size_t n = strata_image_labels(img, &keys, &values, &has);
	json_t *o;

	if (!has)
		return json_null();
	o = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, keys[i], json_string(values[i]));
	return o;
}

/* types.ImageSummary, its fields in the order dockerd marshals them. */
static json_t *image_summary(const struct strata_image_summary *s, json_int_t shared, json_int_t containers)
{
	const char *parent = strata_image_parent(s->img);
	json_int_t size = strata_image_size(s->img);
	json_t *o = json_object();

	json_object_set_new(o, "Containers", json_integer(containers));
	json_object_set_new(o, "Created", json_integer(strata_image_created(s->img, NULL)));
	json_object_set_new(o, "Id", json_string(strata_image_id(s->img)));
	json_object_set_new(o, "Labels", labels_of(s->img));
	json_object_set_new(o, "ParentId", json_string(parent ? parent : ""));
	if (s->dangling) {
		json_object_set_new(o, "RepoDigests", json_pack("[s]", "<none>@<none>"));
		json_object_set_new(o, "RepoTags", json_pack("[s]", "<none>:<none>"));
	} else {
		json_object_set_new(o, "RepoDigests", string_array(s->digests, s->nr_digests));
		json_object_set_new(o, "RepoTags", string_array(s->tags, s->nr_tags));
	}
	json_object_set_new(o, "SharedSize", json_integer(shared));
	json_object_set_new(o, "Size", json_integer(size));
	json_object_set_new(o, "VirtualSize", json_integer(size));
	return o;
}

static void images_json(struct api_request *req)
{
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct strata_image_summary *sums = NULL;
	_cleanup_json_ json_t *owner = NULL;
	_cleanup_free_ const char **filters = NULL;
	_cleanup_free_ char *ref = NULL;
	_cleanup_strbuf_ struct strbuf body = STRBUF_INIT;
	const char *old = api_query(req, "filter");
	size_t nr_filters, n = 0;

	filters = filter_strings(req, &nr_filters, &owner);
	if (!filters)
		return;
	/* before 1.41 a "filter" parameter is a reference filter */
	if (req->version < 141 && old && *old) {
		ref = xasprintf("reference=%s", old);
		filters = xrealloc(filters, (nr_filters + 1) * sizeof(*filters));
		filters[nr_filters++] = ref;
	}
	if (!api_open_images(req, false, &store, &idx))
		return;
	if (strata_image_list(idx, filters, nr_filters, api_query_bool(req, "all"), &sums, &n, &err) < 0) {
		api_reply_strata_error(req, err);
	} else {
		/* row by row: a thousand images' objects at once would be most of the request's memory */
		strbuf_addch(&body, '[');
		for (size_t i = 0; i < n; i++) {
			json_t *row = image_summary(&sums[i], -1, -1);

			if (i)
				strbuf_addch(&body, ',');
			gojson_encode(&body, row, 0);
			json_decref(row);
		}
		strbuf_addstr(&body, "]\n");
		api_reply_data(req, 200, "application/json", body.buf, body.len);
	}
	strata_image_list_free(sums, n);
	strata_image_index_free(idx);
	strata_store_free(store);
}

static void image_inspect(struct api_request *req)
{
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct strata_image *img;
	_cleanup_free_ char *text = NULL;

	if (!api_open_store(req, false, &store))
		return;
	if (strata_image_index_load_one(store, req->param, &idx, &img, &err) < 0 ||
	    strata_image_inspect(idx, img, &text, &err) < 0)
		api_reply_strata_error(req, err);
	else
		api_reply_data(req, 200, "application/json", text, strlen(text));
	strata_image_index_free(idx);
	strata_store_free(store);
}

static void image_history(struct api_request *req)
{
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct strata_history_entry *e = NULL;
	struct strata_image *img;
	size_t nr = 0;

	if (!api_open_images(req, false, &store, &idx))
		return;
	if (strata_image_lookup(idx, req->param, &img, &err) < 0 ||
	    strata_image_history(idx, img, &e, &nr, &err) < 0) {
		api_reply_strata_error(req, err);
	} else {
		json_t *out = json_array();

		/* image.HistoryResponseItem's order */
		for (size_t i = 0; i < nr; i++)
			json_array_append_new(out, json_pack("{s:s,s:I,s:s,s:o,s:I,s:s}", "Id", e[i].id, "Created",
							     (json_int_t)e[i].created, "CreatedBy", e[i].created_by,
							     "Tags", string_array(e[i].tags, e[i].nr_tags), "Size",
							     (json_int_t)e[i].size, "Comment", e[i].comment));
		api_reply_json(req, 200, out);
	}
	strata_history_free(e, nr);
	strata_image_index_free(idx);
	strata_store_free(store);
}

/*
 * The new reference as dockerd's TagImage builds it: repo parsed as a
 * normalized name; a tag given replaces repo's own (and its digest).
 */
static char *tag_target(const char *repo, const char *tag, struct strata_error **err)
{
	struct strata_ref ref;
	char *out;
	int ret = strata_ref_parse(repo, &ref, err);

	if (ret < 0)
		return NULL;
	if (tag && *tag) {
		if (!strata_ref_tag_valid(tag)) {
			strata_ref_release(&ref);
			strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid tag format");
			return NULL;
		}
		free(ref.tag);
		free(ref.digest);
		ref.tag = xstrdup(tag);
		ref.digest = NULL;
	}
	strata_ref_default_tag(&ref);
	out = strata_ref_familiar_string(&ref);
	strata_ref_release(&ref);
	return out;
}

static void image_tag(struct api_request *req)
{
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct strata_image *img;
	_cleanup_free_ char *target = NULL;
	const char *repo = api_query(req, "repo");

	if (!api_open_images(req, true, &store, &idx))
		return;
	/* dockerd looks the image up before it reads the new name */
	if (strata_image_lookup(idx, req->param, &img, &err) < 0 ||
	    !(target = tag_target(repo ? repo : "", api_query(req, "tag"), &err)) ||
	    strata_image_tag(idx, strata_image_id(img), target, &err) < 0) {
		api_reply_strata_error(req, err);
	} else {
		api_event(req, "image", "tag", strata_image_id(img), json_pack("{s:s}", "name", target));
		api_reply_empty(req, 201);
	}
	strata_image_index_free(idx);
	strata_store_free(store);
}

/* What a removal reported: the ImageDeleteResponseItem list. */
struct removals {
	json_t *items;
};

static void collect(void *cookie, enum strata_removal what, const char *value)
{
	struct removals *r = cookie;

	json_array_append_new(r->items, json_pack("{s:s}", what == STRATA_UNTAGGED ? "Untagged" : "Deleted", value));
}

/*
 * dockerd's events for each removal: untag and delete, named by the image
 * ID.  An untag is the image untagged_id, or without it (prune) the image
 * deleted next, as ImageDelete untags an image's references before it
 * deletes it.
 */
static void removal_events(struct api_request *req, const json_t *items, const char *untagged_id)
{
	size_t i;
	json_t *item;

	json_array_foreach(items, i, item) {
		const char *deleted = json_string_value(json_object_get(item, "Deleted"));
		const char *id = deleted ? deleted : untagged_id;

		for (size_t j = i + 1; !id && j < json_array_size(items); j++)
			id = json_string_value(json_object_get(json_array_get(items, j), "Deleted"));
		if (!id)
			id = "";
		api_event(req, "image", deleted ? "delete" : "untag", id, json_pack("{s:s}", "name", id));
	}
}

static void image_delete(struct api_request *req)
{
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct strata_image *img = NULL;
	struct removals r = { json_array() };
	_cleanup_free_ char *id = NULL;

	if (!api_open_images(req, true, &store, &idx)) {
		json_decref(r.items);
		return;
	}
	/* the ID for the untag events; a damaged image the lookup refuses is removed all the same */
	if (strata_image_lookup(idx, req->param, &img, NULL) >= 0)
		id = xstrdup(strata_image_id(img));
	if (strata_image_remove(idx, req->param, api_query_bool(req, "force"), !api_query_bool(req, "noprune"),
				collect, &r, &err) < 0) {
		api_reply_strata_error(req, err);
		json_decref(r.items);
	} else {
		removal_events(req, r.items, id ? id : "");
		api_reply_json(req, 200, r.items);
	}
	strata_image_index_free(idx);
	strata_store_free(store);
}

static void images_prune(struct api_request *req)
{
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	_cleanup_json_ json_t *owner = NULL;
	_cleanup_free_ const char **filters = NULL;
	size_t nr_filters;
	uint64_t reclaimed = 0;
	struct removals r = { NULL };

	filters = filter_strings(req, &nr_filters, &owner);
	if (!filters || !api_open_images(req, true, &store, &idx))
		return;
	r.items = json_array();
	if (strata_image_prune_filtered(idx, filters, nr_filters, collect, &r, &reclaimed, &err) < 0) {
		api_reply_strata_error(req, err);
		json_decref(r.items);
	} else {
		char text[24];

		removal_events(req, r.items, NULL);
		snprintf(text, sizeof(text), "%llu", (unsigned long long)reclaimed);
		api_event(req, "image", "prune", "", json_pack("{s:s}", "reclaimed", text));
		/* a nil slice when nothing went */
		api_reply_json(req, 200,
			       json_pack("{s:o,s:I}", "ImagesDeleted",
					 json_array_size(r.items) ? r.items : (json_decref(r.items), json_null()),
					 "SpaceReclaimed", (json_int_t)reclaimed));
	}
	strata_image_index_free(idx);
	strata_store_free(store);
}

/*
 * types.DiskUsage: the library's figures, with each image as a full
 * ImageSummary (its SharedSize and Containers counted) and without
 * strata's own PartialDownloads, which dockerd has no field for.
 */
static void system_df(struct api_request *req)
{
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct strata_image_summary *sums = NULL;
	_cleanup_free_ char *text = NULL;
	json_t *du = NULL;
	size_t n = 0;

	if (!api_open_images(req, false, &store, &idx))
		return;
	if (strata_system_df(idx, &text, &err) < 0 || gojson_parse(text, strlen(text), "system df", &du, &err) < 0 ||
	    strata_image_list(idx, NULL, 0, false, &sums, &n, &err) < 0) {
		api_reply_strata_error(req, err);
		json_decref(du);
	} else {
		json_t *images = json_array(), *row, *containers;
		size_t i;

		/* the library's rows are the same images: match them by ID */
		json_array_foreach(json_object_get(du, "Images"), i, row) {
			const char *id = json_string_value(json_object_get(row, "Id"));

			for (size_t s = 0; s < n; s++)
				if (!strcmp(strata_image_id(sums[s].img), id))
					json_array_append_new(
						images,
						image_summary(&sums[s],
							      json_integer_value(json_object_get(row, "SharedSize")),
							      json_integer_value(json_object_get(row, "Containers"))));
		}
		json_object_set_new(du, "Images", images);
		json_object_del(du, "PartialDownloads");
		/* dockerd's df lists each container as /containers/json?all=1&size=1 does */
		containers = api_container_summaries(store, NULL, true, -1, true, &err);
		if (containers) {
			json_object_set_new(du, "Containers", containers);
			api_reply_json(req, 200, du);
		} else {
			json_decref(du);
			api_reply_strata_error(req, err);
		}
	}
	strata_image_list_free(sums, n);
	strata_image_index_free(idx);
	strata_store_free(store);
}

const struct api_route api_image_routes[] = {
	{ "GET", "/images/json", images_json, 0 },
	{ "POST", "/images/prune", images_prune, 0 },
	{ "GET", "/images/{name}/json", image_inspect, 0 },
	{ "GET", "/images/{name}/history", image_history, 0 },
	{ "POST", "/images/{name}/tag", image_tag, 0 },
	{ "DELETE", "/images/{name}", image_delete, 0 },
	{ "GET", "/system/df", system_df, 0 },
	{ NULL },
};
