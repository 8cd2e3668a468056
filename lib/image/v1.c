/*
 * Docker's legacy v1 image JSON, both ways, as dockerd 20.10's image/v1
 * does it: the config a pre-1.10 image becomes (MakeConfigFromV1Config,
 * HistoryFromConfig; docker load of legacy archives) and the v1 JSON and
 * v1 ID of each layer of an image (CreateID; docker save, and load's
 * recognition of layers by v1 ID).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/config.h"
#include "image/v1.h"
#include "json/gojson.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/gotime.h"

/* ---- Go's time.Time through JSON ---- */

/* time.Time through UnmarshalJSON and MarshalJSON; null is the zero time. */
static int go_time(const json_t *v, const char *what, struct strbuf *out, struct strata_error **err)
{
	_cleanup_error_ struct strata_error *e = NULL;

	if (!v || json_is_null(v)) {
		strbuf_addstr(out, "0001-01-01T00:00:00Z");
		return 0;
	}
	if (json_is_string(v) && gotime_remarshal(out, json_string_value(v), &e) == 0)
		return 0;
	return strata_error_set(err, STRATA_ERR_INVALID, 0, "v1 image JSON: %s: cannot parse time", what);
}

/* ---- decoding into Go structs (case-insensitive keys, last one wins) ---- */

static json_t *ci_get(const json_t *obj, const char *name)
{
	const char *k;
	json_t *v, *found = NULL;

	json_object_foreach((json_t *)obj, k, v)
		if (!strcasecmp(k, name))
			found = v;
	return found;
}

static bool is_str_or_null(const json_t *v)
{
	return !v || json_is_string(v) || json_is_null(v);
}

/* []string (null elements decode to ""); NULL when the value does not decode. */
static json_t *str_array(const json_t *v)
{
	json_t *out, *e;
	size_t i;

	if (!json_is_array(v))
		return NULL;
	out = json_array();
	json_array_foreach(v, i, e) {
		if (!is_str_or_null(e)) {
			json_decref(out);
			return NULL;
		}
		json_array_append_new(out, json_string(json_is_string(e) ? json_string_value(e) : ""));
	}
	return out;
}

/* container.Config field kinds. */
enum fkind { F_STR, F_BOOL, F_STRS, F_STRSLICE, F_SET, F_LABELS, F_HEALTH, F_INT };

static const struct {
	const char *name;
	enum fkind kind;
} cfields[] = {
	{ "Hostname", F_STR }, { "Domainname", F_STR }, { "User", F_STR }, { "AttachStdin", F_BOOL },
	{ "AttachStdout", F_BOOL }, { "AttachStderr", F_BOOL }, { "ExposedPorts", F_SET }, { "Tty", F_BOOL },
	{ "OpenStdin", F_BOOL }, { "StdinOnce", F_BOOL }, { "Env", F_STRS }, { "Cmd", F_STRSLICE },
	{ "Healthcheck", F_HEALTH }, { "ArgsEscaped", F_BOOL }, { "Image", F_STR }, { "Volumes", F_SET },
	{ "WorkingDir", F_STR }, { "Entrypoint", F_STRSLICE }, { "NetworkDisabled", F_BOOL },
	{ "MacAddress", F_STR }, { "OnBuild", F_STRS }, { "Labels", F_LABELS }, { "StopSignal", F_STR },
	{ "StopTimeout", F_INT }, { "Shell", F_STRSLICE },
};

static json_t *decode_field(enum fkind kind, const json_t *v)
{
	json_t *out, *e;
	const char *k;

	switch (kind) {
	case F_STR:
		return json_is_string(v) ? json_incref((json_t *)v) : NULL;
	case F_BOOL:
		return json_is_boolean(v) ? json_incref((json_t *)v) : NULL;
	case F_INT:
		return json_is_integer(v) ? json_incref((json_t *)v) : NULL;
	case F_STRS:
		return str_array(v);
	case F_STRSLICE: /* strslice.StrSlice: a string or a list of strings */
		if (json_is_string(v)) {
			out = json_array();
			json_array_append_new(out, json_string(json_string_value(v)));
			return out;
		}
		return str_array(v);
	case F_SET: /* map[string]struct{} */
		if (!json_is_object(v))
			return NULL;
		out = json_object();
		json_object_foreach((json_t *)v, k, e) {
			if (!json_is_object(e) && !json_is_null(e)) {
				json_decref(out);
				return NULL;
			}
			json_object_set_new(out, k, json_object());
		}
		return out;
	case F_LABELS:
		if (!json_is_object(v))
			return NULL;
		out = json_object();
		json_object_foreach((json_t *)v, k, e) {
			if (!is_str_or_null(e)) {
				json_decref(out);
				return NULL;
			}
			json_object_set_new(out, k, json_string(json_is_string(e) ? json_string_value(e) : ""));
		}
		return out;
	case F_HEALTH: {
		static const char *const hk[] = { "Test", "Interval", "Timeout", "StartPeriod", "Retries" };

		if (!json_is_object(v))
			return NULL;
		out = json_object();
		for (size_t i = 0; i < sizeof(hk) / sizeof(hk[0]); i++) {
			json_t *hv = ci_get(v, hk[i]), *d;

			if (!hv || json_is_null(hv))
				continue;
			d = i ? (json_is_integer(hv) ? json_incref(hv) : NULL) : str_array(hv);
			if (!d) {
				json_decref(out);
				return NULL;
			}
			json_object_set_new(out, hk[i], d);
		}
		return out;
	}
	}
	return NULL;
}

/* Decode a container.Config; *out is NULL for JSON null. */
static int decode_container(const json_t *v, const char *what, json_t **out, struct strata_error **err)
{
	const char *k;
	json_t *val, *c;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		goto bad;
	c = json_object();
	json_object_foreach((json_t *)v, k, val) {
		size_t i;
		json_t *d;

		for (i = 0; i < sizeof(cfields) / sizeof(cfields[0]); i++)
			if (!strcasecmp(k, cfields[i].name))
				break;
		if (i == sizeof(cfields) / sizeof(cfields[0]))
			continue; /* unknown field */
		if (json_is_null(val)) {
			/* null leaves a value type alone and clears a reference type */
			if (cfields[i].kind != F_STR && cfields[i].kind != F_BOOL)
				json_object_del(c, cfields[i].name);
			continue;
		}
		d = decode_field(cfields[i].kind, val);
		if (!d) {
			json_decref(c);
			goto bad;
		}
		json_object_set_new(c, cfields[i].name, d);
	}
	*out = c;
	return 0;
bad:
	return strata_error_set(err, STRATA_ERR_INVALID, 0, "v1 image JSON: cannot decode %s", what);
}

/* image.V1Image as Go decodes it. */
struct v1image {
	json_t *doc;
	const char *str[10]; /* indexed by the names below; NULL when unset */
	json_t *created;
	json_t *container_config; /* decoded, never NULL */
	json_t *config;           /* decoded, NULL when absent or null */
};

static const char *const v1_str_names[] = {
	"id", "parent", "comment", "container", "docker_version", "author", "architecture", "variant", "os",
};
enum { V1_ID, V1_PARENT, V1_COMMENT, V1_CONTAINER, V1_DOCKER_VERSION, V1_AUTHOR, V1_ARCH, V1_VARIANT, V1_OS };

static void v1image_release(struct v1image *img)
{
	json_decref(img->doc);
	json_decref(img->container_config);
	json_decref(img->config);
	memset(img, 0, sizeof(*img));
}

static int v1image_decode(const char *buf, size_t len, struct v1image *img, struct strata_error **err)
{
	json_t *v;
	int ret;

	memset(img, 0, sizeof(*img));
	ret = gojson_parse(buf, len, "v1 image JSON", &img->doc, err);
	if (ret < 0)
		return ret;
	if (!json_is_object(img->doc))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "v1 image JSON is not an object");
	for (size_t i = 0; i < sizeof(v1_str_names) / sizeof(v1_str_names[0]); i++) {
		v = ci_get(img->doc, v1_str_names[i]);
		if (!is_str_or_null(v))
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "v1 image JSON: cannot decode %s",
						v1_str_names[i]);
		img->str[i] = json_is_string(v) ? json_string_value(v) : NULL;
	}
	v = ci_get(img->doc, "Size");
	if (v && !json_is_null(v) && !json_is_integer(v))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "v1 image JSON: cannot decode Size");
	img->created = ci_get(img->doc, "created");
	ret = decode_container(ci_get(img->doc, "container_config"), "container_config", &img->container_config,
			       err);
	if (ret < 0)
		return ret;
	if (!img->container_config)
		img->container_config = json_object();
	return decode_container(ci_get(img->doc, "config"), "config", &img->config, err);
}

static void add_nonempty(json_t *obj, const char *key, const char *s)
{
	if (s && *s)
		json_object_set_new(obj, key, json_string(s));
}

int image_v1_history_entry(const char *v1json, size_t len, struct strbuf *out, struct strata_error **err)
{
	struct v1image img;
	_cleanup_strbuf_ struct strbuf created = STRBUF_INIT, by = STRBUF_INIT;
	json_t *h, *cmd, *e;
	size_t i;
	int ret = v1image_decode(v1json, len, &img, err);

	if (ret >= 0)
		ret = go_time(img.created, "created", &created, err);
	if (ret < 0) {
		v1image_release(&img);
		return ret;
	}
	cmd = json_object_get(img.container_config, "Cmd");
	json_array_foreach(cmd, i, e) {
		if (i)
			strbuf_addch(&by, ' ');
		strbuf_addstr(&by, json_string_value(e));
	}
	h = json_object();
	json_object_set_new(h, "created", json_string(created.buf));
	add_nonempty(h, "author", img.str[V1_AUTHOR]);
	add_nonempty(h, "created_by", by.buf);
	add_nonempty(h, "comment", img.str[V1_COMMENT]);
	gojson_encode(out, h, 0);
	json_decref(h);
	v1image_release(&img);
	return 0;
}

/* api/types/versions compare: dot-separated integers (non-numbers count as 0). */
static long long version_part(const char *s, size_t n)
{
	long long v = 0;
	size_t i = 0;
	bool neg = false;

	if (n && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return 0;
	for (; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		if (v < (1LL << 62))
			v = v * 10 + (s[i] - '0');
	}
	return neg ? -v : v;
}

static bool version_less(const char *a, const char *b)
{
	if (!strcmp(a, b))
		return false;
	while (*a || *b) {
		size_t na = strcspn(a, "."), nb = strcspn(b, ".");
		long long x = version_part(a, na), y = version_part(b, nb);

		if (x != y)
			return x < y;
		a += na + (a[na] == '.');
		b += nb + (b[nb] == '.');
		if (!*a && !*b)
			break;
	}
	return false;
}

/* ---- raw top-level members, as map[string]*json.RawMessage ---- */

struct raw_member {
	char *key;
	const char *val;
	size_t len;
};

static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && strchr(" \t\r\n", s[i]) && s[i])
		i++;
	return i;
}

/* End of the JSON value starting at s[i] (the document is known to be valid). */
static size_t value_end(const char *s, size_t i, size_t n)
{
	int depth = 0;

	do {
		if (s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			i++;
		} else if (s[i] == '{' || s[i] == '[') {
			depth++;
			i++;
		} else if (s[i] == '}' || s[i] == ']') {
			depth--;
			i++;
		} else if (strchr(" \t\r\n,:", s[i])) {
			i++;
		} else {
			while (i < n && !strchr(" \t\r\n,:]}", s[i]))
				i++;
		}
	} while (depth > 0 && i < n);
	return i;
}

static int raw_members(const char *s, size_t n, struct raw_member **out, size_t *nr, struct strata_error **err)
{
	size_t i = skip_ws(s, 0, n), alloc = 0;

	*out = NULL;
	*nr = 0;
	if (i >= n || s[i] != '{')
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "v1 image JSON is not an object");
	i = skip_ws(s, i + 1, n);
	while (i < n && s[i] == '"') {
		size_t kend = value_end(s, i, n), vstart, vend;
		json_error_t jerr;
		json_t *key = json_loadb(s + i, kend - i, JSON_DECODE_ANY, &jerr);
		struct raw_member *m = NULL;

		if (!json_is_string(key)) {
			json_decref(key);
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "v1 image JSON: bad key");
		}
		vstart = skip_ws(s, skip_ws(s, kend, n) + 1, n);
		vend = value_end(s, vstart, n);
		for (size_t k = 0; k < *nr; k++)
			if (!strcmp((*out)[k].key, json_string_value(key)))
				m = &(*out)[k];
		if (!m) {
			ALLOC_GROW(*out, *nr + 1, alloc);
			m = &(*out)[(*nr)++];
			m->key = xstrdup(json_string_value(key));
		}
		m->val = s + vstart;
		m->len = vend - vstart;
		json_decref(key);
		i = skip_ws(s, vend, n);
		if (i < n && s[i] == ',')
			i = skip_ws(s, i + 1, n);
	}
	return 0;
}

/* json.Compact with HTML escaping, as the encoder writes a RawMessage. */
static void compact_escaped(struct strbuf *out, const char *s, size_t n)
{
	bool in_str = false;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!in_str) {
			if (strchr(" \t\r\n", c))
				continue;
			if (c == '"')
				in_str = true;
			strbuf_addch(out, c);
			continue;
		}
		if (c == '\\' && i + 1 < n) {
			strbuf_add(out, s + i, 2);
			i++;
		} else if (c == '"') {
			in_str = false;
			strbuf_addch(out, c);
		} else if (c == '<' || c == '>' || c == '&') {
			strbuf_addf(out, "\\u00%02x", c);
		} else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
			   ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
			strbuf_addf(out, "\\u202%c", (unsigned char)s[i + 2] == 0xa8 ? '8' : '9');
			i += 2;
		} else {
			strbuf_addch(out, c);
		}
	}
}

static int cmp_members(const void *a, const void *b)
{
	return strcmp(((const struct raw_member *)a)->key, ((const struct raw_member *)b)->key);
}

static const char *const dropped_keys[] = { "id", "parent", "Size", "parent_id", "layer_id", "throwaway",
					    "rootfs", "history" };

static void encode_rootfs_history(struct strbuf *rootfs, struct strbuf *history, const char *const *diff_ids,
				  size_t nr_diffs, const char *const *hist, size_t nr_hist)
{
	strbuf_addstr(rootfs, "{\"type\":\"layers\"");
	if (nr_diffs) {
		strbuf_addstr(rootfs, ",\"diff_ids\":[");
		for (size_t i = 0; i < nr_diffs; i++) {
			if (i)
				strbuf_addch(rootfs, ',');
			gojson_encode_string(rootfs, diff_ids[i], strlen(diff_ids[i]));
		}
		strbuf_addch(rootfs, ']');
	}
	strbuf_addch(rootfs, '}');
	strbuf_addch(history, '[');
	for (size_t i = 0; i < nr_hist; i++) {
		if (i)
			strbuf_addch(history, ',');
		strbuf_addstr(history, hist[i]);
	}
	strbuf_addch(history, ']');
}

int image_v1_config(const char *v1json, size_t len, const char *const *diff_ids, size_t nr_diffs,
		       const char *const *history, size_t nr_history, struct strbuf *out,
		       struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf rootfs = STRBUF_INIT, hist = STRBUF_INIT, fallback = STRBUF_INIT;
	struct raw_member *m = NULL;
	struct v1image img;
	const char *src = v1json;
	size_t n = 0, srclen = len, kept = 0;
	const json_t *dv;
	int ret;

	ret = v1image_decode(v1json, len, &img, err);
	if (ret < 0)
		goto out;
	/* docker_version decoded into a plain struct: case-insensitive too */
	dv = ci_get(img.doc, "docker_version");
	if (version_less(json_is_string(dv) ? json_string_value(dv) : "", "1.8.3")) {
		/* json.Marshal(V1Image): struct order, omitempty, values normalised */
		json_t *o = json_object();
		_cleanup_strbuf_ struct strbuf created = STRBUF_INIT;

		ret = go_time(img.created, "created", &created, err);
		if (ret < 0) {
			json_decref(o);
			goto out;
		}
		add_nonempty(o, "comment", img.str[V1_COMMENT]);
		json_object_set_new(o, "created", json_string(created.buf));
		add_nonempty(o, "container", img.str[V1_CONTAINER]);
		json_object_set(o, "container_config", img.container_config);
		add_nonempty(o, "docker_version", img.str[V1_DOCKER_VERSION]);
		add_nonempty(o, "author", img.str[V1_AUTHOR]);
		if (img.config)
			json_object_set(o, "config", img.config);
		add_nonempty(o, "architecture", img.str[V1_ARCH]);
		add_nonempty(o, "variant", img.str[V1_VARIANT]);
		add_nonempty(o, "os", img.str[V1_OS]);
		config_encode(&fallback, o);
		json_decref(o);
		src = fallback.buf;
		srclen = fallback.len;
	}
	ret = raw_members(src, srclen, &m, &n, err);
	if (ret < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		bool drop = false;

		for (size_t k = 0; k < sizeof(dropped_keys) / sizeof(dropped_keys[0]); k++)
			drop |= !strcmp(m[i].key, dropped_keys[k]);
		if (drop)
			free(m[i].key);
		else
			m[kept++] = m[i];
	}
	n = kept;
	encode_rootfs_history(&rootfs, &hist, diff_ids, nr_diffs, history, nr_history);
	m = xrealloc(m, (n + 2) * sizeof(*m));
	m[n++] = (struct raw_member){ .key = xstrdup("history"), .val = hist.buf, .len = hist.len };
	m[n++] = (struct raw_member){ .key = xstrdup("rootfs"), .val = rootfs.buf, .len = rootfs.len };
	qsort(m, n, sizeof(*m), cmp_members);
	strbuf_addch(out, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addch(out, ',');
		gojson_encode_string(out, m[i].key, strlen(m[i].key));
		strbuf_addch(out, ':');
		compact_escaped(out, m[i].val, m[i].len);
	}
	strbuf_addch(out, '}');
out:
	for (size_t i = 0; i < n; i++)
		free(m[i].key);
	free(m);
	v1image_release(&img);
	return ret;
}

/* The os and parent fields as Go decodes the JSON (NULL when unset). */
int image_v1_os_parent(const char *v1json, size_t len, char **os, char **parent, struct strata_error **err)
{
	struct v1image img;
	int ret = v1image_decode(v1json, len, &img, err);

	*os = ret >= 0 && img.str[V1_OS] ? xstrdup(img.str[V1_OS]) : NULL;
	*parent = ret >= 0 && img.str[V1_PARENT] ? xstrdup(img.str[V1_PARENT]) : NULL;
	v1image_release(&img);
	return ret;
}

/* ---- from a config: each layer's v1 JSON and ID ---- */

/* container.Config as Go marshals it: struct order, maps sorted. */
static json_t *container_config(const json_t *c)
{
	static const char *const maps[] = { "Labels", "Volumes", "ExposedPorts" };
	json_t *out = config_container_ordered(json_is_object(c) ? c : NULL);

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		json_t *m = json_object_get(out, maps[i]);

		if (json_is_object(m) && json_object_size(m) > 1)
			json_object_set_new(out, maps[i], gojson_sorted_copy(m));
	}
	return out;
}

/* A stored config's time re-marshalled (the image index checked it parses). */
static json_t *go_time_remarshal(const char *s)
{
	_cleanup_strbuf_ struct strbuf t = STRBUF_INIT;

	if (!s || !*s)
		return json_string("0001-01-01T00:00:00Z");
	if (gotime_remarshal(&t, s, NULL) < 0)
		return json_string(s);
	return json_string(t.buf);
}

static void set_nonempty(json_t *obj, const char *key, const json_t *config)
{
	const char *v = gojson_get_string(config, key);

	if (v && *v)
		json_object_set_new(obj, key, json_string(v));
}

/* image.V1Image of layer i marshalled in struct order (omitempty as Go). */
static json_t *v1_image(const json_t *config, bool top, const char *id, const char *parent, bool with_os)
{
	json_t *o = json_object(), *v;

	if (id)
		json_object_set_new(o, "id", json_string(id));
	if (parent && *parent)
		json_object_set_new(o, "parent", json_string(parent));
	if (top)
		set_nonempty(o, "comment", config);
	json_object_set_new(o, "created",
			    top ? go_time_remarshal(gojson_get_string(config, "created")) : json_string("1970-01-01T00:00:00Z"));
	if (top)
		set_nonempty(o, "container", config);
	json_object_set_new(o, "container_config",
			    container_config(top ? json_object_get(config, "container_config") : NULL));
	if (top) {
		set_nonempty(o, "docker_version", config);
		set_nonempty(o, "author", config);
		v = json_object_get(config, "config");
		if (json_is_object(v))
			json_object_set_new(o, "config", container_config(v));
		set_nonempty(o, "architecture", config);
		set_nonempty(o, "variant", config);
	}
	if (with_os)
		set_nonempty(o, "os", config);
	if (top) {
		v = json_object_get(config, "Size");
		if (json_is_integer(v) && json_integer_value(v))
			json_object_set(o, "Size", v);
	}
	return o;
}

void image_v1_layer(const json_t *config, size_t i, size_t n, const char *chain_id,
		   const char *parent_v1, char v1id[STRATA_HEX_LEN + 1], struct strbuf *json)
{
	bool top = i + 1 == n;
	_cleanup_strbuf_ struct strbuf text = STRBUF_INIT;
	json_t *idobj = v1_image(config, top, NULL, NULL, top), *sorted;

	/* v1.CreateID: the V1Image without id, plus layer_id and parent, keys sorted */
	json_object_set_new(idobj, "layer_id", json_string(chain_id));
	if (parent_v1 && *parent_v1) {
		_cleanup_free_ char *p = xasprintf("sha256:%s", parent_v1);

		json_object_set_new(idobj, "parent", json_string(p));
	} else {
		json_object_del(idobj, "parent");
	}
	sorted = gojson_sorted_copy(idobj);
	gojson_encode(&text, sorted, 0);
	json_decref(sorted);
	json_decref(idobj);
	sha256_hex(text.buf, text.len, v1id);
	if (json) {
		json_t *o = v1_image(config, top, v1id, parent_v1, true);

		gojson_encode(json, o, 0);
		json_decref(o);
	}
}
