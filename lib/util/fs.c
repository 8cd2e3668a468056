#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"

enum strata_errcode fs_errcode(int e)
{
	switch (e) {
	case ENOENT:
		return STRATA_ERR_NOT_FOUND;
	case ENOSPC:
	case EDQUOT:
		return STRATA_ERR_NOSPC;
	case EEXIST:
	case ENOTEMPTY:
		return STRATA_ERR_EXISTS;
	default:
		return STRATA_ERR_IO;
	}
}

int fs_read_file_at(int dirfd, const char *name, size_t max, char **out,
		    size_t *len, struct strata_error **err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t cap, used = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "open '%s'", name);
	if (fstat(fd, &st) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "stat '%s'", name);
	if (!S_ISREG(st.st_mode))
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "'%s' is not a regular file", name);
	if ((size_t)st.st_size > max)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
					"'%s' is too large (%lld bytes, limit %zu)", name,
					(long long)st.st_size, max);
	cap = (size_t)st.st_size + 1;
	buf = xmalloc(cap);
	for (;;) {
		ssize_t n;

		if (used + 1 >= cap) {
			if (cap > max + 1)
				return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
							"'%s' is too large (limit %zu)", name, max);
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + used, cap - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return strata_error_set(err, STRATA_ERR_IO, errno, "read '%s'", name);
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (used > max)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "'%s' is too large (limit %zu)", name, max);
	buf[used] = '\0';
	*out = steal_pointer(&buf);
	if (len)
		*len = used;
	return 0;
}

char *fs_errno_text(int e)
{
	char *s = xstrdup(strerror(e));

	if (s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'a' && s[1] <= 'z')
		s[0] = (char)(s[0] - 'A' + 'a');
	return s;
}

static int write_loop(int fd, const void *data, size_t len, bool socket, const char *what,
		      struct strata_error **err)
{
	const char *p = data;

	while (len) {
		ssize_t n = socket ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return strata_error_set(err, fs_errcode(errno), errno, "%s", what);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_write_all(int fd, const void *data, size_t len, const char *what, struct strata_error **err)
{
	return write_loop(fd, data, len, false, what, err);
}

int fs_send_all(int fd, const void *data, size_t len, const char *what, struct strata_error **err)
{
	return write_loop(fd, data, len, true, what, err);
}

int fs_fsync_dir_at(int dirfd, const char *name, struct strata_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "open folder '%s'", name);
	if (fsync(fd) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "fsync folder '%s'", name);
	return 0;
}

int fs_write_file_at(int dirfd, const char *name, const void *data, size_t len,
		     mode_t mode, struct strata_error **err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *what = xasprintf("write '%s'", name);
	int ret;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "create '%s'", name);
	ret = fs_write_all(fd, data, len, what, err);
	if (ret < 0)
		return ret;
	if (fchmod(fd, mode) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "chmod '%s'", name);
	if (fsync(fd) < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "fsync '%s'", name);
	return 0;
}

int fs_write_file_atomic_at(int dirfd, const char *name, const void *data,
			    size_t len, mode_t mode, struct strata_error **err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_free_ char *dir = NULL;
	const char *slash = strrchr(name, '/');
	int ret;

	/* The temporary file lives in the target's own folder: rename stays atomic. */
	dir = slash ? xstrndup(name, (size_t)(slash - name)) : xstrdup(".");
	tmp = xasprintf("%s/.tmp-%s.%ld", dir, slash ? slash + 1 : name, (long)getpid());
	ret = fs_write_file_at(dirfd, tmp, data, len, mode, err);
	if (ret < 0) {
		unlinkat(dirfd, tmp, 0);
		return ret;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;

		unlinkat(dirfd, tmp, 0);
		return strata_error_set(err, fs_errcode(e), e, "rename into '%s'", name);
	}
	return fs_fsync_dir_at(dirfd, dir, err);
}

bool fs_is_atomic_tmp(const char *name)
{
	const char *dot = strrchr(name, '.');

	return !strncmp(name, ".tmp-", 5) && dot > name + 5 && dot[1] && strspn(dot + 1, "0123456789") == strlen(dot + 1);
}

int fs_mkdir_at(int dirfd, const char *name, mode_t mode, struct strata_error **err)
{
	if (mkdirat(dirfd, name, mode) < 0) {
		struct stat st;

		if (errno != EEXIST)
			return strata_error_set(err, fs_errcode(errno), errno, "create folder '%s'", name);
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "'%s' exists and is not a folder", name);
		return 0;
	}
	if (fchmodat(dirfd, name, mode, 0) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "chmod '%s'", name);
	return 0;
}

int fs_open_dir_at(int dirfd, const char *name, struct strata_error **err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "open folder '%s'", name);
	return fd;
}

int fs_opendir_at(int dirfd, const char *name, DIR **out, struct strata_error **err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "open folder '%s'", name);
	*out = fdopendir(fd);
	if (!*out) {
		int e = errno;

		close(fd);
		return strata_error_set(err, STRATA_ERR_IO, e, "read folder '%s'", name);
	}
	return 0;
}

static int remove_contents(int fd, struct strata_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int ret = fs_opendir_at(fd, ".", &d, err);

	if (ret < 0)
		return ret;
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM)
			return strata_error_set(err, STRATA_ERR_IO, errno, "remove '%s'", de->d_name);
		if (fs_remove_tree_at(fd, de->d_name, err) < 0)
			return -STRATA_ERR_IO;
	}
	return 0;
}

int fs_remove_tree_at(int dirfd, const char *name, struct strata_error **err)
{
	_cleanup_close_ int fd = -1;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return strata_error_set(err, STRATA_ERR_IO, errno, "open '%s' for removal", name);
	}
	if (remove_contents(fd, err) < 0)
		return strata_error_wrap(err, "removing '%s'", name);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return strata_error_set(err, STRATA_ERR_IO, errno, "remove folder '%s'", name);
	return 0;
}

int fs_exists_at(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}
