/* The strata command line: a thin front end over libstrata, one file per command. */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "util/strbuf.h"

#include "strata/error.h"

struct strata_store;
struct strata_image_index;

/* What the front end passes to the library: options and the environment. */
struct cli_ctx {
	const char *data_root;      /* --data-root / STRATA_DATA_ROOT */
	const char *storage_driver; /* --storage-driver, NULL = what the root uses */
	const char *config_path;    /* --config, NULL = default */
	char *docker_config_dir;    /* $DOCKER_CONFIG, else $HOME/.docker (credentials) */
	bool fixed_time;            /* SOURCE_DATE_EPOCH is set: the store's "now" */
	int64_t source_date_epoch;
};

/*
 * Open the store for this command.  write: the command changes the store
 * (refused while a dockerd uses the data root; what a killed command left
 * is finished first).  SOURCE_DATE_EPOCH fixes the times it records.
 */
int cli_open_store(struct cli_ctx *ctx, bool write, struct strata_store **out,
		   struct strata_error **err);
/* The same with STRATA_STORE_* flags (check --repair keeps leftovers to report them). */
int cli_open_store_flags(struct cli_ctx *ctx, unsigned flags, struct strata_store **out,
			 struct strata_error **err);
/* Open the store and load its image index; on failure prints and returns the exit status. */
int cli_open_images(struct cli_ctx *ctx, bool write, struct strata_store **store,
		    struct strata_image_index **idx);

/* Print s with control bytes (but newline and tab) as \xHH: names from
 * archives, registries and arguments must not drive the terminal. */
void cli_put_escaped(FILE *f, const char *s);
/* Print "Error: MSG" once, free err, return the exit status (1). */
int cli_fail(struct strata_error *err);
/* The same without "Error: ", as docker prints template errors. */
int cli_fail_bare(struct strata_error *err);
/* The same for errors docker reports as "Error response from daemon: MSG". */
int cli_fail_daemon(struct strata_error *err);

/* The header row of a table format: an object mapping field names to column titles. */
json_t *cli_table_header(const char *const (*titles)[2], size_t n);
/* docker's CREATED column: "N minutes ago" for a Unix time. */
void cli_created_since(struct strbuf *out, int64_t created);

/*
 * Pull/push progress as docker's client draws it.  Not on a terminal:
 * "ID: status" lines, byte counts left out.  On a terminal (stdout): one
 * line per layer ID rewritten in place, "Downloading [====>   ] 1.2MB/3.4MB 2s"
 * (jsonmessage.DisplayJSONMessagesStream).  The cookie is a struct cli_progress.
 */
struct cli_progress {
	bool quiet, tty;
	/* a message of dockerd's stream has gone out (even with -q): docker then
	 * reads a later error from the stream, without "Error response from daemon:" */
	bool streamed;
	int width;         /* terminal columns; docker's 200 when unknown */
	struct cli_progress_line {
		char *id;
		int64_t start; /* when its first bytes were told, for the time left */
	} *lines;          /* the layer lines of the block being drawn */
	size_t nr, alloc;
};
void cli_progress_init(struct cli_progress *pr, bool quiet);
void cli_progress_release(struct cli_progress *pr);
void cli_print_progress(void *cookie, const char *id, const char *status);
void cli_print_progress_bytes(void *cookie, const char *id, const char *action, int64_t current,
			      int64_t total);
/* docker's JSONProgress.String(): bar (width > 110), numbers, time left (width > 50). */
void cli_progress_string(struct strbuf *out, int width, int64_t current, int64_t total,
			 int64_t elapsed_ns);

/* Free a NULL-ended array of strings and the strings (NULL: nothing). */
void cli_strv_free(char **v);

/* container prune's report (a strata_container_removed_fn; cookie: a strbuf): "Deleted Containers:" and an ID a line. */
void cli_add_deleted_container(void *cookie, const char *id);

/* Go's GOARCH name for a machine uname reports (docker prints linux/amd64, not x86_64). */
const char *cli_go_arch(const char *machine);

/* strerror(e) worded as Go's, which docker prints ("no such file or directory"); valid until the next call. */
const char *cli_errno_text(int e);

/* A management command's subcommand; desc NULL: an alias, not listed. */
struct cli_subcommand {
	const char *name;
	int (*fn)(int argc, char **argv, struct cli_ctx *ctx);
	const char *desc;
};

/*
 * Run argv[1] among subs (sorted by name, as docker lists them), or print
 * the group's help ("strata GROUP COMMAND", what) or docker's unknown
 * command error.
 */
int cli_dispatch(const char *group, const char *what, const struct cli_subcommand *subs, size_t nr, int argc,
		 char **argv, struct cli_ctx *ctx);

#define CLI_COMMANDS(X) \
	X(build) X(images) X(inspect) X(history) X(tag) X(rmi) X(image) X(import) X(check) \
	X(login) X(logout) X(load) X(save) X(pull) X(push) X(version) X(info) \
	X(create) X(run) X(start) X(ps) X(logs) X(rm) X(diff) X(export) X(commit) X(container) \
	X(analyze) X(squash) X(stop) X(kill) X(wait) X(system) X(serve)

#define CLI_DECLARE(name) int cmd_##name(int argc, char **argv, struct cli_ctx *ctx);
CLI_COMMANDS(CLI_DECLARE)
#undef CLI_DECLARE
struct strata_container;
struct strata_container_state;
/* One docker ps row (ContainerContext's fields as strings); size: "RW (virtual V)". */
json_t *cli_ps_row(struct strata_container *c, const struct strata_container_state *st, bool trunc, bool size);
/* docker ps's STATUS ("Up 2 minutes", "Exited (0) 3 seconds ago", "Created") and State ("running", ...). */
void cli_container_status(struct strbuf *out, const struct strata_container_state *st);
const char *cli_container_state_name(const struct strata_container_state *st);
/* image inspect: inspect without --type, images only */
int cmd_image_inspect(int argc, char **argv, struct cli_ctx *ctx);

#endif
