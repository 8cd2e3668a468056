/* A container's layer diff, its changes, and committing it as an image (moby's NewChildImage). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compress/compress.h"
#include "container/container-private.h"
#include "digest/digest.h"
#include "driver/driver.h"
#include "image/config.h"
#include "image/image-private.h"
#include "image/imagedb.h"
#include "image/manifest.h"
#include "layer/layerdb.h"
#include "layer/layerstore.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "strata/reference.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/gotime.h"
#include "util/strbuf.h"

/* sha256 of the 1024-byte empty tar: a step that changed nothing */
#define EMPTY_LAYER_DIFF_ID "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

int container_diff_tar(struct container *c, const struct diff_options *o, stream_write_fn write, void *cookie,
		       struct strata_error **err)
{
	_cleanup_free_ char *init_id = xasprintf("%s-init", c->mount_id);
	_cleanup_close_ int rw = -1, parent = -1;
	struct graph_driver *d;
	int ret = store_driver(c->store, &d, err);

	if (ret < 0)
		return ret;
	rw = graph_driver_diff_fd(d, c->mount_id, err);
	if (rw < 0)
		return strata_error_wrap(err, "container %s", c->id);
	/* overlay2's diff/ is the upper folder of the rw layer: re-tar it; vfs compares full copies */
	if (d->ops->whiteouts == WHITEOUT_OVERLAY)
		ret = diff_overlay_tar(rw, o, write, cookie, err);
	else if ((parent = graph_driver_diff_fd(d, init_id, err)) < 0)
		ret = parent;
	else
		ret = diff_naive_tar(rw, parent, o, write, cookie, err);
	if (ret < 0)
		return strata_error_wrap(err, "layer diff of container %s", c->id);
	return 0;
}

/*
 * dockerd 20.10's overlay2 answers docker diff with the naive diff too (its
 * native OverlayChanges is not used for Changes): the mounted rw layer
 * against the mounted init layer, both as full trees.  Its order is Go's
 * map order (random); strata sorts by path.
 */
int container_changes(struct container *c, struct diff_changes *out, struct strata_error **err)
{
	_cleanup_free_ char *init_id = xasprintf("%s-init", c->mount_id);
	_cleanup_strbuf_ struct strbuf init_path = STRBUF_INIT;
	_cleanup_close_ int rw = -1, parent = -1;
	bool was_mounted = c->rootfs != NULL;
	struct graph_driver *d;
	int ret = store_driver(c->store, &d, err);

	if (ret >= 0)
		ret = container_mount(c, err);
	if (ret < 0)
		return ret;
	ret = graph_driver_get(d, init_id, &init_path, err);
	if (ret >= 0) {
		rw = open(c->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		parent = open(init_path.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rw < 0 || parent < 0)
			ret = strata_error_set(err, fs_errcode(errno), errno, "open the mounted layers");
		else
			ret = diff_naive_changes(rw, parent, out, err);
		graph_driver_put(d, init_id, ret < 0 ? NULL : err);
	}
	if (!was_mounted) {
		int r2 = container_unmount(c, ret < 0 ? NULL : err);

		if (ret >= 0)
			ret = r2;
	}
	if (ret < 0)
		return strata_error_wrap(err, "changes of container %s", c->id);
	return 0;
}

/* ---- commit ---- */

struct tmp_sink {
	int fd;
	struct sha256_ctx sha;
};

static int sink_write(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	struct tmp_sink *s = cookie;

	sha256_update(&s->sha, data, len);
	return fs_write_all(s->fd, data, len, "write the layer diff", err);
}

/* The diff into an unnamed file below layerdb/tmp (nothing to clean after a crash), then registered. */
static int register_diff(struct container *c, const struct container_commit_opts *o, char diff_id[72],
			 struct strata_error **err)
{
	struct strata_store *store = c->store;
	_cleanup_close_ int tmpdir = -1;
	struct tmp_sink sink = { .fd = -1 };
	struct diff_options dopts = { .mtime_clamp = o->mtime_clamp };
	struct layer_register_result res;
	char hex[STRATA_HEX_LEN + 1];
	int ret;

	{
		_cleanup_strbuf_ struct strbuf now = STRBUF_INIT;
		int64_t sec = 0;
		int32_t nsec = 0;

		store_format_now(store, &now);
		gotime_parse_rfc3339(now.buf, &sec, &nsec, NULL);
		dopts.now = sec;
	}
	ret = layout_mkdir(store->image_fd, LAYOUT_LAYERDB_TMP, err);
	if (ret < 0)
		return ret;
	tmpdir = fs_open_dir_at(store->image_fd, LAYOUT_LAYERDB_TMP, err);
	if (tmpdir < 0)
		return tmpdir;
	sink.fd = openat(tmpdir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (sink.fd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "create a temporary file in layerdb/tmp");
	sha256_init(&sink.sha);
	ret = container_diff_tar(c, &dopts, sink_write, &sink, err);
	sha256_final_hex(&sink.sha, hex);
	sha256_release(&sink.sha);
	snprintf(diff_id, 72, "sha256:%s", hex);
	if (ret >= 0 && strcmp(diff_id, EMPTY_LAYER_DIFF_ID)) {
		if (lseek(sink.fd, 0, SEEK_SET) < 0)
			ret = strata_error_set(err, STRATA_ERR_IO, errno, "rewind the layer diff");
		else
			ret = layerstore_register(store, *c->parent_chain ? c->parent_chain : NULL, compress_fd_read, &sink.fd,
						  diff_id, &res, err);
	}
	close(sink.fd);
	return ret;
}

/* A container.Config from a stored one (dockerd's or strata's): Go struct order, maps sorted. */
static json_t *ordered_config(const json_t *config)
{
	return config_container_ordered(config);
}

int container_commit(struct strata_image_index *idx, struct container *c, const struct container_commit_opts *o,
		     char id[72], struct strata_error **err)
{
	struct strata_store *store = c->store;
	const struct strata_image *parent = strata_image_index_find(idx, container_image_id(c));
	const json_t *pcfg;
	_cleanup_json_ json_t *image = json_object(), *changed = NULL, *cconfig = NULL;
	_cleanup_strbuf_ struct strbuf created = STRBUF_INIT, bytes = STRBUF_INIT, created_by = STRBUF_INIT;
	json_t *history, *entry, *rootfs, *diff_ids, *v, *cmd;
	char diff_id[72], hex[STRATA_HEX_LEN + 1];
	struct strata_ref ref = { 0 };
	bool empty;
	size_t i;
	int ret;

	if (!parent)
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "No such image: %s", container_image_id(c));
	pcfg = image_config(parent);
	if (o->ref && (ret = strata_ref_parse_tag(o->ref, &ref, err)) < 0)
		return ret;
	/* the config: given, or the container's with the changes (dockerd's BuildFromConfig + merge) */
	changed = json_deep_copy(o->config ? o->config : json_object_get(c->cfg, "Config"));
	if (!json_is_object(changed)) {
		json_decref(changed);
		changed = json_object();
	}
	ret = 0;
	for (i = 0; ret >= 0 && i < o->nr_changes; i++)
		ret = config_apply_change(changed, o->changes[i], err);
	cconfig = json_deep_copy(o->container_config ? o->container_config : json_object_get(c->cfg, "Config"));
	if (ret >= 0)
		ret = register_diff(c, o, diff_id, err);
	if (ret < 0) {
		strata_ref_release(&ref);
		return strata_error_wrap(err, "commit container %s", c->id);
	}
	empty = !strcmp(diff_id, EMPTY_LAYER_DIFF_ID);
	cmd = json_object_get(cconfig, "Cmd");
	json_array_foreach(cmd, i, v) {
		if (i)
			strbuf_addch(&created_by, ' ');
		strbuf_addstr(&created_by, json_string_value(v) ? json_string_value(v) : "");
	}
	store_format_now(store, &created);
	v = json_object_get(pcfg, "architecture");
	if (json_string_value(v) && *json_string_value(v)) {
		json_object_set_new(image, "architecture", json_string(json_string_value(v)));
	} else {
		struct registry_platform host;

		registry_platform_host(&host);
		json_object_set_new(image, "architecture", json_string(host.architecture));
		registry_platform_release(&host);
	}
	if (o->author && *o->author)
		json_object_set_new(image, "author", json_string(o->author));
	json_object_set_new(image, "config", ordered_config(changed));
	json_object_set_new(image, "container", json_string(c->id));
	json_object_set_new(image, "container_config", ordered_config(cconfig));
	json_object_set_new(image, "created", json_string(created.buf));
	json_object_set_new(image, "docker_version", json_string(CONFIG_DOCKER_VERSION));
	history = json_deep_copy(json_object_get(pcfg, "history"));
	if (!json_is_array(history)) {
		json_decref(history);
		history = json_array();
	}
	entry = json_object();
	json_object_set_new(entry, "created", json_string(created.buf));
	if (o->author && *o->author)
		json_object_set_new(entry, "author", json_string(o->author));
	if (created_by.len)
		json_object_set_new(entry, "created_by", json_string(created_by.buf));
	if (o->comment && *o->comment)
		json_object_set_new(entry, "comment", json_string(o->comment));
	if (empty)
		json_object_set_new(entry, "empty_layer", json_true());
	json_array_append_new(history, entry);
	json_object_set_new(image, "history", history);
	json_object_set_new(image, "os", json_string("linux"));
	if ((v = json_object_get(pcfg, "os.features")))
		json_object_set(image, "os.features", v);
	if ((v = json_object_get(pcfg, "os.version")))
		json_object_set(image, "os.version", v);
	rootfs = json_object();
	diff_ids = json_array();
	json_object_set_new(rootfs, "type", json_string("layers"));
	for (i = 0; i < parent->nr_layers; i++)
		json_array_append_new(diff_ids, json_string(parent->diff_ids[i]));
	if (!empty)
		json_array_append_new(diff_ids, json_string(diff_id));
	json_object_set_new(rootfs, "diff_ids", diff_ids);
	json_object_set_new(image, "rootfs", rootfs);
	if ((v = json_object_get(pcfg, "variant")))
		json_object_set(image, "variant", v);
	config_encode(&bytes, image);
	ret = imagedb_write_config(store, bytes.buf, bytes.len, hex, err);
	if (ret >= 0)
		ret = imagedb_set_parent(store, hex, parent->id, err);
	snprintf(id, 72, "sha256:%s", hex);
	/* in the index at once: the builder's next step starts from it */
	if (ret >= 0)
		ret = image_index_add(idx, hex, NULL, err);
	if (ret >= 0 && o->ref) {
		ret = imagedb_touch_last_updated(store, hex, err);
		if (ret >= 0)
			ret = refstore_add(&idx->refs, &ref, id, err);
		if (ret >= 0)
			ret = refstore_save(store, &idx->refs, err);
	}
	strata_ref_release(&ref);
	if (ret < 0)
		return strata_error_wrap(err, "commit container %s", c->id);
	return 0;
}
