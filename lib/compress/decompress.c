/*
 * Decompressing reader: one pass over a layer blob yields the tar bytes and
 * both digests.  ISA-L inflates gzip straight into the caller's buffer;
 * zstd goes through libzstd's streaming API the same way.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include "compress/compress.h"
#include "util/alloc.h"

#define INBUF_SIZE (256u << 10)

struct decomp_reader {
	stream_read_fn src;
	void *src_cookie;
	unsigned flags;

	enum compress_kind kind;
	bool detected, src_eof, done;

	unsigned char *in; /* compressed input window */
	size_t in_pos, in_len;

	struct inflate_state *gz;
	uint64_t gz_member_start;   /* output offset where the current member began */
	unsigned char gz_tail[16];  /* the last compressed bytes inflated */
	size_t gz_tail_len;
	bool gz_flushed_end;        /* the last member ended on a flush point */
	ZSTD_DStream *zs;
	bool zs_frame_end; /* the decoder sits at a frame boundary */

	struct sha256_ctx hin, hout;
	uint64_t in_total, out_total;
};

const char *compress_kind_name(enum compress_kind k)
{
	switch (k) {
	case COMPRESS_GZIP:
		return "gzip";
	case COMPRESS_ZSTD:
		return "zstd";
	default:
		return "none";
	}
}

ssize_t compress_fd_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	int fd = *(int *)cookie;

	for (;;) {
		ssize_t n = read(fd, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return strata_error_set(err, STRATA_ERR_IO, errno, "read");
	}
}

int compress_fd_write(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	int fd = *(int *)cookie;
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return strata_error_set(err, errno == ENOSPC || errno == EDQUOT
						? STRATA_ERR_NOSPC : STRATA_ERR_IO,
						errno, "write");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct decomp_reader *decomp_reader_new(stream_read_fn src, void *src_cookie, unsigned flags)
{
	struct decomp_reader *d = xcalloc(1, sizeof(*d));

	d->src = src;
	d->src_cookie = src_cookie;
	d->flags = flags;
	d->in = xmalloc(INBUF_SIZE);
	if (flags & DECOMP_HASH_INPUT)
		sha256_init(&d->hin);
	if (flags & DECOMP_HASH_OUTPUT)
		sha256_init(&d->hout);
	return d;
}

void decomp_reader_free(struct decomp_reader *d)
{
	if (!d)
		return;
	if (d->flags & DECOMP_HASH_INPUT)
		sha256_release(&d->hin);
	if (d->flags & DECOMP_HASH_OUTPUT)
		sha256_release(&d->hout);
	free(d->gz);
	ZSTD_freeDStream(d->zs);
	free(d->in);
	free(d);
}

/* Append source bytes to the input window (compacting it first). */
static int refill(struct decomp_reader *d, struct strata_error **err)
{
	ssize_t n;

	if (d->src_eof)
		return 0;
	if (d->in_pos) {
		memmove(d->in, d->in + d->in_pos, d->in_len - d->in_pos);
		d->in_len -= d->in_pos;
		d->in_pos = 0;
	}
	if (d->in_len == INBUF_SIZE)
		return 0;
	n = d->src(d->src_cookie, d->in + d->in_len, INBUF_SIZE - d->in_len, err);
	if (n < 0)
		return (int)n;
	if (n == 0) {
		d->src_eof = true;
		return 0;
	}
	if (d->flags & DECOMP_HASH_INPUT)
		sha256_update(&d->hin, d->in + d->in_len, (size_t)n);
	d->in_total += (uint64_t)n;
	d->in_len += (size_t)n;
	return 0;
}

static void gz_start_member(struct decomp_reader *d)
{
	d->gz_member_start = d->out_total;
	d->gz_tail_len = 0;
	isal_inflate_init(d->gz);
	d->gz->crc_flag = ISAL_GZIP;
}

int decomp_reader_detect(struct decomp_reader *d, enum compress_kind *kind,
			 struct strata_error **err)
{
	int ret;

	if (!d->detected) {
		while (d->in_len - d->in_pos < 4 && !d->src_eof)
			if ((ret = refill(d, err)) < 0)
				return ret;
		const unsigned char *p = d->in + d->in_pos;
		size_t n = d->in_len - d->in_pos;
		if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
			d->kind = COMPRESS_GZIP;
			d->gz = xmalloc(sizeof(*d->gz));
			gz_start_member(d);
		} else if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) {
			d->kind = COMPRESS_ZSTD;
			d->zs = ZSTD_createDStream();
			if (!d->zs)
				xalloc_die();
			ZSTD_initDStream(d->zs);
		} else {
			d->kind = COMPRESS_NONE;
		}
		d->detected = true;
	}
	*kind = d->kind;
	return 0;
}

static ssize_t read_plain(struct decomp_reader *d, void *buf, size_t len,
			  struct strata_error **err)
{
	size_t n = d->in_len - d->in_pos;
	ssize_t got;

	if (n) {
		if (n > len)
			n = len;
		memcpy(buf, d->in + d->in_pos, n);
		d->in_pos += n;
		return (ssize_t)n;
	}
	if (d->src_eof)
		return 0;
	got = d->src(d->src_cookie, buf, len, err);
	if (got < 0)
		return got;
	if (got == 0) {
		d->src_eof = true;
		return 0;
	}
	if (d->flags & DECOMP_HASH_INPUT)
		sha256_update(&d->hin, buf, (size_t)got);
	d->in_total += (uint64_t)got;
	return got;
}

/* Keep the last sizeof(gz_tail) compressed bytes of the member. */
static void gz_keep_tail(struct decomp_reader *d, const unsigned char *in, size_t n)
{
	size_t cap = sizeof(d->gz_tail);

	if (n >= cap) {
		memcpy(d->gz_tail, in + n - cap, cap);
		d->gz_tail_len = cap;
		return;
	}
	if (d->gz_tail_len + n > cap) {
		size_t drop = d->gz_tail_len + n - cap;

		memmove(d->gz_tail, d->gz_tail + drop, d->gz_tail_len - drop);
		d->gz_tail_len -= drop;
	}
	memcpy(d->gz_tail + d->gz_tail_len, in, n);
	d->gz_tail_len += n;
}

/*
 * A member ended at output offset end.  Go's compress/flate hands its
 * window out when it is full (every 32 KiB of a member) and at an empty
 * stored block (a sync flush); what is still in the window when the final
 * block ends comes with io.EOF.  So the last bytes come without io.EOF,
 * and a read of nothing but io.EOF follows, when the member ends on a
 * window boundary, or when its deflate data ends with a sync flush
 * (00 00 ff ff) and an empty final block: stored (01 00 00 ff ff, Go's
 * Flush then Close) or fixed (03 00, klauspost's pgzip, which skopeo
 * uses).  The 8 bytes after the deflate data are the gzip trailer.
 */
static void gz_end_member(struct decomp_reader *d, uint64_t end)
{
	static const unsigned char stored[] = { 0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff };
	static const unsigned char fixed[] = { 0x00, 0x00, 0xff, 0xff, 0x03, 0x00 };
	uint64_t len = end - d->gz_member_start;
	size_t n = d->gz_tail_len >= 8 ? d->gz_tail_len - 8 : 0;

	d->gz_flushed_end = (len && len % GO_FLATE_WINDOW == 0) ||
			    (n >= sizeof(stored) && !memcmp(d->gz_tail + n - sizeof(stored), stored, sizeof(stored))) ||
			    (n >= sizeof(fixed) && !memcmp(d->gz_tail + n - sizeof(fixed), fixed, sizeof(fixed)));
}

uint64_t decomp_reader_member_start(const struct decomp_reader *d)
{
	return d->kind == COMPRESS_GZIP ? d->gz_member_start : 0;
}

bool decomp_reader_go_separate_eof(const struct decomp_reader *d)
{
	return d->kind != COMPRESS_GZIP || d->gz_flushed_end;
}

static ssize_t read_gzip(struct decomp_reader *d, void *buf, size_t len,
			 struct strata_error **err)
{
	struct inflate_state *s = d->gz;
	int rc;

	/* isal_inflate takes 32-bit lengths. */
	if (len > (1u << 30))
		len = 1u << 30;
	for (;;) {
		if (s->block_state == ISAL_BLOCK_FINISH) {
			/* A member ended: the input either ends here or holds another member. */
			while (d->in_len - d->in_pos < 2 && !d->src_eof)
				if ((rc = refill(d, err)) < 0)
					return rc;
			size_t left = d->in_len - d->in_pos;
			if (left == 0)
				return 0;
			if (left < 2 || d->in[d->in_pos] != 0x1f || d->in[d->in_pos + 1] != 0x8b)
				return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
							"gzip: invalid header after member");
			gz_start_member(d);
		}
		if (d->in_pos == d->in_len && !d->src_eof) {
			if ((rc = refill(d, err)) < 0)
				return rc;
		}
		s->next_in = d->in + d->in_pos;
		s->avail_in = (uint32_t)(d->in_len - d->in_pos);
		s->next_out = buf;
		s->avail_out = (uint32_t)len;
		size_t before = d->in_pos;
		int ret = isal_inflate(s);
		d->in_pos = (size_t)(s->next_in - d->in);
		gz_keep_tail(d, d->in + before, d->in_pos - before);
		if (ret < 0)
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "gzip: %s",
						ret == ISAL_INCORRECT_CHECKSUM ? "checksum mismatch"
						: ret == ISAL_INVALID_WRAPPER ? "invalid header"
						: "invalid compressed data");
		size_t produced = len - s->avail_out;
		if (s->block_state == ISAL_BLOCK_FINISH)
			gz_end_member(d, d->out_total + produced);
		if (produced)
			return (ssize_t)produced;
		if (s->block_state != ISAL_BLOCK_FINISH && d->in_pos == d->in_len && d->src_eof)
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
						"gzip: unexpected end of compressed data");
	}
}

static ssize_t read_zstd(struct decomp_reader *d, void *buf, size_t len,
			 struct strata_error **err)
{
	int rc;

	for (;;) {
		if (d->in_pos == d->in_len && !d->src_eof) {
			if ((rc = refill(d, err)) < 0)
				return rc;
		}
		ZSTD_inBuffer in = { d->in, d->in_len, d->in_pos };
		ZSTD_outBuffer out = { buf, len, 0 };
		size_t ret = ZSTD_decompressStream(d->zs, &out, &in);
		if (ZSTD_isError(ret))
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "zstd: %s",
						ZSTD_getErrorName(ret));
		bool progress = out.pos || in.pos != d->in_pos;
		d->in_pos = in.pos;
		if (progress)
			d->zs_frame_end = ret == 0;
		if (out.pos)
			return (ssize_t)out.pos;
		if (d->in_pos == d->in_len && d->src_eof) {
			/* Input ended: fine at a frame boundary, otherwise cut short. */
			if (!d->zs_frame_end)
				return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
							"zstd: unexpected end of compressed data");
			return 0;
		}
	}
}

ssize_t decomp_reader_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct decomp_reader *d = cookie;
	enum compress_kind kind;
	ssize_t n;
	int ret;

	if (d->done || !len)
		return 0;
	ret = decomp_reader_detect(d, &kind, err);
	if (ret < 0)
		return ret;
	switch (kind) {
	case COMPRESS_GZIP:
		n = read_gzip(d, buf, len, err);
		break;
	case COMPRESS_ZSTD:
		n = read_zstd(d, buf, len, err);
		break;
	default:
		n = read_plain(d, buf, len, err);
	}
	if (n < 0)
		return n;
	if (n == 0) {
		d->done = true;
		return 0;
	}
	/* Plain input is its own output: hash it once. */
	if ((d->flags & DECOMP_HASH_OUTPUT) &&
	    !(kind == COMPRESS_NONE && (d->flags & DECOMP_HASH_INPUT)))
		sha256_update(&d->hout, buf, (size_t)n);
	d->out_total += (uint64_t)n;
	return n;
}

int decomp_reader_finish(struct decomp_reader *d, struct decomp_sums *sums,
			 struct strata_error **err)
{
	enum compress_kind kind;
	char *scratch = NULL;
	int ret;

	memset(sums, 0, sizeof(*sums));
	ret = decomp_reader_detect(d, &kind, err);
	if (ret < 0)
		return ret;
	while (!d->done) {
		ssize_t n;

		if (!scratch)
			scratch = xmalloc(64u << 10);
		n = decomp_reader_read(d, scratch, 64u << 10, err);
		if (n < 0) {
			free(scratch);
			return (int)n;
		}
	}
	free(scratch);
	sums->kind = kind;
	sums->input_size = d->in_total;
	sums->output_size = d->out_total;
	if (d->flags & DECOMP_HASH_INPUT) {
		sha256_final_hex(&d->hin, sums->input_hex);
		d->flags &= ~(unsigned)DECOMP_HASH_INPUT;
	}
	if ((d->flags & DECOMP_HASH_OUTPUT) && kind == COMPRESS_NONE && sums->input_hex[0]) {
		memcpy(sums->output_hex, sums->input_hex, sizeof(sums->output_hex));
		sha256_release(&d->hout);
		d->flags &= ~(unsigned)DECOMP_HASH_OUTPUT;
	}
	if (d->flags & DECOMP_HASH_OUTPUT) {
		sha256_final_hex(&d->hout, sums->output_hex);
		d->flags &= ~(unsigned)DECOMP_HASH_OUTPUT;
	}
	return 0;
}
