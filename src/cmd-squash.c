#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "flags.h"
#include "strata/image.h"
#include "strata/squash.h"
#include "strata/store.h"

static const struct command_usage usage = {
	"squash", "strata squash [OPTIONS] IMAGE",
	"Merge an image's layers into one, in a new image",
	1, 1,
};

int cmd_squash(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *tag = NULL, *from = NULL, *keep_base = NULL, *message = NULL;
	const struct flag flags[] = {
		{ "tag", 't', FLAG_STRING, &tag, "Name and optionally a tag in the 'name:tag' format" },
		{ "from", 0, FLAG_STRING, &from, "Keep the first N layers and squash the ones above" },
		{ "keep-base", 0, FLAG_STRING, &keep_base, "Keep the layers of this image and squash the ones above" },
		{ "message", 'm', FLAG_STRING, &message, "Comment of the new history entry" },
		{ 0 },
	};
	struct strata_squash_options opts = { 0 };
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	char id[72], **args, *end;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (from) {
		unsigned long n;

		errno = 0;
		n = strtoul(from, &end, 10);
		if (errno || end == from || *end || *from == '-') {
			fprintf(stderr, "invalid argument \"%s\" for \"--from\" flag: expected a number of layers\n",
				from);
			free(args);
			return 125;
		}
		opts.from = n;
	}
	if (from && keep_base) {
		fprintf(stderr, "--from and --keep-base cannot be used together\n");
		free(args);
		return 125;
	}
	opts.tag = tag;
	opts.keep_base = keep_base;
	opts.message = message;
	ret = cli_open_images(ctx, true, &store, &idx);
	if (!ret && strata_image_squash(idx, args[0], &opts, id, &err) < 0)
		ret = cli_fail(err);
	else if (!ret)
		printf("%s\n", id);
	strata_image_index_free(idx);
	strata_store_free(store);
	free(args);
	return ret;
}
