/* Graph driver front: id validation, opening, detection, listing, dispatch. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest/digest.h"
#include "driver/driver-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"

const struct graph_driver_ops *const graph_drivers[] = {
	&graph_driver_overlay2_ops,
	&graph_driver_vfs_ops,
	NULL,
};

const struct graph_driver_ops *graph_driver_ops_by_name(const char *name)
{
	for (const struct graph_driver_ops *const *ops = graph_drivers; *ops; ops++)
		if (!strcmp((*ops)->name, name))
			return *ops;
	return NULL;
}

bool graph_driver_id_valid(const char *id)
{
	size_t n;

	if (!id)
		return false;
	for (n = 0; n < STRATA_HEX_LEN; n++)
		if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
			return false;
	return id[n] == '\0' || !strcmp(id + n, "-init");
}

static int check_id(const char *id, struct strata_error **err)
{
	if (!graph_driver_id_valid(id))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid layer id '%s'", id ? id : "(null)");
	return 0;
}

void graph_driver_link_candidate(const char *id, unsigned n, char out[GRAPH_DRIVER_LINK_LEN + 1])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	char hex[STRATA_HEX_LEN + 1];
	unsigned char raw[32];
	_cleanup_free_ char *input = n ? xasprintf("%s/%u", id, n) : xstrdup(id);
	unsigned bits = 0, acc = 0;
	size_t o = 0;

	sha256_hex(input, strlen(input), hex);
	for (int i = 0; i < 32; i++) {
		unsigned hi = (unsigned)(hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10);
		unsigned lo = (unsigned)(hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10);

		raw[i] = (unsigned char)(hi << 4 | lo);
	}
	for (int i = 0; i < 32 && o < GRAPH_DRIVER_LINK_LEN; i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 5 && o < GRAPH_DRIVER_LINK_LEN) {
			out[o++] = alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	out[o] = '\0';
}

int graph_driver_open(int data_root_fd, const char *name, struct graph_driver **out,
		      struct strata_error **err)
{
	const struct graph_driver_ops *ops = graph_driver_ops_by_name(name);
	struct graph_driver *d;

	if (!ops)
		return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
					"unsupported storage driver '%s' (use " GRAPH_DRIVER_NAMES ")", name);
	d = xcalloc(1, sizeof(*d));
	d->ops = ops;
	d->home_fd = d->dir_fd = -1;
	d->root_fd = fcntl(data_root_fd, F_DUPFD_CLOEXEC, 0);
	if (d->root_fd < 0) {
		free(d);
		return strata_error_set(err, STRATA_ERR_IO, errno, "dup data root");
	}
	/* dockerd: the driver home is 0710 (CVE-2021-41091 lock-down) for both drivers. */
	if (fs_mkdir_at(d->root_fd, ops->home, 0710, err) < 0 ||
	    (d->home_fd = fs_open_dir_at(d->root_fd, ops->home, err)) < 0 || ops->init(d, err) < 0) {
		graph_driver_close(d);
		return strata_error_wrap(err, "open %s driver", name);
	}
	*out = d;
	return 0;
}

void graph_driver_close(struct graph_driver *d)
{
	if (!d)
		return;
	if (d->dir_fd >= 0)
		close(d->dir_fd);
	if (d->home_fd >= 0)
		close(d->home_fd);
	close(d->root_fd);
	free(d);
}

const char *graph_driver_name(const struct graph_driver *d)
{
	return d->ops->name;
}

/* Try a tiny overlay mount in the data root (as dockerd's supportsOverlay probe does). */
static bool overlay_works(int root_fd)
{
	char name[64];
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *opts = NULL, *target = NULL;
	bool works = false;

	snprintf(name, sizeof(name), ".strata-overlay-probe-%ld", (long)getpid());
	fs_remove_tree_at(root_fd, name, NULL);
	if (mkdirat(root_fd, name, 0700) < 0)
		return false;
	fd = openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && mkdirat(fd, "lower", 0700) == 0 && mkdirat(fd, "upper", 0700) == 0 &&
	    mkdirat(fd, "work", 0700) == 0 && mkdirat(fd, "merged", 0700) == 0) {
		opts = xasprintf("lowerdir=/proc/self/fd/%d/lower,upperdir=/proc/self/fd/%d/upper,"
				 "workdir=/proc/self/fd/%d/work", fd, fd, fd);
		target = xasprintf("/proc/self/fd/%d/merged", fd);
		if (mount("overlay", target, "overlay", 0, opts) == 0) {
			works = true;
			umount2(target, MNT_DETACH);
		}
	}
	fs_remove_tree_at(root_fd, name, NULL);
	return works;
}

const struct graph_driver_ops *graph_driver_probe(int data_root_fd)
{
	return overlay_works(data_root_fd) ? &graph_driver_overlay2_ops : &graph_driver_vfs_ops;
}

int graph_driver_create(struct graph_driver *d, const char *id, const char *parent,
			struct strata_error **err)
{
	if (check_id(id, err) < 0 || (parent && check_id(parent, err) < 0))
		return -STRATA_ERR_INVALID;
	if (parent && !strcmp(id, parent))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "layer %s cannot be its own parent", id);
	if (d->ops->create(d, id, parent, err) < 0)
		return strata_error_wrap(err, "create %s layer %s", d->ops->name, id);
	return 0;
}

int graph_driver_apply_begin(struct graph_driver *d, const char *id, struct layer_applier **out,
			     struct strata_error **err)
{
	_cleanup_close_ int fd = graph_driver_diff_fd(d, id, err);

	if (fd < 0)
		return fd;
	return layer_applier_new(fd, d->ops->whiteouts, out, err);
}

int graph_driver_remove(struct graph_driver *d, const char *id, struct strata_error **err)
{
	if (check_id(id, err) < 0)
		return -STRATA_ERR_INVALID;
	if (d->ops->remove(d, id, err) < 0)
		return strata_error_wrap(err, "remove %s layer %s", d->ops->name, id);
	return 0;
}

bool graph_driver_exists(struct graph_driver *d, const char *id)
{
	return graph_driver_id_valid(id) && d->ops->exists(d, id);
}

int graph_driver_diff_fd(struct graph_driver *d, const char *id, struct strata_error **err)
{
	int fd;

	if (check_id(id, err) < 0)
		return -STRATA_ERR_INVALID;
	fd = d->ops->diff_fd(d, id, err);
	if (fd < 0)
		return strata_error_wrap(err, "%s layer %s", d->ops->name, id);
	return fd;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int graph_driver_list(struct graph_driver *d, char ***ids, size_t *nr, struct strata_error **err)
{
	_cleanup_closedir_ DIR *dir = NULL;
	struct dirent *de;
	char **out = NULL;
	size_t n = 0, alloc = 0;

	if (fs_opendir_at(d->dir_fd, ".", &dir, err) < 0)
		return strata_error_wrap(err, "%s", d->ops->name);
	while ((errno = 0, de = readdir(dir))) {
		struct stat st;

		if (!graph_driver_id_valid(de->d_name) ||
		    (d->ops->list_entry && !d->ops->list_entry(d, de->d_name)))
			continue;
		if (fstatat(d->dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		ALLOC_GROW(out, n + 2, alloc);
		out[n++] = xstrdup(de->d_name);
	}
	if (errno) {
		int e = errno;

		out ? (out[n] = NULL, graph_driver_list_free(out)) : (void)0;
		return strata_error_set(err, STRATA_ERR_IO, e, "read %s folder", d->ops->name);
	}
	ALLOC_GROW(out, n + 1, alloc);
	out[n] = NULL;
	qsort(out, n, sizeof(*out), cmp_str);
	*ids = out;
	if (nr)
		*nr = n;
	return 0;
}

void graph_driver_list_free(char **ids)
{
	if (!ids)
		return;
	for (char **p = ids; *p; p++)
		free(*p);
	free(ids);
}

int graph_driver_check(struct graph_driver *d, const char *id, const char *parent,
		       graph_driver_report_fn report, void *cookie, struct strata_error **err)
{
	if (!graph_driver_id_valid(id)) {
		if (report)
			report(cookie, id, "invalid layer id");
		return 1;
	}
	if (parent && !graph_driver_id_valid(parent)) {
		if (report)
			report(cookie, id, "invalid parent layer id");
		return 1;
	}
	return d->ops->check(d, id, parent, report, cookie, err);
}

int graph_driver_repair(struct graph_driver *d, const char *id, const char **what,
			struct strata_error **err)
{
	if (check_id(id, err) < 0)
		return -STRATA_ERR_INVALID;
	return d->ops->repair ? d->ops->repair(d, id, what, err) : 0;
}

int graph_driver_mount(struct graph_driver *d, const char *id, const char *target_path,
		       struct strata_error **err)
{
	if (check_id(id, err) < 0)
		return -STRATA_ERR_INVALID;
	if (d->ops->mount(d, id, target_path, err) < 0)
		return strata_error_wrap(err, "mount %s layer %s on '%s'", d->ops->name, id, target_path);
	return 0;
}

int graph_driver_get(struct graph_driver *d, const char *id, struct strbuf *path, struct strata_error **err)
{
	if (check_id(id, err) < 0)
		return -STRATA_ERR_INVALID;
	if (d->ops->get(d, id, path, err) < 0)
		return strata_error_wrap(err, "mount %s layer %s", d->ops->name, id);
	return 0;
}

int graph_driver_put(struct graph_driver *d, const char *id, struct strata_error **err)
{
	if (check_id(id, err) < 0)
		return -STRATA_ERR_INVALID;
	if (d->ops->put(d, id, err) < 0)
		return strata_error_wrap(err, "unmount %s layer %s", d->ops->name, id);
	return 0;
}

int graph_driver_unmount(struct graph_driver *d, const char *target_path, struct strata_error **err)
{
	if (umount2(target_path, UMOUNT_NOFOLLOW) < 0)
		return strata_error_set(err, errno == EINVAL ? STRATA_ERR_NOT_FOUND : STRATA_ERR_IO, errno,
					"unmount '%s'", target_path);
	return 0;
}

/* A cache-id as layerdb validated it: one folder name. */
static bool folder_name_valid(const char *id)
{
	return id && *id && strcmp(id, ".") && strcmp(id, "..") && !strchr(id, '/');
}

int graph_driver_metadata(const struct graph_driver_ops *ops, const char *data_root, const char *id,
			  const char *const *lower_ids, size_t nr_lower, graph_driver_metadata_fn fn,
			  void *cookie, struct strata_error **err)
{
	_cleanup_free_ char *home = NULL;

	if (!folder_name_valid(id))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid layer id '%s'", id ? id : "(null)");
	for (size_t i = 0; i < nr_lower; i++)
		if (!folder_name_valid(lower_ids[i]))
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid layer id '%s'",
						lower_ids[i] ? lower_ids[i] : "(null)");
	if (!ops->metadata)
		return 0;
	home = xasprintf("%s/%s", data_root, ops->home);
	ops->metadata(home, id, lower_ids, nr_lower, fn, cookie);
	return 0;
}
