/* Dockerfile lines, directives and continuations as moby 20.10 reads them. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "build/dockerfile.h"
#include <jansson.h>

#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static const char *skip_space(const char *s)
{
	while (is_space(*s))
		s++;
	return s;
}

static bool is_comment(const char *line)
{
	return *skip_space(line) == '#';
}

/*
 * A parser directive "# key = value": only in the lines before the first
 * instruction, comment or blank line; *is_directive says whether line is one.
 */
static int directive(struct build_dockerfile *df, const char *line, bool *seen_escape,
		     bool *is_directive, struct strata_error **err)
{
	const char *p = line, *k, *v, *ve;
	size_t klen;

	*is_directive = false;
	if (*p != '#')
		return 0;
	p = skip_space(p + 1);
	if (!isalpha((unsigned char)*p))
		return 0;
	k = p;
	while (isalnum((unsigned char)*p))
		p++;
	klen = (size_t)(p - k);
	p = skip_space(p);
	if (*p != '=')
		return 0;
	v = skip_space(p + 1);
	ve = v + strlen(v);
	while (ve > v && is_space(ve[-1]))
		ve--;
	if (ve == v)
		return 0;
	*is_directive = true;
	if (klen == 6 && !strncasecmp(k, "escape", 6)) {
		if (*seen_escape)
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"only one escape parser directive can be used");
		if (ve - v != 1 || (*v != '\\' && *v != '`'))
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"invalid ESCAPE '%.*s'. Must be ` or \\",
						(int)(ve - v), v);
		df->escape = *v;
		*seen_escape = true;
	}
	return 0;
}

/* Strip a trailing escape token (plus blanks); true when the line ends there. */
static bool trim_continuation(struct strbuf *line, char escape)
{
	size_t n = line->len;

	while (n > 0 && (line->buf[n - 1] == ' ' || line->buf[n - 1] == '\t'))
		n--;
	if (n == 0 || line->buf[n - 1] != escape)
		return true;
	strbuf_setlen(line, n - 1);
	return false;
}

static void push_word(char ***flags, size_t *n, size_t *alloc, struct strbuf *word)
{
	ALLOC_GROW(*flags, *n + 1, *alloc);
	(*flags)[(*n)++] = xstrdup(word->buf);
	strbuf_reset(word);
}

void build_split_flags(const char *line, char ***flags, size_t *nflags, const char **args)
{
	enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
	struct strbuf word = STRBUF_INIT;
	size_t len = strlen(line), alloc = 0;
	bool blank_ok = false;
	char quote = 0;

	*flags = NULL;
	*nflags = 0;
	*args = line + len;
	for (size_t pos = 0; pos <= len; pos++) {
		char ch = pos < len ? line[pos] : 0;

		if (phase == IN_SPACES) {
			if (pos == len)
				break;
			if (is_space(ch))
				continue;
			if (ch != '-' || pos + 1 == len || line[pos + 1] != '-') {
				*args = line + pos;
				break;
			}
			phase = IN_WORD;
		}
		if (pos == len) {
			if (strcmp(word.buf, "--") && (blank_ok || word.len))
				push_word(flags, nflags, &alloc, &word);
			break;
		}
		if (phase == IN_WORD) {
			if (is_space(ch)) {
				phase = IN_SPACES;
				if (!strcmp(word.buf, "--")) {
					*args = line + pos;
					break;
				}
				if (blank_ok || word.len)
					push_word(flags, nflags, &alloc, &word);
				strbuf_reset(&word);
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = IN_QUOTE;
				continue;
			}
			if (ch == '\\') {
				if (pos + 1 == len)
					continue;
				ch = line[++pos];
			}
			strbuf_addch(&word, ch);
			continue;
		}
		/* IN_QUOTE */
		if (ch == quote) {
			phase = IN_WORD;
			continue;
		}
		if (ch == '\\') {
			if (pos + 1 == len) {
				phase = IN_WORD;
				continue;
			}
			ch = line[++pos];
		}
		strbuf_addch(&word, ch);
	}
	strbuf_release(&word);
}

static void add_warning(struct build_dockerfile *df, char *w)
{
	ALLOC_GROW(df->warnings, df->nwarnings + 1, df->warnings_alloc);
	df->warnings[df->nwarnings++] = w;
}

static void add_node(struct build_dockerfile *df, const char *line, size_t start, size_t end)
{
	const char *s = skip_space(line), *e = s;
	struct build_node *node;
	_cleanup_free_ char *cmd = NULL;

	while (*e && !is_space(*e))
		e++;
	cmd = xmalloc((size_t)(e - s) + 1);
	for (size_t i = 0; i < (size_t)(e - s); i++)
		cmd[i] = (char)tolower((unsigned char)s[i]);
	cmd[e - s] = '\0';
	ALLOC_GROW(df->nodes, df->n + 1, df->alloc);
	node = &df->nodes[df->n++];
	node->cmd = steal_pointer(&cmd);
	node->rest = xstrdup(skip_space(e));
	/* strings.TrimSpace of the rest, as splitCommand does */
	for (size_t n = strlen(node->rest); n > 0 && is_space(node->rest[n - 1]); n--)
		node->rest[n - 1] = '\0';
	node->original = xstrdup(line);
	{
		const char *args;

		build_split_flags(node->rest, &node->flags, &node->nflags, &args);
		node->args = xstrdup(args);
	}
	node->start_line = start;
	node->end_line = end;
}

struct line_reader {
	const char *data;
	size_t len, pos;
	struct strbuf line;
};

/* The next line without its "\n" (bufio.ScanLines also drops a "\r"). */
static bool next_line(struct line_reader *r)
{
	size_t j = r->pos;

	if (r->pos >= r->len)
		return false;
	while (j < r->len && r->data[j] != '\n')
		j++;
	strbuf_reset(&r->line);
	strbuf_add(&r->line, r->data + r->pos, j - r->pos);
	if (r->line.len && r->line.buf[r->line.len - 1] == '\r')
		strbuf_setlen(&r->line, r->line.len - 1);
	r->pos = j + 1;
	return true;
}

int build_dockerfile_parse(const char *data, size_t len, struct build_dockerfile **out,
			   struct strata_error **err)
{
	struct build_dockerfile *df = xcalloc(1, sizeof(*df));
	struct line_reader r = { data, len, 0, STRBUF_INIT };
	struct strbuf joined = STRBUF_INIT;
	bool directives = true, seen_escape = false;
	size_t current = 0;
	int rc = 0;

	df->escape = '\\';
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		r.pos = 3;
	while (rc == 0 && next_line(&r)) {
		const char *p = skip_space(r.line.buf);
		bool is_dir = false, end, empty_cont = false;
		size_t start;

		if (directives) {
			rc = directive(df, p, &seen_escape, &is_dir, err);
			if (rc < 0)
				break;
			if (!is_dir)
				directives = false;
		}
		current++;
		start = current;
		strbuf_reset(&joined);
		if (*p != '#')
			strbuf_addstr(&joined, p);
		end = trim_continuation(&joined, df->escape);
		if (end && joined.len == 0)
			continue;
		while (!end && next_line(&r)) {
			current++;
			if (is_comment(r.line.buf))
				continue;
			if (*skip_space(r.line.buf) == '\0') {
				empty_cont = true;
				continue;
			}
			end = trim_continuation(&r.line, df->escape);
			strbuf_addstr(&joined, r.line.buf);
		}
		if (empty_cont) {
			struct strbuf w = STRBUF_INIT;

			strbuf_addf(&w, "[WARNING]: Empty continuation line found in:\n    %s",
				    joined.buf);
			add_warning(df, strbuf_detach(&w, NULL));
		}
		add_node(df, joined.buf, start, current);
	}
	strbuf_release(&r.line);
	strbuf_release(&joined);
	if (rc < 0) {
		build_dockerfile_free(df);
		return rc;
	}
	if (df->nwarnings)
		add_warning(df, xstrdup("[WARNING]: Empty continuation lines will become errors in a future release."));
	*out = df;
	return 0;
}

void build_dockerfile_free(struct build_dockerfile *df)
{
	if (!df)
		return;
	for (size_t i = 0; i < df->n; i++) {
		free(df->nodes[i].cmd);
		free(df->nodes[i].rest);
		free(df->nodes[i].original);
		for (size_t k = 0; k < df->nodes[i].nflags; k++)
			free(df->nodes[i].flags[k]);
		free(df->nodes[i].flags);
		free(df->nodes[i].args);
	}
	for (size_t i = 0; i < df->nwarnings; i++)
		free(df->warnings[i]);
	free(df->nodes);
	free(df->warnings);
	free(df);
}

int build_parse_maybe_json(const char *text, char ***argv, size_t *argc, bool *json,
			   struct strata_error **err)
{
	const char *p = skip_space(text);
	json_t *arr = NULL;
	json_error_t jerr;

	*argv = NULL;
	*argc = 0;
	*json = false;
	if (*text == '\0')
		return 0;
	if (*p == '[')
		arr = json_loadb(p, strlen(p), JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
	if (arr && json_is_array(arr)) {
		size_t n = json_array_size(arr);

		for (size_t i = 0; i < n; i++) {
			if (!json_is_string(json_array_get(arr, i))) {
				json_decref(arr);
				return strata_error_set(err, STRATA_ERR_INVALID, 0,
							"when using JSON array syntax, arrays must be comprised of strings only");
			}
		}
		*argv = xcalloc(n ? n : 1, sizeof(**argv));
		for (size_t i = 0; i < n; i++)
			(*argv)[i] = xstrdup(json_string_value(json_array_get(arr, i)));
		*argc = n;
		*json = true;
		json_decref(arr);
		return 0;
	}
	json_decref(arr);
	*argv = xcalloc(1, sizeof(**argv));
	(*argv)[0] = xstrdup(text);
	*argc = 1;
	return 0;
}
