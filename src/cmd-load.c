#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "flags.h"
#include "strata/archive.h"
#include "strata/image.h"
#include "strata/store.h"

static const struct command_usage usage = {
	"load", "strata load [OPTIONS]",
	"Load an image from a tar archive or STDIN",
	0, 0,
};

static void print_line(void *cookie, const char *line)
{
	/* the end of the layer lines, if any were drawn */
	cli_print_progress(cookie, NULL, line);
}

int cmd_load(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *input = NULL;
	bool quiet = false;
	const struct flag flags[] = {
		{ "input", 'i', FLAG_STRING, &input, "Read from tar archive file, instead of STDIN" },
		{ "quiet", 'q', FLAG_BOOL, &quiet, "Suppress the load output" },
		{ 0 },
	};
	struct strata_load_options opts = { .report = print_line };
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct cli_progress progress;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	free(args);
	/* no -i, or "-": the archive comes on stdin */
	opts.path = input && strcmp(input, "-") ? input : NULL;
	opts.fd = STDIN_FILENO;
	/* docker: "Loading layer" bars only on a terminal and without -q;
	 * the "Loaded image" lines stay even with -q. */
	cli_progress_init(&progress, false);
	opts.report_cookie = &progress;
	if (!quiet && progress.tty)
		opts.progress = cli_print_progress_bytes;
	ret = cli_open_images(ctx, true, &store, &idx);
	/* dockerd reports a load's failure in its output stream, which the
	 * client prints without "Error response from daemon: " */
	if (!ret && strata_image_load(idx, &opts, &err) < 0)
		ret = cli_fail_bare(err);
	strata_image_index_free(idx);
	strata_store_free(store);
	cli_progress_release(&progress);
	return ret;
}
