/*
 * strata logout [SERVER]: remove the credentials stored for SERVER (Docker
 * Hub by default) from the Docker client config or its credential helper.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "strata/registry.h"

static const char usage_text[] =
	"\nUsage:  strata logout [SERVER]\n\n"
	"Log out from a Docker registry.\n"
	"If no server is specified, the default is defined by the daemon.\n";

int cmd_logout(int argc, char **argv, struct cli_ctx *ctx)
{
	struct strata_error *err = NULL;
	const char *server = NULL;
	char *key;
	int npos = 0, ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "unknown %s: %s\nSee 'strata logout --help'.\n",
				argv[i][1] == '-' ? "flag" : "shorthand flag", argv[i]);
			return 125;
		}
		server = argv[i];
		npos++;
	}
	if (npos > 1) {
		fputs("\"strata logout\" requires at most 1 argument.\nSee 'strata logout --help'.\n\n"
		      "Usage:  strata logout [SERVER]\n\nLog out from a Docker registry\n", stderr);
		return 1;
	}
	key = strata_credentials_key(server);
	ret = strata_logout(ctx->docker_config_dir, server, &err);
	if (ret < 0) {
		fprintf(stderr, "Error: %s\n", err->msg);
		strata_error_free(err);
		ret = 1;
	} else if (ret == 0) {
		printf("Not logged in to %s\n", key);
		ret = 0;
	} else {
		printf("Removing login credentials for %s\n", key);
		ret = 0;
	}
	free(key);
	return ret;
}
