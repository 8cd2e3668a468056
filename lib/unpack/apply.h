/*
 * Layer applier: turns the members of a layer tar into files below a root
 * folder fd, the way dockerd 20.10 does it (pkg/archive Unpack for overlay2,
 * UnpackLayer for the naive/vfs driver), but without ever leaving the root:
 * names are cleaned (a ".." above the root is refused), parents are
 * resolved in-root (symlinks inside the layer are interpreted with the root
 * as "/", as dockerd's chroot does), the last component is never followed,
 * and chown/chmod/xattr/utimes only act on fds or with AT_SYMLINK_NOFOLLOW.
 *
 * On error the tree may be half written: the caller removes the folder.
 */
#ifndef STRATA_ARCHIVE_APPLY_H
#define STRATA_ARCHIVE_APPLY_H

#include <stdint.h>
#include <sys/types.h>

#include "strata/error.h"
#include "tar/tar.h"

enum whiteout_mode {
	/*
	 * overlay2: ".wh.NAME" becomes a character device 0,0 mode 0000 named
	 * NAME (owner from the header, mtime from the header), ".wh..wh..opq"
	 * becomes trusted.overlay.opaque=y on its folder; nothing below is
	 * deleted.  The layer's "./" entry does not change the root folder.
	 * Layer size: sum of st_size of every non-folder in the tree, each
	 * inode once (reference §8, dockerd's directory.Size).
	 */
	WHITEOUT_OVERLAY,
	/*
	 * vfs (naive diff driver): ".wh.NAME" deletes NAME from the copy of
	 * the parent, ".wh..wh..opq" deletes every child of its folder not
	 * written by this layer.  "./" sets the root folder's metadata.
	 * Layer size: sum of the size fields of all headers, as
	 * archive.UnpackLayer returns it.
	 */
	WHITEOUT_DELETE,
	/*
	 * A plain archive (a build context, as dockerd's Untar): ".wh." names
	 * are files like any other; the "./" entry does not change the root.
	 * Size: as overlay2.
	 */
	WHITEOUT_NONE,
};

struct layer_applier;

/* root_fd is duplicated; the caller keeps its own. */
int layer_applier_new(int root_fd, enum whiteout_mode mode, struct layer_applier **out,
		      struct strata_error **err);

/* tar_entry_fn: pass the applier as cookie to the layer stream. */
int layer_applier_entry(void *applier, const struct tar_entry *e, struct tar_reader *r,
			struct strata_error **err);

/*
 * Apply one member whose data (e->size bytes) comes from read(cookie);
 * header_size is the header's size field (counted by the vfs size rule).
 * layer_applier_entry is this with the tar reader as source.
 */
int layer_applier_apply(struct layer_applier *a, const struct tar_entry *e, uint64_t header_size,
			stream_read_fn read, void *cookie, struct strata_error **err);

/*
 * Apply a regular-file member whose data is the content of src_fd (a layer
 * written from files, not from a tar: squash).  When src_fd's inode already
 * is the file e describes and can be linked (same file system), the member
 * becomes a hard link to it, else a copy (copy_file_range where it can).
 * .wh. names are whiteouts as in layer_applier_apply.
 */
int layer_applier_apply_fd(struct layer_applier *a, const struct tar_entry *e, uint64_t header_size, int src_fd,
			   struct strata_error **err);

/*
 * After the last member: set folder mtimes (after their children, in
 * archive order) and compute the layer size by the rule of the whiteout
 * mode (see above).  size may be NULL.  Nothing is synced: the layer store
 * syncs before it records the layer.
 */
int layer_applier_finish(struct layer_applier *a, int64_t *size, struct strata_error **err);

void layer_applier_free(struct layer_applier *a);

/*
 * dockerd's size of an unpacked layer folder (reference §8): sum of st_size
 * of all non-folders (symlinks = target length, devices 0), hard-linked
 * inodes once, folders ignored.  Never follows symlinks.
 */
int layer_dir_size(int dir_fd, int64_t *size, struct strata_error **err);

#endif
