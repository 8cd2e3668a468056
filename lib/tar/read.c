/*
 * Streaming tar reader.  Follows Go's archive/tar as vendored by tar-split
 * (the reader Docker records layers with) so that the raw bytes it hands to
 * the raw sink segment exactly like `tar-split disasm`.  Memory stays bounded:
 * input goes through one fixed buffer, extension data is capped.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tar/tar.h"
#include "util/alloc.h"
#include "util/strbuf.h"

#define RBUF_SIZE (64u << 10)

struct tar_reader {
	stream_read_fn read;
	void *cookie;
	stream_write_fn raw;
	void *raw_cookie;
	stream_write_fn data;
	void *data_cookie;

	unsigned char *buf; /* RBUF_SIZE bytes of read-ahead */
	size_t pos, len;
	bool eof;

	uint64_t data_left; /* unread data bytes of the current member */
	uint32_t pad;       /* zero padding after them */
	uint64_t hdr_size;
	bool ended;

	unsigned char blk[TAR_BLOCK];
	struct tar_entry entry;
	struct strbuf name, linkname, uname, gname;
	struct strbuf pax;      /* data of the pending 'x' header */
	struct strbuf longname; /* pending GNU 'L' */
	struct strbuf longlink; /* pending GNU 'K' */
	bool have_pax, have_longname, have_longlink;
	struct strbuf xattr_buf; /* names and values of entry.xattrs, NUL separated */
	size_t xattr_alloc;
};

struct tar_reader *tar_reader_new(stream_read_fn read, void *cookie)
{
	struct tar_reader *r = xcalloc(1, sizeof(*r));

	r->read = read;
	r->cookie = cookie;
	r->buf = xmalloc(RBUF_SIZE);
	strbuf_init(&r->name, 0);
	strbuf_init(&r->linkname, 0);
	strbuf_init(&r->uname, 0);
	strbuf_init(&r->gname, 0);
	strbuf_init(&r->pax, 0);
	strbuf_init(&r->longname, 0);
	strbuf_init(&r->longlink, 0);
	strbuf_init(&r->xattr_buf, 0);
	return r;
}

void tar_reader_free(struct tar_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	strbuf_release(&r->name);
	strbuf_release(&r->linkname);
	strbuf_release(&r->uname);
	strbuf_release(&r->gname);
	strbuf_release(&r->pax);
	strbuf_release(&r->longname);
	strbuf_release(&r->longlink);
	strbuf_release(&r->xattr_buf);
	free(r->entry.xattrs);
	free(r);
}

void tar_reader_set_raw_sink(struct tar_reader *r, stream_write_fn raw, void *cookie)
{
	r->raw = raw;
	r->raw_cookie = cookie;
}

void tar_reader_set_data_sink(struct tar_reader *r, stream_write_fn data, void *cookie)
{
	r->data = data;
	r->data_cookie = cookie;
}

uint64_t tar_reader_header_size(const struct tar_reader *r)
{
	return r->hdr_size;
}

/* Make at least want (<= RBUF_SIZE) bytes available unless input ends first. */
static int fill(struct tar_reader *r, size_t want, struct strata_error **err)
{
	if (r->len - r->pos >= want)
		return 0;
	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	while (r->len < want && !r->eof) {
		ssize_t n = r->read(r->cookie, r->buf + r->len, RBUF_SIZE - r->len, err);
		if (n < 0)
			return (int)n;
		if (n == 0)
			r->eof = true;
		r->len += (size_t)n;
	}
	return 0;
}

static inline size_t avail(const struct tar_reader *r) { return r->len - r->pos; }

static int emit_raw(struct tar_reader *r, const void *p, size_t n, struct strata_error **err)
{
	int ret;

	if (!r->raw || !n)
		return 0;
	ret = r->raw(r->raw_cookie, p, n, err);
	return ret < 0 ? ret : 0;
}

/* Consume n buffered bytes as raw (non-data) bytes. */
static int take_raw(struct tar_reader *r, size_t n, struct strata_error **err)
{
	int rc = emit_raw(r, r->buf + r->pos, n, err);
	r->pos += n;
	return rc;
}

/*
 * Read exactly one block into r->blk.  Returns 1 when read, 0 at a clean
 * end of input (nothing read), < 0 when input ends inside the block.
 */
static int read_block(struct tar_reader *r, const char *what, struct strata_error **err)
{
	int ret = fill(r, TAR_BLOCK, err);

	if (ret < 0)
		return ret;
	if (avail(r) == 0)
		return 0;
	if (avail(r) < TAR_BLOCK)
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
					"tar: truncated archive: input ends inside %s", what);
	memcpy(r->blk, r->buf + r->pos, TAR_BLOCK);
	ret = take_raw(r, TAR_BLOCK, err);
	if (ret < 0)
		return ret;
	return 1;
}

/* Read n bytes of extension data (plus its padding) into sb, all raw. */
static int read_ext_data(struct tar_reader *r, struct strbuf *sb, size_t n, bool with_pad,
			 const char *what, struct strata_error **err)
{
	size_t padded = with_pad ? (n + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK : n;
	size_t done = 0;
	int ret;

	strbuf_reset(sb);
	while (done < padded) {
		size_t chunk;

		ret = fill(r, 1, err);
		if (ret < 0)
			return ret;
		if (avail(r) == 0)
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
						"tar: truncated archive: input ends inside %s", what);
		chunk = avail(r);
		if (chunk > padded - done)
			chunk = padded - done;
		if (done < n)
			strbuf_add(sb, r->buf + r->pos, chunk < n - done ? chunk : n - done);
		ret = take_raw(r, chunk, err);
		if (ret < 0)
			return ret;
		done += chunk;
	}
	return 0;
}

static bool block_is_zero(const unsigned char *b)
{
	for (size_t i = 0; i < TAR_BLOCK; i++)
		if (b[i])
			return false;
	return true;
}

/* C string in a fixed field: up to the first NUL. */
static size_t field_strlen(const unsigned char *f, size_t n)
{
	const unsigned char *z = memchr(f, 0, n);
	return z ? (size_t)(z - f) : n;
}

/*
 * Numeric header field: base-256 (two's complement, first bit set) or
 * octal padded with spaces/NULs.  Returns false on a malformed value.
 */
bool tar_parse_number(const unsigned char *f, size_t n, int64_t *out)
{
	if (n && (f[0] & 0x80)) {
		unsigned char inv = (f[0] & 0x40) ? 0xff : 0;
		uint64_t x = 0;

		for (size_t i = 0; i < n; i++) {
			unsigned char c = f[i] ^ inv;
			if (i == 0)
				c &= 0x7f;
			if (x >> 56)
				return false;
			x = x << 8 | c;
		}
		if (x >> 63)
			return false;
		*out = inv ? (int64_t)~x : (int64_t)x;
		return true;
	}
	size_t b = 0, e = n;
	while (b < e && (f[b] == ' ' || f[b] == 0))
		b++;
	while (e > b && (f[e - 1] == ' ' || f[e - 1] == 0))
		e--;
	if (b == e) {
		*out = 0;
		return true;
	}
	/* Go parses up to the first NUL of what is left; that must be all octal. */
	const unsigned char *z = memchr(f + b, 0, e - b);
	if (z)
		e = (size_t)(z - f);
	uint64_t x = 0;
	if (b == e)
		return false;
	for (size_t i = b; i < e; i++) {
		if (f[i] < '0' || f[i] > '7')
			return false;
		if (x >> 61)
			return false;
		x = x << 3 | (uint64_t)(f[i] - '0');
	}
	*out = (int64_t)x;
	return true;
}

bool tar_checksum_ok(const unsigned char *b)
{
	int64_t want;
	uint64_t usum = 0;
	int64_t ssum = 0;

	if ((b[148] & 0x80) || !tar_parse_number(b + 148, 8, &want))
		return false;
	for (size_t i = 0; i < TAR_BLOCK; i++) {
		unsigned char c = (i >= 148 && i < 156) ? ' ' : b[i];
		usum += c;
		ssum += (signed char)c;
	}
	return want == (int64_t)usum || want == ssum;
}

/* Decimal integer as Go's strconv.ParseInt(s, 10, 64). */
static bool parse_dec(const char *s, size_t n, int64_t *out)
{
	bool neg = false;
	uint64_t x = 0;
	size_t i = 0;

	if (n && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i++;
	}
	if (i == n)
		return false;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (x > (UINT64_MAX - 9) / 10)
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (neg ? x > (uint64_t)INT64_MAX + 1 : x > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? (int64_t)(0 - x) : (int64_t)x;
	return true;
}

/* PAX time "secs[.frac]" into seconds and nanoseconds (Go's parsePAXTime). */
static bool parse_pax_time(const char *s, size_t n, int64_t *sec, uint32_t *nsec)
{
	const char *dot = memchr(s, '.', n);
	size_t sl = dot ? (size_t)(dot - s) : n;
	int64_t ns = 0;

	if (!parse_dec(s, sl, sec))
		return false;
	if (dot) {
		size_t fl = n - sl - 1;
		for (size_t i = 0; i < fl; i++) {
			char c = dot[1 + i];
			if (c < '0' || c > '9')
				return false;
			if (i < 9)
				ns = ns * 10 + (c - '0');
		}
		for (size_t i = fl; i < 9; i++)
			ns *= 10;
		if (fl && s[0] == '-' && ns) {
			/* -1.5 means 1.5 s before the epoch: normalise like time.Unix. */
			*sec -= 1;
			ns = 1000000000 - ns;
		}
	}
	*nsec = (uint32_t)ns;
	return true;
}

typedef int (*pax_record_fn)(struct tar_reader *r, const char *k, size_t kl,
			     const char *v, size_t vl, struct strata_error **err);

/* Walk "%d %s=%s\n" records; validates every one like Go's parsePAXRecord. */
static int pax_walk(struct tar_reader *r, const char *buf, size_t len, pax_record_fn fn,
		    const char *ename, struct strata_error **err)
{
	size_t off = 0, count = 0;
	int ret;

	while (off < len) {
		const char *s = buf + off;
		size_t rest = len - off;
		const char *sp = memchr(s, ' ', rest);
		int64_t n;

		if (++count > TAR_MAX_PAX_RECORDS)
			return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
						"tar: entry %s: more than %d PAX records", ename,
						TAR_MAX_PAX_RECORDS);
		if (!sp || !parse_dec(s, (size_t)(sp - s), &n) || n < 5 || (uint64_t)n > rest ||
		    (size_t)n < (size_t)(sp - s) + 2 || s[n - 1] != '\n')
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
						"tar: entry %s: malformed PAX record", ename);
		const char *rec = sp + 1;
		size_t rl = (size_t)(s + n - 1 - rec);
		const char *eq = memchr(rec, '=', rl);
		if (!eq || eq == rec)
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
						"tar: entry %s: malformed PAX record", ename);
		size_t kl = (size_t)(eq - rec), vl = rl - kl - 1;
		const char *v = eq + 1;
		bool strfield = (kl == 4 && !memcmp(rec, "path", 4)) ||
				(kl == 8 && !memcmp(rec, "linkpath", 8)) ||
				(kl == 5 && (!memcmp(rec, "uname", 5) || !memcmp(rec, "gname", 5)));
		if (strfield ? memchr(v, 0, vl) != NULL : memchr(rec, 0, kl) != NULL)
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
						"tar: entry %s: NUL in PAX record %.*s", ename,
						(int)kl, rec);
		if (fn && (ret = fn(r, rec, kl, v, vl, err)) < 0)
			return ret;
		off += (size_t)n;
	}
	return 0;
}

static int pax_check_sparse(struct tar_reader *r, const char *k, size_t kl, const char *v,
			    size_t vl, struct strata_error **err)
{
	if (kl > 11 && !memcmp(k, "GNU.sparse.", 11))
		return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
					"tar: GNU sparse files are not supported");
	return 0;
}

static bool key_is(const char *k, size_t kl, const char *want)
{
	return kl == strlen(want) && !memcmp(k, want, kl);
}

static void add_xattr(struct tar_reader *r, const char *k, size_t kl, const char *v, size_t vl)
{
	/* Offsets into xattr_buf; turned into pointers once the buffer stops moving. */
	struct tar_entry *e = &r->entry;
	size_t i;

	for (i = 0; i < e->nr_xattrs; i++) {
		size_t off = (size_t)(uintptr_t)e->xattrs[i].name;
		if (strlen(r->xattr_buf.buf + off) == kl && !memcmp(r->xattr_buf.buf + off, k, kl))
			break;
	}
	if (i == e->nr_xattrs) {
		ALLOC_GROW(e->xattrs, e->nr_xattrs + 1, r->xattr_alloc);
		e->nr_xattrs++;
		e->xattrs[i].name = (char *)(uintptr_t)r->xattr_buf.len;
		strbuf_add(&r->xattr_buf, k, kl);
		strbuf_addch(&r->xattr_buf, 0);
	}
	/* A repeated key wins like a Go map assignment; the old value is left behind. */
	e->xattrs[i].value = (char *)(uintptr_t)r->xattr_buf.len;
	e->xattrs[i].len = vl;
	strbuf_add(&r->xattr_buf, v, vl);
	strbuf_addch(&r->xattr_buf, 0);
}

static int pax_apply(struct tar_reader *r, const char *k, size_t kl, const char *v, size_t vl,
		     struct strata_error **err)
{
	struct tar_entry *e = &r->entry;
	int64_t n;
	const char *ename = r->name.buf;

	if (vl == 0)
		return 0; /* Go keeps the ustar value for empty records */
	if (key_is(k, kl, "path")) {
		if (vl > TAR_MAX_NAME)
			return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
						"tar: entry %s: PAX path longer than %u bytes",
						ename, TAR_MAX_NAME);
		strbuf_reset(&r->name);
		strbuf_add(&r->name, v, vl);
	} else if (key_is(k, kl, "linkpath")) {
		if (vl > TAR_MAX_NAME)
			return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
						"tar: entry %s: PAX linkpath longer than %u bytes",
						ename, TAR_MAX_NAME);
		strbuf_reset(&r->linkname);
		strbuf_add(&r->linkname, v, vl);
	} else if (key_is(k, kl, "uname")) {
		strbuf_reset(&r->uname);
		strbuf_add(&r->uname, v, vl);
	} else if (key_is(k, kl, "gname")) {
		strbuf_reset(&r->gname);
		strbuf_add(&r->gname, v, vl);
	} else if (key_is(k, kl, "uid") || key_is(k, kl, "gid")) {
		if (!parse_dec(v, vl, &n))
			goto bad;
		if (k[0] == 'u')
			e->uid = n;
		else
			e->gid = n;
	} else if (key_is(k, kl, "size")) {
		if (!parse_dec(v, vl, &n))
			goto bad;
		if (n < 0)
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
						"tar: entry %s: negative size", ename);
		r->hdr_size = (uint64_t)n;
	} else if (key_is(k, kl, "mtime")) {
		if (!parse_pax_time(v, vl, &e->mtime_sec, &e->mtime_nsec))
			goto bad;
	} else if (key_is(k, kl, "atime") || key_is(k, kl, "ctime")) {
		int64_t s;
		uint32_t ns;
		if (!parse_pax_time(v, vl, &s, &ns))
			goto bad;
	} else if (kl > 13 && !memcmp(k, "SCHILY.xattr.", 13)) {
		add_xattr(r, k + 13, kl - 13, v, vl);
	}
	return 0;
bad:
	return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
				"tar: entry %s: invalid PAX record %.*s=%.*s", ename, (int)kl, k,
				(int)(vl > 64 ? 64 : vl), v);
}

static bool is_ascii_cstr(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80 || !s[i])
			return false;
	return true;
}

/* Fill the entry from the ustar/GNU/v7 fields of r->blk. */
static int parse_header(struct tar_reader *r, struct strata_error **err)
{
	const unsigned char *b = r->blk;
	struct tar_entry *e = &r->entry;
	int64_t mode, uid, gid, size, mtime, dmaj = 0, dmin = 0;
	bool ustar = !memcmp(b + 257, "ustar\0", 6);
	bool star = ustar && !memcmp(b + 508, "tar\0", 4);
	bool gnu = !ustar && !memcmp(b + 257, "ustar ", 6) && !memcmp(b + 263, " \0", 2);
	const unsigned char *prefix = NULL;
	size_t prefix_len = 0;

	strbuf_reset(&r->name);
	strbuf_reset(&r->linkname);
	strbuf_reset(&r->uname);
	strbuf_reset(&r->gname);
	strbuf_add(&r->name, b, field_strlen(b, 100));
	if (!tar_parse_number(b + 124, 12, &size) || !tar_parse_number(b + 100, 8, &mode) ||
	    !tar_parse_number(b + 108, 8, &uid) || !tar_parse_number(b + 116, 8, &gid) ||
	    !tar_parse_number(b + 136, 12, &mtime))
		goto bad;
	if (ustar || gnu) {
		strbuf_add(&r->uname, b + 265, field_strlen(b + 265, 32));
		strbuf_add(&r->gname, b + 297, field_strlen(b + 297, 32));
		if (!tar_parse_number(b + 329, 8, &dmaj) || !tar_parse_number(b + 337, 8, &dmin))
			goto bad;
		if (star) {
			prefix = b + 345;
			prefix_len = field_strlen(prefix, 131);
		} else if (ustar) {
			prefix = b + 345;
			prefix_len = field_strlen(prefix, 155);
		} else {
			/* Old Go wrote a ustar prefix into GNU headers; Go still reads it back. */
			int64_t t;
			bool bad_times = (b[345] && !tar_parse_number(b + 345, 12, &t)) ||
					 (b[357] && !tar_parse_number(b + 357, 12, &t));
			if (bad_times) {
				size_t pl = field_strlen(b + 345, 155);
				if (is_ascii_cstr((const char *)b + 345, pl)) {
					prefix = b + 345;
					prefix_len = pl;
				}
			}
		}
	}
	if (prefix_len) {
		struct strbuf full = STRBUF_INIT;
		strbuf_add(&full, prefix, prefix_len);
		strbuf_addch(&full, '/');
		strbuf_add(&full, r->name.buf, r->name.len);
		strbuf_release(&r->name);
		r->name = full;
	}
	strbuf_add(&r->linkname, b + 157, field_strlen(b + 157, 100));
	if (size < 0)
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "tar: entry %s: negative size",
					r->name.buf);
	e->typeflag = (char)b[156];
	e->mode = (uint32_t)mode & 07777;
	e->header_mode = (uint32_t)mode;
	e->uid = uid;
	e->gid = gid;
	e->mtime_sec = mtime;
	e->mtime_nsec = 0;
	e->devmajor = (uint32_t)dmaj;
	e->devminor = (uint32_t)dmin;
	r->hdr_size = (uint64_t)size;
	return 0;
bad:
	return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
				"tar: entry %.100s: invalid numeric field in header", (const char *)b);
}

static bool header_only(char t)
{
	return t == TAR_LINK || t == TAR_SYMLINK || t == TAR_CHR || t == TAR_BLK ||
	       t == TAR_DIR || t == TAR_FIFO;
}

static void finish_entry(struct tar_reader *r)
{
	struct tar_entry *e = &r->entry;

	for (size_t i = 0; i < e->nr_xattrs; i++) {
		e->xattrs[i].name = r->xattr_buf.buf + (size_t)(uintptr_t)e->xattrs[i].name;
		e->xattrs[i].value = r->xattr_buf.buf + (size_t)(uintptr_t)e->xattrs[i].value;
	}
	e->name = r->name.buf;
	e->linkname = r->linkname.buf;
	e->uname = r->uname.buf;
	e->gname = r->gname.buf;
}

static int skip_padding(struct tar_reader *r, struct strata_error **err)
{
	int ret;

	while (r->pad) {
		ret = fill(r, 1, err);
		if (ret < 0)
			return ret;
		if (avail(r) == 0) {
			/* Go treats input ending inside padding as the end of the archive. */
			r->pad = 0;
			r->ended = true;
			return 0;
		}
		size_t n = avail(r) < r->pad ? avail(r) : r->pad;
		ret = take_raw(r, n, err);
		if (ret < 0)
			return ret;
		r->pad -= (uint32_t)n;
	}
	return 0;
}

int tar_reader_skip_data(struct tar_reader *r, struct strata_error **err)
{
	int ret;

	while (r->data_left) {
		ssize_t n;
		ret = fill(r, 1, err);
		if (ret < 0)
			return ret;
		if (avail(r) == 0)
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
						"tar: entry %s: truncated archive: input ends inside file data",
						r->name.buf);
		n = (ssize_t)(avail(r) < r->data_left ? avail(r) : r->data_left);
		if (r->data && (ret = r->data(r->data_cookie, r->buf + r->pos, (size_t)n, err)) < 0)
			return ret;
		r->pos += (size_t)n;
		r->data_left -= (uint64_t)n;
	}
	return 0;
}

ssize_t tar_reader_read_data(struct tar_reader *r, void *buf, size_t len,
			     struct strata_error **err)
{
	size_t want = len < r->data_left ? len : (size_t)r->data_left;
	size_t n;
	int ret;

	if (!want)
		return 0;
	if (avail(r)) {
		n = avail(r) < want ? avail(r) : want;
		memcpy(buf, r->buf + r->pos, n);
		r->pos += n;
	} else if (want >= RBUF_SIZE / 2 && !r->eof) {
		/* Large reads skip the copy through our buffer. */
		ssize_t got = r->read(r->cookie, buf, want, err);
		if (got < 0)
			return got;
		if (got == 0)
			r->eof = true;
		n = (size_t)got;
	} else {
		ret = fill(r, 1, err);
		if (ret < 0)
			return ret;
		n = avail(r) < want ? avail(r) : want;
		memcpy(buf, r->buf + r->pos, n);
		r->pos += n;
	}
	if (n == 0)
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
					"tar: entry %s: truncated archive: input ends inside file data",
					r->name.buf);
	r->data_left -= n;
	if (r->data && (ret = r->data(r->data_cookie, buf, n, err)) < 0)
		return ret;
	return (ssize_t)n;
}

static int read_ext(struct tar_reader *r, struct strbuf *sb, const char *what,
		    struct strata_error **err)
{
	const char *ename = r->name.buf;
	int ret;

	if (r->hdr_size > TAR_MAX_EXT_DATA)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
					"tar: entry %s: %s of %llu bytes exceeds the %u byte limit",
					ename, what, (unsigned long long)r->hdr_size, TAR_MAX_EXT_DATA);
	/*
	 * A global header is returned as an entry, so Go reads its padding
	 * only with the next header (tar-split records it there).
	 */
	bool global = r->entry.typeflag == 'g';
	ret = read_ext_data(r, sb, (size_t)r->hdr_size, !global, what, err);
	if (ret < 0)
		return ret;
	if (global)
		r->pad = (uint32_t)((TAR_BLOCK - (r->hdr_size % TAR_BLOCK)) % TAR_BLOCK);
	return 0;
}

int tar_reader_next(struct tar_reader *r, const struct tar_entry **entry,
		    struct strata_error **err)
{
	struct tar_entry *e = &r->entry;
	size_t chain = 0;
	int rc;

	*entry = NULL;
	if (r->ended)
		return 0;
	rc = tar_reader_skip_data(r, err);
	if (rc < 0)
		return rc;
	rc = skip_padding(r, err);
	if (rc < 0)
		return rc;
	if (r->ended)
		return 0;
	r->have_pax = r->have_longname = r->have_longlink = false;
	for (;;) {
		rc = read_block(r, "a header", err);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (chain)
				return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
							"tar: truncated archive: input ends after an extension header");
			r->ended = true;
			return 0;
		}
		if (block_is_zero(r->blk)) {
			rc = read_block(r, "the end-of-archive marker", err);
			if (rc < 0)
				return rc;
			if (rc == 1 && !block_is_zero(r->blk))
				return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
							"tar: invalid archive: zero block followed by a header");
			r->ended = true;
			return 0;
		}
		if (!tar_checksum_ok(r->blk))
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
						"tar: entry %.100s: header checksum mismatch",
						(const char *)r->blk);
		chain += TAR_BLOCK;
		free(e->xattrs);
		memset(e, 0, sizeof(*e));
		r->xattr_alloc = 0;
		strbuf_reset(&r->xattr_buf);
		rc = parse_header(r, err);
		if (rc < 0)
			return rc;
		if (e->typeflag == 'x' || e->typeflag == 'g' || e->typeflag == 'L' ||
		    e->typeflag == 'K') {
			struct strbuf *sb = e->typeflag == 'L' ? &r->longname
					    : e->typeflag == 'K' ? &r->longlink
								 : &r->pax;
			const char *what = e->typeflag == 'L'   ? "GNU long name"
					   : e->typeflag == 'K' ? "GNU long link"
								: "PAX header";
			chain += (size_t)r->hdr_size;
			if (chain > TAR_MAX_EXT_CHAIN)
				return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
							"tar: entry %s: extension headers exceed %u bytes",
							r->name.buf, TAR_MAX_EXT_CHAIN);
			rc = read_ext(r, sb, what, err);
			if (rc < 0)
				return rc;
			if (e->typeflag == 'L' || e->typeflag == 'K') {
				size_t l = field_strlen((unsigned char *)sb->buf, sb->len);
				if (l > TAR_MAX_NAME)
					return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
								"tar: entry %s: %s longer than %u bytes",
								r->name.buf, what, TAR_MAX_NAME);
				strbuf_setlen(sb, l);
				if (e->typeflag == 'L')
					r->have_longname = true;
				else
					r->have_longlink = true;
				continue;
			}
			rc = pax_walk(r, r->pax.buf, r->pax.len, pax_check_sparse, r->name.buf, err);
			if (rc < 0)
				return rc;
			if (e->typeflag == 'x') {
				r->have_pax = true;
				continue;
			}
			/* A global header is reported on its own, without a size, as Go does. */
			rc = pax_walk(r, r->pax.buf, r->pax.len, pax_apply, r->name.buf, err);
			if (rc < 0)
				return rc;
			r->hdr_size = 0;
			e->size = 0;
			r->data_left = 0;
			finish_entry(r);
			*entry = e;
			return 1;
		}
		break;
	}

	if (e->typeflag == 'S')
		return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
					"tar: entry %s: GNU sparse files are not supported", r->name.buf);
	if (r->have_pax && (rc = pax_walk(r, r->pax.buf, r->pax.len, pax_apply, r->name.buf, err)) < 0)
		return rc;
	if (r->have_longname) {
		strbuf_reset(&r->name);
		strbuf_add(&r->name, r->longname.buf, r->longname.len);
	}
	if (r->have_longlink) {
		strbuf_reset(&r->linkname);
		strbuf_add(&r->linkname, r->longlink.buf, r->longlink.len);
	}
	if (r->name.len > TAR_MAX_NAME)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
					"tar: entry name longer than %u bytes", TAR_MAX_NAME);
	if (memchr(r->name.buf, 0, r->name.len) || memchr(r->linkname.buf, 0, r->linkname.len))
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "tar: entry %s: NUL in name",
					r->name.buf);
	if (e->typeflag == '\0')
		e->typeflag = (r->name.len && r->name.buf[r->name.len - 1] == '/') ? TAR_DIR : TAR_REG;
	e->size = header_only(e->typeflag) ? 0 : r->hdr_size;
	r->data_left = e->size;
	r->pad = (uint32_t)((TAR_BLOCK - (e->size % TAR_BLOCK)) % TAR_BLOCK);
	finish_entry(r);
	*entry = e;
	return 1;
}

int64_t tar_reader_drain(struct tar_reader *r, struct strata_error **err)
{
	int64_t total = 0;
	int ret;

	if (!r->ended)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"tar: drain called before the end of the archive");
	for (;;) {
		if (avail(r)) {
			total += (int64_t)avail(r);
			ret = take_raw(r, avail(r), err);
			if (ret < 0)
				return ret;
		}
		if (r->eof)
			return total;
		r->pos = r->len = 0;
		ret = fill(r, 1, err);
		if (ret < 0)
			return ret;
	}
}
