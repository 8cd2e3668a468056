/* strata serve: the Docker Engine API on a socket, over the same library as the CLI. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "flags.h"
#include "serve/server.h"

static const struct command_usage usage = {
	"serve", "strata serve [OPTIONS]",
	"Serve the Docker Engine API on a data root",
	0, 0,
};

int cmd_serve(int argc, char **argv, struct cli_ctx *ctx)
{
	struct flag_list hosts = { 0 };
	const char *group = NULL;
	const struct flag flags[] = {
		{ "host", 'H', FLAG_STRINGS, &hosts,
		  "Socket(s) to listen on: unix://PATH, tcp://127.0.0.1:PORT, fd:// (default unix:///run/strata.sock)" },
		{ "group", 'G', FLAG_STRING, &group, "Group for the unix socket (default \"docker\")" },
		{ 0 },
	};
	struct serve_options opts = { 0 };
	struct strata_error *err = NULL;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	free(args);
	opts.hosts = (const char *const *)hosts.items;
	opts.nr_hosts = hosts.nr;
	opts.group = group ? group : "docker";
	opts.group_explicit = group != NULL;
	ret = serve_run(ctx, &opts, &err);
	flag_list_release(&hosts);
	return ret < 0 ? cli_fail(err) : 0;
}
