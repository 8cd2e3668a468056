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

void cli_put_escaped(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		/* Newline and tab keep multi-line messages readable; every other
		 * control byte could retitle or recolour the terminal. */
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			putc(*p, f);
	}
}

static int fail_with(const char *prefix, struct strata_error *err)
{
	fputs(prefix, stderr);
	cli_put_escaped(stderr, err ? err->msg : "unknown error");
	putc('\n', stderr);
	strata_error_free(err);
	return 1;
}

int cli_fail(struct strata_error *err)
{
	return fail_with("Error: ", err);
}

int cli_fail_bare(struct strata_error *err)
{
	return fail_with("", err);
}

int cli_fail_daemon(struct strata_error *err)
{
	return fail_with("Error response from daemon: ", err);
}

void cli_print_progress(void *cookie, const char *id, const char *status)
{
	if (*(bool *)cookie)
		return;
	if (id) {
		cli_put_escaped(stdout, id);
		fputs(": ", stdout);
	}
	cli_put_escaped(stdout, status);
	putc('\n', stdout);
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
