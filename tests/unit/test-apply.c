/* Layer applier: hostile input (RELIABILITY §4.1 rows 1-8, 12) and dockerd's rules. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "unpack/apply.h"
#include "fixtures.h"
#include "memio.h"
#include "tap.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "util/safepath.h"
#include "util/strbuf.h"

static char base[] = "/tmp/strata-apply-XXXXXX";
static char canary[4200];
static int base_fd = -1;

/* ---- entries ---- */

struct ent {
	const char *name;
	char type;
	unsigned mode;
	const char *data; /* file data, or link target */
	int uid, gid;
	long long mtime;
	unsigned major, minor;
	const char *xname, *xvalue;
	size_t xlen; /* 0: strlen(xvalue) */
};

static int apply_ents(struct layer_applier *a, const struct ent *ents, size_t n,
		      struct strata_error **err)
{
	for (size_t i = 0; i < n; i++) {
		const struct ent *x = &ents[i];
		struct tar_xattr xa;
		struct tar_entry e = { 0 };
		struct mem m = { 0 };
		bool islink = x->type == TAR_LINK || x->type == TAR_SYMLINK;

		e.name = (char *)x->name;
		e.typeflag = x->type;
		e.mode = x->mode;
		e.uid = x->uid;
		e.gid = x->gid;
		e.mtime_sec = x->mtime ? x->mtime : 1600000000;
		e.mtime_nsec = 123456789;
		e.linkname = (char *)(islink && x->data ? x->data : "");
		e.devmajor = x->major;
		e.devminor = x->minor;
		if (!islink && x->data) {
			m.p = (const unsigned char *)x->data;
			m.len = strlen(x->data);
			e.size = m.len;
		}
		if (x->xname) {
			xa.name = (char *)x->xname;
			xa.value = (char *)x->xvalue;
			xa.len = x->xlen ? x->xlen : strlen(x->xvalue);
			e.xattrs = &xa;
			e.nr_xattrs = 1;
		}
		if (layer_applier_apply(a, &e, e.size, mem_read, &m, err) < 0)
			return -1;
	}
	return 0;
}

/* tap.h's is_str nests ok() and trips -Wshadow; a plain helper instead. */
static void same_str(const char *got, const char *want, const char *what)
{
	int same = got && want && !strcmp(got, want);

	ok(same, "%s", what);
	if (!same)
		printf("#   got  '%s'\n#   want '%s'\n", got ? got : "(null)", want ? want : "(null)");
}

#define NENTS(arr) (sizeof(arr) / sizeof((arr)[0]))

/* ---- canary: a folder beside the target that must never change ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void snapshot(int dfd, const char *prefix, struct strbuf *out)
{
	DIR *d = fdopendir(dup(dfd));
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, alloc = 0;

	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ALLOC_GROW(names, n + 1, alloc);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		char buf[256] = "";

		fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW);
		if (S_ISREG(st.st_mode)) {
			int fd = openat(dfd, names[i], O_RDONLY);
			ssize_t r = read(fd, buf, sizeof(buf) - 1);

			buf[r > 0 ? r : 0] = 0;
			close(fd);
		}
		strbuf_addf(out, "%s/%s %o %u:%u n%lu %lld.%ld [%s]\n", prefix, names[i], st.st_mode,
			    st.st_uid, st.st_gid, (unsigned long)st.st_nlink, (long long)st.st_mtim.tv_sec,
			    st.st_mtim.tv_nsec, buf);
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
			char *p = xasprintf("%s/%s", prefix, names[i]);

			snapshot(sub, p, out);
			free(p);
			close(sub);
		}
		free(names[i]);
	}
	free(names);
}

static char *canary_state(void)
{
	struct strbuf sb = STRBUF_INIT;
	int fd = open(canary, O_RDONLY | O_DIRECTORY);

	snapshot(fd, "", &sb);
	close(fd);
	return strbuf_detach(&sb, NULL);
}

static void make_canary(void)
{
	int fd;

	snprintf(canary, sizeof(canary), "%s/canary", base);
	mkdir(canary, 0755);
	fd = open(canary, O_RDONLY | O_DIRECTORY);
	fs_write_file_at(fd, "passwd", "root:x:0:0\n", 11, 0644, NULL);
	fs_write_file_at(fd, "keep", "keep\n", 5, 0600, NULL);
	mkdirat(fd, "dir", 0750);
	close(fd);
}

/* A fresh empty target folder "root" beside the canary; returns its fd. */
static int fresh_root(void)
{
	fs_remove_tree_at(base_fd, "root", NULL);
	mkdirat(base_fd, "root", 0755);
	return openat(base_fd, "root", O_RDONLY | O_DIRECTORY);
}

static int run(enum whiteout_mode mode, int root, const struct ent *ents, size_t n,
	       int64_t *size, struct strata_error **err)
{
	struct layer_applier *a = NULL;
	int ret;

	if (layer_applier_new(root, mode, &a, err) < 0)
		return -1;
	ret = apply_ents(a, ents, n, err);
	if (ret == 0)
		ret = layer_applier_finish(a, size, err);
	layer_applier_free(a);
	return ret;
}

static bool root_empty_after_remove(void)
{
	fs_remove_tree_at(base_fd, "root", NULL);
	return !fs_exists_at(base_fd, "root");
}

/* Expect a refusal with `code`, message naming `name`; canary unchanged. */
static void expect_refused(const char *what, enum whiteout_mode mode, const struct ent *ents,
			   size_t n, int code, const char *name)
{
	struct strata_error *err = NULL;
	char *before = canary_state(), *after;
	int root = fresh_root();
	int ret = run(mode, root, ents, n, NULL, &err);

	after = canary_state();
	ok(ret < 0 && err && (int)err->code == code, "%s: refused (code %d, msg: %s)", what,
	   err ? (int)err->code : 0, err ? err->msg : "none");
	ok(err && strstr(err->msg, name), "%s: error names the entry '%s'", what, name);
	{ char *m = xasprintf("%s: canary unchanged", what); same_str(after, before, m); free(m); }
	ok(root_empty_after_remove(), "%s: target removable, nothing left", what);
	close(root);
	strata_error_free(err);
	free(before);
	free(after);
}

static void expect_contained(const char *what, enum whiteout_mode mode, const struct ent *ents,
			     size_t n, int *root_out)
{
	struct strata_error *err = NULL;
	char *before = canary_state(), *after;
	int root = fresh_root();
	int ret = run(mode, root, ents, n, NULL, &err);

	after = canary_state();
	/* dockerd applies each of these; containment is the canary check below */
	ok(ret == 0 && !err, "%s: applied inside the root (%s)", what, err ? err->msg : "ok");
	{ char *m = xasprintf("%s: canary unchanged", what); same_str(after, before, m); free(m); }
	strata_error_free(err);
	free(before);
	free(after);
	if (root_out)
		*root_out = root;
	else
		close(root);
}

/* ---- hostile classes ---- */

static void test_dotdot(void)
{
	static const struct ent e1[] = { { "../../x", TAR_REG, 0644, "evil" } };
	static const struct ent e2[] = { { "/../x", TAR_REG, 0644, "evil" } };
	static const struct ent e3[] = { { "a/../../x", TAR_REG, 0644, "evil" } };
	static const struct ent e4[] = { { "./../x", TAR_REG, 0644, "evil" } };
	static const struct ent e5[] = { { "a/b/../../../canary/passwd", TAR_REG, 0644, "evil" } };
	struct ent abs[] = { { "/etc/x", TAR_REG, 0644, "inside" }, { "./a/./b/../c", TAR_REG, 0644, "c" } };
	int root;
	struct stat st;

	expect_refused("row1 ../../x", WHITEOUT_OVERLAY, e1, 1, STRATA_ERR_UNSAFE_PATH, "../../x");
	expect_refused("row1 /../x", WHITEOUT_OVERLAY, e2, 1, STRATA_ERR_UNSAFE_PATH, "/../x");
	expect_refused("row1 a/../../x", WHITEOUT_DELETE, e3, 1, STRATA_ERR_UNSAFE_PATH, "a/../../x");
	expect_refused("row1 ./../x", WHITEOUT_OVERLAY, e4, 1, STRATA_ERR_UNSAFE_PATH, "./../x");
	expect_refused("row1 deep ..", WHITEOUT_OVERLAY, e5, 1, STRATA_ERR_UNSAFE_PATH, "canary/passwd");
	expect_contained("row1 absolute /etc/x", WHITEOUT_OVERLAY, abs, 2, &root);
	ok(fstatat(root, "etc/x", &st, 0) == 0 && S_ISREG(st.st_mode), "row1: /etc/x stays inside as etc/x");
	ok(fstatat(root, "a/c", &st, 0) == 0, "row1: ./a/./b/../c cleaned to a/c");
	close(root);
}

static void test_symlink_escape(void)
{
	struct ent e1[] = { { "d", TAR_SYMLINK, 0777, canary }, { "d/passwd", TAR_REG, 0644, "evil" } };
	struct ent e2[] = { { "d", TAR_SYMLINK, 0777, "../../../../../.." },
			    { "d/passwd", TAR_REG, 0644, "contained" } };
	struct ent e3[] = { { "etc", TAR_DIR, 0755 }, { "d", TAR_SYMLINK, 0777, "/etc" },
			    { "d/passwd", TAR_REG, 0644, "contained" } };
	int root;
	struct stat st;
	char buf[64];

	expect_refused("row2 symlink to host folder then write", WHITEOUT_OVERLAY, e1, 2,
		       STRATA_ERR_UNSAFE_PATH, "d/passwd");
	expect_contained("row2 symlink ../../.. then write", WHITEOUT_OVERLAY, e2, 2, &root);
	ok(fstatat(root, "passwd", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode),
	   "row2: ../../.. resolves to the layer root (write stays inside)");
	close(root);
	expect_contained("row2 symlink /etc (exists in layer) then write", WHITEOUT_DELETE, e3, 3, &root);
	ok(readlinkat(root, "d", buf, sizeof(buf)) == 4, "row2: symlink stored as is");
	ok(fstatat(root, "etc/passwd", &st, AT_SYMLINK_NOFOLLOW) == 0,
	   "row2: /etc resolved in-root: etc/passwd inside the layer");
	close(root);
}

static void test_root_replace(void)
{
	static const struct ent e1[] = { { ".", TAR_SYMLINK, 0777, "/" } };
	static const struct ent e2[] = { { "/", TAR_SYMLINK, 0777, "/tmp" } };
	static const struct ent e3[] = { { "", TAR_SYMLINK, 0777, "/tmp" } };
	static const struct ent e4[] = { { "./", TAR_REG, 0644, "x" } };
	struct ent dir[] = { { "./", TAR_DIR, 0700, NULL, 0, 0, 1000 } };
	int root;
	struct stat st;

	expect_refused("row3 symlink named .", WHITEOUT_OVERLAY, e1, 1, STRATA_ERR_UNSAFE_PATH, "'.'");
	expect_refused("row3 symlink named /", WHITEOUT_DELETE, e2, 1, STRATA_ERR_UNSAFE_PATH, "'/'");
	expect_refused("row3 symlink named \"\"", WHITEOUT_OVERLAY, e3, 1, STRATA_ERR_UNSAFE_PATH, "''");
	expect_refused("row3 file named ./", WHITEOUT_OVERLAY, e4, 1, STRATA_ERR_UNSAFE_PATH, "'./'");
	expect_contained("row3 ./ dir in overlay mode", WHITEOUT_OVERLAY, dir, 1, &root);
	ok(fstat(root, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755,
	   "row3: overlay2 keeps diff/ 0755 (dockerd skips ./)");
	close(root);
	expect_contained("row3 ./ dir in vfs mode", WHITEOUT_DELETE, dir, 1, &root);
	ok(fstat(root, &st) == 0 && (st.st_mode & 07777) == 0700 && st.st_mtim.tv_sec == 1000,
	   "row3: vfs applies ./ metadata to the root (UnpackLayer)");
	close(root);
}

static void test_hardlink_escape(void)
{
	char abs_target[4300], out_sym[4300];
	static const struct ent e1[] = { { "h", TAR_LINK, 0644, "../../etc/shadow" } };
	struct ent e2[] = { { "h", TAR_LINK, 0644, abs_target } };
	struct ent e3[] = { { "s", TAR_SYMLINK, 0777, out_sym }, { "h", TAR_LINK, 0600, "s", 1234, 1234 } };
	static const struct ent e4[] = { { "h", TAR_LINK, 0644, "later" }, { "later", TAR_REG, 0644, "x" } };
	static const struct ent e5[] = { { "h", TAR_LINK, 0644, "/" } };
	int root;
	struct stat st;

	snprintf(abs_target, sizeof(abs_target), "%s/passwd", canary);
	snprintf(out_sym, sizeof(out_sym), "%s/passwd", canary);
	expect_refused("row4 hard link ../../etc/shadow", WHITEOUT_OVERLAY, e1, 1,
		       STRATA_ERR_UNSAFE_PATH, "../../etc/shadow");
	expect_refused("row4 hard link to absolute host path (resolved in-root, missing)",
		       WHITEOUT_OVERLAY, e2, 1, STRATA_ERR_NOT_FOUND, "passwd");
	expect_contained("row4 hard link to a symlink pointing out", WHITEOUT_OVERLAY, e3, 2, &root);
	ok(fstatat(root, "h", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) && st.st_nlink == 2,
	   "row4: the link is to the symlink itself, never its target");
	close(root);
	expect_refused("row4 hard link to a later entry", WHITEOUT_OVERLAY, e4, 2, STRATA_ERR_NOT_FOUND, "later");
	expect_refused("row4 hard link to the root", WHITEOUT_OVERLAY, e5, 1, STRATA_ERR_UNSAFE_PATH, "'h'");
}

static void test_type_change(void)
{
	struct ent e1[] = { { "a", TAR_DIR, 0755 }, { "a", TAR_SYMLINK, 0777, canary },
			    { "a/f", TAR_REG, 0644, "evil" } };
	struct ent e2[] = { { "a", TAR_DIR, 0755 }, { "a/f", TAR_REG, 0644, "x" },
			    { "a", TAR_SYMLINK, 0777, "/" }, { "a/g", TAR_REG, 0644, "g" } };
	int root;
	struct stat st;

	expect_refused("row5 dir, symlink over it, write below", WHITEOUT_OVERLAY, e1, 3,
		       STRATA_ERR_UNSAFE_PATH, "a/f");
	expect_contained("row5 dir replaced by symlink to /", WHITEOUT_DELETE, e2, 4, &root);
	ok(fstatat(root, "a", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode),
	   "row5: a is now the symlink (old folder removed)");
	ok(fstatat(root, "g", &st, AT_SYMLINK_NOFOLLOW) == 0, "row5: a/g resolved in-root to g");
	close(root);
}

static void test_whiteout_names(void)
{
	static const struct ent e1[] = { { ".wh.", TAR_REG, 0600 } };
	static const struct ent e2[] = { { "x/.wh..", TAR_REG, 0600 } };
	static const struct ent e3[] = { { ".wh...", TAR_REG, 0600 } };
	static const struct ent e4[] = { { "../.wh.canary", TAR_REG, 0600 } };
	struct ent e5[] = { { "x", TAR_SYMLINK, 0777, canary }, { "x/.wh.passwd", TAR_REG, 0600 } };
	struct ent e6[] = { { "keep", TAR_REG, 0644, "k" }, { "x", TAR_SYMLINK, 0777, "/" },
			    { "x/.wh.keep", TAR_REG, 0600 } };
	struct ent e7[] = { { "f", TAR_REG, 0644, "f" }, { ".wh..wh..opq", TAR_REG, 0755 } };
	struct ent e8[] = { { ".wh..wh.plnk", TAR_DIR, 0700 }, { ".wh..wh.plnk/123.456", TAR_REG, 0644, "aufs" },
			    { "a/.wh..wh.aufs", TAR_REG, 0600 }, { "link", TAR_LINK, 0644, ".wh..wh.plnk/123.456" } };
	int root;
	struct stat st;
	char v[4];

	expect_refused("row6 .wh.", WHITEOUT_OVERLAY, e1, 1, STRATA_ERR_UNSAFE_PATH, ".wh.");
	expect_refused("row6 x/.wh..", WHITEOUT_DELETE, e2, 1, STRATA_ERR_UNSAFE_PATH, "x/.wh..");
	expect_refused("row6 .wh...", WHITEOUT_OVERLAY, e3, 1, STRATA_ERR_UNSAFE_PATH, ".wh...");
	expect_refused("row6 ../.wh.canary", WHITEOUT_DELETE, e4, 1, STRATA_ERR_UNSAFE_PATH, "../.wh.canary");
	expect_refused("row6 x/.wh.passwd with x -> host folder (vfs)", WHITEOUT_DELETE, e5, 2,
		       STRATA_ERR_UNSAFE_PATH, "x/.wh.passwd");
	expect_refused("row6 x/.wh.passwd with x -> host folder (overlay)", WHITEOUT_OVERLAY, e5, 2,
		       STRATA_ERR_UNSAFE_PATH, "x/.wh.passwd");
	expect_contained("row6 x/.wh.keep with x -> / (vfs)", WHITEOUT_DELETE, e6, 3, &root);
	ok(!fs_exists_at(root, "keep"), "row6: whiteout through x -> / deletes only inside the layer");
	close(root);
	expect_contained("row6 x/.wh.keep with x -> / (overlay)", WHITEOUT_OVERLAY, e6, 3, &root);
	ok(fstatat(root, "keep", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode),
	   "row6: overlay whiteout device made inside the layer");
	close(root);
	expect_contained("row6 .wh..wh..opq at root (overlay)", WHITEOUT_OVERLAY, e7, 2, &root);
	ok(fgetxattr(root, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y',
	   "row6: root opaque at layer root = trusted.overlay.opaque=y on diff/ (as dockerd)");
	ok(!fs_exists_at(root, ".wh..wh..opq"), "row6: no marker file");
	close(root);
	expect_contained("row6 .wh..wh..opq at root (vfs)", WHITEOUT_DELETE, e7, 2, &root);
	ok(fs_exists_at(root, "f"), "row6: vfs root opaque keeps what this layer wrote");
	close(root);
	expect_contained("row6 .wh..wh.plnk and other meta", WHITEOUT_OVERLAY, e8, 4, &root);
	ok(!fs_exists_at(root, ".wh..wh.plnk") && !fs_exists_at(root, "a/.wh..wh.aufs"),
	   "row6: .wh..wh.* never materialised");
	ok(fstatat(root, "link", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_size == 4,
	   "row6: aufs hard link resolved to a copy of the plnk file (as UnpackLayer)");
	close(root);
}

static void test_meta_through_symlink(void)
{
	char target[4300];
	struct ent e1[] = { { "l", TAR_SYMLINK, 0777, target }, { "l", TAR_DIR, 0777, NULL, 4321, 4321, 5 } };
	struct ent e2[] = { { "l", TAR_SYMLINK, 0777, target }, { "h", TAR_LINK, 06777, "l", 4321, 4321, 5 } };
	struct ent e3[] = { { "l", TAR_SYMLINK, 0777, target }, { "l", TAR_REG, 06777, "new", 4321, 4321, 5 } };
	struct ent e4[] = { { "l", TAR_SYMLINK, 0777, target, 77, 77, 99 } };
	int root;
	struct stat st;

	snprintf(target, sizeof(target), "%s/keep", canary);
	expect_contained("row7 dir entry over a symlink", WHITEOUT_OVERLAY, e1, 2, &root);
	ok(fstatat(root, "l", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 4321,
	   "row7: the symlink was replaced, metadata went to the new folder");
	close(root);
	expect_contained("row7 hard link to symlink with mode/owner", WHITEOUT_OVERLAY, e2, 2, NULL);
	expect_contained("row7 regular file over symlink", WHITEOUT_DELETE, e3, 2, NULL);
	expect_contained("row7 symlink with owner+mtime", WHITEOUT_OVERLAY, e4, 1, &root);
	ok(fstatat(root, "l", &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid == 77 && st.st_mtim.tv_sec == 99,
	   "row7: owner and mtime set on the symlink itself");
	close(root);
}

static void test_special_files(void)
{
	struct ent e[] = {
		{ "bin", TAR_DIR, 0755 },
		{ "bin/su", TAR_REG, 04755, "suid" },
		{ "bin/wall", TAR_REG, 02755, "sgid", 0, 5 },
		{ "tmp", TAR_DIR, 01777 },
		{ "shared", TAR_DIR, 02775, NULL, 0, 50 },
		{ "dev", TAR_DIR, 0755 },
		{ "dev/null", TAR_CHR, 0666, NULL, 0, 0, 0, 1, 3 },
		{ "dev/sda", TAR_BLK, 0660, NULL, 0, 6, 0, 8, 0 },
		{ "fifo", TAR_FIFO, 0640, NULL, 1000, 1000 },
		{ "bin/ping", TAR_REG, 0755, "cap", 0, 0, 0, 0, 0, "security.capability",
		  "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20 },
		{ "bin/user", TAR_REG, 0644, "u", 0, 0, 0, 0, 0, "user.ref", "demo-value" },
	};
	struct strata_error *err = NULL;
	int root = fresh_root();
	struct stat st;
	char v[64];
	char *before = canary_state(), *after;
	int ret = run(WHITEOUT_OVERLAY, root, e, NENTS(e), NULL, &err);

	ok(ret == 0, "row8: setuid/devices/fifo applied (%s)", err ? err->msg : "ok");
	ok(fstatat(root, "bin/su", &st, 0) == 0 && (st.st_mode & 07777) == 04755, "row8: setuid kept");
	ok(fstatat(root, "bin/wall", &st, 0) == 0 && (st.st_mode & 07777) == 02755 && st.st_gid == 5,
	   "row8: setgid kept after chown");
	ok(fstatat(root, "tmp", &st, 0) == 0 && (st.st_mode & 07777) == 01777, "row8: sticky folder");
	ok(fstatat(root, "shared", &st, 0) == 0 && (st.st_mode & 07777) == 02775 && st.st_gid == 50,
	   "row8: setgid folder");
	ok(fstatat(root, "dev/null", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
	   major(st.st_rdev) == 1 && minor(st.st_rdev) == 3 && (st.st_mode & 07777) == 0666,
	   "row8: char device 1,3 0666");
	ok(fstatat(root, "dev/sda", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISBLK(st.st_mode) &&
	   major(st.st_rdev) == 8 && st.st_gid == 6 && (st.st_mode & 07777) == 0660,
	   "row8: block device 8,0");
	ok(fstatat(root, "fifo", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISFIFO(st.st_mode) &&
	   st.st_uid == 1000 && (st.st_mode & 07777) == 0640, "row8: fifo");
	{
		int fd = openat(root, "bin/ping", O_RDONLY);

		ok(fgetxattr(fd, "security.capability", v, sizeof(v)) == 20,
		   "row8: security.capability applied");
		close(fd);
		fd = openat(root, "bin/user", O_RDONLY);
		ok(fgetxattr(fd, "user.ref", v, sizeof(v)) == 10 && !memcmp(v, "demo-value", 10),
		   "xattr user.ref applied");
		close(fd);
	}
	after = canary_state();
	same_str(after, before, "row8: canary unchanged");
	free(before);
	free(after);
	strata_error_free(err);
	close(root);
}

static void test_malformed(void)
{
	static const struct ent e1[] = { { "weird", 'Z', 0644 } };
	struct strata_error *err = NULL;
	int root;
	struct layer_applier *a = NULL;
	struct tar_entry e = { .name = "short", .linkname = "", .typeflag = TAR_REG, .mode = 0644, .size = 100 };
	struct mem m = { (const unsigned char *)"only ten b", 10, 0, 0 };

	expect_refused("row12 unknown type flag", WHITEOUT_OVERLAY, e1, 1, STRATA_ERR_UNSUPPORTED, "weird");
	root = fresh_root();
	layer_applier_new(root, WHITEOUT_OVERLAY, &a, NULL);
	ok(layer_applier_apply(a, &e, 100, mem_read, &m, &err) < 0 && err &&
	   err->code == STRATA_ERR_CORRUPT && strstr(err->msg, "short"),
	   "row12: data shorter than the header: %s", err ? err->msg : "none");
	layer_applier_free(a);
	strata_error_free(err);
	close(root);
}

/* ---- normal behaviour ---- */

static void test_overlay_whiteouts(void)
{
	struct ent e[] = {
		{ "opt", TAR_DIR, 0755, NULL, 0, 0, 2000 },
		{ "opt/a", TAR_DIR, 0755, NULL, 0, 0, 2001 },
		{ "opt/a/.wh.bye.txt", TAR_REG, 0600, NULL, 0, 0, 3000 },
		{ "opt/b", TAR_DIR, 0755, NULL, 0, 0, 2002 },
		{ "opt/b/.wh..wh..opq", TAR_REG, 0755 },
		{ "opt/b/new", TAR_REG, 0644, "n" },
		{ ".wh.startService.sh", TAR_REG, 0600, NULL, 12, 34 },
	};
	struct strata_error *err = NULL;
	int root = fresh_root();
	struct stat st;
	char v[4];
	int fd;
	int64_t size = -1;

	ok(run(WHITEOUT_OVERLAY, root, e, NENTS(e), &size, &err) == 0, "overlay whiteouts applied (%s)",
	   err ? err->msg : "ok");
	ok(fstatat(root, "opt/a/bye.txt", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
	   st.st_rdev == makedev(0, 0) && (st.st_mode & 07777) == 0, "whiteout: char device 0,0 mode 0000");
	ok(st.st_mtim.tv_sec == 3000, "whiteout: mtime from the header");
	ok(fstatat(root, "startService.sh", &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid == 12 &&
	   st.st_gid == 34, "whiteout: owner from the header");
	ok(!fs_exists_at(root, "opt/a/.wh.bye.txt") && !fs_exists_at(root, ".wh.startService.sh"),
	   "whiteout: no .wh. files in diff");
	fd = openat(root, "opt/b", O_RDONLY | O_DIRECTORY);
	ok(fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y',
	   "opaque: trusted.overlay.opaque=y");
	close(fd);
	ok(!fs_exists_at(root, "opt/b/.wh..wh..opq") && fs_exists_at(root, "opt/b/new"),
	   "opaque: marker not written, new child kept");
	ok(fstatat(root, "opt/a", &st, 0) == 0 && st.st_mtim.tv_sec == 2001 &&
	   st.st_mtim.tv_nsec == 123456789, "dir mtime (ns) set after children");
	ok(fstatat(root, "opt", &st, 0) == 0 && st.st_mtim.tv_sec == 2000, "parent dir mtime");
	ok(size == 1, "size: whiteouts and dirs count 0 (got %lld)", (long long)size);
	strata_error_free(err);
	close(root);
}

static void test_vfs_delete(void)
{
	struct ent base_layer[] = {
		{ "opt", TAR_DIR, 0755 },
		{ "opt/a", TAR_DIR, 0755 },
		{ "opt/a/bye.txt", TAR_REG, 0644, "bye\n" },
		{ "opt/a/hello.txt", TAR_REG, 0644, "hello\n" },
		{ "opt/b", TAR_DIR, 0755 },
		{ "opt/b/old", TAR_REG, 0644, "old" },
		{ "opt/b/sub", TAR_DIR, 0755 },
		{ "opt/b/sub/deep", TAR_REG, 0644, "deep" },
	};
	struct ent layer[] = {
		{ "opt/a/.wh.bye.txt", TAR_REG, 0600 },
		{ "opt/b", TAR_DIR, 0755 },
		{ "opt/b/new", TAR_REG, 0644, "new" },
		{ "opt/b/.wh..wh..opq", TAR_REG, 0755 },
		{ "opt/.wh.missing", TAR_REG, 0600 },
	};
	struct strata_error *err = NULL;
	int root = fresh_root();
	int64_t size = -1;

	ok(run(WHITEOUT_DELETE, root, base_layer, NENTS(base_layer), &size, &err) == 0 && size == 17,
	   "vfs: base applied, size = sum of header sizes (%lld)", (long long)size);
	ok(run(WHITEOUT_DELETE, root, layer, NENTS(layer), &size, &err) == 0, "vfs: layer applied (%s)",
	   err ? err->msg : "ok");
	ok(!fs_exists_at(root, "opt/a/bye.txt") && fs_exists_at(root, "opt/a/hello.txt"),
	   "vfs: .wh.bye.txt deleted bye.txt only");
	ok(!fs_exists_at(root, "opt/b/old") && !fs_exists_at(root, "opt/b/sub") &&
	   fs_exists_at(root, "opt/b/new"), "vfs: opaque removed older children, kept this layer's");
	ok(!fs_exists_at(root, "opt/b/.wh..wh..opq") && !fs_exists_at(root, "opt/a/.wh.bye.txt"),
	   "vfs: no marker files");
	ok(size == 3, "vfs: size = 3 (new), whiteouts 0 (got %lld)", (long long)size);
	strata_error_free(err);
	close(root);
}

static void test_links_and_size(void)
{
	/* reference §8 table rows */
	static char k1000[1001], k5000[5001];
	struct ent hl[] = { { "h", TAR_DIR, 0755 }, { "h/a", TAR_REG, 0644, k1000 }, { "h/b", TAR_LINK, 0644, "h/a" } };
	struct ent sl[] = { { "s1", TAR_SYMLINK, 0777, "/usr/share/zoneinfo/Europe/Rome" }, { "s2", TAR_SYMLINK, 0777, "abc" } };
	struct ent empty[] = { { "d1", TAR_DIR, 0755 }, { "d1/d2", TAR_DIR, 0755 }, { "d3", TAR_DIR, 0755 },
			       { "d1/e", TAR_REG, 0644, "" }, { "e", TAR_REG, 0644, "" } };
	struct ent wh[] = { { "h", TAR_DIR, 0755 }, { "h/.wh.b", TAR_REG, 0600 } };
	struct ent mixed[] = { { "x", TAR_REG, 0644, k5000 }, { "y", TAR_LINK, 0644, "x" },
			       { "z", TAR_LINK, 0644, "/x" }, { "s", TAR_SYMLINK, 0777, "x" } };
	struct {
		const char *what;
		struct ent *e;
		size_t n;
		int64_t want_overlay, want_vfs;
	} cases[] = {
		{ "1000 B + hard link", hl, NENTS(hl), 1000, 1000 },
		{ "symlinks 31 + 3", sl, NENTS(sl), 34, 0 },
		{ "2 empty files + 3 dirs", empty, NENTS(empty), 0, 0 },
		{ "whiteout", wh, NENTS(wh), 0, 0 },
		{ "5000 B + 2 hard links + symlink x", mixed, NENTS(mixed), 5001, 5000 },
	};
	struct stat a, b;

	memset(k1000, 'k', 1000);
	memset(k5000, 'x', 5000);
	for (size_t i = 0; i < NENTS(cases); i++) {
		struct strata_error *err = NULL;
		int root = fresh_root();
		int64_t size = -1;

		ok(run(WHITEOUT_OVERLAY, root, cases[i].e, cases[i].n, &size, &err) == 0 &&
		   size == cases[i].want_overlay, "size overlay2 %s: %lld (want %lld) %s", cases[i].what,
		   (long long)size, (long long)cases[i].want_overlay, err ? err->msg : "");
		if (i == 0)
			ok(fstatat(root, "h/a", &a, 0) == 0 && fstatat(root, "h/b", &b, 0) == 0 &&
			   a.st_ino == b.st_ino && a.st_nlink == 2, "hard link shares the inode");
		if (i == 1) {
			char buf[64];
			ssize_t n = readlinkat(root, "s1", buf, sizeof(buf));

			ok(n == 31 && !memcmp(buf, "/usr/share/zoneinfo/Europe/Rome", 31),
			   "symlink target stored verbatim");
		}
		close(root);
		strata_error_free(err);
		err = NULL;
		root = fresh_root();
		ok(run(WHITEOUT_DELETE, root, cases[i].e, cases[i].n, &size, &err) == 0 &&
		   size == cases[i].want_vfs, "size vfs %s: %lld (want %lld)", cases[i].what,
		   (long long)size, (long long)cases[i].want_vfs);
		close(root);
		strata_error_free(err);
	}
}

static void test_replace_rules(void)
{
	struct ent e[] = {
		{ "d", TAR_DIR, 0700, NULL, 0, 0, 100 },
		{ "d/f", TAR_REG, 0644, "f" },
		{ "d", TAR_DIR, 0750, NULL, 7, 7, 200 }, /* dir over dir: kept, metadata updated */
		{ "x", TAR_DIR, 0755 },
		{ "x/y", TAR_REG, 0644, "y" },
		{ "x", TAR_REG, 0644, "file now" }, /* non-dir over dir: removed */
		{ "f", TAR_REG, 0644, "one" },
		{ "f", TAR_REG, 0600, "two" },
	};
	struct strata_error *err = NULL;
	int root = fresh_root();
	struct stat st;
	char *data = NULL;

	ok(run(WHITEOUT_OVERLAY, root, e, NENTS(e), NULL, &err) == 0, "replace rules applied");
	ok(fstatat(root, "d", &st, 0) == 0 && (st.st_mode & 07777) == 0750 && st.st_uid == 7 &&
	   fs_exists_at(root, "d/f") && st.st_mtim.tv_sec == 200, "dir over dir keeps children, updates metadata");
	ok(fstatat(root, "x", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode), "file over dir replaces it");
	fs_read_file_at(root, "f", 100, &data, NULL, NULL);
	same_str(data, "two", "file over file replaced");
	free(data);
	strata_error_free(err);
	close(root);
}

static void test_safepath_walk(void)
{
	int root = fresh_root();
	struct strata_error *err = NULL;
	int fd;
	char buf[8];

	mkdirat(root, "real", 0755);
	symlinkat("/real", root, "abs");
	symlinkat("../../../real", root, "rel");
	symlinkat(canary, root, "out");
	fs_write_file_at(root, "real/f", "in", 2, 0644, NULL);
	ok(safepath_have_openat2(), "openat2 available on this kernel");
	for (int walk = 0; walk < 2; walk++) {
		int (*op)(int, const char *, int, mode_t, struct strata_error **) =
			walk ? safepath_open_walk : safepath_open;
		const char *how = walk ? "walk" : "openat2";

		fd = op(root, "abs/f", O_RDONLY, 0, &err);
		ok(fd >= 0 && read(fd, buf, 2) == 2 && !memcmp(buf, "in", 2), "%s: /real resolved in-root", how);
		close(fd);
		fd = op(root, "rel/f", O_RDONLY, 0, &err);
		ok(fd >= 0, "%s: ../../../real clamps at the root", how);
		close(fd);
		fd = op(root, "out/passwd", O_RDONLY, 0, &err);
		ok(fd < 0 && err && err->code == STRATA_ERR_NOT_FOUND, "%s: host path not reachable", how);
		strata_error_freep(&err);
		fd = op(root, "/../../real/f", O_RDONLY, 0, &err);
		ok(fd >= 0, "%s: .. at root stays at root", how);
		close(fd);
		fd = op(root, "abs", O_RDONLY | O_NOFOLLOW | O_PATH, 0, &err);
		ok(fd >= 0, "%s: O_NOFOLLOW opens the symlink itself", how);
		close(fd);
		strata_error_freep(&err);
	}
	{
		char *c = NULL;

		ok(safepath_clean("/./a//b/../c/", &c, "t", NULL) == 0 && !strcmp(c, "a/c"), "clean a/c");
		free(c);
		ok(safepath_clean("a/../..", &c, "t", NULL) < 0, "clean refuses a/../..");
		ok(safepath_clean("./", &c, "t", NULL) == 0 && !strcmp(c, ""), "clean ./ is root");
		free(c);
	}
	close(root);
}

/* ---- through the real tar reader ---- */

static void octal(char *dst, size_t n, unsigned long long v)
{
	/* n - 1 octal digits, then NUL, written right to left */
	dst[n - 1] = '\0';
	for (size_t i = n - 1; i-- > 0; v >>= 3)
		dst[i] = (char)('0' + (v & 7));
}

static void tar_add(struct strbuf *sb, const char *name, char type, unsigned mode, const char *link,
		    const char *data)
{
	char h[512] = { 0 };
	unsigned sum = 0;
	size_t len = data ? strlen(data) : 0;

	snprintf(h, 100, "%s", name);
	octal(h + 100, 8, mode);
	octal(h + 108, 8, 0);
	octal(h + 116, 8, 0);
	octal(h + 124, 12, len);
	octal(h + 136, 12, 1600000000);
	memset(h + 148, ' ', 8);
	h[156] = type;
	if (link)
		snprintf(h + 157, 100, "%s", link);
	memcpy(h + 257, "ustar\0" "00", 8);
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	octal(h + 148, 7, sum);
	strbuf_add(sb, h, 512);
	if (len) {
		strbuf_add(sb, data, len);
		strbuf_addchars(sb, 0, (512 - len % 512) % 512);
	}
}

static void test_reader_stream(void)
{
	struct strbuf t = STRBUF_INIT;
	struct mem m;
	struct tar_reader *r;
	struct layer_applier *a = NULL;
	const struct tar_entry *e;
	struct strata_error *err = NULL;
	int root = fresh_root(), rc;
	int64_t size = -1;
	char *data = NULL;

	tar_add(&t, "./", '5', 0755, NULL, NULL);
	tar_add(&t, "./etc/", '5', 0755, NULL, NULL);
	tar_add(&t, "./etc/hosts", '0', 0644, NULL, "127.0.0.1 localhost\n");
	tar_add(&t, "./etc/hosts2", '1', 0644, "./etc/hosts", NULL);
	tar_add(&t, "./etc/.wh.gone", '0', 0600, NULL, NULL);
	tar_add(&t, "./lnk", '2', 0777, "etc/hosts", NULL);
	strbuf_addchars(&t, 0, 1024);
	m = (struct mem){ (const unsigned char *)t.buf, t.len, 0, 0 };
	r = tar_reader_new(mem_read, &m);
	layer_applier_new(root, WHITEOUT_OVERLAY, &a, NULL);
	while ((rc = tar_reader_next(r, &e, &err)) == 1)
		if (layer_applier_entry(a, e, r, &err) < 0)
			break;
	ok(rc == 0 && layer_applier_finish(a, &size, &err) == 0, "stream through tar reader (%s)",
	   err ? err->msg : "ok");
	fs_read_file_at(root, "etc/hosts2", 100, &data, NULL, NULL);
	same_str(data, "127.0.0.1 localhost\n", "stream: hard link content");
	ok(size == 20 + 9, "stream: size 29 (file once + symlink 9), got %lld", (long long)size);
	free(data);
	layer_applier_free(a);
	tar_reader_free(r);
	strata_error_freep(&err);

	/* truncated tar: the reader's error surfaces, caller removes the folder */
	strbuf_setlen(&t, 512 * 3 + 10); /* inside etc/hosts data */
	m = (struct mem){ (const unsigned char *)t.buf, t.len, 0, 0 };
	close(root);
	root = fresh_root();
	r = tar_reader_new(mem_read, &m);
	layer_applier_new(root, WHITEOUT_OVERLAY, &a, NULL);
	while ((rc = tar_reader_next(r, &e, &err)) == 1)
		if ((rc = layer_applier_entry(a, e, r, &err)) < 0)
			break;
	ok(rc < 0 && err, "row12: truncated tar refused: %s", err ? err->msg : "none");
	ok(root_empty_after_remove(), "row12: half-applied folder removable");
	layer_applier_free(a);
	tar_reader_free(r);
	strata_error_free(err);
	strbuf_release(&t);
	close(root);
}

static ssize_t fd_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	ssize_t n = read(*(int *)cookie, buf, len);

	if (n < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "read");
	return n;
}

/* The generated fixtures (tests/fixtures/hostile/gen.py) through reader + applier. */
static void test_fixtures(void)
{
	char cmd[9000], line[256], dir[4200];
	FILE *exp;

	snprintf(dir, sizeof(dir), "%s/fixtures", base);
	if (system("python3 -c '' 2>/dev/null") != 0) {
		printf("ok %d - hostile fixtures # SKIP python3 not installed\n", ++tap_count);
		return;
	}
	snprintf(cmd, sizeof(cmd), "python3 '%s/hostile/gen.py' '%s' '%s'", fixtures_dir(), dir, canary);
	if (system(cmd) != 0) {
		ok(0, "tests/fixtures/hostile/gen.py wrote the hostile tars");
		return;
	}
	snprintf(cmd, sizeof(cmd), "%s/expect.txt", dir);
	exp = fopen(cmd, "r");
	ok(exp != NULL, "hostile fixtures: %s readable", cmd);
	while (exp && fgets(line, sizeof(line), exp)) {
		char name[128], want[16], path[4400];
		struct strata_error *err = NULL;
		struct layer_applier *a = NULL;
		const struct tar_entry *e;
		struct tar_reader *r;
		char *before = canary_state(), *after;
		int root = fresh_root(), fd, rc;

		if (sscanf(line, "%127s %15s", name, want) != 2)
			continue;
		snprintf(path, sizeof(path), "%s/%s.tar", dir, name);
		fd = open(path, O_RDONLY);
		r = tar_reader_new(fd_read, &fd);
		layer_applier_new(root, WHITEOUT_OVERLAY, &a, NULL);
		while ((rc = tar_reader_next(r, &e, &err)) == 1)
			if ((rc = layer_applier_entry(a, e, r, &err)) < 0)
				break;
		if (rc == 0)
			rc = layer_applier_finish(a, NULL, &err);
		after = canary_state();
		if (!strcmp(want, "refuse"))
			ok(rc < 0 && err, "fixture %s refused: %s", name, err ? err->msg : "applied!");
		else /* "contain": applied, or refused as unsafe; never another failure */
			ok(rc == 0 ? !err : err && err->code == STRATA_ERR_UNSAFE_PATH, "fixture %s: %s", name,
			   err ? err->msg : "applied");
		{
			char *m = xasprintf("fixture %s: canary unchanged", name);

			same_str(after, before, m);
			free(m);
		}
		ok(root_empty_after_remove(), "fixture %s: target removable", name);
		layer_applier_free(a);
		tar_reader_free(r);
		strata_error_free(err);
		close(fd);
		close(root);
		free(before);
		free(after);
	}
	if (exp)
		fclose(exp);
}

int main(void)
{
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	base_fd = open(base, O_RDONLY | O_DIRECTORY);
	make_canary();

	test_safepath_walk();
	test_dotdot();
	test_symlink_escape();
	test_root_replace();
	test_hardlink_escape();
	test_type_change();
	test_whiteout_names();
	test_meta_through_symlink();
	test_special_files();
	test_malformed();
	test_overlay_whiteouts();
	test_vfs_delete();
	test_links_and_size();
	test_replace_rules();
	test_reader_stream();
	test_fixtures();

	fs_remove_tree_at(AT_FDCWD, base, NULL);
	close(base_fd);
	return tap_done();
}
