/*
 * A request from its first line to its release: the /vX.Y prefix checked
 * as dockerd's version middleware does, the route found, the query, headers
 * and filters read, the store opened for it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json/gojson.h"
#include "serve/internal.h"
#include "strata/image.h"
#include "strata/store.h"
#include "util/alloc.h"
#include "util/cleanup.h"

static const struct api_route *const route_tables[] = {
	api_system_routes,
	api_event_routes,
	api_container_routes,
	api_image_routes,
	api_transfer_routes,
	api_build_routes,
};

/* "/images/{name}/json" against a path; *param gets what {name} matched. */
static bool match(const char *pattern, const char *path, char **param)
{
	const char *brace = strstr(pattern, "{name}");
	size_t plen, slen, len = strlen(path);
	const char *suffix;

	if (!brace)
		return !strcmp(pattern, path);
	plen = (size_t)(brace - pattern);
	suffix = brace + strlen("{name}");
	slen = strlen(suffix);
	if (len <= plen + slen || strncmp(pattern, path, plen) || strcmp(path + len - slen, suffix))
		return false;
	*param = xstrndup(path + plen, len - plen - slen);
	return true;
}

static const struct api_route *find_route(const char *method, const char *path, char **param)
{
	bool head = !strcmp(method, "HEAD");

	for (size_t t = 0; t < sizeof(route_tables) / sizeof(route_tables[0]); t++) {
		for (const struct api_route *r = route_tables[t]; r->method; r++) {
			if (strcmp(r->method, method) && !(head && !strcmp(r->method, "GET")))
				continue;
			if (match(r->pattern, path, param))
				return r;
		}
	}
	return NULL;
}

/* versions.Compare: dot-separated numbers, a missing part is 0 */
static int version_compare(const char *a, const char *b)
{
	while (*a || *b) {
		long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);

		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	return 0;
}

/* "1.41" as 141 */
static int version_number(const char *v)
{
	char *end;
	long major = strtol(v, &end, 10), minor = *end == '.' ? strtol(end + 1, NULL, 10) : 0;

	return (int)(major * 100 + minor);
}

/* "/v1.41/images/json": the version's text and the rest; false without a prefix */
static bool split_version(const char *url, char **version, const char **rest)
{
	const char *p = url + 2;

	if (strncmp(url, "/v", 2) || !(*p >= '0' && *p <= '9'))
		return false;
	while ((*p >= '0' && *p <= '9') || *p == '.')
		p++;
	if (*p != '/')
		return false;
	*version = xstrndup(url + 2, (size_t)(p - url - 2));
	*rest = p;
	return true;
}

struct api_request *api_request_new(struct api_server *srv, struct MHD_Connection *conn, const char *method,
				    const char *url)
{
	struct request_state *rs = xcalloc(1, sizeof(*rs));
	struct api_request *req = &rs->req;
	_cleanup_free_ char *version = NULL;
	const char *path = url;

	pthread_mutex_init(&rs->lock, NULL);
	pthread_cond_init(&rs->cond, NULL);
	atomic_init(&rs->refs, 1);
	strbuf_init(&rs->body, 0);
	strbuf_init(&rs->data, 0);
	rs->server = srv;
	rs->conn = conn;
	rs->body_write = -1;
	rs->method_buf = xstrdup(method);
	rs->url_buf = xstrdup(url);
	req->server = srv;
	req->cli = srv->cli;
	req->method = rs->method_buf;
	req->url = rs->url_buf;
	req->body_fd = -1;
	req->cancel = strata_cancel_new();
	req->priv = rs;
	req->version = API_VERSION_MAX;
	if (split_version(url, &version, &path)) {
		if (version_compare(version, "1.24") < 0) {
			req->path = rs->path_buf = xstrdup(path);
			api_reply_error(req, 400,
					"client version %s is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version",
					version);
			return req;
		}
		if (version_compare(version, "1.41") > 0) {
			req->path = rs->path_buf = xstrdup(path);
			api_reply_error(req, 400, "client version %s is too new. Maximum supported API version is 1.41",
					version);
			return req;
		}
		req->version = version_number(version);
	}
	req->path = rs->path_buf = xstrdup(path);
	rs->route = find_route(method, req->path, &req->param);
	if (!rs->route)
		api_reply_error(req, 404, "page not found: %s %s", method, url);
	return req;
}

void api_request_release(struct api_request *req)
{
	struct request_state *rs = req->priv;

	if (rs->upgrade_free)
		rs->upgrade_free(rs->upgrade_cookie);
	if (req->body_fd >= 0)
		close(req->body_fd);
	if (rs->body_write >= 0)
		close(rs->body_write);
	for (size_t i = 0; i < rs->nr_headers; i++) {
		free(rs->headers[i].name);
		free(rs->headers[i].value);
	}
	free(rs->headers);
	for (size_t i = 0; i < rs->nr_starts; i++)
		free(rs->starts[i].id);
	free(rs->starts);
	free(rs->content_type);
	strbuf_release(&rs->body);
	strbuf_release(&rs->data);
	strata_cancel_free(req->cancel);
	free(req->param);
	free(rs->path_buf);
	free(rs->method_buf);
	free(rs->url_buf);
	pthread_cond_destroy(&rs->cond);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}

const char *api_query(struct api_request *req, const char *key)
{
	struct request_state *rs = req->priv;

	return MHD_lookup_connection_value(rs->conn, MHD_GET_ARGUMENT_KIND, key);
}

struct query_all {
	const char *key;
	const char **values;
	size_t nr, alloc;
};

static enum MHD_Result collect_value(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_all *q = cls;

	if (key && !strcmp(key, q->key)) {
		ALLOC_GROW(q->values, q->nr + 2, q->alloc);
		q->values[q->nr++] = value ? value : "";
		q->values[q->nr] = NULL;
	}
	return MHD_YES;
}

const char **api_query_all(struct api_request *req, const char *key, size_t *nr)
{
	struct request_state *rs = req->priv;
	struct query_all q = { key, NULL, 0, 0 };

	MHD_get_connection_values(rs->conn, MHD_GET_ARGUMENT_KIND, collect_value, &q);
	*nr = q.nr;
	return q.values;
}

const char *api_header(struct api_request *req, const char *key)
{
	struct request_state *rs = req->priv;

	return MHD_lookup_connection_value(rs->conn, MHD_HEADER_KIND, key);
}

bool api_query_bool(struct api_request *req, const char *key)
{
	const char *v = api_query(req, key);

	if (!v)
		return false;
	return *v && strcasecmp(v, "0") && strcasecmp(v, "no") && strcasecmp(v, "false") && strcasecmp(v, "none");
}

bool api_query_int(struct api_request *req, const char *key, long long def, long long *out)
{
	const char *v = api_query(req, key);
	char *end;

	*out = def;
	if (!v || !*v)
		return true;
	errno = 0;
	*out = strtoll(v, &end, 10);
	if (errno || *end) {
		api_reply_error(req, 400, "strconv.Atoi: parsing \"%s\": invalid syntax", v);
		return false;
	}
	return true;
}

json_t *api_query_filters(struct api_request *req)
{
	const char *v = api_query(req, "filters");
	_cleanup_json_ json_t *in = NULL;
	struct strata_error *err = NULL;
	json_t *out = json_object(), *val;
	const char *key;

	if (!v || !*v)
		return out;
	if (gojson_parse(v, strlen(v), "filters", &in, &err) < 0) {
		/* a client's mistake, not the store's corruption */
		json_decref(out);
		api_reply_error(req, 400, "%s", err->msg);
		strata_error_free(err);
		return NULL;
	}
	if (!json_is_object(in))
		goto bad;
	/* filters.FromJSON: {"k":["v"]} or the older {"k":{"v":true}} */
	json_object_foreach(in, key, val) {
		json_t *list = json_array(), *item;
		const char *name;
		size_t i;

		json_object_set_new(out, key, list);
		if (json_is_array(val)) {
			json_array_foreach(val, i, item) {
				if (!json_is_string(item))
					goto bad;
				json_array_append(list, item);
			}
		} else if (json_is_object(val)) {
			json_object_foreach(val, name, item) {
				if (json_is_true(item))
					json_array_append_new(list, json_string(name));
			}
		} else {
			goto bad;
		}
	}
	return out;
bad:
	json_decref(out);
	api_reply_error(req, 400, "invalid filter: %s", v);
	return NULL;
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	case JSON_NULL:
		return "null";
	default:
		return "number";
	}
}

json_t *api_body_object(struct api_request *req, const char *go_type, const char *const *strings)
{
	struct strata_error *err = NULL;
	json_t *body = NULL;

	if (!req->body_len)
		return json_object();
	if (gojson_parse(req->body, req->body_len, "the request body", &body, &err) < 0) {
		/* the client's mistake: 400, as dockerd's decoder errors */
		api_reply_error(req, 400, "%s", err->msg);
		strata_error_free(err);
		return NULL;
	}
	if (json_is_null(body)) { /* what the docker CLI sends for "no config" */
		json_decref(body);
		return json_object();
	}
	if (!json_is_object(body)) {
		api_reply_error(req, 400, "json: cannot unmarshal %s into Go value of type %s", json_type_name(body),
				go_type);
		json_decref(body);
		return NULL;
	}
	for (; strings && *strings; strings++) {
		const json_t *v = json_object_get(body, *strings);

		if (v && !json_is_string(v) && !json_is_null(v)) {
			api_reply_error(req, 400, "json: cannot unmarshal %s into Go struct field %s.%s of type string",
					json_type_name(v), strchr(go_type, '.') ? strchr(go_type, '.') + 1 : go_type,
					*strings);
			json_decref(body);
			return NULL;
		}
	}
	return body;
}

bool api_open_store(struct api_request *req, bool write, struct strata_store **store)
{
	struct strata_error *err = NULL;

	if (cli_open_store(req->cli, write, store, &err) < 0) {
		api_reply_strata_error(req, err);
		return false;
	}
	/* a request reads only the images that changed since the last one */
	strata_image_cache_use(*store, req->server->images);
	return true;
}

bool api_open_images(struct api_request *req, bool write, struct strata_store **store,
		     struct strata_image_index **idx)
{
	struct strata_error *err = NULL;

	if (!api_open_store(req, write, store))
		return false;
	if (strata_image_index_load(*store, idx, &err) < 0) {
		strata_store_free(*store);
		*store = NULL;
		api_reply_strata_error(req, err);
		return false;
	}
	return true;
}
