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

struct filters {
	int dangling; /* -1 unset, 0 false, 1 true */
	struct strata_image *before, *since;
	struct flag_list labels, references;
};

struct options {
	bool all, quiet, digests, no_trunc;
	const char *format;
	struct flag_list filter;
};

static int invalid_filter(const char *what, struct strata_error **err)
{
	return strata_error_set(err, STRATA_ERR_INVALID, 0, "Invalid filter '%s'", what);
}

static int parse_filters(const struct strata_image_index *idx, const struct flag_list *in,
			 const char *arg, struct filters *f, struct strata_error **err)
{
	/* the daemon's filters hold a set per key: "true" anywhere wins, then
	 * "false"; only a set with neither is invalid */
	bool dangling_true = false, dangling_false = false;
	const char *dangling_bad = NULL;

	f->dangling = -1;
	if (arg && *arg) { /* docker adds no reference filter for "" */
		ALLOC_GROW(f->references.items, f->references.nr + 1, f->references.alloc);
		f->references.items[f->references.nr++] = xstrdup(arg);
	}
	for (size_t i = 0; i < in->nr; i++) {
		const char *kv = in->items[i], *eq = strchr(kv, '=');
		_cleanup_free_ char *key = xstrndup(kv, (size_t)(eq - kv));
		const char *val = eq + 1;
		struct flag_list *list = NULL;
		int ret;

		if (!strcmp(key, "dangling")) {
			if (!strcmp(val, "true"))
				dangling_true = true;
			else if (!strcmp(val, "false"))
				dangling_false = true;
			else
				dangling_bad = val;
		} else if (!strcmp(key, "before") || !strcmp(key, "since")) {
			ret = strata_image_lookup(idx, val, key[0] == 'b' ? &f->before : &f->since, err);
			if (ret < 0)
				return ret;
		} else if (!strcmp(key, "label")) {
			list = &f->labels;
		} else if (!strcmp(key, "reference")) {
			list = &f->references;
		} else {
			return invalid_filter(key, err);
		}
		if (list) {
			ALLOC_GROW(list->items, list->nr + 1, list->alloc);
			list->items[list->nr++] = xstrdup(val);
		}
	}
	if (dangling_true || dangling_false) {
		f->dangling = dangling_true;
	} else if (dangling_bad) {
		_cleanup_free_ char *what = xasprintf("dangling=[%s]", dangling_bad);

		return invalid_filter(what, err);
	}
	return 0;
}

/* filters.MatchKVList: every label filter ("k" or "k=v") must match. */
static bool labels_match(const struct flag_list *labels, const struct strata_image *img)
{
	_cleanup_json_ json_t *config = NULL;
	json_t *have;
	size_t len;
	const char *raw;

	if (!labels->nr)
		return true;
	/* the index parsed this config already: it cannot fail here */
	raw = strata_image_config(img, &len);
	if (gojson_parse(raw, len, "image config", &config, NULL) < 0)
		return false;
	have = json_object_get(json_object_get(config, "config"), "Labels");
	if (!json_is_object(have))
		return false;
	for (size_t i = 0; i < labels->nr; i++) {
		const char *kv = labels->items[i], *eq = strchr(kv, '=');
		_cleanup_free_ char *key = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
		json_t *v = json_object_get(have, key);

		if (!v || (eq && (!json_is_string(v) || strcmp(json_string_value(v), eq + 1))))
			return false;
	}
	return true;
}

static bool created_before(const struct strata_image *a, const struct strata_image *b)
{
	int32_t an, bn;
	int64_t as = strata_image_created(a, &an), bs = strata_image_created(b, &bn);

	return as < bs || (as == bs && an < bn);
}

struct summary {
	struct strata_image *img;
	const char **tags, **digests; /* familiar strings, after the reference filter */
	size_t nr_tags, nr_digests;
	bool dangling;
};

static bool reference_match(const struct flag_list *patterns, const char *refstr)
{
	struct strata_ref ref;
	bool found = false;

	if (!patterns->nr)
		return true;
	if (strata_ref_parse(refstr, &ref, NULL) < 0)
		return false;
	for (size_t i = 0; i < patterns->nr && !found; i++)
		found = strata_ref_familiar_match(patterns->items[i], &ref);
	strata_ref_release(&ref);
	return found;
}

static size_t filter_refs(const char **refs, size_t n, const struct flag_list *patterns)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++)
		if (reference_match(patterns, refs[i]))
			refs[kept++] = refs[i];
	return kept;
}

/* The daemon's Images(): which images, with which references. */
static bool summarize(const struct strata_image_index *idx, struct strata_image *img, const struct filters *f,
		      bool all, struct summary *s)
{
	memset(s, 0, sizeof(*s));
	s->img = img;
	if (f->dangling == 1 && strata_image_children(img))
		return false;
	if (f->before && !created_before(img, f->before))
		return false;
	if (f->since && !created_before(f->since, img))
		return false;
	if (!labels_match(&f->labels, img))
		return false;
	s->nr_tags = strata_image_refs(idx, img, true, false, &s->tags);
	s->nr_tags = filter_refs(s->tags, s->nr_tags, &f->references);
	s->nr_digests = strata_image_refs(idx, img, false, true, &s->digests);
	s->nr_digests = filter_refs(s->digests, s->nr_digests, &f->references);
	if (!s->nr_tags && !s->nr_digests) {
		if (!(all || !strata_image_children(img)) || f->dangling == 0 || f->references.nr)
			goto skip;
		s->dangling = true;
	} else if (f->dangling == 1 && s->nr_tags) {
		goto skip;
	}
	return true;
skip:
	free(s->tags);
	free(s->digests);
	return false;
}

static int by_created_desc(const void *a, const void *b)
{
	const struct summary *x = a, *y = b;
	int64_t xs = strata_image_created(x->img, NULL), ys = strata_image_created(y->img, NULL);

	if (xs != ys)
		return xs < ys ? 1 : -1;
	return strcmp(strata_image_id(x->img), strata_image_id(y->img));
}

static void add_row(json_t *rows, const struct summary *s, const char *repo, const char *tag, const char *digest,
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
static void add_rows(json_t *rows, const struct summary *s, bool digests, bool trunc)
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
	struct filters f = { 0 };
	struct summary *sums;
	size_t n = 0, count = strata_image_index_count(idx);
	_cleanup_json_ json_t *rows = json_array();
	_cleanup_json_ json_t *head = cli_table_header(titles, sizeof(titles) / sizeof(titles[0]));
	const char *format = o->format;
	int ret;

	ret = parse_filters(idx, &o->filter, arg, &f, err);
	sums = xcalloc(count ? count : 1, sizeof(*sums));
	for (size_t i = 0; ret >= 0 && i < count; i++)
		if (summarize(idx, strata_image_index_at(idx, i), &f, o->all, &sums[n]))
			n++;
	qsort(sums, n, sizeof(*sums), by_created_desc);
	for (size_t i = 0; i < n; i++) {
		add_rows(rows, &sums[i], o->digests, !o->no_trunc);
		free(sums[i].tags);
		free(sums[i].digests);
	}
	free(sums);
	flag_list_release(&f.labels);
	flag_list_release(&f.references);
	if (ret < 0)
		return ret;
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
