/*
 * A container's layer diff, as dockerd 20.10 computes it: the tar that
 * commit registers as the new layer, and the changes `docker diff` lists.
 *
 * overlay2 (the rw layer's diff/ is the overlay upper folder): the upper
 * folder re-tarred as moby's TarWithOptions with the overlay whiteout
 * converter: entries in filepath.Walk order (each folder's names sorted
 * bytewise, depth first, the root left out), folders as "name/", a char
 * device 0,0 becomes ".wh.<name>" (mode 0600 without type bits, and keeping
 * the hard-link name when the kernel shared one whiteout inode), an opaque
 * folder (trusted.overlay.opaque=y) is followed by "<dir>/.wh..wh..opq"
 * (mode = the folder's permission bits, mtime 0); later names of a hard
 * link are typeflag '1'; only security.capability is kept; uname/gname
 * from the host's user database; mtimes truncated to seconds.
 *
 * vfs (every layer a full copy): moby's naive diff, the changes between
 * the layer and its parent sorted by path, deletions as ".wh.<name>" with
 * mode 0 and the time of the diff.
 */
#ifndef STRATA_DIFF_H
#define STRATA_DIFF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "strata/error.h"
#include "tar/tar.h"

struct diff_options {
	/* mtimes after this (Unix seconds) are written as it; < 0: none (SOURCE_DATE_EPOCH builds) */
	int64_t mtime_clamp;
	/* the time written for naive-diff whiteouts (dockerd: now) */
	int64_t now;
	/*
	 * Optional: told of each member after its header is written, before
	 * its data: the file it was made from is name in folder dfd with
	 * stat st (dfd -1, name and st NULL for a whiteout or opaque marker).
	 */
	int (*member)(void *cookie, const struct tar_entry *e, int dfd, const char *name, const struct stat *st,
		      struct strata_error **err);
	void *member_cookie;
};

/* Tar of the overlay upper folder upper_fd, written through write. */
int diff_overlay_tar(int upper_fd, const struct diff_options *o, stream_write_fn write, void *cookie,
		     struct strata_error **err);

/* Tar of the changes of the full tree layer_fd against its parent's full tree parent_fd. */
int diff_naive_tar(int layer_fd, int parent_fd, const struct diff_options *o, stream_write_fn write,
		   void *cookie, struct strata_error **err);

/* The whole tree below root_fd in walk order, no whiteout conversion (docker export). */
int diff_full_tar(int root_fd, const struct diff_options *o, stream_write_fn write, void *cookie,
		  struct strata_error **err);

/* Sum of st_size of the non-folders below root_fd, each inode once (dockerd's directory.Size). */
int diff_tree_size(int root_fd, int64_t *out, struct strata_error **err);

enum diff_kind { DIFF_MODIFY = 0, DIFF_ADD = 1, DIFF_DELETE = 2 }; /* moby's ChangeType values */

struct diff_change {
	char *path; /* absolute in the container: "/etc/x" */
	enum diff_kind kind;
};

struct diff_changes {
	struct diff_change *items;
	size_t nr, alloc;
};

/* docker diff: moby's ChangesDirs of a full tree against its parent's, sorted by path. */
int diff_naive_changes(int layer_fd, int parent_fd, struct diff_changes *out, struct strata_error **err);

void diff_changes_release(struct diff_changes *c);

/* Tar of the changes c (sorted by path) read from the full tree layer_fd, deletions as whiteouts. */
int diff_changes_tar(int layer_fd, const struct diff_changes *c, const struct diff_options *o,
		     stream_write_fn write, void *cookie, struct strata_error **err);

#endif
