#include "util/utf8.h"

size_t utf8_decode_rune(const char *str, size_t len, int32_t *r)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;
	int32_t v;

	if (c < 0x80) {
		*r = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		v = c & 0x0f;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		v = c & 0x07;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		goto bad;
	}
	if (need >= len || s[1] < lo || s[1] > hi)
		goto bad;
	for (size_t k = 1; k <= need; k++) {
		if (s[k] < 0x80 || s[k] > 0xbf)
			goto bad;
		v = v << 6 | (s[k] & 0x3f);
	}
	*r = v;
	return need + 1;
bad:
	*r = 0xfffd;
	return 1;
}

bool utf8_valid(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		int32_t r;
		size_t n = utf8_decode_rune(s + i, len - i, &r);

		if (r == 0xfffd && n == 1)
			return false;
		i += n;
	}
	return true;
}
