#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "flags.h"
#include "strata/image.h"
#include "strata/registry.h"
#include "strata/store.h"

static const struct command_usage usage = {
	"push", "strata push [OPTIONS] NAME[:TAG]",
	"Push an image or a repository to a registry",
	1, 1,
};

int cmd_push(int argc, char **argv, struct cli_ctx *ctx)
{
	bool all_tags = false, quiet = false, trust = false;
	const struct flag flags[] = {
		{ "all-tags", 'a', FLAG_BOOL, &all_tags, "Push all tagged images in the repository" },
		{ "disable-content-trust", 0, FLAG_BOOL, &trust, "Skip image signing (default true)" },
		{ "quiet", 'q', FLAG_BOOL, &quiet, "Suppress verbose output" },
		{ 0 },
	};
	struct strata_push_options opts = { 0 };
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct cli_progress progress;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	opts.config_path = ctx->config_path;
	opts.docker_config_dir = ctx->docker_config_dir;
	opts.all_tags = all_tags;
	cli_progress_init(&progress, quiet);
	opts.progress = cli_print_progress;
	opts.progress_bytes = cli_print_progress_bytes;
	opts.progress_cookie = &progress;
	ret = cli_open_images(ctx, true, &store, &idx);
	/* dockerd reports a push's failures in its progress stream, which the
	 * client prints without "Error response from daemon: " */
	if (!ret && strata_push(idx, args[0], &opts, &err) < 0)
		ret = cli_fail_bare(err);
	strata_image_index_free(idx);
	strata_store_free(store);
	cli_progress_release(&progress);
	free(args);
	return ret;
}
