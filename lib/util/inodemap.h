/*
 * Inodes met during a walk, (dev, ino) -> the first name seen (or none):
 * hard links found in a tree (tar writers, copies, sizes).  A hash table:
 * a tree whose files all have other names (a squashed layer's share the
 * inodes of the layers it came from) stays linear.
 */
#ifndef STRATA_UTIL_INODEMAP_H
#define STRATA_UTIL_INODEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct inode_map {
	struct inode_slot {
		dev_t dev;
		ino_t ino;
		char *name; /* NULL when added without one */
		bool used;
	} *slots;
	size_t nr, cap;
};

#define INODE_MAP_INIT { NULL, 0, 0 }

/* The slot of (dev, ino), or NULL when it was not added. */
const struct inode_slot *inode_map_find(const struct inode_map *m, dev_t dev, ino_t ino);
/* Add (dev, ino) with a copy of name (may be NULL); false, and nothing changed, when it is there. */
bool inode_map_add(struct inode_map *m, dev_t dev, ino_t ino, const char *name);
void inode_map_release(struct inode_map *m);

#endif
