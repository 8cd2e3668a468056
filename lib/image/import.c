/* docker import: one tar stream in, one layer and one image config out. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "image/config.h"
#include "image/image-private.h"
#include "image/imagedb.h"
#include "layer/layerstore.h"
#include "store/store-private.h"
#include "strata/reference.h"
#include "tarsplit/tarsplit.h"
#include "util/alloc.h"
#include "util/cleanup.h"

const char *config_host_arch(void)
{
	static const struct { const char *uname, *go; } map[] = {
		{ "x86_64", "amd64" }, { "aarch64", "arm64" }, { "armv7l", "arm" }, { "armv6l", "arm" },
		{ "i686", "386" }, { "i386", "386" }, { "ppc64le", "ppc64le" }, { "s390x", "s390x" },
		{ "riscv64", "riscv64" },
	};
	struct utsname u;

	if (uname(&u) == 0)
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (!strcmp(u.machine, map[i].uname))
				return map[i].go;
	return "amd64";
}

static int parse_platform(const char *platform, char **os, char **arch, char **variant,
			  struct strata_error **err)
{
	_cleanup_free_ char *copy = xstrdup(platform);
	char *a, *v;

	a = strchr(copy, '/');
	if (!a || !a[1] || a == copy)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"invalid platform '%s': expected OS/ARCH[/VARIANT]", platform);
	*a++ = '\0';
	v = strchr(a, '/');
	if (v)
		*v++ = '\0';
	if (strcmp(copy, "linux"))
		return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
					"operating system '%s' is not supported (only linux)", copy);
	*os = xstrdup(copy);
	*arch = xstrdup(a);
	*variant = v && *v ? xstrdup(v) : NULL;
	return 0;
}

static ssize_t read_fd(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	int fd = *(int *)cookie;

	for (;;) {
		ssize_t n = read(fd, buf, len);

		if (n >= 0)
			return n;
		if (errno != EINTR)
			return strata_error_set(err, STRATA_ERR_IO, errno, "read import input");
	}
}

/* Register the input as a layer; a regular file is read twice, stdin once. */
static int register_input(struct strata_store *store, const char *path, struct layer_register_result *layer,
			  struct strata_error **err)
{
	struct tarsplit_ingest_result pre;
	_cleanup_close_ int fd = -1;
	char diff_id[STRATA_DIGEST_LEN + 1];
	struct stat st;
	int in = STDIN_FILENO;
	int ret;

	if (strcmp(path, "-")) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return strata_error_set(err, errno == ENOENT ? STRATA_ERR_NOT_FOUND : STRATA_ERR_IO, errno,
						"open '%s'", path);
		in = fd;
	}
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode))
		return layerstore_register(store, NULL, read_fd, &in, NULL, layer, err);
	ret = tarsplit_ingest(read_fd, &in, -1, NULL, NULL, &pre, err);
	if (ret < 0)
		return strata_error_wrap(err, "'%s'", path);
	if (lseek(in, 0, SEEK_SET) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "rewind '%s'", path);
	snprintf(diff_id, sizeof(diff_id), "sha256:%s", pre.diff_id_hex);
	return layerstore_register(store, NULL, read_fd, &in, diff_id, layer, err);
}

int strata_image_import(struct strata_image_index *idx, const char *path,
			const struct strata_import_options *opts, char id[72], struct strata_error **err)
{
	struct layer_register_result layer;
	_cleanup_free_ char *os = NULL, *arch = NULL, *variant = NULL;
	_cleanup_json_ json_t *image = json_object();
	_cleanup_strbuf_ struct strbuf bytes = STRBUF_INIT;
	const char *msg = opts->message && *opts->message ? opts->message : "Imported from -";
	json_t *config = config_container_new(), *history, *entry, *rootfs, *diff_ids;
	_cleanup_strbuf_ struct strbuf created = STRBUF_INIT;
	char hex[STRATA_HEX_LEN + 1];
	struct strata_ref ref = { 0 };
	int ret;

	json_object_set_new(image, "config", config);
	if (opts->ref) {
		ret = strata_ref_parse(opts->ref, &ref, err);
		if (ret < 0)
			return ret;
		strata_ref_default_tag(&ref);
		if (ref.digest) {
			strata_ref_release(&ref);
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "refusing to create a tag with a digest reference");
		}
	}
	ret = opts->platform ? parse_platform(opts->platform, &os, &arch, &variant, err) : 0;
	for (size_t i = 0; ret >= 0 && i < opts->nr_changes; i++)
		ret = config_apply_change(config, opts->changes[i], err);
	if (ret >= 0)
		ret = register_input(idx->store, path, &layer, err);
	if (ret < 0) {
		strata_ref_release(&ref);
		return ret;
	}
	store_format_now(idx->store, &created);
	json_object_set_new(image, "architecture", json_string(arch ? arch : config_host_arch()));
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
	json_object_set_new(image, "os", json_string(os ? os : "linux"));
	rootfs = json_object();
	diff_ids = json_array();
	json_object_set_new(rootfs, "type", json_string("layers"));
	json_array_append_new(diff_ids, json_string(layer.diff_id));
	json_object_set_new(rootfs, "diff_ids", diff_ids);
	json_object_set_new(image, "rootfs", rootfs);
	if (variant)
		json_object_set_new(image, "variant", json_string(variant));
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
