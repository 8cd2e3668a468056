/* The strata command line: a thin front end over libstrata, one file per command. */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <stdbool.h>

#include "strata/error.h"

struct strata_store;

struct cli_ctx {
	const char *data_root;      /* --data-root / STRATA_DATA_ROOT */
	const char *storage_driver; /* --storage-driver, NULL = what the root uses */
	const char *config_path;    /* --config, NULL = default */
};

/*
 * Open the store for this command.  write: the command changes the store
 * (refused while a dockerd uses the data root).
 */
int cli_open_store(struct cli_ctx *ctx, bool write, struct strata_store **out,
		   struct strata_error **err);

/* Print "Error: MSG" (docker's style) and return the exit status to use. */
int cli_fail(struct strata_error *err);
/* Print a usage error for cmd (docker's wording) and return 125-style status 1. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define CLI_COMMANDS(X) \
	X(images) X(inspect) X(history) X(tag) X(rmi) X(image) \
	X(login) X(logout)

#define CLI_DECLARE(name) int cmd_##name(int argc, char **argv, struct cli_ctx *ctx);
CLI_COMMANDS(CLI_DECLARE)
#undef CLI_DECLARE

#endif
