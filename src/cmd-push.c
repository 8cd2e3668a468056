#include <stdio.h>

#include "cli.h"

int cmd_push(int argc, char **argv, struct cli_ctx *ctx)
{
	fputs("Error: push is not available yet\n", stderr);
	return 1;
}
