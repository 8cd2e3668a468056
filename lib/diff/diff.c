/* Layer diffs of container folders, byte for byte as moby 20.10's pkg/archive writes them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "diff/diff.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/inodemap.h"
#include "util/safepath.h"
#include "util/strbuf.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define XATTR_CAPABILITY "security.capability"
#define XATTR_OPAQUE "trusted.overlay.opaque"
#define XATTR_MAX 1024 /* security.capability is at most 24 bytes */
#define MAX_DEPTH 512  /* one fd per level is open */

/* ---- sorted folder listings (Go's filepath.Walk sorts names bytewise) ---- */

struct names {
	char **v;
	size_t nr, alloc;
};

static void names_release(struct names *n)
{
	for (size_t i = 0; i < n->nr; i++)
		free(n->v[i]);
	free(n->v);
	memset(n, 0, sizeof(*n));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_sorted(int dfd, const char *what, struct names *out, struct strata_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int ret = fs_opendir_at(dfd, ".", &d, err);

	if (ret < 0)
		return strata_error_wrap(err, "list '%s'", what);
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ALLOC_GROW(out->v, out->nr + 1, out->alloc);
		out->v[out->nr++] = xstrdup(de->d_name);
	}
	if (errno)
		return strata_error_set(err, fs_errcode(errno), errno, "list '%s'", what);
	if (out->nr)
		qsort(out->v, out->nr, sizeof(*out->v), cmp_str);
	return 0;
}

/* lgetxattr of dfd/name without following a last symlink; *len = 0 when absent. */
static int get_xattr(int dfd, const char *name, const char *key, char *buf, size_t size, size_t *len,
		     struct strata_error **err)
{
	char path[64 + 256];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, name);
	n = lgetxattr(path, key, buf, size);
	if (n < 0 && errno == ERANGE) {
		*len = SIZE_MAX; /* larger than the caller's buffer: never a value it accepts */
		return 0;
	}
	if (n < 0) {
		*len = 0;
		if (errno == ENODATA || errno == ENOTSUP || errno == EOPNOTSUPP)
			return 0;
		return strata_error_set(err, fs_errcode(errno), errno, "read xattr %s of '%s'", key, name);
	}
	*len = (size_t)n;
	return 0;
}

static bool is_opaque(int dfd, const char *name, struct strata_error **err, int *ret)
{
	char v[2];
	size_t len;

	*ret = get_xattr(dfd, name, XATTR_OPAQUE, v, sizeof(v), &len, err);
	return *ret >= 0 && len == 1 && v[0] == 'y';
}

/* ---- the tar appender (moby's tarAppender) ---- */

struct id_name {
	unsigned id;
	char *name;
};

struct appender {
	struct tar_writer *w;
	const struct diff_options *o;
	bool overlay; /* convert overlay whiteouts and opaque folders */
	struct inode_map seen; /* hard-linked inodes -> the name written first */
	struct id_name *users, *groups;
	size_t nr_users, alloc_users, nr_groups, alloc_groups;
};

static void appender_release(struct appender *a)
{
	inode_map_release(&a->seen);
	for (size_t i = 0; i < a->nr_users; i++)
		free(a->users[i].name);
	for (size_t i = 0; i < a->nr_groups; i++)
		free(a->groups[i].name);
	free(a->users);
	free(a->groups);
	tar_writer_free(a->w);
}

/* The host's name for a uid or gid, "" when there is none (Go's archive/tar lookup). */
static const char *id_lookup(struct id_name **v, size_t *nr, size_t *alloc, unsigned id, bool group)
{
	char buf[16384];
	const char *name = NULL;

	for (size_t i = 0; i < *nr; i++)
		if ((*v)[i].id == id)
			return (*v)[i].name;
	if (group) {
		struct group g, *res = NULL;
		if (getgrgid_r(id, &g, buf, sizeof(buf), &res) == 0 && res)
			name = res->gr_name;
	} else {
		struct passwd p, *res = NULL;
		if (getpwuid_r(id, &p, buf, sizeof(buf), &res) == 0 && res)
			name = res->pw_name;
	}
	ALLOC_GROW(*v, *nr + 1, *alloc);
	(*v)[*nr].id = id;
	(*v)[*nr].name = xstrdup(name ? name : "");
	return (*v)[(*nr)++].name;
}

/* st_mode as Go's FileInfoHeader + moby's fillGo18FileTypeBits give it. */
static uint32_t go_mode(mode_t m)
{
	return (uint32_t)(m & 07777) | (uint32_t)(m & S_IFMT);
}

static int64_t clamp_mtime(const struct appender *a, int64_t t)
{
	return a->o->mtime_clamp >= 0 && t > a->o->mtime_clamp ? a->o->mtime_clamp : t;
}

/* Write e's header and tell the member hook (dfd -1: no file behind it). */
static int add_member(struct appender *a, const struct tar_entry *e, int dfd, const char *name,
		      const struct stat *st, struct strata_error **err)
{
	int ret = tar_writer_add(a->w, e, err);

	if (ret >= 0 && a->o->member)
		ret = a->o->member(a->o->member_cookie, e, dfd, name, st, err);
	return ret;
}

static int copy_data(struct appender *a, int dfd, const char *name, const char *rel, uint64_t size,
		     struct strata_error **err)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[65536];
	uint64_t left = size;

	if (fd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "open '%s'", rel);
	while (left) {
		ssize_t n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		int ret;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return strata_error_set(err, fs_errcode(errno), errno, "read '%s'", rel);
		if (n == 0)
			return strata_error_set(err, STRATA_ERR_IO, 0, "'%s' shrank while it was read", rel);
		ret = tar_writer_write_data(a->w, buf, (size_t)n, err);
		if (ret < 0)
			return ret;
		left -= (uint64_t)n;
	}
	return 0;
}

/*
 * moby's addTarFile for dfd/name, whose path in the tar is rel (no
 * leading '/', no trailing '/').
 */
static int add_file(struct appender *a, int dfd, const char *name, const char *rel, const struct stat *st,
		    struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf hname = STRBUF_INIT, link = STRBUF_INIT;
	_cleanup_free_ char *whname = NULL, *opqname = NULL;
	char cap[XATTR_MAX];
	size_t caplen = 0;
	struct tar_xattr x = { .name = (char *)XATTR_CAPABILITY, .value = cap };
	struct tar_entry e = { .mode_raw = true };
	bool opaque = false;
	int ret;

	if (S_ISSOCK(st->st_mode))
		return 0; /* moby skips sockets */
	strbuf_addstr(&hname, rel);
	e.mode = go_mode(st->st_mode);
	e.uid = st->st_uid;
	e.gid = st->st_gid;
	e.uname = (char *)id_lookup(&a->users, &a->nr_users, &a->alloc_users, st->st_uid, false);
	e.gname = (char *)id_lookup(&a->groups, &a->nr_groups, &a->alloc_groups, st->st_gid, true);
	e.mtime_sec = clamp_mtime(a, st->st_mtim.tv_sec);
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		e.typeflag = TAR_REG;
		e.size = (uint64_t)st->st_size;
		break;
	case S_IFDIR:
		e.typeflag = TAR_DIR;
		strbuf_addch(&hname, '/');
		break;
	case S_IFLNK: {
		char target[4097];
		ssize_t n = readlinkat(dfd, name, target, sizeof(target));

		if (n < 0 || (size_t)n >= sizeof(target))
			return strata_error_set(err, n < 0 ? fs_errcode(errno) : STRATA_ERR_INVALID, n < 0 ? errno : 0,
						"read link '%s'", rel);
		strbuf_add(&link, target, (size_t)n);
		e.typeflag = TAR_SYMLINK;
		break;
	}
	case S_IFCHR:
	case S_IFBLK:
		e.typeflag = S_ISCHR(st->st_mode) ? TAR_CHR : TAR_BLK;
		e.devmajor = major(st->st_rdev);
		e.devminor = minor(st->st_rdev);
		break;
	case S_IFIFO:
		e.typeflag = TAR_FIFO;
		break;
	default:
		return 0;
	}
	e.name = hname.buf;
	/* later names of a hard-linked inode point at the first one */
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		const struct inode_slot *first = inode_map_find(&a->seen, st->st_dev, st->st_ino);

		if (first) {
			e.typeflag = TAR_LINK;
			strbuf_reset(&link);
			strbuf_addstr(&link, first->name);
			e.size = 0;
		} else {
			inode_map_add(&a->seen, st->st_dev, st->st_ino, hname.buf);
		}
	}
	e.linkname = link.buf;
	ret = get_xattr(dfd, name, XATTR_CAPABILITY, cap, sizeof(cap), &caplen, err);
	if (ret < 0)
		return ret;
	if (caplen == SIZE_MAX)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "'%s': %s too large", rel, XATTR_CAPABILITY);
	if (caplen) {
		x.len = caplen;
		e.xattrs = &x;
		e.nr_xattrs = 1;
	}
	if (a->overlay && S_ISCHR(st->st_mode) && st->st_rdev == 0) {
		/* the whiteout keeps a hard-link name, as moby's converter does */
		const char *slash = strrchr(rel, '/');

		whname = slash ? xasprintf("%.*s/" WHITEOUT_PREFIX "%s", (int)(slash - rel), rel, slash + 1)
			       : xasprintf(WHITEOUT_PREFIX "%s", rel);
		e.name = whname;
		e.mode = 0600;
		e.typeflag = TAR_REG;
		e.size = 0;
		e.devmajor = e.devminor = 0;
	}
	if (a->overlay && S_ISDIR(st->st_mode)) {
		opaque = is_opaque(dfd, name, err, &ret);
		if (ret < 0)
			return ret;
	}
	ret = whname ? add_member(a, &e, -1, NULL, NULL, err) : add_member(a, &e, dfd, name, st, err);
	if (ret >= 0 && e.typeflag == TAR_REG && e.size)
		ret = copy_data(a, dfd, name, rel, e.size, err);
	if (ret >= 0 && opaque) {
		struct tar_entry wo = { .typeflag = TAR_REG, .mode = e.mode & 0777, .mode_raw = true, .linkname = "",
					.uid = e.uid, .gid = e.gid, .uname = e.uname, .gname = e.gname };

		opqname = xasprintf("%s/" WHITEOUT_OPAQUE, rel);
		wo.name = opqname;
		ret = add_member(a, &wo, -1, NULL, NULL, err);
	}
	return ret;
}

/* filepath.Walk below dfd (rel: its path, "" for the root) */
static int walk_tar(struct appender *a, int dfd, const char *rel, unsigned depth, struct strata_error **err)
{
	struct names n = { 0 };
	int ret;

	if (depth > MAX_DEPTH)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "'%s': folders nested too deep", rel);
	ret = list_sorted(dfd, *rel ? rel : ".", &n, err);
	for (size_t i = 0; ret >= 0 && i < n.nr; i++) {
		_cleanup_free_ char *path = *rel ? xasprintf("%s/%s", rel, n.v[i]) : xstrdup(n.v[i]);
		struct stat st;

		if (fstatat(dfd, n.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = strata_error_set(err, fs_errcode(errno), errno, "stat '%s'", path);
			break;
		}
		ret = add_file(a, dfd, n.v[i], path, &st, err);
		if (ret >= 0 && S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = fs_open_dir_at(dfd, n.v[i], err);

			ret = sub < 0 ? sub : walk_tar(a, sub, path, depth + 1, err);
		}
	}
	names_release(&n);
	return ret;
}

int diff_overlay_tar(int upper_fd, const struct diff_options *o, stream_write_fn write, void *cookie,
		     struct strata_error **err)
{
	struct appender a = { .w = tar_writer_new(write, cookie), .o = o, .overlay = true };
	int ret = walk_tar(&a, upper_fd, "", 0, err);

	if (ret >= 0)
		ret = tar_writer_finish(a.w, err);
	appender_release(&a);
	return ret;
}

int diff_full_tar(int root_fd, const struct diff_options *o, stream_write_fn write, void *cookie,
		  struct strata_error **err)
{
	struct appender a = { .w = tar_writer_new(write, cookie), .o = o };
	int ret = walk_tar(&a, root_fd, "", 0, err);

	if (ret >= 0)
		ret = tar_writer_finish(a.w, err);
	appender_release(&a);
	return ret;
}

static int size_walk(struct inode_map *seen, int dfd, unsigned depth, int64_t *total, struct strata_error **err)
{
	struct names n = { 0 };
	int ret;

	if (depth > MAX_DEPTH)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "folders nested too deep");
	ret = list_sorted(dfd, ".", &n, err);
	for (size_t i = 0; ret >= 0 && i < n.nr; i++) {
		struct stat st;

		if (fstatat(dfd, n.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile: dockerd ignores it too */
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = fs_open_dir_at(dfd, n.v[i], err);

			ret = sub < 0 ? sub : size_walk(seen, sub, depth + 1, total, err);
			continue;
		}
		if (st.st_nlink > 1 && !inode_map_add(seen, st.st_dev, st.st_ino, NULL))
			continue;
		*total += st.st_size;
	}
	names_release(&n);
	return ret;
}

int diff_tree_size(int root_fd, int64_t *out, struct strata_error **err)
{
	struct inode_map seen = INODE_MAP_INIT;
	int ret;

	*out = 0;
	ret = size_walk(&seen, root_fd, 0, out, err);
	inode_map_release(&seen);
	return ret;
}

/* ---- changes ---- */

static void changes_add(struct diff_changes *c, size_t at, const char *path, enum diff_kind kind)
{
	ALLOC_GROW(c->items, c->nr + 1, c->alloc);
	memmove(c->items + at + 1, c->items + at, (c->nr - at) * sizeof(*c->items));
	c->items[at].path = xstrdup(path);
	c->items[at].kind = kind;
	c->nr++;
}

void diff_changes_release(struct diff_changes *c)
{
	for (size_t i = 0; i < c->nr; i++)
		free(c->items[i].path);
	free(c->items);
	memset(c, 0, sizeof(*c));
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && (a->tv_nsec == b->tv_nsec || !a->tv_nsec || !b->tv_nsec);
}

/* ---- naive diff (vfs): moby's ChangesDirs ---- */

static int capability_of(int dfd, const char *name, char *buf, size_t *len, struct strata_error **err)
{
	return get_xattr(dfd, name, XATTR_CAPABILITY, buf, XATTR_MAX, len, err);
}

static bool stat_different(const struct stat *o, const struct stat *n)
{
	return o->st_mode != n->st_mode || o->st_uid != n->st_uid || o->st_gid != n->st_gid ||
	       o->st_rdev != n->st_rdev ||
	       (!S_ISDIR(o->st_mode) && (!same_time(&o->st_mtim, &n->st_mtim) || o->st_size != n->st_size));
}

/*
 * moby's FileInfo.addChanges for the folder new_fd (path; old_fd its
 * counterpart in the parent, -1 when the folder is new).  *added: the
 * folder itself was recorded already.
 */
static int naive_dir(int new_fd, int old_fd, const char *path, bool added, unsigned depth,
		     struct diff_changes *out, struct strata_error **err)
{
	struct names nn = { 0 }, on = { 0 };
	size_t at = out->nr;
	int ret;

	if (depth > MAX_DEPTH)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "'%s': folders nested too deep", path);
	ret = list_sorted(new_fd, *path ? path : "/", &nn, err);
	if (ret >= 0 && old_fd >= 0)
		ret = list_sorted(old_fd, *path ? path : "/", &on, err);
	for (size_t i = 0; ret >= 0 && i < nn.nr; i++) {
		_cleanup_free_ char *child = xasprintf("%s/%s", path, nn.v[i]);
		struct stat ns, os;
		bool in_old = false, child_added = false;

		in_old = on.nr && bsearch(&nn.v[i], on.v, on.nr, sizeof(*on.v), cmp_str);
		if (fstatat(new_fd, nn.v[i], &ns, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = strata_error_set(err, fs_errcode(errno), errno, "stat '%s'", child);
			break;
		}
		if (in_old && fstatat(old_fd, nn.v[i], &os, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = strata_error_set(err, fs_errcode(errno), errno, "stat '%s' in the parent", child);
			break;
		}
		if (!in_old) {
			changes_add(out, out->nr, child, DIFF_ADD);
			child_added = true;
		} else {
			char nc[XATTR_MAX], oc[XATTR_MAX];
			size_t nl, ol;

			ret = capability_of(new_fd, nn.v[i], nc, &nl, err);
			if (ret >= 0)
				ret = capability_of(old_fd, nn.v[i], oc, &ol, err);
			if (ret < 0)
				break;
			if (stat_different(&os, &ns) || nl != ol || (nl != SIZE_MAX && memcmp(nc, oc, nl))) {
				changes_add(out, out->nr, child, DIFF_MODIFY);
				child_added = true;
			}
		}
		if (S_ISDIR(ns.st_mode)) {
			_cleanup_close_ int nsub = fs_open_dir_at(new_fd, nn.v[i], err);
			_cleanup_close_ int osub = -1;

			if (nsub < 0) {
				ret = nsub;
				break;
			}
			if (in_old && S_ISDIR(os.st_mode)) {
				osub = fs_open_dir_at(old_fd, nn.v[i], err);
				if (osub < 0) {
					ret = osub;
					break;
				}
			}
			ret = naive_dir(nsub, osub, child, child_added, depth + 1, out, err);
		}
	}
	for (size_t j = 0; ret >= 0 && j < on.nr; j++) {
		if (nn.nr && bsearch(&on.v[j], nn.v, nn.nr, sizeof(*nn.v), cmp_str))
			continue;
		_cleanup_free_ char *child = xasprintf("%s/%s", path, on.v[j]);

		changes_add(out, out->nr, child, DIFF_DELETE);
	}
	/* a folder holding changes is recorded too, before them */
	if (ret >= 0 && out->nr > at && !added && *path)
		changes_add(out, at, path, DIFF_MODIFY);
	names_release(&nn);
	names_release(&on);
	return ret;
}

static int cmp_change(const void *a, const void *b)
{
	return strcmp(((const struct diff_change *)a)->path, ((const struct diff_change *)b)->path);
}

int diff_naive_changes(int layer_fd, int parent_fd, struct diff_changes *out, struct strata_error **err)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = naive_dir(layer_fd, parent_fd, "", false, 0, out, err);
	if (ret < 0) {
		diff_changes_release(out);
		return ret;
	}
	if (out->nr)
		qsort(out->items, out->nr, sizeof(*out->items), cmp_change);
	return 0;
}

int diff_changes_tar(int layer_fd, const struct diff_changes *c, const struct diff_options *o,
		     stream_write_fn write, void *cookie, struct strata_error **err)
{
	struct appender a = { .o = o, .w = tar_writer_new(write, cookie) };
	int ret = 0;

	for (size_t i = 0; ret >= 0 && i < c->nr; i++) {
		const char *rel = c->items[i].path + 1, *last;
		_cleanup_close_ int pfd = -1;
		struct stat st;

		if (c->items[i].kind == DIFF_DELETE) {
			const char *slash = strrchr(rel, '/');
			_cleanup_free_ char *wh = slash ? xasprintf("%.*s/" WHITEOUT_PREFIX "%s", (int)(slash - rel),
								     rel, slash + 1)
						      : xasprintf(WHITEOUT_PREFIX "%s", rel);
			struct tar_entry e = { .name = wh, .linkname = "", .typeflag = TAR_REG, .mode_raw = true,
					       .mtime_sec = clamp_mtime(&a, o->now) };

			ret = add_member(&a, &e, -1, NULL, NULL, err);
			continue;
		}
		pfd = safepath_open_parent(layer_fd, rel, 0, &last, err);
		if (pfd < 0) {
			ret = pfd;
			break;
		}
		if (fstatat(pfd, last, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = strata_error_set(err, fs_errcode(errno), errno, "stat '%s'", rel);
			break;
		}
		ret = add_file(&a, pfd, last, rel, &st, err);
	}
	if (ret >= 0)
		ret = tar_writer_finish(a.w, err);
	appender_release(&a);
	return ret;
}

int diff_naive_tar(int layer_fd, int parent_fd, const struct diff_options *o, stream_write_fn write,
		   void *cookie, struct strata_error **err)
{
	struct diff_changes c;
	int ret = diff_naive_changes(layer_fd, parent_fd, &c, err);

	if (ret < 0)
		return ret;
	ret = diff_changes_tar(layer_fd, &c, o, write, cookie, err);
	diff_changes_release(&c);
	return ret;
}
