/*
 * Manifest parsing/validation, platform matching and the schema 2 encoder
 * (see manifest.h).  Every check runs on the parsed form of exactly the
 * bytes that were received (and hashed by the caller).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "digest/digest.h"
#include "json/gojson.h"
#include "image/manifest.h"
#include "util/limits.h"
#include "util/alloc.h"
#include "util/cleanup.h"

const char *const registry_manifest_accept[] = {
	MT_DOCKER_MANIFEST, MT_DOCKER_LIST, MT_OCI_MANIFEST, MT_OCI_INDEX, NULL,
};

bool registry_media_type_is_manifest(const char *mt)
{
	return mt && (!strcmp(mt, MT_DOCKER_MANIFEST) || !strcmp(mt, MT_OCI_MANIFEST));
}

bool registry_media_type_is_index(const char *mt)
{
	return mt && (!strcmp(mt, MT_DOCKER_LIST) || !strcmp(mt, MT_OCI_INDEX));
}

bool registry_media_type_is_layer(const char *mt)
{
	static const char *const known[] = {
		MT_DOCKER_LAYER,
		MT_DOCKER_FOREIGN_LAYER,
		MT_OCI_LAYER,
		MT_OCI_LAYER_GZIP,
		MT_OCI_LAYER_ZSTD,
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
		NULL,
	};

	for (size_t i = 0; mt && known[i]; i++)
		if (!strcmp(mt, known[i]))
			return true;
	return false;
}

void registry_platform_release(struct registry_platform *p)
{
	free(p->os);
	free(p->architecture);
	free(p->variant);
	free(p->os_version);
	memset(p, 0, sizeof(*p));
}

static void descriptor_release(struct registry_descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	for (size_t i = 0; i < d->n_urls; i++)
		free(d->urls[i]);
	free(d->urls);
	registry_platform_release(&d->platform);
	memset(d, 0, sizeof(*d));
}

void registry_manifest_free(struct registry_manifest *m)
{
	if (!m)
		return;
	descriptor_release(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		descriptor_release(&m->layers[i]);
	free(m->layers);
	for (size_t i = 0; i < m->n_manifests; i++)
		descriptor_release(&m->manifests[i]);
	free(m->manifests);
	free(m);
}

/* "type/subtype; charset=x" -> "type/subtype" (new string, lower case). */
static char *media_type_base(const char *ct)
{
	size_t n;
	char *r;

	if (!ct)
		return NULL;
	while (*ct == ' ')
		ct++;
	n = strcspn(ct, "; \t");
	r = xstrndup(ct, n);
	for (char *c = r; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return r;
}

static int parse_platform(const json_t *v, struct registry_platform *p, size_t idx,
			  struct strata_error **err)
{
	const char *os = gojson_get_string(v, "os");
	const char *arch = gojson_get_string(v, "architecture");
	const char *variant = gojson_get_string(v, "variant");
	const char *osv = gojson_get_string(v, "os.version");

	if (!json_is_object(v) || !os || !arch)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"invalid platform in manifest entry %zu", idx);
	p->os = xstrdup(os);
	p->architecture = xstrdup(arch);
	p->variant = variant && *variant ? xstrdup(variant) : NULL;
	p->os_version = osv && *osv ? xstrdup(osv) : NULL;
	return 0;
}

static int parse_descriptor(const json_t *v, const char *what, size_t idx,
			    struct registry_descriptor *d, struct strata_error **err);

/* Every descriptor of arr into a new array *out (*n: how many were filled, for freeing). */
static int parse_descriptors(const json_t *arr, const char *what, struct registry_descriptor **out,
			     size_t *n, struct strata_error **err)
{
	size_t i;
	json_t *e;

	*out = xcalloc(json_array_size(arr) + 1, sizeof(**out));
	json_array_foreach(arr, i, e) {
		int ret = parse_descriptor(e, what, i, &(*out)[i], err);

		*n = i + 1;
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int parse_descriptor(const json_t *v, const char *what, size_t idx,
			    struct registry_descriptor *d, struct strata_error **err)
{
	const char *mt = gojson_get_string(v, "mediaType");
	const char *dg = gojson_get_string(v, "digest");
	json_t *size = json_object_get(v, "size");
	json_t *urls = json_object_get(v, "urls");
	json_t *plat = json_object_get(v, "platform");

	if (!json_is_object(v))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s %zu is not an object", what,
					idx);
	if (!mt || !*mt)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s %zu has no mediaType", what,
					idx);
	if (!dg)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s %zu has no digest", what,
					idx);
	if (!digest_valid(dg)) {
		if (strncmp(dg, "sha256:", 7) && strchr(dg, ':'))
			return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
						"%s %zu: unsupported digest algorithm", what, idx);
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s %zu: invalid digest", what,
					idx);
	}
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s %zu: invalid size", what,
					idx);
	d->media_type = xstrdup(mt);
	d->digest = xstrdup(dg);
	d->size = (int64_t)json_integer_value(size);
	if (urls) {
		size_t i;
		json_t *u;

		if (!json_is_array(urls) || json_array_size(urls) > 64)
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s %zu: invalid urls",
						what, idx);
		d->urls = xcalloc(json_array_size(urls) + 1, sizeof(char *));
		json_array_foreach(urls, i, u) {
			if (!json_is_string(u))
				return strata_error_set(err, STRATA_ERR_INVALID, 0,
							"%s %zu: invalid urls", what, idx);
			d->urls[d->n_urls++] = xstrdup(json_string_value(u));
		}
	}
	if (plat) {
		int ret = parse_platform(plat, &d->platform, idx, err);

		if (ret < 0)
			return ret;
		d->has_platform = true;
	}
	return 0;
}

static enum registry_manifest_kind kind_of(const char *mt)
{
	if (!mt)
		return 0;
	if (!strcmp(mt, MT_DOCKER_MANIFEST))
		return REGISTRY_MANIFEST_DOCKER_V2;
	if (!strcmp(mt, MT_DOCKER_LIST))
		return REGISTRY_MANIFEST_DOCKER_LIST;
	if (!strcmp(mt, MT_OCI_MANIFEST))
		return REGISTRY_MANIFEST_OCI;
	if (!strcmp(mt, MT_OCI_INDEX))
		return REGISTRY_MANIFEST_OCI_INDEX;
	return 0;
}

static const char *kind_media_type(enum registry_manifest_kind k)
{
	switch (k) {
	case REGISTRY_MANIFEST_DOCKER_V2:
		return MT_DOCKER_MANIFEST;
	case REGISTRY_MANIFEST_DOCKER_LIST:
		return MT_DOCKER_LIST;
	case REGISTRY_MANIFEST_OCI:
		return MT_OCI_MANIFEST;
	case REGISTRY_MANIFEST_OCI_INDEX:
		return MT_OCI_INDEX;
	}
	return "";
}

static bool is_schema1(const char *mt)
{
	return mt && (!strcmp(mt, MT_DOCKER_SCHEMA1) || !strcmp(mt, MT_DOCKER_SCHEMA1_SIGNED));
}

#define SCHEMA1_MSG                                                                          \
	"unsupported manifest format: Docker Image manifest version 2, schema 1 is no longer " \
	"supported; push the image again with a current client (schema 2 or OCI)"

int registry_manifest_parse(const char *buf, size_t len, const char *content_type,
			    struct registry_manifest **out, struct strata_error **err)
{
	_cleanup_json_ json_t *root = NULL;
	_cleanup_free_ char *ct = media_type_base(content_type);
	struct registry_manifest *m;
	json_error_t jerr;
	json_t *sv, *layers, *manifests, *config;
	const char *body_mt;
	enum registry_manifest_kind kind = 0;
	int ret = 0;

	if (len > LIMIT_MANIFEST)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
					"manifest too large (%zu bytes, limit %u)", len,
					LIMIT_MANIFEST);
	if (is_schema1(ct))
		return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0, SCHEMA1_MSG);
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"invalid manifest: %s (line %d, column %d)", jerr.text,
					jerr.line, jerr.column);
	if (!json_is_object(root))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"invalid manifest: not a JSON object");
	sv = json_object_get(root, "schemaVersion");
	if (json_is_integer(sv) && json_integer_value(sv) == 1)
		return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0, SCHEMA1_MSG);
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"invalid manifest: schemaVersion must be 2");
	if (json_object_get(root, "mediaType") && !json_is_string(json_object_get(root, "mediaType")))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"invalid manifest: mediaType is not a string");
	body_mt = gojson_get_string(root, "mediaType");
	if (body_mt && is_schema1(body_mt))
		return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0, SCHEMA1_MSG);
	layers = json_object_get(root, "layers");
	manifests = json_object_get(root, "manifests");
	config = json_object_get(root, "config");
	if (manifests && (layers || config))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"invalid manifest: it has both \"manifests\" and \"%s\" and could be read as two different documents",
					layers ? "layers" : "config");

	if (body_mt) {
		kind = kind_of(body_mt);
		if (!kind)
			return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
						"unsupported manifest media type '%s'", body_mt);
		if (ct && kind_of(ct) && strcmp(ct, body_mt))
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"manifest mediaType '%s' does not match Content-Type '%s'",
						body_mt, ct);
	} else if (kind_of(ct)) {
		kind = kind_of(ct);
		if (kind == REGISTRY_MANIFEST_DOCKER_V2 || kind == REGISTRY_MANIFEST_DOCKER_LIST)
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"invalid manifest: Docker %s without mediaType",
						kind == REGISTRY_MANIFEST_DOCKER_V2 ? "manifest" :
										      "manifest list");
	} else {
		/* OCI allows an absent mediaType: tell the two apart by their fields */
		kind = manifests ? REGISTRY_MANIFEST_OCI_INDEX : REGISTRY_MANIFEST_OCI;
	}

	m = xcalloc(1, sizeof(*m));
	m->kind = kind;
	m->media_type = kind_media_type(kind);
	if (registry_manifest_is_index(m)) {
		if (layers || config) {
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
					       "invalid manifest: index contains forbidden \"%s\" field",
					       layers ? "layers" : "config");
			goto fail;
		}
		if (!json_is_array(manifests)) {
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
					       "invalid manifest: index has no \"manifests\" array");
			goto fail;
		}
		if (json_array_size(manifests) > LIMIT_INDEX_ENTRIES) {
			ret = strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
					       "invalid manifest: index has %zu entries (limit %d)",
					       json_array_size(manifests), LIMIT_INDEX_ENTRIES);
			goto fail;
		}
		ret = parse_descriptors(manifests, "manifest entry", &m->manifests, &m->n_manifests, err);
		if (ret < 0)
			goto fail;
	} else {
		size_t i;

		if (manifests) {
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
					       "invalid manifest: manifest contains forbidden \"manifests\" field");
			goto fail;
		}
		if (!config) {
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
					       "invalid manifest: no config descriptor");
			goto fail;
		}
		ret = parse_descriptor(config, "config", 0, &m->config, err);
		if (ret < 0)
			goto fail;
		if (m->config.size > (int64_t)LIMIT_CONFIG) {
			ret = strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
					       "image config too large (%lld bytes, limit %u)",
					       (long long)m->config.size, LIMIT_CONFIG);
			goto fail;
		}
		if (m->kind == REGISTRY_MANIFEST_DOCKER_V2 &&
		    strcmp(m->config.media_type, MT_DOCKER_CONFIG)) {
			ret = strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
					       "unsupported config media type '%s'",
					       m->config.media_type);
			goto fail;
		}
		if (!json_is_array(layers)) {
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
					       "invalid manifest: no \"layers\" array");
			goto fail;
		}
		if (json_array_size(layers) > LIMIT_LAYERS) {
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
					       "max depth exceeded: image has %zu layers (limit %d)",
					       json_array_size(layers), LIMIT_LAYERS);
			goto fail;
		}
		ret = parse_descriptors(layers, "layer", &m->layers, &m->n_layers, err);
		if (ret < 0)
			goto fail;
		for (i = 0; i < m->n_layers; i++) {
			if (!registry_media_type_is_layer(m->layers[i].media_type)) {
				ret = strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
						       "layer %zu: unsupported media type '%s'", i,
						       m->layers[i].media_type);
				goto fail;
			}
		}
	}
	*out = m;
	return 0;
fail:
	registry_manifest_free(m);
	return ret;
}

/* ---- platforms ---- */

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? xstrdup(v) : NULL;
}

static void lower(char *s)
{
	for (; s && *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

void registry_platform_normalize(struct registry_platform *p)
{
	char *a, *v;

	lower(p->os);
	lower(p->architecture);
	lower(p->variant);
	if (p->os && !strcmp(p->os, "macos"))
		set_str(&p->os, "darwin");
	a = p->architecture;
	v = p->variant;
	if (!a)
		return;
	if (!strcmp(a, "i386")) {
		set_str(&p->architecture, "386");
		set_str(&p->variant, NULL);
	} else if (!strcmp(a, "x86_64") || !strcmp(a, "x86-64") || !strcmp(a, "amd64")) {
		set_str(&p->architecture, "amd64");
		if (v && !strcmp(v, "v1"))
			set_str(&p->variant, NULL);
	} else if (!strcmp(a, "aarch64") || !strcmp(a, "arm64")) {
		set_str(&p->architecture, "arm64");
		if (v && (!strcmp(v, "8") || !strcmp(v, "v8")))
			set_str(&p->variant, NULL);
	} else if (!strcmp(a, "armhf")) {
		set_str(&p->architecture, "arm");
		set_str(&p->variant, "v7");
	} else if (!strcmp(a, "armel")) {
		set_str(&p->architecture, "arm");
		set_str(&p->variant, "v6");
	} else if (!strcmp(a, "arm")) {
		if (!v || !*v)
			set_str(&p->variant, "v7");
		else if (!strcmp(v, "5") || !strcmp(v, "6") || !strcmp(v, "7") || !strcmp(v, "8")) {
			char buf[3] = { 'v', v[0], 0 };

			set_str(&p->variant, buf);
		}
	}
	if (p->variant && !*p->variant)
		set_str(&p->variant, NULL);
}

/* containerd's isKnownOS / isKnownArch: what a one-part --platform may name */
static bool known_name(const char *s, const char *const *names)
{
	for (; *names; names++)
		if (!strcmp(s, *names))
			return true;
	return false;
}

static const char *const known_os[] = {
	"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
	"linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "windows", "zos", NULL,
};
static const char *const known_arch[] = {
	"386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le",
	"loong64", "mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc",
	"riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm", NULL,
};

/* containerd's platforms.Parse, with its messages (dockerd prints them) */
int registry_platform_parse(const char *spec, struct registry_platform *out,
			    struct strata_error **err)
{
	struct registry_platform p = { 0 };
	const char *parts[4];
	size_t lens[4], n = 0;

	memset(out, 0, sizeof(*out));
	if (strchr(spec, '*'))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"\"%s\": wildcards not yet supported: invalid argument", spec);
	for (const char *c = spec;; n++) {
		size_t len = strcspn(c, "/");

		if (n < 4) {
			parts[n] = c;
			lens[n] = len;
		}
		for (size_t i = 0; i < len; i++)
			if (!isalnum((unsigned char)c[i]) && c[i] != '_' && c[i] != '-')
				len = 0;
		if (!len)
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"\"%.*s\" is an invalid component of \"%s\": platform "
						"specifier component must match \"^[A-Za-z0-9_-]+$\": "
						"invalid argument",
						(int)strcspn(c, "/"), c, spec);
		c += strcspn(c, "/");
		if (!*c++) {
			n++;
			break;
		}
	}
	if (n > 3)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"\"%s\": cannot parse platform specifier: invalid argument",
					spec);
	if (n == 1) {
		struct registry_platform host;

		/* an OS with this machine's architecture, or an architecture on linux */
		p.os = xstrndup(parts[0], lens[0]);
		registry_platform_normalize(&p);
		if (known_name(p.os, known_os)) {
			registry_platform_host(&host);
			p.architecture = steal_pointer(&host.architecture);
			p.variant = steal_pointer(&host.variant);
			registry_platform_release(&host);
			*out = p;
			return 0;
		}
		p.architecture = steal_pointer(&p.os);
		registry_platform_normalize(&p);
		if (!known_name(p.architecture, known_arch)) {
			registry_platform_release(&p);
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"\"%s\": unknown operating system or architecture: "
						"invalid argument",
						spec);
		}
		p.os = xstrdup("linux");
		*out = p;
		return 0;
	}
	p.os = xstrndup(parts[0], lens[0]);
	p.architecture = xstrndup(parts[1], lens[1]);
	p.variant = n == 3 ? xstrndup(parts[2], lens[2]) : NULL;
	registry_platform_normalize(&p);
	*out = p;
	return 0;
}

void registry_platform_host(struct registry_platform *out)
{
	struct utsname u;

	memset(out, 0, sizeof(*out));
	out->os = xstrdup("linux");
	if (uname(&u) < 0) {
		out->architecture = xstrdup("amd64");
		return;
	}
	if (!strncmp(u.machine, "armv", 4) && u.machine[4] >= '5' && u.machine[4] <= '8') {
		char v[3] = { 'v', u.machine[4], 0 };

		out->architecture = xstrdup("arm");
		out->variant = xstrdup(v);
	} else if (!strcmp(u.machine, "i686") || !strcmp(u.machine, "i586")) {
		out->architecture = xstrdup("386");
	} else {
		out->architecture = xstrdup(u.machine);
	}
	registry_platform_normalize(out);
}

char *registry_platform_format(const struct registry_platform *p)
{
	if (p->variant)
		return xasprintf("%s/%s/%s", p->os ? p->os : "", p->architecture ? p->architecture : "",
				 p->variant);
	return xasprintf("%s/%s", p->os ? p->os : "", p->architecture ? p->architecture : "");
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int registry_platform_rank(const struct registry_platform *want,
			   const struct registry_platform *have)
{
	struct registry_platform w = { 0 }, h = { 0 };
	int rank = -1;

	w.os = want->os ? xstrdup(want->os) : NULL;
	w.architecture = want->architecture ? xstrdup(want->architecture) : NULL;
	w.variant = want->variant ? xstrdup(want->variant) : NULL;
	h.os = have->os ? xstrdup(have->os) : NULL;
	h.architecture = have->architecture ? xstrdup(have->architecture) : NULL;
	h.variant = have->variant ? xstrdup(have->variant) : NULL;
	registry_platform_normalize(&w);
	registry_platform_normalize(&h);
	if (!str_eq(w.os, h.os) || !str_eq(w.architecture, h.architecture))
		goto done;
	if (str_eq(w.variant, h.variant)) {
		rank = 0;
	} else if (w.architecture && !strcmp(w.architecture, "arm") && w.variant && h.variant &&
		   w.variant[0] == 'v' && h.variant[0] == 'v') {
		/* arm/v8 runs v7, v6, v5 binaries (containerd's Only()) */
		long wv = strtol(w.variant + 1, NULL, 10), hv = strtol(h.variant + 1, NULL, 10);

		if (hv >= 5 && hv < wv && wv <= 8)
			rank = (int)(wv - hv);
	}
done:
	registry_platform_release(&w);
	registry_platform_release(&h);
	return rank;
}

int registry_manifest_select(const struct registry_manifest *index,
			     const struct registry_platform *want,
			     const struct registry_descriptor **out, struct strata_error **err)
{
	const struct registry_descriptor *best = NULL;
	int best_rank = -1;

	for (size_t i = 0; i < index->n_manifests; i++) {
		const struct registry_descriptor *d = &index->manifests[i];
		int r;

		if (!d->has_platform)
			continue;
		if (!registry_media_type_is_manifest(d->media_type) &&
		    !registry_media_type_is_index(d->media_type))
			continue;
		r = registry_platform_rank(want, &d->platform);
		if (r >= 0 && (best_rank < 0 || r < best_rank)) {
			best = d;
			best_rank = r;
		}
	}
	if (!best) {
		_cleanup_free_ char *p = registry_platform_format(want);

		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0,
					"no matching manifest for %s in the manifest list entries", p);
	}
	*out = best;
	return 0;
}

/* ---- encoding ---- */

static void put_descriptor(struct strbuf *sb, const struct registry_descriptor *d,
			   const char *indent)
{
	strbuf_addf(sb, "{\n%s   \"mediaType\": ", indent);
	gojson_encode_string(sb, d->media_type, strlen(d->media_type));
	strbuf_addf(sb, ",\n%s   \"size\": %lld,\n%s   \"digest\": ", indent, (long long)d->size,
		    indent);
	gojson_encode_string(sb, d->digest, strlen(d->digest));
	if (d->n_urls) {
		strbuf_addf(sb, ",\n%s   \"urls\": [", indent);
		for (size_t i = 0; i < d->n_urls; i++) {
			strbuf_addf(sb, "%s\n%s      ", i ? "," : "", indent);
			gojson_encode_string(sb, d->urls[i], strlen(d->urls[i]));
		}
		strbuf_addf(sb, "\n%s   ]", indent);
	}
	strbuf_addf(sb, "\n%s}", indent);
}

void registry_manifest_encode_schema2(struct strbuf *sb, const struct registry_descriptor *config,
				      const struct registry_descriptor *layers, size_t n_layers)
{
	strbuf_addstr(sb, "{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"" MT_DOCKER_MANIFEST
			  "\",\n   \"config\": ");
	put_descriptor(sb, config, "   ");
	strbuf_addstr(sb, ",\n   \"layers\": [");
	for (size_t i = 0; i < n_layers; i++) {
		strbuf_addstr(sb, i ? ",\n      " : "\n      ");
		put_descriptor(sb, &layers[i], "      ");
	}
	strbuf_addstr(sb, n_layers ? "\n   ]\n}" : "]\n}");
}

void registry_manifest_encode_oci(struct strbuf *sb, const struct registry_descriptor *config,
				  const struct registry_descriptor *layers, size_t n_layers)
{
	strbuf_addstr(sb, "{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"" MT_OCI_MANIFEST
			  "\",\n   \"config\": ");
	put_descriptor(sb, config, "   ");
	strbuf_addstr(sb, ",\n   \"layers\": [");
	for (size_t i = 0; i < n_layers; i++) {
		strbuf_addstr(sb, i ? ",\n      " : "\n      ");
		put_descriptor(sb, &layers[i], "      ");
	}
	strbuf_addstr(sb, n_layers ? "\n   ]\n}" : "]\n}");
}
