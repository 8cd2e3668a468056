/* .dockerignore patterns with moby 20.10's rules (see dockerignore.h). */
#include <regex.h>
#include <string.h>

#include "build/dockerignore.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

struct ignore_pattern {
	char *text;     /* cleaned, without the '!' */
	bool exclusion; /* a '!' exception */
	size_t ndirs;   /* path components of text */
	bool compiled;
	regex_t re;
};

struct build_ignore {
	struct ignore_pattern *pats;
	size_t n, alloc;
	bool bad_exclusion; /* a line that is only "!" */
};

char *build_path_clean(const char *path)
{
	size_t n = strlen(path);
	bool rooted = n && path[0] == '/';
	struct strbuf out = STRBUF_INIT;
	size_t dotdot = 0; /* where a ".." may no longer go back */
	size_t r = 0;

	if (n == 0)
		return xstrdup(".");
	if (rooted) {
		strbuf_addch(&out, '/');
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (path[r] == '/') {
			r++;
		} else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
			r++;
		} else if (path[r] == '.' && path[r + 1] == '.' &&
			   (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (out.len > dotdot) {
				size_t w = out.len - 1;
				while (w > dotdot && out.buf[w] != '/')
					w--;
				strbuf_setlen(&out, w);
			} else if (!rooted) {
				if (out.len > 0)
					strbuf_addch(&out, '/');
				strbuf_addstr(&out, "..");
				dotdot = out.len;
			}
		} else {
			if ((rooted && out.len != 1) || (!rooted && out.len != 0))
				strbuf_addch(&out, '/');
			while (r < n && path[r] != '/')
				strbuf_addch(&out, path[r++]);
		}
	}
	if (out.len == 0)
		strbuf_addch(&out, '.');
	return strbuf_detach(&out, NULL);
}

static size_t count_dirs(const char *p)
{
	size_t n = 1;

	for (; *p; p++)
		if (*p == '/')
			n++;
	return n;
}

/* The length of a Go regexp repeat "{n}", "{n,}" or "{n,m}" at p (0: none) and its largest count. */
static size_t repeat_len(const char *p, long *max)
{
	const char *q = p + 1;
	long n = 0;

	*max = 0;
	for (int part = 0; part < 2; part++) {
		const char *digits = q;

		n = 0;
		while (*q >= '0' && *q <= '9') {
			if (n <= 100000)
				n = n * 10 + (*q - '0');
			q++;
		}
		if (q == digits && part == 0)
			return 0;
		if (n > *max)
			*max = n;
		if (*q == '}')
			return (size_t)(q - p + 1);
		if (*q != ',' || part == 1)
			return 0;
		q++;
	}
	return 0;
}

/*
 * pkg/fileutils compile(): the pattern as an anchored regular expression.
 * moby hands characters other than * ? . $ \ to Go's regexp as they are,
 * which refuses a repetition of a repetition ("a++", "*+") and counts
 * above 1000; glibc would accept them and grow without bound, so they are
 * refused here with Go's message.  Returns false with *bad the operator.
 */
static bool pattern_regex(const char *p, struct strbuf *re, char **bad)
{
	const char *rep = NULL; /* the last token, when it repeats what precedes it */

	strbuf_addch(re, '^');
	for (; *p; p++) {
		long count;
		size_t rl = *p == '{' ? repeat_len(p, &count) : 0;

		if (*p == '+' || rl) {
			size_t n = rl ? rl : 1;

			if (rep) {
				/* Go names both operators */
				*bad = xasprintf("invalid nested repetition operator: `%.*s`",
						 (int)(p + n - rep), rep);
				return false;
			}
			if (rl && count > 1000) {
				*bad = xasprintf("invalid repeat count: `%.*s`", (int)n, p);
				return false;
			}
			strbuf_add(re, p, n);
			rep = p;
			p += n - 1;
			continue;
		}
		rep = NULL;
		if (*p == '*') {
			rep = p;
			if (p[1] == '*') {
				p++;
				if (p[1] == '\0') {
					strbuf_addstr(re, ".*");
				} else {
					/* "**" swallows a following '/' so "**" + "/x" matches "x" */
					if (p[1] == '/') {
						p++;
						rep = NULL;
					}
					strbuf_addstr(re, "(.*/)?");
				}
			} else {
				strbuf_addstr(re, "[^/]*");
			}
		} else if (*p == '?') {
			strbuf_addstr(re, "[^/]");
		} else if (*p == '.' || *p == '$') {
			strbuf_addch(re, '\\');
			strbuf_addch(re, *p);
		} else if (*p == '\\') {
			strbuf_addch(re, '\\');
			if (p[1]) {
				p++;
				strbuf_addch(re, *p);
			}
		} else {
			strbuf_addch(re, *p);
		}
	}
	strbuf_addch(re, '$');
	return true;
}

static void add_pattern(struct build_ignore *ig, const char *line, size_t len)
{
	_cleanup_free_ char *raw = NULL;
	struct ignore_pattern *pat;
	bool exclusion = false;
	char *s, *e;

	raw = xmalloc(len + 1);
	memcpy(raw, line, len);
	raw[len] = '\0';
	s = raw;
	/* strings.TrimSpace, then '!' and TrimSpace again, as ReadAll does */
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' || *s == '\f')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\v' || e[-1] == '\f'))
		*--e = '\0';
	if (*s == '\0')
		return;
	if (*s == '!') {
		exclusion = true;
		s++;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0') {
			ig->bad_exclusion = true;
			return;
		}
	}
	ALLOC_GROW(ig->pats, ig->n + 1, ig->alloc);
	pat = &ig->pats[ig->n++];
	memset(pat, 0, sizeof(*pat));
	pat->exclusion = exclusion;
	pat->text = build_path_clean(s);
	if (strlen(pat->text) > 1 && pat->text[0] == '/')
		memmove(pat->text, pat->text + 1, strlen(pat->text));
	pat->ndirs = count_dirs(pat->text);
}

int build_ignore_parse(const char *data, size_t len, struct build_ignore **out,
		       struct strata_error **err)
{
	struct build_ignore *ig = xcalloc(1, sizeof(*ig));
	size_t i = 0;

	/* bufio.Scanner's first line loses a UTF-8 byte order mark */
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len) {
		size_t j = i, end;

		while (j < len && data[j] != '\n')
			j++;
		end = j;
		/* a '#' starts a comment only at the start of the line */
		if (!(end > i && data[i] == '#'))
			add_pattern(ig, data + i, end - i);
		i = j + 1;
	}
	if (ig->bad_exclusion) {
		build_ignore_free(ig);
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"illegal exclusion pattern: \"!\"");
	}
	for (size_t k = 0; k < ig->n; k++) {
		struct ignore_pattern *pat = &ig->pats[k];
		struct strbuf re = STRBUF_INIT;
		int rc;

		_cleanup_free_ char *bad = NULL;

		if (!pattern_regex(pat->text, &re, &bad)) {
			int r = strata_error_set(err, STRATA_ERR_INVALID, 0,
						 "Error checking context: 'error parsing regexp: %s'", bad);

			strbuf_release(&re);
			build_ignore_free(ig);
			return r;
		}
		rc = regcomp(&pat->re, re.buf, REG_EXTENDED | REG_NOSUB);
		strbuf_release(&re);
		if (rc != 0) {
			int r = strata_error_set(err, STRATA_ERR_INVALID, 0,
						 "Error checking context: 'syntax error in pattern'");
			build_ignore_free(ig);
			return r;
		}
		pat->compiled = true;
	}
	*out = ig;
	return 0;
}

static bool pattern_match(const struct ignore_pattern *pat, const char *path)
{
	return regexec(&pat->re, path, 0, NULL, 0) == 0;
}

bool build_ignore_match(const struct build_ignore *ig, const char *path)
{
	_cleanup_free_ char *file = build_path_clean(path);
	const char *slash = strrchr(file, '/');
	size_t parent_len = slash ? (size_t)(slash - file) : 0;
	size_t parent_dirs = slash ? count_dirs(file) - 1 : 0;
	bool matched = false;

	for (size_t k = 0; k < ig->n; k++) {
		const struct ignore_pattern *pat = &ig->pats[k];
		bool m;

		/* an exception cannot change a path nothing excluded yet */
		if (pat->exclusion && !matched)
			continue;
		m = pattern_match(pat, file);
		if (!m && parent_len && pat->ndirs <= parent_dirs) {
			/* the first ndirs components of the parent folder */
			_cleanup_free_ char *prefix = NULL;
			size_t cut = 0, seen = 0;

			while (cut < parent_len) {
				if (file[cut] == '/' && ++seen == pat->ndirs)
					break;
				cut++;
			}
			prefix = xmalloc(cut + 1);
			memcpy(prefix, file, cut);
			prefix[cut] = '\0';
			m = pattern_match(pat, prefix);
		}
		if (m)
			matched = !pat->exclusion;
	}
	return matched;
}

bool build_ignore_has_exceptions(const struct build_ignore *ig)
{
	for (size_t k = 0; k < ig->n; k++)
		if (ig->pats[k].exclusion)
			return true;
	return false;
}

void build_ignore_free(struct build_ignore *ig)
{
	if (!ig)
		return;
	for (size_t k = 0; k < ig->n; k++) {
		if (ig->pats[k].compiled)
			regfree(&ig->pats[k].re);
		free(ig->pats[k].text);
	}
	free(ig->pats);
	free(ig);
}
