/*
 * OCI image layouts: the load plan from index.json (nested indexes, the
 * host platform's manifest, tags from annotations, artifacts skipped) and
 * the writer behind save --format oci.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/load.h"
#include "archive/save.h"
#include "compress/compress.h"
#include "image/image-private.h"
#include "image/imagedb.h"
#include "json/gojson.h"
#include "layer/layerstore.h"
#include "image/manifest.h"
#include "strata/archive.h"
#include "strata/image.h"
#include "strata/reference.h"
#include "tar/tar.h"
#include "util/limits.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

#define ANN_REF_NAME "org.opencontainers.image.ref.name"
#define ANN_CONTAINERD_NAME "io.containerd.image.name"

struct plan {
	struct loader *l;
	struct registry_platform host;
	struct load_image *imgs;
	size_t nr, alloc;
};

/* Read blobs/sha256/<hex> of a descriptor and check its digest and size. */
static int read_blob(struct loader *l, const json_t *desc, size_t max, char **buf, size_t *len,
		     char hex_out[STRATA_HEX_LEN + 1], struct strata_error **err)
{
	const char *digest = gojson_get_string(desc, "digest"), *hex;
	json_t *size = json_object_get(desc, "size");
	_cleanup_free_ char *path = NULL;
	char got[STRATA_HEX_LEN + 1];
	int ret;

	ret = digest_parse(digest ? digest : "", &hex, "descriptor digest", err);
	if (ret < 0)
		return ret;
	path = xasprintf("blobs/sha256/%s", hex);
	ret = loader_read(l, path, true, max, buf, len, err);
	if (ret < 0)
		return ret;
	sha256_hex(*buf, *len, got);
	if (strcmp(got, hex) || (json_is_integer(size) && json_integer_value(size) != (json_int_t)*len)) {
		free(*buf);
		*buf = NULL;
		return strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
					"blob %s: content does not match its descriptor (sha256:%s, %zu bytes)",
					digest, got, *len);
	}
	if (hex_out)
		memcpy(hex_out, hex, STRATA_HEX_LEN + 1);
	return 0;
}

static bool is_index_type(const char *mt)
{
	return mt && (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST));
}

static bool is_manifest_type(const char *mt)
{
	return mt && (!strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST));
}

static bool is_fs_layer(const char *mt)
{
	return mt && (!strcmp(mt, MT_OCI_LAYER) || !strcmp(mt, MT_OCI_LAYER_GZIP) ||
		      !strcmp(mt, MT_OCI_LAYER_ZSTD) || !strcmp(mt, MT_DOCKER_LAYER) ||
		      !strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar"));
}

/* The tag an index.json entry names, or NULL (a bare tag needs a name we do not have). */
static char *entry_tag(const json_t *desc)
{
	json_t *ann = json_object_get(desc, "annotations");
	const char *name = gojson_get_string(ann, ANN_CONTAINERD_NAME);
	struct strata_ref ref = { 0 };
	char *out = NULL;

	if (!name) {
		name = gojson_get_string(ann, ANN_REF_NAME);
		if (!name || (!strchr(name, '/') && !strchr(name, ':')))
			return NULL;
	}
	if (strata_ref_parse(name, &ref, NULL) < 0)
		return NULL;
	strata_ref_default_tag(&ref);
	if (!ref.digest)
		out = strata_ref_familiar_string(&ref);
	strata_ref_release(&ref);
	return out;
}

static void add_tag(struct load_image *img, const char *tag)
{
	if (!tag)
		return;
	for (size_t i = 0; i < img->nr_tags; i++)
		if (!strcmp(img->tags[i], tag))
			return;
	img->tags = xrealloc(img->tags, (img->nr_tags + 2) * sizeof(char *));
	img->tags[img->nr_tags++] = xstrdup(tag);
}

static int plan_manifest(struct plan *p, const json_t *desc, const char *tag, struct strata_error **err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ json_t *man = NULL;
	json_t *config, *layers, *layer;
	struct load_image img = { 0 };
	char *cfg_bytes = NULL, mhex[STRATA_HEX_LEN + 1], chex[STRATA_HEX_LEN + 1];
	const char *cmt;
	size_t len, clen, i;
	int ret;

	ret = read_blob(p->l, desc, LIMIT_CONFIG, &buf, &len, mhex, err);
	if (ret < 0)
		return ret;
	ret = gojson_parse(buf, len, "manifest", &man, err);
	if (ret < 0)
		return ret;
	if (json_object_get(man, "manifests"))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"manifest sha256:%s also has \"manifests\": refusing an ambiguous document", mhex);
	config = json_object_get(man, "config");
	layers = json_object_get(man, "layers");
	cmt = gojson_get_string(config, "mediaType");
	if (!json_is_object(config) || !json_is_array(layers))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid manifest sha256:%s", mhex);
	if (!cmt || (strcmp(cmt, MT_OCI_CONFIG) && strcmp(cmt, MT_DOCKER_CONFIG)))
		return 0; /* an artifact, not an image */
	json_array_foreach(layers, i, layer)
		if (!is_fs_layer(gojson_get_string(layer, "mediaType")))
			return 0;
	img.nr_layers = json_array_size(layers);
	if (img.nr_layers > LIMIT_LAYERS)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "max depth exceeded");
	ret = read_blob(p->l, config, LIMIT_CONFIG, &cfg_bytes, &clen, chex, err);
	if (ret < 0)
		return strata_error_wrap(err, "config of manifest sha256:%s", mhex);
	ret = load_image_set_config(&img, cfg_bytes, clen, chex, gojson_get_string(config, "digest"), err);
	if (ret >= 0) {
		img.layer_paths = xcalloc(img.nr_layers + 1, sizeof(char *));
		img.blob_digests = xcalloc(img.nr_layers + 1, sizeof(*img.blob_digests));
		img.blob_sizes = xcalloc(img.nr_layers + 1, sizeof(*img.blob_sizes));
		json_array_foreach(layers, i, layer) {
			const char *d = gojson_get_string(layer, "digest"), *hex;
			json_t *size = json_object_get(layer, "size");

			ret = digest_parse(d ? d : "", &hex, "layer digest", err);
			if (ret < 0)
				break;
			img.layer_paths[i] = xasprintf("blobs/sha256/%s", hex);
			snprintf(img.blob_digests[i], sizeof(img.blob_digests[i]), "%s", d);
			img.blob_sizes[i] = json_is_integer(size) ? json_integer_value(size) : -1;
		}
	}
	if (ret < 0) {
		load_image_release(&img);
		return ret;
	}
	for (i = 0; i < p->nr; i++)
		if (!strcmp(p->imgs[i].id, img.id)) {
			add_tag(&p->imgs[i], tag);
			load_image_release(&img);
			return 0;
		}
	if (p->nr >= LOAD_MAX_IMAGES) {
		load_image_release(&img);
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "too many images in the archive");
	}
	add_tag(&img, tag);
	ALLOC_GROW(p->imgs, p->nr + 1, p->alloc);
	p->imgs[p->nr++] = img;
	return 0;
}

static int plan_descriptor(struct plan *p, const json_t *desc, const char *tag, int depth,
			   struct strata_error **err);

/* A descriptor's platform, when it names an OS and an architecture (borrowed strings). */
static bool read_platform(const json_t *plat, struct registry_platform *have)
{
	if (!json_is_object(plat))
		return false;
	have->os = (char *)gojson_get_string(plat, "os");
	have->architecture = (char *)gojson_get_string(plat, "architecture");
	have->variant = (char *)gojson_get_string(plat, "variant");
	return have->os && have->architecture;
}

static int plan_index(struct plan *p, const json_t *desc, const char *tag, int depth, struct strata_error **err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ json_t *index = NULL;
	json_t *children, *child, *best = NULL;
	int best_rank = -1;
	size_t len, i;
	int ret;

	if (depth > LIMIT_INDEX_DEPTH)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "image indexes nested too deep");
	ret = read_blob(p->l, desc, LIMIT_CONFIG, &buf, &len, NULL, err);
	if (ret < 0)
		return ret;
	ret = gojson_parse(buf, len, "image index", &index, err);
	if (ret < 0)
		return ret;
	if (json_object_get(index, "layers") || json_object_get(index, "config"))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"image index %s also has \"layers\"/\"config\": refusing an ambiguous document",
					gojson_get_string(desc, "digest"));
	children = json_object_get(index, "manifests");
	if (json_array_size(children) > LIMIT_INDEX_ENTRIES)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "image index has too many entries");
	json_array_foreach(children, i, child) {
		json_t *plat = json_object_get(child, "platform");
		struct registry_platform have = { 0 };
		int rank;

		if (is_index_type(gojson_get_string(child, "mediaType")) && !plat) {
			ret = plan_descriptor(p, child, tag, depth + 1, err);
			if (ret < 0)
				return ret;
			continue;
		}
		if (!is_manifest_type(gojson_get_string(child, "mediaType")) || !read_platform(plat, &have))
			continue;
		rank = registry_platform_rank(&p->host, &have);
		if (rank >= 0 && (best_rank < 0 || rank < best_rank)) {
			best_rank = rank;
			best = child;
		}
	}
	return best ? plan_manifest(p, best, tag, err) : 0;
}

static int plan_descriptor(struct plan *p, const json_t *desc, const char *tag, int depth,
			   struct strata_error **err)
{
	const char *mt = gojson_get_string(desc, "mediaType");

	if (is_index_type(mt))
		return plan_index(p, desc, tag, depth, err);
	if (is_manifest_type(mt) || !mt)
		return plan_manifest(p, desc, tag, err);
	return 0;
}

int oci_load_plan(struct loader *l, struct load_image **out, size_t *nr, struct strata_error **err)
{
	struct plan p = { .l = l };
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ json_t *index = NULL;
	json_t *entries, *desc;
	size_t len, i;
	int ret;

	if (loader_has(l, "oci-layout")) {
		_cleanup_json_ json_t *layout = NULL;
		const char *v;

		ret = loader_read(l, "oci-layout", false, 4096, &buf, &len, err);
		if (ret >= 0)
			ret = gojson_parse(buf, len, "oci-layout", &layout, err);
		if (ret < 0)
			return ret;
		v = gojson_get_string(layout, "imageLayoutVersion");
		if (!v || strncmp(v, "1.", 2))
			return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
						"unsupported OCI layout version '%s'", v ? v : "");
		free(buf);
		buf = NULL;
	}
	ret = loader_read(l, "index.json", false, LIMIT_CONFIG, &buf, &len, err);
	if (ret >= 0)
		ret = gojson_parse(buf, len, "index.json", &index, err);
	if (ret < 0)
		return ret;
	entries = json_object_get(index, "manifests");
	if (!json_is_object(index) || (entries && !json_is_array(entries) && !json_is_null(entries)))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid index.json");
	if (json_array_size(entries) > LIMIT_INDEX_ENTRIES)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "index.json has too many entries");
	registry_platform_host(&p.host);
	json_array_foreach(entries, i, desc) {
		_cleanup_free_ char *tag = entry_tag(desc);
		struct registry_platform have = { 0 };

		/* an entry for another platform is skipped, as containerd's platform filter does */
		if (read_platform(json_object_get(desc, "platform"), &have) &&
		    registry_platform_rank(&p.host, &have) < 0)
			continue;
		ret = plan_descriptor(&p, desc, tag, 1, err);
		if (ret < 0)
			break;
	}
	registry_platform_release(&p.host);
	*out = p.imgs;
	*nr = p.nr;
	if (ret >= 0 && !p.nr)
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0,
					"no image for this platform in index.json");
	return ret < 0 ? ret : 0;
}

/* ---- save --format oci ---- */

struct sink {
	struct sha256_ctx sha;
	uint64_t size;
	struct tar_writer *w; /* NULL: only measure */
};

static int sink_write(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	struct sink *s = cookie;

	s->size += len;
	sha256_update(&s->sha, data, len);
	return s->w ? tar_writer_write_data(s->w, data, len, err) : 0;
}

static int gz_write(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	return gzip_writer_write(cookie, data, len, err);
}

/* Assemble a layer and gzip it into s. */
static int gzip_layer(struct strata_image_index *idx, const char *chain, struct sink *s, struct strata_error **err)
{
	struct gzip_writer *g = gzip_writer_new(sink_write, s);
	int ret = layerstore_assemble(idx->store, chain, gz_write, g, err);

	if (ret >= 0)
		ret = gzip_writer_close(g, err);
	gzip_writer_free(g);
	return ret;
}

struct oci_out {
	int fd;
	struct tar_writer *w;
};

static int oci_fd_write(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	return compress_fd_write(&((struct oci_out *)cookie)->fd, data, len, err);
}

static int add_file(struct tar_writer *w, const char *name, char type, uint32_t mode, const void *data,
		    uint64_t size, struct strata_error **err)
{
	struct tar_entry e = {
		.name = (char *)name, .linkname = "", .typeflag = type, .mode = mode,
		.uname = "root", .gname = "root", .size = size,
	};
	int ret = tar_writer_add(w, &e, err);

	if (ret >= 0 && data && size)
		ret = tar_writer_write_data(w, data, size, err);
	return ret;
}

static json_t *descriptor(const char *mt, const char *digest, uint64_t size)
{
	json_t *d = json_object();

	json_object_set_new(d, "mediaType", json_string(mt));
	json_object_set_new(d, "digest", json_string(digest));
	json_object_set_new(d, "size", json_integer((json_int_t)size));
	return d;
}

struct blob_note {
	char digest[STRATA_DIGEST_LEN + 1];
	const char *chain; /* layer blob: rebuilt when written */
	uint64_t size;
	char *bytes;       /* document blob */
	size_t len;
};

static bool have_blob(struct blob_note *b, size_t n, const char *digest)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(b[i].digest, digest))
			return true;
	return false;
}

int oci_save(struct strata_image_index *idx, struct save_item *items, size_t nr, int out_fd,
	     struct strata_error **err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	_cleanup_json_ json_t *index = json_object(), *entries = json_array();
	_cleanup_strbuf_ struct strbuf index_text = STRBUF_INIT;
	struct blob_note *blobs = NULL;
	size_t nr_blobs = 0, alloc_blobs = 0;
	struct oci_out o = { .fd = out_fd };
	int ret = 0;

	for (size_t i = 0; i < nr && ret >= 0; i++) {
		struct strata_image *img = items[i].img;
		json_t *man = json_object(), *layers = json_array();
		struct strbuf text = STRBUF_INIT;
		char hex[STRATA_HEX_LEN + 1], digest[STRATA_DIGEST_LEN + 1];

		json_object_set_new(man, "schemaVersion", json_integer(2));
		json_object_set_new(man, "mediaType", json_string(MT_OCI_MANIFEST));
		json_object_set_new(man, "config", descriptor(MT_OCI_CONFIG, img->id, img->config_len));
		for (size_t k = 0; k < img->nr_layers && ret >= 0; k++) {
			struct sink s = { .w = NULL };

			sha256_init(&s.sha);
			ret = gzip_layer(idx, img->chain_ids[k], &s, err);
			sha256_final_hex(&s.sha, hex);
			snprintf(digest, sizeof(digest), "sha256:%s", hex);
			json_array_append_new(layers, descriptor(MT_OCI_LAYER_GZIP, digest, s.size));
			if (ret >= 0 && !have_blob(blobs, nr_blobs, digest)) {
				ALLOC_GROW(blobs, nr_blobs + 1, alloc_blobs);
				memset(&blobs[nr_blobs], 0, sizeof(blobs[0]));
				memcpy(blobs[nr_blobs].digest, digest, sizeof(digest));
				blobs[nr_blobs].size = s.size;
				blobs[nr_blobs++].chain = img->chain_ids[k];
			}
		}
		json_object_set_new(man, "layers", layers);
		gojson_encode(&text, man, 0);
		json_decref(man);
		if (!have_blob(blobs, nr_blobs, img->id)) {
			ALLOC_GROW(blobs, nr_blobs + 1, alloc_blobs);
			memset(&blobs[nr_blobs], 0, sizeof(blobs[0]));
			memcpy(blobs[nr_blobs].digest, img->id, sizeof(blobs[0].digest));
			blobs[nr_blobs].bytes = xmalloc(img->config_len + 1);
			memcpy(blobs[nr_blobs].bytes, img->config_raw, img->config_len);
			blobs[nr_blobs++].len = img->config_len;
		}
		sha256_hex(text.buf, text.len, hex);
		snprintf(digest, sizeof(digest), "sha256:%s", hex);
		for (size_t t = 0; t < (items[i].nr_tags ? items[i].nr_tags : 1); t++) {
			json_t *d = descriptor(MT_OCI_MANIFEST, digest, text.len);

			if (items[i].nr_tags) {
				struct strata_ref ref = { 0 };
				json_t *ann = json_object();

				if (strata_ref_parse(items[i].tags[t], &ref, NULL) == 0) {
					_cleanup_free_ char *full = strata_ref_full_name(&ref);
					_cleanup_free_ char *name = xasprintf("%s:%s", full, ref.tag ? ref.tag : "latest");

					json_object_set_new(ann, ANN_CONTAINERD_NAME, json_string(name));
					json_object_set_new(ann, ANN_REF_NAME, json_string(ref.tag ? ref.tag : "latest"));
					strata_ref_release(&ref);
				}
				json_object_set_new(d, "annotations", ann);
			}
			json_array_append_new(entries, d);
		}
		if (!have_blob(blobs, nr_blobs, digest)) {
			ALLOC_GROW(blobs, nr_blobs + 1, alloc_blobs);
			memset(&blobs[nr_blobs], 0, sizeof(blobs[0]));
			memcpy(blobs[nr_blobs].digest, digest, sizeof(digest));
			blobs[nr_blobs].bytes = strbuf_detach(&text, &blobs[nr_blobs].len);
			nr_blobs++;
		}
		strbuf_release(&text);
	}
	json_object_set_new(index, "schemaVersion", json_integer(2));
	json_object_set_new(index, "mediaType", json_string(MT_OCI_INDEX));
	json_object_set(index, "manifests", entries);
	gojson_encode(&index_text, index, 0);
	o.w = tar_writer_new(oci_fd_write, &o);
	if (ret >= 0)
		ret = add_file(o.w, "oci-layout", TAR_REG, 0644, layout, sizeof(layout) - 1, err);
	if (ret >= 0)
		ret = add_file(o.w, "index.json", TAR_REG, 0644, index_text.buf, index_text.len, err);
	if (ret >= 0)
		ret = add_file(o.w, "blobs/", TAR_DIR, 0755, NULL, 0, err);
	if (ret >= 0)
		ret = add_file(o.w, "blobs/sha256/", TAR_DIR, 0755, NULL, 0, err);
	/* documents first, then layers bottom-up: a loader can register them as they stream */
	for (size_t b = 0; b < nr_blobs && ret >= 0; b++) {
		_cleanup_free_ char *name = xasprintf("blobs/sha256/%s", blobs[b].digest + 7);

		if (!blobs[b].chain)
			ret = add_file(o.w, name, TAR_REG, 0644, blobs[b].bytes, blobs[b].len, err);
	}
	for (size_t b = 0; b < nr_blobs && ret >= 0; b++) {
		_cleanup_free_ char *name = xasprintf("blobs/sha256/%s", blobs[b].digest + 7);
		struct sink s = { .w = NULL };
		char hex[STRATA_HEX_LEN + 1];

		if (!blobs[b].chain)
			continue;
		ret = add_file(o.w, name, TAR_REG, 0644, NULL, blobs[b].size, err);
		if (ret < 0)
			break;
		s.w = o.w;
		sha256_init(&s.sha);
		ret = gzip_layer(idx, blobs[b].chain, &s, err);
		sha256_final_hex(&s.sha, hex);
		if (ret >= 0 && (strcmp(hex, blobs[b].digest + 7) || s.size != blobs[b].size))
			ret = strata_error_set(err, STRATA_ERR_CORRUPT, 0, "layer %s: gzip output is not reproducible",
					       blobs[b].chain);
	}
	if (ret >= 0)
		ret = tar_writer_finish(o.w, err);
	tar_writer_free(o.w);
	for (size_t b = 0; b < nr_blobs; b++)
		free(blobs[b].bytes);
	free(blobs);
	return ret;
}
