/*
 * The Dockerfile of a build context folder (the Engine API's POST /build,
 * whose context archive.c extracted), read with symlinks resolved inside
 * the context.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata/build.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/safepath.h"
#include "util/strbuf.h"

/* A Dockerfile bigger than this is not a Dockerfile (the CLI's limit too). */
#define MAX_DOCKERFILE (16u << 20)

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
