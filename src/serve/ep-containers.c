/*
 * The container endpoints: create, start, attach (hijacked), wait, logs,
 * list, inspect, stop, kill, remove, changes, export, commit, prune.
 *
 * Containers run under the library's monitor, so they outlive the server
 * as they outlive the CLI.  One thing the server does itself: it removes
 * AutoRemove containers (docker run --rm) after their exit, once their
 * attached clients have read all of their output and the exit status is
 * known to /wait?condition=removed — the monitor would remove them before
 * a client polling the log could see either.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "json/gojson.h"
#include "serve/internal.h"
#include "strata/container.h"
#include "strata/image.h"
#include "strata/store.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define POLL_NS 10000000L /* how often a waiter looks at a container's state */

/* ---- what the server remembers of AutoRemove containers ---- */

struct reaped {
	char *id;
	int exit_code;
	bool exited, removed;
	int attached; /* clients streaming its output */
};

struct api_containers {
	pthread_mutex_t lock;
	struct reaped *v;
	size_t nr, alloc;
};

void api_containers_init(struct api_server *srv)
{
	srv->containers = xcalloc(1, sizeof(*srv->containers));
	pthread_mutex_init(&srv->containers->lock, NULL);
}

void api_containers_release(struct api_server *srv)
{
	struct api_containers *ac = srv->containers;

	if (!ac)
		return;
	for (size_t i = 0; i < ac->nr; i++)
		free(ac->v[i].id);
	free(ac->v);
	pthread_mutex_destroy(&ac->lock);
	free(ac);
	srv->containers = NULL;
}

/* The entry of id (made when missing); call with the lock held. */
static struct reaped *reaped_get(struct api_containers *ac, const char *id)
{
	for (size_t i = 0; i < ac->nr; i++)
		if (!strcmp(ac->v[i].id, id))
			return &ac->v[i];
	ALLOC_GROW(ac->v, ac->nr + 1, ac->alloc);
	ac->v[ac->nr] = (struct reaped){ .id = xstrdup(id) };
	return &ac->v[ac->nr++];
}

static void sleep_poll(void)
{
	nanosleep(&(struct timespec){ .tv_nsec = POLL_NS }, NULL);
}

/* ---- helpers ---- */

static bool open_container(struct api_request *req, bool write, struct strata_store **store,
			   struct strata_container **c)
{
	struct strata_error *err = NULL;

	if (!api_open_store(req, write, store))
		return false;
	if (strata_container_open(*store, req->param, c, &err) < 0) {
		strata_store_free(*store);
		*store = NULL;
		api_reply_strata_error(req, err);
		return false;
	}
	return true;
}

/* The state now, from the files (another process may have changed them); false once it is gone. */
static bool current_state(struct cli_ctx *cli, const char *id, struct strata_container_state *st)
{
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;
	bool ok = cli_open_store(cli, false, &store, &err) >= 0 && strata_container_open(store, id, &c, &err) >= 0;

	if (ok)
		strata_container_state(c, st);
	strata_error_free(err);
	strata_container_free(c);
	strata_store_free(store);
	return ok;
}

static json_t *container_event_attrs(struct strata_container *c)
{
	return json_pack("{s:s,s:s}", "image", strata_container_image(c), "name", strata_container_name(c));
}

static void container_event(struct api_request *req, struct strata_container *c, const char *action)
{
	api_event(req, "container", action, strata_container_id(c), container_event_attrs(c));
}

/* strslice: a JSON array of strings, or one string */
static bool strslice(const json_t *v, char ***out, size_t *nr)
{
	size_t i;
	const json_t *s;

	*out = NULL;
	*nr = 0;
	if (!v || json_is_null(v))
		return true;
	if (json_is_string(v)) {
		*out = xcalloc(2, sizeof(**out));
		(*out)[0] = xstrdup(json_string_value(v));
		*nr = 1;
		return true;
	}
	if (!json_is_array(v))
		return false;
	*out = xcalloc(json_array_size(v) + 1, sizeof(**out));
	json_array_foreach(v, i, s) {
		if (!json_is_string(s))
			return false;
		(*out)[(*nr)++] = xstrdup(json_string_value(s));
	}
	return true;
}

/* ---- create ---- */

struct create_args {
	char **cmd, **entrypoint, **env, **binds_text;
	size_t nr_cmd, nr_entrypoint, nr_env, nr_binds;
	struct strata_bind *binds;
	char **args; /* the entrypoint's rest, then Cmd */
};

static void create_args_release(struct create_args *a)
{
	cli_strv_free(a->cmd);
	cli_strv_free(a->entrypoint);
	cli_strv_free(a->env);
	cli_strv_free(a->binds_text);
	free(a->binds);
	free(a->args);
}

static void containers_create(struct api_request *req)
{
	static const char *const strings[] = { "Image", "WorkingDir", "User", "Hostname", NULL };
	_cleanup_json_ json_t *body = api_body_object(req, "container.Config", strings);
	struct strata_container_options o = { 0 };
	struct create_args a = { 0 };
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;
	const json_t *host;
	const char *image, *network;
	size_t i, n = 0;

	if (!body)
		return;
	host = json_object_get(body, "HostConfig");
	image = gojson_get_string(body, "Image");
	if (!image || !*image) {
		api_reply_error(req, 400, "No command specified");
		return;
	}
	if (!strslice(json_object_get(body, "Cmd"), &a.cmd, &a.nr_cmd) ||
	    !strslice(json_object_get(body, "Entrypoint"), &a.entrypoint, &a.nr_entrypoint) ||
	    !strslice(json_object_get(body, "Env"), &a.env, &a.nr_env) ||
	    !strslice(json_object_get(host, "Binds"), &a.binds_text, &a.nr_binds)) {
		api_reply_error(req, 400, "json: cannot unmarshal the request body into Go value of type container.Config");
		goto out;
	}
	/* the library takes one entrypoint word: the rest of the API's list goes before Cmd */
	a.args = xcalloc(a.nr_cmd + a.nr_entrypoint + 1, sizeof(*a.args));
	for (i = 1; i < a.nr_entrypoint; i++)
		a.args[n++] = a.entrypoint[i];
	for (i = 0; i < a.nr_cmd; i++)
		a.args[n++] = a.cmd[i];
	a.binds = xcalloc(a.nr_binds + 1, sizeof(*a.binds));
	for (i = 0; i < a.nr_binds; i++) {
		char *b = a.binds_text[i], *c1 = strchr(b, ':'), *c2;

		if (!c1 || *b != '/' || c1[1] != '/') {
			api_reply_error(req, 400, "invalid volume specification: '%s': only HOST:CONTAINER[:ro] with absolute paths is supported", b);
			goto out;
		}
		*c1 = '\0';
		c2 = strchr(c1 + 1, ':');
		if (c2)
			*c2 = '\0';
		a.binds[i] = (struct strata_bind){ b, c1 + 1, c2 && !strcmp(c2 + 1, "ro") };
	}
	network = gojson_get_string(host, "NetworkMode");
	if (network && (!strcmp(network, "default") || !strcmp(network, "bridge")))
		network = NULL; /* strata has no bridge: none */
	o = (struct strata_container_options){
		.cmd = (const char *const *)a.args, .nr_cmd = n,
		.entrypoint = a.nr_entrypoint ? a.entrypoint[0] : json_is_array(json_object_get(body, "Entrypoint")) ? "" : NULL,
		.env = (const char *const *)a.env, .nr_env = a.nr_env,
		.workdir = gojson_get_string(body, "WorkingDir"), .user = gojson_get_string(body, "User"),
		.hostname = gojson_get_string(body, "Hostname"), .name = api_query(req, "name"),
		.network = network, .binds = a.binds, .nr_binds = a.nr_binds,
		.read_only = json_is_true(json_object_get(host, "ReadonlyRootfs")),
		/* the server removes it itself (the top of this file) */
		.auto_remove = false,
		.interactive = json_is_true(json_object_get(body, "OpenStdin")),
		.tty = json_is_true(json_object_get(body, "Tty")),
		.detach = !json_is_true(json_object_get(body, "AttachStdout")) &&
			  !json_is_true(json_object_get(body, "AttachStderr")),
	};
	if (o.name && !*o.name)
		o.name = NULL;
	if (!api_open_images(req, true, &store, &idx))
		goto out;
	if (strata_container_create(idx, image, &o, &c, &err) < 0) {
		api_reply_strata_error(req, err);
	} else {
		if (json_is_true(json_object_get(host, "AutoRemove"))) {
			struct api_containers *ac = req->server->containers;

			pthread_mutex_lock(&ac->lock);
			reaped_get(ac, strata_container_id(c));
			pthread_mutex_unlock(&ac->lock);
		}
		container_event(req, c, "create");
		api_reply_json(req, 201, json_pack("{s:s,s:[]}", "Id", strata_container_id(c), "Warnings"));
	}
	strata_container_free(c);
	strata_image_index_free(idx);
	strata_store_free(store);
out:
	create_args_release(&a);
}

/* ---- the AutoRemove reaper ---- */

struct reaper {
	struct api_server *server;
	struct cli_ctx *cli;
	char *id;
};

static void *reap(void *arg)
{
	struct reaper *r = arg;
	struct api_containers *ac = r->server->containers;
	struct strata_container_state st;
	struct api_request events = { .server = r->server }; /* what api_event needs */
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;

	while (current_state(r->cli, r->id, &st) && st.running)
		sleep_poll();
	pthread_mutex_lock(&ac->lock);
	reaped_get(ac, r->id)->exit_code = st.exit_code;
	reaped_get(ac, r->id)->exited = true;
	pthread_mutex_unlock(&ac->lock);
	/* attached clients first read the last of its output */
	for (int i = 0; i < 500; i++) {
		bool busy;

		pthread_mutex_lock(&ac->lock);
		busy = reaped_get(ac, r->id)->attached > 0;
		pthread_mutex_unlock(&ac->lock);
		if (!busy)
			break;
		sleep_poll();
	}
	if (cli_open_store(r->cli, true, &store, &err) >= 0 && strata_container_open(store, r->id, &c, &err) >= 0 &&
	    strata_container_remove(c, true, &err) >= 0)
		api_event(&events, "container", "destroy", r->id, NULL);
	strata_error_free(err);
	strata_container_free(c);
	strata_store_free(store);
	pthread_mutex_lock(&ac->lock);
	reaped_get(ac, r->id)->removed = true;
	pthread_mutex_unlock(&ac->lock);
	atomic_fetch_sub(&r->server->workers, 1);
	free(r->id);
	free(r);
	return NULL;
}

static void start_reaper(struct api_request *req, const char *id)
{
	struct reaper *r = xcalloc(1, sizeof(*r));
	pthread_attr_t attr;
	pthread_t tid;

	r->server = req->server;
	r->cli = req->cli;
	r->id = xstrdup(id);
	atomic_fetch_add(&req->server->workers, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, reap, r) != 0) {
		atomic_fetch_sub(&req->server->workers, 1);
		free(r->id);
		free(r);
	}
	pthread_attr_destroy(&attr);
}

static bool auto_removed(struct api_request *req, const char *id)
{
	struct api_containers *ac = req->server->containers;
	bool yes = false;

	pthread_mutex_lock(&ac->lock);
	for (size_t i = 0; i < ac->nr; i++)
		if (!strcmp(ac->v[i].id, id))
			yes = true;
	pthread_mutex_unlock(&ac->lock);
	return yes;
}

/* ---- start, stop, kill, remove ---- */

static void container_start(struct api_request *req)
{
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;
	struct strata_container_state st;
	int status = 0;

	if (!open_container(req, true, &store, &c))
		return;
	strata_container_state(c, &st);
	if (st.running) {
		api_reply_empty(req, 304);
	} else if (strata_container_start_detached(c, NULL, &status, &err) < 0) {
		/* dockerd: a command that cannot run is the client's 400; others 500 */
		api_reply_error(req, status == 126 || status == 127 ? 400 : 500, "%s", err->msg);
		strata_error_freep(&err);
		/* an AutoRemove container that could not start goes, as in dockerd */
		if (auto_removed(req, strata_container_id(c))) {
			api_event(req, "container", "die", strata_container_id(c), container_event_attrs(c));
			start_reaper(req, strata_container_id(c));
		}
	} else {
		container_event(req, c, "start");
		if (auto_removed(req, strata_container_id(c)))
			start_reaper(req, strata_container_id(c));
		api_reply_empty(req, 204);
	}
	strata_container_free(c);
	strata_store_free(store);
}

static void container_stop_or_kill(struct api_request *req, bool kill)
{
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;
	struct strata_container_state st;
	long long t;
	int ret;

	if (!api_query_int(req, "t", 10, &t) || !open_container(req, true, &store, &c))
		return;
	strata_container_state(c, &st);
	if (!st.running) {
		if (kill)
			api_reply_error(req, 409, "Cannot kill container: %s: Container %s is not running", req->param,
					strata_container_id(c));
		else
			api_reply_empty(req, 304);
	} else {
		ret = kill ? strata_container_kill(c, api_query(req, "signal"), &err)
			   : strata_container_stop(c, (int)t, &err);
		if (ret < 0) {
			api_reply_strata_error(req, err);
		} else {
			container_event(req, c, kill ? "kill" : "stop");
			api_reply_empty(req, 204);
		}
	}
	strata_container_free(c);
	strata_store_free(store);
}

static void container_stop(struct api_request *req)
{
	container_stop_or_kill(req, false);
}

static void container_kill(struct api_request *req)
{
	container_stop_or_kill(req, true);
}

/* POST /containers/{name}/resize?h=&w=: the docker CLI's, after the start of a tty container and on SIGWINCH */
static void container_resize(struct api_request *req)
{
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;
	struct strata_container_state st;
	long long h, w;

	if (!api_query_int(req, "h", 0, &h) || !api_query_int(req, "w", 0, &w))
		return;
	if (h < 0 || w < 0 || h > 65535 || w > 65535) {
		api_reply_error(req, 400, "invalid height or width: %lld x %lld", h, w);
		return;
	}
	if (!open_container(req, false, &store, &c))
		return;
	strata_container_state(c, &st);
	/* dockerd: a running container without a tty is resized as nothing */
	if (st.running && !strata_container_tty(c))
		api_reply_empty(req, 200);
	else if (strata_container_resize(c, (unsigned short)h, (unsigned short)w, &err) < 0)
		api_reply_strata_error(req, err);
	else
		api_reply_empty(req, 200);
	strata_container_free(c);
	strata_store_free(store);
}

static void container_delete(struct api_request *req)
{
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;

	if (!open_container(req, true, &store, &c))
		return;
	if (strata_container_remove(c, api_query_bool(req, "force"), &err) < 0) {
		api_reply_strata_error(req, err);
	} else {
		container_event(req, c, "destroy");
		api_reply_empty(req, 204);
	}
	strata_container_free(c);
	strata_store_free(store);
}

/* ---- wait ---- */

static void container_wait(struct api_request *req)
{
	const char *cond = api_query(req, "condition");
	struct api_containers *ac = req->server->containers;
	struct strata_container_state st0, st;
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	_cleanup_free_ char *id = NULL;
	bool removed, next;
	int code = 0;

	if (cond && *cond && strcmp(cond, "not-running") && strcmp(cond, "next-exit") && strcmp(cond, "removed")) {
		api_reply_error(req, 400, "invalid condition: \"%s\"", cond);
		return;
	}
	if (!open_container(req, false, &store, &c))
		return;
	id = xstrdup(strata_container_id(c));
	strata_container_state(c, &st0);
	strata_container_free(c);
	strata_store_free(store);
	removed = cond && !strcmp(cond, "removed");
	next = removed || (cond && !strcmp(cond, "next-exit"));
	/* the answer's headers go out now, so the client knows its wait is in place */
	api_stream_begin(req, 200, "application/json");
	for (;;) {
		bool present = current_state(req->cli, id, &st);
		bool reaped_exit = false, reaped_gone = false;

		pthread_mutex_lock(&ac->lock);
		for (size_t i = 0; i < ac->nr; i++)
			if (!strcmp(ac->v[i].id, id)) {
				reaped_exit = ac->v[i].exited;
				reaped_gone = ac->v[i].removed;
				if (reaped_exit)
					code = ac->v[i].exit_code;
			}
		pthread_mutex_unlock(&ac->lock);
		if (!present) {
			/* gone: its exit code is what the server kept, else the last seen */
			if (!reaped_exit)
				code = st0.exit_code;
			break;
		}
		code = st.exit_code;
		if (!st.running) {
			bool exited_since = st.started_at != st0.started_at || st.finished_at != st0.finished_at;

			if (!next || exited_since || (!removed && st0.running)) {
				if (!removed || reaped_gone)
					break;
			}
		} else {
			st0.running = true;
		}
		if (strata_cancel_requested(req->cancel))
			return;
		if (reaped_gone)
			break;
		sleep_poll();
	}
	api_stream_json(req, json_pack("{s:i,s:n}", "StatusCode", code, "Error"));
}

/* ---- output: attach and logs ---- */

/* docker's stdcopy frame: stream (1 stdout, 2 stderr), 3 zero bytes, the length big-endian */
static void frame_header(unsigned char h[8], int stream, size_t len)
{
	h[0] = (unsigned char)stream;
	h[1] = h[2] = h[3] = 0;
	h[4] = (unsigned char)(len >> 24);
	h[5] = (unsigned char)(len >> 16);
	h[6] = (unsigned char)(len >> 8);
	h[7] = (unsigned char)len;
}

typedef bool (*sink_fn)(void *cookie, const void *data, size_t len);

struct log_job {
	struct cli_ctx *cli;
	char *id;
	long tail;
	bool follow, timestamps;
	int out[2], err[2];
};

static void *log_writer(void *arg)
{
	struct log_job *j = arg;
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *e = NULL;

	if (cli_open_store(j->cli, false, &store, &e) >= 0 && strata_container_open(store, j->id, &c, &e) >= 0) {
		if (j->follow)
			strata_container_logs_follow(c, j->tail, j->timestamps, j->out[1], j->err[1], &e);
		else
			strata_container_logs(c, j->tail, j->timestamps, j->out[1], j->err[1], &e);
	}
	strata_error_free(e);
	strata_container_free(c);
	strata_store_free(store);
	close(j->out[1]);
	close(j->err[1]);
	return NULL;
}

/*
 * Run the log reader and send what it writes as stdcopy frames to sink
 * (stdout and/or stderr as asked); raw (a tty container's, as dockerd
 * sends them): the bytes alone.
 */
static void pump_logs(struct cli_ctx *cli, const char *id, long tail, bool follow, bool timestamps, bool want_out,
		      bool want_err, bool raw, sink_fn sink, void *cookie)
{
	struct log_job j = { .cli = cli, .id = (char *)id, .tail = tail, .follow = follow, .timestamps = timestamps };
	struct pollfd p[2];
	pthread_t tid;
	bool open_out = true, open_err = true, ok = true;

	if (pipe2(j.out, O_CLOEXEC) < 0)
		return;
	if (pipe2(j.err, O_CLOEXEC) < 0) {
		close(j.out[0]);
		close(j.out[1]);
		return;
	}
	if (pthread_create(&tid, NULL, log_writer, &j) != 0) {
		close(j.out[0]);
		close(j.out[1]);
		close(j.err[0]);
		close(j.err[1]);
		return;
	}
	while (open_out || open_err) {
		char buf[32768];
		unsigned char h[8];

		p[0] = (struct pollfd){ .fd = open_out ? j.out[0] : -1, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = open_err ? j.err[0] : -1, .events = POLLIN };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		for (int s = 0; s < 2; s++) {
			ssize_t n;

			if (!(p[s].revents & (POLLIN | POLLHUP)))
				continue;
			n = read(p[s].fd, buf, sizeof(buf));
			if (n <= 0) {
				if (s == 0)
					open_out = false;
				else
					open_err = false;
				continue;
			}
			if (!(s == 0 ? want_out : want_err))
				continue;
			frame_header(h, s + 1, (size_t)n);
			ok = (raw || sink(cookie, h, sizeof(h))) && sink(cookie, buf, (size_t)n);
		}
		if (!ok)
			break; /* the client is gone: the reader's next write fails and it ends */
	}
	close(j.out[0]);
	close(j.err[0]);
	pthread_join(tid, NULL);
}

static bool stream_sink(void *cookie, const void *data, size_t len)
{
	return api_stream_write(cookie, data, len);
}

static void container_logs(struct api_request *req)
{
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	_cleanup_free_ char *id = NULL;
	const char *tail = api_query(req, "tail");
	bool out = api_query_bool(req, "stdout"), err = api_query_bool(req, "stderr"), tty;
	long n = -1;

	if (!out && !err) {
		api_reply_error(req, 400, "Bad parameters: you must choose at least one stream");
		return;
	}
	if (tail && *tail && strcmp(tail, "all")) {
		char *end;

		n = strtol(tail, &end, 10);
		if (*end || n < 0)
			n = -1; /* dockerd: a tail it cannot read is all */
	}
	if (!open_container(req, false, &store, &c))
		return;
	id = xstrdup(strata_container_id(c));
	tty = strata_container_tty(c);
	strata_container_free(c);
	strata_store_free(store);
	api_stream_begin(req, 200, "application/vnd.docker.raw-stream");
	pump_logs(req->cli, id, n, api_query_bool(req, "follow"), api_query_bool(req, "timestamps"), out, err, tty,
		  stream_sink, req);
}

struct attach {
	struct api_server *server;
	struct cli_ctx *cli;
	char *id;
	bool out, err, in, tty;
};

/* What the client sends on the hijacked connection, typed into a tty container's pty. */
struct attach_input {
	int sock, fd;
	const char *extra;
	size_t extra_len;
};

static void *attach_input_main(void *arg)
{
	struct attach_input *in = arg;
	char buf[4096];
	ssize_t n;

	if (fs_send_all(in->fd, in->extra, in->extra_len, "type the input", NULL) < 0)
		goto out;
	for (;;) {
		struct pollfd p = { .fd = in->sock, .events = POLLIN };

		n = recv(in->sock, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0 && fs_send_all(in->fd, buf, (size_t)n, "type the input", NULL) < 0)
			break;
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;
		/* the hijacked socket is non-blocking */
		if (n < 0 && errno == EAGAIN && poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
	}
out:
	close(in->fd);
	return NULL;
}

/* Start typing the client's input into the started tty container id; false when it cannot be reached. */
static bool attach_input_start(struct attach *a, struct attach_input *in, pthread_t *tid)
{
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;
	bool ok = cli_open_store(a->cli, false, &store, &err) >= 0 &&
		  strata_container_open(store, a->id, &c, &err) >= 0 &&
		  strata_container_attach_input(c, &in->fd, &err) >= 0;

	strata_error_free(err);
	strata_container_free(c);
	strata_store_free(store);
	if (ok && pthread_create(tid, NULL, attach_input_main, in) != 0) {
		close(in->fd);
		ok = false;
	}
	return ok;
}

static bool sock_sink(void *cookie, const void *data, size_t len)
{
	return fs_send_all(*(int *)cookie, data, len, "send the output", NULL) >= 0;
}

static void attach_free(void *cookie)
{
	struct attach *a = cookie;

	free(a->id);
	free(a);
}

static bool client_gone(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLRDHUP };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR));
}

/* The hijacked connection: wait for the start, then stream its output until it exits. */
static void attached(void *cookie, int sock, const char *extra, size_t extra_len)
{
	struct attach *a = cookie;
	struct api_containers *ac = a->server->containers;
	struct strata_container_state st;
	struct attach_input in = { .sock = sock, .fd = -1, .extra = extra, .extra_len = extra_len };
	pthread_t input;
	bool mine = false, typing = false;

	pthread_mutex_lock(&ac->lock);
	for (size_t i = 0; i < ac->nr; i++)
		if (!strcmp(ac->v[i].id, a->id)) {
			ac->v[i].attached++;
			mine = true;
		}
	pthread_mutex_unlock(&ac->lock);

	while (current_state(a->cli, a->id, &st) && !st.running && !st.started_at && !client_gone(sock))
		sleep_poll();
	/* stdin only for a tty: a container without one reads /dev/null under the monitor */
	if (a->in && a->tty && st.running)
		typing = attach_input_start(a, &in, &input);
	pump_logs(a->cli, a->id, -1, true, false, a->out, a->err, a->tty, sock_sink, &sock);
	shutdown(sock, SHUT_WR);
	if (typing) {
		/* the process ended: what the client still sends goes nowhere */
		shutdown(sock, SHUT_RD);
		pthread_join(input, NULL);
	}
	if (mine) {
		pthread_mutex_lock(&ac->lock);
		for (size_t i = 0; i < ac->nr; i++)
			if (!strcmp(ac->v[i].id, a->id))
				ac->v[i].attached--;
		pthread_mutex_unlock(&ac->lock);
	}
}

static void container_attach(struct api_request *req)
{
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct attach *a;

	if (!open_container(req, false, &store, &c))
		return;
	a = xcalloc(1, sizeof(*a));
	a->server = req->server;
	a->cli = req->cli;
	a->id = xstrdup(strata_container_id(c));
	a->out = api_query_bool(req, "stdout");
	a->err = api_query_bool(req, "stderr");
	a->in = api_query_bool(req, "stdin");
	a->tty = strata_container_tty(c);
	container_event(req, c, "attach");
	strata_container_free(c);
	strata_store_free(store);
	api_reply_upgrade(req, "application/vnd.docker.raw-stream", attached, a, attach_free);
}

/* ---- list, inspect, changes, export ---- */

static bool in_values(const json_t *list, const char *s)
{
	const json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
		if (!strcmp(json_string_value(v), s))
			return true;
	return false;
}

static bool prefix_in(const json_t *list, const char *s)
{
	const json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
		if (!strncmp(json_string_value(v), s, strlen(json_string_value(v))) ||
		    strstr(s, json_string_value(v)))
			return true;
	return false;
}

static json_t *summary(struct strata_container *c, const struct strata_container_state *st, bool size)
{
	_cleanup_strbuf_ struct strbuf status = STRBUF_INIT;
	_cleanup_free_ char *text = NULL, *command = strata_container_command(c);
	_cleanup_json_ json_t *insp = NULL;
	struct strata_error *err = NULL;
	const json_t *cfg, *hc, *labels;
	json_t *row;

	if (strata_container_inspect(c, false, &text, &err) < 0 ||
	    gojson_parse(text, strlen(text), "container", &insp, &err) < 0) {
		strata_error_free(err);
		return NULL;
	}
	cfg = json_object_get(insp, "Config");
	hc = json_object_get(insp, "HostConfig");
	labels = json_object_get(cfg, "Labels");
	cli_container_status(&status, st);
	row = json_pack("{s:s,s:[s+],s:s,s:s,s:s,s:I,s:[],s:O,s:s,s:s,s:{s:s},s:{s:{}},s:O}",
			"Id", strata_container_id(c), "Names", "/", strata_container_name(c),
			"Image", strata_container_image(c), "ImageID", strata_container_image_id(c),
			"Command", command, "Created", (json_int_t)st->created, "Ports",
			"Labels", json_is_object(labels) ? labels : json_object(),
			"State", cli_container_state_name(st), "Status", status.buf,
			"HostConfig", "NetworkMode", gojson_get_string(hc, "NetworkMode") ? gojson_get_string(hc, "NetworkMode") : "none",
			"NetworkSettings", "Networks",
			"Mounts", json_object_get(insp, "Mounts") ? json_object_get(insp, "Mounts") : json_array());
	if (size) {
		int64_t rw = 0, vsize = 0;

		if (strata_container_size(c, &rw, &vsize, &err) == 0) {
			json_object_set_new(row, "SizeRw", json_integer(rw));
			json_object_set_new(row, "SizeRootFs", json_integer(vsize));
		}
		strata_error_free(err);
	}
	return row;
}

static bool wanted(const json_t *filters, struct strata_container *c, const struct strata_container_state *st)
{
	const json_t *list;
	const char *key;

	json_object_foreach((json_t *)filters, key, list) {
		if (!json_array_size(list))
			continue;
		if (!strcmp(key, "status") && !in_values(list, cli_container_state_name(st)))
			return false;
		if (!strcmp(key, "name") && !prefix_in(list, strata_container_name(c)))
			return false;
		if (!strcmp(key, "id") && !prefix_in(list, strata_container_id(c)))
			return false;
		if (!strcmp(key, "ancestor") && !in_values(list, strata_container_image(c)) &&
		    !in_values(list, strata_container_image_id(c)))
			return false;
		if (!strcmp(key, "exited")) {
			char code[16];

			snprintf(code, sizeof(code), "%d", st->exit_code);
			if (!st->started_at || st->running || !in_values(list, code))
				return false;
		}
	}
	return true;
}

json_t *api_container_summaries(struct strata_store *store, const json_t *filters, bool all, long long limit,
				bool size, struct strata_error **err)
{
	struct strata_container **v = NULL;
	json_t *out;
	size_t nr = 0;

	if (strata_container_list(store, &v, &nr, err) < 0)
		return NULL;
	out = json_array();
	for (size_t i = 0; i < nr; i++) {
		struct strata_container_state st;
		json_t *row;

		if (limit > 0 && (long long)json_array_size(out) >= limit)
			break;
		strata_container_state(v[i], &st);
		/* dockerd: a limit or a status filter lists stopped ones too */
		if ((!all && limit <= 0 && !st.running && !json_array_size(json_object_get(filters, "status"))) ||
		    (filters && !wanted(filters, v[i], &st)))
			continue;
		row = summary(v[i], &st, size);
		if (row)
			json_array_append_new(out, row);
	}
	strata_container_list_free(v, nr);
	return out;
}

static void containers_json(struct api_request *req)
{
	_cleanup_json_ json_t *filters = api_query_filters(req);
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	long long limit;
	json_t *out;

	if (!filters || !api_query_int(req, "limit", -1, &limit) || !api_open_store(req, false, &store))
		return;
	out = api_container_summaries(store, filters, api_query_bool(req, "all"), limit, api_query_bool(req, "size"),
				      &err);
	if (!out)
		api_reply_strata_error(req, err);
	else
		api_reply_json(req, 200, out);
	strata_store_free(store);
}

static void container_inspect(struct api_request *req)
{
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;
	_cleanup_free_ char *text = NULL;

	if (!open_container(req, false, &store, &c))
		return;
	if (strata_container_inspect(c, api_query_bool(req, "size"), &text, &err) < 0)
		api_reply_strata_error(req, err);
	else
		api_reply_data(req, 200, "application/json", text, strlen(text));
	strata_container_free(c);
	strata_store_free(store);
}

static void add_change(void *cookie, char kind, const char *path)
{
	json_array_append_new(cookie, json_pack("{s:s,s:i}", "Path", path, "Kind",
						kind == 'C' ? 0 : kind == 'A' ? 1 : 2));
}

static void container_changes(struct api_request *req)
{
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;
	json_t *list = json_array();

	if (!open_container(req, false, &store, &c)) {
		json_decref(list);
		return;
	}
	if (strata_container_changes(c, add_change, list, &err) < 0) {
		json_decref(list);
		api_reply_strata_error(req, err);
	} else {
		api_reply_json(req, 200, list);
	}
	strata_container_free(c);
	strata_store_free(store);
}

static int export_to(void *cookie, int fd, struct strata_error **err)
{
	return strata_container_export(cookie, fd, err);
}

static void container_export(struct api_request *req)
{
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;

	if (!open_container(req, false, &store, &c))
		return;
	/* the tar begins at once: a failure can only cut it short */
	api_stream_begin(req, 200, "application/x-tar");
	if (api_stream_from_writer(req, "application/x-tar", export_to, c, &err) < 0)
		strata_error_free(err);
	strata_container_free(c);
	strata_store_free(store);
}

/* ---- commit and prune ---- */

static void commit(struct api_request *req)
{
	_cleanup_json_ json_t *body = api_body_object(req, "container.Config", NULL);
	const char *repo = api_query(req, "repo"), *tag = api_query(req, "tag"), *name = api_query(req, "container");
	_cleanup_strbuf_ struct strbuf ref = STRBUF_INIT;
	struct strata_commit_options o = { 0 };
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;
	const char *changes[1];
	char id[72];

	if (!body)
		return;
	if (!name || !*name) {
		api_reply_error(req, 404, "No such container: ");
		return;
	}
	if (repo && *repo) {
		strbuf_addstr(&ref, repo);
		if (tag && *tag)
			strbuf_addf(&ref, ":%s", tag);
		o.ref = ref.buf;
	}
	if (api_query(req, "changes") && *api_query(req, "changes")) {
		changes[0] = api_query(req, "changes");
		o.changes = changes;
		o.nr_changes = 1;
	}
	o.author = api_query(req, "author");
	o.message = api_query(req, "comment");
	if (!api_open_images(req, true, &store, &idx))
		return;
	if (strata_container_open(store, name, &c, &err) < 0 || strata_container_commit(idx, c, &o, id, &err) < 0) {
		api_reply_strata_error(req, err);
	} else {
		api_event(req, "container", "commit", strata_container_id(c), container_event_attrs(c));
		api_reply_json(req, 201, json_pack("{s:s}", "Id", id));
	}
	strata_container_free(c);
	strata_image_index_free(idx);
	strata_store_free(store);
}

struct pruned {
	struct api_request *req;
	json_t *ids;
};

static void add_pruned(void *cookie, const char *id)
{
	struct pruned *p = cookie;

	api_event(p->req, "container", "destroy", id, NULL);
	json_array_append_new(p->ids, json_string(id));
}

static void containers_prune(struct api_request *req)
{
	struct pruned p = { req, json_array() };
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	uint64_t reclaimed = 0;

	if (!api_open_store(req, true, &store)) {
		json_decref(p.ids);
		return;
	}
	if (strata_container_prune(store, add_pruned, &p, &reclaimed, &err) < 0) {
		json_decref(p.ids);
		api_reply_strata_error(req, err);
	} else {
		/* dockerd: null, not [], when nothing went */
		if (!json_array_size(p.ids)) {
			json_decref(p.ids);
			p.ids = json_null();
		}
		api_reply_json(req, 200,
			       json_pack("{s:o,s:I}", "ContainersDeleted", p.ids, "SpaceReclaimed", (json_int_t)reclaimed));
	}
	strata_store_free(store);
}

const struct api_route api_container_routes[] = {
	{ "POST", "/containers/create", containers_create, API_BODY },
	{ "GET", "/containers/json", containers_json, 0 },
	{ "POST", "/containers/prune", containers_prune, 0 },
	{ "POST", "/commit", commit, API_BODY },
	{ "GET", "/containers/{name}/json", container_inspect, 0 },
	{ "GET", "/containers/{name}/logs", container_logs, API_STREAM },
	{ "GET", "/containers/{name}/changes", container_changes, 0 },
	{ "GET", "/containers/{name}/export", container_export, API_STREAM },
	{ "POST", "/containers/{name}/start", container_start, 0 },
	{ "POST", "/containers/{name}/stop", container_stop, 0 },
	{ "POST", "/containers/{name}/kill", container_kill, 0 },
	{ "POST", "/containers/{name}/wait", container_wait, API_STREAM },
	{ "POST", "/containers/{name}/attach", container_attach, 0 },
	{ "POST", "/containers/{name}/resize", container_resize, 0 },
	{ "DELETE", "/containers/{name}", container_delete, 0 },
	{ NULL },
};
