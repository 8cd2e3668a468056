#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "flags.h"
#include "strata/image.h"
#include "strata/store.h"
#include "util/strbuf.h"

static const struct command_usage usage = {
	"rmi", "strata rmi [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images",
	1, -1,
};

static void print_removal(void *cookie, enum strata_removal what, const char *value)
{
	printf("%s: %s\n", what == STRATA_UNTAGGED ? "Untagged" : "Deleted", value);
}

int cmd_rmi(int argc, char **argv, struct cli_ctx *ctx)
{
	bool force = false, no_prune = false;
	const struct flag flags[] = {
		{ "force", 'f', FLAG_BOOL, &force, "Force removal of the image" },
		{ "no-prune", 0, FLAG_BOOL, &no_prune, "Do not delete untagged parents" },
		{ 0 },
	};
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	_cleanup_strbuf_ struct strbuf errors = STRBUF_INIT;
	bool fatal = false;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = cli_open_images(ctx, true, &store, &idx);
	for (int i = 0; !ret && i < nargs; i++) {
		struct strata_error *err = NULL;

		if (strata_image_remove(idx, args[i], force, !no_prune, print_removal, NULL, &err) >= 0)
			continue;
		/* As docker: collect the errors; with -f only a missing image is not fatal. */
		if (err->code != STRATA_ERR_NOT_FOUND)
			fatal = true;
		if (errors.len)
			strbuf_addch(&errors, '\n');
		strbuf_addf(&errors, "%s%s", err->code == STRATA_ERR_NOT_FOUND ? "Error: " : "Error response from daemon: ",
			    err->msg);
		strata_error_free(err);
	}
	fflush(stdout);
	if (errors.len) {
		fprintf(stderr, "%s\n", errors.buf);
		if (!force || fatal)
			ret = 1;
	}
	strata_image_index_free(idx);
	strata_store_free(store);
	free(args);
	return ret;
}
