#include <stdlib.h>
#include <string.h>

#include "image/image-private.h"
#include "image/rootfs.h"
#include "image/imagedb.h"
#include "json/gojson.h"
#include "layer/layerdb.h"
#include "store/store-private.h"
#include "strata/reference.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/gotime.h"

void image_release(struct strata_image *img)
{
	if (!img)
		return;
	if (img->origin) {
		struct strata_image *origin = img->origin;

		json_decref(img->config_parsed);
		free(img);
		img = origin;
	}
	/* a cache's copy goes with its last holder */
	if (__atomic_load_n(&img->refs, __ATOMIC_ACQUIRE) && __atomic_sub_fetch(&img->refs, 1, __ATOMIC_ACQ_REL))
		return;
	free(img->config_raw);
	json_decref(img->config_parsed);
	json_decref(img->labels);
	free(img->diff_ids);
	free(img->chain_ids);
	free(img->layers);
	free(img->parent);
	free(img);
}

static int parse_config(struct strata_image *img, struct strata_error **err)
{
	struct image_rootfs rootfs;
	const char *created;
	json_t *section;
	int ret;

	if (gojson_parse(img->config_raw, img->config_len, "image config", &img->config_parsed, err) < 0)
		return strata_error_wrap(err, "image %s", img->id);
	if (!json_is_object(img->config_parsed))
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "image %s: config is not a JSON object", img->id);
	section = json_object_get(img->config_parsed, "config");
	img->has_config_section = section != NULL;
	img->labels = json_incref(json_object_get(section, "Labels"));
	created = gojson_get_string(img->config_parsed, "created");
	if (created && gotime_parse_rfc3339(created, &img->created_sec, &img->created_nsec, NULL) < 0)
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "image %s: malformed created time '%.64s'",
					img->id, created);
	ret = image_rootfs_parse(img->config_parsed, &rootfs, err);
	if (ret < 0) {
		image_rootfs_release(&rootfs);
		strata_error_recode(err, STRATA_ERR_CORRUPT);
		return strata_error_wrap(err, "image %s", img->id);
	}
	img->nr_layers = rootfs.n;
	img->diff_ids = rootfs.diff_ids;
	img->chain_ids = rootfs.chain_ids;
	img->layers = xcalloc(img->nr_layers, sizeof(*img->layers));
	return 0;
}

json_t *image_config(const struct strata_image *img)
{
	/* parsed once, by whichever thread asks first; the image is otherwise read-only */
	json_t **slot = (json_t **)&img->config_parsed;
	json_t *config = __atomic_load_n(slot, __ATOMIC_ACQUIRE), *none = NULL;

	if (config)
		return config;
	/* the bytes parsed when the image was loaded: only a lack of memory fails (NULL) */
	if (gojson_parse(img->config_raw, img->config_len, "image config", &config, NULL) < 0)
		return NULL;
	if (!__atomic_compare_exchange_n(slot, &none, config, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		json_decref(config);
		config = none;
	}
	return config;
}

static int load_layers(struct strata_store *store, struct strata_image *img, struct strata_error **err)
{
	for (size_t i = 0; i < img->nr_layers; i++) {
		struct layer_record *rec = &img->layers[i].rec;
		int ret = layerdb_read(store, img->chain_ids[i], rec, err);

		if (ret < 0)
			return strata_error_wrap(err, "image %.19s", img->id);
		if (strcmp(rec->diff_id, img->diff_ids[i]))
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
						"layer %s is damaged: its diff file says %s, image %.19s expects %s",
						rec->chain_id, rec->diff_id, img->id, img->diff_ids[i]);
		img->size += rec->size;
	}
	return 0;
}

int image_load_stamped(struct strata_store *store, const char *hex, struct strata_image **out,
		       struct image_stamps *st, struct strata_error **err)
{
	struct strata_image *img = xcalloc(1, sizeof(*img));
	int ret;

	snprintf(img->id, sizeof(img->id), "sha256:%s", hex);
	ret = imagedb_read_config(store, hex, &img->config_raw, &img->config_len, err);
	if (ret >= 0)
		ret = parse_config(img, err);
	/* stamped before they are read: a change after the stamp shows as one */
	if (ret >= 0 && st)
		image_stamps_take(store, img, st);
	if (ret >= 0)
		ret = load_layers(store, img, err);
	if (ret >= 0)
		ret = imagedb_get_parent(store, hex, &img->parent, err);
	if (ret < 0) {
		image_release(img);
		return ret;
	}
	*out = img;
	return 0;
}

void image_index_count_children(struct strata_image_index *idx)
{
	for (size_t i = 0; i < idx->nr; i++)
		idx->images[i]->nr_children = 0;
	for (size_t i = 0; i < idx->nr; i++) {
		struct strata_image *parent;

		if (!idx->images[i]->parent)
			continue;
		parent = strata_image_index_find(idx, idx->images[i]->parent);
		if (parent)
			parent->nr_children++;
	}
}

int strata_image_index_load(struct strata_store *store, struct strata_image_index **out,
			    struct strata_error **err)
{
	struct strata_image_index *idx = xcalloc(1, sizeof(*idx));
	char **ids = NULL;
	size_t nr = 0;
	int ret;

	idx->store = store;
	ret = imagedb_list(store, &ids, &nr, err);
	for (size_t i = 0; ret >= 0 && i < nr; i++) {
		struct strata_error *e = NULL;
		struct strata_image *img;

		if (image_get(store, ids[i], &img, &e) == 0) {
			ALLOC_GROW(idx->images, idx->nr + 1, idx->alloc);
			idx->images[idx->nr++] = img;
			continue;
		}
		/* removed since it was listed (a writer may run beside us): it was never ours to show */
		if (!imagedb_has_config(store, ids[i])) {
			strata_error_free(e);
			continue;
		}
		/* damaged: it costs only itself, as dockerd skips it */
		ALLOC_GROW(idx->damaged, idx->nr_damaged + 1, idx->alloc_damaged);
		snprintf(idx->damaged[idx->nr_damaged].id, sizeof(idx->damaged[0].id), "sha256:%s", ids[i]);
		idx->damaged[idx->nr_damaged++].why = e;
	}
	if (ret >= 0 && store->image_cache)
		image_cache_retain(store->image_cache, ids, nr);
	imagedb_list_free(ids, nr);
	if (ret >= 0)
		ret = image_refs_load(store, &idx->refs, err);
	if (ret < 0) {
		strata_image_index_free(idx);
		return ret;
	}
	image_index_count_children(idx);
	*out = idx;
	return 0;
}

int image_index_add(struct strata_image_index *idx, const char *hex, struct strata_image **out,
		    struct strata_error **err)
{
	char id[72];
	struct strata_image *img;
	int ret;

	snprintf(id, sizeof(id), "sha256:%s", hex);
	img = strata_image_index_find(idx, id);
	if (!img) {
		ret = image_get(idx->store, hex, &img, err);
		if (ret < 0)
			return ret;
		ALLOC_GROW(idx->images, idx->nr + 1, idx->alloc);
		idx->images[idx->nr++] = img;
		image_index_count_children(idx);
	}
	if (out)
		*out = img;
	return 0;
}

void strata_image_index_free(struct strata_image_index *idx)
{
	if (!idx)
		return;
	for (size_t i = 0; i < idx->nr; i++)
		image_release(idx->images[i]);
	free(idx->images);
	for (size_t i = 0; i < idx->nr_damaged; i++)
		strata_error_free(idx->damaged[i].why);
	free(idx->damaged);
	refstore_release(&idx->refs);
	free(idx);
}

void image_index_forget(struct strata_image_index *idx, struct strata_image *img)
{
	for (size_t i = 0; i < idx->nr; i++) {
		if (idx->images[i] != img)
			continue;
		memmove(&idx->images[i], &idx->images[i + 1], (idx->nr - i - 1) * sizeof(idx->images[0]));
		idx->nr--;
		image_release(img);
		image_index_count_children(idx);
		return;
	}
}

size_t strata_image_index_count(const struct strata_image_index *idx) { return idx->nr; }
size_t strata_image_index_damaged_count(const struct strata_image_index *idx) { return idx->nr_damaged; }
const char *strata_image_index_damaged_id(const struct strata_image_index *idx, size_t i) { return idx->damaged[i].id; }
const char *strata_image_index_damaged_why(const struct strata_image_index *idx, size_t i) { return idx->damaged[i].why->msg; }
struct strata_image *strata_image_index_at(const struct strata_image_index *idx, size_t i) { return idx->images[i]; }
struct strata_store *strata_image_index_store(const struct strata_image_index *idx) { return idx->store; }

const char *strata_image_id(const struct strata_image *img) { return img->id; }
int64_t strata_image_size(const struct strata_image *img) { return img->size; }
const char *strata_image_parent(const struct strata_image *img) { return img->parent; }
size_t strata_image_children(const struct strata_image *img) { return img->nr_children; }
size_t strata_image_layer_count(const struct strata_image *img) { return img->nr_layers; }
const struct strata_layer *strata_image_layer(const struct strata_image *img, size_t i) { return &img->layers[i]; }
const char *strata_layer_chain_id(const struct strata_layer *layer) { return layer->rec.chain_id; }
const char *strata_layer_diff_id(const struct strata_layer *layer) { return layer->rec.diff_id; }
const char *strata_layer_cache_id(const struct strata_layer *layer) { return layer->rec.cache_id; }
int64_t strata_layer_size(const struct strata_layer *layer) { return layer->rec.size; }

const char *strata_image_config(const struct strata_image *img, size_t *len)
{
	if (len)
		*len = img->config_len;
	return img->config_raw;
}

int64_t strata_image_created(const struct strata_image *img, int32_t *nsec)
{
	if (nsec)
		*nsec = img->created_nsec;
	return img->created_sec;
}

struct strata_image *strata_image_index_find(const struct strata_image_index *idx, const char *id)
{
	for (size_t i = 0; i < idx->nr; i++)
		if (!strcmp(idx->images[i]->id, id))
			return idx->images[i];
	return NULL;
}

/* digestset.Lookup: a unique ID prefix, with or without "sha256:". */
static struct strata_image *search_prefix(const struct strata_image_index *idx, const char *term,
					  bool *ambiguous)
{
	struct strata_image *found = NULL;
	size_t n;

	if (!strncmp(term, "sha256:", 7))
		term += 7;
	n = strlen(term);
	*ambiguous = false;
	if (!n || n > STRATA_HEX_LEN)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", term[i]))
			return NULL;
	for (size_t i = 0; i < idx->nr; i++) {
		if (strncmp(idx->images[i]->id + 7, term, n))
			continue;
		if (found) {
			*ambiguous = true;
			return NULL;
		}
		found = idx->images[i];
	}
	return found;
}

struct damaged_image *image_index_find_damaged(const struct strata_image_index *idx, const char *name)
{
	_cleanup_free_ char *id = NULL;
	struct damaged_image *found = NULL;
	struct strata_ref ref;
	const char *hex = strncmp(name, "sha256:", 7) ? name : name + 7;
	size_t n = strlen(hex);

	if (!idx->nr_damaged)
		return NULL;
	if (strata_ref_parse(name, &ref, NULL) == 0) {
		const char *target = refstore_get(&idx->refs, &ref);

		id = target ? xstrdup(target) : NULL;
		strata_ref_release(&ref);
	}
	for (size_t i = 0; i < idx->nr_damaged; i++) {
		struct damaged_image *d = &idx->damaged[i];

		if (id ? !strcmp(d->id, id) : n && !strncmp(d->id + 7, hex, n)) {
			if (found)
				return NULL; /* an ambiguous prefix names none */
			found = d;
		}
	}
	return found;
}

void image_index_forget_damaged(struct strata_image_index *idx, struct damaged_image *d)
{
	size_t i = d - idx->damaged;

	strata_error_free(d->why);
	memmove(d, d + 1, (idx->nr_damaged - i - 1) * sizeof(*d));
	idx->nr_damaged--;
}

static int image_lookup(const struct strata_image_index *idx, const char *name,
			struct strata_image **out, struct strata_error **err)
{
	_cleanup_error_ struct strata_error *perr = NULL;
	struct strata_image *img;
	struct strata_ref ref;
	bool ambiguous = false;

	if (strata_ref_is_full_id(name) || (!strncmp(name, "sha256:", 7) && digest_valid(name))) {
		_cleanup_free_ char *id = strncmp(name, "sha256:", 7) ? xasprintf("sha256:%s", name) : xstrdup(name);

		img = strata_image_index_find(idx, id);
		if (img) {
			*out = img;
			return 0;
		}
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "No such image: %s", name);
	}
	if (strata_ref_parse(name, &ref, &perr) == 0) {
		const char *id = refstore_get(&idx->refs, &ref);

		strata_ref_release(&ref);
		img = id ? strata_image_index_find(idx, id) : NULL;
		if (img) {
			*out = img;
			return 0;
		}
	} else if (strncmp(name, "sha256:", 7)) {
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s", perr->msg);
	}
	img = search_prefix(idx, name, &ambiguous);
	if (img) {
		*out = img;
		return 0;
	}
	if (ambiguous)
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0,
					"No such image: %s (the ID prefix matches more than one image)", name);
	return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "No such image: %s", name);
}

/* A name that resolves only to a damaged image fails with what is wrong with it. */
int strata_image_lookup(const struct strata_image_index *idx, const char *name,
			struct strata_image **out, struct strata_error **err)
{
	struct strata_error *e = NULL;
	struct damaged_image *d;
	int ret = image_lookup(idx, name, out, &e);

	if (ret == 0)
		return 0;
	if (ret != -STRATA_ERR_NOT_FOUND || !(d = image_index_find_damaged(idx, name)))
		return strata_error_propagate(err, e);
	strata_error_free(e);
	return strata_error_set(err, d->why->code, 0, "image %s is damaged: %s", d->id, d->why->msg);
}

/* The image ID a name gives without the images: a full ID or a stored reference; NULL otherwise. */
static char *id_without_images(const struct refstore *refs, const char *name)
{
	struct strata_ref ref;
	const char *id;

	if (strata_ref_is_full_id(name))
		return xasprintf("sha256:%s", name);
	if (!strncmp(name, "sha256:", 7))
		return digest_valid(name) ? xstrdup(name) : NULL;
	if (strata_ref_parse(name, &ref, NULL) < 0)
		return NULL;
	id = refstore_get(refs, &ref);
	strata_ref_release(&ref);
	return id ? xstrdup(id) : NULL;
}

int strata_image_index_load_one(struct strata_store *store, const char *name, struct strata_image_index **out,
				struct strata_image **img, struct strata_error **err)
{
	struct strata_image_index *idx = xcalloc(1, sizeof(*idx));
	_cleanup_free_ char *id = NULL;
	struct strata_image *one;
	int ret;

	idx->store = store;
	ret = image_refs_load(store, &idx->refs, err);
	if (ret < 0) {
		strata_image_index_free(idx);
		return ret;
	}
	id = id_without_images(&idx->refs, name);
	if (id && image_get(store, id + 7, &one, NULL) == 0) {
		ALLOC_GROW(idx->images, idx->nr + 1, idx->alloc);
		idx->images[idx->nr++] = one;
		*out = idx;
		*img = one;
		return 0;
	}
	/* a short ID, an unknown name, a damaged image: the whole index answers as lookups do */
	strata_image_index_free(idx);
	ret = strata_image_index_load(store, out, err);
	if (ret < 0)
		return ret;
	ret = strata_image_lookup(*out, name, img, err);
	if (ret < 0) {
		strata_image_index_free(*out);
		*out = NULL;
	}
	return ret;
}

size_t strata_image_refs(const struct strata_image_index *idx, const struct strata_image *img,
			 bool tags, bool digests, const char ***out)
{
	return refstore_refs_of(&idx->refs, img->id, tags, digests, out);
}
