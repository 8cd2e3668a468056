#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/gojson.h"
#include "util/alloc.h"
#include "util/utf8.h"

void gojson_encode_string(struct strbuf *sb, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	strbuf_addch(sb, '"');
	while (i < n) {
		unsigned char c = s[i];
		size_t l;
		int32_t rune;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
			strbuf_addch(sb, c);
			i++;
			continue;
		}
		if (c < 0x80) {
			switch (c) {
			case '"': strbuf_addstr(sb, "\\\""); break;
			case '\\': strbuf_addstr(sb, "\\\\"); break;
			case '\n': strbuf_addstr(sb, "\\n"); break;
			case '\r': strbuf_addstr(sb, "\\r"); break;
			case '\t': strbuf_addstr(sb, "\\t"); break;
			default:
				strbuf_addstr(sb, "\\u00");
				strbuf_addch(sb, hex[c >> 4]);
				strbuf_addch(sb, hex[c & 15]);
			}
			i++;
			continue;
		}
		l = utf8_decode_rune(str + i, n - i, &rune);
		if (rune == 0xfffd && l == 1) {
			strbuf_addstr(sb, "\\ufffd");
			i++;
			continue;
		}
		/* U+2028 and U+2029 break JavaScript; Go escapes them. */
		if (l == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] & 0xfe) == 0xa8) {
			strbuf_addstr(sb, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
		} else {
			strbuf_add(sb, s + i, l);
		}
		i += l;
	}
	strbuf_addch(sb, '"');
}

static void encode_real(struct strbuf *sb, double f)
{
	char buf[64];
	double a = fabs(f);
	int prec;

	/* Shortest representation that reads back the same, as strconv does. */
	for (prec = 1; prec <= 17; prec++) {
		if (a != 0 && (a < 1e-6 || a >= 1e21))
			snprintf(buf, sizeof(buf), "%.*e", prec - 1, f);
		else
			snprintf(buf, sizeof(buf), "%.*g", prec, f);
		if (strtod(buf, NULL) == f)
			break;
	}
	if (a != 0 && (a < 1e-6 || a >= 1e21)) {
		/* Go writes e-07 as e-07 but e+21 as e+21: keep two exponent digits. */
		strbuf_addstr(sb, buf);
		return;
	}
	if (strchr(buf, 'e')) {
		/* %g chose exponent form for a value Go prints in full. */
		snprintf(buf, sizeof(buf), "%.0f", f);
	}
	strbuf_addstr(sb, buf);
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *gojson_sorted_copy(const json_t *obj)
{
	const char **keys = xcalloc(json_object_size(obj) + 1, sizeof(*keys)), *k;
	json_t *out = json_object(), *v;
	size_t n = 0;

	json_object_foreach((json_t *)obj, k, v)
		keys[n++] = k;
	qsort(keys, n, sizeof(*keys), cmp_keys);
	for (size_t i = 0; i < n; i++)
		json_object_set(out, keys[i], json_object_get(obj, keys[i]));
	free(keys);
	return out;
}

static void newline(struct strbuf *sb, unsigned flags, int depth)
{
	if (!(flags & GOJSON_INDENT))
		return;
	strbuf_addch(sb, '\n');
	strbuf_addchars(sb, ' ', (size_t)depth * 4);
}

static void encode(struct strbuf *sb, const json_t *v, unsigned flags, int depth)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
		strbuf_addstr(sb, "null");
		break;
	case JSON_TRUE:
		strbuf_addstr(sb, "true");
		break;
	case JSON_FALSE:
		strbuf_addstr(sb, "false");
		break;
	case JSON_INTEGER:
		strbuf_addf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		encode_real(sb, json_real_value(v));
		break;
	case JSON_STRING:
		gojson_encode_string(sb, json_string_value(v), json_string_length(v));
		break;
	case JSON_ARRAY: {
		size_t i, n = json_array_size(v);

		if (!n) {
			strbuf_addstr(sb, "[]");
			break;
		}
		strbuf_addch(sb, '[');
		for (i = 0; i < n; i++) {
			if (i)
				strbuf_addch(sb, ',');
			newline(sb, flags, depth + 1);
			encode(sb, json_array_get(v, i), flags, depth + 1);
		}
		newline(sb, flags, depth);
		strbuf_addch(sb, ']');
		break;
	}
	case JSON_OBJECT: {
		size_t i, n = json_object_size(v);
		const char **keys;
		const char *key;
		json_t *val;

		if (!n) {
			strbuf_addstr(sb, "{}");
			break;
		}
		keys = xmalloc(n * sizeof(*keys));
		i = 0;
		json_object_foreach((json_t *)v, key, val)
			keys[i++] = key;
		if (flags & GOJSON_SORT_KEYS)
			qsort(keys, n, sizeof(*keys), cmp_keys);
		strbuf_addch(sb, '{');
		for (i = 0; i < n; i++) {
			if (i)
				strbuf_addch(sb, ',');
			newline(sb, flags, depth + 1);
			gojson_encode_string(sb, keys[i], strlen(keys[i]));
			strbuf_addstr(sb, (flags & GOJSON_INDENT) ? ": " : ":");
			encode(sb, json_object_get(v, keys[i]), flags, depth + 1);
		}
		newline(sb, flags, depth);
		strbuf_addch(sb, '}');
		free(keys);
		break;
	}
	}
}

void gojson_encode(struct strbuf *sb, const json_t *v, unsigned flags)
{
	encode(sb, v, flags, 0);
}

int gojson_parse(const char *buf, size_t len, const char *what, json_t **out,
		 struct strata_error **err)
{
	json_error_t jerr;
	json_t *v;

	v = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (!v)
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
					"%s is not valid JSON: %s (line %d, column %d)", what,
					jerr.text, jerr.line, jerr.column);
	*out = v;
	return 0;
}

const char *gojson_get_string(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}
