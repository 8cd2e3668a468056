/* overlay2: dockerd 20.10's layout (daemon/graphdriver/overlay2), byte for byte. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/driver-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"

#define LINK_DIR "l"
#define MAX_LINK_CANDIDATES 1000
#define LOWER_MAX 65536


static bool link_valid(const char *s, size_t len)
{
	if (len != GRAPH_DRIVER_LINK_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '2' && s[i] <= '7')))
			return false;
	return true;
}

/* "l/<LINK>:l/<LINK>..." entries, each checked. */
static bool lower_valid(const char *s, size_t *depth)
{
	size_t n = 0;

	for (const char *p = s;;) {
		const char *end = strchrnul(p, ':');

		if (end - p != 2 + GRAPH_DRIVER_LINK_LEN || strncmp(p, LINK_DIR "/", 2) ||
		    !link_valid(p + 2, GRAPH_DRIVER_LINK_LEN))
			return false;
		n++;
		if (!*end)
			break;
		p = end + 1;
	}
	if (depth)
		*depth = n;
	return true;
}

static int ov_init(struct graph_driver *d, struct strata_error **err)
{
	int ret = fs_mkdir_at(d->home_fd, LINK_DIR, 0700, err);

	if (ret < 0)
		return ret;
	d->dir_fd = fcntl(d->home_fd, F_DUPFD_CLOEXEC, 0);
	if (d->dir_fd < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "dup");
	return 0;
}

static int open_layer(struct graph_driver *d, const char *id, struct strata_error **err)
{
	int fd = openat(d->dir_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "open layer folder");
	return fd;
}

/* Read <id>/link; NOT_FOUND when missing, CORRUPT when malformed. */
static int read_link(int layer_fd, char out[GRAPH_DRIVER_LINK_LEN + 1], struct strata_error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int ret = fs_read_file_at(layer_fd, "link", 64, &buf, &len, err);

	if (ret < 0)
		return ret;
	if (!link_valid(buf, len))
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "malformed link file");
	memcpy(out, buf, len + 1);
	return 0;
}

/* Read <id>/lower into *out ("" when absent). */
static int read_lower(int layer_fd, char **out, struct strata_error **err)
{
	struct strata_error *e = NULL;
	size_t len;

	if (fs_read_file_at(layer_fd, "lower", LOWER_MAX, out, &len, &e) < 0) {
		if (e->code == STRATA_ERR_NOT_FOUND) {
			strata_error_free(e);
			*out = xstrdup("");
			return 0;
		}
		return strata_error_propagate(err, e);
	}
	if (len && !lower_valid(*out, NULL)) {
		free(*out);
		*out = NULL;
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "malformed lower file");
	}
	return 0;
}

/* getLower: "l/<parent link>" + ":" + parent's lower, at most 128 entries. */
static int lower_for(struct graph_driver *d, const char *parent, char **out, struct strata_error **err)
{
	_cleanup_close_ int pfd = open_layer(d, parent, err);
	_cleanup_free_ char *plower = NULL;
	char plink[GRAPH_DRIVER_LINK_LEN + 1];
	size_t depth = 0;

	if (pfd < 0)
		return strata_error_wrap(err, "parent layer %s", parent);
	if (read_link(pfd, plink, err) < 0 || read_lower(pfd, &plower, err) < 0)
		return strata_error_wrap(err, "parent layer %s", parent);
	if (*plower)
		lower_valid(plower, &depth);
	if (depth + 1 > GRAPH_DRIVER_MAX_DEPTH)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "max depth exceeded (%d layers)",
					GRAPH_DRIVER_MAX_DEPTH);
	*out = *plower ? xasprintf(LINK_DIR "/%s:%s", plink, plower) : xasprintf(LINK_DIR "/%s", plink);
	return 0;
}

static bool link_points_to(int l_fd, const char *link, const char *id)
{
	char buf[PATH_MAX];
	_cleanup_free_ char *want = xasprintf("../%s/diff", id);
	ssize_t n = readlinkat(l_fd, link, buf, sizeof(buf) - 1);

	if (n < 0)
		return false;
	buf[n] = '\0';
	return !strcmp(buf, want);
}

static int ov_remove(struct graph_driver *d, const char *id, struct strata_error **err)
{
	_cleanup_close_ int lfd = -1, l_fd = -1;
	char link[GRAPH_DRIVER_LINK_LEN + 1];
	struct strata_error *ignored = NULL;

	lfd = openat(d->dir_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (lfd < 0 && errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
		return strata_error_set(err, STRATA_ERR_IO, errno, "open layer folder");
	if (lfd >= 0 && read_link(lfd, link, &ignored) == 0) {
		l_fd = fs_open_dir_at(d->home_fd, LINK_DIR, err);
		if (l_fd < 0)
			return l_fd;
		/* Only our own link: never a name another layer (or a planted file) uses. */
		if (link_points_to(l_fd, link, id) && unlinkat(l_fd, link, 0) < 0 && errno != ENOENT)
			return strata_error_set(err, STRATA_ERR_IO, errno, "remove link l/%s", link);
	}
	strata_error_free(ignored);
	return fs_remove_tree_at(d->dir_fd, id, err);
}

/* Pick the first deterministic candidate that is free (or already ours) and link it. */
static int make_link(struct graph_driver *d, const char *id, char out[GRAPH_DRIVER_LINK_LEN + 1],
		     struct strata_error **err)
{
	_cleanup_close_ int l_fd = fs_open_dir_at(d->home_fd, LINK_DIR, err);
	_cleanup_free_ char *target = xasprintf("../%s/diff", id);

	if (l_fd < 0)
		return l_fd;
	for (unsigned n = 0; n < MAX_LINK_CANDIDATES; n++) {
		graph_driver_link_candidate(id, n, out);
		if (symlinkat(target, l_fd, out) == 0)
			return 0;
		if (errno != EEXIST)
			return strata_error_set(err, fs_errcode(errno), errno, "create link l/%s", out);
		if (link_points_to(l_fd, out, id))
			return 0; /* left over from an earlier attempt for this very id */
	}
	return strata_error_set(err, STRATA_ERR_EXISTS, 0, "no free link name for layer");
}

static int mkdir_exact(int dfd, const char *name, mode_t mode, struct strata_error **err)
{
	if (mkdirat(dfd, name, mode) < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "create folder '%s'", name);
	if (fchmodat(dfd, name, mode, AT_SYMLINK_NOFOLLOW) < 0 && fchmodat(dfd, name, mode, 0) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "chmod '%s'", name);
	return 0;
}

static int ov_create(struct graph_driver *d, const char *id, const char *parent,
		     struct strata_error **err)
{
	_cleanup_free_ char *lower = NULL;
	_cleanup_close_ int lfd = -1, pfd = -1;
	char link[GRAPH_DRIVER_LINK_LEN + 1];
	int ret;

	if (parent && (ret = lower_for(d, parent, &lower, err)) < 0)
		return ret;
	if (ov_remove(d, id, err) < 0)
		return strata_error_wrap(err, "remove leftover folder");
	ret = mkdir_exact(d->dir_fd, id, 0710, err);
	if (ret < 0)
		return ret;
	lfd = ret = open_layer(d, id, err);
	if (ret < 0 || (ret = mkdir_exact(lfd, "diff", 0755, err)) < 0 ||
	    (ret = make_link(d, id, link, err)) < 0 ||
	    (ret = fs_write_file_at(lfd, "link", link, GRAPH_DRIVER_LINK_LEN, 0644, err)) < 0)
		goto fail;
	if (parent) {
		ret = mkdir_exact(lfd, "work", 0700, err);
		if (ret < 0)
			goto fail;
		pfd = ret = open_layer(d, parent, err);
		if (ret < 0 || (ret = fs_write_file_at(pfd, "committed", "", 0, 0600, err)) < 0)
			goto fail;
		ret = fs_write_file_at(lfd, "lower", lower, strlen(lower), 0644, err);
		if (ret < 0)
			goto fail;
	}
	if ((ret = fs_fsync_dir_at(lfd, ".", err)) < 0 ||
	    (ret = fs_fsync_dir_at(d->home_fd, LINK_DIR, err)) < 0 ||
	    (ret = fs_fsync_dir_at(d->dir_fd, ".", err)) < 0)
		goto fail;
	return 0;
fail:
	ov_remove(d, id, NULL);
	return ret;
}

static bool ov_exists(struct graph_driver *d, const char *id)
{
	struct stat st;

	return fstatat(d->dir_fd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int ov_diff_fd(struct graph_driver *d, const char *id, struct strata_error **err)
{
	_cleanup_close_ int lfd = open_layer(d, id, err);
	int fd;

	if (lfd < 0)
		return lfd;
	fd = openat(lfd, "diff", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "open diff folder");
	return fd;
}

static bool ov_list_entry(struct graph_driver *d, const char *name)
{
	return true;
}

#define REPORT(...)                                                                              \
	do {                                                                                     \
		_cleanup_free_ char *_m = xasprintf(__VA_ARGS__);                                 \
		problems++;                                                                      \
		if (report)                                                                      \
			report(cookie, id, _m);                                                  \
	} while (0)

static int ov_check(struct graph_driver *d, const char *id, const char *parent,
		    graph_driver_report_fn report, void *cookie, struct strata_error **err)
{
	_cleanup_close_ int lfd = -1, l_fd = -1;
	_cleanup_free_ char *lower = NULL, *want = NULL;
	char link[GRAPH_DRIVER_LINK_LEN + 1];
	struct strata_error *e = NULL;
	struct stat st;
	int problems = 0;

	lfd = openat(d->dir_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (lfd < 0) {
		REPORT("overlay2/%s is missing or not a folder", id);
		return problems;
	}
	if (fstat(lfd, &st) == 0 && (st.st_mode & 07777) != 0710)
		REPORT("overlay2/%s has mode %04o, not 0710", id, st.st_mode & 07777);
	if (fstatat(lfd, "diff", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		REPORT("overlay2/%s/diff is missing or not a folder", id);
	if (read_link(lfd, link, &e) < 0) {
		REPORT("overlay2/%s/link: %s", id, e->msg);
		strata_error_freep(&e);
	} else {
		l_fd = openat(d->home_fd, LINK_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (l_fd < 0 || !link_points_to(l_fd, link, id))
			REPORT("overlay2/l/%s does not point to ../%s/diff", link, id);
	}
	if (read_lower(lfd, &lower, &e) < 0) {
		REPORT("overlay2/%s/lower: %s", id, e->msg);
		strata_error_freep(&e);
	} else if (!parent) {
		if (*lower)
			REPORT("overlay2/%s has a lower file but no parent", id);
	} else if (lower_for(d, parent, &want, &e) < 0) {
		REPORT("parent %s: %s", parent, e->msg);
		strata_error_freep(&e);
	} else if (strcmp(lower, want)) {
		REPORT("overlay2/%s/lower is '%s', the parent chain gives '%s'", id, lower, want);
	}
	if (parent && (fstatat(lfd, "work", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)))
		REPORT("overlay2/%s/work is missing", id);
	return problems;
}

/* Absolute path of the driver folder (what dockerd's d.home is). */
static char *home_path(struct graph_driver *d)
{
	char proc[64], buf[PATH_MAX];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", d->home_fd);
	n = readlink(proc, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

static int bind_mount(int src_fd, const char *target, bool ro, struct strata_error **err)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", src_fd);
	if (mount(proc, target, NULL, MS_BIND, NULL) < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "bind mount");
	if (ro && mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
		int e = errno;

		umount2(target, MNT_DETACH);
		return strata_error_set(err, STRATA_ERR_IO, e, "remount read-only");
	}
	return 0;
}

/*
 * New mount API: one "lowerdir+" per layer (Linux 6.8+), so long chains
 * never hit the one-page limit of mount(2) data.  Returns 1 when the
 * kernel lacks it (caller falls back), 0 on success.
 */
static int mount_fsconfig(const char *home, const char *id, const char *lower, bool ro,
			  const char *target, struct strata_error **err)
{
	_cleanup_close_ int fs = -1, mnt = -1;
	_cleanup_free_ char *diff = xasprintf("%s/%s/diff", home, id);
	_cleanup_free_ char *work = xasprintf("%s/%s/work", home, id);

	fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return errno == ENOSYS ? 1 : strata_error_set(err, STRATA_ERR_IO, errno, "fsopen overlay");
	fsconfig(fs, FSCONFIG_SET_STRING, "index", "off", 0); /* dockerd uses index=off when supported */
	if (ro && fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", diff, 0) < 0)
		return errno == EINVAL ? 1 : strata_error_set(err, STRATA_ERR_IO, errno, "overlay lowerdir");
	for (const char *p = lower; *p;) {
		const char *end = strchrnul(p, ':');
		_cleanup_free_ char *dir = xasprintf("%s/%.*s", home, (int)(end - p), p);

		if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", dir, 0) < 0)
			return errno == EINVAL ? 1 : strata_error_set(err, STRATA_ERR_IO, errno,
								       "overlay lowerdir '%s'", dir);
		p = *end ? end + 1 : end;
	}
	if (!ro && (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", diff, 0) < 0 ||
		    fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0))
		return strata_error_set(err, STRATA_ERR_IO, errno, "overlay upperdir/workdir");
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "create overlay mount");
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
	if (mnt < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "fsmount overlay");
	if (move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "attach overlay mount");
	return 0;
}

static int mount_legacy(const char *home, const char *id, const char *lower, bool ro,
			const char *target, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf opts = STRBUF_INIT;

	strbuf_addstr(&opts, "index=off,lowerdir=");
	if (ro)
		strbuf_addf(&opts, "%s/%s/diff:", home, id);
	for (const char *p = lower; *p;) {
		const char *end = strchrnul(p, ':');

		strbuf_addf(&opts, "%s/%.*s%s", home, (int)(end - p), p, *end ? ":" : "");
		p = *end ? end + 1 : end;
	}
	if (!ro)
		strbuf_addf(&opts, ",upperdir=%s/%s/diff,workdir=%s/%s/work", home, id, home, id);
	if (opts.len > (size_t)getpagesize() - 1)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
					"overlay mount options too long (%zu bytes)", opts.len);
	if (mount("overlay", target, "overlay", 0, opts.buf) < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "mount overlay");
	return 0;
}

static int ov_mount(struct graph_driver *d, const char *id, const char *target,
		    struct strata_error **err)
{
	_cleanup_close_ int lfd = open_layer(d, id, err);
	_cleanup_free_ char *lower = NULL, *home = NULL;
	bool ro;
	int ret;

	if (lfd < 0)
		return lfd;
	ret = read_lower(lfd, &lower, err);
	if (ret < 0)
		return ret;
	ro = fs_exists_at(lfd, "committed");
	if (!*lower) {
		_cleanup_close_ int diff = openat(lfd, "diff", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (diff < 0)
			return strata_error_set(err, fs_errcode(errno), errno, "open diff folder");
		return bind_mount(diff, target, ro, err);
	}
	home = home_path(d);
	if (!home)
		return strata_error_set(err, STRATA_ERR_IO, errno, "resolve driver folder");
	ret = mount_fsconfig(home, id, lower, ro, target, err);
	if (ret == 1)
		ret = mount_legacy(home, id, lower, ro, target, err);
	return ret;
}

static int ov_get(struct graph_driver *d, const char *id, struct strbuf *path, struct strata_error **err)
{
	_cleanup_close_ int lfd = open_layer(d, id, err);
	_cleanup_free_ char *home = NULL;
	size_t at = path->len;
	int ret;

	if (lfd < 0)
		return lfd;
	if (mkdirat(lfd, "merged", 0700) < 0 && errno != EEXIST)
		return strata_error_set(err, fs_errcode(errno), errno, "create merged folder");
	home = home_path(d);
	if (!home)
		return strata_error_set(err, STRATA_ERR_IO, errno, "resolve driver folder");
	strbuf_addf(path, "%s/%s/merged", home, id);
	ret = ov_mount(d, id, path->buf + at, err);
	if (ret < 0)
		strbuf_setlen(path, at);
	return ret;
}

static int ov_put(struct graph_driver *d, const char *id, struct strata_error **err)
{
	_cleanup_close_ int lfd = open_layer(d, id, err);
	_cleanup_free_ char *home = NULL, *merged = NULL;

	if (lfd < 0)
		return lfd;
	home = home_path(d);
	if (!home)
		return strata_error_set(err, STRATA_ERR_IO, errno, "resolve driver folder");
	merged = xasprintf("%s/%s/merged", home, id);
	/* detached, as dockerd: a process still inside keeps only its own view */
	if (umount2(merged, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
		return strata_error_set(err, fs_errcode(errno), errno, "unmount '%s'", merged);
	if (unlinkat(lfd, "merged", AT_REMOVEDIR) < 0 && errno != ENOENT)
		return strata_error_set(err, fs_errcode(errno), errno, "remove '%s'", merged);
	return 0;
}

/* dockerd cannot mount a layer whose l/ link is gone (§15); the link file names it. */
static int ov_repair(struct graph_driver *d, const char *id, const char **what, struct strata_error **err)
{
	_cleanup_close_ int lfd = -1, l_fd = -1;
	_cleanup_free_ char *target = xasprintf("../%s/diff", id);
	char link[GRAPH_DRIVER_LINK_LEN + 1];
	struct strata_error *e = NULL;
	struct stat st;

	lfd = openat(d->dir_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (lfd < 0 || read_link(lfd, link, &e) < 0) {
		strata_error_free(e);
		return 0;
	}
	l_fd = fs_open_dir_at(d->home_fd, LINK_DIR, err);
	if (l_fd < 0)
		return l_fd;
	if (fstatat(l_fd, link, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0; /* present: wrong targets are reported by check, not guessed at */
	if (symlinkat(target, l_fd, link) < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "restore link l/%s", link);
	*what = "its l/ link was missing (restored from the link file)";
	return 1;
}

/* dockerd's GetMetadata, with the parents' folders from layerdb instead of "lower". */
static void ov_metadata(const char *home, const char *id, const char *const *lower_ids, size_t nr_lower,
			graph_driver_metadata_fn fn, void *cookie)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	if (nr_lower) {
		for (size_t i = 0; i < nr_lower; i++)
			strbuf_addf(&sb, "%s%s/%s/diff", i ? ":" : "", home, lower_ids[i]);
		fn(cookie, "LowerDir", sb.buf);
	}
	strbuf_reset(&sb);
	strbuf_addf(&sb, "%s/%s/merged", home, id);
	fn(cookie, "MergedDir", sb.buf);
	strbuf_reset(&sb);
	strbuf_addf(&sb, "%s/%s/diff", home, id);
	fn(cookie, "UpperDir", sb.buf);
	strbuf_reset(&sb);
	strbuf_addf(&sb, "%s/%s/work", home, id);
	fn(cookie, "WorkDir", sb.buf);
}

const struct graph_driver_ops graph_driver_overlay2_ops = {
	.name = "overlay2",
	.home = "overlay2",
	.whiteouts = WHITEOUT_OVERLAY,
	.caps = GRAPH_DRIVER_CAP_PARALLEL_APPLY,
	.init = ov_init,
	.create = ov_create,
	.remove = ov_remove,
	.exists = ov_exists,
	.diff_fd = ov_diff_fd,
	.list_entry = ov_list_entry,
	.check = ov_check,
	.mount = ov_mount,
	.get = ov_get,
	.put = ov_put,
	.repair = ov_repair,
	.metadata = ov_metadata,
};
