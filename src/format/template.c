/*
 * Go text/template subset over jansson values: lexer, parser (nodes live in
 * an arena owned by the template so a parse error can unwind with
 * longjmp), and a tree-walking executor.  See template.h for the scope.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/tabwriter.h"
#include "format/template.h"
#include "format/template_int.h"
#include "util/utf8.h"
#include "json/gojson.h"
#include "util/alloc.h"
#include "util/cleanup.h"

/* ======================================================================
 * Lexer
 * ==================================================================== */

enum tok {
	T_ERROR,
	T_EOF,
	T_TEXT,
	T_LDELIM,
	T_RDELIM,
	T_SPACE,
	T_IDENT,
	T_FIELD,
	T_VAR,
	T_DOT,
	T_STRING,
	T_RAWSTRING,
	T_CHARCONST,
	T_NUMBER,
	T_BOOL,
	T_NIL,
	T_PIPE,
	T_LPAREN,
	T_RPAREN,
	T_DECLARE,
	T_ASSIGN,
	T_CHAR,
	T_KEYWORD, /* everything after this is a keyword */
	T_BLOCK,
	T_BREAK,
	T_CONTINUE,
	T_DEFINE,
	T_ELSE,
	T_END,
	T_IF,
	T_RANGE,
	T_TEMPLATE,
	T_WITH,
};

struct token {
	enum tok type;
	size_t pos;
	int line;
	char *val; /* token text, or the message of T_ERROR */
	size_t len;
};

struct lexer {
	const char *in;
	size_t len, pos;
	int paren;
	size_t line_pos; /* line cache: in[0..line_pos) has line_no-1 newlines */
	int line_no;
	struct token *toks;
	size_t ntoks, atoks;
};

static int line_at(struct lexer *lx, size_t pos)
{
	if (pos < lx->line_pos) {
		lx->line_pos = 0;
		lx->line_no = 1;
	}
	for (; lx->line_pos < pos && lx->line_pos < lx->len; lx->line_pos++)
		if (lx->in[lx->line_pos] == '\n')
			lx->line_no++;
	return lx->line_no;
}

static void emit_val(struct lexer *lx, enum tok type, size_t pos, const char *val,
		     size_t len)
{
	struct token *t;

	ALLOC_GROW(lx->toks, lx->ntoks + 1, lx->atoks);
	t = &lx->toks[lx->ntoks++];
	t->type = type;
	t->pos = pos;
	t->line = line_at(lx, pos);
	t->val = xstrndup(val, len);
	t->len = len;
}

static void emit(struct lexer *lx, enum tok type, size_t start, size_t end)
{
	emit_val(lx, type, start, lx->in + start, end - start);
}

static int lex_error(struct lexer *lx, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int lex_error(struct lexer *lx, size_t pos, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	emit_val(lx, T_ERROR, pos, msg, strlen(msg));
	free(msg);
	return -1;
}

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_alnum(int c)
{
	/* Bytes of multi-byte UTF-8 are taken as letters (Go: unicode.IsLetter). */
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (unsigned char)c >= 0x80;
}

static int starts(const struct lexer *lx, size_t pos, const char *s)
{
	size_t n = strlen(s);

	return pos + n <= lx->len && !memcmp(lx->in + pos, s, n);
}

/* At "}}" or " -}}"?  *trim says which. */
static int at_right_delim(const struct lexer *lx, size_t pos, int *trim)
{
	if (pos + 1 < lx->len && is_space(lx->in[pos]) && lx->in[pos + 1] == '-' &&
	    starts(lx, pos + 2, "}}")) {
		*trim = 1;
		return 1;
	}
	*trim = 0;
	return starts(lx, pos, "}}");
}

static int at_terminator(const struct lexer *lx, size_t pos)
{
	int c, trim;

	if (pos >= lx->len)
		return 1;
	c = lx->in[pos];
	if (is_space(c) || c == '.' || c == ',' || c == '|' || c == ':' || c == ')' ||
	    c == '(')
		return 1;
	return at_right_delim(lx, pos, &trim);
}

/* Go's %#U of the rune at pos. */
static char *rune_desc(const struct lexer *lx, size_t pos)
{
	const unsigned char *s = (const unsigned char *)lx->in + pos;
	size_t left = lx->len - pos;
	unsigned r = s[0];
	size_t n = 1;

	if (r >= 0xc0 && left >= 2) {
		n = r >= 0xf0 ? 4 : r >= 0xe0 ? 3 : 2;
		if (n > left)
			n = 1;
		else if (n == 2)
			r = (r & 0x1f) << 6 | (s[1] & 0x3f);
		else if (n == 3)
			r = (r & 0x0f) << 12 | (s[1] & 0x3f) << 6 | (s[2] & 0x3f);
		else
			r = (r & 0x07) << 18 | (s[1] & 0x3f) << 12 | (s[2] & 0x3f) << 6 |
			    (s[3] & 0x3f);
	}
	if (r >= 0x20 && r != 0x7f && (r < 0x80 || r >= 0xa0))
		return xasprintf("U+%04X '%.*s'", r, (int)n, (const char *)s);
	return xasprintf("U+%04X", r);
}

static int bad_char(struct lexer *lx, size_t start, size_t at)
{
	char *d = rune_desc(lx, at < lx->len ? at : lx->len - 1);
	int rc = lex_error(lx, start, "bad character %s", d);

	free(d);
	return rc;
}

static size_t accept_run(const struct lexer *lx, size_t pos, const char *set)
{
	while (pos < lx->len && lx->in[pos] && strchr(set, lx->in[pos]))
		pos++;
	return pos;
}

static size_t accept1(const struct lexer *lx, size_t pos, const char *set)
{
	return pos < lx->len && lx->in[pos] && strchr(set, lx->in[pos]) ? pos + 1 : pos;
}

static int lex_number(struct lexer *lx, size_t start)
{
	const char *digits = "0123456789_";
	size_t p = accept1(lx, start, "+-");

	if (p < lx->len && lx->in[p] == '0') {
		p++;
		if (accept1(lx, p, "xX") != p) {
			p++;
			digits = "0123456789abcdefABCDEF_";
		} else if (accept1(lx, p, "oO") != p) {
			p++;
			digits = "01234567_";
		} else if (accept1(lx, p, "bB") != p) {
			p++;
			digits = "01_";
		}
	}
	p = accept_run(lx, p, digits);
	if (accept1(lx, p, ".") != p)
		p = accept_run(lx, p + 1, digits);
	if (strlen(digits) == 11 && accept1(lx, p, "eE") != p) {
		p = accept1(lx, p + 1, "+-");
		p = accept_run(lx, p, "0123456789_");
	}
	if (strlen(digits) == 23 && accept1(lx, p, "pP") != p) {
		p = accept1(lx, p + 1, "+-");
		p = accept_run(lx, p, "0123456789_");
	}
	p = accept1(lx, p, "i");
	if (p < lx->len && is_alnum(lx->in[p])) {
		p++;
		return lex_error(lx, start, "bad number syntax: \"%.*s\"", (int)(p - start),
				 lx->in + start);
	}
	emit(lx, T_NUMBER, start, p);
	lx->pos = p;
	return 0;
}

static int lex_quote(struct lexer *lx, size_t start, char q, enum tok type,
		     const char *what)
{
	size_t p = start + 1;

	for (;;) {
		if (p >= lx->len || lx->in[p] == '\n')
			return lex_error(lx, start, "unterminated %s", what);
		if (lx->in[p] == '\\') {
			p++;
			if (p >= lx->len || lx->in[p] == '\n')
				return lex_error(lx, start, "unterminated %s", what);
		} else if (lx->in[p] == q) {
			break;
		}
		p++;
	}
	emit(lx, type, start, p + 1);
	lx->pos = p + 1;
	return 0;
}

static const struct {
	const char *word;
	enum tok type;
} keywords[] = {
	{ "block", T_BLOCK }, { "break", T_BREAK }, { "continue", T_CONTINUE },
	{ "define", T_DEFINE }, { "else", T_ELSE },   { "end", T_END },
	{ "if", T_IF },	      { "range", T_RANGE },  { "template", T_TEMPLATE },
	{ "with", T_WITH },   { "true", T_BOOL },    { "false", T_BOOL },
	{ "nil", T_NIL },
};

/* Tokens of one action, after its "{{" (and trim marker). */
static int lex_inside(struct lexer *lx)
{
	for (;;) {
		size_t start = lx->pos, p;
		int trim, c;

		if (at_right_delim(lx, start, &trim)) {
			if (lx->paren != 0)
				return lex_error(lx, start, "unclosed left paren");
			emit(lx, T_RDELIM, start + (trim ? 2 : 0), start + (trim ? 4 : 2));
			lx->pos = start + (trim ? 4 : 2);
			if (trim)
				while (lx->pos < lx->len && is_space(lx->in[lx->pos]))
					lx->pos++;
			return 0;
		}
		if (start >= lx->len)
			return lex_error(lx, start, "unclosed action");
		c = (unsigned char)lx->in[start];
		if (is_space(c)) {
			p = start;
			while (p < lx->len && is_space(lx->in[p]))
				p++;
			/* a trim marker " -}}" keeps its space */
			if (at_right_delim(lx, p - 1, &trim) && trim) {
				p--;
				if (p == start)
					continue;
			}
			emit(lx, T_SPACE, start, p);
			lx->pos = p;
		} else if (c == '=') {
			emit(lx, T_ASSIGN, start, start + 1);
			lx->pos++;
		} else if (c == ':') {
			if (start + 1 >= lx->len || lx->in[start + 1] != '=')
				return lex_error(lx, start, "expected :=");
			emit(lx, T_DECLARE, start, start + 2);
			lx->pos += 2;
		} else if (c == '|') {
			emit(lx, T_PIPE, start, start + 1);
			lx->pos++;
		} else if (c == '"') {
			if (lex_quote(lx, start, '"', T_STRING, "quoted string") < 0)
				return -1;
		} else if (c == '\'') {
			if (lex_quote(lx, start, '\'', T_CHARCONST, "character constant") < 0)
				return -1;
		} else if (c == '`') {
			const char *e = memchr(lx->in + start + 1, '`', lx->len - start - 1);

			if (!e)
				return lex_error(lx, start, "unterminated raw quoted string");
			emit(lx, T_RAWSTRING, start, (size_t)(e - lx->in) + 1);
			lx->pos = (size_t)(e - lx->in) + 1;
		} else if (c == '$' || (c == '.' && !(start + 1 < lx->len &&
							lx->in[start + 1] >= '0' &&
							lx->in[start + 1] <= '9'))) {
			p = start + 1;
			if (at_terminator(lx, p)) {
				emit(lx, c == '$' ? T_VAR : T_DOT, start, p);
			} else {
				while (p < lx->len && is_alnum(lx->in[p]))
					p++;
				if (!at_terminator(lx, p))
					return bad_char(lx, start, p);
				emit(lx, c == '$' ? T_VAR : T_FIELD, start, p);
			}
			lx->pos = p;
		} else if (c == '.' || c == '+' || c == '-' || (c >= '0' && c <= '9')) {
			if (lex_number(lx, start) < 0)
				return -1;
		} else if (is_alnum(c)) {
			enum tok type = T_IDENT;

			p = start;
			while (p < lx->len && is_alnum(lx->in[p]))
				p++;
			if (!at_terminator(lx, p))
				return bad_char(lx, start, p);
			for (size_t k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
				if (strlen(keywords[k].word) == p - start &&
				    !memcmp(keywords[k].word, lx->in + start, p - start))
					type = keywords[k].type;
			emit(lx, type, start, p);
			lx->pos = p;
		} else if (c == '(') {
			lx->paren++;
			emit(lx, T_LPAREN, start, start + 1);
			lx->pos++;
		} else if (c == ')') {
			lx->paren--;
			if (lx->paren < 0)
				return lex_error(lx, start, "unexpected right paren");
			emit(lx, T_RPAREN, start, start + 1);
			lx->pos++;
		} else if (c < 0x7f && c >= 0x20) {
			emit(lx, T_CHAR, start, start + 1);
			lx->pos++;
		} else {
			char *d = rune_desc(lx, start);

			lex_error(lx, start, "unrecognized character in action: %s", d);
			free(d);
			return -1;
		}
	}
}

static void lex_all(struct lexer *lx)
{
	for (;;) {
		const char *d = lx->pos < lx->len ?
					memmem(lx->in + lx->pos, lx->len - lx->pos, "{{", 2) :
					NULL;
		size_t idx, end, p;
		int trim_left;

		if (!d) {
			if (lx->pos < lx->len)
				emit(lx, T_TEXT, lx->pos, lx->len);
			emit_val(lx, T_EOF, lx->len, "", 0);
			return;
		}
		idx = (size_t)(d - lx->in);
		trim_left = idx + 3 < lx->len && lx->in[idx + 2] == '-' &&
			    is_space(lx->in[idx + 3]);
		end = idx;
		if (trim_left)
			while (end > lx->pos && is_space(lx->in[end - 1]))
				end--;
		if (end > lx->pos)
			emit(lx, T_TEXT, lx->pos, end);
		p = idx + 2 + (trim_left ? 2 : 0);
		if (starts(lx, p, "/*")) {
			const char *e = memmem(lx->in + p + 2, lx->len - p - 2, "*/", 2);
			int trim;

			if (!e) {
				lex_error(lx, p, "unclosed comment");
				return;
			}
			p = (size_t)(e - lx->in) + 2;
			if (!at_right_delim(lx, p, &trim)) {
				lex_error(lx, p, "comment ends before closing delimiter");
				return;
			}
			p += trim ? 4 : 2;
			if (trim)
				while (p < lx->len && is_space(lx->in[p]))
					p++;
			lx->pos = p;
			continue;
		}
		emit(lx, T_LDELIM, idx, idx + 2);
		lx->pos = p;
		lx->paren = 0;
		if (lex_inside(lx) < 0)
			return;
	}
}

/* ======================================================================
 * Parser
 * ==================================================================== */

struct tparser {
	struct template *t;
	const char *src;
	struct token *toks;
	size_t ntoks, i;
	int line;        /* line of the last token read */
	int action_line; /* line of the "{{" being parsed, 0 outside */
	const char **vars;
	size_t nvars, avars;
	int range_depth, depth;
	char *errmsg;
	/* temporaries that must survive a longjmp: freed by template_parse */
	struct strbuf scratch, scratch2;
	jmp_buf jb;
};

static __attribute__((noreturn, format(printf, 2, 3))) void
perr(struct tparser *p, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	p->errmsg = xasprintf("template: %s:%d: %s", p->t->name, p->line, msg);
	free(msg);
	longjmp(p->jb, 1);
}

static struct node *new_node(struct tparser *p, enum nkind kind, size_t pos)
{
	struct template *t = p->t;
	struct node *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->pos = pos;
	ALLOC_GROW(t->nodes, t->nnodes + 1, t->anodes);
	t->nodes[t->nnodes++] = n;
	return n;
}

static void add_kid(struct node *n, struct node *kid)
{
	ALLOC_GROW(n->kids, n->nkids + 1, n->akids);
	n->kids[n->nkids++] = kid;
}

static void add_field(struct node *n, const char *name, size_t len)
{
	ALLOC_GROW(n->fields, n->nfields + 1, n->afields);
	n->fields[n->nfields++] = xstrndup(name, len);
}

static struct token *tk_next(struct tparser *p)
{
	struct token *tk = &p->toks[p->i];

	if (tk->type != T_EOF && tk->type != T_ERROR)
		p->i++;
	p->line = tk->line;
	return tk;
}

static struct token *tk_peek(struct tparser *p)
{
	return &p->toks[p->i];
}

static void tk_backup(struct tparser *p, struct token *to)
{
	p->i = (size_t)(to - p->toks);
}

static struct token *tk_next_nonspace(struct tparser *p)
{
	struct token *tk;

	do
		tk = tk_next(p);
	while (tk->type == T_SPACE);
	return tk;
}

static struct token *tk_peek_nonspace(struct tparser *p)
{
	size_t i = p->i;

	while (p->toks[i].type == T_SPACE)
		i++;
	return &p->toks[i];
}

/* Go's item.String(). */
static void token_str(struct strbuf *sb, const struct token *tk)
{
	if (tk->type == T_EOF) {
		strbuf_addstr(sb, "EOF");
	} else if (tk->type == T_ERROR) {
		strbuf_addstr(sb, tk->val);
	} else if (tk->type > T_KEYWORD) {
		strbuf_addf(sb, "<%s>", tk->val);
	} else if (tk_rune_len(tk->val, tk->len) > 10) {
		go_quote(sb, tk->val, tk_rune_prefix(tk->val, tk->len, 10));
		strbuf_addstr(sb, "...");
	} else {
		go_quote(sb, tk->val, tk->len);
	}
}

static __attribute__((noreturn)) void unexpected(struct tparser *p, struct token *tk,
						 const char *context)
{
	struct strbuf *sb = &p->scratch;

	strbuf_reset(sb);
	token_str(sb, tk);
	if (tk->type == T_ERROR) {
		if (p->action_line && p->action_line != tk->line) {
			size_t l = strlen(" action");

			if (sb->len >= l && !strcmp(sb->buf + sb->len - l, " action"))
				perr(p, "%s started at :%d", sb->buf, p->action_line);
			perr(p, "%s in action started at :%d", sb->buf, p->action_line);
		}
		perr(p, "%s", sb->buf);
	}
	perr(p, "unexpected %s in %s", sb->buf, context);
}

static void enter(struct tparser *p)
{
	if (++p->depth > TEMPLATE_MAX_DEPTH)
		perr(p, "max nesting depth %d exceeded", TEMPLATE_MAX_DEPTH);
}

static struct node *parse_pipeline(struct tparser *p, const char *context, enum tok end);
static struct node *parse_list(struct tparser *p, struct node **term);

static void use_var(struct tparser *p, const char *name)
{
	for (size_t i = 0; i < p->nvars; i++)
		if (!strcmp(p->vars[i], name))
			return;
	perr(p, "undefined variable \"%s\"", name);
}

static void push_var(struct tparser *p, const char *name)
{
	ALLOC_GROW(p->vars, p->nvars + 1, p->avars);
	p->vars[p->nvars++] = name;
}

static int64_t char_value(struct tparser *p, const struct token *tk)
{
	struct strbuf *sb = &p->scratch;
	int32_t r;
	size_t n;

	strbuf_reset(sb);
	if (go_unquote(sb, tk->val + 1, tk->len - 2, '\'') < 0 || sb->len == 0)
		perr(p, "malformed character constant: %s", tk->val);
	n = utf8_decode_rune(sb->buf, sb->len, &r);
	if (n != sb->len)
		perr(p, "malformed character constant: %s", tk->val);
	return r;
}

static void parse_number(struct tparser *p, struct node *n, const struct token *tk)
{
	char *clean;
	const char *s = tk->val;
	size_t k = 0;
	char *end;
	int neg = 0, base = 10;
	unsigned long long u;

	n->raw = xstrdup(tk->val);
	if (tk->type == T_CHARCONST) {
		n->is_int = 1;
		n->ival = char_value(p, tk);
		n->fval = (double)n->ival;
		return;
	}
	if (tk->len && s[tk->len - 1] == 'i')
		perr(p, "complex numbers are not supported: %s", s);
	strbuf_reset(&p->scratch2);
	strbuf_grow(&p->scratch2, tk->len + 1);
	clean = p->scratch2.buf;
	for (size_t i = 0; i < tk->len; i++)
		if (s[i] != '_')
			clean[k++] = s[i];
	clean[k] = 0;
	s = clean;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && !strpbrk(s, ".pP"))
		base = 16, s += 2;
	else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		base = 8, s += 2;
	else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
		base = 2, s += 2;
	else if (s[0] == '0' && s[1] && !strpbrk(s, ".eE"))
		base = 8, s += 1;
	if (*s && *s != '-' && *s != '+' && !strpbrk(s, base == 16 ? ".pP" : ".eEpP")) {
		errno = 0;
		u = strtoull(s, &end, base);
		if (*end == 0 && errno == 0) {
			if ((!neg && u > INT64_MAX) || (neg && u > (unsigned long long)INT64_MAX + 1))
				perr(p, "integer overflow: \"%s\"", tk->val);
			n->is_int = 1;
			n->ival = neg ? (int64_t)(0 - u) : (int64_t)u;
			n->fval = (double)n->ival;
			return;
		}
		if (*end == 0 && errno == ERANGE)
			perr(p, "integer overflow: \"%s\"", tk->val);
	}
	errno = 0;
	n->fval = strtod(clean, &end);
	if (*end || end == clean)
		perr(p, "illegal number syntax: \"%s\"", tk->val);
	n->is_float = 1;
	if (n->fval == trunc(n->fval) && fabs(n->fval) < 9.2e18) {
		n->is_int = 1;
		n->ival = (int64_t)n->fval;
	}
}

static struct node *parse_term(struct tparser *p)
{
	struct token *tk = tk_next_nonspace(p);
	struct node *n;

	switch (tk->type) {
	case T_IDENT:
		if (!template_func_known(tk->val))
			perr(p, "function \"%s\" not defined", tk->val);
		n = new_node(p, N_IDENT, tk->pos);
		n->text = xstrdup(tk->val);
		return n;
	case T_DOT:
		return new_node(p, N_DOT, tk->pos);
	case T_NIL:
		return new_node(p, N_NIL, tk->pos);
	case T_VAR:
		use_var(p, tk->val);
		n = new_node(p, N_VAR, tk->pos);
		add_field(n, tk->val, tk->len);
		return n;
	case T_FIELD:
		n = new_node(p, N_FIELD, tk->pos);
		add_field(n, tk->val + 1, tk->len - 1);
		return n;
	case T_BOOL:
		n = new_node(p, N_BOOL, tk->pos);
		n->bval = !strcmp(tk->val, "true");
		return n;
	case T_NUMBER:
	case T_CHARCONST:
		n = new_node(p, N_NUM, tk->pos);
		parse_number(p, n, tk);
		return n;
	case T_LPAREN:
		enter(p);
		n = parse_pipeline(p, "parenthesized pipeline", T_RPAREN);
		p->depth--;
		return n;
	case T_STRING:
	case T_RAWSTRING: {
		struct strbuf sb = STRBUF_INIT;

		n = new_node(p, N_STR, tk->pos);
		n->raw = xstrdup(tk->val);
		if (tk->type == T_RAWSTRING) {
			for (size_t i = 1; i + 1 < tk->len; i++)
				if (tk->val[i] != '\r')
					strbuf_addch(&sb, tk->val[i]);
		} else if (go_unquote(&sb, tk->val + 1, tk->len - 2, '"') < 0) {
			strbuf_release(&sb);
			perr(p, "invalid syntax");
		}
		n->text = strbuf_detach(&sb, &n->text_len);
		return n;
	}
	default:
		tk_backup(p, tk);
		return NULL;
	}
}

static struct node *parse_operand(struct tparser *p)
{
	struct node *n = parse_term(p), *chain;

	if (!n || tk_peek(p)->type != T_FIELD)
		return n;
	chain = new_node(p, N_CHAIN, tk_peek(p)->pos);
	chain->sub = n;
	while (tk_peek(p)->type == T_FIELD) {
		struct token *f = tk_next(p);

		add_field(chain, f->val + 1, f->len - 1);
	}
	switch (n->kind) {
	case N_FIELD:
	case N_VAR:
		/* fold into the field/variable node, at the chain's position */
		for (size_t i = 0; i < chain->nfields; i++)
			add_field(n, chain->fields[i], strlen(chain->fields[i]));
		n->pos = chain->pos;
		return n;
	case N_BOOL:
	case N_STR:
	case N_NUM:
	case N_NIL:
	case N_DOT: {
		strbuf_reset(&p->scratch);
		strbuf_reset(&p->scratch2);
		node_str(&p->scratch, n);
		go_quote(&p->scratch2, p->scratch.buf, p->scratch.len);
		perr(p, "unexpected . after term %s", p->scratch2.buf);
	}
	default:
		return chain;
	}
}

static struct node *parse_command(struct tparser *p)
{
	struct node *cmd = new_node(p, N_CMD, tk_peek_nonspace(p)->pos);

	for (;;) {
		struct node *op;
		struct token *tk;

		tk_peek_nonspace(p);
		op = parse_operand(p);
		if (op)
			add_kid(cmd, op);
		tk = tk_next(p);
		if (tk->type == T_SPACE)
			continue;
		if (tk->type == T_RDELIM || tk->type == T_RPAREN)
			tk_backup(p, tk);
		else if (tk->type != T_PIPE)
			unexpected(p, tk, "operand");
		break;
	}
	if (cmd->nkids == 0)
		perr(p, "empty command");
	return cmd;
}

static struct node *parse_pipeline(struct tparser *p, const char *context, enum tok end)
{
	struct node *pipe = new_node(p, N_PIPE, tk_peek_nonspace(p)->pos);
	struct token *v;

decls:
	v = tk_peek_nonspace(p);
	if (v->type == T_VAR) {
		struct token *after, *next;

		tk_next_nonspace(p);
		after = tk_peek(p);
		next = tk_peek_nonspace(p);
		if (next->type == T_ASSIGN || next->type == T_DECLARE) {
			pipe->is_assign = next->type == T_ASSIGN;
			tk_next_nonspace(p);
			add_field(pipe, v->val, v->len);
			push_var(p, v->val);
		} else if (next->type == T_CHAR && !strcmp(next->val, ",")) {
			tk_next_nonspace(p);
			add_field(pipe, v->val, v->len);
			push_var(p, v->val);
			if (!strcmp(context, "range") && pipe->nfields < 2) {
				enum tok nt = tk_peek_nonspace(p)->type;

				if (nt == T_VAR || nt == T_RDELIM || nt == T_RPAREN)
					goto decls;
				perr(p, "range can only initialize variables");
			}
			perr(p, "too many declarations in %s", context);
		} else {
			(void)after;
			tk_backup(p, v);
		}
	}
	for (;;) {
		struct token *tk = tk_next_nonspace(p);

		if (tk->type == end) {
			if (pipe->nkids == 0)
				perr(p, "missing value for %s", context);
			for (size_t i = 1; i < pipe->nkids; i++) {
				enum nkind k = pipe->kids[i]->kids[0]->kind;

				if (k == N_BOOL || k == N_DOT || k == N_NIL || k == N_NUM ||
				    k == N_STR)
					perr(p, "non executable command in pipeline stage %zu",
					     i + 1);
			}
			return pipe;
		}
		switch (tk->type) {
		case T_BOOL:
		case T_CHARCONST:
		case T_DOT:
		case T_FIELD:
		case T_IDENT:
		case T_NUMBER:
		case T_NIL:
		case T_RAWSTRING:
		case T_STRING:
		case T_VAR:
		case T_LPAREN:
			tk_backup(p, tk);
			add_kid(pipe, parse_command(p));
			break;
		default:
			unexpected(p, tk, context);
		}
	}
}

static struct node *parse_control(struct tparser *p, enum nkind kind, const char *context)
{
	size_t mark = p->nvars;
	struct node *n, *term = NULL;

	enter(p);
	n = new_node(p, kind, 0);
	n->pipe = parse_pipeline(p, context, T_RDELIM);
	n->pos = n->pipe->pos;
	if (kind == N_RANGE)
		p->range_depth++;
	n->list = parse_list(p, &term);
	if (kind == N_RANGE)
		p->range_depth--;
	if (term->kind == N_ELSE) {
		struct token *tk = tk_peek(p);

		if ((kind == N_IF && tk->type == T_IF) || (kind == N_WITH && tk->type == T_WITH)) {
			/* {{else if x}} = {{else}}{{if x}}...{{end}}{{end}} */
			tk_next(p);
			n->else_list = new_node(p, N_LIST, term->pos);
			add_kid(n->else_list, parse_control(p, kind, context));
		} else {
			n->else_list = parse_list(p, &term);
			if (term->kind != N_END) {
				strbuf_reset(&p->scratch);
				node_str(&p->scratch, term);
				perr(p, "expected end; found %s", p->scratch.buf);
			}
		}
	}
	p->nvars = mark;
	p->depth--;
	return n;
}

static struct node *parse_action(struct tparser *p)
{
	struct token *tk = tk_next_nonspace(p);
	struct node *n;

	switch (tk->type) {
	case T_BLOCK:
	case T_DEFINE:
	case T_TEMPLATE:
		perr(p, "{{%s}} is not supported", tk->val);
	case T_BREAK:
	case T_CONTINUE:
		n = new_node(p, tk->type == T_BREAK ? N_BREAK : N_CONTINUE, tk->pos);
		tk = tk_next_nonspace(p);
		if (tk->type != T_RDELIM)
			unexpected(p, tk, n->kind == N_BREAK ? "{{break}}" : "{{continue}}");
		if (p->range_depth == 0)
			perr(p, "%s outside {{range}}",
			     n->kind == N_BREAK ? "{{break}}" : "{{continue}}");
		return n;
	case T_ELSE: {
		struct token *pk = tk_peek_nonspace(p);

		if (pk->type == T_IF || pk->type == T_WITH) {
			tk_next_nonspace(p);
			tk_backup(p, pk); /* leave "if"/"with" pending */
			return new_node(p, N_ELSE, pk->pos);
		}
		tk = tk_next_nonspace(p);
		if (tk->type != T_RDELIM)
			unexpected(p, tk, "else");
		return new_node(p, N_ELSE, tk->pos);
	}
	case T_END:
		tk = tk_next_nonspace(p);
		if (tk->type != T_RDELIM)
			unexpected(p, tk, "end");
		return new_node(p, N_END, tk->pos);
	case T_IF:
		return parse_control(p, N_IF, "if");
	case T_RANGE:
		return parse_control(p, N_RANGE, "range");
	case T_WITH:
		return parse_control(p, N_WITH, "with");
	default:
		tk_backup(p, tk);
		n = new_node(p, N_ACTION, tk_peek(p)->pos);
		n->pipe = parse_pipeline(p, "command", T_RDELIM);
		return n;
	}
}

static struct node *parse_text_or_action(struct tparser *p)
{
	struct token *tk = tk_next_nonspace(p);
	struct node *n;

	switch (tk->type) {
	case T_TEXT:
		n = new_node(p, N_TEXT, tk->pos);
		n->text = xstrndup(tk->val, tk->len);
		n->text_len = tk->len;
		return n;
	case T_LDELIM:
		p->action_line = tk->line;
		n = parse_action(p);
		p->action_line = 0;
		return n;
	default:
		unexpected(p, tk, "input");
	}
}

static struct node *parse_list(struct tparser *p, struct node **term)
{
	struct node *list = new_node(p, N_LIST, tk_peek_nonspace(p)->pos);

	while (tk_peek_nonspace(p)->type != T_EOF) {
		struct node *n = parse_text_or_action(p);

		if (n->kind == N_END || n->kind == N_ELSE) {
			*term = n;
			return list;
		}
		add_kid(list, n);
	}
	perr(p, "unexpected EOF");
}

void template_free(struct template *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nnodes; i++) {
		struct node *n = t->nodes[i];

		for (size_t k = 0; k < n->nfields; k++)
			free(n->fields[k]);
		free(n->fields);
		free(n->kids);
		free(n->text);
		free(n->raw);
		free(n);
	}
	free(t->nodes);
	free(t->src);
	free(t->name);
	free(t);
}

int template_parse(const char *text, struct template **out, struct strata_error **err)
{
	return template_parse_named("", text, out, err);
}

int template_parse_named(const char *name, const char *text, struct template **out,
			 struct strata_error **err)
{
	struct lexer lx = { 0 };
	struct tparser p = { 0 };
	struct template *t = xcalloc(1, sizeof(*t));
	int rc = 0;

	*out = NULL;
	t->name = xstrdup(name);
	t->src = xstrdup(text);
	lx.in = t->src;
	lx.len = strlen(text);
	lx.line_no = 1;
	lex_all(&lx);

	p.t = t;
	p.src = t->src;
	p.toks = lx.toks;
	p.ntoks = lx.ntoks;
	p.line = 1;
	strbuf_init(&p.scratch, 0);
	strbuf_init(&p.scratch2, 0);
	push_var(&p, "$");
	if (setjmp(p.jb) == 0) {
		struct node *root = new_node(&p, N_LIST, 0);

		while (tk_peek(&p)->type != T_EOF) {
			struct node *n = parse_text_or_action(&p);

			if (n->kind == N_END || n->kind == N_ELSE)
				perr(&p, "unexpected %s", n->kind == N_END ? "{{end}}" : "{{else}}");
			add_kid(root, n);
		}
		t->root = root;
	} else {
		rc = strata_error_set(err, STRATA_ERR_INVALID, 0, "%s", p.errmsg);
		free(p.errmsg);
		template_free(t);
		t = NULL;
	}
	for (size_t i = 0; i < lx.ntoks; i++)
		free(lx.toks[i].val);
	free(lx.toks);
	free(p.vars);
	strbuf_release(&p.scratch);
	strbuf_release(&p.scratch2);
	*out = t;
	return rc;
}
