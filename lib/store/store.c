#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/driver.h"
#include "store/store-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/gotime.h"

#define EMPTY_REPOSITORIES "{\"Repositories\":{}}"

/* Make path absolute and resolve symlinks of the part that exists, as dockerd. */
static char *absolute_root(const char *path)
{
	char resolved[PATH_MAX];
	char cwd[PATH_MAX];

	if (realpath(path, resolved))
		return xstrdup(resolved);
	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

static int mkdir_parents(const char *path, struct strata_error **err)
{
	_cleanup_free_ char *copy = xstrdup(path);

	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) < 0 && errno != EEXIST)
			return strata_error_set(err, STRATA_ERR_IO, errno, "create folder '%s'", copy);
		*p = '/';
	}
	if (mkdir(copy, 0711) < 0 && errno != EEXIST)
		return strata_error_set(err, STRATA_ERR_IO, errno, "create data root '%s'", copy);
	return 0;
}

/*
 * A running dockerd keeps its volume database (bolt) flock()ed.  Holding a
 * shared lock on it while we write also keeps a dockerd from starting on
 * the root under our feet (bolt's open times out).
 */
static int guard_against_dockerd(struct strata_store *store, struct strata_error **err)
{
	int fd = openat(store->root_fd, "volumes/metadata.db", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
		int e = errno;

		close(fd);
		if (e == EWOULDBLOCK)
			return strata_error_set(err, STRATA_ERR_BUSY, 0,
						"data root '%s' is in use by a running dockerd "
						"(volumes/metadata.db is locked): stop dockerd before changing "
						"its store, or use a copy", store->root);
		return strata_error_set(err, STRATA_ERR_IO, e, "lock '%s/volumes/metadata.db'", store->root);
	}
	/* Kept open (and locked) until the store is freed. */
	store->dockerd_guard_fd = fd;
	return 0;
}

static const char *detect_driver(int root_fd)
{
	if (root_fd >= 0 && fs_exists_at(root_fd, "image/overlay2"))
		return "overlay2";
	if (root_fd >= 0 && fs_exists_at(root_fd, "image/vfs"))
		return "vfs";
	return NULL;
}

static int create_layout(struct strata_store *store, struct strata_error **err)
{
	static const char *const dirs[] = {
		"imagedb", "imagedb/content", "imagedb/content/sha256", "imagedb/metadata",
		"imagedb/metadata/sha256", "layerdb", "distribution",
	};
	_cleanup_free_ char *image_dir = xasprintf("image/%s", store->driver_name);
	struct graph_driver *driver;
	int ret;

	ret = fs_mkdir_at(store->root_fd, "image", 0700, err);
	if (ret < 0)
		return ret;
	ret = fs_mkdir_at(store->root_fd, image_dir, 0700, err);
	if (ret < 0)
		return ret;
	store->image_fd = fs_open_dir_at(store->root_fd, image_dir, err);
	if (store->image_fd < 0)
		return store->image_fd;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (fs_exists_at(store->image_fd, dirs[i]))
			continue;
		ret = fs_mkdir_at(store->image_fd, dirs[i], 0700, err);
		if (ret < 0)
			return ret;
	}
	if (!fs_exists_at(store->image_fd, "repositories.json")) {
		ret = fs_write_file_atomic_at(store->image_fd, "repositories.json", EMPTY_REPOSITORIES,
					      strlen(EMPTY_REPOSITORIES), 0600, err);
		if (ret < 0)
			return ret;
	}
	/* dockerd creates its driver folder (overlay2/ with l/) at start too. */
	return store_driver(store, &driver, err);
}

int strata_store_open(const char *data_root, const char *driver, unsigned flags,
		      struct strata_store **out, struct strata_error **err)
{
	struct strata_store *store;
	const char *detected;
	int ret;

	if (driver && strcmp(driver, "overlay2") && strcmp(driver, "vfs"))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"unsupported storage driver '%s' (use overlay2 or vfs)", driver);
	store = xcalloc(1, sizeof(*store));
	store->root_fd = store->image_fd = store->lock_fd = store->dockerd_guard_fd = -1;
	store->writable = flags & STRATA_STORE_WRITE;
	if (store->writable) {
		_cleanup_free_ char *abs = absolute_root(data_root);

		ret = mkdir_parents(abs, err);
		if (ret < 0)
			goto fail;
	}
	store->root = absolute_root(data_root);
	store->root_fd = open(store->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (store->root_fd < 0 && (errno != ENOENT || store->writable)) {
		ret = strata_error_set(err, errno == ENOENT ? STRATA_ERR_NOT_FOUND : STRATA_ERR_IO, errno,
				       "cannot open data root '%s'", store->root);
		goto fail;
	}
	detected = detect_driver(store->root_fd);
	if (driver && detected && strcmp(driver, detected)) {
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
				       "data root '%s' uses the %s storage driver, not %s",
				       store->root, detected, driver);
		goto fail;
	}
	if (driver)
		store->driver_name = xstrdup(driver);
	else if (detected)
		store->driver_name = xstrdup(detected);
	else
		store->driver_name = xstrdup(store->writable ? graph_driver_detect(store->root_fd) : "overlay2");

	if (store->writable) {
		ret = guard_against_dockerd(store, err);
		if (ret < 0)
			goto fail;
		/* One writer at a time; readers rely on atomic renames instead. */
		store->lock_fd = dup(store->root_fd);
		if (store->lock_fd < 0 || flock(store->lock_fd, LOCK_EX) < 0) {
			ret = strata_error_set(err, STRATA_ERR_IO, errno, "lock data root '%s'", store->root);
			goto fail;
		}
		ret = create_layout(store, err);
		if (ret < 0)
			goto fail;
	} else if (store->root_fd >= 0) {
		_cleanup_free_ char *image_dir = xasprintf("image/%s", store->driver_name);

		store->image_fd = openat(store->root_fd, image_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (store->image_fd < 0 && errno != ENOENT) {
			ret = strata_error_set(err, STRATA_ERR_IO, errno, "cannot open '%s/%s'", store->root, image_dir);
			goto fail;
		}
	}
	*out = store;
	return 0;
fail:
	strata_store_free(store);
	return ret;
}

void strata_store_free(struct strata_store *store)
{
	if (!store)
		return;
	graph_driver_close(store->driver);
	if (store->image_fd >= 0)
		close(store->image_fd);
	if (store->lock_fd >= 0)
		close(store->lock_fd);
	if (store->dockerd_guard_fd >= 0)
		close(store->dockerd_guard_fd);
	if (store->root_fd >= 0)
		close(store->root_fd);
	free(store->root);
	free(store->driver_name);
	free(store);
}

void strata_store_set_time(struct strata_store *store, int64_t unix_seconds)
{
	store->fixed_time = true;
	store->fixed_sec = unix_seconds;
}

void store_format_now(const struct strata_store *store, struct strbuf *sb)
{
	if (store->fixed_time)
		gotime_format_rfc3339nano_utc(sb, store->fixed_sec, 0);
	else
		gotime_format_now(sb);
}

const char *strata_store_root(const struct strata_store *store) { return store->root; }
const char *strata_store_driver_name(const struct strata_store *store) { return store->driver_name; }

int store_driver(struct strata_store *store, struct graph_driver **out, struct strata_error **err)
{
	int ret;

	if (!store->driver) {
		/* Opening creates missing driver folders: a reader must not write. */
		if (!store->writable && (store->root_fd < 0 || !fs_exists_at(store->root_fd, store->driver_name)))
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "'%s/%s' is missing", store->root,
						store->driver_name);
		ret = graph_driver_open(store->root_fd, store->driver_name, &store->driver, err);
		if (ret < 0)
			return ret;
	}
	*out = store->driver;
	return 0;
}
