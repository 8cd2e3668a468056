/*
 * libstrata through its public API only (strata/strata.h), as a program
 * embedding it does: version and error names, image and layer handles,
 * inspect as JSON text, a fixed store time, load from a file descriptor,
 * and cancelling a load (before it starts, and from another thread while
 * it reads), a push and a pull (against a local docker-registry started by
 * tests/fixtures/registry/launch.py; skipped when that cannot run).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "strata/strata.h"
#include "tap.h"

#define BIG_FILE (2u << 20) /* the layer is larger than a pipe holds */
#define EPOCH 1700000000

static char tmp[] = "/tmp/strata-api-XXXXXX";

static char *path_of(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", tmp, name) < 0)
		abort();
	return p;
}

/* system() on "PREFIX ARG SUFFIX" */
static int run(const char *prefix, const char *arg, const char *suffix)
{
	char *cmd;
	int r;

	if (asprintf(&cmd, "%s%s%s", prefix, arg, suffix) < 0)
		abort();
	r = system(cmd);
	free(cmd);
	return r;
}

/* A rootfs tar with one big file of pseudo-random bytes (no compression helps). */
static int make_rootfs_tar(void)
{
	char *dir = path_of("rootfs"), *file = path_of("rootfs/big");
	unsigned char *buf = malloc(BIG_FILE);
	uint32_t x = 12345;
	FILE *f;
	int r = -1;

	for (size_t i = 0; i < BIG_FILE; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 24);
	}
	if (mkdir(dir, 0755) == 0 && (f = fopen(file, "w"))) {
		r = fwrite(buf, 1, BIG_FILE, f) == BIG_FILE ? 0 : -1;
		if (fclose(f) != 0)
			r = -1;
	}
	if (r == 0)
		r = run("cd ", dir, " && tar -cf ../rootfs.tar .");
	free(buf);
	free(dir);
	free(file);
	return r;
}

/* Entries of a folder of the store (layerdb/sha256, layerdb/tmp); 0 when it is absent. */
static size_t count_entries(struct strata_store *store, const char *sub, const char *prefix)
{
	char *p;
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	if (asprintf(&p, "%s/image/%s/%s", strata_store_root(store), strata_store_driver_name(store), sub) < 0)
		abort();
	d = opendir(p);
	free(p);
	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && !strncmp(e->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

static size_t image_count(struct strata_store *store)
{
	struct strata_image_index *idx = NULL;
	struct strata_error *err = NULL;
	size_t n = (size_t)-1;

	if (strata_image_index_load(store, &idx, &err) == 0)
		n = strata_image_index_count(idx);
	strata_error_free(err);
	strata_image_index_free(idx);
	return n;
}

static void test_basics(void)
{
	struct strata_cancel *c = strata_cancel_new();
	unsigned a, b, d;
	int end = 0;

	ok(sscanf(strata_version(), "%u.%u.%u%n", &a, &b, &d, &end) == 3 && !strata_version()[end],
	   "strata_version() is MAJOR.MINOR.PATCH (%s)", strata_version());
	is_str(strata_error_name(STRATA_ERR_NOT_FOUND), "STRATA_ERR_NOT_FOUND", "error name");
	is_str(strata_error_name(-STRATA_ERR_INTERRUPTED), "STRATA_ERR_INTERRUPTED", "error name of a return value");
	is_str(strata_error_name(0), "STRATA_ERR_UNKNOWN", "0 is no error code");
	is_str(strata_error_name(STRATA_ERR_INTERRUPTED + 1), "STRATA_ERR_UNKNOWN", "past the last code");
	ok(!strata_cancel_requested(c) && !strata_cancel_requested(NULL), "a new token (or none) is not cancelled");
	strata_cancel_request(c);
	ok(strata_cancel_requested(c), "cancel requested");
	strata_cancel_free(c);
}

/* Import with a fixed time, then read everything back through the handles. */
static int test_handles(struct strata_store *store, char id[72])
{
	struct strata_import_options io = { .message = "api", .ref = "embed/api:1" };
	struct strata_image_index *idx = NULL;
	struct strata_error *err = NULL;
	struct strata_image *img = NULL;
	const struct strata_layer *l;
	char *tar = path_of("rootfs.tar"), *json = NULL, *cache = NULL;
	const char *config;
	struct stat st;
	int32_t nsec = -1;
	size_t len = 0;
	int ret;

	strata_store_set_time(store, EPOCH);
	ret = strata_image_index_load(store, &idx, &err);
	if (ret == 0)
		ret = strata_image_import(idx, tar, &io, id, &err);
	strata_image_index_free(idx);
	idx = NULL;
	if (ret == 0)
		ret = strata_image_index_load(store, &idx, &err);
	if (ret == 0)
		ret = strata_image_lookup(idx, "embed/api:1", &img, &err);
	ok(ret == 0, "import, reload, look up (%s)", err ? err->msg : "ok");
	free(tar);
	if (ret < 0) {
		strata_error_free(err);
		strata_image_index_free(idx);
		return -1;
	}
	is_str(strata_image_id(img), id, "image ID");
	ok(strata_image_created(img, &nsec) == EPOCH && nsec == 0, "created is the store's fixed time");
	config = strata_image_config(img, &len);
	ok(len == strlen(config) && strstr(config, "\"created\":\"2023-11-14T22:13:20Z\""),
	   "config bytes with the fixed time");
	ok(!strata_image_parent(img) && !strata_image_children(img), "no parent, no children");
	ok(strata_image_layer_count(img) == 1, "one layer");
	l = strata_image_layer(img, 0);
	is_str(strata_layer_chain_id(l), strata_layer_diff_id(l), "a base layer's chain ID is its diff ID");
	ok(strata_layer_size(l) >= BIG_FILE && strata_layer_size(l) == strata_image_size(img),
	   "layer size %lld, the image's", (long long)strata_layer_size(l));
	if (asprintf(&cache, "%s/%s/%s", strata_store_root(store), strata_store_driver_name(store),
		     strata_layer_cache_id(l)) < 0)
		abort();
	ok(*strata_layer_cache_id(l) && stat(cache, &st) == 0 && S_ISDIR(st.st_mode),
	   "the cache-id names the driver's folder of the layer");
	free(cache);
	ret = strata_image_inspect(idx, img, &json, &err);
	ok(ret == 0 && !strncmp(json, "{\"Id\":\"", 7) && !strncmp(json + 7, id, strlen(id)) &&
	   strstr(json, "\"RepoTags\":[\"embed/api:1\"]") && strstr(json, "\"Created\":\"2023-11-14T22:13:20Z\""),
	   "inspect gives the API object as JSON text");
	free(json);
	strata_error_free(err);
	strata_image_index_free(idx);
	return 0;
}

static void report_line(void *cookie, const char *line)
{
	FILE *f = cookie;

	fprintf(f, "%s\n", line);
}

struct feeder {
	int fd;
	const char *data;
	size_t len;
	struct strata_cancel *cancel;
};

/* Write half the archive, cancel, then the rest: the load must stop on the way. */
static void *feed(void *arg)
{
	struct feeder *f = arg;
	size_t off = 0, half = f->len / 2;

	while (off < f->len) {
		ssize_t n = write(f->fd, f->data + off, (off < half ? half : f->len) - off);

		if (n <= 0)
			break; /* the load gave up and closed its end */
		off += (size_t)n;
		if (off == half)
			strata_cancel_request(f->cancel);
	}
	close(f->fd);
	return NULL;
}

static int load_fd(struct strata_store *store, int fd, struct strata_cancel *cancel, FILE *report,
		   struct strata_error **err)
{
	struct strata_load_options lo = { .fd = fd, .report = report_line, .report_cookie = report,
					  .cancel = cancel };
	struct strata_image_index *idx = NULL;
	int ret = strata_image_index_load(store, &idx, err);

	if (ret == 0)
		ret = strata_image_load(idx, &lo, err);
	strata_image_index_free(idx);
	return ret;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *data = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0) {
		rewind(f);
		data = malloc((size_t)n);
		*len = fread(data, 1, (size_t)n, f);
	}
	fclose(f);
	return data;
}

static void test_load(struct strata_store *src, const char *id)
{
	const char *names[] = { "embed/api:1" };
	char *archive = path_of("api.tar"), *root = path_of("loaded"), *data = NULL;
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct strata_cancel *cancel = strata_cancel_new();
	size_t len = 0;
	FILE *report;
	int fd, ret, pfd[2];

	fd = open(archive, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ret = fd < 0 ? -1 : strata_image_index_load(src, &idx, &err);
	if (ret == 0)
		ret = strata_image_save(idx, names, 1, STRATA_SAVE_DOCKER, fd, &err);
	if (fd >= 0)
		close(fd);
	strata_image_index_free(idx);
	if (ret == 0)
		ret = strata_store_open(root, NULL, STRATA_STORE_WRITE, &store, &err);
	ok(ret == 0, "save to a file, open a new store (%s)", err ? err->msg : "ok");
	if (ret < 0)
		goto out;

	strata_cancel_request(cancel);
	fd = open(archive, O_RDONLY | O_CLOEXEC);
	ret = load_fd(store, fd, cancel, NULL, &err);
	close(fd);
	ok(ret == -STRATA_ERR_INTERRUPTED && err && err->code == STRATA_ERR_INTERRUPTED,
	   "a load cancelled before it starts fails as interrupted (%s)", err ? err->msg : "no error");
	strata_error_free(err);
	err = NULL;
	ok(image_count(store) == 0 && count_entries(store, "layerdb/sha256", "") == 0,
	   "and leaves no image, no layer");

	/* the archive through a pipe, cancelled by the writer thread halfway */
	strata_cancel_free(cancel);
	cancel = strata_cancel_new();
	data = read_file(archive, &len);
	if (data && len > BIG_FILE && pipe(pfd) == 0) {
		struct feeder f = { pfd[1], data, len, cancel };
		pthread_t t;

		pthread_create(&t, NULL, feed, &f);
		ret = load_fd(store, pfd[0], cancel, NULL, &err);
		close(pfd[0]);
		pthread_join(t, NULL);
		ok(ret == -STRATA_ERR_INTERRUPTED && err && err->code == STRATA_ERR_INTERRUPTED,
		   "a load cancelled from another thread while it reads fails as interrupted (%s)",
		   err ? err->msg : "no error");
		strata_error_free(err);
		err = NULL;
		ok(image_count(store) == 0 && count_entries(store, "layerdb/sha256", "") == 0 &&
		   count_entries(store, "layerdb/tmp", "load-") == 0,
		   "and leaves no image, no layer, no staging folder");
	} else {
		ok(0, "an archive of %zu bytes and a pipe", len);
	}

	fd = open(archive, O_RDONLY | O_CLOEXEC);
	report = tmpfile();
	ret = load_fd(store, fd, NULL, report, &err);
	close(fd);
	ok(ret == 0 && image_count(store) == 1, "load from a file descriptor (%s)", err ? err->msg : "ok");
	if (report) {
		char line[256] = "";

		rewind(report);
		ok(fgets(line, sizeof(line), report) && !strcmp(line, "Loaded image: embed/api:1\n"),
		   "docker's report line");
		fclose(report);
	}
	ret = strata_image_index_load(store, &idx, &err);
	ok(ret == 0 && strata_image_index_find(idx, id), "the loaded image has the same ID");
	strata_image_index_free(idx);
out:
	strata_error_free(err);
	strata_cancel_free(cancel);
	strata_store_free(store);
	free(data);
	free(archive);
	free(root);
}

/* ---- push and pull against a local registry ---- */

struct reg {
	pid_t pid;
	char host[256];
};

static int start_registry(const char *dir, struct reg *r)
{
	char *env;
	pid_t pid;

	if (asprintf(&env, "%s/env", dir) < 0)
		abort();
	pid = fork();
	if (pid == 0) {
		execlp("python3", "python3", "tests/fixtures/registry/launch.py", "--dir", dir, "--mode", "plain",
		       "--lifetime", "300", (char *)NULL);
		_exit(127);
	}
	r->pid = pid;
	for (int i = 0; i < 300 && !r->host[0]; i++) {
		FILE *f = fopen(env, "r");
		char line[256];

		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "REGISTRY=", 9)) {
				line[strcspn(line, "\n")] = 0;
				snprintf(r->host, sizeof(r->host), "%s", line + 9);
			}
		if (f)
			fclose(f);
		if (!r->host[0] && waitpid(pid, NULL, WNOHANG) == pid)
			break;
		if (!r->host[0])
			usleep(100000);
	}
	free(env);
	return r->host[0] ? 0 : -1;
}

struct cancel_on {
	const char *status;
	struct strata_cancel *cancel;
};

/* Cancel when a progress line with that status comes (maybe from a worker thread). */
static void cancel_on_status(void *cookie, const char *id, const char *status)
{
	struct cancel_on *c = cookie;

	if (!strcmp(status, c->status))
		strata_cancel_request(c->cancel);
}

static int push(struct strata_store *store, const char *name, struct cancel_on *on, struct strata_error **err)
{
	struct strata_push_options po = { .progress = on ? cancel_on_status : NULL, .progress_cookie = on,
					  .cancel = on ? on->cancel : NULL };
	struct strata_image_index *idx = NULL;
	int ret = strata_image_index_load(store, &idx, err);

	if (ret == 0)
		ret = strata_push(idx, name, &po, err);
	strata_image_index_free(idx);
	return ret;
}

static void test_registry(struct strata_store *src, const char *id)
{
	char *dir = path_of("registry"), *root = path_of("pulled"), *name = NULL, *full = NULL;
	struct strata_cancel *cancel = strata_cancel_new();
	struct cancel_on on = { "Preparing", cancel };
	struct strata_pull_options po = { .progress = cancel_on_status, .progress_cookie = &on };
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct reg r = { 0 };
	int ret;

	if (run("command -v docker-registry >/dev/null && command -v ", "python3", " >/dev/null") != 0 ||
	    access("tests/fixtures/registry/launch.py", R_OK) < 0) {
		printf("ok %d - # SKIP docker-registry or python3 missing, or not run from the source tree\n",
		       ++tap_count);
		goto out;
	}
	ret = start_registry(dir, &r);
	ok(ret == 0, "registry started");
	if (ret < 0)
		goto out;
	if (asprintf(&name, "%s/embed/api:1", r.host) < 0)
		abort();
	ret = strata_image_index_load(src, &idx, &err);
	if (ret == 0)
		ret = strata_image_tag(idx, "embed/api:1", name, &err);
	strata_image_index_free(idx);
	ok(ret == 0, "tag for the registry");

	ret = push(src, name, &on, &err);
	ok(ret == -STRATA_ERR_INTERRUPTED && err && err->code == STRATA_ERR_INTERRUPTED,
	   "a push cancelled as its layers are prepared fails as interrupted (%s)", err ? err->msg : "no error");
	strata_error_free(err);
	err = NULL;
	ret = push(src, name, NULL, &err);
	ok(ret == 0, "push without cancelling (%s)", err ? err->msg : "ok");
	strata_error_free(err);
	err = NULL;

	ret = strata_store_open(root, NULL, STRATA_STORE_WRITE, &store, &err);
	ok(ret == 0, "a new store to pull into");
	if (ret < 0)
		goto out;
	strata_cancel_free(cancel);
	on.cancel = po.cancel = cancel = strata_cancel_new();
	strata_cancel_request(cancel);
	ret = strata_pull(store, name, &po, &full, &err);
	ok(ret == -STRATA_ERR_INTERRUPTED && err && err->code == STRATA_ERR_INTERRUPTED,
	   "a pull cancelled before it starts fails as interrupted (%s)", err ? err->msg : "no error");
	strata_error_free(err);
	err = NULL;
	strata_cancel_free(cancel);
	on.cancel = po.cancel = cancel = strata_cancel_new();
	on.status = "Pulling fs layer";
	ret = strata_pull(store, name, &po, &full, &err);
	ok(ret == -STRATA_ERR_INTERRUPTED && err && err->code == STRATA_ERR_INTERRUPTED,
	   "a pull cancelled as its layers start fails as interrupted (%s)", err ? err->msg : "no error");
	strata_error_free(err);
	err = NULL;
	ok(image_count(store) == 0 && count_entries(store, "layerdb/sha256", "") == 0,
	   "the cancelled pulls left no image, no layer");
	po.cancel = NULL;
	ret = strata_pull(store, name, &po, &full, &err);
	ok(ret == 0 && image_count(store) == 1, "pull without cancelling (%s)", err ? err->msg : "ok");
	ret = strata_image_index_load(store, &idx, &err);
	ok(ret == 0 && strata_image_index_find(idx, id), "the pulled image has the pushed ID");
	strata_image_index_free(idx);
out:
	if (r.pid > 0) {
		kill(r.pid, SIGTERM);
		waitpid(r.pid, NULL, 0);
	}
	strata_error_free(err);
	strata_cancel_free(cancel);
	strata_store_free(store);
	free(full);
	free(name);
	free(root);
	free(dir);
}

static void test_credentials(void)
{
	struct strata_credentials c = { 0 };
	struct strata_error *err = NULL;
	char *key = strata_credentials_key(NULL), *local = strata_credentials_key("http://127.0.0.1:5000/");

	is_str(key, "https://index.docker.io/v1/", "Docker Hub's credentials key");
	is_str(local, "127.0.0.1:5000", "a registry's key is its host:port");
	ok(strata_credentials_get(NULL, "127.0.0.1:5000", &c, &err) == 0 && !c.username,
	   "no docker config folder: no stored credentials");
	ok(strata_credentials_store(NULL, "127.0.0.1:5000", &c, &err) == -STRATA_ERR_INVALID,
	   "nowhere to store credentials");
	strata_error_free(err);
	free(key);
	free(local);
}

int main(void)
{
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	char id[72] = "";
	char *root;

	signal(SIGPIPE, SIG_IGN); /* a cancelled load closes the pipe its feeder writes */
	test_basics();
	test_credentials();
	if (!mkdtemp(tmp)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	root = path_of("store");
	if (make_rootfs_tar() < 0 || strata_store_open(root, NULL, STRATA_STORE_WRITE, &store, &err) < 0) {
		ok(0, "rootfs tar and a store (%s)", err ? err->msg : strerror(errno));
	} else if (test_handles(store, id) == 0) {
		test_load(store, id);
		test_registry(store, id);
	}
	strata_error_free(err);
	strata_store_free(store);
	free(root);
	if (run("rm -rf ", tmp, "") != 0)
		printf("# could not remove %s\n", tmp);
	return tap_done();
}
