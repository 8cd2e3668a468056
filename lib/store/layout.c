/* The store layout: names, ID checks and folder modes (see layout.h). */
#include <string.h>
#include <unistd.h>

#include "digest/digest.h"
#include "store/layout.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define IMAGE_DIR "image"
#define EMPTY_REPOSITORIES "{\"Repositories\":{}}"
#define WRITE_SET_PREFIX "write-set-"
#define REMOVING_SUFFIX "-removing"
#define RELEASE_PREFIX "release-"

/*
 * The folders inside image/<driver>/ with dockerd's modes, parents first;
 * at_start: made when dockerd starts on a data root, the others on first use.
 */
static const struct {
	const char *dir;
	mode_t mode;
	bool at_start;
} folders[] = {
	{ "imagedb", 0700, true },
	{ "imagedb/content", 0700, true },
	{ LAYOUT_IMAGEDB_CONTENT, 0700, true },
	{ "imagedb/metadata", 0700, true },
	{ LAYOUT_IMAGEDB_METADATA, 0700, true },
	{ "layerdb", 0700, true },
	{ LAYOUT_LAYERDB_LAYERS, 0755, false },
	{ LAYOUT_LAYERDB_TMP, 0755, false },
	{ LAYOUT_LAYERDB_MOUNTS, 0755, false }, /* first container */
	/* dockerd makes distribution/ 0700 at start, the rest 0755 on first use */
	{ "distribution", 0700, true },
	{ "distribution/diffid-by-digest", 0755, false },
	{ LAYOUT_DIFFID_BY_DIGEST, 0755, false },
	{ "distribution/v2metadata-by-diffid", 0755, false },
	{ LAYOUT_V2METADATA_BY_DIFFID, 0755, false },
};

static int check_hex(const char *hex, struct strata_error **err)
{
	if (!hex || !digest_hex_valid(hex))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "'%.80s' is not a sha256 hex ID",
					hex ? hex : "(null)");
	return 0;
}

static bool entry_name_valid(const char *name)
{
	return name && *name && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}

char *layout_image_dir(const char *driver)
{
	return xasprintf(IMAGE_DIR "/%s", driver);
}

int layout_create(int root_fd, const char *driver, int *image_fd, struct strata_error **err)
{
	_cleanup_free_ char *image_dir = layout_image_dir(driver);
	_cleanup_close_ int fd = -1;
	int ret;

	if ((ret = fs_mkdir_at(root_fd, IMAGE_DIR, 0700, err)) < 0 ||
	    (ret = fs_mkdir_at(root_fd, image_dir, 0700, err)) < 0)
		return ret;
	fd = fs_open_dir_at(root_fd, image_dir, err);
	if (fd < 0)
		return fd;
	for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		if (!folders[i].at_start || fs_exists_at(fd, folders[i].dir))
			continue;
		ret = fs_mkdir_at(fd, folders[i].dir, folders[i].mode, err);
		if (ret < 0)
			return ret;
	}
	if (!fs_exists_at(fd, LAYOUT_REPOSITORIES)) {
		ret = fs_write_file_atomic_at(fd, LAYOUT_REPOSITORIES, EMPTY_REPOSITORIES,
					      strlen(EMPTY_REPOSITORIES), 0600, err);
		if (ret < 0)
			return ret;
	}
	*image_fd = steal_fd(&fd);
	return 0;
}

int layout_mkdir(int image_fd, const char *dir, struct strata_error **err)
{
	bool known = false;
	int ret;

	for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]) && !known; i++) {
		size_t n = strlen(folders[i].dir);

		/* folders[i] is dir itself or one of its parents */
		if (strncmp(dir, folders[i].dir, n) || (dir[n] != '\0' && dir[n] != '/'))
			continue;
		ret = fs_mkdir_at(image_fd, folders[i].dir, folders[i].mode, err);
		if (ret < 0)
			return ret;
		known = dir[n] == '\0';
	}
	if (!known)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "'%s' is not a folder of the store layout", dir);
	return 0;
}

int layout_layer_dir(struct strbuf *sb, const char *hex, struct strata_error **err)
{
	return layout_layer_file(sb, hex, NULL, err);
}

int layout_layer_file(struct strbuf *sb, const char *hex, const char *file, struct strata_error **err)
{
	int ret = check_hex(hex, err);

	if (ret < 0)
		return ret;
	strbuf_addf(sb, LAYOUT_LAYERDB_LAYERS "/%s%s%s", hex, file ? "/" : "", file ? file : "");
	return 0;
}

int layout_layer_removing(struct strbuf *sb, const char *hex, pid_t pid, struct strata_error **err)
{
	int ret = check_hex(hex, err);

	if (ret < 0)
		return ret;
	strbuf_addf(sb, LAYOUT_LAYERDB_LAYERS "/%s-%ld" REMOVING_SUFFIX, hex, (long)pid);
	return 0;
}

bool layout_layer_is_removing(const char *name)
{
	return strstr(name, REMOVING_SUFFIX) != NULL;
}

int layout_image_config(struct strbuf *sb, const char *hex, struct strata_error **err)
{
	int ret = check_hex(hex, err);

	if (ret < 0)
		return ret;
	strbuf_addf(sb, LAYOUT_IMAGEDB_CONTENT "/%s", hex);
	return 0;
}

int layout_image_metadata(struct strbuf *sb, const char *hex, const char *file, struct strata_error **err)
{
	int ret = check_hex(hex, err);

	if (ret < 0)
		return ret;
	strbuf_addf(sb, LAYOUT_IMAGEDB_METADATA "/%s%s%s", hex, file ? "/" : "", file ? file : "");
	return 0;
}

int layout_diffid_by_digest(struct strbuf *sb, const char *blob_hex, struct strata_error **err)
{
	int ret = check_hex(blob_hex, err);

	if (ret < 0)
		return ret;
	strbuf_addf(sb, LAYOUT_DIFFID_BY_DIGEST "/%s", blob_hex);
	return 0;
}

int layout_v2metadata_by_diffid(struct strbuf *sb, const char *diff_hex, struct strata_error **err)
{
	int ret = check_hex(diff_hex, err);

	if (ret < 0)
		return ret;
	strbuf_addf(sb, LAYOUT_V2METADATA_BY_DIFFID "/%s", diff_hex);
	return 0;
}

int layout_tmp_write_set(struct strbuf *sb, const char *cache_id, pid_t pid, struct strata_error **err)
{
	int ret = check_hex(cache_id, err);

	if (ret < 0)
		return ret;
	strbuf_addf(sb, LAYOUT_LAYERDB_TMP "/" WRITE_SET_PREFIX "%.16s-%ld", cache_id, (long)pid);
	return 0;
}

void layout_tmp_load(struct strbuf *sb, pid_t pid)
{
	strbuf_addf(sb, LAYOUT_LAYERDB_TMP "/load-%ld", (long)pid);
}

int layout_tmp_pull(struct strbuf *sb, const char *blob_hex, struct strata_error **err)
{
	int ret = check_hex(blob_hex, err);

	if (ret < 0)
		return ret;
	strbuf_addf(sb, LAYOUT_LAYERDB_TMP "/pull-%s.partial", blob_hex);
	return 0;
}

void layout_tmp_release(struct strbuf *sb, pid_t pid)
{
	strbuf_addf(sb, LAYOUT_LAYERDB_TMP "/" RELEASE_PREFIX "%ld", (long)pid);
}

bool layout_tmp_is_release(const char *name)
{
	return !strncmp(name, RELEASE_PREFIX, strlen(RELEASE_PREFIX));
}

bool layout_tmp_is_pull(const char *name)
{
	size_t n = strlen(name);

	return n == 5 + STRATA_HEX_LEN + 8 && !strncmp(name, "pull-", 5) && !strcmp(name + n - 8, ".partial");
}

int layout_container_config(struct strbuf *sb, const char *id, struct strata_error **err)
{
	int ret = check_hex(id, err);

	if (ret < 0)
		return ret;
	strbuf_addf(sb, "%s/config.v2.json", id);
	return 0;
}

int layout_entry(struct strbuf *sb, const char *dir, const char *name, const char *file,
		 struct strata_error **err)
{
	if (!entry_name_valid(name))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "'%.80s' is not a folder entry name",
					name ? name : "(null)");
	strbuf_addf(sb, "%s/%s%s%s", dir, name, file ? "/" : "", file ? file : "");
	return 0;
}
