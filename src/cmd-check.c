#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "flags.h"
#include "strata/check.h"
#include "strata/store.h"

static const struct command_usage usage = {
	"check", "strata check [OPTIONS]",
	"Verify the whole image store (and repair what can be repaired)",
	0, 0,
};

static void print_problem(void *cookie, const char *object, const char *problem, bool repaired)
{
	printf("%s: %s%s\n", object, problem, repaired ? " (repaired)" : "");
}

int cmd_check(int argc, char **argv, struct cli_ctx *ctx)
{
	struct strata_check_options opts = { 0 };
	const struct flag flags[] = {
		{ "deep", 0, FLAG_BOOL, &opts.deep, "Also rebuild every layer tar and compare it with its diff ID" },
		{ "repair", 0, FLAG_BOOL, &opts.repair, "Remove orphans and leftovers nothing uses" },
		{ 0 },
	};
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct strata_check_result res;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	free(args);
	/* repair reports the leftovers it removes: the store must not recover first;
	 * a plain check waits for writers, so their staging is never reported as damage */
	if (cli_open_store_flags(ctx, opts.repair ? STRATA_STORE_WRITE | STRATA_STORE_KEEP_LEFTOVERS : STRATA_STORE_STABLE, &store,
				 &err) < 0)
		return cli_fail(err);
	if (strata_store_check(store, &opts, print_problem, NULL, &res, &err) < 0) {
		strata_store_free(store);
		return cli_fail(err);
	}
	strata_store_free(store);
	printf("%zu images, %zu layers checked: %zu problems", res.images, res.layers, res.problems);
	if (opts.repair)
		printf(", %zu repaired", res.repaired);
	printf("\n");
	return res.problems > res.repaired ? 1 : 0;
}
