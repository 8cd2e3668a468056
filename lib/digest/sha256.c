#include <string.h>

#include <openssl/evp.h>

#include "digest/digest.h"
#include "util/alloc.h"

void sha256_init(struct sha256_ctx *ctx)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		xalloc_die();
	ctx->evp = md;
}

void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len)
{
	EVP_DigestUpdate(ctx->evp, data, len);
}

void sha256_final_hex(struct sha256_ctx *ctx, char hex[STRATA_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int n = 0;

	EVP_DigestFinal_ex(ctx->evp, md, &n);
	for (unsigned int i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[STRATA_HEX_LEN] = '\0';
	sha256_release(ctx);
}

void sha256_release(struct sha256_ctx *ctx)
{
	EVP_MD_CTX_free(ctx->evp);
	ctx->evp = NULL;
}

void sha256_hex(const void *data, size_t len, char hex[STRATA_HEX_LEN + 1])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, data, len);
	sha256_final_hex(&ctx, hex);
}

bool digest_hex_valid(const char *hex)
{
	size_t i;

	for (i = 0; i < STRATA_HEX_LEN; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return false;
	return hex[i] == '\0';
}

bool digest_valid(const char *digest)
{
	return !strncmp(digest, "sha256:", 7) && digest_hex_valid(digest + 7);
}

int digest_parse(const char *digest, const char **hex, const char *what,
		 struct strata_error **err)
{
	if (!digest_valid(digest))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid %s digest '%.80s'", what, digest);
	*hex = digest + 7;
	return 0;
}
