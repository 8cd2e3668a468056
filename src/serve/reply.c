/*
 * Answers: a buffered body, a stream written while the handler runs (with
 * back-pressure, so a save of gigabytes holds a bounded buffer), or an
 * upgraded raw connection; the headers every dockerd answer carries; the
 * JSON message stream the docker CLI draws progress from.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json/gojson.h"
#include "serve/internal.h"
#include "strata/strata.h"
#include "util/alloc.h"
#include "util/cleanup.h"

/* what a stream buffers before its writer waits for the client */
#define STREAM_BUFFER (1 << 20)
/* how often a stream that waits for output looks whether the client is still there */
#define HANGUP_POLL_NS 200000000L

static struct request_state *state(struct api_request *req)
{
	return req->priv;
}

void api_reply_header(struct api_request *req, const char *name, const char *value)
{
	struct request_state *rs = state(req);

	pthread_mutex_lock(&rs->lock);
	ALLOC_GROW(rs->headers, rs->nr_headers + 1, rs->alloc_headers);
	rs->headers[rs->nr_headers].name = xstrdup(name);
	rs->headers[rs->nr_headers++].value = xstrdup(value);
	pthread_mutex_unlock(&rs->lock);
}

/* Set the reply once; a second answer is a handler's bug and is dropped. */
static bool set_reply(struct request_state *rs, enum reply_kind kind, unsigned status, const char *ctype)
{
	if (rs->kind != REPLY_NONE)
		return false;
	rs->kind = kind;
	rs->status = status;
	free(rs->content_type);
	rs->content_type = ctype ? xstrdup(ctype) : NULL;
	pthread_cond_broadcast(&rs->cond);
	return true;
}

void api_reply_data(struct api_request *req, unsigned status, const char *content_type, const void *data,
		    size_t len)
{
	struct request_state *rs = state(req);

	pthread_mutex_lock(&rs->lock);
	if (set_reply(rs, REPLY_DATA, status, content_type)) {
		strbuf_setlen(&rs->data, 0);
		strbuf_add(&rs->data, data, len);
	}
	pthread_mutex_unlock(&rs->lock);
}

void api_reply_json(struct api_request *req, unsigned status, json_t *body)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	/* json.NewEncoder(w).Encode(v): compact, Go's escapes, a newline */
	gojson_encode(&sb, body, 0);
	strbuf_addch(&sb, '\n');
	json_decref(body);
	api_reply_data(req, status, "application/json", sb.buf, sb.len);
}

void api_reply_empty(struct api_request *req, unsigned status)
{
	api_reply_data(req, status, NULL, "", 0);
}

void api_reply_error(struct api_request *req, unsigned status, const char *fmt, ...)
{
	_cleanup_strbuf_ struct strbuf msg = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	api_reply_json(req, status, json_pack("{s:s}", "message", msg.buf));
}

unsigned api_status_of(enum strata_errcode code)
{
	switch (code) {
	case STRATA_ERR_NOT_FOUND:
		return 404;
	case STRATA_ERR_EXISTS:
	case STRATA_ERR_CONFLICT:
	case STRATA_ERR_BUSY:
		return 409;
	case STRATA_ERR_INVALID:
	case STRATA_ERR_UNSAFE_PATH:
	case STRATA_ERR_TOO_LARGE:
	case STRATA_ERR_DIGEST_MISMATCH:
	case STRATA_ERR_UNSUPPORTED:
		return 400;
	case STRATA_ERR_AUTH:
		return 401;
	default:
		return 500;
	}
}

void api_reply_strata_error(struct api_request *req, struct strata_error *err)
{
	if (!err) {
		api_reply_error(req, 500, "unknown error");
		return;
	}
	api_reply_error(req, api_status_of(err->code), "%s", err->msg);
	strata_error_free(err);
}

void api_reply_upgrade(struct api_request *req, const char *content_type, api_upgrade_fn fn, void *cookie,
		       void (*free_cookie)(void *cookie))
{
	struct request_state *rs = state(req);

	pthread_mutex_lock(&rs->lock);
	if (set_reply(rs, REPLY_UPGRADE, MHD_HTTP_SWITCHING_PROTOCOLS, content_type)) {
		rs->upgrade = fn;
		rs->upgrade_cookie = cookie;
		rs->upgrade_free = free_cookie;
	} else if (free_cookie) {
		free_cookie(cookie);
	}
	pthread_mutex_unlock(&rs->lock);
}

void reply_finish(struct api_request *req)
{
	struct request_state *rs = state(req);

	if (!api_answered(req))
		api_reply_error(req, 500, "%s %s gave no answer", req->method, req->path);
	pthread_mutex_lock(&rs->lock);
	rs->finished = true;
	pthread_cond_broadcast(&rs->cond);
	pthread_mutex_unlock(&rs->lock);
}

void reply_gone(struct api_request *req)
{
	struct request_state *rs = state(req);

	pthread_mutex_lock(&rs->lock);
	rs->gone = true;
	pthread_cond_broadcast(&rs->cond);
	pthread_mutex_unlock(&rs->lock);
	strata_cancel_request(req->cancel);
}

/* ---- streams ---- */

void api_stream_begin(struct api_request *req, unsigned status, const char *content_type)
{
	struct request_state *rs = state(req);

	pthread_mutex_lock(&rs->lock);
	set_reply(rs, REPLY_STREAM, status, content_type);
	pthread_mutex_unlock(&rs->lock);
}

bool api_answered(struct api_request *req)
{
	struct request_state *rs = state(req);
	bool answered;

	pthread_mutex_lock(&rs->lock);
	answered = rs->kind != REPLY_NONE;
	pthread_mutex_unlock(&rs->lock);
	return answered;
}

struct fd_writer_job {
	api_fd_writer writer;
	void *cookie;
	int fd;
	int ret;
	struct strata_error *err;
};

static void *fd_writer_thread(void *arg)
{
	struct fd_writer_job *j = arg;

	j->ret = j->writer(j->cookie, j->fd, &j->err);
	close(j->fd);
	return NULL;
}

int api_stream_from_writer(struct api_request *req, const char *content_type, api_fd_writer writer, void *cookie,
			   struct strata_error **err)
{
	struct fd_writer_job j = { writer, cookie, -1, 0, NULL };
	pthread_t thread;
	int fds[2];
	char buf[65536];

	if (pipe2(fds, O_CLOEXEC) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "pipe");
	j.fd = fds[1];
	if (pthread_create(&thread, NULL, fd_writer_thread, &j) != 0) {
		close(fds[0]);
		close(fds[1]);
		return strata_error_set(err, STRATA_ERR_IO, 0, "cannot start a thread");
	}
	/* the stream's buffer is bounded: a slow client holds the writer back through the pipe */
	for (;;) {
		ssize_t n = read(fds[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		api_stream_begin(req, 200, content_type);
		if (!api_stream_write(req, buf, (size_t)n))
			break;
	}
	close(fds[0]);
	pthread_join(thread, NULL);
	if (j.ret < 0)
		return strata_error_propagate(err, j.err);
	return 0;
}

bool api_stream_write(struct api_request *req, const void *data, size_t len)
{
	struct request_state *rs = state(req);
	bool ok;

	pthread_mutex_lock(&rs->lock);
	while (!rs->gone && rs->kind == REPLY_STREAM && rs->data.len - rs->sent > STREAM_BUFFER)
		pthread_cond_wait(&rs->cond, &rs->lock);
	ok = !rs->gone && rs->kind == REPLY_STREAM;
	if (ok) {
		strbuf_add(&rs->data, data, len);
		pthread_cond_broadcast(&rs->cond);
	}
	pthread_mutex_unlock(&rs->lock);
	return ok;
}

bool api_stream_json(struct api_request *req, json_t *msg)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	/* dockerd's jsonmessage stream: one compact object and "\r\n" each */
	gojson_encode(&sb, msg, 0);
	strbuf_addstr(&sb, "\r\n");
	json_decref(msg);
	return api_stream_write(req, sb.buf, sb.len);
}

bool api_stream_status(struct api_request *req, const char *id, const char *status)
{
	json_t *m = json_pack("{s:s}", "status", status);

	if (id && *id)
		json_object_set_new(m, "id", json_string(id));
	return api_stream_json(req, m);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

bool api_stream_progress(struct api_request *req, const char *id, const char *action, int64_t current,
			 int64_t total)
{
	struct request_state *rs = state(req);
	_cleanup_strbuf_ struct strbuf bar = STRBUF_INIT;
	json_t *detail = json_object(), *m;
	int64_t start = 0;
	const char *key = id ? id : "";

	for (size_t i = 0; i < rs->nr_starts && !start; i++)
		if (!strcmp(rs->starts[i].id, key))
			start = rs->starts[i].ns;
	if (!start) {
		start = now_ns();
		ALLOC_GROW(rs->starts, rs->nr_starts + 1, rs->alloc_starts);
		rs->starts[rs->nr_starts++] = (struct progress_start){ xstrdup(key), start };
	}
	json_object_set_new(detail, "current", json_integer(current));
	if (total > 0)
		json_object_set_new(detail, "total", json_integer(total));
	/* the daemon's JSONProgress.String() has no terminal: 200 columns */
	cli_progress_string(&bar, 200, current, total, now_ns() - start);
	m = json_pack("{s:s,s:o,s:s}", "status", action, "progressDetail", detail, "progress", bar.buf);
	if (id && *id)
		json_object_set_new(m, "id", json_string(id));
	return api_stream_json(req, m);
}

bool api_stream_text(struct api_request *req, const char *text, size_t len)
{
	return api_stream_json(req, json_pack("{s:s%}", "stream", text, len));
}

bool api_stream_error(struct api_request *req, const char *message)
{
	return api_stream_json(req, json_pack("{s:{s:s},s:s}", "errorDetail", "message", message, "error", message));
}

bool api_stream_aux(struct api_request *req, json_t *aux)
{
	return api_stream_json(req, json_pack("{s:o}", "aux", aux));
}

static bool client_hung_up(struct request_state *rs)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(rs->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct pollfd p;

	if (!ci)
		return false;
	p = (struct pollfd){ .fd = ci->connect_fd, .events = POLLRDHUP };
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct api_request *req = cls;
	struct request_state *rs = state(req);
	ssize_t n;

	pthread_mutex_lock(&rs->lock);
	while (rs->data.len == rs->sent && !rs->finished && !rs->gone) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += HANGUP_POLL_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&rs->cond, &rs->lock, &until) == ETIMEDOUT && client_hung_up(rs)) {
			pthread_mutex_unlock(&rs->lock);
			reply_gone(req);
			pthread_mutex_lock(&rs->lock);
		}
	}
	if (rs->data.len > rs->sent) {
		size_t avail = rs->data.len - rs->sent;

		n = (ssize_t)(avail < max ? avail : max);
		memcpy(buf, rs->data.buf + rs->sent, (size_t)n);
		rs->sent += (size_t)n;
		if (rs->sent == rs->data.len) {
			strbuf_setlen(&rs->data, 0);
			rs->sent = 0;
		}
		pthread_cond_broadcast(&rs->cond);
	} else {
		n = rs->gone ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
	}
	pthread_mutex_unlock(&rs->lock);
	return n;
}

static void stream_free(void *cls)
{
	struct api_request *req = cls;
	struct request_state *rs = state(req);
	bool finished;

	pthread_mutex_lock(&rs->lock);
	finished = rs->finished && rs->data.len == rs->sent;
	pthread_mutex_unlock(&rs->lock);
	if (!finished)
		reply_gone(req);
	if (atomic_fetch_sub(&rs->refs, 1) == 1)
		api_request_release(req);
}

static void upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra, size_t extra_len,
		     MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct api_request *req = cls;
	struct request_state *rs = state(req);

	rs->upgrade(rs->upgrade_cookie, sock, extra, extra_len);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

static void add_common_headers(struct MHD_Response *resp, const struct request_state *rs)
{
	_cleanup_free_ char *server = NULL;

	/* what dockerd's middlewares put on every answer */
	if (asprintf(&server, "strata/%s (linux)", strata_version()) > 0)
		MHD_add_response_header(resp, "Server", server);
	MHD_add_response_header(resp, "Api-Version", "1.41");
	MHD_add_response_header(resp, "Docker-Experimental", "false");
	MHD_add_response_header(resp, "Ostype", "linux");
	if (rs->content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
	for (size_t i = 0; i < rs->nr_headers; i++)
		MHD_add_response_header(resp, rs->headers[i].name, rs->headers[i].value);
}

enum MHD_Result reply_queue(struct api_request *req, struct MHD_Connection *conn)
{
	struct request_state *rs = state(req);
	struct MHD_Response *resp = NULL;
	enum MHD_Result ret;

	pthread_mutex_lock(&rs->lock);
	while (rs->kind == REPLY_NONE && !rs->finished)
		pthread_cond_wait(&rs->cond, &rs->lock);
	switch (rs->kind) {
	case REPLY_STREAM:
		atomic_fetch_add(&rs->refs, 1);
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, req, stream_free);
		if (!resp)
			atomic_fetch_sub(&rs->refs, 1);
		break;
	case REPLY_UPGRADE:
		resp = MHD_create_response_for_upgrade(upgraded, req);
		if (resp) {
			MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "tcp");
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "Upgrade");
		}
		break;
	default: {
		/* handed over, not copied: a listing of 1,000 images is ~400 KB */
		size_t len = rs->data.len;
		char *buf = strbuf_detach(&rs->data, NULL);

		resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(buf);
		break;
	}
	}
	if (!resp) {
		pthread_mutex_unlock(&rs->lock);
		return MHD_NO;
	}
	add_common_headers(resp, rs);
	pthread_mutex_unlock(&rs->lock);
	ret = MHD_queue_response(conn, rs->status, resp);
	MHD_destroy_response(resp);
	return ret;
}
