/* Decompressing reader (detection, multi-member, digests) and gzip writer. */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "compress/compress.h"
#include "digest/digest.h"
#include "memio.h"
#include "tap.h"
#include "util/strbuf.h"

static void gz(struct strbuf *out, const void *data, size_t len)
{
	struct strata_error *err = NULL;
	struct gzip_writer *g = gzip_writer_new(sb_write, out);

	gzip_writer_write(g, data, len, &err);
	gzip_writer_close(g, &err);
	gzip_writer_free(g);
}

/* Decompress everything; returns 0 and fills sums, or < 0 with *err set. */
static int unpack(const void *in, size_t len, size_t chunk, struct strbuf *out,
		  struct decomp_sums *sums, struct strata_error **err)
{
	struct mem m = { in, len, 0, chunk };
	struct decomp_reader *d =
		decomp_reader_new(mem_read, &m, DECOMP_HASH_INPUT | DECOMP_HASH_OUTPUT);
	char buf[7000];
	ssize_t n;
	int rc = 0;

	while ((n = decomp_reader_read(d, buf, sizeof(buf), err)) > 0)
		strbuf_add(out, buf, (size_t)n);
	if (n < 0)
		rc = -1;
	else
		rc = decomp_reader_finish(d, sums, err);
	decomp_reader_free(d);
	return rc;
}

int main(void)
{
	struct strata_error *err = NULL;
	struct strbuf data = STRBUF_INIT, z = STRBUF_INIT, out = STRBUF_INIT;
	struct decomp_sums sums;
	char hex[65], hexz[65];

	for (int i = 0; i < 300000; i++)
		strbuf_addf(&data, "line %d %c\n", (int)((long)i * 7919 % 1000), 'a' + i % 26);
	sha256_hex(data.buf, data.len, hex);

	/* gzip writer header is exactly Go's */
	gz(&z, data.buf, data.len);
	static const unsigned char hdr[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff };
	ok(z.len > 18 && !memcmp(z.buf, hdr, 10), "gzip header 1f8b08000000000000ff");
	uint32_t crc = (uint32_t)crc32(0, (const Bytef *)data.buf, (uInt)data.len);
	const unsigned char *t = (const unsigned char *)z.buf + z.len - 8;
	ok(t[0] == (crc & 0xff) && t[3] == (crc >> 24) &&
		   (t[4] | t[5] << 8 | t[6] << 16 | (uint32_t)t[7] << 24) == (uint32_t)data.len,
	   "gzip trailer has CRC-32 and ISIZE");

	/* gzip detection and both digests in one pass */
	ok(unpack(z.buf, z.len, 0, &out, &sums, &err) == 0, "gzip decompresses");
	ok(sums.kind == COMPRESS_GZIP, "gzip detected");
	ok(out.len == data.len && !memcmp(out.buf, data.buf, data.len), "gzip round trip");
	is_str(sums.output_hex, hex, "diff id of gzip output");
	sha256_hex(z.buf, z.len, hexz);
	is_str(sums.input_hex, hexz, "digest of gzip input");
	ok(sums.input_size == z.len && sums.output_size == data.len, "gzip sizes");

	/* tiny reads from the source */
	strbuf_reset(&out);
	ok(unpack(z.buf, z.len, 3, &out, &sums, &err) == 0 && out.len == data.len,
	   "gzip with 3-byte source reads");

	/* multi-member gzip */
	struct strbuf mm = STRBUF_INIT;
	gz(&mm, "hello ", 6);
	gz(&mm, "world\n", 6);
	gz(&mm, "", 0);
	strbuf_reset(&out);
	ok(unpack(mm.buf, mm.len, 0, &out, &sums, &err) == 0, "multi-member gzip");
	is_str(out.buf, "hello world\n", "multi-member gzip output concatenated");

	/* trailing garbage after a member is refused, like Go */
	strbuf_addstr(&mm, "junk");
	strbuf_reset(&out);
	ok(unpack(mm.buf, mm.len, 0, &out, &sums, &err) < 0 && err, "garbage after gzip refused");
	strata_error_freep(&err);

	/* truncated gzip is refused */
	strbuf_reset(&out);
	ok(unpack(z.buf, z.len - 20, 0, &out, &sums, &err) < 0 && err &&
		   err->code == STRATA_ERR_CORRUPT,
	   "truncated gzip refused");
	strata_error_freep(&err);

	/* corrupted CRC is refused */
	struct strbuf bad = STRBUF_INIT;
	strbuf_add(&bad, z.buf, z.len);
	bad.buf[bad.len - 6] ^= 1;
	strbuf_reset(&out);
	ok(unpack(bad.buf, bad.len, 0, &out, &sums, &err) < 0 && err, "gzip CRC mismatch refused");
	strata_error_freep(&err);

	/* a zlib-made gzip (with a file name) is accepted */
	{
		z_stream zs = { 0 };
		gz_header gh = { 0 };
		unsigned char zbuf[1 << 16];
		deflateInit2(&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
		gh.name = (Bytef *)"file.tar";
		deflateSetHeader(&zs, &gh);
		zs.next_in = (Bytef *)"zlib made\n";
		zs.avail_in = 10;
		zs.next_out = zbuf;
		zs.avail_out = sizeof(zbuf);
		deflate(&zs, Z_FINISH);
		size_t zl = sizeof(zbuf) - zs.avail_out;
		deflateEnd(&zs);
		strbuf_reset(&out);
		ok(unpack(zbuf, zl, 0, &out, &sums, &err) == 0 && sums.kind == COMPRESS_GZIP,
		   "zlib gzip with FNAME accepted");
		is_str(out.buf, "zlib made\n", "zlib gzip content");
	}

	/* zstd */
	{
		size_t cap = ZSTD_compressBound(data.len);
		char *zb = malloc(cap);
		size_t zl = ZSTD_compress(zb, cap, data.buf, data.len, 3);
		strbuf_reset(&out);
		ok(unpack(zb, zl, 1000, &out, &sums, &err) == 0, "zstd decompresses");
		if (err) printf("# %s\n", err->msg);
		ok(sums.kind == COMPRESS_ZSTD, "zstd detected");
		is_str(sums.output_hex, hex, "diff id of zstd output");
		sha256_hex(zb, zl, hexz);
		is_str(sums.input_hex, hexz, "digest of zstd input");
		strbuf_reset(&out);
		ok(unpack(zb, zl - 5, 0, &out, &sums, &err) < 0 && err, "truncated zstd refused");
		strata_error_freep(&err);
		free(zb);
	}

	/* plain */
	strbuf_reset(&out);
	ok(unpack(data.buf, data.len, 4096, &out, &sums, &err) == 0 && sums.kind == COMPRESS_NONE,
	   "plain passes through");
	is_str(sums.output_hex, hex, "plain diff id");
	is_str(sums.input_hex, hex, "plain input digest equals diff id");
	strbuf_reset(&out);
	ok(unpack("", 0, 0, &out, &sums, &err) == 0 && sums.output_size == 0, "empty input");

	strbuf_release(&data);
	strbuf_release(&z);
	strbuf_release(&out);
	strbuf_release(&mm);
	strbuf_release(&bad);
	return tap_done();
}
