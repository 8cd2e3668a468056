/*
 * A container's life through the library, on overlay2 and vfs: create
 * (dockerd's files and modes), run through runc (exit status, output,
 * json-file log, State), changes and the layer diff as dockerd writes
 * them, commit (history, diff_ids, metadata parent), remove.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/container.h"
#include "image/image-private.h"
#include "image/imagedb.h"
#include "layer/layerstore.h"
#include "store/store-private.h"
#include "strata/image.h"
#include "strata/store.h"
#include "tap.h"
#include "util/fs.h"
#include "util/strbuf.h"

#define RUNC "/usr/sbin/runc"
#define BUSYBOX "/bin/busybox"

static char base[] = "/tmp/strata-container-XXXXXX";

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static mode_t mode_of(const char *root, const char *rel)
{
	char p[1024];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return lstat(p, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static int collect(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	strbuf_add(cookie, data, len);
	return 0;
}

struct membuf {
	const char *p;
	size_t left;
};

static ssize_t mem_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct membuf *m = cookie;
	size_t n = len < m->left ? len : m->left;

	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (ssize_t)n;
}

/* "name type mode link" lines of a tar */
static void tar_listing(const struct strbuf *tar, struct strbuf *out)
{
	struct membuf m = { tar->buf, tar->len };
	struct tar_reader *r = tar_reader_new(mem_read, &m);
	const struct tar_entry *e;
	struct strata_error *err = NULL;

	while (tar_reader_next(r, &e, &err) == 1)
		strbuf_addf(out, "%s %c %o %s\n", e->name, e->typeflag, e->mode, e->linkname);
	tar_reader_free(r);
	strata_error_free(err);
}

#define SCRIPT \
	"echo out; echo err >&2; mkdir /new; echo x > /new/f; ln /new/f /new/g; " \
	"rm /opt/a/bye; rm -rf /opt/b; mkdir /opt/b; echo z > /opt/b/z; exit 3"

static void one_driver(const char *driver)
{
	char root[256], path[512], id[72], cid[65], mount_id[65];
	struct strata_store *store = NULL;
	struct strata_image_index *idx = NULL;
	struct strata_image *img = NULL, *child;
	struct strata_error *err = NULL;
	struct strata_import_options io = { .ref = "base:1" };
	struct container *c = NULL;
	struct diff_changes ch = { 0 };
	struct strbuf tar = STRBUF_INIT, list = STRBUF_INIT, log = STRBUF_INIT;
	json_t *cfg = json_pack("{s[sss]}", "Cmd", "/bin/sh", "-c", SCRIPT);
	char *buf = NULL;
	size_t len;
	int status = -1, out;

	snprintf(root, sizeof(root), "%s/%s", base, driver);
	snprintf(path, sizeof(path), "%s/rootfs.tar", base);
	if (strata_store_open(root, driver, STRATA_STORE_WRITE, &store, &err) < 0 ||
	    strata_image_index_load(store, &idx, &err) < 0 || strata_image_import(idx, path, &io, id, &err) < 0) {
		printf("ok %d - # SKIP %s: %s\n", ++tap_count, driver, err ? err->msg : "?");
		goto out;
	}
	strata_image_index_free(idx);
	if (strata_image_index_load(store, &idx, &err) < 0 || strata_image_lookup(idx, "base:1", &img, &err) < 0)
		bail_out("reload: %s", err->msg);

	ok(container_create(idx, img, &(struct container_create_opts){ .config = NULL }, &c, &err) < 0 &&
	   !strcmp(err->msg, "No command specified"), "%s: no command is refused as dockerd does", driver);
	strata_error_freep(&err);

	if (container_create(idx, img, &(struct container_create_opts){ .config = cfg, .name = "c1" }, &c, &err) < 0) {
		printf("ok %d - # SKIP %s: create: %s\n", ++tap_count, driver, err->msg);
		goto out;
	}
	memcpy(cid, c->id, 65);
	memcpy(mount_id, c->mount_id, 65);
	snprintf(path, sizeof(path), "containers/%s", cid);
	ok(mode_of(root, path) == 0710, "%s: containers/<id> 0710", driver);
	snprintf(path, sizeof(path), "containers/%s/config.v2.json", cid);
	ok(mode_of(root, path) == 0600, "%s: config.v2.json 0600", driver);
	snprintf(path, sizeof(path), "containers/%s/hostconfig.json", cid);
	ok(mode_of(root, path) == 0644, "%s: hostconfig.json 0644", driver);
	snprintf(path, sizeof(path), "containers/%s/checkpoints", cid);
	ok(mode_of(root, path) == 0700, "%s: checkpoints/ 0700", driver);
	snprintf(path, sizeof(path), "image/%s/layerdb/mounts/%s/mount-id", driver, cid);
	ok(mode_of(root, path) == 0644, "%s: layerdb/mounts/<id>/mount-id", driver);
	is_str(container_name(c), "c1", "%s: the name", driver);
	ok(container_create(idx, img, &(struct container_create_opts){ .config = cfg, .name = "c1" }, &(struct container *){ NULL }, &err) < 0 &&
	   strstr(err->msg, "is already in use by container"), "%s: a name in use is refused", driver);
	strata_error_freep(&err);

	snprintf(path, sizeof(path), "%s/out", base);
	out = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (geteuid() != 0 || access(RUNC, X_OK) != 0) {
		printf("ok %d - # SKIP needs root and %s\n", ++tap_count, RUNC);
		close(out);
		goto out;
	}
	ok(container_run(c, &(struct container_run_opts){ .in_fd = -1, .out_fd = out, .err_fd = out }, &status, &err) == 0,
	   "%s: run (%s)", driver, err ? err->msg : "ok");
	ok(status == 3, "%s: exit status %d", driver, status);
	close(out);
	if (fs_read_file_at(AT_FDCWD, path, 4096, &buf, &len, &err) == 0)
		ok(strlen(buf) == 8 && strstr(buf, "out\n") && strstr(buf, "err\n"), "%s: output passed on", driver);
	free(buf);
	buf = NULL;
	ok(!container_running(c) && json_integer_value(json_object_get(json_object_get(c->cfg, "State"), "ExitCode")) == 3,
	   "%s: State records the exit", driver);
	snprintf(path, sizeof(path), "%s/containers/%s/%s-json.log", root, cid, cid);
	if (fs_read_file_at(AT_FDCWD, path, 65536, &buf, &len, &err) == 0) {
		ok(strstr(buf, "{\"log\":\"out\\n\",\"stream\":\"stdout\",\"time\":\"") != NULL, "%s: json-file log line", driver);
		ok(strstr(buf, "{\"log\":\"err\\n\",\"stream\":\"stderr\",\"time\":\"") != NULL, "%s: stderr logged", driver);
	} else {
		ok(0, "%s: log read: %s", driver, err->msg);
	}
	free(buf);
	buf = NULL;
	snprintf(path, sizeof(path), "containers/%s/%s-json.log", cid, cid);
	ok(mode_of(root, path) == 0640, "%s: log 0640", driver);
	snprintf(path, sizeof(path), "containers/%s/resolv.conf.hash", cid);
	ok(mode_of(root, path) == 0644, "%s: resolv.conf.hash", driver);

	ok(container_diff_tar(c, &(struct diff_options){ .mtime_clamp = -1 }, collect, &tar, &err) == 0,
	   "%s: layer diff (%s)", driver, err ? err->msg : "ok");
	tar_listing(&tar, &list);
	if (!strcmp(driver, "overlay2"))
		is_str(list.buf,
		       "new/ 5 755 \nnew/f 0 644 \nnew/g 1 644 new/f\nopt/ 5 755 \nopt/a/ 5 755 \n"
		       "opt/a/.wh.bye 0 600 \nopt/b/ 5 755 \nopt/b/.wh..wh..opq 0 755 \nopt/b/z 0 644 \n",
		       "overlay2: the upper folder re-tarred as dockerd (walk order, whiteout, opaque, hard link)");
	else
		is_str(list.buf,
		       "new/ 5 755 \nnew/f 0 644 \nnew/g 1 644 new/f\nopt/ 5 755 \nopt/a/ 5 755 \n"
		       "opt/a/.wh.bye 0 0 \nopt/b/ 5 755 \nopt/b/.wh.y 0 0 \nopt/b/z 0 644 \n",
		       "vfs: the naive diff against the init layer, sorted by path");
	ok(container_changes(c, &ch, &err) == 0 && ch.nr > 3, "%s: changes (%s)", driver, err ? err->msg : "ok");
	strbuf_reset(&list);
	for (size_t i = 0; i < ch.nr; i++)
		strbuf_addf(&list, "%c %s\n", "CAD"[ch.items[i].kind], ch.items[i].path);
	ok(strstr(list.buf, "A /new\nA /new/f\nA /new/g\n") && strstr(list.buf, "D /opt/a/bye\n"),
	   "%s: docker diff lines", driver);
	diff_changes_release(&ch);

	ok(container_commit(idx, c, &(struct container_commit_opts){ .author = "me", .comment = "msg", .ref = "child:1", .mtime_clamp = -1 },
			    id, &err) == 0,
	   "%s: commit (%s)", driver, err ? err->msg : "ok");
	child = strata_image_index_find(idx, id);
	ok(child && child->nr_layers == img->nr_layers + 1 && child->parent && !strcmp(child->parent, img->id),
	   "%s: one more layer, metadata parent", driver);
	if (child) {
		json_t *h = json_object_get(image_config(child), "history");
		json_t *last = json_array_get(h, json_array_size(h) - 1);

		is_str(json_string_value(json_object_get(last, "created_by")), "/bin/sh -c " SCRIPT,
		       "%s: created_by is the Cmd joined", driver);
		is_str(json_string_value(json_object_get(last, "comment")), "msg", "%s: comment", driver);
		is_str(json_string_value(json_object_get(image_config(child), "container")), cid, "%s: container", driver);
		ok(!strcmp(json_string_value(json_object_get(json_object_get(image_config(child), "config"), "Hostname")),
			   (char[13]){ cid[0], cid[1], cid[2], cid[3], cid[4], cid[5], cid[6], cid[7], cid[8], cid[9], cid[10], cid[11], 0 }),
		   "%s: Hostname = 12-char ID", driver);
	}

	ok(container_remove(c, false, &err) == 0, "%s: remove (%s)", driver, err ? err->msg : "ok");
	snprintf(path, sizeof(path), "containers/%s", cid);
	ok(mode_of(root, path) == (mode_t)-1, "%s: containers/<id> gone", driver);
	snprintf(path, sizeof(path), "image/%s/layerdb/mounts/%s", driver, cid);
	ok(mode_of(root, path) == (mode_t)-1, "%s: mounts entry gone", driver);
	snprintf(path, sizeof(path), "%s/%s%s", driver, !strcmp(driver, "vfs") ? "dir/" : "", mount_id);
	ok(mode_of(root, path) == (mode_t)-1, "%s: rw layer gone", driver);
	snprintf(path, sizeof(path), "%s/%s%s-init", driver, !strcmp(driver, "vfs") ? "dir/" : "", mount_id);
	ok(mode_of(root, path) == (mode_t)-1, "%s: init layer gone", driver);
out:
	container_free(c);
	strata_error_free(err);
	strata_image_index_free(idx);
	strata_store_free(store);
	json_decref(cfg);
	strbuf_release(&tar);
	strbuf_release(&list);
	strbuf_release(&log);
}

int main(void)
{
	if (access(BUSYBOX, X_OK) != 0) {
		printf("ok 1 - # SKIP needs %s\n", BUSYBOX);
		return tap_done();
	}
	if (!mkdtemp(base))
		bail_out("mkdtemp");
	if (sh("mkdir -p %s/rootfs/bin %s/rootfs/opt/a %s/rootfs/opt/b", base, base, base) ||
	    sh("cp " BUSYBOX " %s/rootfs/bin/busybox && for a in sh echo mkdir rm ln; do ln -s busybox %s/rootfs/bin/$a; done",
	       base, base) ||
	    sh("touch %s/rootfs/opt/a/bye %s/rootfs/opt/b/y", base, base) || sh("tar -C %s/rootfs -cf %s/rootfs.tar .", base, base))
		bail_out("rootfs");
	one_driver("overlay2");
	one_driver("vfs");
	sh("rm -rf %s", base);
	return tap_done();
}
