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
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/legacy.h"
#include "image/config.h"
#include "json/gojson.h"
#include "layer/layerdb.h"
#include "strata/reference.h"
#include "util/limits.h"
#include "util/alloc.h"
#include "util/cleanup.h"


/* ---- Go's time.Time through JSON ---- */

static bool digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* time.Time UnmarshalJSON (RFC 3339) then MarshalJSON (RFC3339Nano). */
static int go_time(const json_t *v, const char *what, struct strbuf *out, struct strata_error **err)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, zh = 0, zm = 0;
	char frac[10] = "";
	const char *s, *p;
	size_t nf = 0;

	if (!v || json_is_null(v)) {
		strbuf_addstr(out, "0001-01-01T00:00:00Z");
		return 0;
	}
	if (!json_is_string(v))
		goto bad;
	s = json_string_value(v);
	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
	    !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
		goto bad;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap(y)) || h > 23 || mi > 59 || sec > 59)
		goto bad;
	p = s + 19;
	if ((*p == '.' || *p == ',') && isdigit((unsigned char)p[1])) {
		for (p++; isdigit((unsigned char)*p); p++)
			if (nf < 9)
				frac[nf++] = *p;
		frac[nf] = '\0';
	}
	if (*p == 'Z') {
		p++;
	} else if ((*p == '+' || *p == '-') && digits(p + 1, 2, &zh) && p[3] == ':' && digits(p + 4, 2, &zm)) {
		if (zh > 23 || zm > 59)
			goto bad;
		p += 6;
	} else {
		goto bad;
	}
	if (*p)
		goto bad;
	while (nf && frac[nf - 1] == '0')
		frac[--nf] = '\0';
	strbuf_addf(out, "%.19s", s);
	if (nf)
		strbuf_addf(out, ".%s", frac);
	if (!zh && !zm)
		strbuf_addch(out, 'Z');
	else
		strbuf_addf(out, "%.6s", s + (p - s) - 6);
	return 0;
bad:
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

int legacy_history_entry(const char *v1json, size_t len, struct strbuf *out, struct strata_error **err)
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

int legacy_make_config(const char *v1json, size_t len, const char *const *diff_ids, size_t nr_diffs,
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
	_cleanup_free_ char *path = xasprintf("%s/json", nd->name);
	struct v1image img;
	int ret;

	ret = loader_read(p->l, path, true, LIMIT_CONFIG, &nd->json, &nd->json_len, err);
	if (ret < 0)
		return strata_error_wrap(err, "legacy image '%s'", nd->name);
	ret = v1image_decode(nd->json, nd->json_len, &img, err);
	if (ret >= 0 && img.str[V1_OS] && *img.str[V1_OS] && strcmp(img.str[V1_OS], "linux"))
		ret = strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0, "cannot load %s image on linux",
				       img.str[V1_OS]);
	if (ret >= 0 && img.str[V1_PARENT] && *img.str[V1_PARENT]) {
		if (!safe_component(img.str[V1_PARENT]))
			ret = strata_error_set(err, STRATA_ERR_UNSAFE_PATH, 0, "invalid parent ID '%s'",
					       img.str[V1_PARENT]);
		else
			nd->parent = xstrdup(img.str[V1_PARENT]);
	}
	v1image_release(&img);
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
	ret = legacy_history_entry(nd->json, nd->json_len, &h, err);
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
	ret = legacy_make_config(nd->json, nd->json_len, diffs, n, hist, n, &cfg, err);
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

static int valid_tag_name(const char *tag)
{
	size_t n = strlen(tag);

	if (!n || n > 128 || !(isalnum((unsigned char)tag[0]) || tag[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)tag[i]) && !strchr("_.-", tag[i]))
			return 0;
	return 1;
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
			if (!valid_tag_name(tag))
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
