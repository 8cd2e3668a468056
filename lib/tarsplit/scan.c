/*
 * tar-split scanner: the headers of a layer without its data.  The raw
 * segments of a tar-split file are the tar minus member data, so they are
 * fed to the tar reader with zeros standing in for each member's data
 * (never stored); the member lines supply size and CRC-64.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tarsplit/b64.h"
#include "tarsplit/tarsplit.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

#define CHUNK (64u << 10)

struct scanner {
	struct decomp_reader *d;
	char *chunk;
	size_t chunk_len, chunk_pos;
	bool eof;
	struct strbuf line, queue, bytes;
	size_t queue_pos;
	uint64_t zeros;  /* stand-in data bytes still to serve */
	uint64_t pos;    /* lines decoded */
	bool have_member; /* a member line decoded, not yet matched to a header */
	uint64_t m_size, m_crc;
};

static int bad(struct scanner *s, const char *why, struct strata_error **err)
{
	return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "tar-split: entry %llu: %s",
				(unsigned long long)s->pos, why);
}

/* Next non-blank line into s->line: 1, 0 at end, < 0 on error. */
static int next_line(struct scanner *s, struct strata_error **err)
{
	strbuf_reset(&s->line);
	for (;;) {
		if (s->chunk_pos == s->chunk_len) {
			if (s->eof)
				return s->line.len ? 1 : 0;
			ssize_t n = decomp_reader_read(s->d, s->chunk, CHUNK, err);
			if (n < 0)
				return (int)n;
			s->chunk_len = (size_t)n;
			s->chunk_pos = 0;
			if (n == 0)
				s->eof = true;
			continue;
		}
		char *p = s->chunk + s->chunk_pos;
		char *nl = memchr(p, '\n', s->chunk_len - s->chunk_pos);
		size_t take = nl ? (size_t)(nl - p) : s->chunk_len - s->chunk_pos;

		if (s->line.len + take > TARSPLIT_MAX_LINE)
			return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
						"tar-split: entry %llu: line longer than %u bytes",
						(unsigned long long)s->pos, TARSPLIT_MAX_LINE);
		strbuf_add(&s->line, p, take);
		s->chunk_pos += take + (nl ? 1 : 0);
		if (!nl)
			continue;
		size_t k = 0;
		while (k < s->line.len && strchr(" \t\r", s->line.buf[k]))
			k++;
		if (k < s->line.len)
			return 1;
		strbuf_reset(&s->line);
	}
}

/* Decode one line: raw bytes join the queue, a member line sets the stand-in data. */
static int decode_line(struct scanner *s, struct strata_error **err)
{
	int rc = next_line(s, err);
	json_error_t jerr;
	json_t *type, *pos, *payload, *size;

	if (rc <= 0)
		return rc;
	if (s->pos >= TARSPLIT_MAX_ENTRIES)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
					"tar-split: more than %u entries", TARSPLIT_MAX_ENTRIES);
	_cleanup_json_ json_t *j = json_loadb(s->line.buf, s->line.len, 0, &jerr);
	if (!j || !json_is_object(j))
		return bad(s, "not a JSON object", err);
	type = json_object_get(j, "type");
	pos = json_object_get(j, "position");
	payload = json_object_get(j, "payload");
	if (!json_is_integer(type) || !json_is_integer(pos) ||
	    json_integer_value(pos) < 0 || (uint64_t)json_integer_value(pos) != s->pos)
		return bad(s, "missing or out-of-sequence position", err);
	strbuf_reset(&s->bytes);
	if (payload && !json_is_null(payload) &&
	    (!json_is_string(payload) ||
	     !b64_decode(json_string_value(payload), json_string_length(payload), &s->bytes)))
		return bad(s, "payload is not base64", err);
	if (json_integer_value(type) == 2) {
		if (s->queue_pos == s->queue.len) {
			strbuf_reset(&s->queue);
			s->queue_pos = 0;
		}
		strbuf_add(&s->queue, s->bytes.buf, s->bytes.len);
	} else if (json_integer_value(type) == 1) {
		size = json_object_get(j, "size");
		json_int_t sz = 0;
		if (size && (!json_is_integer(size) || (sz = json_integer_value(size)) < 0))
			return bad(s, "invalid size", err);
		if (s->have_member)
			return bad(s, "member without a tar header", err);
		s->m_crc = 0;
		if (sz) {
			if (s->bytes.len != 8)
				return bad(s, "file checksum is not 8 bytes", err);
			for (int i = 0; i < 8; i++)
				s->m_crc = s->m_crc << 8 | (unsigned char)s->bytes.buf[i];
		}
		s->m_size = (uint64_t)sz;
		s->zeros = (uint64_t)sz;
		s->have_member = true;
	} else {
		return bad(s, "unknown type", err);
	}
	s->pos++;
	return 1;
}

static ssize_t scan_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct scanner *s = cookie;

	for (;;) {
		if (s->queue_pos < s->queue.len) {
			size_t n = s->queue.len - s->queue_pos;
			if (n > len)
				n = len;
			memcpy(buf, s->queue.buf + s->queue_pos, n);
			s->queue_pos += n;
			return (ssize_t)n;
		}
		if (s->zeros) {
			size_t n = s->zeros < len ? (size_t)s->zeros : len;
			memset(buf, 0, n);
			s->zeros -= n;
			return (ssize_t)n;
		}
		int rc = decode_line(s, err);
		if (rc <= 0)
			return rc;
	}
}

int tarsplit_scan(int tarsplit_fd, tarsplit_member_fn fn, void *cookie,
		  struct strata_error **err)
{
	struct scanner s = { .d = decomp_reader_new(compress_fd_read, &tarsplit_fd, 0),
			     .chunk = xmalloc(CHUNK) };
	struct tar_reader *r = tar_reader_new(scan_read, &s);
	enum compress_kind kind;
	const struct tar_entry *e;
	int rc;

	strbuf_init(&s.line, 0);
	strbuf_init(&s.queue, 0);
	strbuf_init(&s.bytes, 0);
	rc = decomp_reader_detect(s.d, &kind, err);
	if (rc < 0)
		goto out;
	if (kind != COMPRESS_GZIP) {
		rc = strata_error_set(err, STRATA_ERR_CORRUPT, 0, "tar-split: gzip: invalid header");
		goto out;
	}
	while ((rc = tar_reader_next(r, &e, err)) > 0) {
		/* A member's line follows its header; an empty member may not be read yet. */
		while (!s.have_member) {
			rc = decode_line(&s, err);
			if (rc < 0)
				goto out;
			if (rc == 0) {
				rc = bad(&s, "tar header without a member entry", err);
				goto out;
			}
		}
		/*
		 * Links, dirs and devices may claim a size that tar-split records
		 * but no data follows; their line is read only here, before the
		 * reader wants more bytes, so nothing stood in for it yet.
		 */
		if (s.zeros > e->size)
			s.zeros = e->size;
		struct tarsplit_member m = { e, s.m_size, s.m_crc };
		s.have_member = false;
		rc = fn(cookie, &m, err);
		if (rc < 0)
			goto out;
	}
out:
	tar_reader_free(r);
	free(s.chunk);
	strbuf_release(&s.line);
	strbuf_release(&s.queue);
	strbuf_release(&s.bytes);
	decomp_reader_free(s.d);
	return rc < 0 ? rc : 0;
}
