/*
 * Streaming tar reader that keeps every raw byte it consumes (so tar-split
 * can record it) and a writer for the tars strata produces.
 *
 * Reader: ustar, GNU (long name/link 'L'/'K', old GNU), PAX 'x'/'g'
 * (path, linkpath, size, uid, gid, uname, gname, mtime with fraction,
 * SCHILY.xattr.*), base-256 numbers, sizes beyond 8 GiB.  Limits on header
 * sizes and record counts keep hostile input from exhausting memory.
 */
#ifndef STRATA_TAR_H
#define STRATA_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "strata/error.h"
#include "util/stream.h"

#define TAR_BLOCK 512

enum tar_type {
	TAR_REG = '0',
	TAR_LINK = '1',
	TAR_SYMLINK = '2',
	TAR_CHR = '3',
	TAR_BLK = '4',
	TAR_DIR = '5',
	TAR_FIFO = '6',
	TAR_CONT = '7',
	TAR_XGLOBAL = 'g', /* PAX global header, reported as an entry like Go does */
};

/* Limits that keep hostile archives from exhausting memory. */
#define TAR_MAX_EXT_DATA (1u << 20)      /* one PAX/GNU extension header's data */
#define TAR_MAX_PAX_RECORDS 10000        /* records in one PAX header */
#define TAR_MAX_NAME (64u << 10)         /* path or link target */
#define TAR_MAX_EXT_CHAIN (3u << 20)     /* all extension headers before one member */

struct tar_xattr {
	char *name;  /* without the SCHILY.xattr. prefix */
	char *value; /* may hold NULs */
	size_t len;
};

/* One archive member after extension headers were folded in. */
struct tar_entry {
	char *name;     /* raw path as in the archive (may start with "./" or "/") */
	char *linkname; /* hard or symbolic link target, "" when none */
	char typeflag;  /* TAR_* ('\0' is reported as TAR_REG, or TAR_DIR when the name ends in '/', as Go does) */
	uint32_t mode;  /* permission bits incl. setuid/setgid/sticky (07777) */
	uint32_t header_mode; /* reader: the header's mode field as is (Go's Header.Mode: may hold type bits) */
	int64_t uid, gid;
	char *uname, *gname;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint64_t size; /* bytes of data that follow */
	uint32_t devmajor, devminor;
	struct tar_xattr *xattrs;
	size_t nr_xattrs;
	bool mode_raw;  /* writer only: mode written as is, without file-type bits (dockerd's whiteouts) */
};

/*
 * A numeric header field as Go's archive/tar reads it: base-256 (first bit
 * set) or octal, spaces and NULs trimmed, cut at the first NUL; false when
 * malformed.
 */
bool tar_parse_number(const unsigned char *f, size_t n, int64_t *out);
/* The 512-byte header's checksum field matches its unsigned or signed byte sum (Go accepts either). */
bool tar_checksum_ok(const unsigned char *block);

struct tar_reader;

struct tar_reader *tar_reader_new(stream_read_fn read, void *cookie);
void tar_reader_free(struct tar_reader *r);
/*
 * Optional: see every byte the reader consumes that is not file data
 * (headers, padding, trailer), for tar-split.
 */
void tar_reader_set_raw_sink(struct tar_reader *r, stream_write_fn raw, void *cookie);

/*
 * Advance to the next member.  Returns 1 and sets *entry (valid until the
 * next call) when there is one, 0 at the end of the archive, < 0 on error.
 * Unread data of the previous member is skipped (and still hashed).
 */
int tar_reader_next(struct tar_reader *r, const struct tar_entry **entry,
		    struct strata_error **err);

/* Read up to len bytes of the current member's data; 0 when it is consumed. */
ssize_t tar_reader_read_data(struct tar_reader *r, void *buf, size_t len,
			     struct strata_error **err);

/* Optional: see every data byte of members, read or skipped (for CRC-64, hashing). */
void tar_reader_set_data_sink(struct tar_reader *r, stream_write_fn data, void *cookie);

/* Consume the rest of the current member's data (through the data sink). */
int tar_reader_skip_data(struct tar_reader *r, struct strata_error **err);

/*
 * The size field of the current member as the header states it (what
 * tar-split records), which differs from entry->size for links, dirs and
 * devices that claim a size, and is 0 for PAX global headers.
 */
uint64_t tar_reader_header_size(const struct tar_reader *r);

/*
 * After tar_reader_next returned 0: read whatever follows the end of the
 * archive up to the end of input, passing it to the raw sink.  Returns the
 * number of bytes drained or < 0.
 */
int64_t tar_reader_drain(struct tar_reader *r, struct strata_error **err);

/*
 * Called once per member while a layer streams through; it may read the
 * member's data with tar_reader_read_data (what it leaves unread is skipped).
 */
typedef int (*tar_entry_fn)(void *cookie, const struct tar_entry *e,
			    struct tar_reader *r, struct strata_error **err);

/*
 * Writer for the tars strata produces (docker save archives): ustar headers
 * laid out as Go's archive/tar writes them, mode with file-type bits
 * (0100644, 040755, 0120777), a PAX header only when a path or link target
 * cannot fit (or size >= 8 GiB), two zero blocks at the end, no record padding.
 * As Go's, a member with xattrs (SCHILY.xattr.* records) or a non-ASCII
 * path, link or user name is PAX; then every field that USTAR cannot hold
 * gets a record, sorted by key.
 */
struct tar_writer;

struct tar_writer *tar_writer_new(stream_write_fn write, void *cookie);
void tar_writer_free(struct tar_writer *w);
/*
 * Write e's header(s); then exactly e->size bytes must follow through
 * tar_writer_write_data.  Uses name, linkname, typeflag, mode (07777),
 * mode_raw, uid, gid, uname, gname, mtime_sec, size, devmajor, devminor,
 * xattrs.
 */
int tar_writer_add(struct tar_writer *w, const struct tar_entry *e, struct strata_error **err);
int tar_writer_write_data(struct tar_writer *w, const void *data, size_t len,
			  struct strata_error **err);
/* Pad the last member and write the end-of-archive blocks. */
int tar_writer_finish(struct tar_writer *w, struct strata_error **err);

#endif
