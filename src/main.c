/* strata: Docker's image commands over Docker's image store, without a daemon. */
#include <stdbool.h>
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

/*
 * docker 20.10's one-line descriptions, looked up by name so that the command
 * table stays a plain list; "management" commands are listed apart, as docker
 * does.  A command not listed here is printed with its name only.
 */
static const struct command_desc {
	const char *name, *desc;
	bool management;
} descriptions[] = {
	{ "image", "Manage images", true },
	{ "system", "Manage Docker", true },
	{ "container", "Manage containers", true },
	{ "build", "Build an image from a Dockerfile", false },
	{ "commit", "Create a new image from a container's changes", false },
	{ "create", "Create a new container", false },
	{ "diff", "Inspect changes to files or directories on a container's filesystem", false },
	{ "export", "Export a container's filesystem as a tar archive", false },
	{ "history", "Show the history of an image", false },
	{ "images", "List images", false },
	{ "import", "Import the contents from a tarball to create a filesystem image", false },
	{ "info", "Display system-wide information", false },
	{ "inspect", "Return low-level information on Docker objects", false },
	{ "load", "Load an image from a tar archive or STDIN", false },
	{ "kill", "Kill one or more running containers", false },
	{ "login", "Log in to a Docker registry", false },
	{ "logs", "Fetch the logs of a container", false },
	{ "logout", "Log out from a Docker registry", false },
	{ "ps", "List containers", false },
	{ "pull", "Pull an image or a repository from a registry", false },
	{ "push", "Push an image or a repository to a registry", false },
	{ "rm", "Remove one or more containers", false },
	{ "rmi", "Remove one or more images", false },
	{ "run", "Run a command in a new container", false },
	{ "start", "Start one or more stopped containers", false },
	{ "stop", "Stop one or more running containers", false },
	{ "save", "Save one or more images to a tar archive (streamed to STDOUT by default)", false },
	{ "tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", false },
	{ "version", "Show the Docker version information", false },
	{ "wait", "Block until one or more containers stop, then print their exit codes", false },
	/* strata's own */
	{ "analyze", "Show what each layer of an image costs", false },
	{ "check", "Verify (and with --repair, fix) the whole image store", false },
	{ "serve", "Serve the Docker Engine API on a data root", false },
	{ "squash", "Merge an image's layers into one, in a new image", false },
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The descriptions[] entry of a command, NULL when it has none. */
static const struct command_desc *describe(const char *name)
{
	for (size_t d = 0; d < sizeof(descriptions) / sizeof(descriptions[0]); d++)
		if (!strcmp(descriptions[d].name, name))
			return &descriptions[d];
	return NULL;
}

/* One section of the command list, sorted by name as cobra prints it. */
static void list_commands(FILE *f, const char *title, bool management)
{
	const size_t n = sizeof(commands) / sizeof(commands[0]);
	const char *names[sizeof(commands) / sizeof(commands[0])];
	size_t nr = 0;

	for (size_t i = 0; i < n; i++) {
		const struct command_desc *d = describe(commands[i].name);

		if ((d && d->management) == management)
			names[nr++] = commands[i].name;
	}
	if (!nr)
		return;
	qsort(names, nr, sizeof(names[0]), cmp_names);
	fprintf(f, "%s:\n", title);
	for (size_t i = 0; i < nr; i++) {
		const struct command_desc *d = describe(names[i]);

		fprintf(f, "  %-11s %s\n", names[i], d ? d->desc : "");
	}
	fputc('\n', f);
}

static void usage(FILE *f)
{
	fputs("\nUsage:  strata [OPTIONS] COMMAND\n\n"
	      "A daemonless container image engine over Docker's image store\n\n"
	      "Options:\n"
	      "      --data-root string        Docker data root to work on (default \"/var/lib/strata\",\n"
	      "                                env STRATA_DATA_ROOT)\n"
	      "      --storage-driver string   overlay2 or vfs (default: what the root uses)\n"
	      "      --config string           strata's config file (default /etc/strata/config.json)\n"
	      "  -v, --version                 Print version information and quit\n\n",
	      f);
	list_commands(f, "Management Commands", true);
	list_commands(f, "Commands", false);
	fputs("Run 'strata COMMAND --help' for more information on a command.\n", f);
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
