/* strata_system_info: docker info's store and registry fields. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "image/containers.h"
#include "json/gojson.h"
#include "registry/config.h"
#include "store/store-private.h"
#include "strata/image.h"
#include "strata/strata.h"
#include "strata/system.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* docker's graphdriver.FsNames: the names it prints as "Backing Filesystem" */
static const char *fs_name(long magic)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} names[] = {
		{ 0xEF53, "extfs" },         { 0x58465342, "xfs" },   { 0x9123683E, "btrfs" },
		{ 0x01021994, "tmpfs" },     { 0x794C7630, "overlayfs" }, { 0x2FC12FC1, "zfs" },
		{ 0x6969, "nfs" },           { 0x858458F6, "ramfs" }, { 0xF2F52010, "f2fs" },
		{ 0x65735546, "fuse" },      { 0x73717368, "squashfs" }, { 0x6165676C, "pstorefs" },
		{ 0x61756673, "aufs" },      { 0x9FA0, "proc" },      { 0x62656572, "sysfs" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((unsigned long)magic == names[i].magic)
			return names[i].name;
	return "<unknown>";
}

/* Whether readdir on the root tells entry types (overlay2 needs it). */
static bool supports_d_type(int root_fd)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			return de->d_type != DT_UNKNOWN;
	return true; /* an empty root: nothing says otherwise */
}

static json_t *driver_status(const struct strata_store *store)
{
	json_t *status = json_array();
	struct statfs st;

	if (strcmp(store->driver_name, "overlay2") || store->root_fd < 0 ||
	    fstatfs(store->root_fd, &st) < 0)
		return status;
	json_array_append_new(status, json_pack("[s,s]", "Backing Filesystem", fs_name(st.f_type)));
	json_array_append_new(status, json_pack("[s,s]", "Supports d_type",
						supports_d_type(store->root_fd) ? "true" : "false"));
	return status;
}

/* docker's registry.ServiceConfig: CIDR entries apart, names as insecure index configs. */
static json_t *registry_config(const struct registry_config *cfg)
{
	json_t *cidrs = json_pack("[s]", "127.0.0.0/8");
	json_t *mirrors = json_array();
	json_t *indexes = json_object();

	for (size_t i = 0; i < cfg->n_mirrors; i++) {
		_cleanup_free_ char *m = xasprintf("%s/", cfg->mirrors[i]);

		json_array_append_new(mirrors, json_string(m));
	}
	json_object_set_new(indexes, "docker.io",
			    json_pack("{s:s,s:O,s:b,s:b}", "Name", "docker.io", "Mirrors", mirrors,
				      "Secure", 1, "Official", 1));
	for (size_t i = 0; i < cfg->n_insecure; i++) {
		const char *r = cfg->insecure[i];

		if (strchr(r, '/'))
			json_array_append_new(cidrs, json_string(r));
		else
			json_object_set_new(indexes, r,
					    json_pack("{s:s,s:[],s:b,s:b}", "Name", r, "Mirrors",
						      "Secure", 0, "Official", 0));
	}
	return json_pack("{s:[],s:[],s:o,s:o,s:o}", "AllowNondistributableArtifactsCIDRs",
			 "AllowNondistributableArtifactsHostnames", "InsecureRegistryCIDRs", cidrs,
			 "IndexConfigs", indexes, "Mirrors", mirrors);
}

/* The host's part of types.Info. */
static void add_host(json_t *info)
{
	struct utsname u;
	struct sysinfo si;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	json_object_set_new(info, "ServerVersion", json_string(strata_version()));
	json_object_set_new(info, "OSType", json_string("linux"));
	if (uname(&u) == 0) {
		json_object_set_new(info, "KernelVersion", json_string(u.release));
		json_object_set_new(info, "Architecture", json_string(u.machine));
		json_object_set_new(info, "Name", json_string(u.nodename));
	}
	json_object_set_new(info, "NCPU", json_integer(ncpu > 0 ? ncpu : 0));
	if (sysinfo(&si) == 0)
		json_object_set_new(info, "MemTotal", json_integer((json_int_t)si.totalram * si.mem_unit));
}

static void add_warning(json_t *warnings, const char *kind, const char *id, const char *why)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "WARNING: skipped damaged %s %s: %s", kind, id, why);
	/* the message may quote bytes of a damaged file: the encoder writes
	 * invalid UTF-8 as Go does (U+FFFD) */
	json_array_append_new(warnings, json_stringn_nocheck(sb.buf, sb.len));
}

int strata_system_info(const struct strata_image_index *idx, const char *config_path, char **out,
		       struct strata_error **err)
{
	struct strata_store *store = strata_image_index_store(idx);
	struct container_list containers = { 0 };
	struct registry_config cfg;
	_cleanup_json_ json_t *info = NULL;
	struct strbuf sb = STRBUF_INIT;
	size_t running = 0;
	int ret;

	*out = NULL;
	registry_config_init(&cfg);
	ret = registry_config_load(&cfg, config_path, err);
	if (ret < 0) {
		registry_config_release(&cfg);
		return ret;
	}
	ret = containers_load(store, &containers, true, err);
	if (ret < 0) {
		registry_config_release(&cfg);
		return ret;
	}
	for (size_t i = 0; i < containers.nr; i++)
		running += containers.items[i].running;
	info = json_pack("{s:I,s:I,s:i,s:I,s:I,s:s,s:o,s:s,s:s,s:o}",
			 "Containers", (json_int_t)containers.nr,
			 "ContainersRunning", (json_int_t)running,
			 "ContainersPaused", 0,
			 "ContainersStopped", (json_int_t)(containers.nr - running),
			 "Images", (json_int_t)strata_image_index_count(idx),
			 "Driver", store->driver_name,
			 "DriverStatus", driver_status(store),
			 "DockerRootDir", store->root,
			 "IndexServerAddress", "https://index.docker.io/v1/",
			 "RegistryConfig", registry_config(&cfg));
	add_host(info);
	/* types.Info's Warnings, which docker info prints on stderr: what dockerd
	 * would only have logged when it skipped an object at its start */
	if (containers.nr_damaged || strata_image_index_damaged_count(idx)) {
		json_t *w = json_array();

		for (size_t i = 0; i < strata_image_index_damaged_count(idx); i++)
			add_warning(w, "image", strata_image_index_damaged_id(idx, i),
				    strata_image_index_damaged_why(idx, i));
		for (size_t i = 0; i < containers.nr_damaged; i++)
			add_warning(w, "container", containers.damaged[i].id, containers.damaged[i].why->msg);
		json_object_set_new(info, "Warnings", w);
	} else {
		json_object_set_new(info, "Warnings", json_null());
	}
	containers_release(&containers);
	registry_config_release(&cfg);
	gojson_encode(&sb, info, 0);
	*out = strbuf_detach(&sb, NULL);
	return 0;
}
