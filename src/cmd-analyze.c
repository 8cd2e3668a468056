/*
 * strata analyze IMAGE: what each layer costs and which bytes are wasted,
 * as a table (default) or JSON (our schema, or dive's export schema).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "flags.h"
#include "format/units.h"
#include "json/gojson.h"
#include "strata/analyze.h"
#include "strata/image.h"
#include "strata/store.h"
#include "util/cleanup.h"

static const struct command_usage usage = {
	"analyze", "strata analyze [OPTIONS] IMAGE",
	"Show what each layer of an image costs and which of its bytes are wasted",
	1, 1,
};

#define TABLE_TOP 20
#define BAR_WIDTH 20

/* Bytes from layer tars (any byte but NUL) shown without driving the terminal. */
static void put_safe(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			putc(*p, f);
	}
}

static json_t *str(const char *s)
{
	/* gojson writes invalid UTF-8 as U+FFFD, as Go does */
	return json_stringn_nocheck(s, strlen(s));
}

static void print_json(const struct strata_image *img, const struct strata_analysis *a, size_t top)
{
	struct strata_analysis_summary sum;
	_cleanup_json_ json_t *o = json_object();
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	json_t *layers = json_array(), *wasted = json_array();
	size_t n = strata_analysis_wasted_count(a);

	strata_analysis_summary(a, &sum);
	json_object_set_new(o, "id", str(strata_image_id(img)));
	json_object_set_new(o, "size", json_integer((json_int_t)sum.size));
	json_object_set_new(o, "wasted_bytes", json_integer((json_int_t)sum.wasted_bytes));
	json_object_set_new(o, "user_wasted_bytes", json_integer((json_int_t)sum.user_wasted_bytes));
	json_object_set_new(o, "efficiency", json_real(sum.efficiency));
	for (size_t i = 0; i < strata_analysis_layer_count(a); i++) {
		struct strata_analysis_layer l;
		json_t *r = json_object();

		strata_analysis_layer(a, i, &l);
		json_object_set_new(r, "index", json_integer((json_int_t)i));
		json_object_set_new(r, "diff_id", str(l.diff_id));
		json_object_set_new(r, "created_by", str(l.created_by));
		json_object_set_new(r, "size", json_integer((json_int_t)l.size));
		json_object_set_new(r, "added", json_integer((json_int_t)l.added));
		json_object_set_new(r, "modified", json_integer((json_int_t)l.modified));
		json_object_set_new(r, "removed", json_integer((json_int_t)l.removed));
		json_object_set_new(r, "wasted_bytes", json_integer((json_int_t)l.wasted_bytes));
		json_array_append_new(layers, r);
	}
	json_object_set_new(o, "layers", layers);
	for (size_t i = 0; i < n && i < top; i++) {
		const struct strata_wasted *w = strata_analysis_wasted(a, i);
		json_t *r = json_object();

		json_object_set_new(r, "path", str(w->path));
		json_object_set_new(r, "size", json_integer((json_int_t)w->size));
		json_object_set_new(r, "layer", json_integer((json_int_t)w->layer));
		json_object_set_new(r, "hidden_by", json_integer((json_int_t)w->hidden_by));
		json_object_set_new(r, "how", json_string(strata_hidden_how_name(w->how)));
		json_object_set_new(r, "same_content", json_boolean(w->same_content));
		json_array_append_new(wasted, r);
	}
	json_object_set_new(o, "wasted", wasted);
	gojson_encode(&sb, o, 0);
	strbuf_addch(&sb, '\n');
	fwrite(sb.buf, 1, sb.len, stdout);
}

static const char *human(struct strbuf *sb, uint64_t v)
{
	strbuf_reset(sb);
	units_human_size(sb, (double)v);
	return sb->buf;
}

/* created_by on one line: control bytes escaped, cut to max bytes at a rune start. */
static void put_command(const char *s, size_t max)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	size_t n = strlen(s);

	if (n > max) {
		while (max && ((unsigned char)s[max] & 0xc0) == 0x80)
			max--;
		strbuf_add(&sb, s, max);
		strbuf_addstr(&sb, "…");
	} else {
		strbuf_add(&sb, s, n);
	}
	put_safe(stdout, sb.buf);
}

static void print_table(const struct strata_analysis *a, size_t top, bool tty)
{
	struct strata_analysis_summary sum;
	_cleanup_strbuf_ struct strbuf s1 = STRBUF_INIT, s2 = STRBUF_INIT, s3 = STRBUF_INIT;
	size_t nl = strata_analysis_layer_count(a), nw = strata_analysis_wasted_count(a);
	uint64_t largest = 0;

	strata_analysis_summary(a, &sum);
	for (size_t i = 0; i < nl; i++) {
		struct strata_analysis_layer l;
		strata_analysis_layer(a, i, &l);
		if (l.size > largest)
			largest = l.size;
	}
	printf("%-6s %-9s %-9s %s%s\n", "LAYER", "SIZE", "WASTED", tty ? "                     " : "",
	       "CREATED BY");
	for (size_t i = 0; i < nl; i++) {
		struct strata_analysis_layer l;

		strata_analysis_layer(a, i, &l);
		printf("%-6zu %-9s %-9s ", i, human(&s1, l.size), human(&s2, l.wasted_bytes));
		if (tty) {
			/* kept bytes full, wasted bytes shaded, scaled to the largest layer */
			size_t full = largest ? (size_t)((double)l.size * BAR_WIDTH / (double)largest + 0.5) : 0;
			size_t waste = largest ? (size_t)((double)l.wasted_bytes * BAR_WIDTH / (double)largest + 0.5) : 0;
			if (waste > full)
				waste = full;
			for (size_t b = 0; b < BAR_WIDTH; b++)
				fputs(b < full - waste ? "█" : b < full ? "\033[31m▒\033[0m" : " ", stdout);
			putchar(' ');
		}
		put_command(l.created_by, 80);
		putchar('\n');
	}
	if (nw) {
		printf("\nWasted: %zu of %zu paths\n", nw < top ? nw : top, nw);
		printf("%-9s %-6s %-9s %-9s %s\n", "SIZE", "LAYER", "HIDDEN BY", "HOW", "PATH");
		for (size_t i = 0; i < nw && i < top; i++) {
			const struct strata_wasted *w = strata_analysis_wasted(a, i);

			printf("%-9s %-6zu %-9zu %-9s ", human(&s1, w->size), w->layer, w->hidden_by,
			       strata_hidden_how_name(w->how));
			put_safe(stdout, w->path);
			puts(w->same_content ? "  (same content)" : "");
		}
	}
	printf("\n%sEfficiency %.2f %%%s: %s of %s wasted (%s by layers above the base)\n",
	       tty ? (sum.wasted_bytes ? "\033[33m" : "\033[32m") : "", sum.efficiency * 100, tty ? "\033[0m" : "",
	       human(&s1, sum.wasted_bytes), human(&s2, sum.size), human(&s3, sum.user_wasted_bytes));
}

static int parse_count(const char *s, size_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v < 0)
		return -1;
	*out = (size_t)v;
	return 0;
}

int cmd_analyze(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *format = NULL, *top_s = NULL, *base_s = NULL;
	const struct flag flags[] = {
		{ "base", 0, FLAG_STRING, &base_s, "Count the layers of this image as the base" },
		{ "format", 0, FLAG_STRING, &format, "Output format: table, json" },
		{ "top", 0, FLAG_STRING, &top_s, "Show only the N largest wasted paths (default 20 in the table)" },
		{ 0 },
	};
	struct strata_analyze_options opts = { 0 };
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_analysis *a = NULL;
	struct strata_error *err = NULL;
	struct strata_image *img, *base;
	size_t top = SIZE_MAX;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (!format || !*format)
		format = "table";
	if (strcmp(format, "table") && strcmp(format, "json")) {
		fprintf(stderr, "Error: unknown format \"%s\": use table or json\n", format);
		free(args);
		return 1;
	}
	if (top_s && parse_count(top_s, &top) < 0) {
		fprintf(stderr, "invalid argument \"%s\" for \"--top\" flag: not a count\n", top_s);
		free(args);
		return 125;
	}
	if (!top_s && !strcmp(format, "table"))
		top = TABLE_TOP;
	ret = cli_open_images(ctx, false, &store, &idx);
	if (!ret && strata_image_lookup(idx, args[0], &img, &err) < 0)
		ret = cli_fail(err);
	if (!ret && base_s) {
		if (strata_image_lookup(idx, base_s, &base, &err) < 0)
			ret = cli_fail(err);
		opts.base = base;
	}
	if (!ret && strata_analyze(idx, img, &opts, &a, &err) < 0)
		ret = cli_fail(err);
	if (!ret) {
		if (!strcmp(format, "json"))
			print_json(img, a, top);
		else
			print_table(a, top, isatty(STDOUT_FILENO));
	}
	strata_analysis_free(a);
	strata_image_index_free(idx);
	strata_store_free(store);
	free(args);
	return ret;
}
