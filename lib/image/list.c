/*
 * docker images' daemon side (dockerd's Images(): the filters, which images
 * and which of their references) and the filters of docker image prune, for
 * every front end: the CLI's images and image prune, the API's /images/json
 * and /images/prune.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image/image-private.h"
#include "json/gojson.h"
#include "strata/reference.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/gotime.h"

static int invalid_filter(const char *what, struct strata_error **err)
{
	return strata_error_set(err, STRATA_ERR_INVALID, 0, "Invalid filter '%s'", what);
}

struct strs {
	const char **v;
	size_t nr, alloc;
};

static void strs_add(struct strs *s, const char *value)
{
	ALLOC_GROW(s->v, s->nr + 1, s->alloc);
	s->v[s->nr++] = value;
}

struct list_filters {
	int dangling; /* -1 unset, 0 false, 1 true */
	struct strata_image *before, *since;
	struct strs labels, not_labels, references, until;
};

static void list_filters_release(struct list_filters *f)
{
	free(f->labels.v);
	free(f->not_labels.v);
	free(f->references.v);
	free(f->until.v);
}

/*
 * "key=value" filters into f, keys limited to those of accepted (a
 * NUL-separated list).  The daemon's filters hold a set per key: for the
 * list "true" anywhere wins, then "false"; prune looks for "false" (or "0")
 * first.  Only a set with neither is invalid.
 */
static int parse_filters(const struct strata_image_index *idx, const char *const *in, size_t nr,
			 const char *accepted, bool prune, struct list_filters *f, struct strata_error **err)
{
	bool dangling_true = false, dangling_false = false;
	const char *dangling_bad = NULL;

	memset(f, 0, sizeof(*f));
	f->dangling = -1;
	for (size_t i = 0; i < nr; i++) {
		const char *kv = in[i], *eq = strchr(kv, '=');
		_cleanup_free_ char *key = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
		const char *val = eq ? eq + 1 : "";
		bool known = false;
		int ret;

		for (const char *a = accepted; *a && !known; a += strlen(a) + 1)
			known = !strcmp(a, key);
		if (!known)
			return invalid_filter(key, err);
		if (!strcmp(key, "dangling")) {
			/* prune's ExactMatch takes "1" and "0" too; the list's does not */
			if (!strcmp(val, "true") || (prune && !strcmp(val, "1")))
				dangling_true = true;
			else if (!strcmp(val, "false") || (prune && !strcmp(val, "0")))
				dangling_false = true;
			else
				dangling_bad = val;
		} else if (!strcmp(key, "before") || !strcmp(key, "since")) {
			ret = strata_image_lookup(idx, val, key[0] == 'b' ? &f->before : &f->since, err);
			if (ret < 0)
				return ret;
		} else if (!strcmp(key, "label")) {
			strs_add(&f->labels, val);
		} else if (!strcmp(key, "label!")) {
			strs_add(&f->not_labels, val);
		} else if (!strcmp(key, "reference")) {
			strs_add(&f->references, val);
		} else if (!strcmp(key, "until")) {
			strs_add(&f->until, val);
		}
	}
	if (dangling_true || dangling_false) {
		f->dangling = prune ? !dangling_false : dangling_true;
	} else if (dangling_bad) {
		_cleanup_free_ char *what = xasprintf("dangling=[%s]", dangling_bad);

		return invalid_filter(what, err);
	}
	return 0;
}

static json_t *image_labels(const struct strata_image *img)
{
	return img->labels;
}

/* filters.MatchKVList: every filter ("k" or "k=v") must match; no filter matches anything. */
static bool labels_match(const struct strs *labels, const json_t *have)
{
	if (!labels->nr)
		return true;
	if (!json_is_object(have))
		return false;
	for (size_t i = 0; i < labels->nr; i++) {
		const char *kv = labels->v[i], *eq = strchr(kv, '=');
		_cleanup_free_ char *key = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
		json_t *v = json_object_get(have, key);

		if (!v || (eq && (!json_is_string(v) || strcmp(json_string_value(v), eq + 1))))
			return false;
	}
	return true;
}


static int by_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t strata_image_labels(const struct strata_image *img, const char ***keys, const char ***values,
			   bool *has_labels)
{
	const json_t *labels = image_labels(img);
	const char *key;
	json_t *v;
	size_t n = 0;

	*keys = *values = NULL;
	if (has_labels)
		*has_labels = json_is_object(labels);
	if (!json_is_object(labels) || !json_object_size(labels))
		return 0;
	*keys = xcalloc(json_object_size(labels), sizeof(**keys));
	*values = xcalloc(json_object_size(labels), sizeof(**values));
	json_object_foreach((json_t *)labels, key, v)
		(*keys)[n++] = key;
	qsort(*keys, n, sizeof(**keys), by_key);
	/* a value that is no string (never in a config docker wrote) reads "" */
	for (size_t i = 0; i < n; i++)
		(*values)[i] = json_is_string(json_object_get(labels, (*keys)[i]))
				       ? json_string_value(json_object_get(labels, (*keys)[i]))
				       : "";
	return n;
}

static bool created_before(const struct strata_image *a, const struct strata_image *b)
{
	return a->created_sec < b->created_sec ||
	       (a->created_sec == b->created_sec && a->created_nsec < b->created_nsec);
}

static bool reference_match(const struct strs *patterns, const char *refstr)
{
	struct strata_ref ref;
	bool found = false;

	if (!patterns->nr)
		return true;
	if (strata_ref_parse(refstr, &ref, NULL) < 0)
		return false;
	for (size_t i = 0; i < patterns->nr && !found; i++)
		found = strata_ref_familiar_match(patterns->v[i], &ref);
	strata_ref_release(&ref);
	return found;
}

static size_t filter_refs(const char **refs, size_t n, const struct strs *patterns)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++)
		if (reference_match(patterns, refs[i]))
			refs[kept++] = refs[i];
	return kept;
}

/* repositories.json's entries sorted by image ID: one lookup per image instead of a scan. */
static int by_entry_id(const void *a, const void *b)
{
	const struct refstore_entry *x = *(const struct refstore_entry *const *)a;
	const struct refstore_entry *y = *(const struct refstore_entry *const *)b;

	return strcmp(x->id, y->id);
}

/* As strata_image_refs, from the sorted entries: the tag or the digest references of id, sorted. */
static size_t refs_of(const struct refstore_entry *const *byid, size_t nr, const char *id, bool digests,
		      const char ***out)
{
	size_t lo = 0, hi = nr, n = 0;
	const char **list;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(byid[mid]->id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*out = NULL;
	for (hi = lo; hi < nr && !strcmp(byid[hi]->id, id); hi++)
		n++;
	if (!n)
		return 0;
	list = xcalloc(n, sizeof(*list));
	n = 0;
	for (size_t i = lo; i < hi; i++)
		if ((strchr(byid[i]->ref, '@') != NULL) == digests)
			list[n++] = byid[i]->ref;
	qsort(list, n, sizeof(*list), by_key);
	*out = list;
	return n;
}

/* Which images, with which references, as the daemon's Images(). */
static bool summarize(const struct refstore_entry *const *byid, size_t nr_refs, struct strata_image *img,
		      const struct list_filters *f, bool all, struct strata_image_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->img = img;
	if (f->dangling == 1 && img->nr_children)
		return false;
	if (f->before && !created_before(img, f->before))
		return false;
	if (f->since && !created_before(f->since, img))
		return false;
	if (!labels_match(&f->labels, image_labels(img)))
		return false;
	s->nr_tags = refs_of(byid, nr_refs, img->id, false, &s->tags);
	s->nr_tags = filter_refs(s->tags, s->nr_tags, &f->references);
	s->nr_digests = refs_of(byid, nr_refs, img->id, true, &s->digests);
	s->nr_digests = filter_refs(s->digests, s->nr_digests, &f->references);
	if (!s->nr_tags && !s->nr_digests) {
		if (!(all || !img->nr_children) || f->dangling == 0 || f->references.nr)
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
	const struct strata_image_summary *x = a, *y = b;

	if (x->img->created_sec != y->img->created_sec)
		return x->img->created_sec < y->img->created_sec ? 1 : -1;
	return strcmp(x->img->id, y->img->id);
}

int strata_image_list(const struct strata_image_index *idx, const char *const *filters, size_t nr_filters,
		      bool all, struct strata_image_summary **out, size_t *nr, struct strata_error **err)
{
	struct list_filters f;
	struct strata_image_summary *sums;
	_cleanup_free_ const struct refstore_entry **byid = NULL;
	size_t n = 0;
	int ret;

	*out = NULL;
	*nr = 0;
	ret = parse_filters(idx, filters, nr_filters, "before\0dangling\0label\0reference\0since\0", false, &f, err);
	if (ret < 0) {
		list_filters_release(&f);
		return ret;
	}
	byid = xcalloc(idx->refs.nr ? idx->refs.nr : 1, sizeof(*byid));
	for (size_t i = 0; i < idx->refs.nr; i++)
		byid[i] = &idx->refs.entries[i];
	qsort(byid, idx->refs.nr, sizeof(*byid), by_entry_id);
	sums = xcalloc(idx->nr ? idx->nr : 1, sizeof(*sums));
	for (size_t i = 0; i < idx->nr; i++)
		if (summarize(byid, idx->refs.nr, idx->images[i], &f, all, &sums[n]))
			n++;
	qsort(sums, n, sizeof(*sums), by_created_desc);
	list_filters_release(&f);
	*out = sums;
	*nr = n;
	return 0;
}

void strata_image_list_free(struct strata_image_summary *s, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(s[i].tags);
		free(s[i].digests);
	}
	free(s);
}

/* time.ParseDuration: [-+]?(number unit)+ with units ns us µs ms s m h; "0" alone too. */
static bool parse_duration(const char *s, double *seconds)
{
	static const struct {
		const char *unit;
		double scale;
	} units[] = { { "ns", 1e-9 }, { "us", 1e-6 }, { "\xc2\xb5s", 1e-6 }, { "\xce\xbcs", 1e-6 },
		      { "ms", 1e-3 }, { "s", 1 },       { "m", 60 },             { "h", 3600 } };
	double sign = 1, total = 0;

	if (*s == '-' || *s == '+')
		sign = *s++ == '-' ? -1 : 1;
	if (!strcmp(s, "0")) {
		*seconds = 0;
		return true;
	}
	if (!*s)
		return false;
	while (*s) {
		char *end;
		double v;
		size_t best = 0, which = 0;

		if (!isdigit((unsigned char)*s) && *s != '.')
			return false;
		errno = 0;
		v = strtod(s, &end);
		if (end == s || errno)
			return false;
		s = end;
		/* the longest unit that matches: "ms" before "m" */
		for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
			size_t len = strlen(units[u].unit);

			if (!strncmp(s, units[u].unit, len) && len > best) {
				best = len;
				which = u;
			}
		}
		if (!best)
			return false;
		total += v * units[which].scale;
		s += best;
	}
	*seconds = sign * total;
	return true;
}

/*
 * The until filter's time, as docker's timetypes.GetTimestamp: a duration
 * before now, an RFC 3339 time, or Unix seconds[.nanoseconds].
 */
static int parse_until(const char *value, int64_t *sec, int32_t *nsec, struct strata_error **err)
{
	double d;
	char *end;

	*nsec = 0;
	if (strcmp(value, "0") && parse_duration(value, &d)) {
		*sec = (int64_t)time(NULL) - (int64_t)d;
		return 0;
	}
	if (strchr(value, '-'))
		return gotime_parse_rfc3339(value, sec, nsec, err);
	errno = 0;
	*sec = strtoll(value, &end, 10);
	if (*end == '.' && end[1]) {
		long long frac = 0;
		int digits = 0;
		const char *p = end + 1;

		for (; isdigit((unsigned char)*p) && digits < 9; p++, digits++)
			frac = frac * 10 + (*p - '0');
		for (; digits < 9; digits++)
			frac *= 10;
		if (!*p)
			end = (char *)p;
		*nsec = (int32_t)frac;
	}
	if (end == value || *end || errno)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "failed to parse value as time or duration: \"%s\"",
					value);
	return 0;
}

int image_prune_filters(const struct strata_image_index *idx, const char *const *filters, size_t nr_filters,
			struct image_prune_filters *out, struct strata_error **err)
{
	struct list_filters f;
	int ret;

	memset(out, 0, sizeof(*out));
	out->dangling_only = true;
	ret = parse_filters(idx, filters, nr_filters, "dangling\0label\0label!\0until\0", true, &f, err);
	if (ret >= 0 && f.dangling == 0)
		out->dangling_only = false;
	if (ret >= 0 && f.until.nr > 1)
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "more than one until filter specified");
	if (ret >= 0 && f.until.nr) {
		ret = parse_until(f.until.v[0], &out->until_sec, &out->until_nsec, err);
		out->until = ret >= 0;
	}
	if (ret >= 0) {
		out->labels = f.labels.v;
		out->nr_labels = f.labels.nr;
		out->not_labels = f.not_labels.v;
		out->nr_not_labels = f.not_labels.nr;
		f.labels.v = f.not_labels.v = NULL;
	}
	list_filters_release(&f);
	return ret;
}

void image_prune_filters_release(struct image_prune_filters *f)
{
	free(f->labels);
	free(f->not_labels);
}

bool image_prune_selects(const struct image_prune_filters *f, const struct strata_image *img)
{
	const json_t *labels = image_labels(img);
	struct strs have = { (const char **)f->labels, f->nr_labels, 0 };
	struct strs not = { (const char **)f->not_labels, f->nr_not_labels, 0 };

	if (f->until && (img->created_sec > f->until_sec ||
			 (img->created_sec == f->until_sec && img->created_nsec > f->until_nsec)))
		return false;
	/* dockerd's matchLabels, skipped for an image without a config section */
	if (!img->has_config_section)
		return true;
	if (!labels_match(&have, labels))
		return false;
	return !not.nr || !labels_match(&not, labels);
}
