/* moby 20.10's shell.Lex: substitution and word splitting of Dockerfile arguments. */
#include <stdbool.h>
#include <string.h>

#include "build/lex.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

#define LEX_EOF (-1)

struct lexer {
	const char *s;
	size_t pos, len;
	char esc;
	const struct build_env *env;
};

/* wordsStruct: the words a ProcessWords call returns. */
struct words {
	struct strbuf word;
	char **v;
	size_t n, alloc;
	bool in_word;
};

static bool is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int peek(const struct lexer *lx)
{
	return lx->pos < lx->len ? (unsigned char)lx->s[lx->pos] : LEX_EOF;
}

static int next(struct lexer *lx)
{
	return lx->pos < lx->len ? (unsigned char)lx->s[lx->pos++] : LEX_EOF;
}

static void words_flush(struct words *w)
{
	ALLOC_GROW(w->v, w->n + 1, w->alloc);
	w->v[w->n++] = strbuf_detach(&w->word, NULL);
	strbuf_init(&w->word, 0);
	w->in_word = false;
}

static void words_add_raw(struct words *w, int c)
{
	strbuf_addch(&w->word, c);
	w->in_word = true;
}

static void words_add(struct words *w, int c)
{
	if (is_blank(c) && w->in_word) {
		if (w->word.len)
			words_flush(w);
	} else if (!is_blank(c)) {
		words_add_raw(w, c);
	}
}

static void words_release(struct words *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	strbuf_release(&w->word);
}

static int lex_error(struct strata_error **err, const char *msg)
{
	return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s", msg);
}

static int process_stop_on(struct lexer *lx, int stop, struct strbuf *result, struct words *w,
			   struct strata_error **err);

static bool is_special_param(int c)
{
	return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' || c == '!' ||
	       c == '0';
}

static bool is_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static void process_name(struct lexer *lx, struct strbuf *name)
{
	while (peek(lx) != LEX_EOF) {
		int c = peek(lx);

		if (!name->len && c >= '0' && c <= '9') {
			while (peek(lx) >= '0' && peek(lx) <= '9')
				strbuf_addch(name, next(lx));
			return;
		}
		if (!name->len && is_special_param(c)) {
			strbuf_addch(name, next(lx));
			return;
		}
		if (!is_name_char(c))
			return;
		strbuf_addch(name, next(lx));
	}
}

/* The variable's value (a later entry of the list wins), NULL when unset. */
static const char *get_env(const struct lexer *lx, const char *name)
{
	size_t nlen = strlen(name);

	for (size_t i = lx->env ? lx->env->n : 0; i-- > 0;) {
		const char *kv = lx->env->kv[i];

		if (!strncmp(kv, name, nlen) && (kv[nlen] == '=' || kv[nlen] == '\0'))
			return kv[nlen] == '=' ? kv + nlen + 1 : "";
	}
	return NULL;
}

/* After "${NAME" and its modifier: the word up to the closing brace. */
static int brace_word(struct lexer *lx, struct strbuf *word, struct strata_error **err)
{
	struct words ignored = { STRBUF_INIT, NULL, 0, 0, false };
	struct strata_error *inner = NULL;
	int ret = process_stop_on(lx, '}', word, &ignored, &inner);

	words_release(&ignored);
	if (ret < 0) {
		if (peek(lx) == LEX_EOF) {
			strata_error_free(inner);
			return lex_error(err, "syntax error: missing '}'");
		}
		return strata_error_propagate(err, inner);
	}
	return 0;
}

static int process_dollar(struct lexer *lx, struct strbuf *out, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf name = STRBUF_INIT, word = STRBUF_INIT;
	const char *value;
	int c, modifier, ret;

	next(lx);
	if (peek(lx) != '{') {
		process_name(lx, &name);
		if (!name.len) {
			strbuf_addch(out, '$');
			return 0;
		}
		value = get_env(lx, name.buf);
		strbuf_addstr(out, value ? value : "");
		return 0;
	}
	next(lx);
	c = peek(lx);
	if (c == LEX_EOF)
		return lex_error(err, "syntax error: missing '}'");
	if (c == '{' || c == '}' || c == ':')
		return lex_error(err, "syntax error: bad substitution");
	process_name(lx, &name);
	value = get_env(lx, name.buf);
	c = next(lx);
	if (c == '}') {
		strbuf_addstr(out, value ? value : "");
		return 0;
	}
	if (c == '?') {
		ret = brace_word(lx, &word, err);
		if (ret < 0)
			return ret;
		if (!value)
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s: %s", name.buf,
						word.len ? word.buf : "is not allowed to be unset");
		strbuf_addstr(out, value);
		return 0;
	}
	if (c != ':')
		return lex_error(err, "missing ':' in substitution");
	modifier = next(lx);
	ret = brace_word(lx, &word, err);
	if (ret < 0)
		return ret;
	switch (modifier) {
	case '+':
		strbuf_addstr(out, value && *value ? word.buf : value ? value : "");
		return 0;
	case '-':
		strbuf_addstr(out, value && *value ? value : word.buf);
		return 0;
	case '?':
		if (!value)
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s: %s", name.buf,
						word.len ? word.buf : "is not allowed to be unset");
		if (!*value)
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s: %s", name.buf,
						word.len ? word.buf : "is not allowed to be empty");
		strbuf_addstr(out, value);
		return 0;
	default:
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"unsupported modifier (%c) in substitution", modifier);
	}
}

static int process_single_quote(struct lexer *lx, struct strbuf *out, struct strata_error **err)
{
	next(lx);
	for (;;) {
		int c = next(lx);

		if (c == LEX_EOF)
			return lex_error(err, "unexpected end of statement while looking for matching single-quote");
		if (c == '\'')
			return 0;
		strbuf_addch(out, c);
	}
}

static int process_double_quote(struct lexer *lx, struct strbuf *out, struct strata_error **err)
{
	next(lx);
	for (;;) {
		int c = peek(lx), ret;

		if (c == LEX_EOF)
			return lex_error(err, "unexpected end of statement while looking for matching double-quote");
		if (c == '"') {
			next(lx);
			return 0;
		}
		if (c == '$') {
			ret = process_dollar(lx, out, err);
			if (ret < 0)
				return ret;
			continue;
		}
		c = next(lx);
		if (c == (unsigned char)lx->esc) {
			int p = peek(lx);

			if (p == LEX_EOF)
				continue;
			if (p == '"' || p == '$' || p == (unsigned char)lx->esc)
				c = next(lx);
		}
		strbuf_addch(out, c);
	}
}

static int process_stop_on(struct lexer *lx, int stop, struct strbuf *result, struct words *w,
			   struct strata_error **err)
{
	while (peek(lx) != LEX_EOF) {
		int c = peek(lx), ret;

		if (stop != LEX_EOF && c == stop) {
			next(lx);
			if (w->word.len)
				words_flush(w);
			return 0;
		}
		if (c == '\'' || c == '"' || c == '$') {
			_cleanup_strbuf_ struct strbuf tmp = STRBUF_INIT;

			ret = c == '\'' ? process_single_quote(lx, &tmp, err) :
			      c == '"' ? process_double_quote(lx, &tmp, err) :
			      process_dollar(lx, &tmp, err);
			if (ret < 0)
				return ret;
			strbuf_add(result, tmp.buf, tmp.len);
			if (c == '$') {
				for (size_t i = 0; i < tmp.len; i++)
					words_add(w, (unsigned char)tmp.buf[i]);
			} else {
				strbuf_add(&w->word, tmp.buf, tmp.len);
				w->in_word = true;
			}
			continue;
		}
		c = next(lx);
		if (c == (unsigned char)lx->esc) {
			c = next(lx);
			if (c == LEX_EOF)
				break;
			words_add_raw(w, c);
		} else {
			words_add(w, c);
		}
		strbuf_addch(result, c);
	}
	if (stop != LEX_EOF)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"unexpected end of statement while looking for matching %c", stop);
	if (w->word.len)
		words_flush(w);
	return 0;
}

static int process(const char *word, char escape, const struct build_env *env, struct strbuf *result,
		   struct words *w, struct strata_error **err)
{
	struct lexer lx = { word, 0, strlen(word), escape, env };
	int ret = process_stop_on(&lx, LEX_EOF, result, w, err);

	if (ret < 0) {
		_cleanup_strbuf_ struct strbuf q = STRBUF_INIT;

		build_go_quote(&q, word);
		return strata_error_wrap(err, "failed to process %s", q.buf);
	}
	return 0;
}

int build_lex_word(const char *word, char escape, const struct build_env *env, char **out,
		   struct strata_error **err)
{
	struct strbuf result = STRBUF_INIT;
	struct words w = { STRBUF_INIT, NULL, 0, 0, false };
	int ret = process(word, escape, env, &result, &w, err);

	words_release(&w);
	if (ret < 0) {
		strbuf_release(&result);
		return ret;
	}
	*out = strbuf_detach(&result, NULL);
	return 0;
}

int build_lex_words(const char *word, char escape, const struct build_env *env, char ***words,
		    size_t *nwords, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf result = STRBUF_INIT;
	struct words w = { STRBUF_INIT, NULL, 0, 0, false };
	int ret = process(word, escape, env, &result, &w, err);

	if (ret < 0) {
		words_release(&w);
		return ret;
	}
	strbuf_release(&w.word);
	*words = w.v;
	*nwords = w.n;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (0 when invalid). */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 && s[0] < 0xf5 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	if (s[0] >= 0xf5)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void build_go_quote(struct strbuf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	strbuf_addch(out, '"');
	while (*p) {
		unsigned char c = *p;
		size_t n;

		switch (c) {
		case '\a': strbuf_addstr(out, "\\a"); break;
		case '\b': strbuf_addstr(out, "\\b"); break;
		case '\f': strbuf_addstr(out, "\\f"); break;
		case '\n': strbuf_addstr(out, "\\n"); break;
		case '\r': strbuf_addstr(out, "\\r"); break;
		case '\t': strbuf_addstr(out, "\\t"); break;
		case '\v': strbuf_addstr(out, "\\v"); break;
		case '\\': strbuf_addstr(out, "\\\\"); break;
		case '"': strbuf_addstr(out, "\\\""); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				strbuf_addf(out, "\\x%02x", c);
			} else if (c < 0x80) {
				strbuf_addch(out, c);
			} else if ((n = utf8_len(p)) > 0) {
				strbuf_add(out, p, n);
				p += n;
				continue;
			} else {
				strbuf_addf(out, "\\x%02x", c);
			}
		}
		p++;
	}
	strbuf_addch(out, '"');
}
