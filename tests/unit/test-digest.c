/* SHA-256 on its own thread gives the digest of the bytes given, whatever their pieces. */
#include <stdlib.h>
#include <string.h>

#include "digest/digest.h"
#include "tap.h"

int main(void)
{
	size_t len = (3u << 20) + 12345; /* blocks, and a part of one */
	unsigned char *data = malloc(len);
	char want[STRATA_HEX_LEN + 1], got[STRATA_HEX_LEN + 1];
	struct sha256_async *h;

	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 131 + (i >> 11));
	sha256_hex(data, len, want);
	h = sha256_async_new();
	for (size_t off = 0, step = 1; off < len; off += step, step = step * 3 % 200003 + 1)
		sha256_async_update(h, data + off, off + step > len ? len - off : step);
	sha256_async_final_hex(h, got);
	is_str(got, want, "pieces of 1 byte to 200 KB: the digest of the whole");

	h = sha256_async_new();
	sha256_async_final_hex(h, got);
	sha256_hex("", 0, want);
	is_str(got, want, "nothing given: the digest of no bytes");

	h = sha256_async_new();
	sha256_async_update(h, data, len);
	/* stopped without a result: the sanitizer build's leak check holds this */
	sha256_async_free(h);
	free(data);
	return tap_done();
}
