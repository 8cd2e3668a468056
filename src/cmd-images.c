/* strata images: docker images over the store (daemon filters + CLI rows). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "format/template.h"
#include "format/units.h"
#include "json/gojson.h"
#include "util/gotime.h"
#include "strata/image.h"
#include "strata/reference.h"
#include "strata/store.h"
#include "util/alloc.h"
#include "util/cleanup.h"

static const struct command_usage usage = {
	"images", "strata images [OPTIONS] [REPOSITORY[:TAG]]", "List images",
	0, 1,
};

#define DEFAULT_TABLE "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
#define DIGEST_TABLE "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"

struct options {
	bool all, quiet, digests, no_trunc;
	const char *format;
	struct flag_list filter;
};

static void add_row(json_t *rows, const struct strata_image_summary *s, const char *repo, const char *tag, const char *digest,
		    bool trunc)
{
	_cleanup_strbuf_ struct strbuf since = STRBUF_INIT, at = STRBUF_INIT, size = STRBUF_INIT, vsize = STRBUF_INIT;
	json_t *row = json_object();
	const char *id = strata_image_id(s->img);
	int64_t created = strata_image_created(s->img, NULL), bytes = strata_image_size(s->img);

	cli_created_since(&since, created);
	gotime_format_go_time(&at, created, 0, true);
	units_human_size(&size, (double)bytes);
	units_human_size_prec(&vsize, (double)bytes, 4);
	/* Sorted keys: {{json .}} marshals a map. */
	json_object_set_new(row, "Containers", json_string("N/A"));
	json_object_set_new(row, "CreatedAt", json_string(at.buf));
	json_object_set_new(row, "CreatedSince", json_string(since.buf));
	json_object_set_new(row, "Digest", json_string(digest));
	json_object_set_new(row, "ID", trunc ? json_sprintf("%.12s", id + 7) : json_string(id));
	json_object_set_new(row, "Repository", json_string(repo));
	json_object_set_new(row, "SharedSize", json_string("N/A"));
	json_object_set_new(row, "Size", json_string(size.buf));
	json_object_set_new(row, "Tag", json_string(tag));
	json_object_set_new(row, "UniqueSize", json_string("N/A"));
	json_object_set_new(row, "VirtualSize", json_string(vsize.buf));
	json_array_append_new(rows, row);
}

static char *repo_of(const char *refstr, char sep, const char **rest)
{
	const char *p = strrchr(refstr, sep);

	/* A tag separator must come after the last '/' (registry ports). */
	if (sep == ':' && p && strchr(p, '/'))
		p = NULL;
	*rest = p ? p + 1 : "";
	return p ? xstrndup(refstr, (size_t)(p - refstr)) : xstrdup(refstr);
}

/* The CLI's imageFormatTaggedAndDigest: rows per tag (and digest with --digests). */
static void add_rows(json_t *rows, const struct strata_image_summary *s, bool digests, bool trunc)
{
	bool *used = xcalloc(s->nr_digests + 1, sizeof(*used));

	if (s->dangling) {
		add_row(rows, s, "<none>", "<none>", "<none>", trunc);
		free(used);
		return;
	}
	for (size_t i = 0; i < s->nr_tags; i++) {
		const char *tag, *dig;
		_cleanup_free_ char *repo = repo_of(s->tags[i], ':', &tag);
		bool any = false;

		for (size_t j = 0; j < s->nr_digests; j++) {
			_cleanup_free_ char *drepo = repo_of(s->digests[j], '@', &dig);

			if (strcmp(repo, drepo))
				continue;
			used[j] = true;
			if (digests) {
				add_row(rows, s, repo, tag, dig, trunc);
				any = true;
			}
		}
		if (!any)
			add_row(rows, s, repo, tag, "<none>", trunc);
	}
	for (size_t j = 0; j < s->nr_digests; j++) {
		const char *dig;
		_cleanup_free_ char *drepo = NULL;
		bool seen = false;

		if (used[j])
			continue;
		drepo = repo_of(s->digests[j], '@', &dig);
		/* Without --digests a digest-only repository shows once. */
		for (size_t k = 0; k < j && !digests; k++) {
			const char *d2;
			_cleanup_free_ char *r2 = repo_of(s->digests[k], '@', &d2);

			seen |= !used[k] && !strcmp(r2, drepo);
		}
		if (!seen)
			add_row(rows, s, drepo, "<none>", digests ? dig : "", trunc);
	}
	free(used);
}

/* Sorted like the rows: {{json .}} of a header would marshal a map. */
static const char *const titles[][2] = {
	{ "Containers", "CONTAINERS" }, { "CreatedAt", "CREATED AT" }, { "CreatedSince", "CREATED" },
	{ "Digest", "DIGEST" }, { "ID", "IMAGE ID" }, { "Repository", "REPOSITORY" },
	{ "SharedSize", "SHARED SIZE" }, { "Size", "SIZE" }, { "Tag", "TAG" },
	{ "UniqueSize", "UNIQUE SIZE" }, { "VirtualSize", "VIRTUAL SIZE" },
};

static int list_images(const struct strata_image_index *idx, const struct options *o, const char *arg,
		       struct strbuf *out, struct strata_error **err)
{
	struct strata_image_summary *sums;
	size_t n;
	_cleanup_json_ json_t *rows = json_array();
	_cleanup_json_ json_t *head = cli_table_header(titles, sizeof(titles) / sizeof(titles[0]));
	_cleanup_free_ const char **filters = xcalloc(o->filter.nr + 1, sizeof(*filters));
	_cleanup_free_ char *ref = arg && *arg ? xasprintf("reference=%s", arg) : NULL;
	const char *format = o->format;
	size_t nr_filters = 0;
	int ret;

	/* docker adds no reference filter for "" */
	if (ref)
		filters[nr_filters++] = ref;
	for (size_t i = 0; i < o->filter.nr; i++)
		filters[nr_filters++] = o->filter.items[i];
	ret = strata_image_list(idx, filters, nr_filters, o->all, &sums, &n, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++)
		add_rows(rows, &sums[i], o->digests, !o->no_trunc);
	strata_image_list_free(sums, n);
	if (!format || !*format || !strcmp(format, "table"))
		format = o->quiet ? "{{.ID}}" : o->digests ? DIGEST_TABLE : DEFAULT_TABLE;
	return format_render(out, format, "*formatter.imageContext", head, rows, err);
}

int cmd_images(int argc, char **argv, struct cli_ctx *ctx)
{
	struct options o = { 0 };
	const struct flag flags[] = {
		{ "all", 'a', FLAG_BOOL, &o.all, "Show all images (default hides intermediate images)" },
		{ "digests", 0, FLAG_BOOL, &o.digests, "Show digests" },
		{ "filter", 'f', FLAG_FILTERS, &o.filter, "Filter output based on conditions provided" },
		{ "format", 0, FLAG_STRING, &o.format, "Pretty-print images using a Go template" },
		{ "no-trunc", 0, FLAG_BOOL, &o.no_trunc, "Don't truncate output" },
		{ "quiet", 'q', FLAG_BOOL, &o.quiet, "Only show image IDs" },
		{ 0 },
	};
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret) {
		flag_list_release(&o.filter);
		return ret < 0 ? 0 : ret;
	}
	ret = cli_open_images(ctx, false, &store, &idx);
	if (!ret) {
		/* dockerd skips a damaged image and logs why; the user here has no daemon log */
		for (size_t i = 0; i < strata_image_index_damaged_count(idx); i++) {
			fprintf(stderr, "WARNING: skipped damaged image %s: ", strata_image_index_damaged_id(idx, i));
			cli_put_escaped(stderr, strata_image_index_damaged_why(idx, i));
			fputc('\n', stderr);
		}
		if (list_images(idx, &o, nargs ? args[0] : NULL, &out, &err) < 0)
			ret = err->code == STRATA_ERR_INVALID && strstr(err->msg, "template") ? cli_fail_bare(err) : cli_fail_daemon(err);
		else
			fwrite(out.buf, 1, out.len, stdout);
	}
	strata_image_index_free(idx);
	strata_store_free(store);
	flag_list_release(&o.filter);
	free(args);
	return ret;
}
