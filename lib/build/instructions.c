/* Dockerfile instructions: arguments, flags and stages as moby 20.10 parses them. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "build/instructions.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

struct strv {
	char **v;
	size_t n, alloc;
};

static void strv_push(struct strv *s, char *str)
{
	ALLOC_GROW(s->v, s->n + 1, s->alloc);
	s->v[s->n++] = str;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* reWhitespace ([\t\v\f\r ]+) */
static bool is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

/* parseWords: blank-separated words, quotes and escapes kept in the words. */
static void parse_words(const char *rest, char escape, struct strv *out)
{
	enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
	_cleanup_strbuf_ struct strbuf word = STRBUF_INIT;
	size_t len = strlen(rest);
	bool blank_ok = false;
	char quote = 0;

	for (size_t pos = 0; pos <= len; pos++) {
		char ch = pos < len ? rest[pos] : 0;

		if (phase == IN_SPACES) {
			if (pos == len)
				break;
			if (is_space(ch))
				continue;
			phase = IN_WORD;
		}
		if (pos == len) {
			if (blank_ok || word.len)
				strv_push(out, xstrdup(word.buf));
			break;
		}
		if (phase == IN_WORD) {
			if (is_space(ch)) {
				phase = IN_SPACES;
				if (blank_ok || word.len)
					strv_push(out, xstrdup(word.buf));
				strbuf_reset(&word);
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = IN_QUOTE;
			}
			if (ch == escape) {
				if (pos + 1 == len)
					continue;
				strbuf_addch(&word, ch);
				ch = rest[++pos];
			}
			strbuf_addch(&word, ch);
			continue;
		}
		if (ch == quote)
			phase = IN_WORD;
		if (ch == escape && quote != '\'') {
			if (pos + 1 == len) {
				phase = IN_WORD;
				continue;
			}
			strbuf_addch(&word, ch);
			ch = rest[++pos];
		}
		strbuf_addch(&word, ch);
	}
}

/* reWhitespace.Split(rest, -1) on an already trimmed rest. */
static void split_ws(const char *rest, struct strv *out)
{
	const char *p = rest;

	if (!*rest)
		return;
	for (;;) {
		const char *e = p;

		while (*e && !is_ws(*e))
			e++;
		strv_push(out, xstrndup(p, (size_t)(e - p)));
		if (!*e)
			return;
		while (is_ws(*e))
			e++;
		p = e;
	}
}

static int parse_error(struct strata_error **err, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* An instruction-level error: "dockerfile parse error line N: ...". */
static int parse_error(struct strata_error **err, size_t line, const char *fmt, ...)
{
	_cleanup_strbuf_ struct strbuf msg = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	return strata_error_set(err, STRATA_ERR_INVALID, 0, "dockerfile parse error line %zu: %s", line,
				msg.buf);
}

/* What parsing one file needs beyond the node. */
struct pctx {
	char escape;
	const char *name; /* the Dockerfile's name in messages */
};

/* A line-parser error: moby reports it without a line, as "failed to parse NAME: ...". */
static int line_error(const struct pctx *pc, struct strata_error **err, const char *msg)
{
	return strata_error_set(err, STRATA_ERR_INVALID, 0, "failed to parse %s: %s", pc->name, msg);
}

#define NOT_STRINGS "when using JSON array syntax, arrays must be comprised of strings only"

/* parseJSON: 1 = an array of strings, 0 = not JSON, <0 = an array of non-strings. */
static int parse_json(const struct pctx *pc, const char *rest, struct strv *out, struct strata_error **err)
{
	const char *p = rest;
	json_t *arr;
	size_t i;
	json_t *v;

	while (is_space(*p))
		p++;
	if (*p != '[')
		return 0;
	arr = json_loadb(p, strlen(p), JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, NULL);
	if (!json_is_array(arr)) {
		json_decref(arr);
		return 0;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v)) {
			json_decref(arr);
			return line_error(pc, err, NOT_STRINGS);
		}
	}
	json_array_foreach(arr, i, v)
		strv_push(out, xstrdup(json_string_value(v)));
	json_decref(arr);
	return 1;
}

/* parseNameVal (ENV, LABEL): "k v..." legacy form or k=v words. */
static int parse_name_val(const struct pctx *pc, const char *rest, const char *what, struct build_instr *in,
			  struct strata_error **err)
{
	struct strv words = { 0 };
	int ret = 0;

	parse_words(rest, pc->escape, &words);
	if (!words.n)
		return 0;
	if (!strchr(words.v[0], '=')) {
		const char *e = rest, *v;

		while (*e && !is_ws(*e))
			e++;
		v = e;
		while (is_ws(*v))
			v++;
		strv_free(words.v, words.n);
		if (!*e) {
			_cleanup_strbuf_ struct strbuf m = STRBUF_INIT;

			strbuf_addf(&m, "%s must have two arguments", what);
			return line_error(pc, err, m.buf);
		}
		in->kvs = xcalloc(1, sizeof(*in->kvs));
		in->kvs[0].key = xstrndup(rest, (size_t)(e - rest));
		in->kvs[0].value = xstrdup(v);
		in->nkvs = 1;
		return 0;
	}
	in->kvs = xcalloc(words.n, sizeof(*in->kvs));
	for (size_t i = 0; i < words.n; i++) {
		char *eq = strchr(words.v[i], '=');

		if (!eq) {
			_cleanup_strbuf_ struct strbuf m = STRBUF_INIT, q = STRBUF_INIT;

			build_go_quote(&q, words.v[i]);
			strbuf_addf(&m, "Syntax error - can't find = in %s. Must be of the form: name=value", q.buf);
			ret = line_error(pc, err, m.buf);
			break;
		}
		in->kvs[in->nkvs].key = xstrndup(words.v[i], (size_t)(eq - words.v[i]));
		in->kvs[in->nkvs].value = xstrdup(eq + 1);
		in->nkvs++;
	}
	strv_free(words.v, words.n);
	return ret;
}

/* The instruction's --flags, as BFlags.Parse checks them against its own. */
struct flag_spec {
	const char *name;
	char **value;
};

static int parse_flags(const struct build_node *node, const struct flag_spec *specs, size_t nspecs,
		       struct strata_error **err)
{
	for (size_t i = 0; i < node->nflags; i++) {
		const char *arg = node->flags[i], *eq;
		size_t klen;
		bool known = false;

		if (strncmp(arg, "--", 2))
			return parse_error(err, node->start_line, "Arg should start with -- : %s", arg);
		if (!strcmp(arg, "--"))
			return 0;
		arg += 2;
		eq = strchr(arg, '=');
		klen = eq ? (size_t)(eq - arg) : strlen(arg);
		for (size_t s = 0; s < nspecs; s++) {
			if (strlen(specs[s].name) != klen || strncmp(specs[s].name, arg, klen))
				continue;
			known = true;
			if (*specs[s].value)
				return parse_error(err, node->start_line, "Duplicate flag specified: %.*s",
						   (int)klen, arg);
			if (!eq)
				return parse_error(err, node->start_line, "Missing a value on flag: %.*s",
						   (int)klen, arg);
			*specs[s].value = xstrdup(eq + 1);
		}
		if (!known)
			return parse_error(err, node->start_line, "Unknown flag: %.*s", (int)klen, arg);
	}
	return 0;
}

static void default_empty(char **v)
{
	if (!*v)
		*v = xstrdup("");
}

/* Go's time.ParseDuration; false when s is not a duration. */
static bool parse_duration(const char *s, int64_t *out)
{
	static const struct { const char *unit; double ns; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 }, { "ms", 1e6 },
		{ "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
	};
	const char *p = s;
	double total = 0;
	bool neg = false;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!strcmp(p, "0")) {
		*out = 0;
		return true;
	}
	if (!*p)
		return false;
	while (*p) {
		char *end;
		double v;
		size_t best = 0, ulen;
		bool found = false;

		if (!isdigit((unsigned char)*p) && *p != '.')
			return false;
		errno = 0;
		v = strtod(p, &end);
		if (end == p || errno || strchr("eExXpP", *(end - 1)) || memchr(p, 'e', (size_t)(end - p)) ||
		    memchr(p, 'E', (size_t)(end - p)))
			return false;
		p = end;
		for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
			ulen = strlen(units[u].unit);
			if (!strncmp(p, units[u].unit, ulen) && (!found || ulen > strlen(units[best].unit))) {
				best = u;
				found = true;
			}
		}
		if (!found)
			return false;
		total += v * units[best].ns;
		p += strlen(units[best].unit);
	}
	if (total > 9.2e18)
		return false;
	*out = (int64_t)(neg ? -total : total);
	return true;
}

/* Go's fmtFrac/fmtInt as Duration.String uses them. */
void build_go_duration(struct strbuf *out, int64_t d)
{
	char buf[40];
	size_t w = sizeof(buf);
	uint64_t u = d < 0 ? (uint64_t)(-(d + 1)) + 1 : (uint64_t)d;

	if (u < 1000000000ULL) {
		int prec = 0;
		const char *unit;

		if (u == 0) {
			strbuf_addstr(out, "0s");
			return;
		}
		if (u < 1000) {
			unit = "ns";
		} else if (u < 1000000) {
			unit = "\xc2\xb5s";
			prec = 3;
		} else {
			unit = "ms";
			prec = 6;
		}
		{
			size_t ul = strlen(unit);

			w -= ul;
			memcpy(buf + w, unit, ul);
		}
		{
			bool print = false;

			for (int i = 0; i < prec; i++) {
				unsigned digit = (unsigned)(u % 10);

				print = print || digit != 0;
				if (print)
					buf[--w] = (char)('0' + digit);
				u /= 10;
			}
			if (print)
				buf[--w] = '.';
		}
		if (u == 0)
			buf[--w] = '0';
		while (u > 0) {
			buf[--w] = (char)('0' + u % 10);
			u /= 10;
		}
	} else {
		bool print = false;

		buf[--w] = 's';
		for (int i = 0; i < 9; i++) {
			unsigned digit = (unsigned)(u % 10);

			print = print || digit != 0;
			if (print)
				buf[--w] = (char)('0' + digit);
			u /= 10;
		}
		if (print)
			buf[--w] = '.';
		{
			uint64_t secs = u % 60;

			u /= 60;
			if (secs == 0)
				buf[--w] = '0';
			while (secs > 0) {
				buf[--w] = (char)('0' + secs % 10);
				secs /= 10;
			}
		}
		if (u > 0) {
			uint64_t mins = u % 60;

			buf[--w] = 'm';
			u /= 60;
			if (mins == 0)
				buf[--w] = '0';
			while (mins > 0) {
				buf[--w] = (char)('0' + mins % 10);
				mins /= 10;
			}
			if (u > 0) {
				buf[--w] = 'h';
				while (u > 0) {
					buf[--w] = (char)('0' + u % 10);
					u /= 10;
				}
			}
		}
	}
	if (d < 0)
		buf[--w] = '-';
	strbuf_add(out, buf + w, sizeof(buf) - w);
}

static int parse_interval(const struct build_node *node, const char *name, const char *value, int64_t *out,
			  struct strata_error **err)
{
	*out = 0;
	if (!value || !*value)
		return 0;
	if (!parse_duration(value, out))
		return parse_error(err, node->start_line, "time: invalid duration \"%s\"", value);
	if (*out < 1000000)
		return parse_error(err, node->start_line, "Interval \"%s\" cannot be less than 1ms", name);
	return 0;
}

static int parse_healthcheck(const struct pctx *pc, const struct build_node *node, struct build_instr *in,
			     struct strata_error **err)
{
	const char *rest = node->args, *sep = rest, *next;
	_cleanup_free_ char *typ = NULL, *interval = NULL, *timeout = NULL, *start = NULL, *retries = NULL;
	struct strv cmd = { 0 }, test = { 0 };
	bool json = false;
	int ret;

	while (*sep && !is_space(*sep))
		sep++;
	next = sep;
	while (is_space(*next))
		next++;
	if (sep == rest)
		return parse_error(err, node->start_line, "HEALTHCHECK requires at least one argument");
	typ = xstrndup(rest, (size_t)(sep - rest));
	for (char *c = typ; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	if (*next) {
		ret = parse_json(pc, next, &cmd, err);
		if (ret < 0)
			return ret;
		json = ret > 0;
		if (!json)
			strv_push(&cmd, xstrdup(next));
	}
	if (!strcmp(typ, "NONE")) {
		if (cmd.n) {
			strv_free(cmd.v, cmd.n);
			return parse_error(err, node->start_line, "HEALTHCHECK NONE takes no arguments");
		}
		/* moby parses no flags for NONE: any given are ignored */
		strv_push(&test, xstrdup("NONE"));
		in->health.test = test.v;
		in->health.ntest = test.n;
		return 0;
	}
	{
		const struct flag_spec specs[] = {
			{ "interval", &interval }, { "timeout", &timeout }, { "start-period", &start },
			{ "retries", &retries },
		};

		ret = parse_flags(node, specs, 4, err);
	}
	if (ret >= 0 && strcmp(typ, "CMD"))
		ret = parse_error(err, node->start_line, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", typ);
	if (ret >= 0 && !cmd.n)
		ret = parse_error(err, node->start_line, "Missing command after HEALTHCHECK CMD");
	if (ret < 0) {
		strv_free(cmd.v, cmd.n);
		return ret;
	}
	strv_push(&test, xstrdup(json ? "CMD" : "CMD-SHELL"));
	for (size_t i = 0; i < cmd.n; i++)
		strv_push(&test, cmd.v[i]);
	free(cmd.v);
	in->health.test = test.v;
	in->health.ntest = test.n;
	ret = parse_interval(node, "interval", interval, &in->health.interval, err);
	if (ret >= 0)
		ret = parse_interval(node, "timeout", timeout, &in->health.timeout, err);
	if (ret >= 0)
		ret = parse_interval(node, "start-period", start, &in->health.start_period, err);
	if (ret >= 0 && retries && *retries) {
		char *end;
		long long r;

		errno = 0;
		r = strtoll(retries, &end, 10);
		if (*end || end == retries || errno || r > INT32_MAX || r < INT32_MIN)
			return parse_error(err, node->start_line, "strconv.ParseInt: parsing \"%s\": %s", retries,
					   errno == ERANGE || (*end == '\0' && end != retries) ? "value out of range" :
					   "invalid syntax");
		if (r < 1)
			return parse_error(err, node->start_line, "--retries must be at least 1 (not %lld)", r);
		in->health.retries = (int)r;
	}
	return ret;
}

/* CMD, ENTRYPOINT, RUN, SHELL: parseMaybeJSON then handleJSONArgs. */
static int parse_cmdline(const struct pctx *pc, const struct build_node *node, struct build_instr *in, bool empty_as_nil,
			 struct strata_error **err)
{
	struct strv v = { 0 };
	int ret = 0;

	if (*node->args) {
		ret = parse_json(pc, node->args, &v, err);
		if (ret < 0)
			return ret;
	}
	in->prepend_shell = ret == 0;
	if (ret == 0 && *node->args)
		strv_push(&v, xstrdup(node->args));
	in->cmdline = v.v ? v.v : xcalloc(1, sizeof(char *));
	in->ncmdline = v.n;
	in->cmdline_nil = empty_as_nil && v.n == 0;
	return 0;
}

/* `<<EOF`, `<<-EOF`, `<<"EOF"`: the heredoc syntax 20.10 does not have. */
static bool has_heredoc(const char *args)
{
	for (const char *p = strstr(args, "<<"); p; p = strstr(p + 2, "<<")) {
		const char *q = p + 2;

		if (*q == '-')
			q++;
		if (*q == '"' || *q == '\'')
			q++;
		if (isalpha((unsigned char)*q) || *q == '_')
			return true;
	}
	return false;
}

static bool stage_name_ok(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.'))
			return false;
	return true;
}

static const struct {
	const char *name;
	enum build_kind kind;
} kinds[] = {
	{ "from", BI_FROM }, { "arg", BI_ARG }, { "env", BI_ENV }, { "label", BI_LABEL },
	{ "maintainer", BI_MAINTAINER }, { "expose", BI_EXPOSE }, { "entrypoint", BI_ENTRYPOINT },
	{ "cmd", BI_CMD }, { "volume", BI_VOLUME }, { "user", BI_USER }, { "workdir", BI_WORKDIR },
	{ "onbuild", BI_ONBUILD }, { "stopsignal", BI_STOPSIGNAL }, { "healthcheck", BI_HEALTHCHECK },
	{ "shell", BI_SHELL }, { "run", BI_RUN }, { "copy", BI_COPY }, { "add", BI_ADD },
};

static int exactly_one(const struct build_node *node, struct build_instr *in, const char *what,
		       struct strata_error **err)
{
	if (!*node->args)
		return parse_error(err, node->start_line, "%s requires exactly one argument", what);
	in->words = xcalloc(1, sizeof(char *));
	in->words[0] = xstrdup(node->args);
	in->nwords = 1;
	return 0;
}

static int no_flags(const struct build_node *node, struct strata_error **err)
{
	return parse_flags(node, NULL, 0, err);
}

static int parse_node(const struct pctx *pc, const struct build_node *node, struct build_instr *in,
		      struct strata_error **err)
{
	struct strv v = { 0 };
	bool found = false;
	int ret;

	memset(in, 0, sizeof(*in));
	in->line = node->start_line;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!strcmp(node->cmd, kinds[i].name)) {
			in->kind = kinds[i].kind;
			found = true;
		}
	}
	if (!found) {
		_cleanup_free_ char *up = xstrdup(node->cmd);

		for (char *c = up; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		return parse_error(err, node->start_line, "unknown instruction: %s", up);
	}
	{
		const char *o = node->original, *e;

		while (is_space(*o))
			o++;
		e = o + strlen(o);
		while (e > o && is_space(e[-1]))
			e--;
		in->code = xstrndup(o, (size_t)(e - o));
	}
	switch (in->kind) {
	case BI_FROM: {
		const struct flag_spec specs[] = { { "platform", &in->platform } };

		split_ws(node->args, &v);
		in->words = v.v;
		in->nwords = v.n;
		if (v.n == 3 && !strcasecmp(v.v[1], "as")) {
			in->name = xstrdup(v.v[2]);
			for (char *c = in->name; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			if (!stage_name_ok(in->name)) {
				_cleanup_strbuf_ struct strbuf q = STRBUF_INIT;

				build_go_quote(&q, v.v[2]);
				return parse_error(err, node->start_line,
						   "invalid name for build stage: %s, name can't start with a number or contain symbols",
						   q.buf);
			}
		} else if (v.n != 1) {
			return parse_error(err, node->start_line, "FROM requires either one or three arguments");
		}
		ret = parse_flags(node, specs, 1, err);
		default_empty(&in->platform);
		return ret;
	}
	case BI_ARG:
		parse_words(node->args, pc->escape, &v);
		if (!v.n)
			return parse_error(err, node->start_line, "ARG requires at least one argument");
		in->kvs = xcalloc(v.n, sizeof(*in->kvs));
		for (size_t i = 0; i < v.n; i++) {
			char *eq = strchr(v.v[i], '=');

			if (eq == v.v[i]) {
				strv_free(v.v, v.n);
				return parse_error(err, node->start_line, "ARG names can not be blank");
			}
			in->kvs[i].key = eq ? xstrndup(v.v[i], (size_t)(eq - v.v[i])) : xstrdup(v.v[i]);
			in->kvs[i].value = eq ? xstrdup(eq + 1) : NULL;
			in->nkvs++;
		}
		strv_free(v.v, v.n);
		return 0;
	case BI_ENV:
	case BI_LABEL:
		ret = parse_name_val(pc, node->args, in->kind == BI_ENV ? "ENV" : "LABEL", in, err);
		if (ret < 0)
			return ret;
		ret = no_flags(node, err);
		if (ret < 0)
			return ret;
		if (!in->nkvs)
			return parse_error(err, node->start_line, "%s requires at least one argument",
					   in->kind == BI_ENV ? "ENV" : "LABEL");
		for (size_t i = 0; i < in->nkvs; i++)
			if (!*in->kvs[i].key)
				return parse_error(err, node->start_line, "%s names can not be blank",
						   in->kind == BI_ENV ? "ENV" : "LABEL");
		return 0;
	case BI_MAINTAINER:
		ret = exactly_one(node, in, "MAINTAINER", err);
		return ret < 0 ? ret : no_flags(node, err);
	case BI_USER:
		ret = exactly_one(node, in, "USER", err);
		return ret < 0 ? ret : no_flags(node, err);
	case BI_WORKDIR:
		ret = exactly_one(node, in, "WORKDIR", err);
		return ret < 0 ? ret : no_flags(node, err);
	case BI_STOPSIGNAL:
		return exactly_one(node, in, "STOPSIGNAL", err);
	case BI_EXPOSE:
		split_ws(node->args, &v);
		in->words = v.v;
		in->nwords = v.n;
		if (!v.n)
			return parse_error(err, node->start_line, "EXPOSE requires at least one argument");
		ret = no_flags(node, err);
		if (ret < 0)
			return ret;
		for (size_t i = 1; i < v.n; i++)
			for (size_t j = i; j > 0 && strcmp(v.v[j - 1], v.v[j]) > 0; j--) {
				char *t = v.v[j];

				v.v[j] = v.v[j - 1];
				v.v[j - 1] = t;
			}
		return 0;
	case BI_VOLUME:
	case BI_COPY:
	case BI_ADD:
		ret = parse_json(pc, node->args, &v, err);
		if (ret < 0)
			return ret;
		if (ret == 0)
			split_ws(node->args, &v);
		in->words = v.v;
		in->nwords = v.n;
		if (in->kind == BI_VOLUME) {
			if (!v.n)
				return parse_error(err, node->start_line, "VOLUME requires at least one argument");
			ret = no_flags(node, err);
			if (ret < 0)
				return ret;
			for (size_t i = 0; i < v.n; i++) {
				char *s = v.v[i], *e;

				while (is_space(*s))
					s++;
				e = s + strlen(s);
				while (e > s && is_space(e[-1]))
					e--;
				if (e == s)
					return parse_error(err, node->start_line,
							   "VOLUME specified can not be an empty string");
				memmove(v.v[i], s, (size_t)(e - s));
				v.v[i][e - s] = '\0';
			}
			return 0;
		}
		if (has_heredoc(node->args))
			return parse_error(err, node->start_line,
					   "heredocs (<<EOF) are not supported by the classic builder of docker 20.10");
		if (v.n < 2)
			return parse_error(err, node->start_line,
					   "%s requires at least two arguments, but only one was provided. Destination could not be determined",
					   in->kind == BI_COPY ? "COPY" : "ADD");
		{
			const struct flag_spec copy_specs[] = {
				{ "chown", &in->chown }, { "from", &in->from }, { "chmod", &in->chmod },
			};
			const struct flag_spec add_specs[] = { { "chown", &in->chown }, { "chmod", &in->chmod } };

			ret = in->kind == BI_COPY ? parse_flags(node, copy_specs, 3, err) :
			      parse_flags(node, add_specs, 2, err);
		}
		default_empty(&in->chown);
		default_empty(&in->from);
		default_empty(&in->chmod);
		return ret;
	case BI_ONBUILD: {
		const char *o = node->original, *w;
		size_t wl;

		if (!*node->args)
			return parse_error(err, node->start_line, "ONBUILD requires at least one argument");
		ret = no_flags(node, err);
		if (ret < 0)
			return ret;
		w = node->args;
		wl = 0;
		while (w[wl] && !is_space(w[wl]))
			wl++;
		if (wl == 7 && !strncasecmp(w, "onbuild", 7))
			return parse_error(err, node->start_line,
					   "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
		if ((wl == 10 && !strncasecmp(w, "maintainer", 10)) || (wl == 4 && !strncasecmp(w, "from", 4))) {
			_cleanup_free_ char *up = xstrndup(w, wl);

			for (char *c = up; *c; c++)
				*c = (char)toupper((unsigned char)*c);
			return parse_error(err, node->start_line, "%s isn't allowed as an ONBUILD trigger", up);
		}
		/* (?i)^\s*ONBUILD\s* removed from the original line */
		while (is_space(*o))
			o++;
		o += 7;
		while (is_space(*o))
			o++;
		in->expression = xstrdup(o);
		return 0;
	}
	case BI_HEALTHCHECK:
		return parse_healthcheck(pc, node, in, err);
	case BI_ENTRYPOINT:
		ret = no_flags(node, err);
		return ret < 0 ? ret : parse_cmdline(pc, node, in, true, err);
	case BI_CMD:
		ret = no_flags(node, err);
		return ret < 0 ? ret : parse_cmdline(pc, node, in, false, err);
	case BI_RUN:
		if (has_heredoc(node->args))
			return parse_error(err, node->start_line,
					   "heredocs (<<EOF) are not supported by the classic builder of docker 20.10");
		ret = no_flags(node, err);
		return ret < 0 ? ret : parse_cmdline(pc, node, in, false, err);
	case BI_SHELL:
		ret = no_flags(node, err);
		if (ret >= 0)
			ret = parse_cmdline(pc, node, in, false, err);
		if (ret < 0)
			return ret;
		if (!in->ncmdline)
			return parse_error(err, node->start_line, "SHELL requires at least one argument");
		if (in->prepend_shell)
			return parse_error(err, node->start_line,
					   "SHELL requires the arguments to be in JSON form");
		return 0;
	}
	return 0;
}

void build_instr_release(struct build_instr *in)
{
	free(in->code);
	strv_free(in->words, in->nwords);
	for (size_t i = 0; i < in->nkvs; i++) {
		free(in->kvs[i].key);
		free(in->kvs[i].value);
	}
	free(in->kvs);
	strv_free(in->cmdline, in->ncmdline);
	free(in->name);
	free(in->platform);
	free(in->from);
	free(in->chown);
	free(in->chmod);
	free(in->expression);
	strv_free(in->health.test, in->health.ntest);
	memset(in, 0, sizeof(*in));
}

void build_plan_free(struct build_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->nmeta; i++)
		build_instr_release(&plan->meta[i]);
	free(plan->meta);
	for (size_t s = 0; s < plan->nstages; s++) {
		build_instr_release(&plan->stages[s].from);
		for (size_t i = 0; i < plan->stages[s].n; i++)
			build_instr_release(&plan->stages[s].cmds[i]);
		free(plan->stages[s].cmds);
	}
	free(plan->stages);
	strv_free(plan->warnings, plan->nwarnings);
	free(plan);
}

int build_plan_parse(const char *data, size_t len, const char *name, struct build_plan **out,
		     struct strata_error **err)
{
	struct build_dockerfile *df = NULL;
	struct build_plan *plan;
	struct pctx pc;
	int ret = build_dockerfile_parse(data, len, &df, err);

	if (ret < 0)
		return strata_error_wrap(err, "failed to parse %s", name);
	pc.escape = df->escape;
	pc.name = name;
	plan = xcalloc(1, sizeof(*plan));
	plan->escape = df->escape;
	for (size_t i = 0; ret >= 0 && i < df->n; i++) {
		struct build_instr in;

		ret = parse_node(&pc, &df->nodes[i], &in, err);
		if (ret < 0) {
			build_instr_release(&in);
			break;
		}
		if (!plan->nstages && in.kind == BI_ARG) {
			ALLOC_GROW(plan->meta, plan->nmeta + 1, plan->meta_alloc);
			plan->meta[plan->nmeta++] = in;
		} else if (in.kind == BI_FROM) {
			ALLOC_GROW(plan->stages, plan->nstages + 1, plan->stages_alloc);
			memset(&plan->stages[plan->nstages], 0, sizeof(plan->stages[0]));
			plan->stages[plan->nstages++].from = in;
		} else if (!plan->nstages) {
			build_instr_release(&in);
			/* moby adds only a location to this one, which the message does not show */
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "no build stage in current context");
		} else {
			struct build_stage *st = &plan->stages[plan->nstages - 1];

			ALLOC_GROW(st->cmds, st->n + 1, st->alloc);
			st->cmds[st->n++] = in;
		}
	}
	plan->warnings = df->warnings;
	plan->nwarnings = df->nwarnings;
	df->warnings = NULL;
	df->nwarnings = 0;
	build_dockerfile_free(df);
	if (ret < 0) {
		build_plan_free(plan);
		return ret;
	}
	*out = plan;
	return 0;
}

int build_instr_parse_line(const char *line, struct build_instr *out, struct strata_error **err)
{
	struct build_dockerfile *df = NULL;
	struct pctx pc = { '\\', "Dockerfile" };
	int ret = build_dockerfile_parse(line, strlen(line), &df, err);

	if (ret < 0)
		return ret;
	pc.escape = df->escape;
	if (df->n != 1) {
		build_dockerfile_free(df);
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "onbuild trigger should be a single expression");
	}
	ret = parse_node(&pc, &df->nodes[0], out, err);
	if (ret < 0)
		build_instr_release(out);
	build_dockerfile_free(df);
	return ret;
}

void build_stage_add_label(struct build_stage *stage, const char *key, const char *value)
{
	struct build_instr *in;

	ALLOC_GROW(stage->cmds, stage->n + 1, stage->alloc);
	in = &stage->cmds[stage->n++];
	memset(in, 0, sizeof(*in));
	in->kind = BI_LABEL;
	in->code = xasprintf("LABEL %s=%s", key, value);
	in->kvs = xcalloc(1, sizeof(*in->kvs));
	in->kvs[0].key = xstrdup(key);
	in->kvs[0].value = xstrdup(value);
	in->nkvs = 1;
	in->no_expand = true;
}

static int expand_one(char **s, char escape, const struct build_env *env, struct strata_error **err)
{
	char *out;
	int ret;

	if (!*s)
		return 0;
	ret = build_lex_word(*s, escape, env, &out, err);
	if (ret < 0)
		return ret;
	free(*s);
	*s = out;
	return 0;
}

int build_instr_expand(struct build_instr *in, char escape, const struct build_env *env,
		       struct strata_error **err)
{
	int ret = 0;

	switch (in->kind) {
	case BI_LABEL:
		if (in->no_expand)
			return 0;
		/* fallthrough */
	case BI_ENV:
	case BI_ARG:
		for (size_t i = 0; ret >= 0 && i < in->nkvs; i++) {
			ret = expand_one(&in->kvs[i].key, escape, env, err);
			if (ret >= 0)
				ret = expand_one(&in->kvs[i].value, escape, env, err);
		}
		return ret;
	case BI_COPY:
	case BI_ADD:
		ret = expand_one(&in->chown, escape, env, err);
		/* fallthrough */
	case BI_WORKDIR:
	case BI_USER:
	case BI_VOLUME:
	case BI_STOPSIGNAL:
		for (size_t i = 0; ret >= 0 && i < in->nwords; i++)
			ret = expand_one(&in->words[i], escape, env, err);
		return ret;
	default:
		return 0;
	}
}
