/* USER[:GROUP] resolved in the image's /etc/passwd and /etc/group, as moby/sys/user. */
#ifndef STRATA_RUNTIME_USER_H
#define STRATA_RUNTIME_USER_H

#include <stddef.h>
#include <sys/types.h>

#include "strata/error.h"

#define RUNTIME_MAX_SGIDS 64

struct runtime_user {
	uid_t uid;
	gid_t gid;
	gid_t sgids[RUNTIME_MAX_SGIDS]; /* supplementary groups (only when no GROUP is given) */
	size_t n_sgids;
};

/*
 * Resolve spec ("" = root; "name", "uid", "name:group", "uid:gid") with the
 * files below rootfd (read without leaving it; a missing file counts as
 * empty). Names must exist; numeric ids need not. Errors are docker's:
 * "unable to find user X: no matching entries in passwd file".
 */
int runtime_user_resolve(int rootfd, const char *spec, struct runtime_user *out,
			 struct strata_error **err);

#endif
