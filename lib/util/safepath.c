#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/safepath.h"
#include "util/strbuf.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* A symlink loop or a path leaving the root is an unsafe path, the rest as usual. */
static int code_for(int e)
{
	return e == EXDEV || e == ELOOP ? STRATA_ERR_UNSAFE_PATH : (int)fs_errcode(e);
}

int safepath_clean(const char *name, char **out, const char *what,
		   struct strata_error **err)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n = strlen(name);
	const char *p = name;

	if (n >= PATH_MAX)
		return strata_error_set(err, STRATA_ERR_UNSAFE_PATH, 0,
					"%s: path is longer than %d bytes", what, PATH_MAX - 1);
	while (*p) {
		const char *end;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchrnul(p, '/');
		len = (size_t)(end - p);
		if (len == 1 && p[0] == '.') {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			char *slash;

			if (sb.len == 0) {
				strbuf_release(&sb);
				return strata_error_set(err, STRATA_ERR_UNSAFE_PATH, 0,
							"%s: path leaves the root folder", what);
			}
			slash = strrchr(sb.buf, '/');
			strbuf_setlen(&sb, slash ? (size_t)(slash - sb.buf) : 0);
		} else {
			if (sb.len)
				strbuf_addch(&sb, '/');
			strbuf_add(&sb, p, len);
		}
		p = end;
	}
	*out = strbuf_detach(&sb, NULL);
	return 0;
}

bool safepath_have_openat2(void)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC | O_DIRECTORY,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));

	if (fd < 0)
		return false;
	close((int)fd);
	return true;
}

/* Flags for reopening a folder we already resolved (no create / exclusivity). */
static int reopen_flags(int flags)
{
	return (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_TRUNC)) | O_CLOEXEC;
}

int safepath_open_walk(int root_fd, const char *path, int flags, mode_t mode,
		       struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf rest = STRBUF_INIT;
	_cleanup_free_ int *stack = NULL;
	size_t depth = 0, alloc = 0, pos = 0;
	int links = 0, ret;
	bool follow_last = !(flags & O_NOFOLLOW);

	ALLOC_GROW(stack, 1, alloc);
	stack[0] = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (stack[0] < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "open root folder");
	strbuf_addstr(&rest, path);

	for (;;) {
		int cur = stack[depth];
		const char *c, *end, *after;
		char comp[NAME_MAX + 1];
		size_t len;
		bool last;
		struct stat st;

		while (pos < rest.len && rest.buf[pos] == '/')
			pos++;
		if (pos >= rest.len) {
			ret = openat(cur, ".", reopen_flags(flags));
			if (ret < 0)
				ret = strata_error_set(err, code_for(errno), errno, "open '%s'", path);
			break;
		}
		c = rest.buf + pos;
		end = strchrnul(c, '/');
		len = (size_t)(end - c);
		after = end;
		while (*after == '/')
			after++;
		last = *after == '\0';
		pos = (size_t)(after - rest.buf);
		if (len > NAME_MAX) {
			ret = strata_error_set(err, STRATA_ERR_INVALID, ENAMETOOLONG, "open '%s'", path);
			break;
		}
		memcpy(comp, c, len);
		comp[len] = '\0';
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			if (depth > 0)
				close(stack[depth--]);
			continue;
		}
		if (last && !follow_last) {
			ret = openat(cur, comp, flags | O_CLOEXEC, mode);
			if (ret < 0)
				ret = strata_error_set(err, code_for(errno), errno, "open '%s'", path);
			break;
		}
		if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT && last) {
				ret = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
				if (ret < 0)
					ret = strata_error_set(err, code_for(errno), errno, "open '%s'", path);
				break;
			}
			ret = strata_error_set(err, code_for(errno), errno, "open '%s'", path);
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n;
			struct strbuf next = STRBUF_INIT;

			if (++links > SAFEPATH_MAX_SYMLINKS) {
				ret = strata_error_set(err, STRATA_ERR_UNSAFE_PATH, ELOOP, "open '%s'", path);
				break;
			}
			n = readlinkat(cur, comp, target, sizeof(target) - 1);
			if (n < 0) {
				ret = strata_error_set(err, STRATA_ERR_IO, errno, "readlink in '%s'", path);
				break;
			}
			target[n] = '\0';
			if (target[0] == '/') {
				while (depth > 0)
					close(stack[depth--]);
			}
			strbuf_addstr(&next, target);
			if (!last) {
				strbuf_addch(&next, '/');
				strbuf_addstr(&next, rest.buf + pos);
			}
			strbuf_release(&rest);
			rest = next;
			pos = 0;
			continue;
		}
		if (last) {
			ret = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			if (ret < 0)
				ret = strata_error_set(err, code_for(errno), errno, "open '%s'", path);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			ret = strata_error_set(err, STRATA_ERR_IO, ENOTDIR, "open '%s'", path);
			break;
		}
		ALLOC_GROW(stack, depth + 2, alloc);
		stack[depth + 1] = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (stack[depth + 1] < 0) {
			ret = strata_error_set(err, code_for(errno), errno, "open '%s'", path);
			break;
		}
		depth++;
	}
	for (size_t i = 0; i <= depth; i++)
		close(stack[i]);
	return ret;
}

int safepath_open(int root_fd, const char *path, int flags, mode_t mode,
		  struct strata_error **err)
{
	struct open_how how = {
		.flags = (unsigned)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	const char *p = path;
	long fd;
	int tries = 0;

	while (*p == '/')
		p++;
	if (!*p)
		p = ".";
	do {
		fd = syscall(SYS_openat2, root_fd, p, &how, sizeof(how));
	} while (fd < 0 && (errno == EAGAIN || errno == EINTR) && ++tries < 32);
	if (fd >= 0)
		return (int)fd;
	if (errno == ENOSYS || errno == E2BIG)
		return safepath_open_walk(root_fd, p, flags, mode, err);
	return strata_error_set(err, code_for(errno), errno, "open '%s'", path);
}

int safepath_open_parent(int root_fd, const char *path, mode_t create_mode,
			 const char **last, struct strata_error **err)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int cur = -1;
	const char *slash = strrchr(path, '/');
	const char *p;
	int fd;

	if (!*path || (slash && !slash[1]))
		return strata_error_set(err, STRATA_ERR_UNSAFE_PATH, 0,
					"'%s' has no parent inside the root", path);
	if (!slash) {
		*last = path;
		fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return strata_error_set(err, STRATA_ERR_IO, errno, "open root folder");
		return fd;
	}
	*last = slash + 1;
	dir = xstrndup(path, (size_t)(slash - path));
	{
		struct strata_error *e = NULL;

		fd = safepath_open(root_fd, dir, O_RDONLY | O_DIRECTORY, 0, &e);
		if (fd >= 0)
			return fd;
		if (!create_mode || e->code != STRATA_ERR_NOT_FOUND)
			return strata_error_propagate(err, e);
		strata_error_free(e);
	}

	/* Some folder is missing: find the deepest existing one, create the rest. */
	cur = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "open root folder");
	p = dir;
	for (bool creating = false; *p;) {
		const char *end = strchrnul(p, '/');
		_cleanup_free_ char *comp = xstrndup(p, (size_t)(end - p));
		_cleanup_free_ char *prefix = xstrndup(dir, (size_t)(end - dir));
		int next = -1;

		if (!creating) {
			struct strata_error *e = NULL;

			next = safepath_open(root_fd, prefix, O_RDONLY | O_DIRECTORY, 0, &e);
			if (next < 0) {
				bool missing = e->code == STRATA_ERR_NOT_FOUND;

				if (!missing)
					return strata_error_propagate(err, e);
				strata_error_free(e);
				creating = true;
			}
		}
		if (creating) {
			if (mkdirat(cur, comp, create_mode) < 0) {
				if (errno == EEXIST)
					return strata_error_set(err, STRATA_ERR_UNSAFE_PATH, 0,
								"'%s' exists but does not lead to a folder inside the root "
								"(dangling or escaping symlink)", prefix);
				return strata_error_set(err, code_for(errno), errno, "create folder '%s'", prefix);
			}
			if (fchmodat(cur, comp, create_mode, 0) < 0)
				return strata_error_set(err, STRATA_ERR_IO, errno, "chmod '%s'", prefix);
			next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0)
				return strata_error_set(err, code_for(errno), errno, "open folder '%s'", prefix);
		}
		close(cur);
		cur = next;
		p = *end ? end + 1 : end;
	}
	return steal_fd(&cur);
}
