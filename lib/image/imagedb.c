#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image/imagedb.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "util/limits.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"

static int no_image_dir(struct strata_store *store)
{
	return store->image_fd < 0;
}

int imagedb_list(struct strata_store *store, char ***ids, size_t *nr, struct strata_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	char **out = NULL;
	size_t n = 0, alloc = 0;
	struct strata_error *e = NULL;
	struct dirent *de;
	int ret;

	*ids = NULL;
	*nr = 0;
	if (no_image_dir(store))
		return 0;
	ret = fs_opendir_at(store->image_fd, LAYOUT_IMAGEDB_CONTENT, &d, &e);
	if (ret == -STRATA_ERR_NOT_FOUND) {
		strata_error_free(e);
		return 0;
	}
	if (ret < 0) {
		strata_error_propagate(err, e);
		return strata_error_wrap(err, "'%s/%s'", store->root, store->image_dir);
	}
	while ((de = readdir(d))) {
		/* Temporary files of an atomic write in progress are not images. */
		if (!digest_hex_valid(de->d_name))
			continue;
		ALLOC_GROW(out, n + 1, alloc);
		out[n++] = xstrdup(de->d_name);
	}
	*ids = out;
	*nr = n;
	return 0;
}

void imagedb_list_free(char **ids, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		free(ids[i]);
	free(ids);
}

int imagedb_read_config(struct strata_store *store, const char *hex, char **bytes,
			size_t *len, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	_cleanup_free_ char *buf = NULL;
	char got[STRATA_HEX_LEN + 1];
	size_t n;
	int ret;

	if (!digest_hex_valid(hex))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid image ID '%.80s'", hex);
	if (no_image_dir(store))
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "no image sha256:%s", hex);
	ret = layout_image_config(&path, hex, err);
	if (ret < 0)
		return ret;
	ret = fs_read_file_at(store->image_fd, path.buf, LIMIT_CONFIG, &buf, &n, err);
	if (ret < 0)
		return strata_error_wrap(err, "image config sha256:%s", hex);
	sha256_hex(buf, n, got);
	if (strcmp(got, hex))
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
					"image config '%s/%s/%s' is corrupted: its sha256 is %s",
					store->root, store->image_dir, path.buf, got);
	*bytes = steal_pointer(&buf);
	*len = n;
	return 0;
}

bool imagedb_has_config(struct strata_store *store, const char *hex)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;

	return !no_image_dir(store) && layout_image_config(&path, hex, NULL) == 0 &&
	       fs_exists_at(store->image_fd, path.buf);
}

int imagedb_write_config(struct strata_store *store, const char *bytes, size_t len,
			 char hex[STRATA_HEX_LEN + 1], struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	int ret;

	sha256_hex(bytes, len, hex);
	ret = layout_image_config(&path, hex, err);
	if (ret < 0)
		return ret;
	if (fs_exists_at(store->image_fd, path.buf))
		return 0;
	return fs_write_file_atomic_at(store->image_fd, path.buf, bytes, len, 0600, err);
}

static int metadata_dir(struct strata_store *store, const char *hex, bool create,
			struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	int ret = layout_image_metadata(&path, hex, NULL, err);

	if (ret < 0)
		return ret;
	if (create) {
		ret = fs_mkdir_at(store->image_fd, path.buf, 0700, err);
		if (ret < 0)
			return ret;
	}
	return fs_open_dir_at(store->image_fd, path.buf, err);
}

static int read_metadata(struct strata_store *store, const char *hex, const char *key,
			 char **value, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	struct strata_error *e = NULL;
	int ret;

	*value = NULL;
	if (!digest_hex_valid(hex))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid image ID '%.80s'", hex);
	if (no_image_dir(store))
		return 0;
	ret = layout_image_metadata(&path, hex, key, err);
	if (ret < 0)
		return ret;
	ret = fs_read_file_at(store->image_fd, path.buf, 4096, value, NULL, &e);
	if (ret == -STRATA_ERR_NOT_FOUND) {
		strata_error_free(e);
		return 0;
	}
	return ret < 0 ? strata_error_propagate(err, e) : ret;
}

static int write_metadata(struct strata_store *store, const char *hex, const char *key,
			  const char *value, struct strata_error **err)
{
	_cleanup_close_ int dfd = metadata_dir(store, hex, true, err);

	if (dfd < 0)
		return dfd;
	return fs_write_file_atomic_at(dfd, key, value, strlen(value), 0600, err);
}

int imagedb_get_parent(struct strata_store *store, const char *hex, char **parent,
		       struct strata_error **err)
{
	int ret = read_metadata(store, hex, LAYOUT_IMAGE_PARENT, parent, err);

	if (ret < 0 || !*parent)
		return ret;
	if (!digest_valid(*parent)) {
		free(*parent);
		*parent = NULL;
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
					"image metadata sha256:%s: malformed parent file", hex);
	}
	return 0;
}

int imagedb_set_parent(struct strata_store *store, const char *hex, const char *parent,
		       struct strata_error **err)
{
	return write_metadata(store, hex, LAYOUT_IMAGE_PARENT, parent, err);
}

int imagedb_get_last_updated(struct strata_store *store, const char *hex, char **value,
			     struct strata_error **err)
{
	return read_metadata(store, hex, LAYOUT_IMAGE_LAST_UPDATED, value, err);
}

int imagedb_touch_last_updated(struct strata_store *store, const char *hex,
			       struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf now = STRBUF_INIT;

	store_format_now(store, &now);
	return write_metadata(store, hex, LAYOUT_IMAGE_LAST_UPDATED, now.buf, err);
}

int imagedb_delete(struct strata_store *store, const char *hex, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf content = STRBUF_INIT, meta = STRBUF_INIT;
	int ret;

	if (!digest_hex_valid(hex))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid image ID '%.80s'", hex);
	if ((ret = layout_image_metadata(&meta, hex, NULL, err)) < 0 ||
	    (ret = layout_image_config(&content, hex, err)) < 0)
		return ret;
	ret = fs_remove_tree_at(store->image_fd, meta.buf, err);
	if (ret < 0)
		return ret;
	if (unlinkat(store->image_fd, content.buf, 0) < 0 && errno != ENOENT)
		return strata_error_set(err, STRATA_ERR_IO, errno, "remove image config sha256:%s", hex);
	return fs_fsync_dir_at(store->image_fd, LAYOUT_IMAGEDB_CONTENT, err);
}
