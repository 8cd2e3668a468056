/* Mounting a container's root and running its process in the foreground, logging as json-file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/container-private.h"
#include "container/etcfiles.h"
#include "digest/digest.h"
#include "driver/driver.h"
#include "json/gojson.h"
#include "runtime/oci.h"
#include "runtime/spec.h"
#include "runtime/user.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/gotime.h"
#include "util/safepath.h"
#include "util/strbuf.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define LOG_LINE_MAX 16384 /* dockerd's copier splits longer lines */
#define HOST_RESOLV_CONF "/etc/resolv.conf"

int container_mount(struct container *c, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	struct graph_driver *d;
	int ret;

	if (c->rootfs)
		return 0;
	ret = store_driver(c->store, &d, err);
	if (ret >= 0)
		ret = graph_driver_get(d, c->mount_id, &path, err);
	if (ret < 0)
		return strata_error_wrap(err, "container %s", c->id);
	c->rootfs = strbuf_detach(&path, NULL);
	return 0;
}

int container_unmount(struct container *c, struct strata_error **err)
{
	struct graph_driver *d;
	int ret;

	if (!c->rootfs)
		return 0;
	ret = store_driver(c->store, &d, err);
	if (ret >= 0)
		ret = graph_driver_put(d, c->mount_id, err);
	if (ret < 0)
		return strata_error_wrap(err, "container %s", c->id);
	free(c->rootfs);
	c->rootfs = NULL;
	return 0;
}

int container_kill(struct container *c, int sig, struct strata_error **err)
{
	return runtime_kill(runtime_default(), c->id, sig, err);
}

/* ---- files written at start ---- */

/* libnetwork's FilterResolvDNS: no localhost or IPv6 nameserver, Google's when none is left */
static void filter_resolv_conf(const char *in, struct strbuf *out)
{
	bool any = false;

	for (const char *line = in; *line;) {
		const char *nl = strchr(line, '\n'), *end = nl ? nl : line + strlen(line), *p = line;
		bool drop = false;

		if (!strncmp(p, "nameserver", 10) && (p[10] == ' ' || p[10] == '\t')) {
			p += 10;
			while (*p == ' ' || *p == '\t')
				p++;
			drop = !strncmp(p, "127.", 4) || strchr(p, ':') < end;
			if (!drop)
				any = true;
		}
		if (drop) {
			/* the regexp also eats the newlines that follow */
			line = end;
			while (*line == '\n')
				line++;
			continue;
		}
		strbuf_add(out, line, (size_t)(end - line) + (nl ? 1 : 0));
		line = nl ? nl + 1 : end;
	}
	if (!any)
		strbuf_addstr(out, "\nnameserver 8.8.8.8\nnameserver 8.8.4.4");
}

static int write_resolv_conf(int dfd, bool host_network, struct strata_error **err)
{
	_cleanup_free_ char *host = NULL;
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT, hash = STRBUF_INIT;
	char hex[STRATA_HEX_LEN + 1];
	struct strata_error *e = NULL;
	size_t len;
	int ret = fs_read_file_at(AT_FDCWD, HOST_RESOLV_CONF, 1u << 20, &host, &len, &e);

	if (ret < 0) {
		/* a host without one gives the container an empty one, as dockerd */
		strata_error_free(e);
		host = xstrdup("");
	}
	if (host_network)
		strbuf_addstr(&out, host);
	else
		filter_resolv_conf(host, &out);
	ret = fs_write_file_atomic_at(dfd, "resolv.conf", out.buf, out.len, 0644, err);
	if (ret < 0)
		return ret;
	sha256_hex(out.buf, out.len, hex);
	strbuf_addf(&hash, "sha256:%s", hex);
	return fs_write_file_atomic_at(dfd, "resolv.conf.hash", hash.buf, hash.len, 0644, err);
}

/* dockerd's SetupWorkingDirectory: WorkingDir created (0755, root) inside the root */
static int make_workdir(int rootfd, const char *dir, struct strata_error **err)
{
	_cleanup_free_ char *clean = NULL;
	_cleanup_close_ int pfd = -1;
	const char *last;
	struct stat st;
	int ret = safepath_clean(dir, &clean, "working directory", err);

	if (ret < 0 || !*clean)
		return ret;
	pfd = safepath_open_parent(rootfd, clean, 0755, &last, err);
	if (pfd < 0)
		return pfd;
	if (mkdirat(pfd, last, 0755) < 0 && errno != EEXIST)
		return strata_error_set(err, fs_errcode(errno), errno, "create working directory %s", dir);
	if (fstatat(pfd, last, &st, 0) < 0 || !S_ISDIR(st.st_mode))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "Cannot mkdir: %s is not a directory", dir);
	return 0;
}

/* ---- the process ---- */

/* dockerd's CreateDaemonEnvironment: PATH, HOSTNAME (TERM), then Config.Env replacing or appending */
static char **process_env(const json_t *config)
{
	json_t *env = json_object_get(config, "Env"), *v;
	const char *host = gojson_get_string(config, "Hostname");
	size_t n = 0, i, cap = json_array_size(env) + 4;
	char **out = xcalloc(cap, sizeof(*out));

	out[n++] = xstrdup("PATH=" DEFAULT_PATH);
	out[n++] = xasprintf("HOSTNAME=%s", host ? host : "");
	if (json_is_true(json_object_get(config, "Tty")))
		out[n++] = xstrdup("TERM=xterm");
	json_array_foreach(env, i, v) {
		const char *kv = json_string_value(v), *eq;
		size_t klen, j;

		if (!kv)
			continue;
		eq = strchr(kv, '=');
		klen = eq ? (size_t)(eq - kv) : strlen(kv);
		for (j = 0; j < n; j++)
			if (!strncmp(out[j], kv, klen) && out[j][klen] == '=')
				break;
		if (j < n) {
			free(out[j]);
			out[j] = xstrdup(kv);
		} else {
			out[n++] = xstrdup(kv);
		}
	}
	return out;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* 0 runnable, 127 not found, 126 not executable: what runc would refuse, found first for docker's codes */
static int find_exec(int rootfd, const char *path, char *const *env)
{
	const char *search = DEFAULT_PATH;

	if (strchr(path, '/')) {
		struct stat st;
		int fd = safepath_open(rootfd, path, O_PATH | O_CLOEXEC, 0, NULL);

		if (fd < 0)
			return 127;
		if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode) || !(st.st_mode & 0111)) {
			close(fd);
			return 126;
		}
		close(fd);
		return 0;
	}
	for (size_t i = 0; env[i]; i++)
		if (!strncmp(env[i], "PATH=", 5))
			search = env[i] + 5;
	for (const char *p = search;;) {
		const char *colon = strchr(p, ':'), *end = colon ? colon : p + strlen(p);
		_cleanup_free_ char *cand = xasprintf("%.*s/%s", (int)(end - p), p, path);
		struct stat st;
		int fd = safepath_open(rootfd, cand, O_PATH | O_CLOEXEC, 0, NULL);

		if (fd >= 0) {
			bool ok = fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode) && (st.st_mode & 0111);

			close(fd);
			if (ok)
				return 0;
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	return 127;
}

/* ---- json-file logging ---- */

struct log_stream {
	int fd;          /* read end of the process's pipe */
	int tee;         /* the caller's fd, -1 none */
	const char *name;
	struct strbuf line;
};

struct logger {
	struct log_stream s[2];
	int log_fd;
	int ret;
	struct strata_error *err;
	pthread_mutex_t lock; /* a Tty container's console thread logs beside the runtime's pipes */
};

static void log_message(struct logger *l, struct log_stream *s, const char *msg, size_t len)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT, now = STRBUF_INIT;

	gotime_format_now(&now);
	strbuf_addstr(&sb, "{\"log\":");
	gojson_encode_string(&sb, msg, len);
	strbuf_addf(&sb, ",\"stream\":\"%s\",\"time\":\"%s\"}\n", s->name, now.buf);
	pthread_mutex_lock(&l->lock);
	if (l->ret >= 0)
		l->ret = fs_write_all(l->log_fd, sb.buf, sb.len, "write the container log", &l->err);
	pthread_mutex_unlock(&l->lock);
}

static void log_flush_lines(struct logger *l, struct log_stream *s, bool all)
{
	size_t start = 0;

	for (size_t i = 0; i < s->line.len; i++)
		if (s->line.buf[i] == '\n' || i + 1 - start >= LOG_LINE_MAX) {
			log_message(l, s, s->line.buf + start, i + 1 - start);
			start = i + 1;
		}
	if (all && start < s->line.len) {
		log_message(l, s, s->line.buf + start, s->line.len - start);
		start = s->line.len;
	}
	memmove(s->line.buf, s->line.buf + start, s->line.len - start);
	strbuf_setlen(&s->line, s->line.len - start);
}

static void *logger_main(void *arg)
{
	struct logger *l = arg;
	int open_streams = 2;

	while (open_streams) {
		struct pollfd p[2];
		int n = 0;

		for (int i = 0; i < 2; i++)
			if (l->s[i].fd >= 0) {
				p[n].fd = l->s[i].fd;
				p[n].events = POLLIN;
				n++;
			}
		if (poll(p, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int k = 0; k < n; k++) {
			struct log_stream *s = l->s[0].fd == p[k].fd ? &l->s[0] : &l->s[1];
			char buf[32768];
			ssize_t r;

			if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(s->fd, buf, sizeof(buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				log_flush_lines(l, s, true);
				close(s->fd);
				s->fd = -1;
				open_streams--;
				continue;
			}
			/* the caller sees the bytes as they come; a caller gone away does not stop the log */
			if (s->tee >= 0)
				fs_write_all(s->tee, buf, (size_t)r, "output", NULL);
			strbuf_add(&s->line, buf, (size_t)r);
			log_flush_lines(l, s, false);
		}
	}
	return NULL;
}

/* ---- a Tty container's pty ---- */

/*
 * The pty master the runtime sent: what the process writes (one stream, as
 * the tty cooks it) logged as stdout and passed to the caller; the
 * caller's input typed into it; the caller's window size copied to it.
 */
struct console {
	const struct container *c;
	struct logger *l;
	struct log_stream s; /* fd: the master, -1 until it came */
	int in_fd;           /* -1: no input (or its end was read) */
	bool in_owned;       /* in_fd is a connection to the control socket, closed here */
	int listen_fd;       /* the control socket (console_socket_name), -1: none */
	const struct container_terminal *term;
	pthread_t thread;
	bool started;
};

/*
 * While a tty container runs, the process holding it (the monitor, or a
 * foreground strata) listens on an abstract unix socket named after the
 * container, so that other processes (strata serve's attach and resize)
 * reach its pty: a connection's first byte says what it is, 'i' (the rest
 * of it is typed in) or 'r' (rows and columns, two bytes each, big-endian;
 * answered with one byte once set).  Only processes of this user connect.
 */
static socklen_t console_socket_name(const struct container *c, struct sockaddr_un *a)
{
	int n;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "strata-console-%s", c->id);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static int console_listen(const struct container *c)
{
	struct sockaddr_un a;
	socklen_t len = console_socket_name(c, &a);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd >= 0 && (bind(fd, (struct sockaddr *)&a, len) < 0 || listen(fd, 8) < 0)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void console_accept(struct console *con)
{
	struct timeval tv = { .tv_sec = 2 };
	struct ucred cr;
	socklen_t crl = sizeof(cr);
	unsigned char m[5];
	int fd = accept4(con->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) < 0 || cr.uid != geteuid() ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 || recv(fd, m, 1, MSG_WAITALL) != 1) {
		close(fd);
		return;
	}
	if (m[0] == 'r') {
		if (recv(fd, m + 1, 4, MSG_WAITALL) == 4) {
			struct winsize ws = { .ws_row = (unsigned short)(m[1] << 8 | m[2]),
					      .ws_col = (unsigned short)(m[3] << 8 | m[4]) };

			ioctl(con->s.fd, TIOCSWINSZ, &ws);
			send(fd, "", 1, MSG_NOSIGNAL);
		}
		close(fd);
	} else if (m[0] == 'i' && (con->in_fd < 0 || con->in_owned)) {
		/* the latest client types in, as the last docker attach does */
		if (con->in_owned)
			close(con->in_fd);
		con->in_fd = fd;
		con->in_owned = true;
	} else {
		close(fd);
	}
}

static void console_copy_size(struct console *con)
{
	struct winsize ws;

	if (con->term && con->term->size_fd >= 0 && ioctl(con->term->size_fd, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_row && ws.ws_col)
		ioctl(con->s.fd, TIOCSWINSZ, &ws);
}

static void *console_main(void *arg)
{
	struct console *con = arg;
	int winch = con->term ? con->term->winch_fd : -1;
	char in[4096], buf[32768];
	size_t in_len = 0, in_off = 0;

	for (;;) {
		/* poll skips negative fds: no input read while some is still to be typed in */
		struct pollfd p[4] = { { .fd = con->s.fd, .events = (short)(POLLIN | (in_len ? POLLOUT : 0)) },
				       { .fd = in_len ? -1 : con->in_fd, .events = POLLIN },
				       { .fd = winch, .events = POLLIN },
				       { .fd = con->listen_fd, .events = POLLIN } };
		ssize_t r;

		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[3].revents & POLLIN)
			console_accept(con);
		if (p[2].revents & POLLIN) {
			char drain[64];

			if (read(winch, drain, sizeof(drain)) <= 0)
				winch = -1;
			console_copy_size(con);
		} else if (p[2].revents) {
			winch = -1;
		}
		if (p[1].revents) {
			r = read(con->in_fd, in, sizeof(in));
			if (r > 0) {
				in_len = (size_t)r;
				in_off = 0;
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				/* as docker with a tty: the end of the input is not passed on */
				if (con->in_owned)
					close(con->in_fd);
				con->in_fd = -1;
				con->in_owned = false;
			}
		}
		if (in_len && (p[0].revents & POLLOUT)) {
			r = write(con->s.fd, in + in_off, in_len - in_off);
			if (r > 0 && (in_off += (size_t)r) == in_len)
				in_len = 0;
			else if (r < 0 && errno != EINTR && errno != EAGAIN)
				in_len = 0;
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = read(con->s.fd, buf, sizeof(buf));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break; /* EIO: every holder of the pty's other end is gone */
		/* a caller gone away does not stop the log */
		if (con->s.tee >= 0)
			fs_write_all(con->s.tee, buf, (size_t)r, "output", NULL);
		strbuf_add(&con->s.line, buf, (size_t)r);
		log_flush_lines(con->l, &con->s, false);
	}
	log_flush_lines(con->l, &con->s, true);
	if (con->in_owned)
		close(con->in_fd);
	if (con->listen_fd >= 0)
		close(con->listen_fd);
	con->listen_fd = -1;
	return NULL;
}

/* runtime_console's callback, in runtime_run while the process runs */
static void console_received(void *cookie, int master)
{
	struct console *con = cookie;
	int fl = fcntl(master, F_GETFL);

	if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0) {
		close(master);
		return;
	}
	con->s.fd = master;
	console_copy_size(con);
	con->listen_fd = console_listen(con->c);
	con->started = pthread_create(&con->thread, NULL, console_main, con) == 0;
	if (!con->started) {
		close(master);
		con->s.fd = -1;
		if (con->listen_fd >= 0)
			close(con->listen_fd);
	}
}

/* ---- state ---- */

static void set_state(struct container *c, const char *key, json_t *v)
{
	json_t *state = json_object_get(c->cfg, "State");

	if (!json_is_object(state)) {
		state = json_object();
		json_object_set_new(c->cfg, "State", state);
	}
	json_object_set_new(state, key, v);
}

static void set_now(struct container *c, const char *key)
{
	_cleanup_strbuf_ struct strbuf now = STRBUF_INIT;

	gotime_format_now(&now);
	set_state(c, key, json_string(now.buf));
}

static int record_start(struct container *c, int dfd, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf base = STRBUF_INIT;

	strbuf_addf(&base, "%s/" LAYOUT_CONTAINERS "/%s", c->store->root, c->id);
	json_object_set_new(c->cfg, "LogPath", json_sprintf("%s/%s-json.log", base.buf, c->id));
	json_object_set_new(c->cfg, "HostnamePath", json_sprintf("%s/hostname", base.buf));
	json_object_set_new(c->cfg, "HostsPath", json_sprintf("%s/hosts", base.buf));
	json_object_set_new(c->cfg, "ResolvConfPath", json_sprintf("%s/resolv.conf", base.buf));
	json_object_set_new(c->cfg, "HasBeenStartedBefore", json_true());
	json_object_set_new(c->cfg, "HasBeenManuallyStopped", json_false());
	set_state(c, "Running", json_true());
	/* the foreground strata holds the process: its pid tells whether it still runs */
	set_state(c, "Pid", json_integer(getpid()));
	set_state(c, "ExitCode", json_integer(0));
	set_state(c, "Error", json_string(""));
	set_now(c, "StartedAt");
	set_state(c, "FinishedAt", json_string("0001-01-01T00:00:00Z"));
	return container_save(c, err);
}

static int record_exit(struct container *c, int status, const char *error, struct strata_error **err)
{
	set_state(c, "Running", json_false());
	set_state(c, "Pid", json_integer(0));
	set_state(c, "ExitCode", json_integer(status));
	set_state(c, "Error", json_string(error ? error : ""));
	set_now(c, "FinishedAt");
	return container_save(c, err);
}

static const char *errmsg(struct strata_error **err)
{
	return err && *err ? (*err)->msg : "";
}

static void bundle_name(struct container *c, struct strbuf *sb)
{
	strbuf_addf(sb, LAYOUT_RUN_BUNDLE_PREFIX "%s", c->id);
}

/* Made before anything is mounted, removed after all is undone: recovery's mark of a run (recover.c). */
static int prepare_bundle(struct container *c, struct strbuf *bundle, bool disposable, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf name = STRBUF_INIT;
	_cleanup_close_ int tfd = -1;
	int ret = fs_mkdir_at(c->store->root_fd, LAYOUT_TMP, 0700, err);

	if (ret < 0)
		return ret;
	tfd = fs_open_dir_at(c->store->root_fd, LAYOUT_TMP, err);
	if (tfd < 0)
		return tfd;
	bundle_name(c, &name);
	strbuf_addf(bundle, "%s/" LAYOUT_TMP "/%s", c->store->root, name.buf);
	fs_remove_tree_at(tfd, name.buf, NULL);
	ret = fs_mkdir_at(tfd, name.buf, 0700, err);
	if (ret >= 0 && (disposable || json_is_true(json_object_get(c->host, "AutoRemove")))) {
		strbuf_addstr(&name, "/" LAYOUT_RUN_DISPOSABLE);
		ret = fs_write_file_atomic_at(tfd, name.buf, "", 0, 0600, err);
	}
	return ret;
}

static void remove_bundle(struct container *c)
{
	_cleanup_close_ int tfd = openat(c->store->root_fd, LAYOUT_TMP, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_strbuf_ struct strbuf name = STRBUF_INIT;

	bundle_name(c, &name);
	if (tfd >= 0)
		fs_remove_tree_at(tfd, name.buf, NULL);
}

static void strv_from_json(const json_t *arr, const char *first, char ***out)
{
	size_t n = json_array_size(arr), k = 0, i;
	json_t *v;

	*out = xcalloc(n + 2, sizeof(**out));
	if (first)
		(*out)[k++] = xstrdup(first);
	json_array_foreach(arr, i, v)
		(*out)[k++] = xstrdup(json_string_value(v) ? json_string_value(v) : "");
}

/* binds from hostconfig.json's Binds ("SRC:DST[:ro]") */
static size_t parse_binds(const json_t *host, struct runtime_bind **out, char ***strings)
{
	json_t *binds = json_object_get(host, "Binds"), *v;
	size_t n = json_array_size(binds), k = 0, i;

	*out = xcalloc(n + 1, sizeof(**out));
	*strings = xcalloc(2 * n + 1, sizeof(**strings));
	json_array_foreach(binds, i, v) {
		const char *s = json_string_value(v), *c1, *c2;

		if (!s || !(c1 = strchr(s, ':')))
			continue;
		c2 = strchr(c1 + 1, ':');
		(*strings)[2 * k] = xstrndup(s, (size_t)(c1 - s));
		(*strings)[2 * k + 1] = c2 ? xstrndup(c1 + 1, (size_t)(c2 - c1 - 1)) : xstrdup(c1 + 1);
		(*out)[k].source = (*strings)[2 * k];
		(*out)[k].destination = (*strings)[2 * k + 1];
		(*out)[k].readonly = c2 && !strcmp(c2 + 1, "ro");
		k++;
	}
	return k;
}

/*
 * Record the start, run the process with its output logged (and passed to
 * the caller's fds), record the exit.  *ready_fd (NULL: none) gets one byte
 * and is closed once the runtime's container exists; it is left open when
 * the process never started.
 */
static int supervise(struct container *c, const struct container_run_opts *o, int dfd, const char *bundle,
		     const json_t *spec, int logfd, int devnull, int out_pipe[2], int err_pipe[2], int *ready_fd,
		     int *status, struct strata_error **err)
{
	const json_t *config = json_object_get(c->cfg, "Config");
	bool tty = json_is_true(json_object_get(config, "Tty"));
	int in_fd = json_is_true(json_object_get(config, "OpenStdin")) && o->in_fd >= 0 ? o->in_fd : devnull;
	struct logger l = { .log_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };
	struct console con = { .c = c, .l = &l, .in_fd = in_fd == devnull ? -1 : in_fd, .listen_fd = -1,
			       .term = o->terminal };
	pthread_t thread;
	int ret;

	ret = record_start(c, dfd, err);
	if (ret < 0)
		return ret;
	l.log_fd = logfd;
	con.s = (struct log_stream){ .fd = -1, .tee = o->out_fd, .name = "stdout", .line = STRBUF_INIT };
	l.s[0] = (struct log_stream){ .fd = out_pipe[0], .tee = o->out_fd, .name = "stdout", .line = STRBUF_INIT };
	l.s[1] = (struct log_stream){ .fd = err_pipe[0], .tee = o->err_fd, .name = "stderr", .line = STRBUF_INIT };
	out_pipe[0] = err_pipe[0] = -1;
	if (pthread_create(&thread, NULL, logger_main, &l)) {
		close(l.s[0].fd);
		close(l.s[1].fd);
		ret = strata_error_set(err, STRATA_ERR_IO, 0, "start the log writer");
		record_exit(c, 128, "start the log writer", NULL);
		return ret;
	}
	/* with a tty the runtime's own stdio is the pipes (its errors logged), the process's the pty */
	ret = runtime_run(o->runtime ? o->runtime : runtime_default(), bundle, c->id, spec, tty ? devnull : in_fd,
			  out_pipe[1], err_pipe[1],
			  tty ? &(struct runtime_console){ .received = console_received, .cookie = &con } : NULL,
			  ready_fd, status, err);
	close(out_pipe[1]);
	close(err_pipe[1]);
	out_pipe[1] = err_pipe[1] = -1;
	pthread_join(thread, NULL);
	if (con.started) {
		pthread_join(con.thread, NULL);
		close(con.s.fd);
	}
	strbuf_release(&con.s.line);
	strbuf_release(&l.s[0].line);
	strbuf_release(&l.s[1].line);
	if (ret >= 0 && l.ret < 0) {
		strata_error_propagate(err, l.err);
		l.err = NULL;
		ret = l.ret;
	}
	strata_error_free(l.err);
	/* docker stop from another process leaves its mark in the bundle */
	{
		_cleanup_strbuf_ struct strbuf mark = STRBUF_INIT;

		strbuf_addf(&mark, "%s/stopped", bundle);
		if (access(mark.buf, F_OK) == 0)
			json_object_set_new(c->cfg, "HasBeenManuallyStopped", json_true());
	}
	{
		int r2 = record_exit(c, ret < 0 ? 128 : *status, ret < 0 ? errmsg(err) : NULL, ret < 0 ? NULL : err);

		if (ret >= 0)
			ret = r2;
	}
	return ret;
}

/* *fd (a directory) gets a fresh open file description of the same folder, one the lock is not on. */
static void reopen_dir(int *fd)
{
	int fresh;

	if (*fd < 0)
		return;
	fresh = openat(*fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fresh < 0 || dup3(fresh, *fd, O_CLOEXEC) < 0)
		_exit(1);
	close(fresh);
}

static bool kept(int fd, const int *keep, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		if (keep[i] == fd)
			return true;
	return false;
}

/*
 * The monitor keeps only what it uses: its stdio (/dev/null), the
 * container's folder, log and pipes, the ready pipe and the store's and the
 * driver's directory fds.  Those directory fds are dups of the data root's
 * description, on which the store lock is an flock: each gets a
 * description of its own, and the lock's fd and every fd inherited from the
 * caller (its terminal, its files) is closed, so that the command that
 * started the monitor releases the lock when it exits.
 */
static void monitor_fds(struct container *c, int dfd, int logfd, int devnull, int out_pipe[2], int err_pipe[2],
			int ready_fd)
{
	struct strata_store *store = c->store;
	struct graph_driver *d = store->driver;
	int keep[16] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, dfd, logfd, devnull, out_pipe[0], out_pipe[1],
			 err_pipe[0], err_pipe[1], ready_fd, store->root_fd, store->image_fd,
			 d ? d->root_fd : -1, d ? d->home_fd : -1, d ? d->dir_fd : -1 };
	_cleanup_closedir_ DIR *fds = NULL;
	struct dirent *de;

	reopen_dir(&store->root_fd);
	reopen_dir(&store->image_fd);
	if (d) {
		reopen_dir(&d->root_fd);
		reopen_dir(&d->home_fd);
		reopen_dir(&d->dir_fd);
	}
	store->lock_fd = store->dockerd_guard_fd = -1;
	fds = opendir("/proc/self/fd");
	if (!fds)
		_exit(1);
	while ((de = readdir(fds))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (*end || end == de->d_name || fd == dirfd(fds) || kept((int)fd, keep, sizeof(keep) / sizeof(*keep)))
			continue;
		close((int)fd);
	}
	dup2(devnull, STDIN_FILENO);
	dup2(devnull, STDOUT_FILENO);
	dup2(devnull, STDERR_FILENO);
}

/* The monitor's life: never returns. */
static void monitor_main(struct container *c, const struct container_run_opts *o, int dfd, const char *bundle,
			 const json_t *spec, int logfd, int devnull, int out_pipe[2], int err_pipe[2], int ready[2])
	__attribute__((noreturn));
static void monitor_main(struct container *c, const struct container_run_opts *o, int dfd, const char *bundle,
			 const json_t *spec, int logfd, int devnull, int out_pipe[2], int err_pipe[2], int ready[2])
{
	_cleanup_strbuf_ struct strbuf pid = STRBUF_INIT, msg = STRBUF_INIT;
	struct strata_error *e = NULL;
	int status = 125, ready_fd = ready[1], bfd, ret;

	/* nothing relative: the caller's folder may go away while the container runs */
	if (chdir("/") < 0)
		_exit(1);
	close(ready[0]);
	monitor_fds(c, dfd, logfd, devnull, out_pipe, err_pipe, ready_fd);
	strbuf_addf(&pid, "%ld", (long)getpid());
	bfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0 || fs_write_file_atomic_at(bfd, "monitor.pid", pid.buf, pid.len, 0600, NULL) < 0)
		_exit(1);
	close(bfd);
	ret = supervise(c, o, dfd, bundle, spec, logfd, devnull, out_pipe, err_pipe, &ready_fd, &status, &e);
	if (ready_fd >= 0) {
		/* never started: the caller reports why, after the exit was recorded */
		if (ret < 0)
			strbuf_addf(&msg, "E%d %s", status, e->msg);
		else
			strbuf_addf(&msg, "E%d the runtime did not create the container (exit status %d); see its logs",
				    status == 126 || status == 127 ? status : 125, status);
		fs_write_all(ready_fd, msg.buf, msg.len, "report the start", NULL);
	}
	strata_error_free(e);
	container_unmount(c, NULL);
	remove_bundle(c);
	if (ready_fd >= 0)
		close(ready_fd);
	if (json_is_true(json_object_get(c->host, "AutoRemove")))
		container_remove(c, false, NULL);
	_exit(0);
}

/*
 * A detached start: a monitor process (forked twice, in its own session,
 * holding neither the store lock nor the caller's terminal) supervises the
 * process as a foreground run would, then unmounts and removes the bundle
 * (and the container with --rm).  Returns once the runtime's container
 * exists, so that kill, stop and rm -f can reach it at once; a start that
 * failed returns its error after the monitor recorded it and cleaned up.
 * The monitor takes no store lock: while the container runs no writer
 * changes its files, and the monitor's pid in the bundle keeps recovery
 * away from it.
 */
static int spawn_monitor(struct container *c, const struct container_run_opts *o, int dfd, const char *bundle,
			 const json_t *spec, int logfd, int devnull, int out_pipe[2], int err_pipe[2], int *status,
			 struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf reply = STRBUF_INIT;
	int ready[2];
	pid_t child;
	char buf[512];
	ssize_t n;
	int ws;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "pipe");
	child = fork();
	if (child < 0) {
		close(ready[0]);
		close(ready[1]);
		return strata_error_set(err, fs_errcode(errno), errno, "fork the monitor");
	}
	if (child == 0) {
		pid_t mon;

		setsid();
		mon = fork();
		if (mon != 0)
			_exit(mon < 0 ? 1 : 0);
		monitor_main(c, o, dfd, bundle, spec, logfd, devnull, out_pipe, err_pipe, ready);
	}
	close(ready[1]);
	while (waitpid(child, &ws, 0) < 0 && errno == EINTR)
		;
	while ((n = read(ready[0], buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		strbuf_add(&reply, buf, (size_t)n);
		if (reply.len == 1 && reply.buf[0] == '\0')
			break; /* created: the monitor closed its end */
	}
	close(ready[0]);
	if (reply.len == 1 && reply.buf[0] == '\0')
		return 0;
	if (reply.len > 1 && reply.buf[0] == 'E') {
		char *msg;
		long st = strtol(reply.buf + 1, &msg, 10);

		/* the monitor recorded the failed start: the caller's record builds on it */
		container_reload(c, NULL);
		*status = st >= 125 && st <= 127 ? (int)st : 125;
		return strata_error_set(err, STRATA_ERR_IO, 0, "%s", *msg == ' ' ? msg + 1 : msg);
	}
	return strata_error_set(err, STRATA_ERR_IO, 0, "the monitor of container %s did not start it", c->id);
}

static int run_mounted(struct container *c, const struct container_run_opts *o, int dfd, const char *bundle,
		       int *status, struct strata_error **err)
{
	const json_t *config = json_object_get(c->cfg, "Config");
	const char *path = gojson_get_string(c->cfg, "Path");
	const char *workdir = gojson_get_string(config, "WorkingDir");
	const char *user = gojson_get_string(config, "User");
	const char *network = gojson_get_string(c->host, "NetworkMode");
	bool host_net = network && !strcmp(network, "host");
	_cleanup_close_ int rootfd = -1, logfd = -1, devnull = -1;
	_cleanup_strbuf_ struct strbuf hosts = STRBUF_INIT, hostname = STRBUF_INIT, resolv = STRBUF_INIT;
	_cleanup_json_ json_t *spec = NULL;
	_cleanup_free_ char *logname = xasprintf("%s-json.log", c->id);
	_cleanup_free_ struct runtime_bind *binds = NULL;
	char **env = NULL, **args = NULL, **bind_strings = NULL;
	struct runtime_user u = { 0 };
	struct runtime_spec_opts so = { 0 };
	int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
	int ret, exec_status;

	rootfd = open(c->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "open '%s'", c->rootfs);
	if (!path || !*path)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "No command specified");
	ret = container_write_etc_files(dfd, gojson_get_string(config, "Hostname"), NULL, err);
	if (ret >= 0)
		ret = write_resolv_conf(dfd, host_net, err);
	if (ret >= 0)
		ret = fs_mkdir_at(dfd, "mounts", 0710, err);
	if (ret >= 0 && workdir && *workdir)
		ret = make_workdir(rootfd, workdir, err);
	if (ret >= 0)
		ret = runtime_user_resolve(rootfd, user ? user : "", &u, err);
	if (ret < 0)
		return ret;
	env = process_env(config);
	exec_status = find_exec(rootfd, path, env);
	if (exec_status) {
		*status = exec_status;
		strv_free(env);
		if (exec_status == 127)
			return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0,
						strchr(path, '/') ?
						"failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"%s\": stat %s: no such file or directory: unknown" :
						"failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"%s\": executable file not found in $PATH: unknown",
						path, path);
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"%s\": permission denied: unknown",
					path);
	}
	strv_from_json(json_object_get(c->cfg, "Args"), path, &args);
	strbuf_addf(&hosts, "%s/" LAYOUT_CONTAINERS "/%s/hosts", c->store->root, c->id);
	strbuf_addf(&hostname, "%s/" LAYOUT_CONTAINERS "/%s/hostname", c->store->root, c->id);
	strbuf_addf(&resolv, "%s/" LAYOUT_CONTAINERS "/%s/resolv.conf", c->store->root, c->id);
	so.rootfs = c->rootfs;
	so.readonly_rootfs = json_is_true(json_object_get(c->host, "ReadonlyRootfs"));
	so.args = (const char *const *)args;
	so.env = (const char *const *)env;
	so.cwd = workdir && *workdir ? workdir : "/";
	so.uid = u.uid;
	so.gid = u.gid;
	so.additional_gids = u.sgids;
	so.n_additional_gids = u.n_sgids;
	so.hostname = gojson_get_string(config, "Hostname");
	so.host_network = host_net;
	so.hosts_path = hosts.buf;
	so.hostname_path = hostname.buf;
	so.resolv_conf_path = resolv.buf;
	so.n_binds = parse_binds(c->host, &binds, &bind_strings);
	so.binds = binds;
	so.terminal = json_is_true(json_object_get(config, "Tty"));
	if (so.terminal && o->terminal && o->terminal->size_fd >= 0) {
		struct winsize ws;

		if (ioctl(o->terminal->size_fd, TIOCGWINSZ, &ws) == 0) {
			so.console_rows = ws.ws_row;
			so.console_cols = ws.ws_col;
		}
	}
	ret = runtime_spec_build(&so, &spec, err);
	strv_free(env);
	strv_free(args);
	if (ret < 0)
		goto out;
	logfd = openat(dfd, logname, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (logfd < 0 || devnull < 0 || pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
		ret = strata_error_set(err, fs_errcode(errno), errno, "set up the container's output");
		goto out;
	}
	if (o->detach)
		ret = spawn_monitor(c, o, dfd, bundle, spec, logfd, devnull, out_pipe, err_pipe, status, err);
	else
		ret = supervise(c, o, dfd, bundle, spec, logfd, devnull, out_pipe, err_pipe, NULL, status, err);
out:
	for (int i = 0; i < 2; i++) {
		if (out_pipe[i] >= 0)
			close(out_pipe[i]);
		if (err_pipe[i] >= 0)
			close(err_pipe[i]);
	}
	strv_free(bind_strings);
	return ret;
}

int container_run(struct container *c, const struct container_run_opts *o, int *status,
		  struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf bundle = STRBUF_INIT;
	_cleanup_close_ int dfd = -1;
	int ret, r2;

	*status = 125;
	if (container_running(c))
		return strata_error_set(err, STRATA_ERR_CONFLICT, 0, "container %s is already running", c->id);
	dfd = container_dir_fd(c->store, c->id, err);
	if (dfd < 0)
		return strata_error_wrap(err, "container %s", c->id);
	ret = prepare_bundle(c, &bundle, o->disposable, err);
	if (ret >= 0)
		ret = container_mount(c, err);
	if (ret < 0) {
		remove_bundle(c);
		return strata_error_wrap(err, "start container %s", c->id);
	}
	ret = run_mounted(c, o, dfd, bundle.buf, status, err);
	if (ret < 0 && *status == 125) {
		/* dockerd records a start that failed before the process ran */
		struct strata_error *e = NULL;

		record_exit(c, 128, errmsg(err), &e);
		strata_error_free(e);
	} else if (ret < 0) {
		struct strata_error *e = NULL;

		record_exit(c, *status, errmsg(err), &e);
		strata_error_free(e);
	}
	if (ret >= 0 && o->detach) {
		/* the monitor unmounts and removes the bundle when the process ends */
		free(c->rootfs);
		c->rootfs = NULL;
		return 0;
	}
	r2 = container_unmount(c, ret < 0 ? NULL : err);
	if (r2 >= 0)
		remove_bundle(c);
	return ret < 0 ? ret : r2;
}

/* ---- a running container seen from another process ---- */

/* A connection to the console of running tty container c, its first byte sent. */
static int console_connect(struct container *c, char kind, struct strata_error **err)
{
	struct sockaddr_un a;
	socklen_t len = console_socket_name(c, &a);

	if (!json_is_true(json_object_get(json_object_get(c->cfg, "Config"), "Tty")))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "Container %s has no tty", c->id);
	/* State says Running a moment before the runtime sent the pty and the socket listens */
	for (int tries = 0;; tries++) {
		int fd, e;

		if (!container_running(c))
			return strata_error_set(err, STRATA_ERR_CONFLICT, 0, "Container %s is not running", c->id);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return strata_error_set(err, fs_errcode(errno), errno, "socket");
		if (connect(fd, (struct sockaddr *)&a, len) == 0 && send(fd, &kind, 1, MSG_NOSIGNAL) == 1)
			return fd;
		e = errno;
		close(fd);
		if (e != ECONNREFUSED || tries >= 500 || container_reload(c, NULL) < 0)
			return strata_error_set(err, STRATA_ERR_IO, e, "reach the console of container %s", c->id);
		usleep(10 * 1000);
	}
}

int container_resize(struct container *c, unsigned short rows, unsigned short cols, struct strata_error **err)
{
	unsigned char m[4] = { (unsigned char)(rows >> 8), (unsigned char)rows, (unsigned char)(cols >> 8),
			       (unsigned char)cols };
	int fd = console_connect(c, 'r', err);
	char ack;

	if (fd < 0)
		return fd;
	if (send(fd, m, sizeof(m), MSG_NOSIGNAL) != sizeof(m) || recv(fd, &ack, 1, 0) != 1) {
		close(fd);
		return strata_error_set(err, STRATA_ERR_IO, errno, "resize the tty of container %s", c->id);
	}
	close(fd);
	return 0;
}

int container_attach_input(struct container *c, struct strata_error **err)
{
	return console_connect(c, 'i', err);
}

static bool bundle_exists(struct container *c)
{
	_cleanup_strbuf_ struct strbuf name = STRBUF_INIT;

	strbuf_addf(&name, LAYOUT_TMP "/");
	bundle_name(c, &name);
	return c->store->root_fd >= 0 && fs_exists_at(c->store->root_fd, name.buf);
}

int container_monitor_died(struct container *c, struct strata_error **err)
{
	return strata_error_set(err, STRATA_ERR_IO, 0,
				"the monitor of container %s died; the next strata write command recovers it", c->id);
}

/* A detached run whose monitor was killed: its bundle stays until the next write command recovers it. */
bool container_monitor_dead(struct container *c)
{
	_cleanup_strbuf_ struct strbuf name = STRBUF_INIT;
	_cleanup_free_ char *buf = NULL;
	size_t len;
	char *end;
	long pid;

	strbuf_addf(&name, LAYOUT_TMP "/");
	bundle_name(c, &name);
	strbuf_addstr(&name, "/monitor.pid");
	if (c->store->root_fd < 0 || fs_read_file_at(c->store->root_fd, name.buf, 32, &buf, &len, NULL) < 0)
		return false;
	pid = strtol(buf, &end, 10);
	return pid > 0 && !*end && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* Wait up to ms for the process holding c (monitor or foreground strata) to finish, then reload. */
static int wait_done(struct container *c, long ms, struct strata_error **err)
{
	for (long waited = 0; bundle_exists(c) && (ms < 0 || waited < ms); waited += 50) {
		if (container_monitor_dead(c))
			return container_monitor_died(c, err);
		usleep(50 * 1000);
	}
	if (bundle_exists(c))
		return 1;
	return container_reload(c, err);
}

int container_wait(struct container *c, struct strata_error **err)
{
	int ret = wait_done(c, -1, err);

	return ret < 0 ? ret : 0;
}

static int signal_of(const char *name)
{
	static const struct { const char *n; int s; } sigs[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "KILL", SIGKILL }, { "USR1", SIGUSR1 },
		{ "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "ALRM", SIGALRM }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
		{ "WINCH", SIGWINCH }, { "PIPE", SIGPIPE },
	};
	char *end;
	long n;

	if (!name || !*name)
		return SIGTERM;
	n = strtol(name, &end, 10);
	if (!*end && n > 0 && n < 65)
		return (int)n;
	if (!strncasecmp(name, "SIG", 3))
		name += 3;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		if (!strcasecmp(name, sigs[i].n))
			return sigs[i].s;
	return -1;
}

int container_parse_signal(const char *name, int *sig, struct strata_error **err)
{
	*sig = signal_of(name);
	if (*sig < 0)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "Invalid signal: %s", name);
	return 0;
}

int container_signal(struct container *c, int sig, struct strata_error **err)
{
	int ret;

	if (!container_running(c))
		return strata_error_set(err, STRATA_ERR_CONFLICT, 0,
					"Cannot kill container: %s: Container %s is not running", container_name(c), c->id);
	ret = container_kill(c, sig, err);
	if (ret < 0 || sig != SIGKILL)
		return ret;
	/* as dockerd: a SIGKILL returns once the exit is recorded */
	ret = wait_done(c, 10000, err);
	return ret > 0 ? strata_error_set(err, STRATA_ERR_BUSY, 0, "container %s did not die", c->id) : ret;
}

int container_stop(struct container *c, int timeout, struct strata_error **err)
{
	const char *stopsig = gojson_get_string(json_object_get(c->cfg, "Config"), "StopSignal");
	_cleanup_strbuf_ struct strbuf mark = STRBUF_INIT;
	int sig = signal_of(stopsig), ret;

	if (!container_running(c))
		return 0; /* docker stop of a stopped container succeeds */
	/* the monitor records HasBeenManuallyStopped when it finds this mark */
	strbuf_addf(&mark, "%s/" LAYOUT_TMP "/", c->store->root);
	bundle_name(c, &mark);
	strbuf_addstr(&mark, "/stopped");
	{
		int fd = open(mark.buf, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd >= 0)
			close(fd);
	}
	ret = container_kill(c, sig < 0 ? SIGTERM : sig, NULL);
	if (ret >= 0) {
		ret = wait_done(c, (long)timeout * 1000, err);
		if (ret <= 0)
			return ret;
	}
	container_kill(c, SIGKILL, NULL);
	ret = wait_done(c, 10000, err);
	if (ret > 0)
		return strata_error_set(err, STRATA_ERR_BUSY, 0, "container %s did not stop", c->id);
	return ret;
}
