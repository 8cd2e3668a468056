/* docker import: one tar stream in, one layer and one image config out. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/config.h"
#include "image/image-private.h"
#include "image/imagedb.h"
#include "image/manifest.h"
#include "http/http.h"
#include "layer/layerstore.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "strata/reference.h"
#include "tarsplit/tarsplit.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* docker import --platform: linux only, normalised as dockerd's platforms.Normalize. */
static int parse_platform(const char *spec, struct registry_platform *out, struct strata_error **err)
{
	int ret = registry_platform_parse(spec, out, err);

	if (ret >= 0 && strcmp(out->os, "linux"))
		return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
					"operating system '%s' is not supported (only linux)", out->os);
	return ret;
}

/* the caller's one progress callback: 0 at the start, then the lines */
static void on_start(void *cookie, int64_t total)
{
	const struct strata_import_options *o = cookie;

	o->progress(o->progress_cookie, 0, total);
}

static void on_progress(void *cookie, uint64_t current, int64_t total)
{
	const struct strata_import_options *o = cookie;

	o->progress(o->progress_cookie, current, total);
}

/* ImportImage's download: url's body into an unnamed file of layerdb/tmp (*out), at its start. */
static int download(struct strata_store *store, const char *url, const struct strata_import_options *opts, int *out,
		    struct strata_error **err)
{
	struct http_get_options hopts = { opts->cancel, opts->progress ? on_start : NULL, opts->progress ? on_progress : NULL,
					  (void *)opts };
	_cleanup_close_ int tmpdir = -1, fd = -1;
	int ret = layout_mkdir(store->image_fd, LAYOUT_LAYERDB_TMP, err);

	if (ret < 0)
		return ret;
	tmpdir = fs_open_dir_at(store->image_fd, LAYOUT_LAYERDB_TMP, err);
	if (tmpdir < 0)
		return tmpdir;
	fd = openat(tmpdir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "create a temporary file in layerdb/tmp");
	ret = http_get_to_fd(url, fd, &hopts, NULL, err);
	if (ret < 0)
		return ret;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "rewind the download of %s", url);
	*out = steal_fd(&fd);
	return 0;
}

/*
 * Register the input (path, or "-" or a download: in) as a layer; a
 * regular file is read twice, a stream once.
 */
static int register_input(struct strata_store *store, const char *path, int in, bool opened,
			  struct layer_register_result *layer, struct strata_error **err)
{
	struct tarsplit_ingest_result pre;
	_cleanup_close_ int fd = -1;
	char diff_id[STRATA_DIGEST_LEN + 1];
	struct stat st;
	int ret;

	if (!opened && strcmp(path, "-")) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return strata_error_set(err, errno == ENOENT ? STRATA_ERR_NOT_FOUND : STRATA_ERR_IO, errno,
						"open '%s'", path);
		in = fd;
	}
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode))
		return layerstore_register(store, NULL, compress_fd_read, &in, NULL, layer, err);
	ret = tarsplit_ingest(compress_fd_read, &in, -1, NULL, NULL, &pre, err);
	if (ret < 0)
		return strata_error_wrap(err, "'%s'", path);
	if (lseek(in, 0, SEEK_SET) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "rewind '%s'", path);
	snprintf(diff_id, sizeof(diff_id), "sha256:%s", pre.diff_id_hex);
	return layerstore_register(store, NULL, compress_fd_read, &in, diff_id, layer, err);
}

int strata_image_import(struct strata_image_index *idx, const char *path,
			const struct strata_import_options *opts, char id[72], struct strata_error **err)
{
	struct layer_register_result layer;
	_cleanup_(registry_platform_release) struct registry_platform platform = { 0 };
	_cleanup_json_ json_t *image = json_object();
	_cleanup_strbuf_ struct strbuf bytes = STRBUF_INIT;
	bool url = strstr(path, "://") != NULL;
	_cleanup_free_ char *msg = opts->message && *opts->message ? xstrdup(opts->message) :
				   xasprintf("Imported from %s", url ? path : "-");
	_cleanup_close_ int downloaded = -1;
	json_t *config = config_container_new(), *history, *entry, *rootfs, *diff_ids;
	_cleanup_strbuf_ struct strbuf created = STRBUF_INIT;
	char hex[STRATA_HEX_LEN + 1];
	struct strata_ref ref = { 0 };
	int ret = 0;

	json_object_set_new(image, "config", config);
	if (opts->ref && (ret = strata_ref_parse_tag(opts->ref, &ref, err)) < 0)
		return ret;
	if (opts->platform)
		ret = parse_platform(opts->platform, &platform, err);
	else
		registry_platform_host(&platform);
	for (size_t i = 0; ret >= 0 && i < opts->nr_changes; i++)
		ret = config_apply_change(config, opts->changes[i], err);
	if (ret >= 0 && url)
		ret = download(idx->store, path, opts, &downloaded, err);
	if (ret >= 0)
		ret = register_input(idx->store, path, downloaded >= 0 ? downloaded : opts->fd, downloaded >= 0, &layer,
				     err);
	if (ret < 0) {
		strata_ref_release(&ref);
		return ret;
	}
	store_format_now(idx->store, &created);
	json_object_set_new(image, "architecture", json_string(platform.architecture));
	json_object_set_new(image, "comment", json_string(msg));
	json_object_set_new(image, "container_config", config_container_new());
	json_object_set_new(image, "created", json_string(created.buf));
	json_object_set_new(image, "docker_version", json_string(CONFIG_DOCKER_VERSION));
	history = json_array();
	entry = json_object();
	json_object_set_new(entry, "created", json_string(created.buf));
	json_object_set_new(entry, "comment", json_string(msg));
	json_array_append_new(history, entry);
	json_object_set_new(image, "history", history);
	json_object_set_new(image, "os", json_string(platform.os));
	rootfs = json_object();
	diff_ids = json_array();
	json_object_set_new(rootfs, "type", json_string("layers"));
	json_array_append_new(diff_ids, json_string(layer.diff_id));
	json_object_set_new(rootfs, "diff_ids", diff_ids);
	json_object_set_new(image, "rootfs", rootfs);
	if (platform.variant)
		json_object_set_new(image, "variant", json_string(platform.variant));
	config_encode(&bytes, image);
	ret = imagedb_write_config(idx->store, bytes.buf, bytes.len, hex, err);
	if (ret >= 0 && opts->ref) {
		snprintf(id, 72, "sha256:%s", hex);
		ret = imagedb_touch_last_updated(idx->store, hex, err);
		if (ret >= 0)
			ret = refstore_add(&idx->refs, &ref, id, err);
		if (ret >= 0)
			ret = refstore_save(idx->store, &idx->refs, err);
	}
	strata_ref_release(&ref);
	if (ret < 0)
		return ret;
	snprintf(id, 72, "sha256:%s", hex);
	return 0;
}
