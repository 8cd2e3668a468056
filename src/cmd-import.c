#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "strata/image.h"
#include "strata/store.h"

static const struct command_usage usage = {
	"import", "strata import [OPTIONS] file|- [REPOSITORY[:TAG]]",
	"Import the contents from a tarball to create a filesystem image",
	1, 2,
};

int cmd_import(int argc, char **argv, struct cli_ctx *ctx)
{
	struct flag_list changes = { 0 };
	const char *message = NULL, *platform = NULL;
	const struct flag flags[] = {
		{ "change", 'c', FLAG_STRINGS, &changes, "Apply Dockerfile instruction to the created image" },
		{ "message", 'm', FLAG_STRING, &message, "Set commit message for imported image" },
		{ "platform", 0, FLAG_STRING, &platform, "Set platform if server is multi-platform capable" },
		{ 0 },
	};
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct strata_import_options opts = { 0 };
	char id[72];
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret) {
		flag_list_release(&changes);
		return ret < 0 ? 0 : ret;
	}
	if (strstr(args[0], "://")) {
		fprintf(stderr, "Error: importing from a URL is not supported: strata does not download; "
				"fetch the file and import it\n");
		flag_list_release(&changes);
		free(args);
		return 1;
	}
	opts.changes = (const char *const *)changes.items;
	opts.nr_changes = changes.nr;
	opts.message = message;
	opts.platform = platform;
	opts.ref = nargs > 1 ? args[1] : NULL;
	ret = cli_open_images(ctx, true, &store, &idx);
	if (!ret) {
		if (strata_image_import(idx, args[0], &opts, id, &err) < 0)
			ret = cli_fail(err);
		else
			printf("%s\n", id);
	}
	strata_image_index_free(idx);
	strata_store_free(store);
	flag_list_release(&changes);
	free(args);
	return ret;
}
