#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "format/template.h"
#include "format/units.h"
#include "util/gotime.h"
#include "strata/image.h"
#include "strata/store.h"
#include "util/alloc.h"
#include "util/cleanup.h"

static const struct command_usage usage = {
	"history", "strata history [OPTIONS] IMAGE", "Show the history of an image",
	1, 1,
};

#define HUMAN_TABLE "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
#define PLAIN_TABLE "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"

/* docker/cli's Ellipsis: at most max runes, the last one replaced by "…". */
static char *ellipsis(const char *s, size_t max)
{
	size_t runes = 0, i;

	for (i = 0; s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			runes++;
	if (runes <= max)
		return xstrdup(s);
	runes = 0;
	for (i = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && ++runes == max)
			break;
	}
	return xasprintf("%.*s…", (int)i, s);
}

static json_t *row(const struct strata_history_entry *e, bool human, bool trunc)
{
	_cleanup_strbuf_ struct strbuf at = STRBUF_INIT, since = STRBUF_INIT, size = STRBUF_INIT;
	_cleanup_free_ char *by = xstrdup(e->created_by);
	_cleanup_free_ char *shown = NULL;
	json_t *r = json_object();

	for (char *p = by; *p; p++)
		if (*p == '\t')
			*p = ' ';
	shown = trunc ? ellipsis(by, 45) : xstrdup(by);
	gotime_format_rfc3339(&at, e->created, true);
	if (human) {
		cli_created_since(&since, e->created);
		units_human_size(&size, (double)e->size);
	} else {
		strbuf_addstr(&since, at.buf);
		strbuf_addf(&size, "%lld", (long long)e->size);
	}
	json_object_set_new(r, "Comment", json_string(e->comment));
	json_object_set_new(r, "CreatedAt", json_string(at.buf));
	json_object_set_new(r, "CreatedBy", json_string(shown));
	json_object_set_new(r, "CreatedSince", json_string(since.buf));
	if (trunc && !strncmp(e->id, "sha256:", 7))
		json_object_set_new(r, "ID", json_sprintf("%.12s", e->id + 7));
	else
		json_object_set_new(r, "ID", json_string(e->id));
	json_object_set_new(r, "Size", json_string(size.buf));
	return r;
}

static const char *const titles[][2] = {
	{ "Comment", "COMMENT" }, { "CreatedAt", "CREATED AT" }, { "CreatedBy", "CREATED BY" },
	{ "CreatedSince", "CREATED" }, { "ID", "IMAGE" }, { "Size", "SIZE" },
};

int cmd_history(int argc, char **argv, struct cli_ctx *ctx)
{
	bool human = true, no_trunc = false, quiet = false;
	const char *format = NULL;
	const struct flag flags[] = {
		{ "format", 0, FLAG_STRING, &format, "Pretty-print images using a Go template" },
		{ "human", 'H', FLAG_BOOL, &human, "Print sizes and dates in human readable format (default true)" },
		{ "no-trunc", 0, FLAG_BOOL, &no_trunc, "Don't truncate output" },
		{ "quiet", 'q', FLAG_BOOL, &quiet, "Only show image IDs" },
		{ 0 },
	};
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct strata_history_entry *entries = NULL;
	size_t nr = 0;
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	_cleanup_json_ json_t *rows = json_array();
	_cleanup_json_ json_t *head = cli_table_header(titles, sizeof(titles) / sizeof(titles[0]));
	struct strata_image *img;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = cli_open_images(ctx, false, &store, &idx);
	if (!ret && (strata_image_lookup(idx, args[0], &img, &err) < 0 ||
		     strata_image_history(idx, img, &entries, &nr, &err) < 0))
		ret = cli_fail_daemon(err);
	if (!ret) {
		for (size_t i = 0; i < nr; i++)
			json_array_append_new(rows, row(&entries[i], human, !no_trunc));
		if (!format || !*format || !strcmp(format, "table"))
			format = quiet ? "{{.ID}}" : human ? HUMAN_TABLE : PLAIN_TABLE;
		if (format_render(&out, format, "*image.historyContext", head, rows, &err) < 0)
			ret = cli_fail_bare(err);
		else
			fwrite(out.buf, 1, out.len, stdout);
	}
	strata_history_free(entries, nr);
	strata_image_index_free(idx);
	strata_store_free(store);
	free(args);
	return ret;
}
