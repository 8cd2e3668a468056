/*
 * Images in and out of the store: pull and import (POST /images/create),
 * push, the registry login check (/auth), save (GET /images/{name}/get,
 * /images/get) and load.  The long ones stream dockerd's JSON messages as
 * the library reports progress and pass req->cancel down, so a client that
 * goes away stops the operation (which cleans up as after any failure).
 *
 * As dockerd: pull, push, import and save answer a plain HTTP error when
 * they fail before writing anything, and an errorDetail message inside the
 * 200 stream once it has begun; load always answers inside its stream.
 * Registry credentials come only from the request's X-Registry-Auth and
 * are never stored.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/gojson.h"
#include "serve/api.h"
#include "strata/archive.h"
#include "strata/image.h"
#include "strata/reference.h"
#include "strata/registry.h"
#include "strata/store.h"
#include "util/alloc.h"
#include "util/cleanup.h"

/* A JSON stream that begins with its first message. */
struct out {
	struct api_request *req;
	bool push; /* a push: its "TAG: digest: ... size: N" line is followed by the aux result */
};

static void out_begin(struct out *o)
{
	api_stream_begin(o->req, 200, "application/json");
}

/* the failure of an operation: a plain error before the stream began, else inside it */
static void out_fail(struct out *o, struct strata_error *err)
{
	if (!api_answered(o->req)) {
		/* a registry's refusal is no 401 of dockerd's (which the client would answer
		 * with an interactive login): dockerd's registry errors are 500s */
		if (err && err->code == STRATA_ERR_AUTH) {
			api_reply_error(o->req, 500, "%s", err->msg);
			strata_error_free(err);
			return;
		}
		api_reply_strata_error(o->req, err);
		return;
	}
	if (!strata_cancel_requested(o->req->cancel))
		api_stream_error(o->req, err ? err->msg : "unknown error");
	strata_error_free(err);
}

/* push's result as dockerd sends it after the digest line: {"progressDetail":{},"aux":{Tag,Digest,Size}} */
static void push_result(struct out *o, const char *line)
{
	const char *sep = strstr(line, ": digest: "), *size;
	char *end;
	long long n;

	if (!sep || !(size = strstr(sep, " size: ")))
		return;
	n = strtoll(size + 7, &end, 10);
	if (*end)
		return;
	api_stream_json(o->req, json_pack("{s:{},s:{s:s%,s:s%,s:I}}", "progressDetail", "aux", "Tag", line,
					  (size_t)(sep - line), "Digest", sep + 10, (size_t)(size - sep - 10),
					  "Size", (json_int_t)n));
}

static void on_status(void *cookie, const char *id, const char *status)
{
	struct out *o = cookie;

	/* the docker client's own line, never the daemon's */
	if (!id && !strcmp(status, "Using default tag: latest"))
		return;
	out_begin(o);
	/* dockerd: a layer's state (progress.Update) carries an empty progressDetail, a message
	 * (progress.Message: "TAG: Pulling from REPO", "Digest: ...") none */
	if (id && strncmp(status, "Pulling from ", 13))
		api_stream_json(o->req, json_pack("{s:s,s:{},s:s}", "status", status, "progressDetail", "id", id));
	else
		api_stream_status(o->req, id, status);
	if (o->push && !id)
		push_result(o, status);
}

static void on_bytes(void *cookie, const char *id, const char *action, int64_t current, int64_t total)
{
	struct out *o = cookie;

	out_begin(o);
	api_stream_progress(o->req, id, action, current, total);
}

/* X-Registry-Auth: these credentials for this request; none, or undecodable, as dockerd: anonymous */
static bool request_credentials(struct api_request *req, struct strata_credentials *creds)
{
	const char *h = api_header(req, "X-Registry-Auth");
	struct strata_error *err = NULL;
	int ret;

	if (!h || !*h)
		return false;
	ret = strata_credentials_decode_header(h, creds, &err);
	strata_error_free(err);
	return ret > 0;
}

/* pull/push's event: actor the reference as given, attribute its repository */
static void ref_event(struct api_request *req, const char *name, const char *action)
{
	struct strata_error *err = NULL;
	struct strata_ref ref = { 0 };
	_cleanup_free_ char *familiar = NULL, *repo = NULL;

	if (strata_ref_parse(name, &ref, &err) < 0) {
		strata_error_free(err);
		return;
	}
	familiar = strata_ref_familiar_string(&ref);
	repo = strata_ref_familiar_name(&ref);
	api_event(req, "image", action, familiar, json_pack("{s:s}", "name", repo));
	strata_ref_release(&ref);
}

/*
 * What to pull or push: NAME with the tag parameter (a digest there as
 * dockerd's digest.Parse takes it), and whether that means every tag of
 * the repository (a bare name and no tag).
 */
static char *target_name(const char *name, const char *tag, bool *all_tags, struct strata_error **err)
{
	struct strata_ref ref = { 0 };
	size_t len = strlen(name);
	bool bare;

	*all_tags = false;
	/* dockerd trims one ':' the client may leave after the name */
	if (len && name[len - 1] == ':')
		len--;
	if (tag && *tag)
		return xasprintf("%.*s%c%s", (int)len, name, strchr(tag, ':') ? '@' : ':', tag);
	{
		_cleanup_free_ char *n = xstrndup(name, len);

		if (strata_ref_parse(n, &ref, err) < 0)
			return NULL;
	}
	bare = !ref.tag && !ref.digest;
	strata_ref_release(&ref);
	*all_tags = bare;
	return xstrndup(name, len);
}

/* ImportImage's stream for a URL: "Downloading from URL", then the download's "Importing" lines */
struct import_out {
	struct api_request *req;
	const char *url;
	bool began;
};

static void on_import_bytes(void *cookie, uint64_t current, int64_t total)
{
	struct import_out *o = cookie;
	_cleanup_free_ char *msg = NULL;

	if (o->began) {
		api_stream_progress(o->req, "", "Importing", (int64_t)current, total);
		return;
	}
	o->began = true;
	msg = xasprintf("Downloading from %s", o->url);
	api_stream_begin(o->req, 200, "application/json");
	api_stream_status(o->req, NULL, msg);
}

static void import_image(struct api_request *req, const char *src)
{
	const char *repo = api_query(req, "repo"), *tag = api_query(req, "tag");
	struct strata_import_options opts = { 0 };
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	_cleanup_free_ const char **changes = NULL;
	_cleanup_free_ char *ref = NULL;
	char id[72];

	if (!*src) {
		api_reply_error(req, 400, "fromImage (a pull) or fromSrc (an import) is required");
		return;
	}
	_cleanup_free_ char *url = NULL;
	struct import_out o = { req, NULL, false };
	if (repo && *repo)
		ref = tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
	changes = api_query_all(req, "changes", &opts.nr_changes);
	opts.changes = changes;
	opts.message = api_query(req, "message");
	opts.platform = api_query(req, "platform");
	if (opts.platform && !*opts.platform)
		opts.platform = NULL;
	opts.ref = ref;
	opts.fd = req->body_fd;
	if (strcmp(src, "-")) {
		/* dockerd: a source without a scheme is an http address */
		url = strstr(src, "://") ? xstrdup(src) : xasprintf("http://%s", src);
		o.url = url;
		opts.progress = on_import_bytes;
		opts.progress_cookie = &o;
		opts.cancel = req->cancel;
	}
	if (!api_open_images(req, true, &store, &idx))
		return;
	if (strata_image_import(idx, url ? url : "-", &opts, id, &err) < 0) {
		struct out fail = { req, false };

		out_fail(&fail, err);
	} else {
		api_stream_begin(req, 200, "application/json");
		api_stream_status(req, NULL, id);
		if (ref)
			api_event_tag(req, id, ref);
		api_event(req, "image", "import", id, json_pack("{s:s}", "name", id));
	}
	strata_image_index_free(idx);
	strata_store_free(store);
}

static void images_create(struct api_request *req)
{
	const char *image = api_query(req, "fromImage"), *src = api_query(req, "fromSrc");
	struct strata_pull_options opts = { 0 };
	struct strata_credentials creds = { 0 };
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct out o = { req, false };
	_cleanup_free_ char *name = NULL, *full = NULL;

	if (!image || !*image) {
		import_image(req, src ? src : "");
		return;
	}
	name = target_name(image, api_query(req, "tag"), &opts.all_tags, &err);
	if (!name) {
		api_reply_strata_error(req, err);
		return;
	}
	opts.config_path = req->cli->config_path;
	opts.platform = api_query(req, "platform");
	if (opts.platform && !*opts.platform)
		opts.platform = NULL;
	if (request_credentials(req, &creds))
		opts.credentials = &creds;
	opts.progress = on_status;
	opts.progress_bytes = on_bytes;
	opts.progress_cookie = &o;
	opts.cancel = req->cancel;
	opts.no_resume = true;
	if (!api_open_store(req, true, &store)) {
		strata_credentials_release(&creds);
		return;
	}
	if (strata_pull(store, name, &opts, &full, &err) < 0)
		out_fail(&o, err);
	else
		ref_event(req, name, "pull");
	strata_store_free(store);
	strata_credentials_release(&creds);
}

static void image_push(struct api_request *req)
{
	struct strata_push_options opts = { 0 };
	struct strata_credentials creds = { 0 };
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct out o = { req, true };
	_cleanup_free_ char *name = NULL;

	name = target_name(req->param, api_query(req, "tag"), &opts.all_tags, &err);
	if (!name) {
		api_reply_strata_error(req, err);
		return;
	}
	opts.config_path = req->cli->config_path;
	if (request_credentials(req, &creds))
		opts.credentials = &creds;
	opts.progress = on_status;
	opts.progress_bytes = on_bytes;
	opts.progress_cookie = &o;
	opts.cancel = req->cancel;
	if (!api_open_images(req, true, &store, &idx)) {
		strata_credentials_release(&creds);
		return;
	}
	if (strata_push(idx, name, &opts, &err) < 0)
		out_fail(&o, err);
	else
		ref_event(req, name, "push");
	strata_image_index_free(idx);
	strata_store_free(store);
	strata_credentials_release(&creds);
}

static void auth(struct api_request *req)
{
	static const char *const fields[] = { "username", "password", "auth", "email", "serveraddress",
					      "identitytoken", "registrytoken", NULL };
	struct strata_login_options opts = { 0 };
	struct strata_error *err = NULL;
	_cleanup_json_ json_t *cfg = NULL;

	cfg = api_body_object(req, "types.AuthConfig", fields);
	if (!cfg)
		return;
	opts.config_path = req->cli->config_path;
	opts.username = gojson_get_string(cfg, "username");
	opts.password = gojson_get_string(cfg, "password");
	if (strata_login(gojson_get_string(cfg, "serveraddress"), &opts, &err) < 0)
		api_reply_strata_error(req, err);
	else
		api_reply_json(req, 200, json_pack("{s:s,s:s}", "Status", "Login Succeeded", "IdentityToken", ""));
	/* the password's copy in the parsed body */
	json_object_clear(cfg);
}

/* ---- save ---- */

struct save_job {
	struct strata_image_index *idx;
	const char *const *names;
	size_t nr;
};

static int save_to(void *cookie, int fd, struct strata_error **err)
{
	struct save_job *job = cookie;

	return strata_image_save(job->idx, job->names, job->nr, STRATA_SAVE_DOCKER, fd, err);
}

/* the "save" events: one per image, its ID */
static void save_events(struct api_request *req, struct strata_image_index *idx, const char *const *names,
			size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		struct strata_image *img = NULL;
		struct strata_error *err = NULL;

		if (strata_image_lookup(idx, names[i], &img, &err) < 0) {
			strata_error_free(err);
			continue;
		}
		api_event(req, "image", "save", strata_image_id(img), json_pack("{s:s}", "name", strata_image_id(img)));
	}
}

static void save(struct api_request *req, const char *const *names, size_t nr)
{
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct save_job job;

	if (!api_open_images(req, false, &store, &idx))
		return;
	job = (struct save_job){ idx, names, nr };
	if (api_stream_from_writer(req, "application/x-tar", save_to, &job, &err) < 0) {
		struct out o = { req, false };

		out_fail(&o, err);
	} else {
		/* an archive of no bytes is still an answer */
		api_stream_begin(req, 200, "application/x-tar");
		save_events(req, idx, names, nr);
	}
	strata_image_index_free(idx);
	strata_store_free(store);
}

static void image_get(struct api_request *req)
{
	const char *names[] = { req->param };

	save(req, names, 1);
}

static void images_get(struct api_request *req)
{
	size_t nr;
	_cleanup_free_ const char **names = api_query_all(req, "names", &nr);

	save(req, names, nr);
}

/* ---- load ---- */

struct load_out {
	struct api_request *req;
	char **names; /* what "Loaded image: " / "Loaded image ID: " named, for the events */
	size_t nr, alloc;
};

static void load_line(void *cookie, const char *line)
{
	struct load_out *lo = cookie;
	const char *name = NULL;
	_cleanup_free_ char *text = xasprintf("%s\n", line);

	api_stream_text(lo->req, text, strlen(text));
	if (!strncmp(line, "Loaded image ID: ", 17))
		name = line + 17;
	else if (!strncmp(line, "Loaded image: ", 14))
		name = line + 14;
	if (name) {
		ALLOC_GROW(lo->names, lo->nr + 1, lo->alloc);
		lo->names[lo->nr++] = xstrdup(name);
	}
}

static void load_progress(void *cookie, const char *id, const char *action, int64_t current, int64_t total)
{
	struct load_out *lo = cookie;

	api_stream_progress(lo->req, id, action, current, total);
}

/* the "load" events: one per image loaded, its ID, as dockerd's */
static void load_events(struct api_request *req, struct load_out *lo)
{
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	const char **ids = xcalloc(lo->nr + 1, sizeof(*ids));
	size_t nr = 0;

	if (cli_open_store(req->cli, false, &store, &err) < 0 ||
	    strata_image_index_load(store, &idx, &err) < 0) {
		strata_error_free(err);
		goto out;
	}
	for (size_t i = 0; i < lo->nr; i++) {
		struct strata_image *img = NULL;
		bool seen = false;

		if (strata_image_lookup(idx, lo->names[i], &img, &err) < 0) {
			strata_error_free(err);
			err = NULL;
			continue;
		}
		for (size_t j = 0; j < nr; j++)
			seen = seen || !strcmp(ids[j], strata_image_id(img));
		if (!seen)
			ids[nr++] = strata_image_id(img);
	}
	for (size_t i = 0; i < nr; i++)
		api_event(req, "image", "load", ids[i], json_pack("{s:s}", "name", ids[i]));
out:
	free(ids);
	strata_image_index_free(idx);
	strata_store_free(store);
}

static void images_load(struct api_request *req)
{
	const char *q = api_query(req, "quiet");
	struct load_out lo = { req, NULL, 0, 0 };
	struct strata_load_options opts = { 0 };
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;

	/* dockerd's BoolValueOrDefault(quiet, true): progress only when asked for with quiet=0 */
	bool quiet = !q || api_query_bool(req, "quiet");

	if (!api_open_images(req, true, &store, &idx))
		return;
	opts.fd = req->body_fd;
	opts.report = load_line;
	opts.report_cookie = &lo;
	opts.progress = quiet ? NULL : load_progress;
	opts.cancel = req->cancel;
	/* dockerd answers a load's errors inside its stream, whenever they happen */
	api_stream_begin(req, 200, "application/json");
	if (strata_image_load(idx, &opts, &err) < 0) {
		struct out o = { req, false };

		out_fail(&o, err);
	}
	strata_image_index_free(idx);
	strata_store_free(store);
	if (lo.nr)
		load_events(req, &lo);
	for (size_t i = 0; i < lo.nr; i++)
		free(lo.names[i]);
	free(lo.names);
}

const struct api_route api_transfer_routes[] = {
	{ "POST", "/images/create", images_create, API_STREAM },
	{ "POST", "/images/load", images_load, API_STREAM },
	{ "GET", "/images/get", images_get, API_STREAM },
	{ "GET", "/images/{name}/get", image_get, API_STREAM },
	{ "POST", "/images/{name}/push", image_push, API_STREAM },
	{ "POST", "/auth", auth, API_BODY },
	{ NULL },
};
