#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "strata/image.h"
#include "strata/store.h"

static const struct command_usage usage = {
	"import", "strata import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
	"Import the contents from a tarball to create a filesystem image",
	1, 2,
};

/* what docker's client shows of dockerd's stream for a URL (its progress only on a terminal) */
struct download {
	const char *url;
	bool said;
};

static void on_download(void *cookie, uint64_t current, int64_t total)
{
	struct download *d = cookie;

	if (!d->said) {
		d->said = true;
		printf("Downloading from %s\n", d->url);
		fflush(stdout);
	}
}

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
	struct download dl = { 0 };
	char id[72];
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret) {
		flag_list_release(&changes);
		return ret < 0 ? 0 : ret;
	}
	opts.changes = (const char *const *)changes.items;
	opts.nr_changes = changes.nr;
	opts.message = message;
	opts.platform = platform;
	opts.ref = nargs > 1 ? args[1] : NULL;
	dl.url = args[0];
	opts.progress = on_download;
	opts.progress_cookie = &dl;
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
