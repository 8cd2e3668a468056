/*
 * gzip writer: Go's compress/gzip header (no name, mtime 0, XFL 0, OS 255)
 * so tar-split files look like the ones dockerd writes, then zlib raw deflate.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "compress/compress.h"
#include "util/alloc.h"

#define GZ_OUT_SIZE (64u << 10)

struct gzip_writer {
	compress_write_fn write;
	void *cookie;
	int fd; /* cookie target when writing to an fd */
	z_stream zs;
	uLong crc;
	uint32_t isize;
	bool header_done, closed, failed;
	unsigned char out[GZ_OUT_SIZE];
};

static const unsigned char go_gzip_header[10] = { 0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff };

struct gzip_writer *gzip_writer_new(compress_write_fn write, void *cookie)
{
	struct gzip_writer *g = xcalloc(1, sizeof(*g));

	g->write = write;
	g->cookie = cookie;
	g->fd = -1;
	/* Negative window bits: raw deflate, we write the gzip wrapper ourselves. */
	if (deflateInit2(&g->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		xalloc_die();
	g->crc = crc32(0L, Z_NULL, 0);
	return g;
}

struct gzip_writer *gzip_writer_new_fd(int fd)
{
	struct gzip_writer *g = gzip_writer_new(compress_fd_write, NULL);

	g->fd = fd;
	g->cookie = &g->fd;
	return g;
}

void gzip_writer_free(struct gzip_writer *g)
{
	if (!g)
		return;
	deflateEnd(&g->zs);
	free(g);
}

static int put_header(struct gzip_writer *g, struct strata_error **err)
{
	if (g->header_done)
		return 0;
	g->header_done = true;
	return g->write(g->cookie, go_gzip_header, sizeof(go_gzip_header), err);
}

static int pump(struct gzip_writer *g, int flush, struct strata_error **err)
{
	int ret;

	do {
		g->zs.next_out = g->out;
		g->zs.avail_out = GZ_OUT_SIZE;
		ret = deflate(&g->zs, flush);
		if (ret == Z_STREAM_ERROR)
			return strata_error_set(err, STRATA_ERR_IO, 0, "gzip: deflate failed");
		size_t n = GZ_OUT_SIZE - g->zs.avail_out;
		if (n && g->write(g->cookie, g->out, n, err) < 0)
			return -1;
	} while (g->zs.avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
	return 0;
}

int gzip_writer_write(struct gzip_writer *g, const void *data, size_t len,
		      struct strata_error **err)
{
	const unsigned char *p = data;

	if (g->closed || g->failed)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "gzip: write after close or error");
	if (put_header(g, err) < 0)
		goto fail;
	while (len) {
		uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
		g->crc = crc32(g->crc, p, chunk);
		g->isize += (uint32_t)chunk;
		g->zs.next_in = (Bytef *)p;
		g->zs.avail_in = chunk;
		if (pump(g, Z_NO_FLUSH, err) < 0)
			goto fail;
		p += chunk;
		len -= chunk;
	}
	return 0;
fail:
	g->failed = true;
	return -1;
}

int gzip_writer_close(struct gzip_writer *g, struct strata_error **err)
{
	unsigned char trailer[8];

	if (g->closed || g->failed)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "gzip: close after close or error");
	g->closed = true;
	if (put_header(g, err) < 0)
		return -1;
	g->zs.next_in = NULL;
	g->zs.avail_in = 0;
	if (pump(g, Z_FINISH, err) < 0)
		return -1;
	for (int i = 0; i < 4; i++) {
		trailer[i] = (unsigned char)(g->crc >> (8 * i));
		trailer[4 + i] = (unsigned char)(g->isize >> (8 * i));
	}
	return g->write(g->cookie, trailer, sizeof(trailer), err);
}
