/*
 * tar-split: the JSON-lines record (gzip'd) that lets Docker rebuild a layer
 * tar byte for byte from its unpacked files.  Output is byte-identical to
 * vbatts/tar-split `disasm` on the same (uncompressed) tar.
 *
 * Lines: {"type":2,"payload":"<base64 raw>","position":N} for raw bytes,
 * {"type":1,"name":"..."|"name_raw":"<b64>","size":N,"payload":"<b64 crc64>",
 * "position":N} per member (size omitted when 0, payload then null), and a
 * final {"type":2,"payload":"","position":N}.
 */
#ifndef STRATA_TARSPLIT_H
#define STRATA_TARSPLIT_H

#include <stdint.h>

#include "compress/compress.h"
#include "digest/digest.h"
#include "strata/error.h"
#include "tar/tar.h"

#define TARSPLIT_MAX_LINE (8u << 20)      /* one JSON line when reading */
#define TARSPLIT_MAX_ENTRIES (64u << 20)  /* lines in one tar-split file */
#define TARSPLIT_TRAILER_CHUNK (1u << 20) /* bytes after the archive end per segment */

/* CRC-64/ISO as Go's hash/crc64 (ISO table): continue from crc (0 to start). */
uint64_t tarsplit_crc64(uint64_t crc, const void *data, size_t len);

struct tarsplit_ingest_result {
	enum compress_kind compression;
	char compressed_hex[STRATA_HEX_LEN + 1]; /* blob digest (sha256 of the input) */
	uint64_t compressed_size;
	char diff_id_hex[STRATA_HEX_LEN + 1];    /* sha256 of the uncompressed tar */
	uint64_t tar_size;
	uint64_t nr_entries; /* members reported (incl. PAX global headers) */
	uint64_t data_size;  /* sum of member data bytes */
};

/*
 * The single pass over a layer: decompress src (gzip, zstd or plain,
 * detected), hash the input and the tar, parse it, write tar-split.json.gz
 * to tarsplit_fd (skipped when it is -1) and call on_entry (may be NULL) per
 * member; data on_entry leaves unread is consumed, CRC'd and hashed.
 * Fixed-size buffers; nothing is copied to temporary files.
 */
int tarsplit_ingest(stream_read_fn src, void *src_cookie, int tarsplit_fd,
		    tar_entry_fn on_entry, void *entry_cookie,
		    struct tarsplit_ingest_result *res, struct strata_error **err);

/*
 * tar-split of a tar strata writes itself (squash), recorded as it is
 * written, without reading it back: the same lines tarsplit_ingest records
 * for that tar.  Every byte goes to raw (headers, padding, end blocks) or,
 * after member() announced a member of size bytes, to data.
 */
struct tarsplit_writer;

/* Writes tar-split.json.gz to tarsplit_fd (not closed). */
struct tarsplit_writer *tarsplit_writer_new(int tarsplit_fd);
int tarsplit_writer_raw(struct tarsplit_writer *w, const void *data, size_t len, struct strata_error **err);
/* After the member's header bytes; name as in its header (PAX path included). */
int tarsplit_writer_member(struct tarsplit_writer *w, const char *name, uint64_t size, struct strata_error **err);
int tarsplit_writer_data(struct tarsplit_writer *w, const void *data, size_t len, struct strata_error **err);
/* After the end-of-archive blocks: the last lines, the gzip stream closed. */
int tarsplit_writer_finish(struct tarsplit_writer *w, struct strata_error **err);
void tarsplit_writer_free(struct tarsplit_writer *w);

/*
 * Open a member's content for assembly: return a readable fd (the assembler
 * closes it) or < 0 with err set.  name is the member name as recorded.
 */
typedef int (*tarsplit_open_fn)(void *cookie, const char *name, uint64_t size,
				struct strata_error **err);

/*
 * Rebuild the exact tar from a tar-split.json.gz (any gzip) read from
 * tarsplit_fd, taking member data from open_file and writing the tar to
 * write.  Every member's size and CRC-64 is checked while copying; a
 * mismatch fails with STRATA_ERR_DIGEST_MISMATCH naming the member.
 */
int tarsplit_assemble(int tarsplit_fd, tarsplit_open_fn open_file, stream_write_fn write,
		      void *cookie, struct strata_error **err);

/* Assemble and return the sha256 (the diff ID) and size of the rebuilt tar. */
int tarsplit_assemble_sha256(int tarsplit_fd, tarsplit_open_fn open_file, void *cookie,
			     char hex[STRATA_HEX_LEN + 1], uint64_t *size,
			     struct strata_error **err);

#endif
