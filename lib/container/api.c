/* The public container API (strata/container.h) over lib/container. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container/container-private.h"
#include "driver/driver.h"
#include "image/image-private.h"
#include "json/gojson.h"
#include "store/store-private.h"
#include "strata/container.h"
#include "strata/image.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/gotime.h"
#include "util/strbuf.h"

#define LOG_MAX (256u << 20) /* docker logs reads the whole json-file log */

struct strata_container {
	struct container *c;
};

static struct strata_container *wrap(struct container *c)
{
	struct strata_container *h = xcalloc(1, sizeof(*h));

	h->c = c;
	return h;
}

static json_t *strv_json(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

int strata_container_create(struct strata_image_index *idx, const char *image,
			    const struct strata_container_options *o, struct strata_container **out,
			    struct strata_error **err)
{
	struct strata_image *img;
	_cleanup_json_ json_t *cfg = json_object();
	_cleanup_free_ struct container_bind *binds = NULL;
	struct container *c;
	int ret = strata_image_lookup(idx, image, &img, err);

	if (ret < 0)
		return ret;
	json_object_set_new(cfg, "Hostname", json_string(o->hostname ? o->hostname : ""));
	json_object_set_new(cfg, "User", json_string(o->user ? o->user : ""));
	json_object_set_new(cfg, "AttachStdin", json_boolean(o->interactive && !o->detach));
	json_object_set_new(cfg, "AttachStdout", json_boolean(!o->detach));
	json_object_set_new(cfg, "AttachStderr", json_boolean(!o->detach));
	json_object_set_new(cfg, "Tty", json_boolean(o->tty));
	json_object_set_new(cfg, "OpenStdin", json_boolean(o->interactive));
	json_object_set_new(cfg, "StdinOnce", json_boolean(o->interactive && !o->detach));
	json_object_set_new(cfg, "Env", o->nr_env ? strv_json(o->env, o->nr_env) : json_array());
	if (o->nr_cmd)
		json_object_set_new(cfg, "Cmd", strv_json(o->cmd, o->nr_cmd));
	json_object_set_new(cfg, "WorkingDir", json_string(o->workdir ? o->workdir : ""));
	/* --entrypoint "" resets the image's entrypoint */
	if (o->entrypoint)
		json_object_set_new(cfg, "Entrypoint", *o->entrypoint ? strv_json(&o->entrypoint, 1) : json_array());
	json_object_set_new(cfg, "Labels", json_object());
	if (o->nr_binds) {
		binds = xcalloc(o->nr_binds, sizeof(*binds));
		for (size_t i = 0; i < o->nr_binds; i++)
			binds[i] = (struct container_bind){ o->binds[i].source, o->binds[i].destination,
							    o->binds[i].readonly };
	}
	ret = container_create(idx, img,
			       &(struct container_create_opts){ .config = cfg, .image_ref = image, .name = o->name,
								.network = o->network, .binds = binds,
								.nr_binds = o->nr_binds, .read_only = o->read_only,
								.auto_remove = o->auto_remove },
			       &c, err);
	if (ret < 0)
		return ret;
	*out = wrap(c);
	return 0;
}

int strata_container_open(struct strata_store *store, const char *name, struct strata_container **out,
			  struct strata_error **err)
{
	struct container *c;
	int ret = container_open(store, name, &c, err);

	if (ret < 0)
		return ret;
	*out = wrap(c);
	return 0;
}

void strata_container_free(struct strata_container *c)
{
	if (!c)
		return;
	container_free(c->c);
	free(c);
}

int strata_container_list(struct strata_store *store, struct strata_container ***out, size_t *nr,
			  struct strata_error **err)
{
	struct container **v;
	int ret = container_list(store, &v, nr, err);

	if (ret < 0)
		return ret;
	*out = xcalloc(*nr + 1, sizeof(**out));
	for (size_t i = 0; i < *nr; i++)
		(*out)[i] = wrap(v[i]);
	free(v);
	return 0;
}

void strata_container_list_free(struct strata_container **v, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		strata_container_free(v[i]);
	free(v);
}

const char *strata_container_id(const struct strata_container *c) { return c->c->id; }
const char *strata_container_name(const struct strata_container *c) { return container_name(c->c); }
const char *strata_container_image_id(const struct strata_container *c) { return container_image_id(c->c); }

const char *strata_container_image(const struct strata_container *c)
{
	const char *s = gojson_get_string(json_object_get(c->c->cfg, "Config"), "Image");

	return s ? s : container_image_id(c->c);
}

char *strata_container_command(const struct strata_container *c)
{
	struct strbuf sb = STRBUF_INIT;
	const char *path = gojson_get_string(c->c->cfg, "Path");
	json_t *v;
	size_t i;

	strbuf_addstr(&sb, path ? path : "");
	/* dockerd's list: an argument holding a space is put in single quotes, nothing escaped */
	json_array_foreach(json_object_get(c->c->cfg, "Args"), i, v) {
		const char *a = json_string_value(v) ? json_string_value(v) : "";

		strbuf_addf(&sb, strchr(a, ' ') ? " '%s'" : " %s", a);
	}
	return strbuf_detach(&sb, NULL);
}

bool strata_container_tty(const struct strata_container *c)
{
	return json_is_true(json_object_get(json_object_get(c->c->cfg, "Config"), "Tty"));
}

bool strata_container_interactive(const struct strata_container *c)
{
	return json_is_true(json_object_get(json_object_get(c->c->cfg, "Config"), "OpenStdin"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *strata_container_labels(const struct strata_container *c)
{
	json_t *labels = json_object_get(json_object_get(c->c->cfg, "Config"), "Labels"), *v;
	size_t n = json_object_size(labels), k = 0;
	char **kv = xcalloc(n + 1, sizeof(*kv));
	struct strbuf sb = STRBUF_INIT;
	const char *key;

	json_object_foreach(labels, key, v)
		kv[k++] = xasprintf("%s=%s", key, json_string_value(v) ? json_string_value(v) : "");
	if (k)
		qsort(kv, k, sizeof(*kv), cmp_str);
	for (size_t i = 0; i < k; i++) {
		if (i)
			strbuf_addch(&sb, ',');
		strbuf_addstr(&sb, kv[i]);
		free(kv[i]);
	}
	free(kv);
	return strbuf_detach(&sb, NULL);
}

static int64_t time_of(const json_t *obj, const char *key)
{
	const char *s = gojson_get_string(obj, key);
	int64_t sec = 0;
	int32_t nsec = 0;

	if (!s || gotime_parse_rfc3339(s, &sec, &nsec, NULL) < 0 || sec < 0)
		return 0;
	return sec;
}

void strata_container_state(const struct strata_container *c, struct strata_container_state *out)
{
	json_t *state = json_object_get(c->c->cfg, "State");

	out->running = container_running(c->c);
	out->started_before = json_is_true(json_object_get(c->c->cfg, "HasBeenStartedBefore"));
	out->exit_code = (int)json_integer_value(json_object_get(state, "ExitCode"));
	out->created = time_of(c->c->cfg, "Created");
	out->started_at = time_of(state, "StartedAt");
	out->finished_at = time_of(state, "FinishedAt");
}

int strata_container_size(struct strata_container *c, int64_t *rw, int64_t *virtual_size,
			  struct strata_error **err)
{
	struct strata_image_index *idx = NULL;
	struct strata_image *img;
	struct graph_driver *d;
	_cleanup_close_ int fd = -1;
	int ret = store_driver(c->c->store, &d, err);

	if (ret < 0)
		return ret;
	fd = graph_driver_diff_fd(d, c->c->mount_id, err);
	if (fd < 0)
		return fd;
	ret = diff_tree_size(fd, rw, err);
	if (ret < 0)
		return ret;
	*virtual_size = *rw;
	ret = strata_image_index_load(c->c->store, &idx, err);
	if (ret < 0)
		return ret;
	img = strata_image_index_find(idx, container_image_id(c->c));
	if (img)
		*virtual_size += img->size;
	strata_image_index_free(idx);
	return 0;
}

int strata_container_inspect(struct strata_container *c, bool size, char **json, struct strata_error **err)
{
	_cleanup_json_ json_t *o = NULL;
	struct strbuf sb = STRBUF_INIT;
	int64_t sizes[2];
	int ret = 0;

	if (size)
		ret = strata_container_size(c, &sizes[0], &sizes[1], err);
	if (ret >= 0)
		ret = container_inspect(c->c, size ? sizes : NULL, &o, err);
	if (ret < 0)
		return ret;
	gojson_encode(&sb, o, 0);
	*json = strbuf_detach(&sb, NULL);
	return 0;
}

int strata_container_start(struct strata_container *c, const char *runtime, int in_fd, int out_fd, int err_fd,
			   int *status, struct strata_error **err)
{
	return container_run(c->c, &(struct container_run_opts){ .runtime = runtime, .in_fd = in_fd, .out_fd = out_fd,
								  .err_fd = err_fd },
			     status, err);
}

int strata_container_start_terminal(struct strata_container *c, const char *runtime, int in_fd, int out_fd,
				    const struct strata_terminal *term, int *status, struct strata_error **err)
{
	struct container_terminal t = { term ? term->size_fd : -1, term ? term->winch_fd : -1 };

	return container_run(c->c, &(struct container_run_opts){ .runtime = runtime, .in_fd = in_fd, .out_fd = out_fd,
								  .err_fd = out_fd, .terminal = &t },
			     status, err);
}

int strata_container_start_detached(struct strata_container *c, const char *runtime, int *status,
				    struct strata_error **err)
{
	return container_run(c->c, &(struct container_run_opts){ .runtime = runtime, .in_fd = -1, .out_fd = -1,
								  .err_fd = -1, .detach = true },
			     status, err);
}

int strata_container_resize(struct strata_container *c, unsigned short rows, unsigned short cols,
			    struct strata_error **err)
{
	return container_resize(c->c, rows, cols, err);
}

int strata_container_attach_input(struct strata_container *c, int *fd, struct strata_error **err)
{
	int ret = container_attach_input(c->c, err);

	if (ret < 0)
		return ret;
	*fd = ret;
	return 0;
}

int strata_container_stop(struct strata_container *c, int timeout, struct strata_error **err)
{
	return container_stop(c->c, timeout, err);
}

int strata_container_kill(struct strata_container *c, const char *signal, struct strata_error **err)
{
	int sig;
	int ret = container_parse_signal(signal ? signal : "KILL", &sig, err);

	return ret < 0 ? ret : container_signal(c->c, sig, err);
}

int strata_container_wait(struct strata_container *c, int *exit_code, struct strata_error **err)
{
	int ret = container_wait(c->c, err);

	if (ret >= 0)
		*exit_code = (int)json_integer_value(json_object_get(json_object_get(c->c->cfg, "State"), "ExitCode"));
	return ret;
}

int strata_container_remove(struct strata_container *c, bool force, struct strata_error **err)
{
	return container_remove(c->c, force, err);
}

int strata_container_prune(struct strata_store *store, strata_container_removed_fn removed, void *cookie,
			   uint64_t *reclaimed, struct strata_error **err)
{
	struct strata_container **v = NULL;
	size_t nr = 0;
	int ret;

	ret = strata_container_list(store, &v, &nr, err);
	for (size_t i = 0; ret >= 0 && i < nr; i++) {
		struct strata_container_state st;
		struct strata_error *e = NULL;
		int64_t rw = 0, vsize = 0;

		strata_container_state(v[i], &st);
		if (st.running)
			continue;
		if (strata_container_size(v[i], &rw, &vsize, &e) < 0) {
			strata_error_free(e);
			rw = 0;
		}
		ret = strata_container_remove(v[i], false, err);
		if (ret < 0)
			break;
		if (removed)
			removed(cookie, strata_container_id(v[i]));
		*reclaimed += (uint64_t)rw;
	}
	strata_container_list_free(v, nr);
	return ret < 0 ? ret : 0;
}

int strata_container_changes(struct strata_container *c, strata_change_fn fn, void *cookie,
			     struct strata_error **err)
{
	struct diff_changes ch;
	int ret = container_changes(c->c, &ch, err);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < ch.nr; i++)
		fn(cookie, "CAD"[ch.items[i].kind], ch.items[i].path);
	diff_changes_release(&ch);
	return 0;
}

static int write_fd(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	return fs_write_all(*(int *)cookie, data, len, "write the archive", err);
}

int strata_container_export(struct strata_container *c, int fd, struct strata_error **err)
{
	_cleanup_close_ int root = -1;
	bool was_mounted = c->c->rootfs != NULL;
	int ret = container_mount(c->c, err);

	if (ret < 0)
		return ret;
	root = open(c->c->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		ret = strata_error_set(err, fs_errcode(errno), errno, "open '%s'", c->c->rootfs);
	else
		ret = diff_full_tar(root, &(struct diff_options){ .mtime_clamp = -1 }, write_fd, &fd, err);
	if (!was_mounted) {
		int r2 = container_unmount(c->c, ret < 0 ? NULL : err);

		if (ret >= 0)
			ret = r2;
	}
	return ret;
}

/* One json-file line to its stream. */
static int log_line(const char *line, size_t len, bool timestamps, int out_fd, int err_fd,
		    struct strata_error **err)
{
	_cleanup_json_ json_t *j = json_loadb(line, len, 0, NULL);
	const char *msg = gojson_get_string(j, "log"), *stream = gojson_get_string(j, "stream");
	const char *t = gojson_get_string(j, "time");
	int fd;

	if (!msg || !stream)
		return 0; /* a line cut by a crash: dockerd skips it too */
	fd = !strcmp(stream, "stderr") ? err_fd : out_fd;
	if (timestamps && t) {
		int64_t sec;
		int32_t nsec;
		_cleanup_strbuf_ struct strbuf ts = STRBUF_INIT;

		/* docker logs -t: RFC3339Nano with trailing zeros kept to 9 digits */
		if (gotime_parse_rfc3339(t, &sec, &nsec, NULL) == 0) {
			_cleanup_strbuf_ struct strbuf tmp = STRBUF_INIT;

			gotime_format_rfc3339nano_utc(&tmp, sec, 0);
			strbuf_add(&ts, tmp.buf, tmp.len - 1);
			strbuf_addf(&ts, ".%09dZ ", nsec);
		} else {
			strbuf_addf(&ts, "%s ", t);
		}
		if (fs_write_all(fd, ts.buf, ts.len, "write the log", err) < 0)
			return -STRATA_ERR_IO;
	}
	return fs_write_all(fd, msg, strlen(msg), "write the log", err);
}

/* Print the log from the tail-th last line (tail < 0: all); *end gets the bytes consumed (whole lines). */
static int print_log(struct strata_container *c, long tail, size_t from, bool timestamps, int out_fd, int err_fd,
		     size_t *end, struct strata_error **err)
{
	_cleanup_close_ int dfd = container_dir_fd(c->c->store, c->c->id, err);
	_cleanup_free_ char *name = xasprintf("%s-json.log", c->c->id), *buf = NULL;
	struct strata_error *e = NULL;
	const char *start;
	size_t len;
	int ret;

	if (dfd < 0)
		return dfd;
	ret = fs_read_file_at(dfd, name, LOG_MAX, &buf, &len, &e);
	if (ret == -STRATA_ERR_NOT_FOUND) {
		strata_error_free(e);
		*end = 0;
		return 0; /* never started: no log yet */
	}
	if (ret < 0) {
		strata_error_propagate(err, e);
		return ret;
	}
	if (from > len)
		from = 0; /* the log was replaced */
	start = buf + from;
	/* only whole lines: a line being written is printed next time */
	while (len > from && buf[len - 1] != '\n')
		len--;
	*end = len;
	if (tail == 0) {
		start = buf + len;
	} else if (tail > 0) {
		long seen = 0;

		/* the last tail lines: after the tail-th newline counted from the end (the last one aside) */
		for (size_t i = len; i-- > 0;)
			if (buf[i] == '\n' && i != len - 1 && ++seen == tail) {
				start = buf + i + 1;
				break;
			}
	}
	for (const char *p = start; p < buf + len;) {
		const char *nl = memchr(p, '\n', (size_t)(buf + len - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(buf + len - p);

		ret = log_line(p, l, timestamps, out_fd, err_fd, err);
		if (ret < 0)
			return ret;
		p += l + 1;
	}
	return 0;
}

int strata_container_logs(struct strata_container *c, long tail, bool timestamps, int out_fd, int err_fd,
			  struct strata_error **err)
{
	size_t end;

	return print_log(c, tail, 0, timestamps, out_fd, err_fd, &end, err);
}

int strata_container_logs_follow(struct strata_container *c, long tail, bool timestamps, int out_fd, int err_fd,
				 struct strata_error **err)
{
	size_t end = 0;
	int ret = print_log(c, tail, 0, timestamps, out_fd, err_fd, &end, err);

	while (ret >= 0) {
		bool running;

		ret = container_reload(c->c, err);
		if (ret < 0)
			break;
		running = container_running(c->c);
		ret = print_log(c, -1, end, timestamps, out_fd, err_fd, &end, err);
		if (ret < 0 || !running)
			break;
		if (container_monitor_dead(c->c))
			return container_monitor_died(c->c, err);
		usleep(100 * 1000);
	}
	return ret;
}

int strata_container_commit(struct strata_image_index *idx, struct strata_container *c,
			    const struct strata_commit_options *o, char id[72], struct strata_error **err)
{
	return container_commit(idx, c->c,
				&(struct container_commit_opts){ .changes = o->changes, .nr_changes = o->nr_changes,
								 .author = o->author, .comment = o->message,
								 .ref = o->ref, .mtime_clamp = -1 },
				id, err);
}
