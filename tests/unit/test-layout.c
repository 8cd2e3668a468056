/* The store layout: names built, IDs validated, staging names recognised, folders and modes. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/layout.h"
#include "store/store-private.h"
#include "tap.h"
#include "util/fs.h"
#include "util/strbuf.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char base[] = "/tmp/strata-layout-XXXXXX";

static unsigned mode_of(int dfd, const char *path)
{
	struct stat st;

	if (fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return 0xffff;
	return st.st_mode & 07777;
}

/* The part of a layerdb/tmp path that a listing of layerdb/tmp shows. */
static const char *tmp_entry(const struct strbuf *sb)
{
	size_t n = strlen(LAYOUT_LAYERDB_TMP "/");

	return strncmp(sb->buf, LAYOUT_LAYERDB_TMP "/", n) ? "" : sb->buf + n;
}

static void test_names(void)
{
	struct strbuf sb = STRBUF_INIT;
	char *s;

	s = layout_image_dir("vfs");
	is_str(s, "image/vfs", "image dir");
	free(s);

	ok(layout_layer_dir(&sb, HEX, NULL) == 0, "layer dir");
	is_str(sb.buf, "layerdb/sha256/" HEX, "layer dir name");
	strbuf_reset(&sb);
	ok(layout_layer_file(&sb, HEX, LAYOUT_LAYER_TAR_SPLIT, NULL) == 0, "layer file");
	is_str(sb.buf, "layerdb/sha256/" HEX "/tar-split.json.gz", "layer file name");
	strbuf_reset(&sb);
	layout_layer_file(&sb, HEX, LAYOUT_LAYER_CACHE_ID, NULL);
	is_str(sb.buf, "layerdb/sha256/" HEX "/cache-id", "cache-id file name");
	strbuf_reset(&sb);
	ok(layout_layer_removing(&sb, HEX, 42, NULL) == 0, "removing name");
	is_str(sb.buf, "layerdb/sha256/" HEX "-42-removing", "removing name: <hex>-<pid>-removing");
	strbuf_reset(&sb);

	ok(layout_image_config(&sb, HEX, NULL) == 0, "image config");
	is_str(sb.buf, "imagedb/content/sha256/" HEX, "image config name");
	strbuf_reset(&sb);
	ok(layout_image_metadata(&sb, HEX, NULL, NULL) == 0, "image metadata folder");
	is_str(sb.buf, "imagedb/metadata/sha256/" HEX, "image metadata folder name");
	strbuf_reset(&sb);
	layout_image_metadata(&sb, HEX, LAYOUT_IMAGE_LAST_UPDATED, NULL);
	is_str(sb.buf, "imagedb/metadata/sha256/" HEX "/lastUpdated", "lastUpdated file name");
	strbuf_reset(&sb);

	ok(layout_diffid_by_digest(&sb, HEX, NULL) == 0, "diffid-by-digest");
	is_str(sb.buf, "distribution/diffid-by-digest/sha256/" HEX, "diffid-by-digest name");
	strbuf_reset(&sb);
	ok(layout_v2metadata_by_diffid(&sb, HEX, NULL) == 0, "v2metadata-by-diffid");
	is_str(sb.buf, "distribution/v2metadata-by-diffid/sha256/" HEX, "v2metadata-by-diffid name");
	strbuf_reset(&sb);

	ok(layout_tmp_write_set(&sb, HEX, 7, NULL) == 0, "write set");
	is_str(sb.buf, "layerdb/tmp/write-set-0123456789abcdef-7", "write set name: 16 digits of the cache-id and the pid");
	strbuf_reset(&sb);
	layout_tmp_load(&sb, 99);
	is_str(sb.buf, "layerdb/tmp/load-99", "load staging name");
	strbuf_reset(&sb);
	ok(layout_tmp_pull(&sb, HEX, NULL) == 0, "pull partial");
	is_str(sb.buf, "layerdb/tmp/pull-" HEX ".partial", "pull partial name");
	strbuf_reset(&sb);
	ok(layout_container_config(&sb, HEX, NULL) == 0, "container config");
	is_str(sb.buf, HEX "/config.v2.json", "container config name (inside containers/)");
	strbuf_reset(&sb);

	strbuf_addstr(&sb, "x:");
	ok(layout_layer_dir(&sb, HEX, NULL) == 0 && !strcmp(sb.buf, "x:layerdb/sha256/" HEX),
	   "names are appended to what sb holds");
	strbuf_release(&sb);
}

static void test_ids(void)
{
	static const char *const bad[] = {
		"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", /* upper case */
		"0123456789abcdef",                                                 /* short */
		HEX "0",                                                            /* long */
		"sha256:" HEX,                                                      /* a digest, not its hex */
		"../../../../etc/passwd",
		"",
	};
	struct strbuf sb = STRBUF_INIT;
	struct strata_error *err = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool all = layout_layer_dir(&sb, bad[i], NULL) == -STRATA_ERR_INVALID &&
			   layout_layer_file(&sb, bad[i], LAYOUT_LAYER_DIFF, NULL) == -STRATA_ERR_INVALID &&
			   layout_layer_removing(&sb, bad[i], 1, NULL) == -STRATA_ERR_INVALID &&
			   layout_image_config(&sb, bad[i], NULL) == -STRATA_ERR_INVALID &&
			   layout_image_metadata(&sb, bad[i], NULL, NULL) == -STRATA_ERR_INVALID &&
			   layout_diffid_by_digest(&sb, bad[i], NULL) == -STRATA_ERR_INVALID &&
			   layout_v2metadata_by_diffid(&sb, bad[i], NULL) == -STRATA_ERR_INVALID &&
			   layout_tmp_write_set(&sb, bad[i], 1, NULL) == -STRATA_ERR_INVALID &&
			   layout_tmp_pull(&sb, bad[i], NULL) == -STRATA_ERR_INVALID &&
			   layout_container_config(&sb, bad[i], NULL) == -STRATA_ERR_INVALID;

		ok(all && sb.len == 0, "invalid hex ID '%s' refused by every name, nothing appended", bad[i]);
	}
	ok(layout_layer_dir(&sb, NULL, &err) == -STRATA_ERR_INVALID && err && strstr(err->msg, "(null)"),
	   "a NULL ID is refused too");
	strata_error_freep(&err);
	ok(layout_image_config(&sb, "ABC", &err) == -STRATA_ERR_INVALID && err && strstr(err->msg, "'ABC'"),
	   "the error names the ID: %s", err ? err->msg : "(none)");
	strata_error_freep(&err);

	ok(layout_entry(&sb, LAYOUT_LAYERDB_TMP, "load-1", NULL, NULL) == 0 && !strcmp(sb.buf, "layerdb/tmp/load-1"),
	   "listed entry");
	strbuf_reset(&sb);
	ok(layout_entry(&sb, LAYOUT_LAYERDB_MOUNTS, "m1", LAYOUT_MOUNT_INIT_ID, NULL) == 0 &&
	   !strcmp(sb.buf, "layerdb/mounts/m1/init-id"), "listed entry's file");
	strbuf_reset(&sb);
	ok(layout_entry(&sb, LAYOUT_LAYERDB_LAYERS, HEX "-9-removing", NULL, NULL) == 0,
	   "a listed entry need not be a hex ID");
	strbuf_reset(&sb);
	ok(layout_entry(&sb, LAYOUT_LAYERDB_TMP, ".", NULL, NULL) == -STRATA_ERR_INVALID &&
	   layout_entry(&sb, LAYOUT_LAYERDB_TMP, "..", NULL, NULL) == -STRATA_ERR_INVALID &&
	   layout_entry(&sb, LAYOUT_LAYERDB_TMP, "", NULL, NULL) == -STRATA_ERR_INVALID &&
	   layout_entry(&sb, LAYOUT_LAYERDB_TMP, "a/b", NULL, NULL) == -STRATA_ERR_INVALID &&
	   layout_entry(&sb, LAYOUT_LAYERDB_TMP, NULL, NULL, NULL) == -STRATA_ERR_INVALID && sb.len == 0,
	   "an entry must be one folder name: not '.', '..', empty or with a '/'");
	strbuf_release(&sb);
}

static void test_staging_names(void)
{
	struct strbuf sb = STRBUF_INIT;

	/* recovery removes every staging entry but a pull's partial download */
	layout_tmp_write_set(&sb, HEX, 1234, NULL);
	ok(!layout_tmp_is_pull(tmp_entry(&sb)), "a write set is staging (%s)", tmp_entry(&sb));
	strbuf_reset(&sb);
	layout_tmp_load(&sb, 1234);
	ok(!layout_tmp_is_pull(tmp_entry(&sb)), "a load staging folder is staging");
	strbuf_reset(&sb);
	layout_tmp_pull(&sb, HEX, NULL);
	ok(layout_tmp_is_pull(tmp_entry(&sb)), "a pull partial is kept to resume (%s)", tmp_entry(&sb));
	strbuf_reset(&sb);

	layout_layer_removing(&sb, HEX, 5, NULL);
	ok(layout_layer_is_removing(strrchr(sb.buf, '/') + 1), "a layer moved aside for removal is recognised");
	ok(!layout_layer_is_removing(HEX), "a layer is not");
	strbuf_release(&sb);
}

static void test_folders(void)
{
	struct strata_error *err = NULL;
	char path[256], *repos = NULL;
	int root, image_fd = -1, again = -1;

	snprintf(path, sizeof(path), "%s/root", base);
	mkdir(path, 0700);
	root = open(path, O_RDONLY | O_DIRECTORY);
	ok(layout_create(root, "vfs", &image_fd, &err) == 0 && image_fd >= 0, "create the layout (%s)",
	   err ? err->msg : "ok");
	ok(mode_of(root, "image") == 0700 && mode_of(root, "image/vfs") == 0700, "image/ and image/vfs/ 0700");
	ok(mode_of(image_fd, "imagedb") == 0700 && mode_of(image_fd, "imagedb/content") == 0700 &&
	   mode_of(image_fd, LAYOUT_IMAGEDB_CONTENT) == 0700 && mode_of(image_fd, "imagedb/metadata") == 0700 &&
	   mode_of(image_fd, LAYOUT_IMAGEDB_METADATA) == 0700, "imagedb/ folders 0700");
	ok(mode_of(image_fd, "layerdb") == 0700 && mode_of(image_fd, "distribution") == 0700,
	   "layerdb/ and distribution/ 0700 at start");
	ok(!fs_exists_at(image_fd, LAYOUT_LAYERDB_LAYERS) && !fs_exists_at(image_fd, LAYOUT_LAYERDB_TMP) &&
	   !fs_exists_at(image_fd, LAYOUT_DIFFID_BY_DIGEST), "what dockerd makes on first use is not made at start");
	ok(fs_read_file_at(image_fd, LAYOUT_REPOSITORIES, 4096, &repos, NULL, NULL) == 0 &&
	   !strcmp(repos, "{\"Repositories\":{}}"), "an empty repositories.json");
	free(repos);
	repos = NULL;
	fs_write_file_at(image_fd, LAYOUT_REPOSITORIES, "{}", 2, 0600, NULL);
	ok(layout_create(root, "vfs", &again, &err) == 0 && again >= 0 &&
	   fs_read_file_at(again, LAYOUT_REPOSITORIES, 4096, &repos, NULL, NULL) == 0 && !strcmp(repos, "{}"),
	   "creating again keeps what exists");
	free(repos);
	close(again);

	ok(layout_mkdir(image_fd, LAYOUT_LAYERDB_TMP, &err) == 0 && mode_of(image_fd, LAYOUT_LAYERDB_TMP) == 0755,
	   "layerdb/tmp 0755");
	ok(layout_mkdir(image_fd, LAYOUT_LAYERDB_LAYERS, &err) == 0 && mode_of(image_fd, LAYOUT_LAYERDB_LAYERS) == 0755,
	   "layerdb/sha256 0755");
	ok(layout_mkdir(image_fd, LAYOUT_V2METADATA_BY_DIFFID, &err) == 0 &&
	   mode_of(image_fd, "distribution/v2metadata-by-diffid") == 0755 &&
	   mode_of(image_fd, LAYOUT_V2METADATA_BY_DIFFID) == 0755 && mode_of(image_fd, "distribution") == 0700 &&
	   !fs_exists_at(image_fd, "distribution/diffid-by-digest"),
	   "v2metadata-by-diffid and its parent 0755, nothing beside them");
	ok(layout_mkdir(image_fd, LAYOUT_LAYERDB_TMP, &err) == 0, "an existing folder is fine");
	ok(layout_mkdir(image_fd, "layerdb/other", &err) == -STRATA_ERR_INVALID && !fs_exists_at(image_fd, "layerdb/other"),
	   "a folder the layout does not know is refused");
	strata_error_freep(&err);
	ok(layout_mkdir(image_fd, "layerdb/tmpx", &err) == -STRATA_ERR_INVALID, "prefixes are matched by whole names");
	strata_error_freep(&err);
	close(image_fd);
	close(root);
}

/* The store picks the driver whose image/<driver> folder a root has. */
static void test_store_detects(void)
{
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	char path[256], img[300];

	snprintf(path, sizeof(path), "%s/detect", base);
	mkdir(path, 0700);
	snprintf(img, sizeof(img), "%s/image", path);
	mkdir(img, 0700);
	snprintf(img, sizeof(img), "%s/image/vfs", path);
	mkdir(img, 0700);
	ok(strata_store_open(path, NULL, 0, &store, &err) == 0 && !strcmp(strata_store_driver_name(store), "vfs") &&
	   !strcmp(store->image_dir, "image/vfs") && store->image_fd >= 0, "a root with image/vfs opens as vfs");
	strata_store_free(store);
	store = NULL;
	ok(strata_store_open(path, "overlay2", 0, &store, &err) == -STRATA_ERR_INVALID && err &&
	   strstr(err->msg, "uses the vfs storage driver, not overlay2"), "asking another driver fails: %s",
	   err ? err->msg : "(none)");
	strata_error_freep(&err);
	ok(strata_store_open(path, "aufs", 0, &store, &err) == -STRATA_ERR_INVALID && err &&
	   strstr(err->msg, "unsupported storage driver 'aufs' (use overlay2 or vfs)"), "an unknown driver fails: %s",
	   err ? err->msg : "(none)");
	strata_error_freep(&err);
	snprintf(path, sizeof(path), "%s/missing", base);
	ok(strata_store_open(path, NULL, 0, &store, &err) == 0 && !strcmp(strata_store_driver_name(store), "overlay2") &&
	   store->image_fd < 0, "a missing root reads as an empty overlay2 store");
	strata_store_free(store);
}

int main(void)
{
	if (!mkdtemp(base))
		return 1;
	test_names();
	test_ids();
	test_staging_names();
	test_folders();
	test_store_detects();
	fs_remove_tree_at(AT_FDCWD, base, NULL);
	return tap_done();
}
