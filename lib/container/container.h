/*
 * Containers in dockerd 20.10's layout:
 *
 *   image/<driver>/layerdb/mounts/<id>/   0755  mount-id, init-id, parent (0644, no newline)
 *   <driver>/<mount-id>-init/              the init layer (initlayer.h) on the image's top layer
 *   <driver>/<mount-id>/                   the rw layer on the init layer
 *   containers/<id>/                       0710  config.v2.json 0600, hostconfig.json 0644
 *                                                (compact, trailing newline), checkpoints/ 0700;
 *                                                after a start also hostname, hosts, resolv.conf,
 *                                                resolv.conf.hash, <id>-json.log 0640, mounts/ 0710
 *
 * A struct container is one loaded container: its config.v2.json and
 * hostconfig.json as parsed objects (keys in the order of the file, so
 * containers dockerd wrote keep their shape when strata rewrites them).
 * Every function needs the store opened for writing unless it says
 * otherwise.
 *
 * The builder's calls, for one RUN step:
 *     container_create(idx, img, &(struct container_create_opts){ .config = run_config }, &c, err);
 *     container_run(c, &(struct container_run_opts){ .out_fd = 1, .err_fd = 1 }, &status, err);
 *     container_commit(idx, c, &(struct container_commit_opts){ .config = cfg, .container_config = ccfg,
 *                                                             .mtime_clamp = -1 }, id, err);
 *     container_remove(c, true, err); container_free(c);
 * and for COPY: container_create, container_mount (write into the root it
 * gives), container_unmount, container_commit, container_remove.
 */
#ifndef STRATA_CONTAINER_CONTAINER_H
#define STRATA_CONTAINER_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diff/diff.h"
#include "strata/error.h"

struct strata_store;
struct strata_image;
struct strata_image_index;

struct container {
	struct strata_store *store;
	char id[65];
	char mount_id[65];   /* the rw layer's driver folder; "<mount_id>-init" is the init layer */
	char *parent_chain;  /* the image's top layer chain ID, "" for an image without layers */
	json_t *cfg;         /* config.v2.json */
	json_t *host;        /* hostconfig.json */
	char *rootfs;        /* where container_mount mounted it, NULL when not mounted */
};

struct container_bind {
	const char *source;      /* absolute host path */
	const char *destination; /* absolute path in the container */
	bool readonly;
};

struct container_create_opts {
	/*
	 * container.Config as a client sends it (Cmd, Entrypoint, Env,
	 * WorkingDir, User, Labels, Tty, OpenStdin, Attach*, ...; any key
	 * missing is Go's zero value), merged with the image's config as
	 * dockerd does (Env of the image added for keys not set, Cmd and
	 * Entrypoint, WorkingDir, User, Labels, Volumes, StopSignal).  NULL:
	 * an empty one.
	 */
	const json_t *config;
	const char *image_ref; /* Config.Image: the name as the user typed it; NULL: the image ID */
	const char *id;        /* 64 hex digits (reproducible builds); NULL: random */
	const char *name;      /* without the leading '/'; NULL: a generated adjective_surname */
	const char *network;   /* "none" (NULL) or "host" */
	const struct container_bind *binds;
	size_t nr_binds;
	bool read_only;        /* --read-only */
	bool auto_remove;      /* --rm: HostConfig.AutoRemove */
};

/*
 * Create a container on img (NULL: none, as the build of FROM scratch has
 * it; Image is then ""): the mounts entry, the init and rw layers and
 * containers/<id>/ (State never started).  A name in use fails with
 * STRATA_ERR_CONFLICT and docker's message; no command (neither the
 * config's nor the image's Cmd/Entrypoint) fails with STRATA_ERR_INVALID
 * "No command specified".  On failure nothing of it stays behind.
 */
int container_create(struct strata_image_index *idx, const struct strata_image *img,
		     const struct container_create_opts *o, struct container **out, struct strata_error **err);

/*
 * Load the container a user names as dockerd does: full ID, name (with or
 * without '/'), unique ID prefix.  Works on a read-only store.  Not found
 * is STRATA_ERR_NOT_FOUND "No such container: NAME".
 */
int container_open(struct strata_store *store, const char *name, struct container **out,
		   struct strata_error **err);
void container_free(struct container *c);

/*
 * Every container of the store (a read-only store is fine), newest first;
 * a damaged one (config.v2.json or mount-id that does not parse) is left
 * out, as dockerd leaves it out when it starts.
 */
int container_list(struct strata_store *store, struct container ***out, size_t *nr, struct strata_error **err);
void container_list_free(struct container **v, size_t nr);

/*
 * Mount the root file system (overlay2: the chain + init + rw layers on
 * <driver>/<mount-id>/merged; vfs: the rw layer's full copy, bind mounted
 * there as dockerd does) and set c->rootfs to its absolute path.
 */
int container_mount(struct container *c, struct strata_error **err);
/* Undo container_mount (nothing when not mounted). */
int container_unmount(struct container *c, struct strata_error **err);

/* The caller's terminal, for a container with Config.Tty attached to it. */
struct container_terminal {
	int size_fd;  /* a terminal whose window size the container's pty gets; -1: none */
	int winch_fd; /* readable when that size changed (drained, then the size copied again); -1: none */
};

struct container_run_opts {
	const char *runtime; /* the OCI runtime's path; NULL: /usr/sbin/runc, else /usr/bin/crun */
	int in_fd;           /* the process's stdin when Config.OpenStdin; otherwise /dev/null */
	int out_fd, err_fd;  /* also receive the output (which goes to <id>-json.log); -1: only the log */
	bool detach;         /* docker run -d / start: a monitor process runs it; return once started */
	bool disposable;     /* a build step's: removed by recovery if this process dies (as --rm's) */
	const struct container_terminal *terminal; /* NULL: none */
};

/*
 * Start c's process in the foreground through the OCI runtime (mounting
 * the root file system and writing hostname, hosts, resolv.conf first),
 * record State (Running, then ExitCode, FinishedAt) in config.v2.json, and
 * unmount afterwards.  *status is the exit status (128+N for signal N).
 * A command that cannot be found gives 127, one that cannot be executed
 * 126, each with docker's error (returned as an error, *status set).
 * With Config.Tty the process runs on a pty: its output (one stream, as the
 * tty writes it, "\r\n" included) goes to out_fd and is logged as stdout,
 * in_fd (with OpenStdin) is typed into it.
 */
int container_run(struct container *c, const struct container_run_opts *o, int *status,
		  struct strata_error **err);

struct container_commit_opts {
	/* the image's "config": NULL = the container's Config with changes applied */
	const json_t *config;
	/* "container_config": NULL = the container's Config */
	const json_t *container_config;
	const char *const *changes; /* docker commit -c, Dockerfile instructions */
	size_t nr_changes;
	const char *author;     /* top-level "author" and the history entry's; NULL: none */
	const char *comment;    /* the history entry's comment (-m); NULL: none */
	const char *ref;        /* name[:tag] to tag the new image with (and lastUpdated); NULL: none */
	int64_t mtime_clamp;    /* < 0: none; else layer mtimes after it are written as it */
};

/*
 * Commit c: its layer diff (diff.h) registered as a layer on the image's
 * top layer, unless it is the empty tar (then the history entry gets
 * "empty_layer":true and no layer is added); a config with the parent's
 * architecture/variant/os.*, history and diff_ids plus the new entry
 * (created_by = container_config's Cmd joined by spaces, as moby's
 * NewChildImage); "container" = c's ID; metadata parent = c's image; the
 * store's "now" (strata_store_set_time) as created.  The new image is in
 * idx afterwards.  id receives "sha256:<hex>".
 */
int container_commit(struct strata_image_index *idx, struct container *c, const struct container_commit_opts *o,
		     char id[72], struct strata_error **err);

/* The layer diff tar of c, as commit registers it. */
int container_diff_tar(struct container *c, const struct diff_options *o, stream_write_fn write, void *cookie,
		       struct strata_error **err);
/* docker diff of c. */
int container_changes(struct container *c, struct diff_changes *out, struct strata_error **err);

/*
 * Remove c: its mounts, both layers, the mounts entry and containers/<id>/.
 * A running container is refused unless force (then it is killed first).
 * c stays allocated (container_free it).
 */
int container_remove(struct container *c, bool force, struct strata_error **err);

/*
 * docker stop: the StopSignal (default SIGTERM), SIGKILL after timeout
 * seconds; returns once the process holding c (its monitor, or a
 * foreground strata) recorded the exit.  A stopped container is fine.
 */
int container_stop(struct container *c, int timeout, struct strata_error **err);
/* docker resize (POST /containers/{id}/resize) of a running tty container: returns once it is set. */
int container_resize(struct container *c, unsigned short rows, unsigned short cols, struct strata_error **err);
/* A descriptor whose bytes are typed into running tty container c (docker attach's stdin); close it. */
int container_attach_input(struct container *c, struct strata_error **err);
/* docker kill: signal sig to the running process ("Cannot kill container: ..." otherwise). */
int container_signal(struct container *c, int sig, struct strata_error **err);
/* "KILL", "SIGKILL", "9" -> 9; docker's "Invalid signal: X" otherwise. */
int container_parse_signal(const char *name, int *sig, struct strata_error **err);
/* docker wait: until the process holding c recorded its exit; c reloaded. */
int container_wait(struct container *c, struct strata_error **err);

/* Accessors of the loaded state. */
const char *container_name(const struct container *c); /* without '/' */
const char *container_image_id(const struct container *c);
bool container_running(const struct container *c);

#endif
