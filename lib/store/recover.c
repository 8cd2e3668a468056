/*
 * What a dead writer left behind, finished or rolled back by the next
 * writer once it holds the store lock.  Every live writer holds that lock,
 * so whatever is found here belongs to a process that is gone: the staging
 * of layers and archives in layerdb/tmp (but a pull's partial downloads,
 * which the next pull of the same blob resumes), the temporary files of
 * atomic writes, image removals interrupted after the config was removed
 * (their release intent names the layers to delete), and layer removals
 * interrupted after the layer folder was moved aside (dockerd's order:
 * aside, driver folder, the rest), and containers: the runtime of a
 * run whose strata or monitor died (its bundle in tmp/ says so) is killed
 * and its State set to exited, stale mounts of container layers are
 * undone, and a container half created or half removed (a layerdb mounts
 * entry or a containers/<id>/ folder without config.v2.json) is removed.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "digest/digest.h"
#include "json/gojson.h"
#include "runtime/oci.h"
#include "driver/driver.h"
#include "store/intent.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/gotime.h"
#include "util/strbuf.h"

typedef int (*leftover_fn)(struct strata_store *store, const char *dir, const char *name,
			   struct strata_error **err);

/* Call fn on every entry of dir (below the image folder) that matches. */
static int each_leftover(struct strata_store *store, const char *dir, bool (*matches)(const char *name),
			 leftover_fn fn, struct strata_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct strata_error *e = NULL;
	struct dirent *de;
	int ret;

	ret = fs_opendir_at(store->image_fd, dir, &d, &e);
	if (ret == -STRATA_ERR_NOT_FOUND) { /* made on first use */
		strata_error_free(e);
		return 0;
	}
	if (ret < 0)
		return strata_error_propagate(err, e);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && matches(de->d_name) &&
		    (ret = fn(store, dir, de->d_name, err)) < 0)
			return ret;
	return 0;
}

static bool is_staging(const char *name)
{
	return !layout_tmp_is_pull(name);
}

static int remove_entry(struct strata_store *store, const char *dir, const char *name,
			struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	int ret = layout_entry(&path, dir, name, NULL, err);

	return ret < 0 ? ret : fs_remove_tree_at(store->image_fd, path.buf, err);
}

/* Remove a layer's driver folder and then its layerdb folder (dir/name). */
static int remove_layer(struct strata_store *store, const char *dir, const char *name, bool own_folder,
			struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf cache_path = STRBUF_INIT;
	_cleanup_free_ char *cache = NULL;
	struct graph_driver *driver;
	int ret;

	ret = layout_entry(&cache_path, dir, name, LAYOUT_LAYER_CACHE_ID, err);
	if (ret < 0)
		return ret;
	if (own_folder && fs_read_file_at(store->image_fd, cache_path.buf, 4096, &cache, NULL, NULL) == 0) {
		cache[strcspn(cache, " \t\r\n")] = '\0';
		if (graph_driver_id_valid(cache) && ((ret = store_driver(store, &driver, err)) < 0 ||
						     (ret = graph_driver_remove(driver, cache, err)) < 0))
			return ret;
	}
	return remove_entry(store, dir, name, err);
}

/* A removal moved aside: its driver folder goes, unless the chain was registered again since. */
static int finish_removal(struct strata_store *store, const char *dir, const char *name,
			  struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf live = STRBUF_INIT;
	_cleanup_free_ char *hex = xstrndup(name, STRATA_HEX_LEN);
	bool registered_again = digest_hex_valid(hex) && layout_layer_dir(&live, hex, NULL) == 0 &&
				fs_exists_at(store->image_fd, live.buf);

	return remove_layer(store, dir, name, !registered_again, err);
}

/* A release intent (store/intent.h): the image still there means its removal never started. */
static int finish_release(struct strata_store *store, const char *dir, const char *name,
			  struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT, config = STRBUF_INIT;
	_cleanup_free_ char *chains = NULL;
	char image_id[STRATA_DIGEST_LEN + 1];
	char *line, *end;
	int ret;

	if ((ret = layout_entry(&path, dir, name, NULL, err)) < 0 ||
	    (ret = release_intent_read(store, path.buf, image_id, &chains, err)) < 0)
		return ret;
	if (*image_id && layout_image_config(&config, image_id + 7, NULL) == 0 &&
	    fs_exists_at(store->image_fd, config.buf))
		return remove_entry(store, dir, name, err);
	for (line = chains; (end = strchr(line, '\n')); line = end + 1) {
		_cleanup_strbuf_ struct strbuf layer = STRBUF_INIT;

		*end = '\0';
		if (!digest_valid(line) || layout_layer_dir(&layer, line + 7, NULL) < 0 ||
		    !fs_exists_at(store->image_fd, layer.buf))
			continue;
		ret = remove_layer(store, LAYOUT_LAYERDB_LAYERS, line + 7, true, err);
		if (ret < 0)
			return ret;
	}
	return remove_entry(store, dir, name, err);
}

/* containers/<id>/config.v2.json: a run that died is exited (137: its process was killed) */
static int mark_exited(int cdir, const char *id, struct strata_error **err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ json_t *cfg = NULL;
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT, now = STRBUF_INIT;
	_cleanup_close_ int dfd = -1;
	struct strata_error *e = NULL;
	json_t *state;
	size_t len;

	dfd = openat(cdir, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fs_read_file_at(dfd, "config.v2.json", 16u << 20, &buf, &len, &e) < 0 ||
	    gojson_parse(buf, len, "config.v2.json", &cfg, &e) < 0) {
		strata_error_free(e); /* no config: the mounts pass removes the rest */
		return 0;
	}
	state = json_object_get(cfg, "State");
	if (!json_is_object(state) || !json_is_true(json_object_get(state, "Running")))
		return 0;
	gotime_format_now(&now);
	json_object_set_new(state, "Running", json_false());
	json_object_set_new(state, "Pid", json_integer(0));
	json_object_set_new(state, "ExitCode", json_integer(137));
	json_object_set_new(state, "FinishedAt", json_string(now.buf));
	gojson_encode(&out, cfg, 0);
	strbuf_addch(&out, '\n');
	return fs_write_file_atomic_at(dfd, "config.v2.json", out.buf, out.len, 0600, err);
}

static bool has_config(int cdir, const char *id)
{
	_cleanup_strbuf_ struct strbuf p = STRBUF_INIT;

	strbuf_addf(&p, "%s/config.v2.json", id);
	return cdir >= 0 && fs_exists_at(cdir, p.buf);
}

/* A detached run's monitor (its pid in the bundle) still alive: the container is not ours to clean. */
static bool monitor_alive(int tdir, const char *bundle)
{
	_cleanup_strbuf_ struct strbuf p = STRBUF_INIT;
	_cleanup_free_ char *buf = NULL;
	struct strata_error *e = NULL;
	size_t len;
	char *end;
	long pid;

	strbuf_addf(&p, "%s/monitor.pid", bundle);
	if (fs_read_file_at(tdir, p.buf, 32, &buf, &len, &e) < 0) {
		strata_error_free(e);
		return false;
	}
	pid = strtol(buf, &end, 10);
	return pid > 0 && !*end && kill((pid_t)pid, 0) == 0;
}

static bool disposable(int tdir, const char *bundle)
{
	_cleanup_strbuf_ struct strbuf p = STRBUF_INIT;

	strbuf_addf(&p, "%s/" LAYOUT_RUN_DISPOSABLE, bundle);
	return fs_exists_at(tdir, p.buf);
}

static bool live_run(int tdir, const char *id)
{
	_cleanup_strbuf_ struct strbuf b = STRBUF_INIT;

	strbuf_addf(&b, LAYOUT_RUN_BUNDLE_PREFIX "%s", id);
	return tdir >= 0 && monitor_alive(tdir, b.buf);
}

static int recover_containers(struct strata_store *store, struct strata_error **err)
{
	_cleanup_close_ int cdir = openat(store->root_fd, LAYOUT_CONTAINERS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int tdir = openat(store->root_fd, LAYOUT_TMP, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = NULL;
	struct strata_error *e = NULL;
	struct graph_driver *drv = NULL;
	struct dirent *de;
	const size_t plen = strlen(LAYOUT_RUN_BUNDLE_PREFIX);
	int ret;

	/* runs whose strata is gone: every live run holds the store lock we now hold */
	if (tdir >= 0 && fs_opendir_at(tdir, ".", &d, NULL) >= 0) {
		while ((de = readdir(d))) {
			const char *id = de->d_name + plen;

			if (strncmp(de->d_name, LAYOUT_RUN_BUNDLE_PREFIX, plen) || strlen(id) != 64 ||
			    !digest_hex_valid(id) || monitor_alive(tdir, de->d_name))
				continue;
			runtime_delete(runtime_default(), id);
			/* without its config the mounts pass below removes the rest */
			ret = 0;
			if (cdir >= 0 && disposable(tdir, de->d_name))
				ret = fs_remove_tree_at(cdir, id, err);
			else if (cdir >= 0)
				ret = mark_exited(cdir, id, err);
			if (ret < 0)
				return ret;
		}
		closedir(d);
		d = NULL;
	}
	ret = fs_opendir_at(store->image_fd, LAYOUT_LAYERDB_MOUNTS, &d, &e);
	if (ret == -STRATA_ERR_NOT_FOUND) {
		strata_error_free(e);
		e = NULL;
	} else if (ret < 0) {
		return strata_error_propagate(err, e);
	} else {
		ret = store_driver(store, &drv, err);
		if (ret < 0)
			return ret;
		while ((de = readdir(d))) {
			_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
			_cleanup_free_ char *mount_id = NULL, *init_id = NULL;
			size_t len;

			if (strlen(de->d_name) != 64 || !digest_hex_valid(de->d_name) || live_run(tdir, de->d_name))
				continue;
			strbuf_addf(&path, LAYOUT_LAYERDB_MOUNTS "/%s/" LAYOUT_MOUNT_MOUNT_ID, de->d_name);
			if (fs_read_file_at(store->image_fd, path.buf, 128, &mount_id, &len, &e) < 0) {
				strata_error_free(e);
				e = NULL;
			} else if (graph_driver_id_valid(mount_id)) {
				init_id = xasprintf("%s-init", mount_id);
				/* nothing of ours is mounted while we hold the lock */
				graph_driver_put(drv, mount_id, NULL);
				graph_driver_put(drv, init_id, NULL);
			}
			if (has_config(cdir, de->d_name))
				continue;
			if (mount_id && graph_driver_id_valid(mount_id) &&
			    ((ret = graph_driver_remove(drv, mount_id, err)) < 0 ||
			     (ret = graph_driver_remove(drv, init_id, err)) < 0))
				return ret;
			strbuf_reset(&path);
			strbuf_addf(&path, LAYOUT_LAYERDB_MOUNTS "/%s", de->d_name);
			if ((ret = fs_remove_tree_at(store->image_fd, path.buf, err)) < 0)
				return ret;
			if (cdir >= 0 && (ret = fs_remove_tree_at(cdir, de->d_name, err)) < 0)
				return ret;
		}
		closedir(d);
		d = NULL;
	}
	/* a container folder without its config was being created or removed */
	if (cdir >= 0 && fs_opendir_at(cdir, ".", &d, NULL) >= 0)
		while ((de = readdir(d)))
			if (strlen(de->d_name) == 64 && digest_hex_valid(de->d_name) && !has_config(cdir, de->d_name) &&
			    (ret = fs_remove_tree_at(cdir, de->d_name, err)) < 0)
				return ret;
	/* the bundles last: until here they mark what was left to do */
	if (tdir >= 0) {
		if (d)
			closedir(d);
		d = NULL;
		if (fs_opendir_at(tdir, ".", &d, NULL) >= 0)
			while ((de = readdir(d)))
				if (!strncmp(de->d_name, LAYOUT_RUN_BUNDLE_PREFIX, plen) && !monitor_alive(tdir, de->d_name) &&
				    (ret = fs_remove_tree_at(tdir, de->d_name, err)) < 0)
					return ret;
	}
	return 0;
}

int store_recover(struct strata_store *store, struct strata_error **err)
{
	int ret;

	/* intents first: the staging pass below removes whatever is left in layerdb/tmp */
	if ((ret = each_leftover(store, LAYOUT_LAYERDB_TMP, layout_tmp_is_release, finish_release, err)) < 0 ||
	    (ret = each_leftover(store, LAYOUT_LAYERDB_TMP, is_staging, remove_entry, err)) < 0 ||
	    (ret = each_leftover(store, LAYOUT_LAYERDB_LAYERS, layout_layer_is_removing, finish_removal, err)) < 0 ||
	    (ret = each_leftover(store, LAYOUT_IMAGEDB_CONTENT, fs_is_atomic_tmp, remove_entry, err)) < 0 ||
	    /* a pull or push killed while it recorded the distribution metadata */
	    (ret = each_leftover(store, LAYOUT_DIFFID_BY_DIGEST, fs_is_atomic_tmp, remove_entry, err)) < 0 ||
	    (ret = each_leftover(store, LAYOUT_V2METADATA_BY_DIFFID, fs_is_atomic_tmp, remove_entry, err)) < 0 ||
	    (ret = each_leftover(store, ".", fs_is_atomic_tmp, remove_entry, err)) < 0 ||
	    (ret = recover_containers(store, err)) < 0)
		return strata_error_wrap(err, "finish what an interrupted command left in '%s'", store->root);
	return 0;
}
