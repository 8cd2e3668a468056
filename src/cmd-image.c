/* "strata image SUBCOMMAND": prune, plus docker's image-prefixed aliases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "strata/image.h"
#include "strata/store.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "format/units.h"

static const struct command_usage prune_usage = {
	"image prune", "strata image prune [OPTIONS]", "Remove unused images",
	0, 0,
};

struct prune_output {
	struct strbuf text;
};

static void collect(void *cookie, enum strata_removal what, const char *value)
{
	struct prune_output *out = cookie;

	if (!out->text.len)
		strbuf_addstr(&out->text, "Deleted Images:\n");
	strbuf_addf(&out->text, "%s: %s\n", what == STRATA_UNTAGGED ? "untagged" : "deleted", value);
}

static bool confirm(bool all)
{
	char line[64];

	printf("WARNING! This will remove all %s.\nAre you sure you want to continue? [y/N] ",
	       all ? "images without at least one container associated to them" : "dangling images");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

static int image_prune(int argc, char **argv, struct cli_ctx *ctx)
{
	bool all = false, force = false;
	struct flag_list filter = { 0 };
	const struct flag flags[] = {
		{ "all", 'a', FLAG_BOOL, &all, "Remove all unused images, not just dangling ones" },
		{ "filter", 0, FLAG_FILTERS, &filter, "Provide filter values (e.g. 'until=<timestamp>')" },
		{ "force", 'f', FLAG_BOOL, &force, "Do not prompt for confirmation" },
		{ 0 },
	};
	_cleanup_free_ const char **filters = NULL;
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct prune_output out = { STRBUF_INIT };
	_cleanup_strbuf_ struct strbuf size = STRBUF_INIT;
	uint64_t reclaimed = 0;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &prune_usage, &args, &nargs);
	if (ret) {
		flag_list_release(&filter);
		return ret < 0 ? 0 : ret;
	}
	free(args);
	/* as docker's CLI: the filters given, and dangling from -a */
	filters = xcalloc(filter.nr + 1, sizeof(*filters));
	for (size_t i = 0; i < filter.nr; i++)
		filters[i] = filter.items[i];
	filters[filter.nr] = all ? "dangling=false" : "dangling=true";
	if (force || confirm(all)) {
		ret = cli_open_images(ctx, true, &store, &idx);
		if (!ret && strata_image_prune_filtered(idx, filters, filter.nr + 1, collect, &out, &reclaimed, &err) < 0)
			ret = cli_fail_daemon(err);
		strata_image_index_free(idx);
		strata_store_free(store);
		if (ret) {
			strbuf_release(&out.text);
			flag_list_release(&filter);
			return ret;
		}
	}
	if (out.text.len)
		printf("%s\n", out.text.buf);
	units_human_size_prec(&size, (double)reclaimed, 4);
	printf("Total reclaimed space: %s\n", size.buf);
	strbuf_release(&out.text);
	flag_list_release(&filter);
	return 0;
}

int cmd_image(int argc, char **argv, struct cli_ctx *ctx)
{
	/* sorted by name as docker lists them; aliases (no description) are not listed */
	static const struct cli_subcommand subs[] = {
		{ "history", cmd_history, "Show the history of an image" },
		{ "import", cmd_import, "Import the contents from a tarball to create a filesystem image" },
		{ "inspect", cmd_image_inspect, "Display detailed information on one or more images" },
		{ "list", cmd_images, NULL },
		{ "load", cmd_load, "Load an image from a tar archive or STDIN" },
		{ "ls", cmd_images, "List images" },
		{ "prune", image_prune, "Remove unused images" },
		{ "pull", cmd_pull, "Pull an image or a repository from a registry" },
		{ "push", cmd_push, "Push an image or a repository to a registry" },
		{ "remove", cmd_rmi, NULL },
		{ "rm", cmd_rmi, "Remove one or more images" },
		{ "save", cmd_save, "Save one or more images to a tar archive (streamed to STDOUT by default)" },
		{ "tag", cmd_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE" },
	};

	return cli_dispatch("image", "Manage images", subs, sizeof(subs) / sizeof(subs[0]), argc, argv, ctx);
}
