/*
 * Containers in dockerd 20.10's layout (containers/<id>/, layerdb/mounts/,
 * the init and rw layers), run in the foreground through an OCI runtime.
 * A dockerd started on the data root lists, starts, logs, commits and
 * removes them; strata reads the stopped containers dockerd made alike.
 *
 * Handles are owned by the caller (strata_container_free); changing
 * functions need the store opened with STRATA_STORE_WRITE.
 */
#ifndef STRATA_CONTAINER_H
#define STRATA_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/error.h"
#include "strata/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct strata_store;
struct strata_image_index;
struct strata_container;

struct strata_bind {
	const char *source;      /* absolute host path */
	const char *destination; /* absolute path in the container */
	bool readonly;
};

/* docker create / run's options that strata supports. */
struct strata_container_options {
	const char *const *cmd;        /* the command after the image; NULL: the image's Cmd */
	size_t nr_cmd;
	const char *entrypoint;        /* --entrypoint ("" clears the image's); NULL: the image's */
	const char *const *env;        /* K=V, in order (-e, --env-file) */
	size_t nr_env;
	const char *workdir;           /* -w */
	const char *user;              /* -u USER[:GROUP] */
	const char *hostname;          /* -h */
	const char *name;              /* --name */
	const char *network;           /* --network none (NULL) or host */
	const struct strata_bind *binds; /* -v */
	size_t nr_binds;
	bool read_only;                /* --read-only */
	bool auto_remove;              /* --rm */
	bool interactive;              /* -i: OpenStdin, AttachStdin, StdinOnce */
	bool tty;                      /* -t */
	bool detach;                   /* -d: not attached to stdout/stderr */
};

/*
 * docker create: a container from the image named as a user types it.
 * Errors are dockerd's ("No such image: X", "No command specified", a name
 * in use: STRATA_ERR_CONFLICT).
 */
STRATA_PUBLIC int strata_container_create(struct strata_image_index *idx, const char *image,
					  const struct strata_container_options *o,
					  struct strata_container **out, struct strata_error **err);

/* The container a user names: full ID, name, or unique ID prefix ("No such container: X"). */
STRATA_PUBLIC int strata_container_open(struct strata_store *store, const char *name,
					struct strata_container **out, struct strata_error **err);
STRATA_PUBLIC void strata_container_free(struct strata_container *c);

/* Every container, newest first; free with strata_container_list_free. */
STRATA_PUBLIC int strata_container_list(struct strata_store *store, struct strata_container ***out,
					size_t *nr, struct strata_error **err);
STRATA_PUBLIC void strata_container_list_free(struct strata_container **v, size_t nr);

STRATA_PUBLIC const char *strata_container_id(const struct strata_container *c);
/* Without the leading '/'. */
STRATA_PUBLIC const char *strata_container_name(const struct strata_container *c);
/* Config.Image: the image as the user named it. */
STRATA_PUBLIC const char *strata_container_image(const struct strata_container *c);
/* "sha256:..." */
STRATA_PUBLIC const char *strata_container_image_id(const struct strata_container *c);
/* Path and Args joined by spaces as docker ps shows them (an argument with a space in '...'); caller frees. */
STRATA_PUBLIC char *strata_container_command(const struct strata_container *c);
/* Config.Labels as "k=v" joined by ",", sorted (caller frees). */
STRATA_PUBLIC char *strata_container_labels(const struct strata_container *c);
/* Config.Tty: the process runs on a pseudo-terminal (docker create -t). */
STRATA_PUBLIC bool strata_container_tty(const struct strata_container *c);
/* Config.OpenStdin: the process reads the attached input (docker create -i). */
STRATA_PUBLIC bool strata_container_interactive(const struct strata_container *c);

struct strata_container_state {
	bool running;
	bool started_before;   /* HasBeenStartedBefore */
	int exit_code;
	int64_t created;       /* Unix seconds */
	int64_t started_at;    /* 0 when never */
	int64_t finished_at;
};
STRATA_PUBLIC void strata_container_state(const struct strata_container *c, struct strata_container_state *out);

/* The rw layer's own size and the whole root's (docker ps -s: "SIZE (virtual VSIZE)"). */
STRATA_PUBLIC int strata_container_size(struct strata_container *c, int64_t *rw, int64_t *virtual_size,
					struct strata_error **err);

/*
 * docker inspect [--size] of a container: the Engine API's ContainerJSON
 * as JSON text (caller frees), with SizeRw and SizeRootFs when size.
 */
STRATA_PUBLIC int strata_container_inspect(struct strata_container *c, bool size, char **json,
					   struct strata_error **err);

/*
 * docker start -a / run in the foreground: run the process through the OCI
 * runtime (runtime NULL: runc, else crun) with stdin in_fd (when the
 * container is interactive), its output written to out_fd/err_fd (-1:
 * only to the log) and to <id>-json.log; *status is the exit status, 126
 * or 127 (with docker's error) when the command cannot be run.
 */
STRATA_PUBLIC int strata_container_start(struct strata_container *c, const char *runtime, int in_fd, int out_fd,
					 int err_fd, int *status, struct strata_error **err);

/* The caller's terminal, for a container made with tty (docker run -t) attached to it. */
struct strata_terminal {
	int size_fd;  /* a terminal whose window size the container's pty gets (at the start and on winch_fd); -1: none */
	int winch_fd; /* readable when that size changed (e.g. a pipe a SIGWINCH handler writes to); drained; -1: none */
};

/*
 * strata_container_start of a container made with tty: the process runs
 * on a pseudo-terminal whose output (one stream, "\r\n" as the tty writes
 * it) goes to out_fd and to the log as stdout, in_fd (when interactive) is
 * typed into it, and term (NULL: none) gives it its window size.  A
 * container without tty runs as strata_container_start with err_fd = out_fd.
 */
STRATA_PUBLIC int strata_container_start_terminal(struct strata_container *c, const char *runtime, int in_fd,
						  int out_fd, const struct strata_terminal *term, int *status,
						  struct strata_error **err);

/*
 * docker run -d / docker start: the same through a monitor process that
 * outlives the caller (it logs, records the exit, unmounts; with --rm it
 * removes the container); returns once the runtime's container exists, so
 * that stop, kill and rm -f reach it at once.  *status is 125, 126 or 127
 * (as docker run's) when it could not start.
 */
STRATA_PUBLIC int strata_container_start_detached(struct strata_container *c, const char *runtime, int *status,
						  struct strata_error **err);
/*
 * The pty of a running container made with tty, from any process of the
 * same user (the process holding the container listens for it): resize sets
 * its window size (the Engine API's /containers/{id}/resize); attach_input
 * gives a descriptor whose bytes are typed into it (attach's stdin; close
 * it to stop).  Not running: STRATA_ERR_CONFLICT; no tty: STRATA_ERR_INVALID.
 */
STRATA_PUBLIC int strata_container_resize(struct strata_container *c, unsigned short rows, unsigned short cols,
					  struct strata_error **err);
STRATA_PUBLIC int strata_container_attach_input(struct strata_container *c, int *fd, struct strata_error **err);
/* docker stop -t: StopSignal (SIGTERM), SIGKILL after timeout seconds; returns when it exited. */
STRATA_PUBLIC int strata_container_stop(struct strata_container *c, int timeout, struct strata_error **err);
/* docker kill -s: signal ("KILL", "SIGTERM", "9"; NULL: KILL). */
STRATA_PUBLIC int strata_container_kill(struct strata_container *c, const char *signal, struct strata_error **err);
/* docker wait: blocks until the container is not running; *exit_code its exit status. */
STRATA_PUBLIC int strata_container_wait(struct strata_container *c, int *exit_code, struct strata_error **err);

/* docker rm: a running container only with force (killed first). */
STRATA_PUBLIC int strata_container_remove(struct strata_container *c, bool force, struct strata_error **err);
/*
 * docker container prune: remove every container that is not running,
 * calling removed(cookie, id) for each; *reclaimed adds up their rw
 * layers' sizes (an unreadable one counts 0, as dockerd counts it).  Stops
 * at the first container that cannot be removed.
 */
typedef void (*strata_container_removed_fn)(void *cookie, const char *id);
STRATA_PUBLIC int strata_container_prune(struct strata_store *store, strata_container_removed_fn removed,
					 void *cookie, uint64_t *reclaimed, struct strata_error **err);

/* One line of docker diff: kind 'A', 'C' or 'D'. */
typedef void (*strata_change_fn)(void *cookie, char kind, const char *path);
STRATA_PUBLIC int strata_container_changes(struct strata_container *c, strata_change_fn fn, void *cookie,
					   struct strata_error **err);

/* docker export: the container's whole root file system as a tar on fd. */
STRATA_PUBLIC int strata_container_export(struct strata_container *c, int fd, struct strata_error **err);

/* docker logs [--tail N] [-t]: tail < 0 for all lines. */
STRATA_PUBLIC int strata_container_logs(struct strata_container *c, long tail, bool timestamps, int out_fd,
					int err_fd, struct strata_error **err);
/* docker logs -f: the same, then new lines as they come until the container stops. */
STRATA_PUBLIC int strata_container_logs_follow(struct strata_container *c, long tail, bool timestamps, int out_fd,
					       int err_fd, struct strata_error **err);

struct strata_commit_options {
	const char *const *changes; /* -c */
	size_t nr_changes;
	const char *author;         /* -a */
	const char *message;        /* -m */
	const char *ref;            /* REPOSITORY[:TAG] or NULL */
};

/* docker commit: id receives "sha256:<hex>". */
STRATA_PUBLIC int strata_container_commit(struct strata_image_index *idx, struct strata_container *c,
					  const struct strata_commit_options *o, char id[72],
					  struct strata_error **err);

#ifdef __cplusplus
}
#endif

#endif
