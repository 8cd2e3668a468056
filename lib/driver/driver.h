/*
 * Graph drivers: the per-layer folders of dockerd's data root.
 *
 *   overlay2/                 0710
 *     l/                      0700   <LINK> -> ../<id>/diff (26 chars A-Z2-7)
 *     <id>/                   0710
 *       diff/                 0755   layer contents, overlay whiteout format
 *       link                  0644   <LINK>, no newline
 *       lower                 0644   "l/<parent LINK>:<parent lower>" (parents only)
 *       work/                 0700   (parents only)
 *       committed             0600   empty, when a child layer was created on it
 *   vfs/                      0710
 *     dir/                    0710
 *       <id>/                 0755   full copy of the parent + this layer, whiteouts applied
 *
 * ids (cache ids / mount ids) are 64 lowercase hex digits, optionally with
 * "-init"; every function validates them before building a path.  Link ids
 * are derived from the id (base32 of sha256, next candidates deterministic)
 * so the same inputs give a byte-identical data root.
 */
#ifndef STRATA_DRIVER_H
#define STRATA_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "unpack/apply.h"
#include "util/strbuf.h"
#include "strata/error.h"

#define GRAPH_DRIVER_LINK_LEN 26
#define GRAPH_DRIVER_MAX_DEPTH 128 /* overlay2 maxDepth: entries in "lower" */

/* The drivers strata knows, for messages. */
#define GRAPH_DRIVER_NAMES "overlay2 or vfs"

struct graph_driver;

/* Reports one problem found by graph_driver_check (problem is a sentence). */
typedef void (*graph_driver_report_fn)(void *cookie, const char *id, const char *problem);

/* One key of a layer's GraphDriver.Data (see graph_driver_metadata). */
typedef void (*graph_driver_metadata_fn)(void *cookie, const char *key, const char *value);

/* What a driver allows; callers decide by these, never by the driver's name. */
enum graph_driver_caps {
	/*
	 * The layers of one chain can be created, then applied at the same
	 * time: a layer's folder holds only its own diff (overlay2).  vfs
	 * copies the parent's files into the child when it creates it, so a
	 * child can only be created once its parent is complete.
	 */
	GRAPH_DRIVER_CAP_PARALLEL_APPLY = 1 << 0,
};

/*
 * Operations of one driver.  Callers use the graph_driver_* functions
 * below, which validate ids and then dispatch here.
 */
struct graph_driver_ops {
	const char *name;
	const char *home;             /* folder below the data root */
	enum whiteout_mode whiteouts; /* how layers are applied */
	unsigned caps;                /* enum graph_driver_caps */
	int (*init)(struct graph_driver *d, struct strata_error **err);
	int (*create)(struct graph_driver *d, const char *id, const char *parent,
		      struct strata_error **err);
	int (*remove)(struct graph_driver *d, const char *id, struct strata_error **err);
	bool (*exists)(struct graph_driver *d, const char *id);
	int (*diff_fd)(struct graph_driver *d, const char *id, struct strata_error **err);
	bool (*list_entry)(struct graph_driver *d, const char *name); /* is name a layer folder? */
	int (*check)(struct graph_driver *d, const char *id, const char *parent,
		     graph_driver_report_fn report, void *cookie, struct strata_error **err);
	int (*mount)(struct graph_driver *d, const char *id, const char *target,
		     struct strata_error **err);
	/* dockerd's Get/Put: a container's root file system at its usual place */
	int (*get)(struct graph_driver *d, const char *id, struct strbuf *path, struct strata_error **err);
	int (*put)(struct graph_driver *d, const char *id, struct strata_error **err);
	/* optional: restore what can be derived; 1 when something was fixed */
	int (*repair)(struct graph_driver *d, const char *id, const char **what,
		      struct strata_error **err);
	/* optional (none: the API's null): GraphDriver.Data, home is the driver folder's path */
	void (*metadata)(const char *home, const char *id, const char *const *lower_ids, size_t nr_lower,
			 graph_driver_metadata_fn fn, void *cookie);
};

struct graph_driver {
	const struct graph_driver_ops *ops;
	int root_fd; /* the data root */
	int home_fd; /* overlay2/ or vfs/ */
	int dir_fd;  /* overlay2/ or vfs/dir/: where layer folders live */
};

/* Every driver, dockerd's first choice first; NULL-terminated. */
extern const struct graph_driver_ops *const graph_drivers[];

/* The driver called name, NULL when there is none. */
const struct graph_driver_ops *graph_driver_ops_by_name(const char *name);

/* True for 64 lowercase hex digits, optionally followed by "-init". */
bool graph_driver_id_valid(const char *id);

/*
 * Open driver `name` (one of graph_drivers) in the data root, creating its
 * folders with dockerd's modes when missing.  data_root_fd is duplicated.
 */
int graph_driver_open(int data_root_fd, const char *name, struct graph_driver **out,
		      struct strata_error **err);
void graph_driver_close(struct graph_driver *d);
const char *graph_driver_name(const struct graph_driver *d);

/*
 * The driver for a new data root: overlay2 when a test overlay mount works
 * there, else vfs.  (Which driver a data root already uses is the store's
 * business: it knows the layout.)
 */
const struct graph_driver_ops *graph_driver_probe(int data_root_fd);

/*
 * Create the folder of layer id on parent (NULL for a base layer).  A
 * leftover folder with the same id is removed first.  overlay2 writes
 * committed into the parent.
 */
int graph_driver_create(struct graph_driver *d, const char *id, const char *parent,
			struct strata_error **err);

/* A layer applier writing into id's contents (whiteout mode of the driver). */
int graph_driver_apply_begin(struct graph_driver *d, const char *id, struct layer_applier **out,
			     struct strata_error **err);

/* Remove id's folder (and its l/ link); a missing layer is fine.  Never follows symlinks. */
int graph_driver_remove(struct graph_driver *d, const char *id, struct strata_error **err);

bool graph_driver_exists(struct graph_driver *d, const char *id);

/* fd (O_RDONLY|O_DIRECTORY) of the folder holding id's files: <id>/diff or dir/<id>. */
int graph_driver_diff_fd(struct graph_driver *d, const char *id, struct strata_error **err);

/* All layer ids present (sorted); *ids is a NULL-terminated array owned by the caller. */
int graph_driver_list(struct graph_driver *d, char ***ids, size_t *nr, struct strata_error **err);
void graph_driver_list_free(char **ids);

/*
 * Check id's folder against dockerd's layout (overlay2: link well formed,
 * l/<link> -> ../<id>/diff, lower = the parent chain, modes; vfs: folder
 * exists).  Each problem goes to report; returns the number of problems
 * (0 = fine) or < 0 when the check itself failed.
 */
int graph_driver_check(struct graph_driver *d, const char *id, const char *parent,
		       graph_driver_report_fn report, void *cookie, struct strata_error **err);

/*
 * Restore what can be derived from id's own files (overlay2: a missing
 * l/<link> symlink, from the layer's link file).  Returns 1 and sets *what
 * (a sentence) when something was fixed, 0 when nothing needed fixing.
 */
int graph_driver_repair(struct graph_driver *d, const char *id, const char **what,
			struct strata_error **err);

/*
 * Mount id's merged view on target_path.  overlay2: overlay with lowerdir
 * from "lower" (nearest first), upperdir diff and workdir work, or
 * read-only (diff as top lower) when id has "committed"; a layer without
 * parent is bind mounted.  vfs: bind mount of dir/<id>.
 */
int graph_driver_mount(struct graph_driver *d, const char *id, const char *target_path,
		       struct strata_error **err);
int graph_driver_unmount(struct graph_driver *d, const char *target_path, struct strata_error **err);

/*
 * dockerd's Get: id's merged view where dockerd has it, its absolute path
 * appended to path.  overlay2: mounted on <id>/merged (0700, created);
 * vfs: dir/<id> itself, nothing mounted.
 */
int graph_driver_get(struct graph_driver *d, const char *id, struct strbuf *path, struct strata_error **err);
/* dockerd's Put: undo graph_driver_get (overlay2: unmount, remove merged/); not mounted is fine. */
int graph_driver_put(struct graph_driver *d, const char *id, struct strata_error **err);

/*
 * What dockerd reports as GraphDriver.Data (docker image inspect) for the
 * layer id on the parent layers lower_ids (nearest first), with paths below
 * data_root as given: fn is called once per key, in Go's sorted key order.
 * overlay2: LowerDir (when there are parents), MergedDir, UpperDir,
 * WorkDir; vfs reports nothing (fn is not called; the API says null).
 * Nothing is opened, so the ids (cache-ids) only have to be single folder
 * names.
 */
int graph_driver_metadata(const struct graph_driver_ops *ops, const char *data_root, const char *id,
			  const char *const *lower_ids, size_t nr_lower, graph_driver_metadata_fn fn,
			  void *cookie, struct strata_error **err);

/* The link id candidate n (0, 1, ...) for id: 26 chars of base32(sha256(id[, n])). */
void graph_driver_link_candidate(const char *id, unsigned n, char out[GRAPH_DRIVER_LINK_LEN + 1]);

#endif
