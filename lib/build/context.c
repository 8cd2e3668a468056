/*
 * A build context sent as a tar (the Engine API's POST /build body, `strata
 * build -` with a tar on stdin): extracted into a fresh folder as dockerd's
 * builder does (chrootarchive.Untar: names cleaned, nothing outside the
 * folder, symlinks kept as symlinks and resolved inside it, ".wh." names
 * plain files), plain or compressed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compress/compress.h"
#include "strata/build.h"
#include "tar/tar.h"
#include "unpack/apply.h"
#include "util/alloc.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/safepath.h"
#include "util/strbuf.h"

/* A Dockerfile bigger than this is not a Dockerfile (the CLI's limit too). */
#define MAX_DOCKERFILE (16u << 20)

static int extract(int dir_fd, int fd, struct strata_cancel *cancel, struct strata_error **err)
{
	struct decomp_reader *d = decomp_reader_new(compress_fd_read, &fd, 0);
	struct tar_reader *r = tar_reader_new(decomp_reader_read, d);
	struct layer_applier *a = NULL;
	const struct tar_entry *e;
	int ret;

	ret = layer_applier_new(dir_fd, WHITEOUT_NONE, &a, err);
	while (ret >= 0 && (ret = cancel_check(cancel, err)) >= 0 && (ret = tar_reader_next(r, &e, err)) > 0)
		ret = layer_applier_entry(a, e, r, err);
	if (ret >= 0)
		ret = layer_applier_finish(a, NULL, err);
	layer_applier_free(a);
	tar_reader_free(r);
	decomp_reader_free(d);
	return ret;
}

int strata_build_context_from_fd(const char *parent, int fd, struct strata_cancel *cancel, char **dir,
				 struct strata_error **err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int dir_fd = -1;
	int ret;

	if (mkdir(parent, 0700) < 0 && errno != EEXIST)
		return strata_error_set(err, fs_errcode(errno), errno, "create '%s'", parent);
	path = xasprintf("%s/build-context-XXXXXX", parent);
	if (!mkdtemp(path))
		return strata_error_set(err, fs_errcode(errno), errno, "create a folder in '%s'", parent);
	dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		ret = strata_error_set(err, fs_errcode(errno), errno, "open '%s'", path);
	else
		ret = extract(dir_fd, fd, cancel, err);
	if (ret < 0) {
		strata_build_context_remove(path);
		return strata_error_wrap(err, "extract the build context");
	}
	*dir = steal_pointer(&path);
	return 0;
}

void strata_build_context_remove(const char *dir)
{
	struct strata_error *err = NULL;
	const char *slash = strrchr(dir, '/');
	_cleanup_free_ char *parent = slash ? xstrndup(dir, (size_t)(slash - dir)) : xstrdup(".");
	_cleanup_close_ int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 && fs_remove_tree_at(fd, slash ? slash + 1 : dir, &err) < 0)
		strata_error_free(err);
}

int strata_build_context_read(const char *dir, const char *name, char **data, size_t *len,
			      struct strata_error **err)
{
	_cleanup_close_ int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *rel = NULL;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	int ret;

	if (root < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "open '%s'", dir);
	ret = safepath_clean(name, &rel, "Dockerfile path", err);
	if (ret < 0)
		return ret;
	/* symlinks resolve inside the context, as dockerd's FollowSymlinkInScope */
	fd = *rel ? safepath_open(root, rel, O_RDONLY | O_CLOEXEC, 0, err) : -1;
	if (!*rel)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "the Dockerfile cannot be the context itself");
	if (fd < 0) {
		strata_error_free(*err);
		*err = NULL;
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0,
					"Cannot locate specified Dockerfile: %s", name);
	}
	for (;;) {
		char buf[65536];
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return strata_error_set(err, fs_errcode(errno), errno, "read the Dockerfile %s", name);
		if (n == 0)
			break;
		if (sb.len + (size_t)n > MAX_DOCKERFILE)
			return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "the Dockerfile %s is larger than %u bytes",
						name, MAX_DOCKERFILE);
		strbuf_add(&sb, buf, (size_t)n);
	}
	*len = sb.len;
	*data = strbuf_detach(&sb, NULL);
	return 0;
}
