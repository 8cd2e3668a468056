/*
 * Tar writer producing the bytes Go's archive/tar writes for USTAR/PAX
 * headers, so archives strata saves match what dockerd saves.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tar/tar.h"
#include "util/alloc.h"
#include "util/strbuf.h"

struct tar_writer {
	stream_write_fn write;
	void *cookie;
	uint64_t data_left; /* bytes the current member still owes */
	uint32_t pad;
	bool finished;
};

static const unsigned char zeros[TAR_BLOCK * 2];

struct tar_writer *tar_writer_new(stream_write_fn write, void *cookie)
{
	struct tar_writer *w = xcalloc(1, sizeof(*w));

	w->write = write;
	w->cookie = cookie;
	return w;
}

void tar_writer_free(struct tar_writer *w)
{
	free(w);
}

/* Go's formatString: copy, NUL-terminate if room, drop a cut trailing '/'. */
static void put_str(unsigned char *f, size_t n, const char *s)
{
	size_t l = strlen(s);

	memcpy(f, s, l < n ? l : n);
	if (l < n)
		f[l] = 0;
	if (l > n && f[n - 1] == '/') {
		size_t k = n;
		while (k > 0 && f[k - 1] == '/')
			k--;
		f[k] = 0;
	}
}

/* Zero-padded octal with a trailing NUL: n-1 digits. */
static void put_oct(unsigned char *f, size_t n, uint64_t v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%0*llo", (int)(n - 1), (unsigned long long)v);
	memcpy(f, tmp, n - 1);
	f[n - 1] = 0;
}

static bool fits_octal(size_t n, int64_t v)
{
	return v >= 0 && (n >= 22 || (uint64_t)v < (1ull << ((n - 1) * 3)));
}

/* Go's formatNumeric: octal when it fits, else base-256. */
static void put_num(unsigned char *f, size_t n, int64_t v)
{
	if (fits_octal(n, v)) {
		put_oct(f, n, (uint64_t)v);
		return;
	}
	for (size_t i = n; i-- > 0;) {
		f[i] = (unsigned char)v;
		v >>= 8;
	}
	f[0] |= 0x80;
}

static void put_checksum(unsigned char *b)
{
	unsigned sum = 0;

	memset(b + 148, ' ', 8);
	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += b[i];
	put_oct(b + 148, 7, sum);
	b[155] = ' ';
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Go's splitUSTARPath. */
static bool split_ustar(const char *name, size_t *prefix_len)
{
	size_t len = strlen(name), l = len;

	if (len <= 100 || !is_ascii(name))
		return false;
	if (l > 156)
		l = 156;
	else if (name[l - 1] == '/')
		l--;
	const char *slash = NULL;
	for (size_t i = l; i-- > 0;)
		if (name[i] == '/') {
			slash = name + i;
			break;
		}
	if (!slash)
		return false;
	size_t i = (size_t)(slash - name), nlen = len - i - 1;
	if (i == 0 || nlen > 100 || nlen == 0 || i > 155)
		return false;
	*prefix_len = i;
	return true;
}

static uint32_t type_bits(char t)
{
	switch (t) {
	case TAR_REG:
	case '\0':
		return 0100000;
	case TAR_DIR:
		return 040000;
	case TAR_SYMLINK:
		return 0120000;
	case TAR_CHR:
		return 020000;
	case TAR_BLK:
		return 060000;
	case TAR_FIFO:
		return 010000;
	default:
		return 0;
	}
}

static void pax_record_n(struct strbuf *sb, const char *k, const char *v, size_t vlen)
{
	size_t body = strlen(k) + vlen + 3, size = body, digits;

	/* The length counts its own digits. */
	for (;;) {
		char tmp[24];
		digits = (size_t)snprintf(tmp, sizeof(tmp), "%zu", size);
		if (body + digits == size)
			break;
		size = body + digits;
	}
	strbuf_addf(sb, "%zu %s=", size, k);
	strbuf_add(sb, v, vlen);
	strbuf_addch(sb, '\n');
}

static void pax_record(struct strbuf *sb, const char *k, const char *v)
{
	pax_record_n(sb, k, v, strlen(v));
}

static int cmp_xattr(const void *a, const void *b)
{
	return strcmp((*(const struct tar_xattr *const *)a)->name, (*(const struct tar_xattr *const *)b)->name);
}

/*
 * The records Go's writer emits for e when USTAR cannot hold it, sorted by
 * key as Go does ("SCHILY.xattr.*" sorts before the lowercase keys).
 * Returns false when e fits USTAR.
 */
static bool pax_records(const struct tar_entry *e, const char *link, struct strbuf *pax)
{
	size_t plen, n = strlen(e->name), ln = strlen(link);
	const char *uname = e->uname ? e->uname : "", *gname = e->gname ? e->gname : "";
	bool name_bad = !is_ascii(e->name) || n > 100;
	bool link_bad = !is_ascii(link) || ln > 100;
	bool uname_bad = !is_ascii(uname) || strlen(uname) > 32;
	bool gname_bad = !is_ascii(gname) || strlen(gname) > 32;
	bool size_bad = !fits_octal(12, (int64_t)e->size);

	if (!e->nr_xattrs && !link_bad && !uname_bad && !gname_bad && !size_bad &&
	    (!name_bad || split_ustar(e->name, &plen)))
		return false;
	if (e->nr_xattrs) {
		const struct tar_xattr **x = xcalloc(e->nr_xattrs, sizeof(*x));
		struct strbuf key = STRBUF_INIT;

		for (size_t i = 0; i < e->nr_xattrs; i++)
			x[i] = &e->xattrs[i];
		qsort(x, e->nr_xattrs, sizeof(*x), cmp_xattr);
		for (size_t i = 0; i < e->nr_xattrs; i++) {
			strbuf_reset(&key);
			strbuf_addf(&key, "SCHILY.xattr.%s", x[i]->name);
			pax_record_n(pax, key.buf, x[i]->value, x[i]->len);
		}
		strbuf_release(&key);
		free(x);
	}
	if (gname_bad)
		pax_record(pax, "gname", gname);
	if (link_bad)
		pax_record(pax, "linkpath", link);
	if (name_bad)
		pax_record(pax, "path", e->name);
	if (size_bad) {
		char tmp[24];
		snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)e->size);
		pax_record(pax, "size", tmp);
	}
	if (uname_bad)
		pax_record(pax, "uname", uname);
	return true;
}

/* Go's toASCII then formatString. */
static void put_ascii(unsigned char *f, size_t n, const char *s)
{
	struct strbuf sb = STRBUF_INIT;

	for (; *s; s++)
		if ((unsigned char)*s < 0x80)
			strbuf_addch(&sb, *s);
	put_str(f, n, sb.buf ? sb.buf : "");
	strbuf_release(&sb);
}

static int emit(struct tar_writer *w, const void *p, size_t n, struct strata_error **err)
{
	return n ? w->write(w->cookie, p, n, err) : 0;
}

static int flush_pad(struct tar_writer *w, struct strata_error **err)
{
	if (w->data_left)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"tar: %llu bytes of member data missing",
					(unsigned long long)w->data_left);
	int rc = emit(w, zeros, w->pad, err);
	w->pad = 0;
	return rc;
}

int tar_writer_add(struct tar_writer *w, const struct tar_entry *e, struct strata_error **err)
{
	unsigned char b[TAR_BLOCK];
	const char *name = e->name, *link = e->linkname ? e->linkname : "";
	size_t plen = 0;
	bool need_pax = false, split = false;
	struct strbuf pax = STRBUF_INIT;
	int rc;

	if (w->finished)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "tar: add after finish");
	rc = flush_pad(w, err);
	if (rc < 0)
		return rc;
	need_pax = pax_records(e, link, &pax);
	if (!need_pax && strlen(name) > 100)
		split = split_ustar(name, &plen);
	if (need_pax) {
		/* Go names the PAX header "<dir>/PaxHeaders.0/<base>", cut to 100 bytes. */
		const char *slash = strrchr(name, '/');
		struct strbuf pn = STRBUF_INIT;
		const char *base = slash ? slash + 1 : name;
		size_t dlen = slash ? (size_t)(slash - name) : 0;
		if (slash && !*base) {
			/* path.Split keeps a trailing slash in dir; path.Join cleans it. */
			base = "";
		}
		if (dlen)
			strbuf_add(&pn, name, dlen), strbuf_addch(&pn, '/');
		strbuf_addstr(&pn, "PaxHeaders.0");
		if (*base)
			strbuf_addch(&pn, '/'), strbuf_addstr(&pn, base);
		/* toASCII, cut to 100, trim trailing slashes */
		size_t o = 0;
		for (size_t i = 0; i < pn.len; i++)
			if ((unsigned char)pn.buf[i] < 0x80 && pn.buf[i])
				pn.buf[o++] = pn.buf[i];
		strbuf_setlen(&pn, o > 100 ? 100 : o);
		while (pn.len && pn.buf[pn.len - 1] == '/')
			strbuf_setlen(&pn, pn.len - 1);
		memset(b, 0, sizeof(b));
		put_str(b, 100, pn.buf);
		put_oct(b + 100, 8, 0);
		put_oct(b + 108, 8, 0);
		put_oct(b + 116, 8, 0);
		put_oct(b + 124, 12, pax.len);
		put_oct(b + 136, 12, 0);
		b[156] = 'x';
		memcpy(b + 257, "ustar\0" "00", 8);
		put_checksum(b);
		strbuf_release(&pn);
		if ((rc = emit(w, b, TAR_BLOCK, err)) < 0 || (rc = emit(w, pax.buf, pax.len, err)) < 0 ||
		    (rc = emit(w, zeros, (TAR_BLOCK - pax.len % TAR_BLOCK) % TAR_BLOCK, err)) < 0)
			goto out;
	}

	memset(b, 0, sizeof(b));
	if (need_pax) {
		put_ascii(b, 100, name);
		put_ascii(b + 157, 100, link);
	} else {
		put_str(b, 100, split ? name + plen + 1 : name);
		put_str(b + 157, 100, link);
	}
	put_num(b + 100, 8, (int64_t)(e->mode_raw ? e->mode : (e->mode & 07777) | type_bits(e->typeflag)));
	put_num(b + 108, 8, e->uid);
	put_num(b + 116, 8, e->gid);
	put_num(b + 124, 12, fits_octal(12, (int64_t)e->size) ? (int64_t)e->size : 0);
	put_num(b + 136, 12, e->mtime_sec);
	b[156] = e->typeflag ? e->typeflag : TAR_REG;
	memcpy(b + 257, "ustar\0" "00", 8);
	put_ascii(b + 265, 32, e->uname ? e->uname : "");
	put_ascii(b + 297, 32, e->gname ? e->gname : "");
	put_num(b + 329, 8, e->devmajor);
	put_num(b + 337, 8, e->devminor);
	if (split) {
		char pre[156];
		memcpy(pre, name, plen);
		pre[plen] = 0;
		put_str(b + 345, 155, pre);
	}
	put_checksum(b);
	rc = emit(w, b, TAR_BLOCK, err);
	if (rc < 0)
		goto out;
	w->data_left = e->size;
	w->pad = (uint32_t)((TAR_BLOCK - e->size % TAR_BLOCK) % TAR_BLOCK);
	rc = 0;
out:
	strbuf_release(&pax);
	return rc;
}

int tar_writer_write_data(struct tar_writer *w, const void *data, size_t len,
			  struct strata_error **err)
{
	if (len > w->data_left)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"tar: member data longer than its size");
	w->data_left -= len;
	return emit(w, data, len, err);
}

int tar_writer_finish(struct tar_writer *w, struct strata_error **err)
{
	int rc;

	if (w->finished)
		return 0;
	rc = flush_pad(w, err);
	if (rc < 0)
		return rc;
	w->finished = true;
	return emit(w, zeros, sizeof(zeros), err);
}
