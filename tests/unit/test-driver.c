/* Graph drivers: dockerd's overlay2 / vfs layout, modes, links, removal, overlay mount. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "driver/driver.h"
#include "tap.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "util/strbuf.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static char base[] = "/tmp/strata-driver-XXXXXX";

static unsigned mode_of(int dfd, const char *path)
{
	struct stat st;

	if (fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0xffff;
	return st.st_mode & 07777;
}

static char *slurp(int dfd, const char *path)
{
	char *s = NULL;

	if (fs_read_file_at(dfd, path, 4096, &s, NULL, NULL) < 0)
		return NULL;
	return s;
}

static bool str_eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

struct problems {
	int n;
	char last[512];
};

static void collect(void *cookie, const char *id, const char *problem)
{
	struct problems *p = cookie;

	p->n++;
	snprintf(p->last, sizeof(p->last), "%s", problem);
	printf("# check %.12s: %s\n", id, problem);
}

/* Apply a tiny layer made of (name, type, mode, data) entries. */
static int apply(struct graph_driver *d, const char *id, const struct tar_entry *ents, size_t n,
		 int64_t *size)
{
	struct layer_applier *a = NULL;
	struct strata_error *err = NULL;
	int ret = graph_driver_apply_begin(d, id, &a, &err);

	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = layer_applier_apply(a, &ents[i], ents[i].size, NULL, NULL, &err);
	if (ret == 0)
		ret = layer_applier_finish(a, size, &err);
	if (err)
		printf("# apply: %s\n", err->msg);
	strata_error_free(err);
	layer_applier_free(a);
	return ret;
}

static ssize_t str_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	const char **p = cookie;
	size_t n = strlen(*p) < len ? strlen(*p) : len;

	memcpy(buf, *p, n);
	*p += n;
	return (ssize_t)n;
}

static int apply_file(struct graph_driver *d, const char *id, const char *name, const char *data)
{
	struct layer_applier *a = NULL;
	struct strata_error *err = NULL;
	struct tar_entry e = { .name = (char *)name, .linkname = "", .typeflag = TAR_REG, .mode = 0644,
			       .size = strlen(data), .mtime_sec = 1000 };
	const char *p = data;
	int ret = graph_driver_apply_begin(d, id, &a, &err);

	if (ret == 0)
		ret = layer_applier_apply(a, &e, e.size, str_read, &p, &err);
	if (ret == 0)
		ret = layer_applier_finish(a, NULL, &err);
	if (err)
		printf("# apply: %s\n", err->msg);
	strata_error_free(err);
	layer_applier_free(a);
	return ret;
}

static void test_ids(void)
{
	char l1[GRAPH_DRIVER_LINK_LEN + 1], l2[GRAPH_DRIVER_LINK_LEN + 1], l3[GRAPH_DRIVER_LINK_LEN + 1];

	ok(graph_driver_id_valid(ID_A), "64 hex id valid");
	ok(graph_driver_id_valid(ID_A "-init"), "-init id valid");
	ok(!graph_driver_id_valid("../" ID_A), "../ id invalid");
	ok(!graph_driver_id_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "upper case invalid");
	ok(!graph_driver_id_valid(ID_A "x"), "65 chars invalid");
	ok(!graph_driver_id_valid(""), "empty invalid");
	graph_driver_link_candidate(ID_A, 0, l1);
	graph_driver_link_candidate(ID_A, 0, l2);
	graph_driver_link_candidate(ID_A, 1, l3);
	ok(strlen(l1) == 26 && strspn(l1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == 26, "link id: 26 chars A-Z2-7 (%s)", l1);
	ok(!strcmp(l1, l2) && strcmp(l1, l3), "link id deterministic; next candidate differs");
}

static void test_overlay2(int root)
{
	struct graph_driver *d = NULL;
	struct strata_error *err = NULL;
	int home;
	char la[27], lb[27], *s;
	char buf[128];
	ssize_t n;
	char **ids = NULL;
	size_t nr = 0;
	struct problems p = { 0 };
	struct tar_entry wh = { .name = "etc/.wh.gone", .linkname = "", .typeflag = TAR_REG, .mode = 0600 };

	ok(graph_driver_open(root, "overlay2", &d, &err) == 0, "overlay2 opened (%s)", err ? err->msg : "ok");
	ok(!strcmp(graph_driver_name(d), "overlay2"), "name");
	ok(mode_of(root, "overlay2") == 0710 && mode_of(root, "overlay2/l") == 0700, "overlay2/ 0710, l/ 0700");
	home = openat(root, "overlay2", O_RDONLY | O_DIRECTORY);

	ok(graph_driver_create(d, ID_A, NULL, &err) == 0, "create base layer");
	ok(mode_of(home, ID_A) == 0710 && mode_of(home, ID_A "/diff") == 0755, "<id>/ 0710, diff/ 0755");
	ok(mode_of(home, ID_A "/link") == 0644, "link 0644");
	s = slurp(home, ID_A "/link");
	graph_driver_link_candidate(ID_A, 0, la);
	ok(str_eq(s, la), "link file = derived link id, no newline");
	free(s);
	{
		char lpath[64];

		snprintf(lpath, sizeof(lpath), "l/%s", la);
		n = readlinkat(home, lpath, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
	}
	ok(str_eq(buf, "../" ID_A "/diff") && n == 72, "l/<link> -> ../<id>/diff (72 bytes)");
	ok(!fs_exists_at(home, ID_A "/lower") && !fs_exists_at(home, ID_A "/work"), "base: no lower, no work");
	ok(!fs_exists_at(home, ID_A "/committed"), "base: not committed yet");
	ok(apply_file(d, ID_A, "etc/gone", "lower file\n") == 0, "base layer applied");
	ok(apply_file(d, ID_A, "etc/kept", "kept\n") == 0, "base layer second file");

	ok(graph_driver_create(d, ID_B, ID_A, &err) == 0, "create child layer");
	ok(mode_of(home, ID_B "/work") == 0700, "child: work/ 0700");
	s = slurp(home, ID_B "/lower");
	snprintf(buf, sizeof(buf), "l/%s", la);
	ok(str_eq(s, buf), "child: lower = l/<parent link>");
	free(s);
	ok(mode_of(home, ID_B "/lower") == 0644, "lower 0644");
	ok(fs_exists_at(home, ID_A "/committed") && mode_of(home, ID_A "/committed") == 0600,
	   "parent got committed 0600");
	s = slurp(home, ID_A "/committed");
	ok(str_eq(s, ""), "committed is empty");
	free(s);
	ok(apply(d, ID_B, &wh, 1, NULL) == 0, "child: whiteout of etc/gone");
	ok(apply_file(d, ID_B, "etc/new", "upper\n") == 0, "child: new file");

	ok(graph_driver_create(d, ID_C, ID_B, &err) == 0, "create grandchild");
	s = slurp(home, ID_C "/lower");
	s = s ? s : xstrdup("");
	s[strcspn(s, "\n")] = 0;
	{
		char *lb_file = slurp(home, ID_B "/link");

		snprintf(lb, sizeof(lb), "%s", lb_file ? lb_file : "");
		free(lb_file);
	}
	snprintf(buf, sizeof(buf), "l/%s:l/%s", lb, la);
	ok(str_eq(s, buf), "grandchild lower nearest first: %s", s);
	free(s);

	ok(graph_driver_check(d, ID_A, NULL, collect, &p, &err) == 0, "check base clean");
	ok(graph_driver_check(d, ID_C, ID_B, collect, &p, &err) == 0, "check grandchild clean");
	ok(graph_driver_check(d, ID_C, ID_A, collect, &p, &err) == 1, "check notices wrong parent chain");
	ok(graph_driver_list(d, &ids, &nr, &err) == 0 && nr == 3 && !strcmp(ids[0], ID_A) &&
	   !strcmp(ids[2], ID_C), "list: 3 layers, sorted, l/ excluded");
	graph_driver_list_free(ids);
	{
		int fd = graph_driver_diff_fd(d, ID_B, &err);
		struct stat st;

		ok(fd >= 0 && fstatat(fd, "etc/gone", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
		   st.st_rdev == makedev(0, 0), "diff_fd: <id>/diff with whiteout device");
		close(fd);
	}
	ok(graph_driver_diff_fd(d, "../../etc", &err) < 0 && err && err->code == STRATA_ERR_INVALID,
	   "diff_fd refuses a bad id");
	strata_error_freep(&err);

	/* the merged view: 2-layer chain, whiteout hides the lower file */
	{
		char target[256];
		struct strata_error *merr = NULL;

		snprintf(target, sizeof(target), "%s/merged", base);
		mkdir(target, 0700);
		if (graph_driver_mount(d, ID_B, target, &merr) < 0) {
			printf("ok %d - overlay mount # SKIP %s\n", ++tap_count, merr ? merr->msg : "?");
		} else {
			int m = open(target, O_RDONLY | O_DIRECTORY);
			char *kept = slurp(m, "etc/kept"), *upper = slurp(m, "etc/new");

			ok(!fs_exists_at(m, "etc/gone"), "merged: whiteout hides the lower file");
			ok(str_eq(kept, "kept\n") && str_eq(upper, "upper\n"), "merged: lower and upper files visible");
			free(kept);
			free(upper);
			close(m);
			ok(graph_driver_unmount(d, target, &merr) == 0, "unmount");
			ok(graph_driver_mount(d, ID_A, target, &merr) == 0, "mount base (committed, bind ro)");
			m = open(target, O_RDONLY | O_DIRECTORY);
			ok(fs_exists_at(m, "etc/gone") && openat(m, "x", O_CREAT | O_WRONLY, 0600) < 0 && errno == EROFS,
			   "base view read-only");
			close(m);
			graph_driver_unmount(d, target, NULL);
		}
		strata_error_free(merr);
	}

	/* leftover with the same id is replaced; link stays the same */
	ok(graph_driver_create(d, ID_C, ID_B, &err) == 0, "re-create over a leftover folder");
	s = slurp(home, ID_C "/link");
	{
		char lc[27];

		graph_driver_link_candidate(ID_C, 0, lc);
		ok(str_eq(s, lc), "same link id after re-create");
	}
	free(s);

	/* a taken link name: next deterministic candidate */
	{
		char l0[27], l1[27];
		const char *id_d = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";
		int lfd = openat(home, "l", O_RDONLY | O_DIRECTORY);

		graph_driver_link_candidate(id_d, 0, l0);
		graph_driver_link_candidate(id_d, 1, l1);
		symlinkat("../someone-else/diff", lfd, l0);
		ok(graph_driver_create(d, id_d, NULL, &err) == 0, "create with candidate 0 taken");
		s = slurp(home, "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd/link");
		ok(str_eq(s, l1), "took candidate 1");
		free(s);
		ok(graph_driver_remove(d, id_d, &err) == 0 && fs_exists_at(lfd, l0) && !fs_exists_at(lfd, l1),
		   "remove: only its own link removed");
		unlinkat(lfd, l0, 0);
		close(lfd);
	}

	/* remove */
	graph_driver_link_candidate(ID_C, 0, lb);
	ok(graph_driver_remove(d, ID_C, &err) == 0, "remove grandchild");
	snprintf(buf, sizeof(buf), "l/%s", lb);
	ok(!fs_exists_at(home, ID_C) && !fs_exists_at(home, buf), "folder and l/ link gone");
	ok(graph_driver_remove(d, ID_C, &err) == 0, "remove of a missing layer is fine");
	ok(graph_driver_remove(d, "../" ID_A, &err) < 0 && err->code == STRATA_ERR_INVALID, "remove refuses bad id");
	strata_error_freep(&err);
	ok(!graph_driver_exists(d, ID_C) && graph_driver_exists(d, ID_B), "exists");

	/* a planted link file pointing elsewhere must not make remove delete foreign things */
	{
		fs_write_file_at(openat(home, ID_B, O_RDONLY | O_DIRECTORY), "link", "../../../etc", 12, 0644, NULL);
		p.n = 0;
		ok(graph_driver_check(d, ID_B, ID_A, collect, &p, &err) >= 1, "check reports a malformed link file");
		ok(graph_driver_remove(d, ID_B, &err) == 0 && !fs_exists_at(home, ID_B), "remove with bad link file");
	}
	close(home);
	graph_driver_close(d);
}

static void test_vfs(int root)
{
	struct graph_driver *d = NULL;
	struct strata_error *err = NULL;
	int dir;
	struct stat a, b;
	int64_t size = -1;
	char v[4];
	struct tar_entry base_ents[] = {
		{ .name = "f", .linkname = "", .typeflag = TAR_REG, .mode = 04755, .uid = 5, .gid = 6, .mtime_sec = 77 },
		{ .name = "h", .linkname = "f", .typeflag = TAR_LINK, .mode = 04755, .uid = 5, .gid = 6 },
		{ .name = "s", .linkname = "/f", .typeflag = TAR_SYMLINK, .mode = 0777 },
		{ .name = "null", .linkname = "", .typeflag = TAR_CHR, .mode = 0666, .devmajor = 1, .devminor = 3 },
		{ .name = "p", .linkname = "", .typeflag = TAR_FIFO, .mode = 0600 },
		{ .name = "d", .linkname = "", .typeflag = TAR_DIR, .mode = 0750, .mtime_sec = 99 },
		{ .name = "d/gone", .linkname = "", .typeflag = TAR_REG, .mode = 0644 },
	};
	struct tar_xattr xa = { "user.k", "vv", 2 };
	struct tar_entry del = { .name = "d/.wh.gone", .linkname = "", .typeflag = TAR_REG, .mode = 0600 };

	base_ents[0].xattrs = &xa;
	base_ents[0].nr_xattrs = 1;
	ok(graph_driver_open(root, "vfs", &d, &err) == 0, "vfs opened");
	ok(mode_of(root, "vfs") == 0710 && mode_of(root, "vfs/dir") == 0710, "vfs/ and vfs/dir/ 0710 (moby vfs Init/create)");
	dir = openat(root, "vfs/dir", O_RDONLY | O_DIRECTORY);
	ok(graph_driver_create(d, ID_A, NULL, &err) == 0 && mode_of(dir, ID_A) == 0755, "base: dir/<id> 0755");
	ok(apply(d, ID_A, base_ents, 7, &size) == 0, "base applied");
	ok(graph_driver_create(d, ID_B, ID_A, &err) == 0, "child = copy of parent (%s)", err ? err->msg : "ok");
	ok(fstatat(dir, ID_B "/f", &a, AT_SYMLINK_NOFOLLOW) == 0 && fstatat(dir, ID_B "/h", &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	   a.st_ino == b.st_ino && (a.st_mode & 07777) == 04755 && a.st_uid == 5 && a.st_mtim.tv_sec == 77,
	   "copy keeps hard link, setuid, owner, mtime");
	{
		int fd = openat(dir, ID_B "/f", O_RDONLY);

		ok(fgetxattr(fd, "user.k", v, sizeof(v)) == 2, "copy keeps xattrs");
		close(fd);
	}
	ok(fstatat(dir, ID_B "/null", &a, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(a.st_mode) && a.st_rdev == makedev(1, 3),
	   "copy keeps devices");
	ok(fstatat(dir, ID_B "/p", &a, AT_SYMLINK_NOFOLLOW) == 0 && S_ISFIFO(a.st_mode), "copy keeps fifos");
	ok(fstatat(dir, ID_B "/s", &a, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(a.st_mode), "copy keeps symlinks");
	ok(fstatat(dir, ID_B "/d", &a, AT_SYMLINK_NOFOLLOW) == 0 && a.st_mtim.tv_sec == 99 && (a.st_mode & 07777) == 0750,
	   "copy keeps folder mode and mtime");
	ok(apply(d, ID_B, &del, 1, &size) == 0 && !fs_exists_at(dir, ID_B "/d/gone") && fs_exists_at(dir, ID_A "/d/gone"),
	   "vfs whiteout deletes from the copy only");
	ok(graph_driver_check(d, ID_B, ID_A, NULL, NULL, &err) == 0 && graph_driver_check(d, ID_C, NULL, NULL, NULL, &err) == 1,
	   "vfs check: folder exists / missing");
	ok(graph_driver_remove(d, ID_B, &err) == 0 && !fs_exists_at(dir, ID_B), "vfs remove");
	close(dir);
	graph_driver_close(d);
}

static void test_probe(void)
{
	const struct graph_driver_ops *ops;
	char path[256], probe[64];
	int r;

	snprintf(path, sizeof(path), "%s/probe", base);
	mkdir(path, 0700);
	r = open(path, O_RDONLY | O_DIRECTORY);
	ops = graph_driver_probe(r);
	ok(ops == graph_driver_ops_by_name("overlay2") || ops == graph_driver_ops_by_name("vfs"),
	   "probe on an empty root: %s", ops ? ops->name : "(none)");
	snprintf(probe, sizeof(probe), ".strata-overlay-probe-%ld", (long)getpid());
	ok(!fs_exists_at(r, probe) && fs_exists_at(r, "."), "probe cleaned up");
	close(r);
}

static void add_kv(void *cookie, const char *key, const char *value)
{
	strbuf_addf(cookie, "%s=%s\n", key, value);
}

static void test_ops(void)
{
	const struct graph_driver_ops *ov = graph_driver_ops_by_name("overlay2");
	const struct graph_driver_ops *vfs = graph_driver_ops_by_name("vfs");
	const char *lowers[] = { ID_B, ID_C };
	const char *bad[] = { ID_B, ".." };
	struct strata_error *err = NULL;
	struct strbuf sb = STRBUF_INIT;

	ok(ov && !strcmp(ov->name, "overlay2") && vfs && !strcmp(vfs->name, "vfs"), "ops by name");
	ok(!graph_driver_ops_by_name("aufs") && !graph_driver_ops_by_name(""), "an unknown name has no ops");
	ok(graph_drivers[0] == ov && graph_drivers[1] == vfs && !graph_drivers[2],
	   "graph_drivers: overlay2 (dockerd's first choice), vfs");
	ok(ov->caps & GRAPH_DRIVER_CAP_PARALLEL_APPLY, "overlay2 applies a chain's layers in parallel");
	ok(!(vfs->caps & GRAPH_DRIVER_CAP_PARALLEL_APPLY), "vfs does not (create copies the parent)");

	ok(graph_driver_metadata(ov, "/r", ID_A, lowers, 2, add_kv, &sb, &err) == 0, "overlay2 metadata");
	is_str(sb.buf,
	       "LowerDir=/r/overlay2/" ID_B "/diff:/r/overlay2/" ID_C "/diff\n"
	       "MergedDir=/r/overlay2/" ID_A "/merged\n"
	       "UpperDir=/r/overlay2/" ID_A "/diff\n"
	       "WorkDir=/r/overlay2/" ID_A "/work\n",
	       "overlay2 metadata: dockerd's keys, sorted, lowers nearest first");
	strbuf_reset(&sb);
	ok(graph_driver_metadata(ov, "/r", ID_A, NULL, 0, add_kv, &sb, &err) == 0 && !strstr(sb.buf, "LowerDir") &&
	   strstr(sb.buf, "MergedDir=/r/overlay2/" ID_A "/merged\n"), "overlay2 metadata of a base layer: no LowerDir");
	strbuf_reset(&sb);
	ok(graph_driver_metadata(vfs, "/r", ID_A, lowers, 2, add_kv, &sb, &err) == 0 && sb.len == 0,
	   "vfs has no metadata (the API's null)");
	ok(graph_driver_metadata(ov, "/r", "../x", NULL, 0, add_kv, &sb, &err) == -STRATA_ERR_INVALID && sb.len == 0,
	   "metadata refuses an id that is not one folder name");
	strata_error_freep(&err);
	ok(graph_driver_metadata(ov, "/r", ID_A, bad, 2, add_kv, &sb, &err) == -STRATA_ERR_INVALID && sb.len == 0,
	   "and such a parent id");
	strata_error_freep(&err);
	strbuf_release(&sb);
}

int main(void)
{
	int root;

	if (!mkdtemp(base))
		return 1;
	root = open(base, O_RDONLY | O_DIRECTORY);
	test_ids();
	test_overlay2(root);
	test_vfs(root);
	test_probe();
	test_ops();
	close(root);
	fs_remove_tree_at(AT_FDCWD, base, NULL);
	return tap_done();
}
