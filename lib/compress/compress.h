/*
 * Compression: a streaming reader that auto-detects gzip (ISA-L inflate,
 * multi-member), zstd (libzstd) or plain input and hashes both sides in the
 * same pass (blob digest of the compressed input, diff ID of the output),
 * and a streaming gzip writer producing Go's compress/gzip header.
 */
#ifndef STRATA_COMPRESS_H
#define STRATA_COMPRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "digest/digest.h"
#include "strata/error.h"
#include "tar/tar.h"

enum compress_kind {
	COMPRESS_NONE = 0,
	COMPRESS_GZIP,
	COMPRESS_ZSTD,
};

const char *compress_kind_name(enum compress_kind k);

/* stream_read_fn over a file descriptor; cookie points to the int fd. Retries EINTR. */
ssize_t compress_fd_read(void *cookie, void *buf, size_t len, struct strata_error **err);
/* stream_write_fn to a file descriptor (cookie: int *); writes all or fails. */
int compress_fd_write(void *cookie, const void *data, size_t len, struct strata_error **err);

enum decomp_flags {
	DECOMP_HASH_INPUT = 1 << 0,  /* sha256 of the bytes read from the source */
	DECOMP_HASH_OUTPUT = 1 << 1, /* sha256 of the decompressed bytes */
};

struct decomp_sums {
	enum compress_kind kind;
	char input_hex[STRATA_HEX_LEN + 1];  /* "" unless DECOMP_HASH_INPUT */
	uint64_t input_size;                 /* compressed bytes read */
	char output_hex[STRATA_HEX_LEN + 1]; /* "" unless DECOMP_HASH_OUTPUT */
	uint64_t output_size;                /* decompressed bytes produced */
};

struct decomp_reader;

struct decomp_reader *decomp_reader_new(stream_read_fn src, void *src_cookie, unsigned flags);
void decomp_reader_free(struct decomp_reader *d);

/* stream_read_fn: decompressed bytes; 0 at the end of the (last) stream. */
ssize_t decomp_reader_read(void *d, void *buf, size_t len, struct strata_error **err);

/* Detect the format now (reads the first bytes); *kind is set on success. */
int decomp_reader_detect(struct decomp_reader *d, enum compress_kind *kind,
			 struct strata_error **err);

/*
 * How Go's readers hand the decompressed bytes out, which tar-split's
 * segments after the archive end record (one per read): gzip output comes
 * in pieces that end at each GO_FLATE_WINDOW bytes from the start of a
 * member (decomp_reader_member_start: the output offset where the current
 * member began, 0 for other formats).  After the end, true when Go's
 * reader would give the last bytes without io.EOF and then a read of
 * nothing: always for plain input (a file), for gzip when the last member
 * ended on a flush point.
 */
#define GO_FLATE_WINDOW 32768u
uint64_t decomp_reader_member_start(const struct decomp_reader *d);
bool decomp_reader_go_separate_eof(const struct decomp_reader *d);

/*
 * Read and discard the rest of the output (still hashed), check the input is
 * fully consumed, and fill *sums.  Call once, at the end.
 */
int decomp_reader_finish(struct decomp_reader *d, struct decomp_sums *sums,
			 struct strata_error **err);

/*
 * Streaming gzip writer: header 1f 8b 08 00 00000000 00 ff (as Go writes),
 * raw deflate at the default level, CRC-32 and ISIZE trailer.
 */
struct gzip_writer;

struct gzip_writer *gzip_writer_new(stream_write_fn write, void *cookie);
/* Writes to fd (which stays open and owned by the caller). */
struct gzip_writer *gzip_writer_new_fd(int fd);
int gzip_writer_write(struct gzip_writer *g, const void *data, size_t len,
		      struct strata_error **err);
/* Flush everything and write the trailer; the writer must then be freed. */
int gzip_writer_close(struct gzip_writer *g, struct strata_error **err);
void gzip_writer_free(struct gzip_writer *g);

#endif
