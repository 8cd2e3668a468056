/*
 * Template execution: values are jansson references plus a "nil kind"
 * (see the nil rule in template.h), printed the way Go's fmt prints them.
 */
#include <inttypes.h>
#include <math.h>
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
 * UTF-8 and Go string literals
 * ==================================================================== */

size_t tk_rune_len(const char *s, size_t len)
{
	return tabwriter_rune_count(s, len);
}

size_t tk_rune_prefix(const char *s, size_t len, size_t n)
{
	size_t i = 0;
	int32_t r;

	while (n-- > 0 && i < len)
		i += utf8_decode_rune(s + i, len - i, &r);
	return i;
}

static void add_rune(struct strbuf *sb, int32_t r)
{
	if (r < 0 || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
		r = 0xfffd;
	if (r < 0x80) {
		strbuf_addch(sb, r);
	} else if (r < 0x800) {
		strbuf_addch(sb, 0xc0 | (r >> 6));
		strbuf_addch(sb, 0x80 | (r & 0x3f));
	} else if (r < 0x10000) {
		strbuf_addch(sb, 0xe0 | (r >> 12));
		strbuf_addch(sb, 0x80 | ((r >> 6) & 0x3f));
		strbuf_addch(sb, 0x80 | (r & 0x3f));
	} else {
		strbuf_addch(sb, 0xf0 | (r >> 18));
		strbuf_addch(sb, 0x80 | ((r >> 12) & 0x3f));
		strbuf_addch(sb, 0x80 | ((r >> 6) & 0x3f));
		strbuf_addch(sb, 0x80 | (r & 0x3f));
	}
}

/* Approximation of unicode.IsPrint for the runes templates meet. */
static int rune_printable(int32_t r)
{
	if (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0xad)
		return 0;
	if ((r >= 0x200b && r <= 0x200f) || r == 0x2028 || r == 0x2029 || r == 0xfeff ||
	    (r >= 0x2060 && r <= 0x206f) || (r >= 0xfff9 && r <= 0xfffb))
		return 0;
	return 1;
}

static void quote_rune(struct strbuf *sb, int32_t r, int bad, unsigned char byte, char q)
{
	if (bad) {
		strbuf_addf(sb, "\\x%02x", byte);
		return;
	}
	if (r == q || r == '\\') {
		strbuf_addch(sb, '\\');
		strbuf_addch(sb, r);
		return;
	}
	if (rune_printable(r)) {
		add_rune(sb, r);
		return;
	}
	switch (r) {
	case '\a': strbuf_addstr(sb, "\\a"); return;
	case '\b': strbuf_addstr(sb, "\\b"); return;
	case '\f': strbuf_addstr(sb, "\\f"); return;
	case '\n': strbuf_addstr(sb, "\\n"); return;
	case '\r': strbuf_addstr(sb, "\\r"); return;
	case '\t': strbuf_addstr(sb, "\\t"); return;
	case '\v': strbuf_addstr(sb, "\\v"); return;
	}
	if (r < 0x20 || r == 0x7f)
		strbuf_addf(sb, "\\x%02x", (unsigned)r);
	else if (r < 0x10000)
		strbuf_addf(sb, "\\u%04x", (unsigned)r);
	else
		strbuf_addf(sb, "\\U%08x", (unsigned)r);
}

void go_quote(struct strbuf *sb, const char *s, size_t len)
{
	size_t i = 0;

	strbuf_addch(sb, '"');
	while (i < len) {
		int32_t r;
		size_t n = utf8_decode_rune(s + i, len - i, &r);
		int bad = r == 0xfffd && n == 1 && (unsigned char)s[i] >= 0x80;

		quote_rune(sb, r, bad, (unsigned char)s[i], '"');
		i += n;
	}
	strbuf_addch(sb, '"');
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int go_unquote(struct strbuf *sb, const char *s, size_t len, char q)
{
	size_t i = 0;

	while (i < len) {
		char c = s[i++];
		int32_t v = 0;
		int n = 0;

		if (c == q)
			return -1;
		if (c != '\\') {
			strbuf_addch(sb, c);
			continue;
		}
		if (i >= len)
			return -1;
		c = s[i++];
		switch (c) {
		case 'a': strbuf_addch(sb, '\a'); continue;
		case 'b': strbuf_addch(sb, '\b'); continue;
		case 'f': strbuf_addch(sb, '\f'); continue;
		case 'n': strbuf_addch(sb, '\n'); continue;
		case 'r': strbuf_addch(sb, '\r'); continue;
		case 't': strbuf_addch(sb, '\t'); continue;
		case 'v': strbuf_addch(sb, '\v'); continue;
		case '\\': strbuf_addch(sb, '\\'); continue;
		case '\'':
		case '"':
			if (c != q)
				return -1;
			strbuf_addch(sb, c);
			continue;
		case 'x': n = 2; break;
		case 'u': n = 4; break;
		case 'U': n = 8; break;
		default:
			if (c >= '0' && c <= '7') {
				if (i + 2 > len)
					return -1;
				v = c - '0';
				for (int k = 0; k < 2; k++) {
					if (s[i] < '0' || s[i] > '7')
						return -1;
					v = v * 8 + (s[i++] - '0');
				}
				if (v > 255)
					return -1;
				strbuf_addch(sb, v);
				continue;
			}
			return -1;
		}
		if (i + (size_t)n > len)
			return -1;
		for (int k = 0; k < n; k++) {
			int h = hexval(s[i++]);

			if (h < 0)
				return -1;
			v = v * 16 + h;
		}
		if (c == 'x')
			strbuf_addch(sb, v);
		else if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			return -1;
		else
			add_rune(sb, v);
	}
	return 0;
}

/* ======================================================================
 * Node text (Go's String())
 * ==================================================================== */

void node_str(struct strbuf *sb, const struct node *n)
{
	switch (n->kind) {
	case N_LIST:
		for (size_t i = 0; i < n->nkids; i++)
			node_str(sb, n->kids[i]);
		break;
	case N_TEXT:
		strbuf_add(sb, n->text, n->text_len);
		break;
	case N_ACTION:
		strbuf_addstr(sb, "{{");
		node_str(sb, n->pipe);
		strbuf_addstr(sb, "}}");
		break;
	case N_IF:
	case N_RANGE:
	case N_WITH:
		strbuf_addf(sb, "{{%s ", n->kind == N_IF ? "if" : n->kind == N_RANGE ? "range" : "with");
		node_str(sb, n->pipe);
		strbuf_addstr(sb, "}}");
		node_str(sb, n->list);
		if (n->else_list) {
			strbuf_addstr(sb, "{{else}}");
			node_str(sb, n->else_list);
		}
		strbuf_addstr(sb, "{{end}}");
		break;
	case N_BREAK: strbuf_addstr(sb, "{{break}}"); break;
	case N_CONTINUE: strbuf_addstr(sb, "{{continue}}"); break;
	case N_ELSE: strbuf_addstr(sb, "{{else}}"); break;
	case N_END: strbuf_addstr(sb, "{{end}}"); break;
	case N_PIPE:
		for (size_t i = 0; i < n->nfields; i++)
			strbuf_addf(sb, "%s%s", i ? ", " : "", n->fields[i]);
		if (n->nfields)
			strbuf_addstr(sb, " := ");
		for (size_t i = 0; i < n->nkids; i++) {
			if (i)
				strbuf_addstr(sb, " | ");
			node_str(sb, n->kids[i]);
		}
		break;
	case N_CMD:
		for (size_t i = 0; i < n->nkids; i++) {
			if (i)
				strbuf_addch(sb, ' ');
			if (n->kids[i]->kind == N_PIPE) {
				strbuf_addch(sb, '(');
				node_str(sb, n->kids[i]);
				strbuf_addch(sb, ')');
			} else {
				node_str(sb, n->kids[i]);
			}
		}
		break;
	case N_FIELD:
		for (size_t i = 0; i < n->nfields; i++)
			strbuf_addf(sb, ".%s", n->fields[i]);
		break;
	case N_VAR:
		for (size_t i = 0; i < n->nfields; i++)
			strbuf_addf(sb, "%s%s", i ? "." : "", n->fields[i]);
		break;
	case N_CHAIN:
		if (n->sub->kind == N_PIPE) {
			strbuf_addch(sb, '(');
			node_str(sb, n->sub);
			strbuf_addch(sb, ')');
		} else {
			node_str(sb, n->sub);
		}
		for (size_t i = 0; i < n->nfields; i++)
			strbuf_addf(sb, ".%s", n->fields[i]);
		break;
	case N_DOT: strbuf_addch(sb, '.'); break;
	case N_NIL: strbuf_addstr(sb, "nil"); break;
	case N_BOOL: strbuf_addstr(sb, n->bval ? "true" : "false"); break;
	case N_NUM:
	case N_STR: strbuf_addstr(sb, n->raw); break;
	case N_IDENT: strbuf_addstr(sb, n->text); break;
	}
}

/* ======================================================================
 * Values
 * ==================================================================== */

enum { NK_PLAIN, NK_MAP, NK_SLICE };

struct val {
	json_t *j; /* NULL: invalid ("<no value>") */
	int nk;    /* for JSON null: which Go nil it stands for */
};

static int nil_kind_for_key(const char *key)
{
	static const char *const maps[] = { "Labels", "Volumes", "ExposedPorts" };
	static const char *const slices[] = { "Env", "Cmd", "Entrypoint", "OnBuild", "Shell" };

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if (!strcmp(key, maps[i]))
			return NK_MAP;
	for (size_t i = 0; i < sizeof(slices) / sizeof(slices[0]); i++)
		if (!strcmp(key, slices[i]))
			return NK_SLICE;
	return NK_PLAIN;
}

static struct val v_ref(const json_t *j, int nk)
{
	return (struct val){ json_incref((json_t *)j), nk };
}

static struct val v_own(json_t *j)
{
	return (struct val){ j, NK_PLAIN };
}

static void v_drop(struct val *v)
{
	json_decref(v->j);
	v->j = NULL;
	v->nk = NK_PLAIN;
}

static struct val v_str(const char *s, size_t len)
{
	return v_own(json_stringn_nocheck(s, len));
}

/* Member of an object as a value, with the nil rule applied. */
static struct val v_member(const json_t *obj, const char *key)
{
	json_t *m = json_object_get(obj, key);

	if (!m)
		return (struct val){ NULL, NK_PLAIN };
	return v_ref(m, json_is_null(m) ? nil_kind_for_key(key) : NK_PLAIN);
}

static const char *type_name(const struct val *v)
{
	if (!v->j)
		return "<nil>";
	switch (json_typeof(v->j)) {
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "int";
	case JSON_REAL: return "float64";
	case JSON_TRUE:
	case JSON_FALSE: return "bool";
	case JSON_ARRAY: return "[]interface {}";
	case JSON_OBJECT: return "map[string]interface {}";
	case JSON_NULL: break;
	}
	return v->nk == NK_MAP ? "map[string]string" : v->nk == NK_SLICE ? "[]string" :
								      "interface {}";
}

/* Go text/template isTrue. */
static int truth(const struct val *v)
{
	if (!v->j)
		return 0;
	switch (json_typeof(v->j)) {
	case JSON_STRING: return json_string_length(v->j) > 0;
	case JSON_INTEGER: return json_integer_value(v->j) != 0;
	case JSON_REAL: return json_real_value(v->j) != 0;
	case JSON_TRUE: return 1;
	case JSON_ARRAY: return json_array_size(v->j) > 0;
	case JSON_OBJECT: return json_object_size(v->j) > 0;
	default: return 0;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Object keys sorted bytewise (Go's fmt and range sort map keys). */
static const char **sorted_keys(const json_t *obj, size_t *n)
{
	const char **keys = xcalloc(json_object_size(obj) + 1, sizeof(*keys));
	const char *k;
	json_t *v;
	size_t i = 0;

	json_object_foreach((json_t *)obj, k, v)
		keys[i++] = k;
	qsort(keys, i, sizeof(*keys), cmp_str);
	*n = i;
	return keys;
}

/* Go strconv 'g'/'e' formatting of a float64 with the shortest digits. */
static void go_float(struct strbuf *sb, double f, int upper)
{
	char buf[64];
	int prec, exp;
	char *e;

	if (isnan(f)) {
		strbuf_addstr(sb, "NaN");
		return;
	}
	if (isinf(f)) {
		strbuf_addstr(sb, f > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec - 1, f);
		if (strtod(buf, NULL) == f)
			break;
	}
	snprintf(buf, sizeof(buf), "%.*e", prec - 1, f);
	e = strchr(buf, 'e');
	exp = e ? atoi(e + 1) : 0;
	if (exp < -4 || exp >= 6) {
		/* shortest %v: exponent form beyond 1e+06 (eprec 6) */
		if (upper && e)
			*e = 'E';
		strbuf_addstr(sb, buf);
		return;
	}
	snprintf(buf, sizeof(buf), "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, f);
	strbuf_addstr(sb, buf);
}

/* fmt's %v of the Go value a JSON value stands for. */
static void fmt_v(struct strbuf *sb, const json_t *j, int nk)
{
	switch (json_typeof(j)) {
	case JSON_NULL:
		strbuf_addstr(sb, nk == NK_MAP ? "map[]" : nk == NK_SLICE ? "[]" : "<nil>");
		break;
	case JSON_STRING:
		strbuf_add(sb, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		strbuf_addf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		break;
	case JSON_REAL:
		go_float(sb, json_real_value(j), 0);
		break;
	case JSON_TRUE:
		strbuf_addstr(sb, "true");
		break;
	case JSON_FALSE:
		strbuf_addstr(sb, "false");
		break;
	case JSON_ARRAY:
		strbuf_addch(sb, '[');
		for (size_t i = 0; i < json_array_size(j); i++) {
			if (i)
				strbuf_addch(sb, ' ');
			fmt_v(sb, json_array_get(j, i), NK_PLAIN);
		}
		strbuf_addch(sb, ']');
		break;
	case JSON_OBJECT: {
		size_t n;
		const char **keys = sorted_keys(j, &n);

		strbuf_addstr(sb, "map[");
		for (size_t i = 0; i < n; i++) {
			json_t *m = json_object_get(j, keys[i]);

			if (i)
				strbuf_addch(sb, ' ');
			strbuf_addf(sb, "%s:", keys[i]);
			fmt_v(sb, m, json_is_null(m) ? nil_kind_for_key(keys[i]) : NK_PLAIN);
		}
		strbuf_addch(sb, ']');
		free(keys);
		break;
	}
	}
}

/* ---- a subset of Go's fmt verbs for printf ---------------------------- */

struct fspec {
	int minus, plus, sharp, zero, space;
	int width, prec; /* -1 when absent */
	char verb;
};

static void pad_to(struct strbuf *sb, const char *s, size_t len, const struct fspec *sp)
{
	size_t w = tabwriter_rune_count(s, len);
	size_t fill = sp->width > 0 && (size_t)sp->width > w ? (size_t)sp->width - w : 0;

	if (sp->minus) {
		strbuf_add(sb, s, len);
		strbuf_addchars(sb, ' ', fill);
	} else if (sp->zero) {
		/* zeros go after a sign */
		if (len && (s[0] == '-' || s[0] == '+') && fill) {
			strbuf_addch(sb, s[0]);
			s++;
			len--;
		}
		strbuf_addchars(sb, '0', fill);
		strbuf_add(sb, s, len);
	} else {
		strbuf_addchars(sb, ' ', fill);
		strbuf_add(sb, s, len);
	}
}

static void bad_verb(struct strbuf *sb, const struct fspec *sp, const json_t *j, int nk)
{
	strbuf_addf(sb, "%%!%c(", sp->verb);
	if (json_is_null(j) && nk == NK_PLAIN) {
		strbuf_addstr(sb, "<nil>");
	} else {
		struct val v = { (json_t *)j, nk };

		strbuf_addf(sb, "%s=", type_name(&v));
		fmt_v(sb, j, nk);
	}
	strbuf_addch(sb, ')');
}

static void fmt_int(struct strbuf *tmp, const struct fspec *sp, json_int_t v)
{
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	char digits[80];
	int base = 10, upper = 0, n = 0;
	const char *prefix = "";

	switch (sp->verb) {
	case 'x': base = 16; prefix = sp->sharp ? "0x" : ""; break;
	case 'X': base = 16; upper = 1; prefix = sp->sharp ? "0X" : ""; break;
	case 'o': base = 8; prefix = sp->sharp ? "0" : ""; break;
	case 'O': base = 8; prefix = "0o"; break;
	case 'b': base = 2; break;
	}
	do {
		int d = (int)(u % (unsigned)base);

		digits[n++] = (char)(d < 10 ? '0' + d : (upper ? 'A' : 'a') + d - 10);
		u /= (unsigned)base;
	} while (u && n < 70);
	while (sp->prec >= 0 && n < sp->prec && n < 70)
		digits[n++] = '0';
	if (v < 0)
		strbuf_addch(tmp, '-');
	else if (sp->plus)
		strbuf_addch(tmp, '+');
	else if (sp->space)
		strbuf_addch(tmp, ' ');
	strbuf_addstr(tmp, prefix);
	while (n > 0)
		strbuf_addch(tmp, digits[--n]);
}

static void fmt_arg(struct strbuf *sb, const struct fspec *sp, const json_t *j, int nk)
{
	_cleanup_strbuf_ struct strbuf tmp = STRBUF_INIT;
	char v = sp->verb;

	switch (json_typeof(j)) {
	case JSON_STRING: {
		const char *s = json_string_value(j);
		size_t len = json_string_length(j);

		if (sp->prec >= 0)
			len = tk_rune_prefix(s, len, (size_t)sp->prec);
		if (v == 's' || v == 'v')
			strbuf_add(&tmp, s, len);
		else if (v == 'q')
			go_quote(&tmp, s, len);
		else if (v == 'x' || v == 'X')
			for (size_t i = 0; i < len; i++)
				strbuf_addf(&tmp, v == 'x' ? "%02x" : "%02X", (unsigned char)s[i]);
		else
			return bad_verb(sb, sp, j, nk);
		break;
	}
	case JSON_INTEGER: {
		json_int_t iv = json_integer_value(j);

		if (v == 'd' || v == 'v' || v == 'x' || v == 'X' || v == 'o' || v == 'O' ||
		    v == 'b') {
			fmt_int(&tmp, sp, iv);
		} else if (v == 'c') {
			add_rune(&tmp, (int32_t)iv);
		} else if (v == 'q') {
			strbuf_addch(&tmp, '\'');
			quote_rune(&tmp, (int32_t)iv, 0, 0, '\'');
			strbuf_addch(&tmp, '\'');
		} else if (v == 'U') {
			strbuf_addf(&tmp, "U+%04llX", (unsigned long long)iv);
		} else {
			return bad_verb(sb, sp, j, nk);
		}
		break;
	}
	case JSON_REAL: {
		double f = json_real_value(j);
		char buf[512];

		if ((v == 'v' || v == 'g' || v == 'G') && sp->prec < 0) {
			if (sp->plus && f >= 0)
				strbuf_addch(&tmp, '+');
			go_float(&tmp, f, v == 'G');
		} else if (v == 'v' || v == 'g' || v == 'G' || v == 'e' || v == 'E' ||
			   v == 'f' || v == 'F') {
			int prec = sp->prec >= 0 ? (sp->prec > 100 ? 100 : sp->prec) : 6;

			switch (v) {
			case 'e': snprintf(buf, sizeof(buf), "%.*e", prec, f); break;
			case 'E': snprintf(buf, sizeof(buf), "%.*E", prec, f); break;
			case 'G': snprintf(buf, sizeof(buf), "%.*G", prec, f); break;
			case 'f':
			case 'F':
				if (fabs(f) >= 1e300) {
					snprintf(buf, sizeof(buf), "%.*e", prec, f);
					break;
				}
				snprintf(buf, sizeof(buf), "%.*f", prec, f);
				break;
			default: snprintf(buf, sizeof(buf), "%.*g", prec, f); break;
			}
			if (sp->plus && f >= 0)
				strbuf_addch(&tmp, '+');
			strbuf_addstr(&tmp, buf);
		} else {
			return bad_verb(sb, sp, j, nk);
		}
		break;
	}
	case JSON_TRUE:
	case JSON_FALSE:
		if (v != 't' && v != 'v')
			return bad_verb(sb, sp, j, nk);
		strbuf_addstr(&tmp, json_is_true(j) ? "true" : "false");
		break;
	case JSON_NULL:
		if (nk == NK_MAP) {
			strbuf_addstr(sb, "map[]");
			return;
		}
		if (nk == NK_SLICE) {
			strbuf_addstr(sb, "[]");
			return;
		}
		if (v != 'v')
			return bad_verb(sb, sp, j, nk);
		strbuf_addstr(&tmp, "<nil>");
		break;
	case JSON_ARRAY:
		strbuf_addch(sb, '[');
		for (size_t i = 0; i < json_array_size(j); i++) {
			if (i)
				strbuf_addch(sb, ' ');
			fmt_arg(sb, sp, json_array_get(j, i), NK_PLAIN);
		}
		strbuf_addch(sb, ']');
		return;
	case JSON_OBJECT: {
		size_t n;
		const char **keys = sorted_keys(j, &n);

		strbuf_addstr(sb, "map[");
		for (size_t i = 0; i < n; i++) {
			json_t *k = json_string(keys[i]), *m = json_object_get(j, keys[i]);

			if (i)
				strbuf_addch(sb, ' ');
			fmt_arg(sb, sp, k, NK_PLAIN);
			strbuf_addch(sb, ':');
			fmt_arg(sb, sp, m, json_is_null(m) ? nil_kind_for_key(keys[i]) : NK_PLAIN);
			json_decref(k);
		}
		strbuf_addch(sb, ']');
		free(keys);
		return;
	}
	}
	pad_to(sb, tmp.buf, tmp.len, sp);
}

/* fmt.Sprintf(format, args...) for the verbs above. */
static void go_sprintf(struct strbuf *sb, const char *f, size_t flen, json_t *const *args,
		       const int *nks, size_t nargs)
{
	size_t argi = 0, i = 0;

	while (i < flen) {
		struct fspec sp = { 0, 0, 0, 0, 0, -1, -1, 0 };

		if (f[i] != '%') {
			strbuf_addch(sb, f[i++]);
			continue;
		}
		i++;
		for (; i < flen; i++) {
			if (f[i] == '-')
				sp.minus = 1;
			else if (f[i] == '+')
				sp.plus = 1;
			else if (f[i] == '#')
				sp.sharp = 1;
			else if (f[i] == '0')
				sp.zero = !sp.minus;
			else if (f[i] == ' ')
				sp.space = 1;
			else
				break;
		}
		if (i < flen && f[i] == '*') {
			i++;
			if (argi < nargs && json_is_integer(args[argi])) {
				json_int_t w = json_integer_value(args[argi++]);

				if (w < 0) {
					sp.minus = 1;
					sp.zero = 0;
					w = -w;
				}
				sp.width = w > 1000000 ? 1000000 : (int)w;
			} else {
				argi++;
				strbuf_addstr(sb, "%!(BADWIDTH)");
			}
		} else {
			while (i < flen && f[i] >= '0' && f[i] <= '9') {
				sp.width = (sp.width < 0 ? 0 : sp.width) * 10 + (f[i++] - '0');
				if (sp.width > 1000000)
					sp.width = 1000000;
			}
		}
		if (i < flen && f[i] == '.') {
			i++;
			sp.prec = 0;
			if (i < flen && f[i] == '*') {
				i++;
				if (argi < nargs && json_is_integer(args[argi])) {
					json_int_t pr = json_integer_value(args[argi++]);

					sp.prec = pr < 0 ? -1 : pr > 1000000 ? 1000000 : (int)pr;
				} else {
					argi++;
					strbuf_addstr(sb, "%!(BADPREC)");
				}
			} else {
				while (i < flen && f[i] >= '0' && f[i] <= '9') {
					sp.prec = sp.prec * 10 + (f[i++] - '0');
					if (sp.prec > 1000000)
						sp.prec = 1000000;
				}
			}
		}
		if (i >= flen) {
			strbuf_addstr(sb, "%!(NOVERB)");
			break;
		}
		{
			int32_t r;
			size_t n = utf8_decode_rune(f + i, flen - i, &r);

			sp.verb = r < 0x80 ? (char)r : '?';
			i += n;
			if (r == '%') {
				strbuf_addch(sb, '%');
				continue;
			}
			if (argi >= nargs) {
				strbuf_addstr(sb, "%!");
				add_rune(sb, r);
				strbuf_addstr(sb, "(MISSING)");
				continue;
			}
		}
		fmt_arg(sb, &sp, args[argi], nks[argi]);
		argi++;
	}
	if (argi < nargs) {
		strbuf_addstr(sb, "%!(EXTRA ");
		for (; argi < nargs; argi++) {
			struct val v = { args[argi], nks[argi] };

			strbuf_addf(sb, "%s=", type_name(&v));
			fmt_v(sb, args[argi], nks[argi]);
			if (argi + 1 < nargs)
				strbuf_addstr(sb, ", ");
		}
		strbuf_addch(sb, ')');
	}
}

/* ======================================================================
 * Executor
 * ==================================================================== */

struct xvar {
	const char *name;
	struct val v;
};

enum { BRK_NONE, BRK_BREAK, BRK_CONTINUE };

struct state {
	const struct template *t;
	unsigned flags;
	struct strbuf *out;
	size_t out_start;
	struct xvar *vars;
	size_t nvars, avars;
	const struct node *at; /* node being evaluated, for error context */
	char *errmsg;
	unsigned long steps;
	int brk;
	const json_t *root;    /* the dot execution started with */
	const char *root_type; /* non-NULL: root is a Go struct of this type */
	/* the objects under root that are Go structs too, with their type names */
	struct { const json_t *obj; const char *type; } *structs;
	size_t nstructs, astructs;
};

/* Record the objects of dot that type's fields say are structs, recursively. */
static void note_structs(struct state *st, const json_t *dot, const struct template_type *type)
{
	if (!json_is_object(dot))
		return;
	ALLOC_GROW(st->structs, st->nstructs + 1, st->astructs);
	st->structs[st->nstructs].obj = dot;
	st->structs[st->nstructs++].type = type->name;
	for (const struct template_field *f = type->fields; f && f->name; f++)
		note_structs(st, json_object_get(dot, f->name), f->type);
}

/* The Go struct type of obj, NULL when it is a map (or not under a typed root). */
static const char *struct_type(const struct state *st, const json_t *obj)
{
	for (size_t i = 0; i < st->nstructs; i++)
		if (st->structs[i].obj == obj)
			return st->structs[i].type;
	return NULL;
}

/* Arguments of a function call: values and the nodes they came from. */
struct fargs {
	struct val *v;
	const struct node **nodes; /* NULL for the piped (final) value */
	size_t n;
	const char *name;
	char *callerr; /* set by a function: "error calling NAME: <callerr>" */
};

static __attribute__((format(printf, 2, 3))) int xerr(struct state *st, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (st->errmsg)
		return -1;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (!st->at) {
		st->errmsg = xasprintf("template: %s: %s", st->t->name, msg);
	} else {
		_cleanup_strbuf_ struct strbuf ctx = STRBUF_INIT;
		const char *src = st->t->src;
		size_t pos = st->at->pos, bol = 0;
		int line = 1;

		for (size_t i = 0; i < pos && src[i]; i++)
			if (src[i] == '\n') {
				line++;
				bol = i + 1;
			}
		node_str(&ctx, st->at);
		if (ctx.len > 20) { /* Go: "%.20s..." (20 runes) */
			strbuf_setlen(&ctx, tk_rune_prefix(ctx.buf, ctx.len, 20));
			strbuf_addstr(&ctx, "...");
		}
		st->errmsg = xasprintf("template: %s:%d:%zu: executing \"%s\" at <%s>: %s",
				       st->t->name, line, pos - bol, st->t->name, ctx.buf, msg);
	}
	free(msg);
	return -1;
}

static int step(struct state *st)
{
	if (++st->steps > TEMPLATE_MAX_STEPS)
		return xerr(st, "execution exceeds %u steps", TEMPLATE_MAX_STEPS);
	return 0;
}

static int check_output(struct state *st)
{
	if (st->out->len - st->out_start > TEMPLATE_MAX_OUTPUT)
		return xerr(st, "output exceeds %u bytes", TEMPLATE_MAX_OUTPUT);
	return 0;
}

static void push_var(struct state *st, const char *name, struct val v)
{
	ALLOC_GROW(st->vars, st->nvars + 1, st->avars);
	st->vars[st->nvars].name = name;
	st->vars[st->nvars].v = v;
	st->nvars++;
}

static void pop_vars(struct state *st, size_t mark)
{
	while (st->nvars > mark)
		v_drop(&st->vars[--st->nvars].v);
}

static int set_var(struct state *st, const char *name, struct val v)
{
	for (size_t i = st->nvars; i-- > 0;)
		if (!strcmp(st->vars[i].name, name)) {
			v_drop(&st->vars[i].v);
			st->vars[i].v = v;
			return 0;
		}
	v_drop(&v);
	return xerr(st, "undefined variable: %s", name);
}

static void set_top_var(struct state *st, size_t n, struct val v)
{
	v_drop(&st->vars[st->nvars - n].v);
	st->vars[st->nvars - n].v = v;
}

static int var_value(struct state *st, const char *name, struct val *out)
{
	for (size_t i = st->nvars; i-- > 0;)
		if (!strcmp(st->vars[i].name, name)) {
			*out = v_ref(st->vars[i].v.j, st->vars[i].v.nk);
			return 0;
		}
	return xerr(st, "undefined variable: %s", name);
}

static char *quoted(const char *s)
{
	struct strbuf sb = STRBUF_INIT;

	go_quote(&sb, s, strlen(s));
	return strbuf_detach(&sb, NULL);
}

static int eval_field(struct state *st, const char *name, int has_args,
		      const struct val *recv, struct val *out)
{
	_cleanup_free_ char *q = quoted(name);

	*out = (struct val){ NULL, NK_PLAIN };
	if (!recv->j) {
		if (st->flags & TEMPLATE_MISSINGKEY_ERROR)
			return xerr(st, "nil data; no entry for key %s", q);
		return 0;
	}
	if (json_is_object(recv->j) || (json_is_null(recv->j) && recv->nk == NK_MAP)) {
		if (has_args)
			return xerr(st, "%s is not a method but has arguments", name);
		if (json_is_object(recv->j))
			*out = v_member(recv->j, name);
		if (!out->j && struct_type(st, recv->j))
			return xerr(st, "can't evaluate field %s in type %s", name,
				    struct_type(st, recv->j));
		if (!out->j && (st->flags & TEMPLATE_MISSINGKEY_ERROR))
			return xerr(st, "map has no entry for key %s", q);
		return 0;
	}
	if (json_is_null(recv->j))
		return xerr(st, "nil pointer evaluating %s.%s", type_name(recv), name);
	return xerr(st, "can't evaluate field %s in type %s", name, type_name(recv));
}

static int eval_field_chain(struct state *st, const struct val *recv, char *const *fields,
			    size_t n, int has_args, struct val *out)
{
	struct val cur = v_ref(recv->j, recv->nk);

	for (size_t i = 0; i < n; i++) {
		struct val next;
		int rc = eval_field(st, fields[i], i + 1 == n ? has_args : 0, &cur, &next);

		v_drop(&cur);
		if (rc < 0)
			return -1;
		cur = next;
	}
	*out = cur;
	return 0;
}

static int eval_pipeline(struct state *st, const struct val *dot, const struct node *pipe,
			 struct val *out);
static int eval_arg(struct state *st, const struct val *dot, const struct node *n,
		    struct val *out);
static int eval_function(struct state *st, const struct val *dot, const struct node *ident,
			 const struct node *cmd, struct node *const *args, size_t nargs,
			 const struct val *final, struct val *out);

static struct val ideal_constant(const struct node *n)
{
	if (n->is_float && strpbrk(n->raw, ".eEpP") &&
	    !(n->raw[0] != '\'' && strpbrk(n->raw, "xX") && !strpbrk(n->raw, "pP")))
		return v_own(json_real(n->fval));
	return v_own(json_integer(n->ival));
}

static int not_a_function(struct state *st, const struct node *cmd, const struct val *final)
{
	if (cmd->nkids > 1 || final) {
		_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

		node_str(&sb, cmd->kids[0]);
		return xerr(st, "can't give argument to non-function %s", sb.buf);
	}
	return 0;
}

static int eval_chain(struct state *st, const struct val *dot, const struct node *n,
		      int has_args, struct val *out)
{
	struct val base;
	int rc;

	if (n->sub->kind == N_NIL) {
		_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

		node_str(&sb, n);
		return xerr(st, "indirection through explicit nil in %s", sb.buf);
	}
	if (eval_arg(st, dot, n->sub, &base) < 0)
		return -1;
	st->at = n;
	rc = eval_field_chain(st, &base, n->fields, n->nfields, has_args, out);
	v_drop(&base);
	return rc;
}

static int eval_command(struct state *st, const struct val *dot, const struct node *cmd,
			const struct val *final, struct val *out)
{
	const struct node *first = cmd->kids[0];
	int has_args = cmd->nkids > 1 || final;

	*out = (struct val){ NULL, NK_PLAIN };
	if (step(st) < 0)
		return -1;
	switch (first->kind) {
	case N_FIELD:
		st->at = first;
		return eval_field_chain(st, dot, first->fields, first->nfields, has_args, out);
	case N_CHAIN:
		return eval_chain(st, dot, first, has_args, out);
	case N_IDENT:
		return eval_function(st, dot, first, cmd, cmd->kids + 1, cmd->nkids - 1, final,
				     out);
	case N_PIPE:
		if (not_a_function(st, cmd, final) < 0)
			return -1;
		return eval_pipeline(st, dot, first, out);
	case N_VAR: {
		struct val v;
		int rc;

		st->at = first;
		if (var_value(st, first->fields[0], &v) < 0)
			return -1;
		if (first->nfields == 1) {
			if (not_a_function(st, cmd, final) < 0) {
				v_drop(&v);
				return -1;
			}
			*out = v;
			return 0;
		}
		rc = eval_field_chain(st, &v, first->fields + 1, first->nfields - 1, has_args,
				      out);
		v_drop(&v);
		return rc;
	}
	default:
		break;
	}
	st->at = first;
	if (not_a_function(st, cmd, final) < 0)
		return -1;
	switch (first->kind) {
	case N_BOOL:
		*out = v_own(json_boolean(first->bval));
		return 0;
	case N_DOT:
		*out = v_ref(dot->j, dot->nk);
		return 0;
	case N_NIL:
		return xerr(st, "nil is not a command");
	case N_NUM:
		*out = ideal_constant(first);
		return 0;
	case N_STR:
		*out = v_str(first->text, first->text_len);
		return 0;
	default:
		return xerr(st, "can't evaluate command");
	}
}

static int eval_arg(struct state *st, const struct val *dot, const struct node *n,
		    struct val *out)
{
	struct val v;
	int rc;

	*out = (struct val){ NULL, NK_PLAIN };
	st->at = n;
	switch (n->kind) {
	case N_DOT:
		*out = v_ref(dot->j, dot->nk);
		return 0;
	case N_NIL:
		*out = v_own(json_null());
		return 0;
	case N_FIELD:
		return eval_field_chain(st, dot, n->fields, n->nfields, 0, out);
	case N_VAR:
		if (var_value(st, n->fields[0], &v) < 0)
			return -1;
		rc = eval_field_chain(st, &v, n->fields + 1, n->nfields - 1, 0, out);
		v_drop(&v);
		return rc;
	case N_PIPE:
		return eval_pipeline(st, dot, n, out);
	case N_IDENT:
		return eval_function(st, dot, n, n, NULL, 0, NULL, out);
	case N_CHAIN:
		return eval_chain(st, dot, n, 0, out);
	case N_BOOL:
		*out = v_own(json_boolean(n->bval));
		return 0;
	case N_NUM:
		*out = ideal_constant(n);
		return 0;
	case N_STR:
		*out = v_str(n->text, n->text_len);
		return 0;
	default:
		return xerr(st, "can't handle argument");
	}
}

static int eval_pipeline(struct state *st, const struct val *dot, const struct node *pipe,
			 struct val *out)
{
	struct val v = { NULL, NK_PLAIN };
	int have = 0;

	*out = v;
	if (step(st) < 0)
		return -1;
	for (size_t i = 0; i < pipe->nkids; i++) {
		struct val next;
		int rc = eval_command(st, dot, pipe->kids[i], have ? &v : NULL, &next);

		v_drop(&v);
		if (rc < 0) {
			v_drop(&next);
			return -1;
		}
		v = next;
		have = 1;
	}
	for (size_t i = 0; i < pipe->nfields; i++) {
		struct val copy = v_ref(v.j, v.nk);

		if (pipe->is_assign) {
			if (set_var(st, pipe->fields[i], copy) < 0) {
				v_drop(&v);
				return -1;
			}
		} else {
			push_var(st, pipe->fields[i], copy);
		}
	}
	*out = v;
	return 0;
}

/* ---- builtin and docker functions -------------------------------------- */

static int arg_type_error(struct state *st, struct fargs *a, size_t i, const char *want,
			  const char *lit_want)
{
	const struct node *n = a->nodes[i];

	if (n)
		st->at = n;
	if (!a->v[i].j)
		return xerr(st, "invalid value; expected %s", want);
	if (n && (n->kind == N_NUM || n->kind == N_BOOL || n->kind == N_STR || n->kind == N_NIL)) {
		_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

		node_str(&sb, n);
		return xerr(st, "expected %s; found %s", lit_want, sb.buf);
	}
	return xerr(st, "wrong type for value; expected %s; got %s", want, type_name(&a->v[i]));
}

static int want_string(struct state *st, struct fargs *a, size_t i, const char **s, size_t *len)
{
	if (!a->v[i].j || !json_is_string(a->v[i].j))
		return arg_type_error(st, a, i, "string", "string");
	*s = json_string_value(a->v[i].j);
	*len = json_string_length(a->v[i].j);
	return 0;
}

static int want_int(struct state *st, struct fargs *a, size_t i, int64_t *v)
{
	if (!a->v[i].j || !json_is_integer(a->v[i].j))
		return arg_type_error(st, a, i, "int", "integer");
	*v = json_integer_value(a->v[i].j);
	return 0;
}

static int call_error(struct fargs *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int call_error(struct fargs *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(a->callerr);
	a->callerr = xvasprintf(fmt, ap);
	va_end(ap);
	return -1;
}

/* json: the 20.10 CLI marshals with json.Marshal, so HTML escapes stay (\u003c). */
static int fn_json(struct state *st, struct fargs *a, struct val *out)
{
	_cleanup_strbuf_ struct strbuf enc = STRBUF_INIT;
	const json_t *j = a->v[0].j;
	json_t *null = json_null();

	if (st->flags & TEMPLATE_HEADER_FUNCS) {
		const char *s;
		size_t len;

		if (want_string(st, a, 0, &s, &len) < 0)
			return -1;
		*out = v_str(s, len);
		return 0;
	}
	gojson_encode(&enc, j ? j : null, 0);
	json_decref(null);
	*out = v_own(json_stringn_nocheck(enc.buf, enc.len));
	return 0;
}

static int fn_split(struct state *st, struct fargs *a, struct val *out)
{
	const char *s, *sep;
	size_t len, slen;
	json_t *arr;

	if (want_string(st, a, 0, &s, &len) < 0 || want_string(st, a, 1, &sep, &slen) < 0)
		return -1;
	if (st->flags & TEMPLATE_HEADER_FUNCS) {
		*out = v_str(s, len);
		return 0;
	}
	arr = json_array();
	if (slen == 0) {
		/* split into UTF-8 sequences */
		for (size_t i = 0; i < len;) {
			int32_t r;
			size_t n = utf8_decode_rune(s + i, len - i, &r);

			json_array_append_new(arr, json_stringn_nocheck(s + i, n));
			i += n;
		}
	} else {
		size_t start = 0;

		for (size_t i = 0; i + slen <= len;) {
			if (!memcmp(s + i, sep, slen)) {
				json_array_append_new(arr, json_stringn_nocheck(s + start, i - start));
				i += slen;
				start = i;
			} else {
				i++;
			}
		}
		json_array_append_new(arr, json_stringn_nocheck(s + start, len - start));
	}
	*out = v_own(arr);
	return 0;
}

static int fn_join(struct state *st, struct fargs *a, struct val *out)
{
	struct strbuf res = STRBUF_INIT;
	const json_t *arr = a->v[0].j;
	const char *sep, *s;
	size_t slen, len;

	if (st->flags & TEMPLATE_HEADER_FUNCS) {
		if (want_string(st, a, 0, &s, &len) < 0 || want_string(st, a, 1, &sep, &slen) < 0)
			return -1;
		*out = v_str(s, len);
		return 0;
	}
	if (arr && json_is_null(arr) && a->v[0].nk == NK_SLICE)
		arr = NULL; /* nil []string */
	else if (!arr || !json_is_array(arr))
		return arg_type_error(st, a, 0, "[]string", "[]string");
	if (want_string(st, a, 1, &sep, &slen) < 0)
		return -1;
	for (size_t i = 0; arr && i < json_array_size(arr); i++)
		if (!json_is_string(json_array_get(arr, i)))
			return arg_type_error(st, a, 0, "[]string", "[]string");
	for (size_t i = 0; arr && i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);

		if (i)
			strbuf_add(&res, sep, slen);
		strbuf_add(&res, json_string_value(e), json_string_length(e));
		if (res.len > TEMPLATE_MAX_OUTPUT) {
			strbuf_release(&res);
			return call_error(a, "result too large");
		}
	}
	*out = v_own(json_stringn_nocheck(res.buf, res.len));
	strbuf_release(&res);
	return 0;
}

/* strings.Title / ToLower / ToUpper (ASCII letters only are mapped). */
static int fn_case(struct state *st, struct fargs *a, struct val *out, int mode)
{
	const char *s;
	size_t len;
	char *r;
	int prev_sep = 1;

	if (want_string(st, a, 0, &s, &len) < 0)
		return -1;
	if (st->flags & TEMPLATE_HEADER_FUNCS) {
		*out = v_str(s, len);
		return 0;
	}
	r = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (mode == 'u' && c >= 'a' && c <= 'z')
			c -= 32;
		else if (mode == 'l' && c >= 'A' && c <= 'Z')
			c += 32;
		else if (mode == 't') {
			int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				    (c >= '0' && c <= '9') || c == '_' || c >= 0x80;

			if (prev_sep && c >= 'a' && c <= 'z')
				c -= 32;
			prev_sep = !alnum;
		}
		r[i] = (char)c;
	}
	*out = v_own(json_stringn_nocheck(r, len));
	free(r);
	return 0;
}

static int fn_title(struct state *st, struct fargs *a, struct val *out)
{
	return fn_case(st, a, out, 't');
}

static int fn_lower(struct state *st, struct fargs *a, struct val *out)
{
	return fn_case(st, a, out, 'l');
}

static int fn_upper(struct state *st, struct fargs *a, struct val *out)
{
	return fn_case(st, a, out, 'u');
}

static int fn_pad(struct state *st, struct fargs *a, struct val *out)
{
	_cleanup_strbuf_ struct strbuf res = STRBUF_INIT;
	const char *s;
	size_t len;
	int64_t pre = 0, suf = 0;

	if (want_string(st, a, 0, &s, &len) < 0 || want_int(st, a, 1, &pre) < 0 ||
	    want_int(st, a, 2, &suf) < 0)
		return -1;
	if (len == 0) {
		*out = v_str("", 0);
		return 0;
	}
	if (pre < 0 || suf < 0)
		return call_error(a, "strings: negative Repeat count");
	if ((uint64_t)pre + (uint64_t)suf + len > TEMPLATE_MAX_OUTPUT)
		return call_error(a, "result too large");
	strbuf_addchars(&res, ' ', (size_t)pre);
	strbuf_add(&res, s, len);
	strbuf_addchars(&res, ' ', (size_t)suf);
	*out = v_own(json_stringn_nocheck(res.buf, res.len));
	return 0;
}

static int fn_truncate(struct state *st, struct fargs *a, struct val *out)
{
	const char *s;
	size_t len;
	int64_t n = 0;

	if (want_string(st, a, 0, &s, &len) < 0 || want_int(st, a, 1, &n) < 0)
		return -1;
	if (st->flags & TEMPLATE_HEADER_FUNCS || (n >= 0 && len < (uint64_t)n)) {
		*out = v_str(s, len);
		return 0;
	}
	if (n < 0)
		return call_error(a, "runtime error: slice bounds out of range [:%" PRId64 "]", n);
	*out = v_str(s, (size_t)n); /* bytes, like source[:length] */
	return 0;
}

static int fn_not(struct state *st, struct fargs *a, struct val *out)
{
	*out = v_own(json_boolean(!truth(&a->v[0])));
	return 0;
}

static int fn_len(struct state *st, struct fargs *a, struct val *out)
{
	const struct val *v = &a->v[0];
	size_t n;

	if (!v->j)
		return call_error(a, "len of untyped nil");
	switch (json_typeof(v->j)) {
	case JSON_STRING: n = json_string_length(v->j); break;
	case JSON_ARRAY: n = json_array_size(v->j); break;
	case JSON_OBJECT: n = json_object_size(v->j); break;
	case JSON_NULL:
		if (v->nk != NK_PLAIN) {
			n = 0;
			break;
		}
		return call_error(a, "len of nil pointer");
	default:
		return call_error(a, "len of type %s", type_name(v));
	}
	*out = v_own(json_integer((json_int_t)n));
	return 0;
}

static int index_arg(struct fargs *a, const struct val *ix, size_t cap, int allow_cap,
		     size_t *out)
{
	json_int_t x;

	if (!ix->j || json_is_null(ix->j))
		return call_error(a, "cannot index slice/array with nil");
	if (!json_is_integer(ix->j))
		return call_error(a, "cannot index slice/array with type %s", type_name(ix));
	x = json_integer_value(ix->j);
	if (x < 0 || (uint64_t)x > cap || (!allow_cap && (uint64_t)x == cap))
		return call_error(a, "index out of range: %" JSON_INTEGER_FORMAT, x);
	*out = (size_t)x;
	return 0;
}

static int fn_index(struct state *st, struct fargs *a, struct val *out)
{
	struct val item = v_ref(a->v[0].j, a->v[0].nk);

	if (!item.j)
		return call_error(a, "index of untyped nil");
	for (size_t i = 1; i < a->n; i++) {
		const struct val *ix = &a->v[i];
		struct val next;
		size_t x;

		if (json_is_null(item.j) && item.nk == NK_PLAIN) {
			v_drop(&item);
			return call_error(a, "index of nil pointer");
		}
		if (json_is_array(item.j) || json_is_string(item.j) ||
		    (json_is_null(item.j) && item.nk == NK_SLICE)) {
			size_t len = json_is_array(item.j) ? json_array_size(item.j) :
				     json_is_string(item.j) ? json_string_length(item.j) : 0;

			if (index_arg(a, ix, len, 0, &x) < 0) {
				v_drop(&item);
				return -1;
			}
			if (json_is_array(item.j))
				next = v_ref(json_array_get(item.j, x), NK_PLAIN);
			else /* a byte of the string, as Go's uint8 */
				next = v_own(json_integer(
					(unsigned char)json_string_value(item.j)[x]));
		} else if (json_is_object(item.j) || json_is_null(item.j)) {
			json_t *m;

			if (!ix->j || !json_is_string(ix->j)) {
				v_drop(&item);
				if (!ix->j || json_is_null(ix->j))
					return call_error(a, "value is nil; should be of type string");
				return call_error(a, "value has type %s; should be string",
						  type_name(ix));
			}
			m = json_is_object(item.j) ? json_object_get(item.j, json_string_value(ix->j)) :
						     NULL;
			if (m)
				next = v_ref(m, json_is_null(m) ?
							nil_kind_for_key(json_string_value(ix->j)) :
							NK_PLAIN);
			else /* zero value of docker's map[string]string */
				next = v_str("", 0);
		} else {
			v_drop(&item);
			return call_error(a, "can't index item of type %s", type_name(&item));
		}
		v_drop(&item);
		item = next;
	}
	*out = item;
	return 0;
}

static int fn_slice(struct state *st, struct fargs *a, struct val *out)
{
	const struct val *item = &a->v[0];
	size_t len, idx[3] = { 0, 0, 0 };

	if (!item->j)
		return call_error(a, "slice of untyped nil");
	if (a->n > 4)
		return call_error(a, "too many slice indexes: %zu", a->n - 1);
	if (json_is_string(item->j)) {
		if (a->n == 4)
			return call_error(a, "cannot 3-index slice a string");
		len = json_string_length(item->j);
	} else if (json_is_array(item->j)) {
		len = json_array_size(item->j);
	} else {
		return call_error(a, "can't slice item of type %s", type_name(item));
	}
	idx[1] = len;
	for (size_t i = 1; i < a->n; i++)
		if (index_arg(a, &a->v[i], len, 1, &idx[i - 1]) < 0)
			return -1;
	if (idx[0] > idx[1])
		return call_error(a, "invalid slice index: %zu > %zu", idx[0], idx[1]);
	if (json_is_string(item->j)) {
		*out = v_str(json_string_value(item->j) + idx[0], idx[1] - idx[0]);
	} else {
		json_t *arr = json_array();

		for (size_t i = idx[0]; i < idx[1]; i++)
			json_array_append(arr, json_array_get(item->j, i));
		*out = v_own(arr);
	}
	return 0;
}

static void args_as_json(struct fargs *a, size_t from, json_t ***js, int **nks, json_t *null)
{
	*js = xcalloc(a->n + 1, sizeof(**js));
	*nks = xcalloc(a->n + 1, sizeof(**nks));
	for (size_t i = from; i < a->n; i++) {
		(*js)[i - from] = a->v[i].j ? a->v[i].j : null;
		(*nks)[i - from] = a->v[i].nk;
	}
}

static int finish_string(struct fargs *a, struct strbuf *res, struct val *out)
{
	if (res->len > TEMPLATE_MAX_OUTPUT) {
		strbuf_release(res);
		return call_error(a, "result too large");
	}
	*out = v_own(json_stringn_nocheck(res->buf, res->len));
	strbuf_release(res);
	return 0;
}

/* fmt.Sprint: a space between operands when neither is a string. */
static int fn_print(struct state *st, struct fargs *a, struct val *out)
{
	struct strbuf res = STRBUF_INIT;
	json_t *null = json_null();

	for (size_t i = 0; i < a->n; i++) {
		const json_t *j = a->v[i].j ? a->v[i].j : null;

		if (i > 0 && !json_is_string(j) &&
		    !(a->v[i - 1].j && json_is_string(a->v[i - 1].j)))
			strbuf_addch(&res, ' ');
		fmt_v(&res, j, a->v[i].nk);
	}
	json_decref(null);
	return finish_string(a, &res, out);
}

static int fn_println(struct state *st, struct fargs *a, struct val *out)
{
	struct strbuf res = STRBUF_INIT;
	json_t *null = json_null();

	for (size_t i = 0; i < a->n; i++) {
		if (i)
			strbuf_addch(&res, ' ');
		fmt_v(&res, a->v[i].j ? a->v[i].j : null, a->v[i].nk);
	}
	strbuf_addch(&res, '\n');
	json_decref(null);
	return finish_string(a, &res, out);
}

static int fn_printf(struct state *st, struct fargs *a, struct val *out)
{
	struct strbuf res = STRBUF_INIT;
	json_t *null = json_null(), **js;
	const char *f;
	size_t flen;
	int *nks;

	if (want_string(st, a, 0, &f, &flen) < 0) {
		json_decref(null);
		return -1;
	}
	args_as_json(a, 1, &js, &nks, null);
	go_sprintf(&res, f, flen, js, nks, a->n - 1);
	free(js);
	free(nks);
	json_decref(null);
	return finish_string(a, &res, out);
}

/* Go's basicKind classes for comparisons. */
enum bkind { BK_INVALID, BK_BOOL, BK_INT, BK_FLOAT, BK_STRING, BK_OTHER };

static enum bkind basic_kind(const struct val *v)
{
	if (!v->j)
		return BK_INVALID;
	switch (json_typeof(v->j)) {
	case JSON_TRUE:
	case JSON_FALSE: return BK_BOOL;
	case JSON_INTEGER: return BK_INT;
	case JSON_REAL: return BK_FLOAT;
	case JSON_STRING: return BK_STRING;
	default: return BK_OTHER;
	}
}

static int eq2(struct fargs *a, const struct val *x, const struct val *y, int *res)
{
	enum bkind kx = basic_kind(x), ky = basic_kind(y);

	*res = 0;
	if (kx != ky) {
		if (kx != BK_INVALID && ky != BK_INVALID)
			return call_error(a, "incompatible types for comparison");
		return 0;
	}
	switch (kx) {
	case BK_INVALID: *res = 1; return 0;
	case BK_BOOL: *res = json_is_true(x->j) == json_is_true(y->j); return 0;
	case BK_INT: *res = json_integer_value(x->j) == json_integer_value(y->j); return 0;
	case BK_FLOAT: *res = json_real_value(x->j) == json_real_value(y->j); return 0;
	case BK_STRING:
		*res = json_string_length(x->j) == json_string_length(y->j) &&
		       !memcmp(json_string_value(x->j), json_string_value(y->j),
			       json_string_length(x->j));
		return 0;
	case BK_OTHER:
		if (json_is_null(x->j) || json_is_null(y->j)) {
			*res = json_is_null(x->j) && json_is_null(y->j);
			return 0;
		}
		return call_error(a, "non-comparable type %s", type_name(y));
	}
	return 0;
}

static int fn_eq(struct state *st, struct fargs *a, struct val *out)
{
	int r = 0;

	if (a->n < 2)
		return call_error(a, "missing argument for comparison");
	for (size_t i = 1; i < a->n && !r; i++)
		if (eq2(a, &a->v[0], &a->v[i], &r) < 0)
			return -1;
	*out = v_own(json_boolean(r));
	return 0;
}

static int lt2(struct fargs *a, const struct val *x, const struct val *y, int *res)
{
	enum bkind kx = basic_kind(x), ky = basic_kind(y);

	if (kx == BK_INVALID || kx == BK_OTHER || ky == BK_INVALID || ky == BK_OTHER)
		return call_error(a, "invalid type for comparison");
	if (kx != ky)
		return call_error(a, "incompatible types for comparison");
	switch (kx) {
	case BK_INT: *res = json_integer_value(x->j) < json_integer_value(y->j); return 0;
	case BK_FLOAT: *res = json_real_value(x->j) < json_real_value(y->j); return 0;
	case BK_STRING: {
		size_t lx = json_string_length(x->j), ly = json_string_length(y->j);
		int c = memcmp(json_string_value(x->j), json_string_value(y->j), lx < ly ? lx : ly);

		*res = c < 0 || (c == 0 && lx < ly);
		return 0;
	}
	default:
		return call_error(a, "invalid type for comparison");
	}
}

static int fn_cmp(struct fargs *a, struct val *out, char op)
{
	int lt = 0, eq = 0, r;

	if (op == 'n') {
		if (eq2(a, &a->v[0], &a->v[1], &eq) < 0)
			return -1;
		*out = v_own(json_boolean(!eq));
		return 0;
	}
	if (lt2(a, &a->v[0], &a->v[1], &lt) < 0)
		return -1;
	if (op == 'l' || op == 'g') /* le, gt need eq too */
		if (eq2(a, &a->v[0], &a->v[1], &eq) < 0)
			return -1;
	switch (op) {
	case '<': r = lt; break;
	case 'l': r = lt || eq; break;
	case 'g': r = !(lt || eq); break;
	default: r = !lt; break;
	}
	*out = v_own(json_boolean(r));
	return 0;
}

static int fn_ne(struct state *st, struct fargs *a, struct val *out)
{
	return fn_cmp(a, out, 'n');
}

static int fn_lt(struct state *st, struct fargs *a, struct val *out)
{
	return fn_cmp(a, out, '<');
}

static int fn_le(struct state *st, struct fargs *a, struct val *out)
{
	return fn_cmp(a, out, 'l');
}

static int fn_gt(struct state *st, struct fargs *a, struct val *out)
{
	return fn_cmp(a, out, 'g');
}

static int fn_ge(struct state *st, struct fargs *a, struct val *out)
{
	return fn_cmp(a, out, '>');
}

struct func {
	const char *name;
	int (*fn)(struct state *st, struct fargs *a, struct val *out);
	int nin;      /* fixed arguments */
	int variadic; /* more allowed */
};

static const struct func funcs[] = {
	{ "and", NULL, 1, 1 },		{ "or", NULL, 1, 1 },
	{ "not", fn_not, 1, 0 },	{ "len", fn_len, 1, 0 },
	{ "index", fn_index, 1, 1 },	{ "slice", fn_slice, 1, 1 },
	{ "print", fn_print, 0, 1 },	{ "printf", fn_printf, 1, 1 },
	{ "println", fn_println, 0, 1 }, { "eq", fn_eq, 1, 1 },
	{ "ne", fn_ne, 2, 0 },		{ "lt", fn_lt, 2, 0 },
	{ "le", fn_le, 2, 0 },		{ "gt", fn_gt, 2, 0 },
	{ "ge", fn_ge, 2, 0 },		{ "json", fn_json, 1, 0 },
	{ "split", fn_split, 2, 0 },	{ "join", fn_join, 2, 0 },
	{ "title", fn_title, 1, 0 },	{ "lower", fn_lower, 1, 0 },
	{ "upper", fn_upper, 1, 0 },	{ "pad", fn_pad, 3, 0 },
	{ "truncate", fn_truncate, 2, 0 },
};

static const struct func *find_func(const char *name)
{
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (!strcmp(funcs[i].name, name))
			return &funcs[i];
	return NULL;
}

int template_func_known(const char *name)
{
	return find_func(name) != NULL;
}

static int eval_function(struct state *st, const struct val *dot, const struct node *ident,
			 const struct node *cmd, struct node *const *args, size_t nargs,
			 const struct val *final, struct val *out)
{
	const struct func *f = find_func(ident->text);
	size_t nin = nargs + (final ? 1 : 0);
	struct fargs a = { 0 };
	int rc = 0;

	*out = (struct val){ NULL, NK_PLAIN };
	st->at = ident;
	if (!f)
		return xerr(st, "\"%s\" is not a defined function", ident->text);
	if (f->variadic && nin < (size_t)f->nin)
		return xerr(st, "wrong number of args for %s: want at least %d got %zu", f->name,
			    f->nin, nargs);
	if (!f->variadic && nin != (size_t)f->nin)
		return xerr(st, "wrong number of args for %s: want %d got %zu", f->name, f->nin,
			    nin);
	if (!f->fn) {
		/* and / or evaluate lazily and return the deciding operand */
		int is_or = !strcmp(f->name, "or");
		struct val v = { NULL, NK_PLAIN };

		for (size_t i = 0; i < nargs; i++) {
			v_drop(&v);
			if (eval_arg(st, dot, args[i], &v) < 0)
				return -1;
			if (truth(&v) == is_or) {
				*out = v;
				return 0;
			}
		}
		if (final) {
			v_drop(&v);
			v = v_ref(final->j, final->nk);
		}
		*out = v;
		return 0;
	}
	a.v = xcalloc(nin + 1, sizeof(*a.v));
	a.nodes = xcalloc(nin + 1, sizeof(*a.nodes));
	a.name = f->name;
	for (size_t i = 0; i < nargs; i++) {
		if (eval_arg(st, dot, args[i], &a.v[i]) < 0) {
			rc = -1;
			goto out;
		}
		a.nodes[i] = args[i];
		a.n++;
	}
	if (final) {
		a.v[a.n] = v_ref(final->j, final->nk);
		a.nodes[a.n] = NULL;
		a.n++;
	}
	st->at = nargs ? args[nargs - 1] : ident;
	rc = f->fn(st, &a, out);
	if (rc < 0 && a.callerr) {
		st->at = cmd;
		xerr(st, "error calling %s: %s", f->name, a.callerr);
	}
out:
	for (size_t i = 0; i < a.n; i++)
		v_drop(&a.v[i]);
	free(a.v);
	free(a.nodes);
	free(a.callerr);
	return rc;
}

/* ---- walking ----------------------------------------------------------- */

static int walk(struct state *st, const struct val *dot, const struct node *n);

static int print_value(struct state *st, const struct node *n, const struct val *v)
{
	st->at = n;
	if (!v->j)
		strbuf_addstr(st->out, "<no value>");
	else
		fmt_v(st->out, v->j, v->nk);
	return check_output(st);
}

static int walk_if_with(struct state *st, const struct val *dot, const struct node *n)
{
	size_t mark = st->nvars;
	struct val v;
	int rc = 0;

	if (eval_pipeline(st, dot, n->pipe, &v) < 0) {
		pop_vars(st, mark);
		return -1;
	}
	if (truth(&v))
		rc = walk(st, n->kind == N_WITH ? &v : dot, n->list);
	else if (n->else_list)
		rc = walk(st, dot, n->else_list);
	v_drop(&v);
	pop_vars(st, mark);
	return rc;
}

static int range_once(struct state *st, const struct node *n, struct val index,
		      struct val elem)
{
	const struct node *pipe = n->pipe;
	size_t mark;
	int rc;

	if (pipe->nfields > 0) {
		if (pipe->is_assign) {
			if (set_var(st, pipe->fields[0], pipe->nfields > 1 ? v_ref(index.j, index.nk) :
									     v_ref(elem.j, elem.nk)) < 0)
				return -1;
		} else {
			set_top_var(st, 1, v_ref(elem.j, elem.nk));
		}
	}
	if (pipe->nfields > 1) {
		if (pipe->is_assign) {
			if (set_var(st, pipe->fields[1], v_ref(elem.j, elem.nk)) < 0)
				return -1;
		} else {
			set_top_var(st, 2, v_ref(index.j, index.nk));
		}
	}
	mark = st->nvars;
	rc = walk(st, &elem, n->list);
	pop_vars(st, mark);
	return rc;
}

static int walk_range(struct state *st, const struct val *dot, const struct node *n)
{
	size_t mark = st->nvars;
	struct val v;
	int rc = 0, iterated = 0;

	st->at = n;
	if (eval_pipeline(st, dot, n->pipe, &v) < 0) {
		pop_vars(st, mark);
		return -1;
	}
	if (!v.j || (json_is_null(v.j) && v.nk != NK_PLAIN)) {
		/* invalid value or nil map/slice: zero iterations */
	} else if (json_is_array(v.j)) {
		for (size_t i = 0; i < json_array_size(v.j) && rc == 0; i++) {
			struct val ix = v_own(json_integer((json_int_t)i));

			iterated = 1;
			rc = range_once(st, n, ix, (struct val){ json_array_get(v.j, i), NK_PLAIN });
			v_drop(&ix);
			if (st->brk == BRK_BREAK) {
				st->brk = BRK_NONE;
				break;
			}
			st->brk = BRK_NONE;
		}
	} else if (json_is_object(v.j)) {
		size_t nk;
		const char **keys = sorted_keys(v.j, &nk);

		for (size_t i = 0; i < nk && rc == 0; i++) {
			struct val key = v_own(json_string_nocheck(keys[i]));
			json_t *m = json_object_get(v.j, keys[i]);

			iterated = 1;
			rc = range_once(st, n, key,
					(struct val){ m, json_is_null(m) ? nil_kind_for_key(keys[i]) :
									   NK_PLAIN });
			v_drop(&key);
			if (st->brk == BRK_BREAK) {
				st->brk = BRK_NONE;
				break;
			}
			st->brk = BRK_NONE;
		}
		free(keys);
	} else {
		_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

		fmt_v(&sb, v.j, v.nk);
		st->at = n;
		rc = xerr(st, "range can't iterate over %s", sb.buf);
	}
	if (rc == 0 && !iterated && n->else_list)
		rc = walk(st, dot, n->else_list);
	v_drop(&v);
	pop_vars(st, mark);
	return rc;
}

static int walk(struct state *st, const struct val *dot, const struct node *n)
{
	struct val v;

	if (step(st) < 0)
		return -1;
	switch (n->kind) {
	case N_LIST:
		for (size_t i = 0; i < n->nkids; i++) {
			if (walk(st, dot, n->kids[i]) < 0)
				return -1;
			if (st->brk != BRK_NONE)
				return 0;
		}
		return 0;
	case N_TEXT:
		strbuf_add(st->out, n->text, n->text_len);
		return check_output(st);
	case N_ACTION:
		/* variables declared here live until the enclosing {{end}} */
		if (eval_pipeline(st, dot, n->pipe, &v) < 0)
			return -1;
		if (n->pipe->nfields == 0 && print_value(st, n, &v) < 0) {
			v_drop(&v);
			return -1;
		}
		v_drop(&v);
		return 0;
	case N_IF:
	case N_WITH:
		return walk_if_with(st, dot, n);
	case N_RANGE:
		return walk_range(st, dot, n);
	case N_BREAK:
		st->brk = BRK_BREAK;
		return 0;
	case N_CONTINUE:
		st->brk = BRK_CONTINUE;
		return 0;
	default:
		st->at = n;
		return xerr(st, "unknown node");
	}
}

static int execute(const struct template *t, const json_t *dot, const struct template_type *type,
		   unsigned flags, struct strbuf *out, int keep_partial, struct strata_error **err)
{
	struct state st = { 0 };
	struct val d = v_ref(dot, NK_PLAIN);
	int rc;

	st.root = dot;
	st.root_type = type ? type->name : NULL;
	if (type)
		note_structs(&st, dot, type);
	st.t = t;
	st.flags = flags;
	st.out = out;
	st.out_start = out->len;
	push_var(&st, "$", v_ref(dot, NK_PLAIN));
	rc = walk(&st, &d, t->root);
	pop_vars(&st, 0);
	free(st.vars);
	free(st.structs);
	v_drop(&d);
	if (rc < 0) {
		if (!keep_partial)
			strbuf_setlen(out, st.out_start);
		rc = strata_error_set(err, STRATA_ERR_INVALID, 0, "%s",
				      st.errmsg ? st.errmsg : "template: execution failed");
		free(st.errmsg);
	}
	return rc;
}

int template_execute(const struct template *t, const json_t *dot, unsigned flags,
		     struct strbuf *out, struct strata_error **err)
{
	return execute(t, dot, NULL, flags, out, 0, err);
}

int template_execute_typed(const struct template *t, const json_t *dot, const char *type,
			   unsigned flags, struct strbuf *out, struct strata_error **err)
{
	const struct template_type flat = { type, NULL };

	return execute(t, dot, type ? &flat : NULL, flags, out, 0, err);
}

int template_execute_struct(const struct template *t, const json_t *dot,
			    const struct template_type *type, unsigned flags, struct strbuf *out,
			    struct strata_error **err)
{
	return execute(t, dot, type, flags, out, 0, err);
}

/* ======================================================================
 * docker/cli formatter
 * ==================================================================== */

bool format_is_table(const char *format)
{
	return !strncmp(format, "table", 5);
}

char *format_prepare(const char *format)
{
	struct strbuf sb = STRBUF_INIT;
	const char *s = format;
	size_t len;

	if (format_is_table(s))
		s += 5;
	len = strlen(s);
	while (len && s[len - 1] == ' ')
		len--;
	while (len && *s == ' ') {
		s++;
		len--;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len && (s[i + 1] == 't' || s[i + 1] == 'n')) {
			strbuf_addch(&sb, s[i + 1] == 't' ? '\t' : '\n');
			i++;
			continue;
		}
		strbuf_addch(&sb, s[i]);
	}
	return strbuf_detach(&sb, NULL);
}

int format_render(struct strbuf *out, const char *format, const char *type, const json_t *header,
		  const json_t *rows, struct strata_error **err)
{
	_cleanup_free_ char *prepared = format_prepare(format);
	_cleanup_strbuf_ struct strbuf body = STRBUF_INIT;
	struct template *t = NULL;
	int rc;

	if (template_parse(prepared, &t, err) < 0)
		return strata_error_wrap(err, "template parsing error");
	for (size_t i = 0; i < json_array_size(rows); i++) {
		if (template_execute_typed(t, json_array_get(rows, i), type, 0, &body, err) < 0) {
			template_free(t);
			return strata_error_wrap(err, "template parsing error");
		}
		strbuf_addch(&body, '\n');
		if (body.len > TEMPLATE_MAX_OUTPUT) {
			template_free(t);
			return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
						"template output exceeds %u bytes",
						TEMPLATE_MAX_OUTPUT);
		}
	}
	if (format_is_table(format)) {
		_cleanup_strbuf_ struct strbuf head = STRBUF_INIT;
		_cleanup_error_ struct strata_error *ignored = NULL;
		json_t *empty = json_object();
		struct tabwriter tw;

		/* docker ignores a failing header but keeps what it printed */
		execute(t, header ? header : empty, NULL, TEMPLATE_HEADER_FUNCS, &head, 1, &ignored);
		json_decref(empty);
		strbuf_addch(&head, '\n');
		tabwriter_init_docker(&tw, out);
		tabwriter_write(&tw, head.buf, head.len);
		tabwriter_write(&tw, body.buf, body.len);
		tabwriter_flush(&tw);
		tabwriter_release(&tw);
	} else {
		strbuf_add(out, body.buf, body.len);
	}
	rc = 0;
	template_free(t);
	return rc;
}
