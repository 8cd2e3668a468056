/*
 * A layer as the analysis needs it: every tar member reduced to its kind,
 * cleaned path, link target, size and CRC-64, read from tar-split alone.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze-private.h"
#include "analyze/scan.h"
#include "compress/compress.h"
#include "tar/tar.h"
#include "tarsplit/tarsplit.h"
#include "util/alloc.h"

#define WH ".wh."
#define WH_META ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"

/*
 * Append name to the arena as Go's filepath.Clean of "/" + name without
 * the leading '/' (what dockerd's applier uses): empty and "." parts are
 * dropped, ".." removes the part before it and stops at the root.
 */
static void clean_path(struct strbuf *sb, const char *name, size_t len)
{
	size_t start = sb->len, i = 0;

	while (i < len) {
		size_t j = i;
		while (j < len && name[j] != '/')
			j++;
		size_t n = j - i;
		if (n == 0 || (n == 1 && name[i] == '.')) {
			/* nothing */
		} else if (n == 2 && name[i] == '.' && name[i + 1] == '.') {
			size_t k = sb->len;
			while (k > start && sb->buf[k - 1] != '/')
				k--;
			strbuf_setlen(sb, k > start ? k - 1 : start);
		} else {
			if (sb->len > start)
				strbuf_addch(sb, '/');
			strbuf_add(sb, name + i, n);
		}
		i = j + 1;
	}
}

static int arena_off(struct alayer *l, size_t off, uint32_t *out, struct strata_error **err)
{
	if (off > UINT32_MAX || l->arena.len > UINT32_MAX)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "more than 4 GiB of names in one layer");
	*out = (uint32_t)off;
	return 0;
}

int alayer_add(struct alayer *l, const char *name, char typeflag, const char *link, size_t link_len,
	       uint64_t size, uint64_t crc, struct strata_error **err)
{
	struct rec r = { .hidden_by = -1, .replacer = REC_NONE, .inode = REC_NONE };
	size_t off, base;
	const char *b;
	int rc;

	switch (typeflag) {
	case TAR_XGLOBAL:
		return 0;
	case TAR_REG: case TAR_CONT: r.kind = REC_REG; r.size = size; r.crc = crc; break;
	case TAR_LINK: r.kind = REC_LINK; break;
	case TAR_SYMLINK: r.kind = REC_SYMLINK; break;
	case TAR_DIR: r.kind = REC_DIR; break;
	default: r.kind = REC_OTHER; break;
	}
	/* a '/' before each path makes it the absolute path the output shows */
	strbuf_addch(&l->arena, '/');
	off = l->arena.len;
	clean_path(&l->arena, name, strlen(name));
	if (l->arena.len == off) {
		strbuf_setlen(&l->arena, off - 1);
		return 0; /* the root directory: not a path entry */
	}
	for (base = l->arena.len; base > off && l->arena.buf[base - 1] != '/'; base--)
		;
	b = l->arena.buf + base;
	/* Whiteouts are told by name whatever their type (dockerd writes them as files). */
	if (!strncmp(b, WH, strlen(WH))) {
		size_t blen = l->arena.len - base;
		if (blen == strlen(WH_OPAQUE) && !memcmp(b, WH_OPAQUE, blen)) {
			r.kind = REC_OPAQUE;
			strbuf_setlen(&l->arena, base > off ? base - 1 : off);
		} else if (!strncmp(b, WH_META, strlen(WH_META)) || blen == strlen(WH)) {
			r.kind = REC_WHMETA;
		} else {
			memmove(l->arena.buf + base, b + strlen(WH), blen - strlen(WH));
			strbuf_setlen(&l->arena, l->arena.len - strlen(WH));
		}
		if (r.kind != REC_OPAQUE && r.kind != REC_WHMETA)
			r.kind = REC_WHITEOUT;
		r.size = r.crc = 0;
	}
	if ((rc = arena_off(l, off, &r.path_off, err)) < 0)
		return rc;
	r.path_len = (uint32_t)(l->arena.len - off);
	strbuf_addch(&l->arena, '\0');
	if (r.kind == REC_LINK || r.kind == REC_SYMLINK) {
		off = l->arena.len;
		if (r.kind == REC_LINK)
			clean_path(&l->arena, link, link_len);
		else
			strbuf_add(&l->arena, link, link_len);
		if ((rc = arena_off(l, off, &r.link_off, err)) < 0)
			return rc;
		r.link_len = (uint32_t)(l->arena.len - off);
		strbuf_addch(&l->arena, '\0');
		if (r.kind == REC_SYMLINK)
			r.size = r.link_len;
	}
	if (l->nr == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 256;
		l->recs = xrealloc(l->recs, l->alloc * sizeof(*l->recs));
	}
	l->recs[l->nr++] = r;
	return 0;
}

void alayer_release(struct alayer *l)
{
	strbuf_release(&l->arena);
	free(l->recs);
	free(l->inodes);
	strata_error_free(l->err);
}

/*
 * The scanner reads tar-split lines itself instead of through a JSON
 * library and the tar reader: per member it needs only the name (on the
 * member line), size and CRC-64 (same line), and the type and link target
 * (in the header blocks of the raw segments before it).  Every line is
 * still checked (JSON shape, position sequence, base64, header checksums,
 * block alignment), so a damaged file fails instead of giving a wrong
 * analysis.
 */
#define READ_CHUNK (256u << 10)

struct fscan {
	struct alayer *l;
	struct decomp_reader *d;
	char *buf;
	size_t len, start, cap;
	bool eof;
	struct strbuf seg;  /* raw bytes since the last member line */
	struct strbuf name, link, tmp;
	struct strbuf hname; /* the name the header itself gives */
	uint64_t pos;       /* lines decoded */
	size_t pad;         /* padding that ends the previous member's data */
};

struct jstr {
	const char *p;
	size_t len;
	bool escaped, present, null;
};

struct jline {
	int64_t type, size, position;
	bool has_type, has_size, has_position;
	struct jstr name, name_raw, payload;
};

static int corrupt(struct fscan *s, const char *why, struct strata_error **err)
{
	return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "tar-split: entry %llu: %s",
				(unsigned long long)s->pos, why);
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

/*
 * A JSON string at p (at its quote): its raw span, whether it holds
 * escapes.  memchr finds the end: payloads are long and escape-free.
 */
static const char *json_string_span(const char *p, const char *end, struct jstr *out)
{
	const char *q = ++p;

	out->escaped = false;
	for (;;) {
		const char *quote = memchr(q, '"', (size_t)(end - q));
		const char *bs;

		if (!quote)
			return NULL;
		bs = memchr(q, '\\', (size_t)(quote - q));
		if (!bs) {
			q = quote;
			break;
		}
		/* an escape before the quote: step over it and look again */
		out->escaped = true;
		q = bs + 2;
		if (q > end)
			return NULL;
	}
	out->p = p;
	out->len = (size_t)(q - p);
	out->present = true;
	return q + 1;
}

static const char *json_int(const char *p, const char *end, int64_t *out)
{
	bool neg = p < end && *p == '-';
	uint64_t v = 0;
	const char *d = p + neg;

	if (d == end || *d < '0' || *d > '9' || (*d == '0' && d + 1 < end && d[1] >= '0' && d[1] <= '9'))
		return NULL;
	for (; d < end && *d >= '0' && *d <= '9'; d++) {
		if (v > (uint64_t)INT64_MAX / 10)
			return NULL;
		v = v * 10 + (uint64_t)(*d - '0');
	}
	if (d < end && (*d == '.' || *d == 'e' || *d == 'E') )
		return NULL; /* not an integer */
	if (v > (uint64_t)INT64_MAX)
		return NULL;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return d;
}

/* One line as a flat JSON object; unknown keys are skipped if their values are scalars. */
static bool parse_line(const char *p, const char *end, struct jline *j)
{
	*j = (struct jline){ 0 };
	p = skip_ws(p, end);
	if (p == end || *p++ != '{')
		return false;
	p = skip_ws(p, end);
	if (p < end && *p == '}')
		return skip_ws(p + 1, end) == end;
	for (;;) {
		struct jstr key = { 0 }, str = { 0 };
		int64_t num = 0;
		bool is_num = false, is_null = false;

		if (p == end || *p != '"' || !(p = json_string_span(p, end, &key)) || key.escaped)
			return false;
		p = skip_ws(p, end);
		if (p == end || *p++ != ':')
			return false;
		p = skip_ws(p, end);
		if (p == end)
			return false;
		if (*p == '"') {
			if (!(p = json_string_span(p, end, &str)))
				return false;
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			if (!(p = json_int(p, end, &num)))
				return false;
			is_num = true;
		} else if (end - p >= 4 && !memcmp(p, "null", 4)) {
			p += 4;
			is_null = true;
		} else if (end - p >= 4 && !memcmp(p, "true", 4)) {
			p += 4;
		} else if (end - p >= 5 && !memcmp(p, "false", 5)) {
			p += 5;
		} else {
			return false;
		}
#define KEY(k) (key.len == strlen(k) && !memcmp(key.p, k, key.len))
		if (KEY("type")) {
			if (!is_num)
				return false;
			j->type = num;
			j->has_type = true;
		} else if (KEY("size")) {
			if (!is_num)
				return false;
			j->size = num;
			j->has_size = true;
		} else if (KEY("position")) {
			if (!is_num)
				return false;
			j->position = num;
			j->has_position = true;
		} else if (KEY("name") || KEY("name_raw") || KEY("payload")) {
			struct jstr *t = KEY("name") ? &j->name : KEY("name_raw") ? &j->name_raw : &j->payload;
			if (!str.present && !is_null)
				return false;
			*t = str;
			t->present = true;
			t->null = is_null;
		}
#undef KEY
		p = skip_ws(p, end);
		if (p < end && *p == ',') {
			p = skip_ws(p + 1, end);
			continue;
		}
		return p < end && *p == '}' && skip_ws(p + 1, end) == end;
	}
}

/* Four hex digits into *out (a JSON \\u escape); false when they are not. */
static bool hex4(const char *p, int *out)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return false;
	}
	*out = v;
	return true;
}

static void add_utf8(struct strbuf *sb, uint32_t r)
{
	if (r < 0x80) {
		strbuf_addch(sb, (int)r);
	} else if (r < 0x800) {
		strbuf_addch(sb, (int)(0xc0 | r >> 6));
		strbuf_addch(sb, (int)(0x80 | (r & 0x3f)));
	} else if (r < 0x10000) {
		strbuf_addch(sb, (int)(0xe0 | r >> 12));
		strbuf_addch(sb, (int)(0x80 | (r >> 6 & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | (r & 0x3f)));
	} else {
		strbuf_addch(sb, (int)(0xf0 | r >> 18));
		strbuf_addch(sb, (int)(0x80 | (r >> 12 & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | (r >> 6 & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | (r & 0x3f)));
	}
}

/* The string's value into sb (replacing it); lone surrogates become U+FFFD as in Go. */
static bool json_unescape(const struct jstr *s, struct strbuf *sb)
{
	const char *p = s->p, *end = s->p + s->len;

	strbuf_reset(sb);
	if (!s->escaped) {
		strbuf_add(sb, p, s->len);
		return true;
	}
	while (p < end) {
		const char *bs = memchr(p, '\\', (size_t)(end - p));
		if (!bs) {
			strbuf_add(sb, p, (size_t)(end - p));
			break;
		}
		strbuf_add(sb, p, (size_t)(bs - p));
		p = bs + 1;
		switch (*p++) {
		case '"': strbuf_addch(sb, '"'); break;
		case '\\': strbuf_addch(sb, '\\'); break;
		case '/': strbuf_addch(sb, '/'); break;
		case 'b': strbuf_addch(sb, '\b'); break;
		case 'f': strbuf_addch(sb, '\f'); break;
		case 'n': strbuf_addch(sb, '\n'); break;
		case 'r': strbuf_addch(sb, '\r'); break;
		case 't': strbuf_addch(sb, '\t'); break;
		case 'u': {
			int hi, lo;

			if (end - p < 4 || !hex4(p, &hi))
				return false;
			p += 4;
			uint32_t r = (uint32_t)hi;
			if (hi >= 0xd800 && hi < 0xdc00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
				if (hex4(p + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
					r = 0x10000 + ((uint32_t)(hi - 0xd800) << 10) + (uint32_t)(lo - 0xdc00);
					p += 6;
				}
			}
			if (r >= 0xd800 && r < 0xe000)
				r = 0xfffd;
			if (!r)
				return false; /* a NUL cannot be in a tar name */
			add_utf8(sb, r);
			break;
		}
		default:
			return false;
		}
	}
	return true;
}

static const signed char b64_value[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,
	['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
	['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
	['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
	['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
	['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
	['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
	['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
}; /* value + 1; 0 = not a base64 digit */

/* Append padded standard base64 (Go's StdEncoding, as encoding/json writes []byte). */
static bool b64_append(const char *s, size_t n, struct strbuf *out)
{
	const unsigned char *q = (const unsigned char *)s;
	unsigned char *o;
	size_t full;
	int bad = 0;

	if (n % 4)
		return false;
	if (!n)
		return true;
	strbuf_grow(out, n / 4 * 3);
	o = (unsigned char *)out->buf + out->len;
	/* every quad but the last has no padding: no branch inside */
	full = n / 4 - 1;
	for (size_t i = 0; i < full; i++, q += 4) {
		int a = b64_value[q[0]] - 1, b = b64_value[q[1]] - 1, c = b64_value[q[2]] - 1, d = b64_value[q[3]] - 1;
		bad |= a | b | c | d;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		o[0] = (unsigned char)(v >> 16);
		o[1] = (unsigned char)(v >> 8);
		o[2] = (unsigned char)v;
		o += 3;
	}
	if (bad < 0)
		return false;
	int a = b64_value[q[0]] - 1, b = b64_value[q[1]] - 1;
	if (a < 0 || b < 0)
		return false;
	*o++ = (unsigned char)(a << 2 | b >> 4);
	if (q[2] != '=' || q[3] != '=') {
		int c = b64_value[q[2]] - 1;
		if (c < 0)
			return false;
		*o++ = (unsigned char)(b << 4 | c >> 2);
		if (q[3] != '=') {
			int d = b64_value[q[3]] - 1;
			if (d < 0)
				return false;
			*o++ = (unsigned char)(c << 6 | d);
		}
	}
	strbuf_setlen(out, (size_t)((char *)o - out->buf));
	return true;
}

/* A tar number field: octal (spaces/NULs around it) or base-256. */
/* A header's size field, as the tar reader parses it; negative is malformed. */
static bool tar_number(const unsigned char *f, size_t n, uint64_t *out)
{
	int64_t v;

	if (!tar_parse_number(f, n, &v) || v < 0)
		return false;
	*out = (uint64_t)v;
	return true;
}


static size_t field_len(const unsigned char *f, size_t max)
{
	const unsigned char *z = memchr(f, 0, max);
	return z ? (size_t)(z - f) : max;
}

/* What a PAX extended header overrides: path, linkpath, size. */
struct pax_over {
	bool path, link, size;
	uint64_t size_value;
};

/* Parse a PAX extended header's records ("LEN key=value\n"...). */
static bool pax_records(const unsigned char *d, size_t n, struct strbuf *path, struct strbuf *link,
			struct pax_over *over)
{
	size_t i = 0;

	while (i < n) {
		uint64_t len = 0;
		size_t j = i;

		while (j < n && d[j] >= '0' && d[j] <= '9' && len < n)
			len = len * 10 + (uint64_t)(d[j++] - '0');
		if (j == i || j >= n || d[j] != ' ' || len > n - i || len < j - i + 3 || d[i + len - 1] != '\n')
			return false;
		const unsigned char *kv = d + j + 1, *rec_end = d + i + len - 1;
		const unsigned char *eq = memchr(kv, '=', (size_t)(rec_end - kv));
		if (!eq)
			return false;
		size_t klen = (size_t)(eq - kv), vlen = (size_t)(rec_end - eq - 1);
		if (klen == 8 && !memcmp(kv, "linkpath", 8)) {
			strbuf_reset(link);
			strbuf_add(link, eq + 1, vlen);
			over->link = true;
		} else if (klen == 4 && !memcmp(kv, "path", 4)) {
			strbuf_reset(path);
			strbuf_add(path, eq + 1, vlen);
			over->path = true;
		} else if (klen == 4 && !memcmp(kv, "size", 4)) {
			uint64_t v = 0;
			if (!vlen)
				return false;
			for (size_t k = 0; k < vlen; k++) {
				if (eq[1 + k] < '0' || eq[1 + k] > '9' || v > UINT64_MAX / 10 - 1)
					return false;
				v = v * 10 + (uint64_t)(eq[1 + k] - '0');
			}
			over->size = true;
			over->size_value = v;
		}
		i += len;
	}
	return true;
}

/* Go's header-only types: no data follows, whatever size the header claims. */
static bool header_only(char tf)
{
	return tf == TAR_LINK || tf == TAR_SYMLINK || tf == TAR_CHR || tf == TAR_BLK || tf == TAR_DIR ||
	       tf == TAR_FIFO;
}

static size_t padding_of(uint64_t size)
{
	return (size_t)((TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK);
}

/*
 * What follows the last member's padding is the archive's end: extension
 * headers that no member follows (Go's reader drops them at the end), then
 * a zero block; whatever comes after it, tar-split keeps and Go ignores.
 * A regular header there means a member line is missing.
 */
static int check_end(struct fscan *s, struct strata_error **err)
{
	const unsigned char *seg = (const unsigned char *)s->seg.buf;
	size_t n = s->seg.len, off = s->pad;

	while (off + TAR_BLOCK <= n) {
		const unsigned char *b = seg + off;
		uint64_t size;
		char tf = (char)b[156];
		bool zero = true;

		for (size_t i = 0; i < TAR_BLOCK && zero; i++)
			zero = !b[i];
		if (zero)
			return 0;
		if (!strchr("xgLK", tf) || !tf || !tar_checksum_ok(b) || !tar_number(b + 124, 12, &size))
			return corrupt(s, "tar header without a member entry", err);
		off += TAR_BLOCK + (size_t)(size + padding_of(size));
	}
	for (; off < n; off++)
		if (seg[off])
			return corrupt(s, "tar header without a member entry", err);
	return 0;
}

/*
 * The member's header in the raw bytes since the previous member: the
 * previous member's padding, then extension headers with their
 * data, then the header itself.  Sets the type and link target.  A global
 * header is a member of its own whose data ends the segment unpadded (its
 * padding opens the next one), as tar-split records it.
 */
static int parse_header(struct fscan *s, char *typeflag, uint64_t *hsize, struct strata_error **err)
{
	const unsigned char *seg = (const unsigned char *)s->seg.buf;
	size_t n = s->seg.len, off = s->pad;
	struct pax_over over = { 0 };
	bool have_link = false, have_name = false;

	/* the padding's bytes are not looked at: Go's reader skips them whatever they hold */
	if (off > n)
		return corrupt(s, "member entry without a tar header", err);
	while (off + TAR_BLOCK <= n) {
		const unsigned char *b = seg + off;
		uint64_t size;
		char tf = (char)b[156];

		if (!tar_checksum_ok(b))
			return corrupt(s, "tar header checksum mismatch", err);
		if (!tar_number(b + 124, 12, &size))
			return corrupt(s, "invalid size in tar header", err);
		off += TAR_BLOCK;
		if (tf == 'g' && size == n - off) {
			*typeflag = TAR_XGLOBAL;
			s->pad = padding_of(size);
			return 0;
		}
		if (tf == 'x' || tf == 'g' || tf == 'L' || tf == 'K') {
			uint64_t padded = size + padding_of(size);
			if (padded > n - off)
				return corrupt(s, "extension header data missing", err);
			if (tf == 'x' && !pax_records(seg + off, (size_t)size, &s->hname, &s->link, &over))
				return corrupt(s, "invalid PAX record", err);
			have_link |= over.link;
			have_name |= over.path;
			if (tf == 'K' || tf == 'L') {
				struct strbuf *dst = tf == 'K' ? &s->link : &s->hname;
				strbuf_reset(dst);
				strbuf_add(dst, seg + off, field_len(seg + off, (size_t)size));
				*(tf == 'K' ? &have_link : &have_name) = true;
			}
			off += (size_t)padded;
			continue;
		}
		if (off != n)
			return corrupt(s, "tar header without a member entry", err);
		if (!have_link) {
			strbuf_reset(&s->link);
			strbuf_add(&s->link, b + 157, field_len(b + 157, 100));
		}
		if (!have_name) {
			/* POSIX ustar splits long names into prefix/name; GNU and v7 have no prefix */
			strbuf_reset(&s->hname);
			if (!memcmp(b + 257, "ustar\0", 6) && b[345]) {
				strbuf_add(&s->hname, b + 345, field_len(b + 345, 155));
				strbuf_addch(&s->hname, '/');
			}
			strbuf_add(&s->hname, b, field_len(b, 100));
		}
		*hsize = over.size ? over.size_value : size;
		*typeflag = tf;
		return 0;
	}
	return corrupt(s, "member entry without a tar header", err);
}

static int member_line(struct fscan *s, const struct jline *j, struct strata_error **err)
{
	uint64_t crc = 0;
	uint64_t hsize = 0;
	char tf = 0;
	int rc;

	if (j->has_size && j->size < 0)
		return corrupt(s, "invalid size", err);
	if (j->name_raw.present && !j->name_raw.null) {
		strbuf_reset(&s->tmp);
		if (!json_unescape(&j->name_raw, &s->tmp))
			return corrupt(s, "invalid name_raw", err);
		strbuf_reset(&s->name);
		if (!b64_append(s->tmp.buf, s->tmp.len, &s->name))
			return corrupt(s, "name_raw is not base64", err);
	} else if (j->name.present && !j->name.null) {
		if (!json_unescape(&j->name, &s->name))
			return corrupt(s, "invalid name", err);
	} else {
		strbuf_reset(&s->name); /* tar-split omits an empty name (omitempty) */
	}
	if (memchr(s->name.buf, 0, s->name.len))
		return corrupt(s, "NUL byte in a name", err);
	if (j->has_size && j->size > 0) {
		strbuf_reset(&s->tmp);
		if (!j->payload.present || j->payload.null || j->payload.escaped ||
		    !b64_append(j->payload.p, j->payload.len, &s->tmp) || s->tmp.len != 8)
			return corrupt(s, "file checksum is not 8 bytes", err);
		for (int i = 0; i < 8; i++)
			crc = crc << 8 | (unsigned char)s->tmp.buf[i];
	}
	if ((rc = parse_header(s, &tf, &hsize, err)) < 0)
		return rc;
	/* the member line must say what its header says: a damaged line is caught */
	if (tf != TAR_XGLOBAL && (s->hname.len != s->name.len || memcmp(s->hname.buf, s->name.buf, s->name.len)))
		return corrupt(s, "member name differs from its tar header", err);
	if (tf != TAR_XGLOBAL && hsize != (j->has_size ? (uint64_t)j->size : 0))
		return corrupt(s, "member size differs from its tar header", err);
	strbuf_reset(&s->seg);
	if (tf == '\0') /* V7 and pre-POSIX: a trailing slash makes a directory, as in Go */
		tf = s->name.len && s->name.buf[s->name.len - 1] == '/' ? TAR_DIR : TAR_REG;
	if (tf != TAR_XGLOBAL)
		s->pad = header_only(tf) ? 0 : padding_of(j->has_size ? (uint64_t)j->size : 0);
	return alayer_add(s->l, s->name.buf, tf, s->link.buf, s->link.len, j->has_size ? (uint64_t)j->size : 0,
			  crc, err);
}

static int scan_line(struct fscan *s, const char *p, const char *end, struct strata_error **err)
{
	struct jline j;

	if (skip_ws(p, end) == end)
		return 0; /* blank lines are allowed */
	if (s->pos >= TARSPLIT_MAX_ENTRIES)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "tar-split: more than %u entries",
					TARSPLIT_MAX_ENTRIES);
	if (!parse_line(p, end, &j))
		return corrupt(s, "not a JSON object", err);
	if (!j.has_type || !j.has_position || j.position < 0 || (uint64_t)j.position != s->pos)
		return corrupt(s, "missing or out-of-sequence position", err);
	if (j.type == 2) {
		if (j.payload.present && !j.payload.null) {
			const char *b = j.payload.p;
			size_t n = j.payload.len, skip = 0;
			/*
			 * The previous member's padding opens the segment: its zeros
			 * are "AAAA" quads, checked as text rather than decoded.
			 */
			if (!s->seg.len && s->pad >= 3 && s->pad / 3 * 4 < n) {
				size_t quads = s->pad / 3;
				unsigned char notA = 0;
				for (size_t i = 0; i < quads * 4; i++)
					notA |= (unsigned char)(b[i] ^ 'A');
				if (!notA) {
					skip = quads * 4;
					strbuf_addchars(&s->seg, 0, quads * 3);
				}
			}
			if (j.payload.escaped || !b64_append(b + skip, n - skip, &s->seg))
				return corrupt(s, "payload is not base64", err);
			if (s->seg.len > TARSPLIT_MAX_LINE + TAR_MAX_EXT_CHAIN)
				return corrupt(s, "raw segment too large", err);
		}
	} else if (j.type == 1) {
		int rc = member_line(s, &j, err);
		if (rc < 0)
			return rc;
	} else {
		return corrupt(s, "unknown type", err);
	}
	s->pos++;
	return 0;
}

int analyze_scan_layer(int fd, struct alayer *l, struct strata_error **err)
{
	struct fscan s = { .l = l, .d = decomp_reader_new(compress_fd_read, &fd, 0) };
	enum compress_kind kind;
	int rc;

	strbuf_init(&s.seg, 0);
	strbuf_init(&s.name, 0);
	strbuf_init(&s.link, 0);
	strbuf_init(&s.tmp, 0);
	strbuf_init(&s.hname, 0);
	s.cap = READ_CHUNK * 2;
	s.buf = xmalloc(s.cap);
	rc = decomp_reader_detect(s.d, &kind, err);
	if (rc == 0 && kind != COMPRESS_GZIP)
		rc = strata_error_set(err, STRATA_ERR_CORRUPT, 0, "tar-split: gzip: invalid header");
	while (rc == 0) {
		char *nl = memchr(s.buf + s.start, '\n', s.len - s.start);

		if (nl) {
			rc = scan_line(&s, s.buf + s.start, nl, err);
			s.start = (size_t)(nl - s.buf) + 1;
			continue;
		}
		if (s.eof) {
			if (s.start < s.len)
				rc = scan_line(&s, s.buf + s.start, s.buf + s.len, err);
			break;
		}
		/* keep the partial line, read more behind it */
		memmove(s.buf, s.buf + s.start, s.len - s.start);
		s.len -= s.start;
		s.start = 0;
		if (s.len > TARSPLIT_MAX_LINE) {
			rc = strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
					      "tar-split: entry %llu: line longer than %u bytes",
					      (unsigned long long)s.pos, TARSPLIT_MAX_LINE);
			break;
		}
		if (s.cap - s.len < READ_CHUNK) {
			s.cap = s.len + READ_CHUNK;
			s.buf = xrealloc(s.buf, s.cap);
		}
		ssize_t got = decomp_reader_read(s.d, s.buf + s.len, READ_CHUNK, err);
		if (got < 0) {
			rc = (int)got;
			break;
		}
		s.len += (size_t)got;
		s.eof = got == 0;
	}
	if (rc == 0)
		rc = check_end(&s, err);
	free(s.buf);
	strbuf_release(&s.seg);
	strbuf_release(&s.name);
	strbuf_release(&s.link);
	strbuf_release(&s.tmp);
	strbuf_release(&s.hname);
	decomp_reader_free(s.d);
	return rc;
}

int analyze_tarsplit_check(int fd, struct strata_error **err)
{
	struct alayer l = { .arena = STRBUF_INIT };
	int ret = analyze_scan_layer(fd, &l, err);

	alayer_release(&l);
	return ret;
}
