#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "strata/registry.h"
#include "strata/store.h"

static const struct command_usage usage = {
	"pull", "strata pull [OPTIONS] NAME[:TAG|@DIGEST]",
	"Pull an image or a repository from a registry",
	1, 1,
};

int cmd_pull(int argc, char **argv, struct cli_ctx *ctx)
{
	bool all_tags = false, quiet = false, trust = false;
	const char *platform = NULL;
	const struct flag flags[] = {
		{ "all-tags", 'a', FLAG_BOOL, &all_tags, "Download all tagged images in the repository" },
		{ "disable-content-trust", 0, FLAG_BOOL, &trust, "Skip image verification (default true)" },
		{ "platform", 0, FLAG_STRING, &platform, "Set platform if server is multi-platform capable" },
		{ "quiet", 'q', FLAG_BOOL, &quiet, "Suppress verbose output" },
		{ 0 },
	};
	struct strata_pull_options opts = { 0 };
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct cli_progress progress;
	char *full = NULL;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	opts.config_path = ctx->config_path;
	opts.docker_config_dir = ctx->docker_config_dir;
	opts.platform = platform && *platform ? platform : NULL;
	opts.all_tags = all_tags;
	cli_progress_init(&progress, quiet);
	opts.progress = cli_print_progress;
	opts.progress_bytes = cli_print_progress_bytes;
	opts.progress_cookie = &progress;
	if (cli_open_store(ctx, true, &store, &err) < 0) {
		ret = cli_fail(err);
	} else if (strata_pull(store, args[0], &opts, &full, &err) < 0) {
		ret = progress.streamed ? cli_fail_bare(err) : cli_fail_daemon(err);
	} else {
		printf("%s\n", full);
		ret = 0;
	}
	free(full);
	strata_store_free(store);
	cli_progress_release(&progress);
	free(args);
	return ret;
}
