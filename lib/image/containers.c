#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest/digest.h"
#include "image/containers.h"
#include "json/gojson.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"

#define CONTAINER_CONFIG_MAX (16u << 20)

static int load_one(struct strata_store *store, int dfd, const char *id, struct container_list *out,
		    struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ json_t *cfg = NULL;
	struct container_info *c;
	struct strata_error *e = NULL;
	const char *image;
	size_t len;
	int ret;

	ret = layout_container_config(&path, id, err);
	if (ret >= 0)
		ret = fs_read_file_at(dfd, path.buf, CONTAINER_CONFIG_MAX, &buf, &len, &e);
	if (ret == -STRATA_ERR_NOT_FOUND) {
		strata_error_free(e);
		return 0;
	}
	if (ret < 0)
		strata_error_propagate(err, e);
	if (ret < 0 || gojson_parse(buf, len, "container config", &cfg, err) < 0)
		return strata_error_wrap(err, "container %s in '%s'", id, store->root);
	image = gojson_get_string(cfg, "Image");
	if (!image || !digest_valid(image))
		return 0;
	ALLOC_GROW(out->items, out->nr + 1, out->alloc);
	c = &out->items[out->nr++];
	c->id = xstrdup(id);
	c->image_id = xstrdup(image);
	c->running = json_is_true(json_object_get(json_object_get(cfg, "State"), "Running"));
	return 0;
}

int containers_load(struct strata_store *store, struct container_list *out, bool skip_damaged,
		    struct strata_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct strata_error *e = NULL;
	struct dirent *de;
	int ret;

	memset(out, 0, sizeof(*out));
	if (store->root_fd < 0)
		return 0;
	ret = fs_opendir_at(store->root_fd, LAYOUT_CONTAINERS, &d, &e);
	if (ret == -STRATA_ERR_NOT_FOUND) {
		strata_error_free(e);
		return 0;
	}
	if (ret < 0) {
		strata_error_propagate(err, e);
		return strata_error_wrap(err, "'%s'", store->root);
	}
	while ((de = readdir(d))) {
		if (!digest_hex_valid(de->d_name))
			continue;
		struct strata_error *why = NULL;

		if (load_one(store, dirfd(d), de->d_name, out, &why) < 0) {
			if (skip_damaged) {
				struct damaged_container *dc;

				ALLOC_GROW(out->damaged, out->nr_damaged + 1, out->alloc_damaged);
				dc = &out->damaged[out->nr_damaged++];
				/* digest_hex_valid: 64 hex digits */
				memcpy(dc->id, de->d_name, 65);
				dc->why = why;
				continue;
			}
			strata_error_propagate(err, why);
			containers_release(out);
			return -STRATA_ERR_CORRUPT;
		}
	}
	return 0;
}

void containers_release(struct container_list *list)
{
	for (size_t i = 0; i < list->nr; i++) {
		free(list->items[i].id);
		free(list->items[i].image_id);
	}
	free(list->items);
	for (size_t i = 0; i < list->nr_damaged; i++)
		strata_error_free(list->damaged[i].why);
	free(list->damaged);
	memset(list, 0, sizeof(*list));
}

const struct container_info *containers_first(const struct container_list *list, const char *image_id,
					      int running)
{
	for (size_t i = 0; i < list->nr; i++) {
		const struct container_info *c = &list->items[i];

		if (strcmp(c->image_id, image_id))
			continue;
		if (running < 0 || (running == 1) == c->running)
			return c;
	}
	return NULL;
}
