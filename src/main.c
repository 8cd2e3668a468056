/* strata: Docker's image commands over Docker's image store, without a daemon. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "strata/strata.h"
#include "util/alloc.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv, struct cli_ctx *ctx);
};

static const struct command commands[] = {
#define CLI_ENTRY(name) { #name, cmd_##name },
	CLI_COMMANDS(CLI_ENTRY)
#undef CLI_ENTRY
};

static void usage(FILE *f)
{
	fputs("\nUsage:  strata [OPTIONS] COMMAND\n\n"
	      "A daemonless container image engine over Docker's image store\n\n"
	      "Options:\n"
	      "      --data-root string        Docker data root to work on (default \"/var/lib/strata\",\n"
	      "                                env STRATA_DATA_ROOT)\n"
	      "      --storage-driver string   overlay2 or vfs (default: what the root uses)\n"
	      "      --config string           strata's config file (default /etc/strata/config.json)\n"
	      "  -v, --version                 Print version information and quit\n\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].name);
	fputs("\nRun 'strata COMMAND --help' for more information on a command.\n", f);
}

/* Global options come before the command: --name VALUE or --name=VALUE. */
static int global_option(int argc, char **argv, int *i, const char *name, const char **out)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n))
		return 0;
	if (a[n] == '=') {
		*out = a + n + 1;
		return 1;
	}
	if (a[n])
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "flag needs an argument: %s\nSee 'strata --help'.\n", name);
		return -1;
	}
	*out = argv[++*i];
	return 1;
}

/* The environment the library does not read: the front end hands it over. */
static void read_environment(struct cli_ctx *ctx)
{
	const char *docker_config = getenv("DOCKER_CONFIG");
	const char *home = getenv("HOME");
	const char *epoch = getenv("SOURCE_DATE_EPOCH");

	ctx->data_root = getenv("STRATA_DATA_ROOT");
	if (!ctx->data_root || !*ctx->data_root)
		ctx->data_root = "/var/lib/strata";
	if (docker_config && *docker_config)
		ctx->docker_config_dir = xstrdup(docker_config);
	else
		ctx->docker_config_dir = xasprintf("%s/.docker", home && *home ? home : "/root");
	if (epoch && *epoch) {
		char *end;
		long long v = strtoll(epoch, &end, 10);

		if (!*end && v >= 0) {
			ctx->fixed_time = true;
			ctx->source_date_epoch = v;
		}
	}
}

static int run(int argc, char **argv, struct cli_ctx *ctx)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		int r;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
			printf("strata version %s\n", strata_version());
			return 0;
		}
		if ((r = global_option(argc, argv, &i, "--data-root", &ctx->data_root)) ||
		    (r = global_option(argc, argv, &i, "--storage-driver", &ctx->storage_driver)) ||
		    (r = global_option(argc, argv, &i, "--config", &ctx->config_path))) {
			if (r < 0)
				return 125;
			if (!*ctx->data_root) {
				/* An empty root would silently be the current directory. */
				fputs("invalid argument \"\" for \"--data-root\" flag: the data root must not be empty\nSee 'strata --help'.\n",
				      stderr);
				return 125;
			}
			continue;
		}
		fputs("unknown flag: ", stderr);
		cli_put_escaped(stderr, argv[i]);
		fputs("\nSee 'strata --help'.\n", stderr);
		return 125;
	}
	if (i >= argc) {
		usage(stdout); /* as docker without a command */
		return 0;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].fn(argc - i, argv + i, ctx);
	fputs("strata: '", stderr);
	cli_put_escaped(stderr, argv[i]);
	fputs("' is not a strata command.\nSee 'strata --help'\n", stderr);
	return 1;
}

int main(int argc, char **argv)
{
	struct cli_ctx ctx = { 0 };
	int ret;

	read_environment(&ctx);
	ret = run(argc, argv, &ctx);
	free(ctx.docker_config_dir);
	return ret;
}
