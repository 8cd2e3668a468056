#include <stdlib.h>

#include "cli.h"
#include "flags.h"
#include "strata/image.h"
#include "strata/store.h"

static const struct command_usage usage = {
	"tag", "strata tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
	"Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
	2, 2,
};

int cmd_tag(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct flag flags[] = { { 0 } };
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = cli_open_images(ctx, true, &store, &idx);
	if (!ret && strata_image_tag(idx, args[0], args[1], &err) < 0)
		ret = err->code == STRATA_ERR_INVALID ? cli_fail(err) : cli_fail_daemon(err);
	strata_image_index_free(idx);
	strata_store_free(store);
	free(args);
	return ret;
}
