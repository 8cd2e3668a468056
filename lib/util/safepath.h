/*
 * Paths strictly inside a root folder fd.
 *
 * Everything a layer applier or graph driver does below a root goes through
 * here: names are cleaned lexically (a ".." that would leave the root is an
 * error), folders are resolved with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) so that symlinks met on the way are interpreted
 * as if the root were "/" (as dockerd's chrooted extraction does), and the
 * last component is never followed: callers get the parent folder fd plus
 * the last name and use the *at() calls with AT_SYMLINK_NOFOLLOW / O_NOFOLLOW.
 * Kernels without openat2 get a component-by-component O_NOFOLLOW walk with
 * the same semantics.
 */
#ifndef STRATA_UTIL_SAFEPATH_H
#define STRATA_UTIL_SAFEPATH_H

#include <stdbool.h>
#include <sys/types.h>

#include "strata/error.h"

/* Symlinks followed while resolving one path, as the kernel's limit. */
#define SAFEPATH_MAX_SYMLINKS 40

/*
 * Clean an archive-style name into a relative path: leading '/' are
 * stripped, "." components and repeated '/' removed, ".." folded into the
 * previous component.  A ".." that would climb above the root, an empty
 * component list containing NUL, or a name longer than PATH_MAX is refused
 * with STRATA_ERR_UNSAFE_PATH naming `what` (e.g. "entry 'x'").  The root
 * itself comes back as "".  *out is owned by the caller.
 */
int safepath_clean(const char *name, char **out, const char *what,
		   struct strata_error **err);

/*
 * Open `path` (relative, cleaned or not) below root_fd with openat(2)
 * flags/mode; every symlink met is resolved inside the root ("/" and ".."
 * at the root stay at the root; magic /proc links are refused).  Add
 * O_NOFOLLOW to flags to refuse a symlink as the last component.  Returns
 * the fd or < 0 with err set (STRATA_ERR_NOT_FOUND for a missing entry).
 */
int safepath_open(int root_fd, const char *path, int flags, mode_t mode,
		  struct strata_error **err);

/* The same resolution done without openat2 (also used when openat2 is missing). */
int safepath_open_walk(int root_fd, const char *path, int flags, mode_t mode,
		       struct strata_error **err);

/*
 * Open the folder that holds the last component of the cleaned relative
 * path `path` (resolved in-root) and point *last at that component inside
 * path.  With create_mode != 0 missing folders are created with exactly
 * that mode (owned by the caller's uid/gid).  path must not be "" (the
 * root has no parent inside the root).
 */
int safepath_open_parent(int root_fd, const char *path, mode_t create_mode,
			 const char **last, struct strata_error **err);

/* True when openat2 with RESOLVE_IN_ROOT is available on this kernel. */
bool safepath_have_openat2(void);

#endif
