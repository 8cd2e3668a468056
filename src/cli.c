#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "format/units.h"
#include "strata/image.h"
#include "strata/store.h"

int cli_open_store_flags(struct cli_ctx *ctx, unsigned flags, struct strata_store **out,
			 struct strata_error **err)
{
	int ret = strata_store_open(ctx->data_root, ctx->storage_driver, flags, out, err);

	if (ret >= 0 && ctx->fixed_time)
		strata_store_set_time(*out, ctx->source_date_epoch);
	return ret;
}

int cli_open_store(struct cli_ctx *ctx, bool write, struct strata_store **out,
		   struct strata_error **err)
{
	return cli_open_store_flags(ctx, write ? STRATA_STORE_WRITE : 0, out, err);
}

int cli_open_images(struct cli_ctx *ctx, bool write, struct strata_store **store,
		    struct strata_image_index **idx)
{
	struct strata_error *err = NULL;

	if (cli_open_store(ctx, write, store, &err) < 0)
		return cli_fail(err);
	if (strata_image_index_load(*store, idx, &err) < 0) {
		strata_store_free(*store);
		*store = NULL;
		return cli_fail(err);
	}
	return 0;
}

int cli_fail(struct strata_error *err)
{
	fprintf(stderr, "Error: %s\n", err ? err->msg : "unknown error");
	strata_error_free(err);
	return 1;
}

int cli_fail_daemon(struct strata_error *err)
{
	fprintf(stderr, "Error response from daemon: %s\n", err ? err->msg : "unknown error");
	strata_error_free(err);
	return 1;
}

void cli_print_progress(void *cookie, const char *id, const char *status)
{
	if (*(bool *)cookie)
		return;
	if (id)
		printf("%s: %s\n", id, status);
	else
		printf("%s\n", status);
	fflush(stdout);
}

json_t *cli_table_header(const char *const (*titles)[2], size_t n)
{
	json_t *h = json_object();

	for (size_t i = 0; i < n; i++)
		json_object_set_new(h, titles[i][0], json_string(titles[i][1]));
	return h;
}

void cli_created_since(struct strbuf *out, int64_t created)
{
	units_human_duration(out, ((int64_t)time(NULL) - created) * 1000000000LL);
	strbuf_addstr(out, " ago");
}
