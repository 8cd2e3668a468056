/* docker image inspect and docker history, as the Engine API builds them. */
#include <stdlib.h>
#include <string.h>

#include "image/config.h"
#include "image/image-private.h"
#include "image/imagedb.h"
#include "json/gojson.h"
#include "layer/layerdb.h"
#include "store/store-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/gotime.h"

/* container.Config as the API marshals it; a config without one is null. */
static json_t *api_config(const json_t *cfg)
{
	return json_is_object(cfg) ? config_container_ordered(cfg) : json_null();
}

static json_t *string_array(const char **items, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(items[i]));
	return a;
}

static const char *config_string(const struct strata_image *img, const char *key)
{
	json_t *v = json_object_get(image_config(img), key);

	return json_is_string(v) ? json_string_value(v) : "";
}

static void add_driver_data(void *cookie, const char *key, const char *value)
{
	json_t **data = cookie;

	/* A Go map: the driver gives the keys sorted, as Go marshals them. */
	if (!*data)
		*data = json_object();
	json_object_set_new(*data, key, json_string(value));
}

/* GraphDriver.Data: what the driver says about the top layer's folder on its parents'. */
static int graph_driver_data(const struct strata_image_index *idx, const struct strata_image *img,
			     json_t **out, struct strata_error **err)
{
	struct strata_store *store = idx->store;
	size_t n = img->nr_layers;
	_cleanup_free_ struct layer_record *recs = NULL;
	_cleanup_free_ const char **lower = NULL;
	json_t *data = NULL;
	int ret;

	if (!n) {
		*out = json_null();
		return 0;
	}
	recs = xcalloc(n, sizeof(*recs));
	lower = xcalloc(n, sizeof(*lower));
	for (size_t i = 0; i < n; i++) {
		ret = layerdb_read(store, img->chain_ids[i], &recs[i], err);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i + 1 < n; i++)
		lower[i] = recs[n - 2 - i].cache_id;
	ret = store_driver_metadata(store, recs[n - 1].cache_id, lower, n - 1, add_driver_data, &data, err);
	if (ret < 0) {
		json_decref(data);
		return ret;
	}
	*out = data ? data : json_null();
	return 0;
}

/* Go's time.Time marshalling of the config's created: RFC3339Nano, zeros trimmed. */
static json_t *created_string(const struct strata_image *img)
{
	const char *created = config_string(img, "created");
	_cleanup_strbuf_ struct strbuf buf = STRBUF_INIT;

	if (!*created || strchr(created, 'Z') || strchr(created, 'z')) {
		gotime_format_rfc3339nano_utc(&buf, img->created_sec, img->created_nsec);
		return json_string(buf.buf);
	}
	/* Keep a numeric zone offset as written; only the fraction is normalised. */
	return json_string(created);
}

static int inspect_object(const struct strata_image_index *idx, const struct strata_image *img,
			  json_t **out, struct strata_error **err)
{
	_cleanup_json_ json_t *o = json_object();
	_cleanup_free_ char *last = NULL;
	const char **tags, **digests;
	size_t nt, nd;
	json_t *history, *gd, *data, *rootfs, *layers, *meta, *v;
	const char *comment;
	int ret;

	nt = refstore_refs_of(&idx->refs, img->id, true, false, &tags);
	nd = refstore_refs_of(&idx->refs, img->id, false, true, &digests);
	json_object_set_new(o, "Id", json_string(img->id));
	json_object_set_new(o, "RepoTags", string_array(tags, nt));
	json_object_set_new(o, "RepoDigests", string_array(digests, nd));
	free(tags);
	free(digests);
	json_object_set_new(o, "Parent", json_string(img->parent ? img->parent : ""));
	comment = config_string(img, "comment");
	history = json_object_get(image_config(img), "history");
	if (!*comment && json_array_size(history))
		comment = gojson_get_string(json_array_get(history, json_array_size(history) - 1), "comment");
	json_object_set_new(o, "Comment", json_string(comment ? comment : ""));
	json_object_set_new(o, "Created", created_string(img));
	json_object_set_new(o, "Container", json_string(config_string(img, "container")));
	v = json_object_get(image_config(img), "container_config");
	if (v) {
		json_object_set_new(o, "ContainerConfig", api_config(v));
	} else { /* dockerd shows an empty Config where the image has none */
		_cleanup_json_ json_t *empty = json_object();

		json_object_set_new(o, "ContainerConfig", api_config(empty));
	}
	json_object_set_new(o, "DockerVersion", json_string(config_string(img, "docker_version")));
	json_object_set_new(o, "Author", json_string(config_string(img, "author")));
	json_object_set_new(o, "Config", api_config(json_object_get(image_config(img), "config")));
	json_object_set_new(o, "Architecture", json_string(config_string(img, "architecture")));
	if (*config_string(img, "variant"))
		json_object_set_new(o, "Variant", json_string(config_string(img, "variant")));
	json_object_set_new(o, "Os", json_string(*config_string(img, "os") ? config_string(img, "os") : "linux"));
	if (*config_string(img, "os.version"))
		json_object_set_new(o, "OsVersion", json_string(config_string(img, "os.version")));
	json_object_set_new(o, "Size", json_integer(img->size));
	json_object_set_new(o, "VirtualSize", json_integer(img->size));
	ret = graph_driver_data(idx, img, &data, err);
	if (ret < 0)
		return ret;
	gd = json_object();
	json_object_set_new(gd, "Data", data);
	json_object_set_new(gd, "Name", json_string(idx->store->driver_name));
	json_object_set_new(o, "GraphDriver", gd);
	rootfs = json_object();
	v = json_object_get(json_object_get(image_config(img), "rootfs"), "type");
	json_object_set_new(rootfs, "Type", json_string(json_is_string(v) ? json_string_value(v) : ""));
	if (img->nr_layers) {
		layers = json_array();
		for (size_t i = 0; i < img->nr_layers; i++)
			json_array_append_new(layers, json_string(img->diff_ids[i]));
		json_object_set_new(rootfs, "Layers", layers);
	}
	json_object_set_new(o, "RootFS", rootfs);
	ret = imagedb_get_last_updated(idx->store, img->id + 7, &last, err);
	if (ret < 0)
		return ret;
	meta = json_object();
	json_object_set_new(meta, "LastTagTime", json_string(last ? last : "0001-01-01T00:00:00Z"));
	json_object_set_new(o, "Metadata", meta);
	*out = steal_pointer(&o);
	return 0;
}

int strata_image_inspect(const struct strata_image_index *idx, const struct strata_image *img,
			 char **json, struct strata_error **err)
{
	_cleanup_json_ json_t *o = NULL;
	struct strbuf sb = STRBUF_INIT;
	int ret = inspect_object(idx, img, &o, err);

	if (ret < 0)
		return ret;
	gojson_encode(&sb, o, 0);
	*json = strbuf_detach(&sb, NULL);
	return 0;
}

int strata_image_history(const struct strata_image_index *idx, const struct strata_image *img,
			 struct strata_history_entry **out, size_t *nr, struct strata_error **err)
{
	json_t *history = json_object_get(image_config(img), "history");
	size_t n = json_array_size(history), layer = 0;
	struct strata_history_entry *entries = xcalloc(n ? n : 1, sizeof(*entries));
	const struct strata_image *cur = img;

	for (size_t i = 0; i < n; i++) {
		json_t *h = json_array_get(history, i);
		struct strata_history_entry *e = &entries[n - 1 - i]; /* newest first */
		const char *created = gojson_get_string(h, "created");
		int32_t nsec;

		if (!json_is_true(json_object_get(h, "empty_layer"))) {
			if (layer >= img->nr_layers) {
				strata_history_free(entries, n);
				return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
							"image %s: too many non-empty layers in History section", img->id);
			}
			e->size = img->layers[layer++].rec.size;
		}
		if (created)
			gotime_parse_rfc3339(created, &e->created, &nsec, NULL);
		e->created_by = gojson_get_string(h, "created_by");
		e->comment = gojson_get_string(h, "comment");
		if (!e->created_by)
			e->created_by = "";
		if (!e->comment)
			e->comment = "";
	}
	/* The image's own ID on the newest row, then its metadata parents while they exist. */
	for (size_t i = 0; i < n; i++) {
		entries[i].id = xstrdup(cur ? cur->id : "<missing>");
		if (cur) {
			entries[i].nr_tags = refstore_refs_of(&idx->refs, cur->id, true, false, &entries[i].tags);
			cur = cur->parent ? strata_image_index_find(idx, cur->parent) : NULL;
		}
	}
	*out = entries;
	*nr = n;
	return 0;
}

void strata_history_free(struct strata_history_entry *entries, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(entries[i].id);
		free(entries[i].tags);
	}
	free(entries);
}
