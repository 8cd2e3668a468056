/* dockerd's init layer, entry by entry in daemon/initlayer's order. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/initlayer.h"
#include "util/cleanup.h"
#include "util/fs.h"

enum init_kind { INIT_DIR, INIT_FILE, INIT_LINK };

static const struct {
	const char *path;
	enum init_kind kind;
	const char *target;
} init_entries[] = {
	{ "dev/pts", INIT_DIR, NULL },
	{ "dev/shm", INIT_DIR, NULL },
	{ "proc", INIT_DIR, NULL },
	{ "sys", INIT_DIR, NULL },
	{ ".dockerenv", INIT_FILE, NULL },
	{ "etc/resolv.conf", INIT_FILE, NULL },
	{ "etc/hosts", INIT_FILE, NULL },
	{ "etc/hostname", INIT_FILE, NULL },
	{ "dev/console", INIT_FILE, NULL },
	{ "etc/mtab", INIT_LINK, "/proc/mounts" },
};

/* The parent folders (dev/, etc/) dockerd makes with MkdirAll 0755. */
static int make_parent(int dirfd, const char *path, struct strata_error **err)
{
	const char *slash = strchr(path, '/');
	char parent[16];

	if (!slash)
		return 0;
	if ((size_t)(slash - path) >= sizeof(parent))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "init layer path '%s'", path);
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	if (fs_exists_at(dirfd, parent))
		return 0;
	return fs_mkdir_at(dirfd, parent, 0755, err);
}

static int make_file(int dirfd, const char *path, struct strata_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, path,
					O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);

	if (fd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "create '%s'", path);
	/* umask must not change the mode dockerd gives these files */
	if (fchmod(fd, 0755) < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "chmod '%s'", path);
	return 0;
}

int container_init_layer_populate(int dirfd, struct strata_error **err)
{
	for (size_t i = 0; i < sizeof(init_entries) / sizeof(init_entries[0]); i++) {
		const char *path = init_entries[i].path;
		int ret = make_parent(dirfd, path, err);

		if (ret < 0)
			return ret;
		if (fs_exists_at(dirfd, path))
			continue;
		switch (init_entries[i].kind) {
		case INIT_DIR:
			ret = fs_mkdir_at(dirfd, path, 0755, err);
			break;
		case INIT_FILE:
			ret = make_file(dirfd, path, err);
			break;
		case INIT_LINK:
			if (symlinkat(init_entries[i].target, dirfd, path) < 0)
				ret = strata_error_set(err, fs_errcode(errno), errno,
						       "symlink '%s'", path);
			break;
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}
