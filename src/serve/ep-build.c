/*
 * POST /build: the classic builder (what dockerd runs for DOCKER_BUILDKIT=0).
 * The body is the context tar, extracted into a folder of the data root's
 * tmp/ that is removed when the build is over; the transcript goes out as
 * dockerd's {"stream"} messages, the image ID as {"aux":{"ID"}} before
 * "Successfully built", a failure as errorDetail (with a failed RUN's exit
 * code), or a plain HTTP error when nothing was written yet.
 */
#include <stdlib.h>
#include <string.h>

#include "json/gojson.h"
#include "serve/api.h"
#include "strata/build.h"
#include "strata/image.h"
#include "strata/store.h"
#include "util/alloc.h"
#include "util/cleanup.h"

struct build_out {
	struct api_request *req;
	bool quiet;     /* q: the transcript is held, sent only when the build fails */
	bool holding;   /* from "Successfully built" on: held until the aux ID message is out */
	json_t *held; /* the held {"stream"} messages, in order */
};

static void out_begin(struct build_out *o)
{
	api_stream_begin(o->req, 200, "application/json");
}

static void emit(struct build_out *o, const char *text, size_t len)
{
	if (o->quiet || o->holding) {
		json_array_append_new(o->held, json_pack("{s:s%}", "stream", text, len));
		return;
	}
	out_begin(o);
	api_stream_text(o->req, text, len);
}

static void write_transcript(void *cookie, const char *text, size_t len)
{
	struct build_out *o = cookie;

	if (!o->quiet && len > 19 && !memcmp(text, "Successfully built ", 19))
		o->holding = true;
	/* dockerd writes a step's line and its newline as two messages */
	if (len > 6 && !memcmp(text, "Step ", 5) && text[len - 1] == '\n') {
		emit(o, text, len - 1);
		emit(o, "\n", 1);
		return;
	}
	emit(o, text, len);
}

/* ADD URL's download: dockerd's progress lines in the stream (none when quiet, as its output is held) */
static void on_download(void *cookie, int64_t current, int64_t total)
{
	struct build_out *o = cookie;

	if (o->quiet || o->holding)
		return;
	out_begin(o);
	api_stream_progress(o->req, "", "Downloading", current, total);
}

static void send_held(struct build_out *o)
{
	size_t i;
	json_t *m;

	json_array_foreach(o->held, i, m)
		api_stream_json(o->req, json_incref(m));
	json_array_clear(o->held);
}

/* buildargs / labels: a JSON object of strings ({"K":null} in buildargs: declared, no value) */
static bool json_pairs(struct api_request *req, const char *key, bool allow_null, char ***out, size_t *nr)
{
	const char *v = api_query(req, key), *k;
	struct strata_error *err = NULL;
	_cleanup_json_ json_t *obj = NULL;
	json_t *val;

	*out = NULL;
	*nr = 0;
	if (!v || !*v)
		return true;
	if (gojson_parse(v, strlen(v), key, &obj, &err) < 0 || !json_is_object(obj)) {
		strata_error_free(err);
		api_reply_error(req, 400, "invalid %s: a JSON object of strings is expected", key);
		return false;
	}
	*out = xcalloc(json_object_size(obj) + 1, sizeof(**out));
	json_object_foreach(obj, k, val) {
		if (json_is_string(val))
			(*out)[(*nr)++] = xasprintf("%s=%s", k, json_string_value(val));
		else if (json_is_null(val) && allow_null)
			(*out)[(*nr)++] = xstrdup(k);
	}
	return true;
}

/* what the build can honour; an answer sent and false otherwise */
static bool check_options(struct api_request *req, const char *network, const char *platform)
{
	if (api_query_bool(req, "pull")) {
		api_reply_error(req, 400, "pull is not supported by strata build: pull the image first");
		return false;
	}
	if (network && *network && strcmp(network, "default") && strcmp(network, "none") && strcmp(network, "host")) {
		api_reply_error(req, 400, "network mode %s is not supported by strata build (none and host are)",
				network);
		return false;
	}
	if (platform && *platform && strcmp(platform, "linux") && strncmp(platform, "linux/", 6)) {
		api_reply_error(req, 400, "platform %s is not supported by strata build (linux is)", platform);
		return false;
	}
	return true;
}

static void fail(struct build_out *o, struct strata_error *err, int run_status)
{
	struct api_request *req = o->req;

	if (strata_cancel_requested(req->cancel)) {
		strata_error_free(err);
		return;
	}
	if (!api_answered(req) && !json_array_size(o->held)) {
		api_reply_strata_error(req, err);
		return;
	}
	out_begin(o);
	/* -q: the transcript the client did not see, then the error, as dockerd */
	send_held(o);
	if (run_status > 0)
		api_stream_json(req, json_pack("{s:{s:i,s:s},s:s}", "errorDetail", "code", run_status, "message",
					       err->msg, "error", err->msg));
	else
		api_stream_error(req, err->msg);
	strata_error_free(err);
}

static void build(struct api_request *req)
{
	const char *network = api_query(req, "networkmode"), *platform = api_query(req, "platform");
	const char *dockerfile_name = api_query(req, "dockerfile"), *rm;
	struct build_out o = { req, api_query_bool(req, "q"), false, json_array() };
	struct strata_build_options opts = { 0 };
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	_cleanup_free_ const char **tags = NULL;
	struct strata_build_archive *archive = NULL;
	_cleanup_free_ char *dockerfile = NULL;
	char **args = NULL, **labels = NULL;
	size_t nr_args = 0, nr_labels = 0, nr_tags = 0, len = 0;
	int run_status = 0;
	char id[72];

	if (!dockerfile_name || !*dockerfile_name)
		dockerfile_name = "Dockerfile";
	if (!check_options(req, network, platform) || !json_pairs(req, "buildargs", true, &args, &nr_args) ||
	    !json_pairs(req, "labels", false, &labels, &nr_labels))
		goto out;
	if (!api_open_images(req, true, &store, &idx))
		goto out;
	/* the one context extractor, also `strata build -`'s: COPY hashes the members as dockerd does */
	if (strata_build_archive_extract(idx, NULL, 0, req->body_fd, &archive, &err) < 0 ||
	    strata_build_context_read(strata_build_archive_dir(archive), dockerfile_name, &dockerfile, &len, &err) < 0) {
		api_reply_strata_error(req, err);
		goto out;
	}
	tags = api_query_all(req, "t", &nr_tags);
	opts.dockerfile = dockerfile;
	opts.dockerfile_len = len;
	opts.dockerfile_name = dockerfile_name;
	opts.context_dir = strata_build_archive_dir(archive);
	opts.archive = archive;
	opts.tags = tags;
	opts.nr_tags = nr_tags;
	opts.build_args = (const char *const *)args;
	opts.nr_build_args = nr_args;
	opts.labels = (const char *const *)labels;
	opts.nr_labels = nr_labels;
	opts.target = api_query(req, "target");
	if (opts.target && !*opts.target)
		opts.target = NULL;
	opts.no_cache = api_query_bool(req, "nocache");
	/* rm missing or empty is true (API >= 1.12); forcerm also removes a failed RUN's container */
	rm = api_query(req, "rm");
	opts.keep_containers = rm && *rm && !api_query_bool(req, "rm");
	opts.force_rm = api_query_bool(req, "forcerm");
	opts.network = network && !strcmp(network, "host") ? "host" : "none";
	opts.run_status = &run_status;
	opts.write = write_transcript;
	opts.download_progress = on_download;
	opts.cookie = &o;
	opts.cancel = req->cancel;
	if (strata_build(idx, &opts, id, &err) < 0) {
		fail(&o, err, run_status);
		goto out;
	}
	for (size_t i = 0; i < nr_tags; i++)
		api_event_tag(req, id, tags[i]);
	out_begin(&o);
	if (o.quiet) {
		_cleanup_free_ char *line = xasprintf("%s\n", id);

		api_stream_text(req, line, strlen(line));
		goto out;
	}
	/* the ID message dockerd's classic builder sends when the last stage is done */
	api_stream_aux(req, json_pack("{s:s}", "ID", id));
	send_held(&o);
out:
	strata_build_archive_free(archive);
	strata_image_index_free(idx);
	strata_store_free(store);
	cli_strv_free(args);
	cli_strv_free(labels);
	json_decref(o.held);
}

const struct api_route api_build_routes[] = {
	{ "POST", "/build", build, API_STREAM },
	{ NULL },
};
