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
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/utf8.h"

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

/* The wasted rows grouped by path (dive's fileReference): count and bytes. */
struct file_ref {
	const char *path;
	uint64_t count, size;
};

static int cmp_ref_path(const void *pa, const void *pb)
{
	return strcmp(((const struct file_ref *)pa)->path, ((const struct file_ref *)pb)->path);
}

static int cmp_ref_size(const void *pa, const void *pb)
{
	const struct file_ref *a = pa, *b = pb;

	if (a->size != b->size)
		return a->size > b->size ? -1 : 1;
	return strcmp(a->path, b->path);
}

static struct file_ref *file_refs(const struct strata_analysis *a, size_t *nr)
{
	size_t n = strata_analysis_wasted_count(a), out = 0;
	struct file_ref *refs = xcalloc(n ? n : 1, sizeof(*refs));

	for (size_t i = 0; i < n; i++) {
		const struct strata_wasted *w = strata_analysis_wasted(a, i);
		refs[i] = (struct file_ref){ w->path, 1, w->size };
	}
	qsort(refs, n, sizeof(*refs), cmp_ref_path);
	for (size_t i = 0; i < n; i++) {
		if (out && !strcmp(refs[out - 1].path, refs[i].path)) {
			refs[out - 1].count++;
			refs[out - 1].size += refs[i].size;
		} else {
			refs[out++] = refs[i];
		}
	}
	qsort(refs, out, sizeof(*refs), cmp_ref_size);
	*nr = out;
	return refs;
}

/* dive's export (dive --json): its schema, our definitions (inefficientBytes = wasted bytes). */
static void print_dive_json(const struct strata_analysis *a, size_t top)
{
	struct strata_analysis_summary sum;
	_cleanup_json_ json_t *o = json_object();
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	json_t *layers = json_array(), *image = json_object(), *files = json_array();
	size_t nr;
	_cleanup_free_ struct file_ref *refs = file_refs(a, &nr);

	strata_analysis_summary(a, &sum);
	for (size_t i = 0; i < strata_analysis_layer_count(a); i++) {
		struct strata_analysis_layer l;
		json_t *r = json_object();

		strata_analysis_layer(a, i, &l);
		json_object_set_new(r, "index", json_integer((json_int_t)i));
		json_object_set_new(r, "id", str(l.chain_id + strlen("sha256:")));
		json_object_set_new(r, "digestId", str(l.diff_id));
		json_object_set_new(r, "sizeBytes", json_integer((json_int_t)l.size));
		json_object_set_new(r, "command", str(l.created_by));
		json_array_append_new(layers, r);
	}
	json_object_set_new(o, "layer", layers);
	json_object_set_new(image, "sizeBytes", json_integer((json_int_t)sum.size));
	json_object_set_new(image, "inefficientBytes", json_integer((json_int_t)sum.wasted_bytes));
	json_object_set_new(image, "efficiencyScore", json_real(sum.efficiency));
	for (size_t i = 0; i < nr && i < top; i++) {
		json_t *r = json_object();

		json_object_set_new(r, "count", json_integer((json_int_t)refs[i].count));
		json_object_set_new(r, "sizeBytes", json_integer((json_int_t)refs[i].size));
		json_object_set_new(r, "file", str(refs[i].path));
		json_array_append_new(files, r);
	}
	json_object_set_new(image, "fileReference", files);
	json_object_set_new(o, "image", image);
	gojson_encode(&sb, o, 0);
	strbuf_addch(&sb, '\n');
	fwrite(sb.buf, 1, sb.len, stdout);
}

/*
 * Go's %v of a float64: the shortest digits that read back the same, in
 * %e form when the exponent is < -4 or >= 6 (strconv 'g', precision -1),
 * as dive prints thresholds and scores.
 */
static void go_float(struct strbuf *sb, double f)
{
	char buf[64], digits[32];
	int p, exp, nd = 0;

	for (p = 1; p <= 17; p++) {
		snprintf(buf, sizeof(buf), "%.*e", p - 1, f);
		if (strtod(buf, NULL) == f)
			break;
	}
	/* buf is [-]d[.ddd]e[+-]XX */
	const char *c = buf;
	if (*c == '-') {
		strbuf_addch(sb, '-');
		c++;
	}
	for (; *c && *c != 'e'; c++)
		if (*c != '.')
			digits[nd++] = *c;
	exp = (int)strtol(c + 1, NULL, 10);
	if (f == 0) {
		strbuf_addch(sb, '0');
		return;
	}
	if (exp < -4 || exp >= 6) {
		strbuf_addch(sb, digits[0]);
		if (nd > 1) {
			strbuf_addch(sb, '.');
			strbuf_add(sb, digits + 1, (size_t)nd - 1);
		}
		strbuf_addf(sb, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	} else if (exp < 0) {
		strbuf_addstr(sb, "0.");
		strbuf_addchars(sb, '0', (size_t)(-exp - 1));
		strbuf_add(sb, digits, (size_t)nd);
	} else {
		for (int i = 0; i <= exp || i < nd; i++) {
			if (i == exp + 1)
				strbuf_addch(sb, '.');
			strbuf_addch(sb, i < nd ? digits[i] : '0');
		}
	}
}

/* go-humanize Bytes: SI units, one decimal below 10. */
static void humanize_bytes(struct strbuf *sb, uint64_t v)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
	double d = (double)v;
	size_t u = 0;

	if (v < 10) {
		strbuf_addf(sb, "%llu B", (unsigned long long)v);
		return;
	}
	while (d >= 1000 && u + 1 < sizeof(units) / sizeof(units[0])) {
		d /= 1000;
		u++;
	}
	/* go-humanize rounds to one decimal first, then drops it from 10 on */
	d = (double)(long long)(d * 10 + 0.5) / 10;
	strbuf_addf(sb, d < 10 ? "%.1f %s" : "%.0f %s", d, units[u]);
}

/* go-humanize ParseBytes: "20MB", "1.5 GiB", "300": SI and IEC units, any case. */
static int parse_bytes(const char *s, uint64_t *out, struct strbuf *why)
{
	static const struct { const char *name; double mult; } units[] = {
		{ "", 1 }, { "b", 1 }, { "k", 1e3 }, { "kb", 1e3 }, { "ki", 1024.0 }, { "kib", 1024.0 },
		{ "m", 1e6 }, { "mb", 1e6 }, { "mi", 1048576.0 }, { "mib", 1048576.0 },
		{ "g", 1e9 }, { "gb", 1e9 }, { "gi", 1073741824.0 }, { "gib", 1073741824.0 },
		{ "t", 1e12 }, { "tb", 1e12 }, { "ti", 1099511627776.0 }, { "tib", 1099511627776.0 },
		{ "p", 1e15 }, { "pb", 1e15 }, { "pi", 1125899906842624.0 }, { "pib", 1125899906842624.0 },
	};
	char num[64], unit[16];
	size_t n = 0, u = 0;
	const char *c = s;
	char *end;
	double v;

	while (*c && (strchr("0123456789.", *c)) && n + 1 < sizeof(num))
		num[n++] = *c++;
	num[n] = '\0';
	while (*c == ' ')
		c++;
	for (; *c && u + 1 < sizeof(unit); c++)
		unit[u++] = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	unit[u] = '\0';
	v = strtod(num, &end);
	if (!n || *end) {
		strbuf_addf(why, "strconv.ParseFloat: parsing \"%s\": invalid syntax", num);
		return -1;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!*c && !strcmp(unit, units[i].name)) {
			double b = v * units[i].mult;
			if (b >= 18446744073709551616.0) {
				strbuf_addf(why, "too large: %s", s);
				return -1;
			}
			*out = (uint64_t)b;
			return 0;
		}
	}
	strbuf_addf(why, "unhandled size name: %s", unit);
	return -1;
}

static int parse_ratio(const char *s, double *out, struct strbuf *why)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (!*s || *end || errno) {
		strbuf_addf(why, "strconv.ParseFloat: parsing \"%s\": invalid syntax", s);
		return -1;
	}
	return 0;
}

enum ci_status { CI_PASS, CI_FAIL, CI_SKIP };

struct ci_result {
	const char *name;
	enum ci_status status;
	struct strbuf msg;
};

/* dive's three rules, in its order of report (sorted by name). */
static void ci_evaluate(const struct strata_analysis_summary *sum, const struct strata_ci_rules *rules,
			struct ci_result res[3])
{
	const char *user = rules->highest_user_wasted_percent ? rules->highest_user_wasted_percent : "0.1";
	const char *bytes = rules->highest_wasted_bytes ? rules->highest_wasted_bytes : "disabled";
	const char *eff = rules->lowest_efficiency ? rules->lowest_efficiency : "0.9";
	double user_pct = sum->user_size ? (double)sum->user_wasted_bytes / (double)sum->user_size : 0;
	const char *values[3] = { user, bytes, eff };
	static const char *const names[3] = { "highestUserWastedPercent", "highestWastedBytes", "lowestEfficiency" };

	for (int i = 0; i < 3; i++) {
		struct ci_result *r = &res[i];
		_cleanup_strbuf_ struct strbuf why = STRBUF_INIT;
		double ratio = 0;
		uint64_t limit = 0;
		int bad;

		r->name = names[i];
		r->status = CI_PASS;
		strbuf_init(&r->msg, 0);
		if (!strcmp(values[i], "disabled")) {
			r->status = CI_SKIP;
			strbuf_addstr(&r->msg, "rule disabled");
			continue;
		}
		bad = i == 1 ? parse_bytes(values[i], &limit, &why) : parse_ratio(values[i], &ratio, &why);
		if (bad) {
			r->status = CI_FAIL;
			strbuf_addf(&r->msg, "invalid config value ('%s'): %s", values[i], why.buf);
			continue;
		}
		if (i == 0 && ratio < user_pct) {
			r->status = CI_FAIL;
			strbuf_addstr(&r->msg, "too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes=");
			go_float(&r->msg, user_pct);
			strbuf_addstr(&r->msg, " > threshold=");
			go_float(&r->msg, ratio);
			strbuf_addch(&r->msg, ')');
		} else if (i == 1 && sum->wasted_bytes > limit) {
			r->status = CI_FAIL;
			strbuf_addf(&r->msg, "too many bytes wasted (wasted-bytes=%llu > threshold=%llu)",
				    (unsigned long long)sum->wasted_bytes, (unsigned long long)limit);
		} else if (i == 2 && ratio > sum->efficiency) {
			r->status = CI_FAIL;
			strbuf_addstr(&r->msg, "image efficiency is too low (efficiency=");
			go_float(&r->msg, sum->efficiency);
			strbuf_addstr(&r->msg, " < threshold=");
			go_float(&r->msg, ratio);
			strbuf_addch(&r->msg, ')');
		}
	}
}

/* dive --ci: the figures, the inefficient files, one line per rule; 1 when one fails. */
static int print_ci(const struct strata_analysis *a, const struct strata_ci_rules *rules, size_t top, bool tty)
{
	struct strata_analysis_summary sum;
	struct ci_result res[3];
	size_t nr, pass = 0, fail = 0, skip = 0;
	_cleanup_free_ struct file_ref *refs = file_refs(a, &nr);
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	strata_analysis_summary(a, &sum);
	ci_evaluate(&sum, rules, res);
	printf("  efficiency: %.4f %%\n", sum.efficiency * 100);
	humanize_bytes(&sb, sum.wasted_bytes);
	printf("  wastedBytes: %llu bytes (%s)\n", (unsigned long long)sum.wasted_bytes, sb.buf);
	printf("  userWastedPercent: %.4f %%\n",
	       sum.user_size ? 100.0 * (double)sum.user_wasted_bytes / (double)sum.user_size : 0.0);
	printf("Inefficient Files:\n%5s  %12s  %s\n", "Count", "Wasted Space", "File Path");
	if (!nr)
		puts("None");
	for (size_t i = 0; i < nr && i < top; i++) {
		strbuf_reset(&sb);
		humanize_bytes(&sb, refs[i].size);
		printf("%5llu  %12s  ", (unsigned long long)refs[i].count, sb.buf);
		put_safe(stdout, refs[i].path);
		putchar('\n');
	}
	puts("Results:");
	for (int i = 0; i < 3; i++) {
		static const char *const word[] = { "PASS", "FAIL", "SKIP" };
		const char *colour = !tty ? "" : res[i].status == CI_FAIL ? "\033[1;7;31m" : res[i].status == CI_PASS ? "\033[32m" : "\033[34m";

		printf("  %s%s%s: %s", colour, word[res[i].status], tty ? "\033[0m" : "", res[i].name);
		if (res[i].msg.len)
			printf(": %s", res[i].msg.buf);
		putchar('\n');
		pass += res[i].status == CI_PASS;
		fail += res[i].status == CI_FAIL;
		skip += res[i].status == CI_SKIP;
		strbuf_release(&res[i].msg);
	}
	printf("%sResult:%s [Total:3] [Passed:%zu] [Failed:%zu] [Warn:0] [Skipped:%zu]%s\n",
	       tty ? (fail ? "\033[31m" : "\033[32m") : "", fail ? "FAIL" : "PASS", pass, fail, skip,
	       tty ? "\033[0m" : "");
	return fail ? 1 : 0;
}

/* Text for HTML: escaped, invalid UTF-8 as U+FFFD, control bytes as \xHH. */
static void html_text(struct strbuf *sb, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		int32_t r;
		size_t l = utf8_decode_rune(s + i, n - i, &r);
		unsigned char c = (unsigned char)s[i];

		if (r == 0xfffd && l == 1)
			strbuf_addstr(sb, "\xef\xbf\xbd");
		else if (c == '&')
			strbuf_addstr(sb, "&amp;");
		else if (c == '<')
			strbuf_addstr(sb, "&lt;");
		else if (c == '>')
			strbuf_addstr(sb, "&gt;");
		else if (c == '"')
			strbuf_addstr(sb, "&quot;");
		else if (c == '\'')
			strbuf_addstr(sb, "&#39;");
		else if (c < 0x20 || c == 0x7f)
			strbuf_addf(sb, "\\x%02x", c);
		else
			strbuf_add(sb, s + i, l);
		i += l;
	}
}

/* The wasted bytes by directory, for the icicle: one node per path component. */
struct dir_node {
	const char *name;
	size_t name_len;
	uint64_t size;
	size_t child, next; /* indexes, 0 = none (node 0 is the root) */
};

/* Path order with '/' before every other byte, so a directory's paths are contiguous. */
static int cmp_tree_path(const void *pa, const void *pb)
{
	const unsigned char *a = (const unsigned char *)((const struct file_ref *)pa)->path;
	const unsigned char *b = (const unsigned char *)((const struct file_ref *)pb)->path;

	for (; *a && *a == *b; a++, b++)
		;
	int ka = *a == '/' ? 1 : *a ? *a + 1 : 0, kb = *b == '/' ? 1 : *b ? *b + 1 : 0;
	return ka - kb;
}

#define ICICLE_DEPTH 8
#define ICICLE_MAX_NODES 20000

static struct dir_node *dir_tree(struct file_ref *refs, size_t nr, size_t *count)
{
	size_t alloc = 64, n = 1, stack[ICICLE_DEPTH + 1] = { 0 }, depth = 0;
	struct dir_node *t = xcalloc(alloc, sizeof(*t));

	qsort(refs, nr, sizeof(*refs), cmp_tree_path);
	t[0].name = "/";
	t[0].name_len = 1;
	for (size_t i = 0; i < nr; i++) {
		const char *p = refs[i].path + 1;
		size_t d = 0;

		t[0].size += refs[i].size;
		while (*p && d < ICICLE_DEPTH) {
			const char *slash = strchr(p, '/');
			size_t len = slash ? (size_t)(slash - p) : strlen(p);
			size_t parent = stack[d], k;

			/* the open node at this depth, or a new child of the parent */
			if (d < depth && t[stack[d + 1]].name_len == len && !memcmp(t[stack[d + 1]].name, p, len)) {
				k = stack[d + 1];
			} else {
				if (n == ICICLE_MAX_NODES)
					break;
				if (n == alloc) {
					alloc *= 2;
					t = xrealloc(t, alloc * sizeof(*t));
				}
				k = n++;
				t[k] = (struct dir_node){ p, len, 0, 0, t[parent].child };
				t[parent].child = k;
				depth = d;
			}
			t[k].size += refs[i].size;
			stack[++d] = k;
			if (d > depth)
				depth = d;
			p += len + (slash ? 1 : 0);
			if (!slash)
				break;
		}
		depth = d;
	}
	*count = n;
	return t;
}

static void html_icicle(struct strbuf *sb, const struct dir_node *t, size_t k, uint64_t total)
{
	_cleanup_strbuf_ struct strbuf name = STRBUF_INIT, size = STRBUF_INIT;
	_cleanup_free_ char *nm = xstrndup(t[k].name, t[k].name_len);

	html_text(&name, nm);
	units_human_size(&size, (double)t[k].size);
	strbuf_addf(sb, "<div class=\"node\" style=\"flex-grow:%llu\" title=\"%s %s\"><div class=\"cell\">%s</div>",
		    (unsigned long long)t[k].size, name.buf, size.buf, name.buf);
	if (t[k].child) {
		strbuf_addstr(sb, "<div class=\"kids\">");
		for (size_t c = t[k].child; c; c = t[c].next)
			if (t[c].size * 200 >= total) /* under 0.5 %: too thin to show */
				html_icicle(sb, t, c, total);
		strbuf_addstr(sb, "</div>");
	}
	strbuf_addstr(sb, "</div>");
}

/* One self-contained page: layer bars, an icicle of wasted bytes, a sortable table. */
static void print_html(const struct strata_image *img, const struct strata_analysis *a, size_t top)
{
	struct strata_analysis_summary sum;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT, t1 = STRBUF_INIT, t2 = STRBUF_INIT, t3 = STRBUF_INIT;
	size_t nl = strata_analysis_layer_count(a), nw = strata_analysis_wasted_count(a), nr, nn;
	_cleanup_free_ struct file_ref *refs = file_refs(a, &nr);
	_cleanup_free_ struct dir_node *tree = NULL;
	uint64_t largest = 1;

	strata_analysis_summary(a, &sum);
	for (size_t i = 0; i < nl; i++) {
		struct strata_analysis_layer l;
		strata_analysis_layer(a, i, &l);
		if (l.size > largest)
			largest = l.size;
	}
	strbuf_addstr(&sb, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>strata analyze ");
	html_text(&sb, strata_image_id(img));
	strbuf_addstr(&sb, "</title>\n<style>\n"
		"body{font:14px sans-serif;margin:1em 2em}td,th{padding:2px 8px;text-align:left}\n"
		".bar{display:inline-block;width:300px;height:12px;background:#eee;vertical-align:middle}\n"
		".kept{display:inline-block;height:12px;background:#4a7}.waste{display:inline-block;height:12px;background:#d44}\n"
		"#icicle{display:flex;width:100%;font-size:11px}.node{display:flex;flex-direction:column;flex-basis:0;min-width:0}\n"
		".cell{background:#fdd;border:1px solid #fff;overflow:hidden;white-space:nowrap;padding:1px}.kids{display:flex}\n"
		"th{cursor:pointer;background:#eee}\n</style></head><body>\n<h1>");
	html_text(&sb, strata_image_id(img));
	strbuf_addf(&sb, "</h1>\n<p id=\"summary\">Efficiency %.2f %%: %s of %s wasted (%s by layers above the base)</p>\n",
		    sum.efficiency * 100, human(&t1, sum.wasted_bytes), human(&t2, sum.size),
		    human(&t3, sum.user_wasted_bytes));
	strbuf_addstr(&sb, "<h2>Layers</h2>\n<table id=\"layers\"><tr><th>#</th><th>size</th><th>wasted</th><th>kept / wasted</th><th>created by</th></tr>\n");
	for (size_t i = 0; i < nl; i++) {
		struct strata_analysis_layer l;

		strata_analysis_layer(a, i, &l);
		strbuf_addf(&sb, "<tr class=\"layer\" data-size=\"%llu\" data-wasted=\"%llu\"><td>%zu</td><td>%s</td><td>%s</td>"
			    "<td><span class=\"bar\"><span class=\"kept\" style=\"width:%.2f%%\"></span>"
			    "<span class=\"waste\" style=\"width:%.2f%%\"></span></span></td><td>",
			    (unsigned long long)l.size, (unsigned long long)l.wasted_bytes, i, human(&t1, l.size),
			    human(&t2, l.wasted_bytes), 100.0 * (double)(l.size - l.wasted_bytes) / (double)largest,
			    100.0 * (double)l.wasted_bytes / (double)largest);
		html_text(&sb, l.created_by);
		strbuf_addstr(&sb, "</td></tr>\n");
	}
	strbuf_addstr(&sb, "</table>\n<h2>Wasted bytes by directory</h2>\n<div id=\"icicle\">");
	if (nr) {
		tree = dir_tree(refs, nr, &nn);
		html_icicle(&sb, tree, 0, tree[0].size);
	}
	strbuf_addstr(&sb, "</div>\n<h2>Wasted paths</h2>\n<table id=\"wasted\"><thead><tr><th data-type=\"num\">size</th>"
		      "<th>path</th><th data-type=\"num\">layer</th><th data-type=\"num\">hidden by</th><th>how</th>"
		      "<th>same content</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < nw && i < top; i++) {
		const struct strata_wasted *w = strata_analysis_wasted(a, i);

		strbuf_addf(&sb, "<tr><td data-v=\"%llu\">%s</td><td>", (unsigned long long)w->size, human(&t1, w->size));
		html_text(&sb, w->path);
		strbuf_addf(&sb, "</td><td>%zu</td><td>%zu</td><td>%s</td><td>%s</td></tr>\n", w->layer, w->hidden_by,
			    strata_hidden_how_name(w->how), w->same_content ? "yes" : "no");
	}
	strbuf_addstr(&sb, "</tbody></table>\n<script>\n"
		"document.querySelectorAll('#wasted th').forEach(function(th, col) {\n"
		"  th.addEventListener('click', function() {\n"
		"    var body = document.querySelector('#wasted tbody'), rows = Array.from(body.rows);\n"
		"    var num = th.dataset.type === 'num', dir = th.dataset.dir === 'asc' ? -1 : 1;\n"
		"    th.dataset.dir = dir > 0 ? 'asc' : 'desc';\n"
		"    rows.sort(function(a, b) {\n"
		"      var x = a.cells[col], y = b.cells[col];\n"
		"      x = num ? Number(x.dataset.v || x.textContent) : x.textContent;\n"
		"      y = num ? Number(y.dataset.v || y.textContent) : y.textContent;\n"
		"      return (x < y ? -1 : x > y ? 1 : 0) * dir;\n"
		"    });\n"
		"    rows.forEach(function(r) { body.appendChild(r); });\n"
		"  });\n"
		"});\n</script>\n</body></html>\n");
	fwrite(sb.buf, 1, sb.len, stdout);
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
	const char *format = NULL, *top_s = NULL, *base_s = NULL, *ci_config = NULL;
	const char *lowest_eff = NULL, *highest_bytes = NULL, *highest_user = NULL;
	bool ci = false;
	const struct flag flags[] = {
		{ "base", 0, FLAG_STRING, &base_s, "Count the layers of this image as the base" },
		{ "ci", 0, FLAG_BOOL, &ci, "Judge the image by dive's CI rules (exit 1 when one fails)" },
		{ "ci-config", 0, FLAG_STRING, &ci_config, "The rules file (default .dive-ci when it exists)" },
		{ "format", 0, FLAG_STRING, &format, "Output format: table, json, dive-json, html" },
		{ "highest-user-wasted-percent", 0, FLAG_STRING, &highest_user,
		  "CI: the highest ratio of wasted bytes to the bytes above the base (default 0.1)" },
		{ "highest-wasted-bytes", 0, FLAG_STRING, &highest_bytes, "CI: the most wasted bytes, e.g. 20MB (default disabled)" },
		{ "lowest-efficiency", 0, FLAG_STRING, &lowest_eff, "CI: the lowest efficiency ratio (default 0.9)" },
		{ "top", 0, FLAG_STRING, &top_s, "Show only the N largest wasted paths (default 20 in the table)" },
		{ 0 },
	};
	_cleanup_(strata_ci_rules_release) struct strata_ci_rules rules = { 0 };
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
	if (strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "dive-json") &&
	    strcmp(format, "html")) {
		fprintf(stderr, "Error: unknown format \"%s\": use table, json, dive-json or html\n", format);
		free(args);
		return 1;
	}
	if (top_s && parse_count(top_s, &top) < 0) {
		fprintf(stderr, "invalid argument \"%s\" for \"--top\" flag: not a count\n", top_s);
		free(args);
		return 125;
	}
	if (!top_s && !strcmp(format, "table") && !ci)
		top = TABLE_TOP;
	if (ci) {
		rules.lowest_efficiency = lowest_eff ? xstrdup(lowest_eff) : NULL;
		rules.highest_wasted_bytes = highest_bytes ? xstrdup(highest_bytes) : NULL;
		rules.highest_user_wasted_percent = highest_user ? xstrdup(highest_user) : NULL;
		/* dive reads .dive-ci when it is there; a file named on purpose must be */
		if (strata_ci_rules_load(ci_config ? ci_config : ".dive-ci", &rules, &err) < 0 &&
		    (ci_config || err->code != STRATA_ERR_NOT_FOUND)) {
			free(args);
			return cli_fail(err);
		}
		strata_error_freep(&err);
	}
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
		if (ci)
			ret = print_ci(a, &rules, top, isatty(STDOUT_FILENO));
		else if (!strcmp(format, "json"))
			print_json(img, a, top);
		else if (!strcmp(format, "dive-json"))
			print_dive_json(a, top);
		else if (!strcmp(format, "html"))
			print_html(img, a, top);
		else
			print_table(a, top, isatty(STDOUT_FILENO));
	}
	strata_analysis_free(a);
	strata_image_index_free(idx);
	strata_store_free(store);
	free(args);
	return ret;
}
