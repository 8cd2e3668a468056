/*
 * strata serve: the listeners (-H unix://, tcp:// on loopback, fd:// from
 * systemd) and the libmicrohttpd daemon that hands each request to its
 * route.  One thread per connection, so a slow request never holds up
 * another; API_STREAM handlers get a thread of their own (api.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>

#include "serve/internal.h"
#include "serve/server.h"
#include "strata/image.h"
#include "util/alloc.h"
#include "util/cleanup.h"

#define DEFAULT_HOST "unix:///run/strata.sock"

struct listener {
	int fd;
	char *unix_path; /* removed at exit */
	struct MHD_Daemon *daemon;
};

/* ---- listeners ---- */

static int bind_unix(const char *path, gid_t gid, bool chown_group, struct listener *l,
		     struct strata_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "unix socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		/* a socket left by a server that died is replaced; one that answers,
		 * or anything that is not a socket, is not touched */
		if (!S_ISSOCK(st.st_mode))
			return strata_error_set(err, STRATA_ERR_EXISTS, 0, "%s exists and is not a socket", path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return strata_error_set(err, STRATA_ERR_BUSY, 0, "another server is listening on %s", path);
		}
		if (fd >= 0)
			close(fd);
		if (unlink(path) < 0)
			return strata_error_set(err, STRATA_ERR_IO, errno, "remove stale socket %s", path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return strata_error_set(err, STRATA_ERR_IO, e, "listen on %s", path);
	}
	l->fd = fd;
	l->unix_path = xstrdup(path);
	/* dockerd's socket: 0660, root and the docker group */
	if (chmod(path, 0660) < 0 || (chown_group && chown(path, 0, gid) < 0))
		return strata_error_set(err, STRATA_ERR_IO, errno, "set the owner and mode of %s", path);
	if (listen(fd, 128) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "listen on %s", path);
	return 0;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

static int bind_tcp(const char *hostport, struct listener *l, struct strata_error **err)
{
	_cleanup_free_ char *host = NULL;
	const char *port, *colon = strrchr(hostport, ':');
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *res = NULL;
	int fd, rc, one = 1;

	if (!colon || !colon[1])
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid bind address format: tcp://%s", hostport);
	port = colon + 1;
	if (hostport[0] == '[' && colon > hostport && colon[-1] == ']')
		host = xstrndup(hostport + 1, (size_t)(colon - hostport - 2));
	else
		host = xstrndup(hostport, (size_t)(colon - hostport));
	if (!*host)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"tcp://%s: only loopback addresses are served (there is no TLS)", hostport);
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "tcp://%s: %s", hostport, gai_strerror(rc));
	/* without TLS, anyone who can reach the port owns the store: loopback only */
	if (!is_loopback(res->ai_addr)) {
		freeaddrinfo(res);
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"tcp://%s: only loopback addresses are served (there is no TLS)", hostport);
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(res);
		return strata_error_set(err, STRATA_ERR_IO, errno, "socket");
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	l->fd = fd;
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		freeaddrinfo(res);
		return strata_error_set(err, STRATA_ERR_IO, errno, "listen on tcp://%s", hostport);
	}
	freeaddrinfo(res);
	return 0;
}

/* systemd's socket activation: LISTEN_PID is us, LISTEN_FDS descriptors from 3 */
static int add_fds(const char *which, struct listener **ls, size_t *nr, size_t *alloc,
		   struct strata_error **err)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end;
	long n, want = -1;

	if (!pid || !fds || strtol(pid, NULL, 10) != (long)getpid())
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"fd://%s: no sockets found via socket activation: make sure the service was started by systemd",
					which);
	n = strtol(fds, &end, 10);
	if (*end || n <= 0)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "fd://%s: LISTEN_FDS=%s", which, fds);
	if (*which) {
		want = strtol(which, &end, 10);
		if (*end || want < 3 || want >= 3 + n)
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "fd://%s: not an activated socket", which);
	}
	for (long fd = 3; fd < 3 + n; fd++) {
		if (want >= 0 && fd != want)
			continue;
		ALLOC_GROW(*ls, *nr + 1, *alloc);
		(*ls)[(*nr)++] = (struct listener){ .fd = (int)fd };
	}
	return 0;
}

static int open_listeners(const struct serve_options *opts, struct listener **out, size_t *nr_out,
			  struct strata_error **err)
{
	static const char *const default_hosts[] = { DEFAULT_HOST };
	const char *const *hosts = opts->nr_hosts ? opts->hosts : default_hosts;
	size_t nr_hosts = opts->nr_hosts ? opts->nr_hosts : 1, nr = 0, alloc = 0;
	struct listener *ls = NULL;
	bool chown_group = false;
	gid_t gid = 0;
	int ret = 0;

	if (opts->group && *opts->group) {
		struct group *g = getgrnam(opts->group);

		if (g) {
			gid = g->gr_gid;
			chown_group = true;
		} else if (opts->group_explicit) {
			return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "group %s not found", opts->group);
		}
	}
	for (size_t i = 0; i < nr_hosts && ret >= 0; i++) {
		const char *h = hosts[i];

		if (!strncmp(h, "fd://", 5)) {
			ret = add_fds(h + 5, &ls, &nr, &alloc, err);
			continue;
		}
		ALLOC_GROW(ls, nr + 1, alloc);
		ls[nr] = (struct listener){ .fd = -1 };
		if (!strncmp(h, "unix://", 7))
			ret = bind_unix(h + 7, gid, chown_group, &ls[nr], err);
		else if (!strncmp(h, "tcp://", 6))
			ret = bind_tcp(h + 6, &ls[nr], err);
		else
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid bind address format: %s", h);
		nr++;
	}
	*out = ls;
	*nr_out = nr;
	return ret;
}

static void close_listeners(struct listener *ls, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		if (ls[i].daemon)
			MHD_stop_daemon(ls[i].daemon);
		if (ls[i].fd >= 0)
			close(ls[i].fd);
		if (ls[i].unix_path)
			unlink(ls[i].unix_path);
		free(ls[i].unix_path);
	}
	free(ls);
}

/* ---- requests ---- */

static void request_unref(struct api_request *req)
{
	struct request_state *rs = req->priv;

	if (atomic_fetch_sub(&rs->refs, 1) != 1)
		return;
	api_request_release(req);
}

static void *stream_worker(void *arg)
{
	struct api_request *req = arg;
	struct request_state *rs = req->priv;

	rs->route->handler(req);
	reply_finish(req);
	if (req->body_fd >= 0) {
		close(req->body_fd);
		req->body_fd = -1;
	}
	atomic_fetch_sub(&rs->server->workers, 1);
	request_unref(req);
	return NULL;
}

static bool start_worker(struct api_request *req)
{
	struct request_state *rs = req->priv;
	pthread_attr_t attr;
	pthread_t tid;
	int fds[2] = { -1, -1 };
	bool ok;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return false;
	req->body_fd = fds[0];
	rs->body_write = fds[1];
	atomic_fetch_add(&rs->refs, 1);
	atomic_fetch_add(&rs->server->workers, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ok = pthread_create(&tid, &attr, stream_worker, req) == 0;
	pthread_attr_destroy(&attr);
	if (!ok) {
		atomic_fetch_sub(&rs->server->workers, 1);
		atomic_fetch_sub(&rs->refs, 1);
		close(fds[0]);
		close(fds[1]);
		req->body_fd = rs->body_write = -1;
	}
	return ok;
}

static void close_body(struct request_state *rs)
{
	if (rs->body_write >= 0) {
		close(rs->body_write);
		rs->body_write = -1;
	}
}

/* Feed a chunk of the body to the handler's pipe; once the handler stopped reading, drop the rest. */
static void feed_body(struct request_state *rs, const char *data, size_t len)
{
	while (len && rs->body_write >= 0) {
		ssize_t n = write(rs->body_write, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close_body(rs);
			return;
		}
		data += n;
		len -= (size_t)n;
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *http_version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct api_server *srv = cls;
	struct api_request *req = *con_cls;
	struct request_state *rs;

	if (!req) {
		req = api_request_new(srv, conn, method, url);
		*con_cls = req;
		rs = req->priv;
		if (rs->route && (rs->route->flags & API_BODY)) {
			const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

			if (cl && strtoull(cl, NULL, 10) > API_BODY_MAX) {
				api_reply_error(req, 413, "request body larger than %d bytes", API_BODY_MAX);
				rs->route = NULL;
			}
		}
		if (!rs->route) {
			/* answered already (404, bad version, too large): say so now
			 * rather than after a body nobody will read */
			rs->queued = true;
			reply_finish(req);
			return reply_queue(req, conn);
		}
		if ((rs->route->flags & API_STREAM) && !start_worker(req))
			api_reply_error(req, 500, "cannot start a thread: %s", strerror(errno));
		return MHD_YES;
	}
	rs = req->priv;
	if (*upload_size) {
		if (rs->route && (rs->route->flags & API_STREAM))
			feed_body(rs, upload, *upload_size);
		else if (rs->route && (rs->route->flags & API_BODY) && !rs->too_large) {
			if (rs->body.len + *upload_size > API_BODY_MAX)
				rs->too_large = true;
			else
				strbuf_add(&rs->body, upload, *upload_size);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rs->queued)
		return MHD_YES;
	rs->queued = true;
	close_body(rs);
	if (rs->route && !(rs->route->flags & API_STREAM)) {
		if (rs->too_large) {
			api_reply_error(req, 413, "request body larger than %d bytes", API_BODY_MAX);
		} else {
			req->body = rs->body.buf;
			req->body_len = rs->body.len;
			rs->route->handler(req);
		}
		reply_finish(req);
	}
	return reply_queue(req, conn);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	struct api_request *req = *con_cls;
	struct request_state *rs;

	if (!req)
		return;
	rs = req->priv;
	if (why != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		strata_cancel_request(req->cancel);
	close_body(rs);
	*con_cls = NULL;
	request_unref(req);
}

/* ---- the server ---- */

int serve_run(struct cli_ctx *cli, const struct serve_options *opts, struct strata_error **err)
{
	struct api_server srv = { .cli = cli, .images = strata_image_cache_new() };
	struct listener *ls = NULL;
	size_t nr = 0;
	sigset_t stop;
	int sig, ret;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	/* every thread the daemons start inherits the mask: the signals reach sigwait */
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	/* a client that goes away mid-answer is a failed write, not a signal */
	signal(SIGPIPE, SIG_IGN);
	atomic_init(&srv.workers, 0);
	api_events_init(&srv);
	api_containers_init(&srv);
	ret = open_listeners(opts, &ls, &nr, err);
	for (size_t i = 0; ret >= 0 && i < nr; i++) {
		ls[i].daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
							MHD_USE_POLL | MHD_ALLOW_UPGRADE,
						0, NULL, NULL, on_request, &srv,
						MHD_OPTION_LISTEN_SOCKET, (MHD_socket)ls[i].fd,
						MHD_OPTION_NOTIFY_COMPLETED, on_completed, &srv,
						MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0,
						MHD_OPTION_END);
		if (!ls[i].daemon)
			ret = strata_error_set(err, STRATA_ERR_IO, errno, "start the HTTP server");
		else
			ls[i].fd = -1; /* the daemon closes it */
	}
	if (ret >= 0) {
		while (sigwait(&stop, &sig) != 0)
			;
	}
	close_listeners(ls, nr);
	/* handlers still running were cancelled with their connections: let them clean up */
	for (int i = 0; i < 100 && atomic_load(&srv.workers) > 0; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 50000000 }, NULL);
	api_containers_release(&srv);
	api_events_release(&srv);
	strata_image_cache_free(srv.images);
	return ret;
}
