/* SHA-256 digests: streaming hashing (OpenSSL) and "sha256:<hex>" validation. */
#ifndef STRATA_DIGEST_H
#define STRATA_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "strata/error.h"

#define STRATA_HEX_LEN 64
#define STRATA_DIGEST_LEN (7 + STRATA_HEX_LEN) /* "sha256:" + hex */

struct sha256_ctx {
	void *evp; /* EVP_MD_CTX */
};

void sha256_init(struct sha256_ctx *ctx);
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
/* Write 64 lowercase hex digits and a NUL to hex; the context is released. */
void sha256_final_hex(struct sha256_ctx *ctx, char hex[STRATA_HEX_LEN + 1]);
void sha256_release(struct sha256_ctx *ctx);

void sha256_hex(const void *data, size_t len, char hex[STRATA_HEX_LEN + 1]);

/*
 * SHA-256 on a thread of its own: update copies the bytes into a few
 * blocks the thread hashes while the caller goes on (a stream whose hash is
 * most of its cost, as squash's tar).  Without a thread, hashed inline.
 */
struct sha256_async;

struct sha256_async *sha256_async_new(void);
void sha256_async_update(struct sha256_async *h, const void *data, size_t len);
/* The hex digest of everything given; h is freed. */
void sha256_async_final_hex(struct sha256_async *h, char hex[STRATA_HEX_LEN + 1]);
/* Stop and free without a result (NULL is fine). */
void sha256_async_free(struct sha256_async *h);

/* True for exactly 64 lowercase hex digits (a safe file name). */
bool digest_hex_valid(const char *hex);
/* True for "sha256:" followed by a valid hex part. */
bool digest_valid(const char *digest);
/* Validate and return the hex part of "sha256:<hex>", or an error naming what. */
int digest_parse(const char *digest, const char **hex, const char *what,
		 struct strata_error **err);

#endif
