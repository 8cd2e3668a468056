/*
 * strata logout [SERVER]: remove the credentials stored for SERVER (Docker
 * Hub by default) from the Docker client config or its credential helper.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "flags.h"
#include "registry/auth.h"

static const struct command_usage usage = {
	"logout", "strata logout [SERVER]",
	"Log out from a Docker registry.\nIf no server is specified, the default is defined by the daemon.",
};

int cmd_logout(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct flag flags[] = { { 0 } };
	struct strata_error *err = NULL;
	char **args, *key;
	int nargs, ret;

	(void)ctx;
	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (nargs > 1) {
		free(args);
		return flags_arg_error(&usage, "at most 1 argument");
	}
	key = registry_auth_key(nargs ? args[0] : NULL);
	free(args);
	ret = registry_credentials_erase(key, &err);
	if (ret < 0) {
		ret = cli_fail(err);
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
