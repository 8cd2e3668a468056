#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "unpack/apply.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/inodemap.h"
#include "util/safepath.h"
#include "util/strbuf.h"

#define WH_PREFIX ".wh."
#define WH_META ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_PLNK ".wh..wh.plnk"
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"
#define COPY_BUF (128 * 1024)
#define MAX_PLNK 256

#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* Kernel ABI of setxattrat(2) (Linux 6.13). */
struct strata_xattr_args {
	uint64_t value;
	uint32_t size;
	uint32_t flags;
};

/* A set of strings (paths written by this layer), open addressing. */
struct strset {
	char **slots;
	size_t nr, cap;
};

struct dir_time {
	char *path; /* cleaned relative path, "" = root */
	struct timespec mtime;
};

/* AUFS hard-link source kept in an unnamed O_TMPFILE below the root. */
struct plnk {
	char *base;
	int fd;
	struct tar_entry hdr; /* metadata only: owned xattrs, name/linkname unused */
};

struct layer_applier {
	int root_fd;
	enum whiteout_mode mode;
	struct dir_time *dirs;
	size_t nr_dirs, alloc_dirs;
	struct strset written;
	struct plnk *plnks;
	size_t nr_plnks, alloc_plnks;
	int64_t header_total;
	char *buf;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static bool strset_has(const struct strset *set, const char *s)
{
	if (!set->cap)
		return false;
	for (size_t i = str_hash(s) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		if (!set->slots[i])
			return false;
		if (!strcmp(set->slots[i], s))
			return true;
	}
}

static void strset_put_owned(struct strset *set, char *s);

static void strset_grow(struct strset *set)
{
	struct strset bigger = { xcalloc(set->cap ? set->cap * 2 : 64, sizeof(char *)), 0,
				 set->cap ? set->cap * 2 : 64 };

	for (size_t i = 0; i < set->cap; i++)
		if (set->slots[i])
			strset_put_owned(&bigger, set->slots[i]);
	free(set->slots);
	*set = bigger;
}

static void strset_put_owned(struct strset *set, char *s)
{
	size_t i;

	if ((set->nr + 1) * 2 > set->cap)
		strset_grow(set);
	for (i = str_hash(s) & (set->cap - 1); set->slots[i]; i = (i + 1) & (set->cap - 1)) {
		if (!strcmp(set->slots[i], s)) {
			free(s);
			return;
		}
	}
	set->slots[i] = s;
	set->nr++;
}

static void strset_free(struct strset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i]);
	free(set->slots);
}


int layer_applier_new(int root_fd, enum whiteout_mode mode, struct layer_applier **out,
		      struct strata_error **err)
{
	struct layer_applier *a;
	int fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "open layer folder");
	a = xcalloc(1, sizeof(*a));
	a->root_fd = fd;
	a->mode = mode;
	a->buf = xmalloc(COPY_BUF);
	*out = a;
	return 0;
}

void layer_applier_free(struct layer_applier *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nr_dirs; i++)
		free(a->dirs[i].path);
	free(a->dirs);
	for (size_t i = 0; i < a->nr_plnks; i++) {
		struct plnk *p = &a->plnks[i];

		free(p->base);
		close(p->fd);
		for (size_t j = 0; j < p->hdr.nr_xattrs; j++) {
			free(p->hdr.xattrs[j].name);
			free(p->hdr.xattrs[j].value);
		}
		free(p->hdr.xattrs);
	}
	free(a->plnks);
	strset_free(&a->written);
	close(a->root_fd);
	free(a->buf);
	free(a);
}

static struct timespec entry_mtime(const struct tar_entry *e)
{
	struct timespec ts = { .tv_sec = (time_t)e->mtime_sec, .tv_nsec = (long)e->mtime_nsec };

	if (ts.tv_nsec < 0 || ts.tv_nsec > 999999999)
		ts.tv_nsec = 0;
	return ts;
}

/* Owner: always numeric, never through a symlink. */
static int set_owner(int fd, int parent, const char *last, const struct tar_entry *e,
		     struct strata_error **err)
{
	int r;

	if (e->uid < 0 || e->gid < 0 || e->uid > UINT32_MAX - 1 || e->gid > UINT32_MAX - 1)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "owner %lld:%lld out of range",
					(long long)e->uid, (long long)e->gid);
	if (fd >= 0)
		r = fchown(fd, (uid_t)e->uid, (gid_t)e->gid);
	else
		r = fchownat(parent, last, (uid_t)e->uid, (gid_t)e->gid, AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "chown %lld:%lld",
					(long long)e->uid, (long long)e->gid);
	return 0;
}

/*
 * PAX SCHILY.xattr.* records.  dockerd (createTarFile) ignores ENOTSUP and
 * EPERM (file systems or namespaces that refuse the name space); so do we.
 * Without an fd (symlinks, devices) setxattrat(AT_SYMLINK_NOFOLLOW) is used;
 * on kernels without it those xattrs are skipped.
 */
static int set_xattrs(int fd, int parent, const char *last, const struct tar_entry *e,
		      struct strata_error **err)
{
	for (size_t i = 0; i < e->nr_xattrs; i++) {
		const struct tar_xattr *x = &e->xattrs[i];
		int r;

		if (fd >= 0) {
			r = fsetxattr(fd, x->name, x->value, x->len, 0);
		} else {
			struct strata_xattr_args args = {
				.value = (uint64_t)(uintptr_t)x->value,
				.size = (uint32_t)x->len,
			};

			r = (int)syscall(SYS_setxattrat, parent, last, AT_SYMLINK_NOFOLLOW, x->name,
					 &args, sizeof(args));
			if (r < 0 && errno == ENOSYS)
				continue;
		}
		if (r < 0) {
			if (errno == ENOTSUP || errno == EPERM)
				continue;
			return strata_error_set(err, fs_errcode(errno), errno, "set xattr '%s'", x->name);
		}
	}
	return 0;
}

static int chmod_nofollow(int parent, const char *last, mode_t mode)
{
	int r = (int)syscall(SYS_fchmodat2, parent, last, mode, AT_SYMLINK_NOFOLLOW);

	if (r < 0 && errno == ENOSYS)
		r = fchmodat(parent, last, mode, AT_SYMLINK_NOFOLLOW);
	return r;
}

static int set_times_at(int parent, const char *last, const struct tar_entry *e,
			struct strata_error **err)
{
	struct timespec ts[2] = { entry_mtime(e), entry_mtime(e) };

	if (utimensat(parent, last, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "set times");
	return 0;
}


/* Metadata of a node we hold an fd for: owner, xattrs, mode (after chown: it clears setuid). */
static int finish_fd_node(int fd, const struct tar_entry *e, struct strata_error **err)
{
	int ret = set_owner(fd, -1, NULL, e, err);

	if (ret < 0)
		return ret;
	ret = set_xattrs(fd, -1, NULL, e, err);
	if (ret < 0)
		return ret;
	if (fchmod(fd, e->mode & 07777) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "chmod");
	return 0;
}

#define WRITEBACK_MIN (256u << 10)

/*
 * Copy src_fd from *off to its end into fd without user-space copies, as
 * far as the kernel can (*off: where it stopped); the caller copies the
 * rest.  Between file systems copy_file_range may refuse (EXDEV).
 */
static int copy_in_kernel(int src_fd, int fd, uint64_t *off, struct strata_error **err)
{
	for (;;) {
		loff_t in = (loff_t)*off;
		ssize_t n = copy_file_range(src_fd, &in, fd, NULL, 1u << 30, 0);

		if (n > 0) {
			*off += (uint64_t)n;
			continue;
		}
		if (n == 0 || errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)
			return 0;
		if (errno == EINTR)
			continue;
		return strata_error_set(err, fs_errcode(errno), errno, "copy file data");
	}
}

/* Create a regular file; data from read(cookie) or, when src_fd >= 0, a copy of src_fd. */
static int make_regular(struct layer_applier *a, int parent, const char *last,
			const struct tar_entry *e, stream_read_fn read, void *cookie, int src_fd,
			struct strata_error **err)
{
	_cleanup_close_ int fd = -1;
	uint64_t left = e->size, off = 0;
	struct timespec ts[2] = { entry_mtime(e), entry_mtime(e) };
	int ret;

	fd = openat(parent, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "create file");
	if (src_fd >= 0 && (ret = copy_in_kernel(src_fd, fd, &off, err)) < 0)
		return ret;
	for (;;) {
		ssize_t n;

		if (src_fd < 0 && !left)
			break;
		if (src_fd >= 0)
			n = pread(src_fd, a->buf, COPY_BUF, (off_t)off);
		else
			n = read(cookie, a->buf, left < COPY_BUF ? (size_t)left : COPY_BUF, err);
		if (n < 0) {
			if (src_fd >= 0)
				return strata_error_set(err, STRATA_ERR_IO, errno, "read hard link source");
			return (int)n;
		}
		if (n == 0)
			break;
		if (src_fd < 0 && (uint64_t)n > left)
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "more data than the header states");
		ret = fs_write_all(fd, a->buf, (size_t)n, "write file", err);
		if (ret < 0)
			return ret;
		off += (uint64_t)n;
		if (src_fd < 0) {
			left -= (uint64_t)n;
			if (!left)
				break;
		}
	}
	if (src_fd < 0 && left)
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "data ends %llu bytes early",
					(unsigned long long)left);
	/* Start writeback now so the sync before the layer is recorded finds less to do. */
	if (off >= WRITEBACK_MIN)
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	ret = finish_fd_node(fd, e, err);
	if (ret < 0)
		return ret;
	if (futimens(fd, ts) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "set times");
	return 0;
}

/*
 * The inode of fd already has e's owner, permission bits and exactly e's
 * xattrs: what chown, setxattr and chmod would leave it with.
 */
static bool name_listed(const char *names, size_t n, const char *name)
{
	for (const char *p = names; p < names + n; p += strlen(p) + 1)
		if (!strcmp(p, name))
			return true;
	return false;
}

static bool inode_is(int fd, const struct stat *st, const struct tar_entry *e)
{
	char names[4096], value[1024];
	ssize_t n;

	if ((int64_t)st->st_uid != e->uid || (int64_t)st->st_gid != e->gid ||
	    (st->st_mode & 07777) != (e->mode & 07777))
		return false;
	n = flistxattr(fd, names, sizeof(names));
	if (n < 0)
		return (errno == ENOTSUP || errno == EOPNOTSUPP) && !e->nr_xattrs;
	for (const char *name = names; name < names + n; name += strlen(name) + 1) {
		const struct tar_xattr *x = NULL;
		ssize_t len;

		for (size_t i = 0; i < e->nr_xattrs && !x; i++)
			if (!strcmp(e->xattrs[i].name, name))
				x = &e->xattrs[i];
		if (!x || x->len > sizeof(value))
			return false;
		len = fgetxattr(fd, name, value, sizeof(value));
		if (len < 0 || (size_t)len != x->len || memcmp(value, x->value, x->len))
			return false;
	}
	for (size_t i = 0; i < e->nr_xattrs; i++)
		if (!name_listed(names, (size_t)n, e->xattrs[i].name))
			return false;
	return true;
}

/*
 * A regular file whose data is src_fd's.  When src_fd's inode already is
 * the file e describes (size, mtime, owner, mode, xattrs) the new name is a
 * hard link to it: no data is copied or written back, and the layers share
 * an inode none of them ever changes (a layer's files are only created and
 * removed; containers copy them up).  Otherwise the data is copied.
 */
static int make_from(struct layer_applier *a, int parent, const char *last, const struct tar_entry *e,
		     int src_fd, struct strata_error **err)
{
	struct timespec mtime = entry_mtime(e);
	struct stat st;

	if (fstat(src_fd, &st) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "stat the source");
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size)
		return strata_error_set(err, STRATA_ERR_IO, 0, "the source is not the %llu-byte file the entry says",
					(unsigned long long)e->size);
	if (st.st_mtim.tv_sec == mtime.tv_sec && st.st_mtim.tv_nsec == mtime.tv_nsec && inode_is(src_fd, &st, e) &&
	    linkat(src_fd, "", parent, last, AT_EMPTY_PATH) == 0)
		return 0;
	/* another file system, too many links, no CAP_DAC_READ_SEARCH: a copy */
	return make_regular(a, parent, last, e, NULL, NULL, src_fd, err);
}

static void remember_dir(struct layer_applier *a, const char *rel, const struct tar_entry *e)
{
	ALLOC_GROW(a->dirs, a->nr_dirs + 1, a->alloc_dirs);
	a->dirs[a->nr_dirs].path = xstrdup(rel);
	a->dirs[a->nr_dirs].mtime = entry_mtime(e);
	a->nr_dirs++;
}

static int make_dir(struct layer_applier *a, int parent, const char *last, const char *rel,
		    const struct tar_entry *e, struct strata_error **err)
{
	_cleanup_close_ int fd = -1;
	int ret;

	if (mkdirat(parent, last, 0700) < 0 && errno != EEXIST)
		return strata_error_set(err, fs_errcode(errno), errno, "create folder");
	fd = openat(parent, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "open folder");
	ret = finish_fd_node(fd, e, err);
	if (ret < 0)
		return ret;
	remember_dir(a, rel, e);
	return 0;
}

static int make_special(int parent, const char *last, const struct tar_entry *e,
			struct strata_error **err)
{
	mode_t type = e->typeflag == TAR_CHR ? S_IFCHR : e->typeflag == TAR_BLK ? S_IFBLK : S_IFIFO;
	dev_t dev = type == S_IFIFO ? 0 : makedev(e->devmajor, e->devminor);
	int ret;

	if (mknodat(parent, last, type | (e->mode & 07777), dev) < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "create %s",
					type == S_IFIFO ? "fifo" : "device node");
	if ((ret = set_owner(-1, parent, last, e, err)) < 0 ||
	    (ret = set_xattrs(-1, parent, last, e, err)) < 0)
		return ret;
	if (chmod_nofollow(parent, last, e->mode & 07777) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "chmod");
	return set_times_at(parent, last, e, err);
}

static int make_symlink(int parent, const char *last, const struct tar_entry *e,
			struct strata_error **err)
{
	int ret;

	/* The target is data: stored as is, never followed by us. */
	if (symlinkat(e->linkname, parent, last) < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "create symlink");
	if ((ret = set_owner(-1, parent, last, e, err)) < 0 ||
	    (ret = set_xattrs(-1, parent, last, e, err)) < 0)
		return ret;
	return set_times_at(parent, last, e, err);
}

static struct plnk *find_plnk(struct layer_applier *a, const char *base)
{
	for (size_t i = 0; i < a->nr_plnks; i++)
		if (!strcmp(a->plnks[i].base, base))
			return &a->plnks[i];
	return NULL;
}

static int make_hardlink(struct layer_applier *a, int parent, const char *last,
			 const struct tar_entry *e, struct strata_error **err)
{
	_cleanup_free_ char *target = NULL;
	_cleanup_close_ int tparent = -1;
	const char *tlast;
	struct stat st;
	int ret;

	_cleanup_free_ char *what = xasprintf("hard link target '%s'", e->linkname);

	ret = safepath_clean(e->linkname, &target, what, err);
	if (ret < 0)
		return ret;
	if (!*target)
		return strata_error_set(err, STRATA_ERR_UNSAFE_PATH, 0,
					"hard link to the layer root '%s'", e->linkname);
	if (!strncmp(target, WH_PLNK "/", sizeof(WH_PLNK))) {
		/* AUFS hard link: dockerd writes a copy of the stashed file. */
		const char *base = strrchr(target, '/') + 1;
		struct plnk *p = find_plnk(a, base);

		if (!p)
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid aufs hard link '%s'",
						e->linkname);
		return make_regular(a, parent, last, &p->hdr, NULL, NULL, p->fd, err);
	}
	tparent = safepath_open_parent(a->root_fd, target, 0, &tlast, err);
	if (tparent < 0)
		return strata_error_wrap(err, "hard link target '%s'", e->linkname);
	if (linkat(tparent, tlast, parent, last, 0) < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "hard link to '%s'", e->linkname);
	if (fstatat(parent, last, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
		_cleanup_close_ int fd = openat(parent, last, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

		/* nothing to change: leave the inode alone (another layer may share it, see make_from) */
		if (fd >= 0 && inode_is(fd, &st, e))
			return 0;
	}
	/* As dockerd: owner (no follow) and, unless the inode is a symlink, mode; no times. */
	if ((ret = set_owner(-1, parent, last, e, err)) < 0 ||
	    (ret = set_xattrs(-1, parent, last, e, err)) < 0)
		return ret;
	if (fstatat(parent, last, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "stat hard link");
	if (!S_ISLNK(st.st_mode) && chmod_nofollow(parent, last, e->mode & 07777) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "chmod");
	return 0;
}

static int stash_plnk(struct layer_applier *a, const char *base, const struct tar_entry *e,
		      stream_read_fn read, void *cookie, struct strata_error **err)
{
	_cleanup_close_ int fd = -1;
	struct plnk *p;
	uint64_t left = e->size;

	if (find_plnk(a, base))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "duplicate aufs hard link source");
	if (a->nr_plnks >= MAX_PLNK)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
					"more than %d aufs hard link sources", MAX_PLNK);
	fd = openat(a->root_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "create temporary file");
	while (left) {
		ssize_t n = read(cookie, a->buf, left < COPY_BUF ? (size_t)left : COPY_BUF, err);
		int ret;

		if (n < 0)
			return (int)n;
		if (n == 0)
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "data ends early");
		if ((uint64_t)n > left)
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "more data than the header states");
		ret = fs_write_all(fd, a->buf, (size_t)n, "write temporary file", err);
		if (ret < 0)
			return ret;
		left -= (uint64_t)n;
	}
	ALLOC_GROW(a->plnks, a->nr_plnks + 1, a->alloc_plnks);
	p = &a->plnks[a->nr_plnks++];
	memset(p, 0, sizeof(*p));
	p->base = xstrdup(base);
	p->fd = steal_fd(&fd);
	p->hdr = *e;
	p->hdr.name = p->hdr.linkname = p->hdr.uname = p->hdr.gname = NULL;
	p->hdr.typeflag = TAR_REG;
	p->hdr.xattrs = e->nr_xattrs ? xcalloc(e->nr_xattrs, sizeof(struct tar_xattr)) : NULL;
	for (size_t i = 0; i < e->nr_xattrs; i++) {
		p->hdr.xattrs[i].name = xstrdup(e->xattrs[i].name);
		p->hdr.xattrs[i].value = xmalloc(e->xattrs[i].len + 1);
		memcpy(p->hdr.xattrs[i].value, e->xattrs[i].value, e->xattrs[i].len);
		p->hdr.xattrs[i].len = e->xattrs[i].len;
	}
	return 0;
}

/* vfs opaque folder: remove every child not written by this layer (recursively). */
static int opaque_delete(struct layer_applier *a, int dfd, struct strbuf *path,
			 struct strata_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int ret = fs_opendir_at(dfd, ".", &d, err);

	if (ret < 0)
		return ret;
	while ((errno = 0, de = readdir(d))) {
		size_t keep = path->len;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (path->len)
			strbuf_addch(path, '/');
		strbuf_addstr(path, de->d_name);
		if (!strset_has(&a->written, path->buf)) {
			ret = fs_remove_tree_at(dfd, de->d_name, err);
			if (ret < 0)
				return ret;
		} else if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = openat(dfd, de->d_name,
							 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0)
				return strata_error_set(err, STRATA_ERR_IO, errno, "open '%s'", path->buf);
			ret = opaque_delete(a, sub, path, err);
			if (ret < 0)
				return ret;
		}
		strbuf_setlen(path, keep);
	}
	if (errno)
		return strata_error_set(err, STRATA_ERR_IO, errno, "read folder");
	return 0;
}

static int apply_whiteout(struct layer_applier *a, const char *rel, const char *base,
			  const struct tar_entry *e, struct strata_error **err)
{
	_cleanup_close_ int parent = -1;
	const char *last, *orig;
	struct stat st;
	int ret;

	parent = safepath_open_parent(a->root_fd, rel, 0755, &last, err);
	if (parent < 0)
		return parent;
	if (!strcmp(base, WH_OPAQUE)) {
		if (a->mode == WHITEOUT_OVERLAY) {
			if (fsetxattr(parent, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
				return strata_error_set(err, STRATA_ERR_IO, errno, "set %s=y",
							OVERLAY_OPAQUE_XATTR);
			return 0;
		} else {
			_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
			const char *slash = strrchr(rel, '/');

			if (slash)
				strbuf_add(&path, rel, (size_t)(slash - rel));
			return opaque_delete(a, parent, &path, err);
		}
	}
	orig = base + strlen(WH_PREFIX);
	if (!*orig || !strcmp(orig, ".") || !strcmp(orig, ".."))
		return strata_error_set(err, STRATA_ERR_UNSAFE_PATH, 0, "invalid whiteout name");
	if (fstatat(parent, orig, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		ret = fs_remove_tree_at(parent, orig, err);
		if (ret < 0)
			return ret;
	} else if (errno != ENOENT) {
		return strata_error_set(err, STRATA_ERR_IO, errno, "stat '%s'", orig);
	}
	if (a->mode == WHITEOUT_DELETE)
		return 0;
	if (mknodat(parent, orig, S_IFCHR | 0, makedev(0, 0)) < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "create whiteout device");
	ret = set_owner(-1, parent, orig, e, err);
	if (ret < 0)
		return ret;
	return set_times_at(parent, orig, e, err);
}

/* The "./" entry: metadata of the root (vfs only; overlay2 keeps diff/ as created). */
static int apply_root(struct layer_applier *a, const struct tar_entry *e, struct strata_error **err)
{
	int ret;

	if (e->typeflag != TAR_DIR)
		return strata_error_set(err, STRATA_ERR_UNSAFE_PATH, 0,
					"an entry that is not a folder cannot replace the layer root");
	if (a->mode != WHITEOUT_DELETE)
		return 0;
	ret = finish_fd_node(a->root_fd, e, err);
	if (ret < 0)
		return ret;
	remember_dir(a, "", e);
	return 0;
}

static bool component_is_meta(const char *rel)
{
	for (const char *p = rel; *p;) {
		if (!strncmp(p, WH_META, strlen(WH_META)))
			return true;
		p = strchrnul(p, '/');
		if (*p)
			p++;
	}
	return false;
}

static int apply_one(struct layer_applier *a, const struct tar_entry *e, stream_read_fn read,
		     void *cookie, int src_fd, struct strata_error **err)
{
	_cleanup_free_ char *rel = NULL;
	_cleanup_close_ int parent = -1;
	const char *base, *last;
	struct stat st;
	int ret;

	switch (e->typeflag) {
	case 'g': /* PAX global header: no file */
		return 0;
	case TAR_REG:
	case TAR_CONT:
	case TAR_LINK:
	case TAR_SYMLINK:
	case TAR_CHR:
	case TAR_BLK:
	case TAR_DIR:
	case TAR_FIFO:
		break;
	default:
		return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0, "unhandled entry type '%c'",
					e->typeflag);
	}
	ret = safepath_clean(e->name, &rel, "unsafe name", err);
	if (ret < 0)
		return ret;
	if (!*rel)
		return apply_root(a, e, err);

	base = strrchr(rel, '/');
	base = base ? base + 1 : rel;

	if (a->mode == WHITEOUT_NONE) {
		/* a plain archive: no name is special */
	} else if (!strncmp(rel, WH_META, strlen(WH_META)) && strcmp(rel, WH_OPAQUE) != 0) {
		/* AUFS metadata at the top: keep .wh..wh.plnk/ files only as hard link sources. */
		if (!strncmp(rel, WH_PLNK "/", sizeof(WH_PLNK)) && !strchr(rel + sizeof(WH_PLNK), '/') &&
		    (e->typeflag == TAR_REG || e->typeflag == TAR_CONT))
			return stash_plnk(a, base, e, read, cookie, err);
		return 0;
	} else if (!strncmp(base, WH_PREFIX, strlen(WH_PREFIX))) {
		if (strncmp(base, WH_META, strlen(WH_META)) != 0 || !strcmp(base, WH_OPAQUE))
			return apply_whiteout(a, rel, base, e, err);
		return 0; /* other .wh..wh.* metadata */
	} else if (component_is_meta(rel)) {
		/* Never materialise anything below a .wh..wh.* folder. */
		return 0;
	}

	parent = safepath_open_parent(a->root_fd, rel, 0755, &last, err);
	if (parent < 0)
		return parent;
	if (fstatat(parent, last, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!(S_ISDIR(st.st_mode) && e->typeflag == TAR_DIR) &&
		    (ret = fs_remove_tree_at(parent, last, err)) < 0)
			return ret;
	} else if (errno != ENOENT) {
		return strata_error_set(err, STRATA_ERR_IO, errno, "stat");
	}

	switch (e->typeflag) {
	case TAR_DIR:
		ret = make_dir(a, parent, last, rel, e, err);
		break;
	case TAR_SYMLINK:
		ret = make_symlink(parent, last, e, err);
		break;
	case TAR_LINK:
		ret = make_hardlink(a, parent, last, e, err);
		break;
	case TAR_CHR:
	case TAR_BLK:
	case TAR_FIFO:
		ret = make_special(parent, last, e, err);
		break;
	default:
		ret = src_fd >= 0 ? make_from(a, parent, last, e, src_fd, err)
				  : make_regular(a, parent, last, e, read, cookie, -1, err);
		break;
	}
	if (ret < 0)
		return ret;
	if (a->mode == WHITEOUT_DELETE)
		strset_put_owned(&a->written, steal_pointer(&rel));
	return 0;
}

int layer_applier_apply(struct layer_applier *a, const struct tar_entry *e, uint64_t header_size,
			stream_read_fn read, void *cookie, struct strata_error **err)
{
	if (e->typeflag != 'g')
		a->header_total += (int64_t)header_size;
	if (apply_one(a, e, read, cookie, -1, err) < 0)
		return strata_error_wrap(err, "layer entry '%s'", e->name);
	return 0;
}

int layer_applier_apply_fd(struct layer_applier *a, const struct tar_entry *e, uint64_t header_size, int src_fd,
			   struct strata_error **err)
{
	if (e->typeflag != TAR_REG && e->typeflag != TAR_CONT)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "layer entry '%s': not a regular file", e->name);
	a->header_total += (int64_t)header_size;
	if (apply_one(a, e, NULL, NULL, src_fd, err) < 0)
		return strata_error_wrap(err, "layer entry '%s'", e->name);
	return 0;
}

static ssize_t reader_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	return tar_reader_read_data(cookie, buf, len, err);
}

int layer_applier_entry(void *applier, const struct tar_entry *e, struct tar_reader *r,
			struct strata_error **err)
{
	return layer_applier_apply(applier, e, tar_reader_header_size(r), reader_read, r, err);
}

static int set_dir_times(struct layer_applier *a, const struct dir_time *dt,
			 struct strata_error **err)
{
	struct timespec ts[2] = { dt->mtime, dt->mtime };
	_cleanup_close_ int parent = -1;
	const char *last;
	struct stat st;
	struct strata_error *e = NULL;

	if (!*dt->path) {
		if (futimens(a->root_fd, ts) < 0)
			return strata_error_set(err, STRATA_ERR_IO, errno, "set times of the layer root");
		return 0;
	}
	parent = safepath_open_parent(a->root_fd, dt->path, 0, &last, &e);
	if (parent < 0) {
		/* Removed or replaced later in the stream: nothing to date. */
		strata_error_free(e);
		return 0;
	}
	if (fstatat(parent, last, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (utimensat(parent, last, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "set times of '%s'", dt->path);
	return 0;
}

int layer_applier_finish(struct layer_applier *a, int64_t *size, struct strata_error **err)
{
	int ret;

	for (size_t i = 0; i < a->nr_dirs; i++)
		if ((ret = set_dir_times(a, &a->dirs[i], err)) < 0)
			return ret;
	if (!size)
		return 0;
	if (a->mode == WHITEOUT_DELETE) {
		*size = a->header_total;
		return 0;
	}
	return layer_dir_size(a->root_fd, size, err);
}

static int dir_size(int dfd, struct inode_map *seen, int64_t *total, struct strata_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int ret = fs_opendir_at(dfd, ".", &d, err);

	if (ret < 0)
		return ret;
	while ((errno = 0, de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return strata_error_set(err, STRATA_ERR_IO, errno, "stat '%s'", de->d_name);
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = openat(dfd, de->d_name,
							 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0)
				return strata_error_set(err, STRATA_ERR_IO, errno, "open '%s'", de->d_name);
			ret = dir_size(sub, seen, total, err);
			if (ret < 0)
				return ret;
			continue;
		}
		if (st.st_nlink > 1 && !inode_map_add(seen, st.st_dev, st.st_ino, NULL))
			continue;
		*total += st.st_size;
	}
	if (errno)
		return strata_error_set(err, STRATA_ERR_IO, errno, "read folder");
	return 0;
}

int layer_dir_size(int dir_fd, int64_t *size, struct strata_error **err)
{
	struct inode_map seen = INODE_MAP_INIT;
	int64_t total = 0;
	int ret = dir_size(dir_fd, &seen, &total, err);

	inode_map_release(&seen);
	if (ret < 0)
		return strata_error_wrap(err, "computing layer size");
	*size = total;
	return 0;
}
