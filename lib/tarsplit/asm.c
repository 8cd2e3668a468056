/*
 * tar-split assembler: replays raw segments and member data into the exact
 * original tar.  The input is untrusted (it sits on disk in the store), so
 * lines, entries and payloads are bounded and every member is verified.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "tarsplit/b64.h"
#include "tarsplit/tarsplit.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

#define COPY_BUF (128u << 10)

struct assembler {
	tarsplit_open_fn open_file;
	stream_write_fn write;
	void *cookie;
	char *copy; /* COPY_BUF bytes */
	struct strbuf bytes;
	struct strbuf name;
	uint64_t pos;
};

static int copy_member(struct assembler *a, const char *name, uint64_t size,
		       const unsigned char want_crc[8], struct strata_error **err)
{
	_cleanup_close_ int fd = a->open_file(a->cookie, name, size, err);
	uint64_t got = 0, crc = 0;
	int ret;

	if (fd < 0)
		return fd;
	for (;;) {
		ssize_t n = read(fd, a->copy, COPY_BUF);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return strata_error_set(err, STRATA_ERR_IO, errno,
						"tar-split: reading %s", name);
		}
		if (n == 0)
			break;
		if (got + (uint64_t)n > size)
			return strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
						"tar-split: file %s is larger than the recorded %llu bytes",
						name, (unsigned long long)size);
		crc = tarsplit_crc64(crc, a->copy, (size_t)n);
		ret = a->write(a->cookie, a->copy, (size_t)n, err);
		if (ret < 0)
			return ret;
		got += (uint64_t)n;
	}
	if (got != size)
		return strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
					"tar-split: file %s has %llu bytes, recorded %llu", name,
					(unsigned long long)got, (unsigned long long)size);
	for (int i = 0; i < 8; i++)
		if (want_crc[i] != (unsigned char)(crc >> (56 - 8 * i)))
			return strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
						"tar-split: file integrity checksum failed for %s",
						name);
	return 0;
}

static int bad_line(struct assembler *a, const char *why, struct strata_error **err)
{
	return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "tar-split: entry %llu: %s",
				(unsigned long long)a->pos, why);
}

static int do_line(struct assembler *a, const char *line, size_t len,
		   struct strata_error **err)
{
	json_error_t jerr;
	_cleanup_json_ json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *type, *pos, *payload, *size, *name, *name_raw;
	json_int_t t;

	if (!j || !json_is_object(j))
		return bad_line(a, "not a JSON object", err);
	type = json_object_get(j, "type");
	pos = json_object_get(j, "position");
	payload = json_object_get(j, "payload");
	if (!json_is_integer(type) || !json_is_integer(pos))
		return bad_line(a, "missing type or position", err);
	if ((uint64_t)json_integer_value(pos) != a->pos || json_integer_value(pos) < 0)
		return bad_line(a, "position out of sequence", err);
	t = json_integer_value(type);
	strbuf_reset(&a->bytes);
	if (payload && !json_is_null(payload)) {
		if (!json_is_string(payload) ||
		    !b64_decode(json_string_value(payload), json_string_length(payload), &a->bytes))
			return bad_line(a, "payload is not base64", err);
	}
	if (t == 2)
		return a->bytes.len ? a->write(a->cookie, a->bytes.buf, a->bytes.len, err) : 0;
	if (t != 1)
		return bad_line(a, "unknown type", err);

	size = json_object_get(j, "size");
	name = json_object_get(j, "name");
	name_raw = json_object_get(j, "name_raw");
	json_int_t sz = 0;
	if (size) {
		if (!json_is_integer(size) || json_integer_value(size) < 0)
			return bad_line(a, "invalid size", err);
		sz = json_integer_value(size);
	}
	strbuf_reset(&a->name);
	if (name && json_is_string(name) && json_string_length(name)) {
		strbuf_add(&a->name, json_string_value(name), json_string_length(name));
	} else if (name_raw && json_is_string(name_raw)) {
		if (!b64_decode(json_string_value(name_raw), json_string_length(name_raw), &a->name))
			return bad_line(a, "name_raw is not base64", err);
	} else if (name && !json_is_string(name)) {
		return bad_line(a, "invalid name", err);
	}
	if (memchr(a->name.buf, 0, a->name.len))
		return bad_line(a, "NUL in name", err);
	if (sz == 0)
		return 0; /* tar-split stores no data for empty members */
	if (a->bytes.len != 8)
		return bad_line(a, "file checksum is not 8 bytes", err);
	return copy_member(a, a->name.buf, (uint64_t)sz, (const unsigned char *)a->bytes.buf, err);
}

int tarsplit_assemble(int tarsplit_fd, tarsplit_open_fn open_file, stream_write_fn write,
		      void *cookie, struct strata_error **err)
{
	struct decomp_reader *d = decomp_reader_new(compress_fd_read, &tarsplit_fd, 0);
	struct assembler a = { open_file, write, cookie, xmalloc(COPY_BUF) };
	struct strbuf line = STRBUF_INIT;
	char *buf = xmalloc(64u << 10);
	enum compress_kind kind;
	int rc;
	bool eof = false;

	strbuf_init(&a.bytes, 0);
	strbuf_init(&a.name, 0);
	rc = decomp_reader_detect(d, &kind, err);
	if (rc < 0)
		goto out;
	if (kind != COMPRESS_GZIP) {
		rc = strata_error_set(err, STRATA_ERR_CORRUPT, 0, "tar-split: gzip: invalid header");
		goto out;
	}
	while (!eof) {
		ssize_t n = decomp_reader_read(d, buf, 64u << 10, err);
		size_t start = 0;

		if (n < 0) {
			rc = (int)n;
			goto out;
		}
		if (n == 0)
			eof = true;
		for (size_t i = 0; i <= (size_t)n; i++) {
			bool end = i == (size_t)n;
			if (!end && buf[i] != '\n')
				continue;
			if (line.len + (i - start) > TARSPLIT_MAX_LINE) {
				rc = strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
						      "tar-split: entry %llu: line longer than %u bytes",
						      (unsigned long long)a.pos, TARSPLIT_MAX_LINE);
				goto out;
			}
			strbuf_add(&line, buf + start, i - start);
			start = i + 1;
			if (end && !eof)
				break; /* the line continues in the next chunk */
			/* Blank lines carry nothing, as for a JSON decoder. */
			size_t k = 0;
			while (k < line.len && (line.buf[k] == ' ' || line.buf[k] == '\t' ||
						line.buf[k] == '\r'))
				k++;
			if (k < line.len) {
				if (a.pos >= TARSPLIT_MAX_ENTRIES) {
					rc = strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
							      "tar-split: more than %u entries",
							      TARSPLIT_MAX_ENTRIES);
					goto out;
				}
				rc = do_line(&a, line.buf, line.len, err);
				if (rc < 0)
					goto out;
				a.pos++;
			}
			strbuf_reset(&line);
		}
	}
	rc = 0;
out:
	free(buf);
	free(a.copy);
	strbuf_release(&a.bytes);
	strbuf_release(&a.name);
	strbuf_release(&line);
	decomp_reader_free(d);
	return rc;
}

struct hash_sink {
	struct sha256_ctx ctx;
	uint64_t size;
	tarsplit_open_fn open_file;
	void *cookie;
};

static int hash_write(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	struct hash_sink *h = cookie;

	sha256_update(&h->ctx, data, len);
	h->size += len;
	return 0;
}

static int hash_open(void *cookie, const char *name, uint64_t size, struct strata_error **err)
{
	struct hash_sink *h = cookie;

	return h->open_file(h->cookie, name, size, err);
}

int tarsplit_assemble_sha256(int tarsplit_fd, tarsplit_open_fn open_file, void *cookie,
			     char hex[STRATA_HEX_LEN + 1], uint64_t *size,
			     struct strata_error **err)
{
	struct hash_sink h = { .open_file = open_file, .cookie = cookie };
	int ret;

	sha256_init(&h.ctx);
	ret = tarsplit_assemble(tarsplit_fd, hash_open, hash_write, &h, err);
	if (ret < 0) {
		sha256_release(&h.ctx);
		return ret;
	}
	sha256_final_hex(&h.ctx, hex);
	if (size)
		*size = h.size;
	return 0;
}
