#include <stdint.h>

#include "tarsplit/b64.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void b64_encode(struct strbuf *sb, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t full = len / 3 * 3, i;
	char *o;

	strbuf_grow(sb, (len + 2) / 3 * 4);
	o = sb->buf + sb->len;
	for (i = 0; i < full; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = b64_alphabet[(v >> 6) & 63];
		*o++ = b64_alphabet[v & 63];
	}
	if (len - full) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (len - full == 2)
			v |= (uint32_t)p[i + 1] << 8;
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = len - full == 2 ? b64_alphabet[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	strbuf_setlen(sb, (size_t)(o - sb->buf));
}

/* Not a digit of the alphabet, and the '=' padding (no value either). */
enum { B64_INVALID = -1, B64_PAD = -2 };

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return B64_INVALID;
}

bool b64_decode(const char *s, size_t len, struct strbuf *out)
{
	if (len % 4)
		return false;
	strbuf_grow(out, len / 4 * 3);
	for (size_t i = 0; i < len; i += 4) {
		int a = b64_val(s[i]), b = b64_val(s[i + 1]);
		int c = s[i + 2] == '=' ? B64_PAD : b64_val(s[i + 2]);
		int d = s[i + 3] == '=' ? B64_PAD : b64_val(s[i + 3]);
		bool last = i + 4 == len;

		if (a < 0 || b < 0 || c == B64_INVALID || d == B64_INVALID ||
		    (c == B64_PAD && d != B64_PAD) || (!last && (c == B64_PAD || d == B64_PAD)))
			return false;
		strbuf_addch(out, (char)(a << 2 | b >> 4));
		if (c >= 0) {
			strbuf_addch(out, (char)((b & 15) << 4 | c >> 2));
			if (d >= 0)
				strbuf_addch(out, (char)((c & 3) << 6 | d));
		}
	}
	return true;
}
