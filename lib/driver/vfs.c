/*
 * vfs: dockerd's copy-based driver.  vfs/ and vfs/dir/ are 0710 (moby's vfs
 * Init and create: MkdirAllAndChown(..., 0710)), each layer is dir/<id>
 * 0755 holding a full copy of its parent (DirCopy: contents, owners,
 * modes, hard links, devices, fifos, symlinks, times, xattrs) with the
 * layer applied on top through the naive diff driver (whiteouts delete).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "driver/driver-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/inodemap.h"
#include "util/strbuf.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif


static int vfs_init(struct graph_driver *d, struct strata_error **err)
{
	int ret = fs_mkdir_at(d->home_fd, "dir", 0710, err);

	if (ret < 0)
		return ret;
	d->dir_fd = fs_open_dir_at(d->home_fd, "dir", err);
	return d->dir_fd < 0 ? d->dir_fd : 0;
}

static int copy_xattrs_fd(int src, int dst, struct strata_error **err)
{
	char names[65536];
	ssize_t n = flistxattr(src, names, sizeof(names));

	if (n < 0)
		return errno == ENOTSUP ? 0 : strata_error_set(err, STRATA_ERR_IO, errno, "list xattrs");
	for (char *p = names; p < names + n; p += strlen(p) + 1) {
		char value[65536];
		ssize_t v = fgetxattr(src, p, value, sizeof(value));

		if (v < 0)
			continue;
		if (fsetxattr(dst, p, value, (size_t)v, 0) < 0 && errno != ENOTSUP && errno != EPERM)
			return strata_error_set(err, STRATA_ERR_IO, errno, "set xattr '%s'", p);
	}
	return 0;
}

/* Owner, xattrs, mode, times of a node held by fd (mode after chown). */
static int copy_meta_fd(int src, int dst, const struct stat *st, bool times, struct strata_error **err)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	int ret;

	if (fchown(dst, st->st_uid, st->st_gid) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "chown");
	ret = copy_xattrs_fd(src, dst, err);
	if (ret < 0)
		return ret;
	if (fchmod(dst, st->st_mode & 07777) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "chmod");
	if (times && futimens(dst, ts) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "set times");
	return 0;
}

static int copy_data(int src, int dst, struct strata_error **err)
{
	for (;;) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, 1 << 30, 0);

		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)
			break;
		return strata_error_set(err, fs_errcode(errno), errno, "copy data");
	}
	for (;;) {
		char buf[65536];
		ssize_t n = read(src, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return strata_error_set(err, STRATA_ERR_IO, errno, "read");
		if (n == 0)
			return 0;
		for (char *p = buf; n > 0;) {
			ssize_t w = write(dst, p, (size_t)n);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return strata_error_set(err, fs_errcode(errno), errno, "write");
			p += w;
			n -= w;
		}
	}
}

static int copy_tree(int src, int dst, int dst_root, struct strbuf *path, struct inode_map *links,
		     struct strata_error **err);

static int copy_entry(int src, int dst, int dst_root, const char *name, struct strbuf *path,
		      struct inode_map *links, struct strata_error **err)
{
	struct stat st;
	struct timespec ts[2];
	const struct inode_slot *slot;
	int ret;

	if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "stat");
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 &&
	    (slot = inode_map_find(links, st.st_dev, st.st_ino)) != NULL) {
		if (linkat(dst_root, slot->name, dst, name, 0) < 0)
			return strata_error_set(err, fs_errcode(errno), errno, "hard link");
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int s = -1, t = -1;

		if (mkdirat(dst, name, 0700) < 0)
			return strata_error_set(err, fs_errcode(errno), errno, "create folder");
		s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		t = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || t < 0)
			return strata_error_set(err, STRATA_ERR_IO, errno, "open folder");
		ret = copy_tree(s, t, dst_root, path, links, err);
		if (ret < 0)
			return ret;
		return copy_meta_fd(s, t, &st, true, err); /* times after the children */
	}
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int s = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int t = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

		if (s < 0 || t < 0)
			return strata_error_set(err, fs_errcode(errno), errno, "open file");
		if ((ret = copy_data(s, t, err)) < 0 || (ret = copy_meta_fd(s, t, &st, true, err)) < 0)
			return ret;
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);

		if (n < 0)
			return strata_error_set(err, STRATA_ERR_IO, errno, "readlink");
		target[n] = '\0';
		if (symlinkat(target, dst, name) < 0)
			return strata_error_set(err, fs_errcode(errno), errno, "create symlink");
		if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    utimensat(dst, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return strata_error_set(err, STRATA_ERR_IO, errno, "symlink metadata");
	} else {
		/* devices, fifos, sockets: xattrs on these are not copied */
		int r;

		if (mknodat(dst, name, (st.st_mode & S_IFMT) | (st.st_mode & 07777), st.st_rdev) < 0)
			return strata_error_set(err, fs_errcode(errno), errno, "create node");
		if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			return strata_error_set(err, STRATA_ERR_IO, errno, "chown");
		r = (int)syscall(SYS_fchmodat2, dst, name, st.st_mode & 07777, AT_SYMLINK_NOFOLLOW);
		if (r < 0 && errno == ENOSYS)
			r = fchmodat(dst, name, st.st_mode & 07777, AT_SYMLINK_NOFOLLOW);
		if (r < 0 || utimensat(dst, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return strata_error_set(err, STRATA_ERR_IO, errno, "node metadata");
	}
	/* inodes already copied: source (dev, ino) -> path below the copy root */
	if (st.st_nlink > 1)
		inode_map_add(links, st.st_dev, st.st_ino, path->buf);
	return 0;
}

static int copy_tree(int src, int dst, int dst_root, struct strbuf *path, struct inode_map *links,
		     struct strata_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int ret = fs_opendir_at(src, ".", &d, err);

	if (ret < 0)
		return ret;
	while ((errno = 0, de = readdir(d))) {
		size_t keep = path->len;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (path->len)
			strbuf_addch(path, '/');
		strbuf_addstr(path, de->d_name);
		ret = copy_entry(src, dst, dst_root, de->d_name, path, links, err);
		if (ret < 0)
			return strata_error_wrap(err, "copy '%s'", path->buf);
		strbuf_setlen(path, keep);
	}
	if (errno)
		return strata_error_set(err, STRATA_ERR_IO, errno, "read folder");
	return 0;
}

static int vfs_remove(struct graph_driver *d, const char *id, struct strata_error **err)
{
	return fs_remove_tree_at(d->dir_fd, id, err);
}

static int vfs_create(struct graph_driver *d, const char *id, const char *parent,
		      struct strata_error **err)
{
	_cleanup_close_ int src = -1, dst = -1;
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	struct inode_map links = INODE_MAP_INIT;
	struct stat st;
	int ret;

	if (parent) {
		src = openat(d->dir_fd, parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (src < 0)
			return strata_error_set(err, fs_errcode(errno), errno, "open parent layer %s", parent);
	}
	if (vfs_remove(d, id, err) < 0)
		return strata_error_wrap(err, "remove leftover folder");
	if (mkdirat(d->dir_fd, id, 0755) < 0 || fchmodat(d->dir_fd, id, 0755, 0) < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "create layer folder");
	if (!parent)
		return fs_fsync_dir_at(d->dir_fd, ".", err);
	dst = openat(d->dir_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "open layer folder");
	ret = copy_tree(src, dst, dst, &path, &links, err);
	if (ret == 0 && fstat(src, &st) == 0)
		ret = copy_meta_fd(src, dst, &st, true, err);
	inode_map_release(&links);
	if (ret == 0 && syncfs(dst) < 0)
		ret = strata_error_set(err, fs_errcode(errno), errno, "sync");
	if (ret < 0) {
		vfs_remove(d, id, NULL);
		return strata_error_wrap(err, "copy parent layer %s", parent);
	}
	return 0;
}

static bool vfs_exists(struct graph_driver *d, const char *id)
{
	struct stat st;

	return fstatat(d->dir_fd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int vfs_diff_fd(struct graph_driver *d, const char *id, struct strata_error **err)
{
	int fd = openat(d->dir_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "open layer folder");
	return fd;
}

static bool vfs_list_entry(struct graph_driver *d, const char *name)
{
	return true;
}

static int vfs_check(struct graph_driver *d, const char *id, const char *parent,
		     graph_driver_report_fn report, void *cookie, struct strata_error **err)
{
	if (vfs_exists(d, id))
		return 0;
	if (report) {
		_cleanup_free_ char *m = xasprintf("vfs/dir/%s is missing or not a folder", id);

		report(cookie, id, m);
	}
	return 1;
}

static int vfs_mount(struct graph_driver *d, const char *id, const char *target,
		     struct strata_error **err)
{
	_cleanup_close_ int fd = vfs_diff_fd(d, id, err);
	char proc[64];

	if (fd < 0)
		return fd;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (mount(proc, target, NULL, MS_BIND, NULL) < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "bind mount");
	return 0;
}

static int vfs_get(struct graph_driver *d, const char *id, struct strbuf *path, struct strata_error **err)
{
	_cleanup_close_ int fd = vfs_diff_fd(d, id, err);
	char proc[64], buf[PATH_MAX];
	ssize_t n;

	if (fd < 0)
		return fd;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, sizeof(buf) - 1);
	if (n < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "resolve layer folder");
	strbuf_add(path, buf, (size_t)n);
	return 0;
}

/* vfs layers are plain folders: nothing was mounted */
static int vfs_put(struct graph_driver *d, const char *id, struct strata_error **err)
{
	return 0;
}

const struct graph_driver_ops graph_driver_vfs_ops = {
	.name = "vfs",
	.home = "vfs",
	.whiteouts = WHITEOUT_DELETE,
	.caps = 0, /* create copies the parent: no parallel apply */
	.init = vfs_init,
	.create = vfs_create,
	.remove = vfs_remove,
	.exists = vfs_exists,
	.diff_fd = vfs_diff_fd,
	.list_entry = vfs_list_entry,
	.check = vfs_check,
	.mount = vfs_mount,
	.get = vfs_get,
	.put = vfs_put,
};
