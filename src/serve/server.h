/* strata serve's listeners and its HTTP server (libmicrohttpd). */
#ifndef STRATA_SERVE_SERVER_H
#define STRATA_SERVE_SERVER_H

#include <stddef.h>

#include "cli.h"
#include "strata/error.h"

struct serve_options {
	const char *const *hosts; /* -H values: unix://PATH, tcp://HOST:PORT, fd://[N] */
	size_t nr_hosts;
	const char *group;        /* owner group of unix sockets */
	bool group_explicit;      /* --group given: a missing group is an error */
};

/* Listen on every host and answer requests until SIGINT or SIGTERM. */
int serve_run(struct cli_ctx *cli, const struct serve_options *opts, struct strata_error **err);

#endif
