#include <pthread.h>
#include <stdlib.h>
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

#define ASYNC_BLOCK (512u << 10)
#define ASYNC_BLOCKS 4

struct sha256_async {
	struct sha256_ctx ctx;
	bool threaded;
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *blocks[ASYNC_BLOCKS];
	size_t len[ASYNC_BLOCKS];
	size_t handed, hashed; /* blocks given to the thread, blocks it hashed */
	size_t fill;           /* bytes in blocks[handed % ASYNC_BLOCKS], being filled */
	bool closed;
};

static void *hash_blocks(void *cookie)
{
	struct sha256_async *h = cookie;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		size_t i;

		while (h->hashed == h->handed && !h->closed)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->hashed == h->handed)
			break;
		i = h->hashed % ASYNC_BLOCKS;
		pthread_mutex_unlock(&h->mu);
		sha256_update(&h->ctx, h->blocks[i], h->len[i]);
		pthread_mutex_lock(&h->mu);
		h->hashed++;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct sha256_async *sha256_async_new(void)
{
	struct sha256_async *h = xcalloc(1, sizeof(*h));

	sha256_init(&h->ctx);
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	for (size_t i = 0; i < ASYNC_BLOCKS; i++)
		h->blocks[i] = xmalloc(ASYNC_BLOCK);
	/* without a thread the bytes are hashed as they come */
	h->threaded = pthread_create(&h->tid, NULL, hash_blocks, h) == 0;
	return h;
}

/* Give the block being filled to the thread; wait until the next one is free. */
static void hand_over(struct sha256_async *h)
{
	pthread_mutex_lock(&h->mu);
	h->len[h->handed % ASYNC_BLOCKS] = h->fill;
	h->handed++;
	pthread_cond_broadcast(&h->cv);
	while (h->handed - h->hashed >= ASYNC_BLOCKS)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	h->fill = 0;
}

void sha256_async_update(struct sha256_async *h, const void *data, size_t len)
{
	const unsigned char *p = data;

	if (!h->threaded) {
		sha256_update(&h->ctx, data, len);
		return;
	}
	while (len) {
		size_t take = ASYNC_BLOCK - h->fill < len ? ASYNC_BLOCK - h->fill : len;

		memcpy(h->blocks[h->handed % ASYNC_BLOCKS] + h->fill, p, take);
		h->fill += take;
		p += take;
		len -= take;
		if (h->fill == ASYNC_BLOCK)
			hand_over(h);
	}
}

/* Hash what is left and stop the thread. */
static void async_close(struct sha256_async *h)
{
	if (!h->threaded)
		return;
	if (h->fill)
		hand_over(h);
	pthread_mutex_lock(&h->mu);
	h->closed = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->tid, NULL);
	h->threaded = false;
}

void sha256_async_free(struct sha256_async *h)
{
	if (!h)
		return;
	async_close(h);
	if (h->ctx.evp)
		sha256_release(&h->ctx);
	for (size_t i = 0; i < ASYNC_BLOCKS; i++)
		free(h->blocks[i]);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

void sha256_async_final_hex(struct sha256_async *h, char hex[STRATA_HEX_LEN + 1])
{
	async_close(h);
	sha256_final_hex(&h->ctx, hex);
	sha256_async_free(h);
}
