#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/driver.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/gotime.h"

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
	int fd = openat(store->root_fd, LAYOUT_DOCKERD_VOLUMES_DB, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
		int e = errno;

		close(fd);
		if (e == EWOULDBLOCK)
			return strata_error_set(err, STRATA_ERR_BUSY, 0,
						"data root '%s' is in use by a running dockerd "
						"(" LAYOUT_DOCKERD_VOLUMES_DB " is locked): stop dockerd before changing "
						"its store, or use a copy", store->root);
		return strata_error_set(err, STRATA_ERR_IO, e, "lock '%s/" LAYOUT_DOCKERD_VOLUMES_DB "'", store->root);
	}
	/* Kept open (and locked) until the store is freed. */
	store->dockerd_guard_fd = fd;
	return 0;
}

/* The driver whose image/<driver> folder the data root has, NULL when none. */
static const struct graph_driver_ops *detect_driver(int root_fd)
{
	for (const struct graph_driver_ops *const *ops = graph_drivers; root_fd >= 0 && *ops; ops++) {
		_cleanup_free_ char *image_dir = layout_image_dir((*ops)->name);

		if (fs_exists_at(root_fd, image_dir))
			return *ops;
	}
	return NULL;
}

static int create_layout(struct strata_store *store, struct strata_error **err)
{
	struct graph_driver *driver;
	int ret;

	ret = layout_create(store->root_fd, store->driver_name, &store->image_fd, err);
	if (ret < 0)
		return ret;
	/* dockerd creates its driver folder (overlay2/ with l/) at start too. */
	return store_driver(store, &driver, err);
}

/* flock the data root (LOCK_EX: the writer; LOCK_SH: a reader that needs a still store). */
static int lock_root(struct strata_store *store, int how, struct strata_error **err)
{
	/* close-on-exec: children (the runtime) must not hold the lock */
	store->lock_fd = fcntl(store->root_fd, F_DUPFD_CLOEXEC, 0);
	if (store->lock_fd < 0 || flock(store->lock_fd, how) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "lock data root '%s'", store->root);
	return 0;
}

int strata_store_open(const char *data_root, const char *driver, unsigned flags,
		      struct strata_store **out, struct strata_error **err)
{
	const struct graph_driver_ops *asked = NULL, *detected;
	struct strata_store *store;
	int ret;

	if (driver && !(asked = graph_driver_ops_by_name(driver)))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"unsupported storage driver '%s' (use " GRAPH_DRIVER_NAMES ")", driver);
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
	if (asked && detected && asked != detected) {
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
				       "data root '%s' uses the %s storage driver, not %s",
				       store->root, detected->name, driver);
		goto fail;
	}
	if (asked)
		store->driver_ops = asked;
	else if (detected)
		store->driver_ops = detected;
	else /* a new root gets what works there; a missing one reads as empty, of dockerd's first choice */
		store->driver_ops = store->writable ? graph_driver_probe(store->root_fd) : graph_drivers[0];
	store->driver_name = store->driver_ops->name;
	store->image_dir = layout_image_dir(store->driver_name);

	if (store->writable) {
		ret = guard_against_dockerd(store, err);
		if (ret < 0)
			goto fail;
		/* One writer at a time; readers rely on atomic renames instead. */
		ret = lock_root(store, LOCK_EX, err);
		if (ret >= 0)
			ret = create_layout(store, err);
		if (ret < 0)
			goto fail;
		if (!(flags & STRATA_STORE_KEEP_LEFTOVERS)) {
			ret = store_recover(store, err);
			if (ret < 0)
				goto fail;
		}
	} else if (store->root_fd >= 0) {
		/* shared: wait for the writer at work, keep the next one out until freed */
		if (flags & STRATA_STORE_STABLE && (ret = lock_root(store, LOCK_SH, err)) < 0)
			goto fail;
		store->image_fd = openat(store->root_fd, store->image_dir,
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (store->image_fd < 0 && errno != ENOENT) {
			ret = strata_error_set(err, STRATA_ERR_IO, errno, "cannot open '%s/%s'", store->root,
					       store->image_dir);
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
	free(store->image_dir);
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
		if (!store->writable && (store->root_fd < 0 || !fs_exists_at(store->root_fd, store->driver_ops->home)))
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "'%s/%s' is missing", store->root,
						store->driver_ops->home);
		ret = graph_driver_open(store->root_fd, store->driver_name, &store->driver, err);
		if (ret < 0)
			return ret;
	}
	*out = store->driver;
	return 0;
}

bool store_parallel_apply(const struct strata_store *store)
{
	return store->driver_ops->caps & GRAPH_DRIVER_CAP_PARALLEL_APPLY;
}

int store_driver_metadata(const struct strata_store *store, const char *cache_id,
			  const char *const *lower_cache_ids, size_t nr_lower, store_metadata_fn fn,
			  void *cookie, struct strata_error **err)
{
	return graph_driver_metadata(store->driver_ops, store->root, cache_id, lower_cache_ids, nr_lower, fn,
				     cookie, err);
}
