/*
 * tar-split packer and the layer ingest pass.  Segmentation follows
 * tar-split's disassembler: one raw segment per member holding everything
 * between the previous member's data and this member's data, one segment for
 * the end of the archive, then what follows it in 1 MiB reads, then an empty
 * segment.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <isa-l/crc64.h>

#include "json/gojson.h"
#include "tarsplit/b64.h"
#include "tarsplit/tarsplit.h"
#include "util/alloc.h"
#include "util/strbuf.h"
#include "util/utf8.h"

uint64_t tarsplit_crc64(uint64_t crc, const void *data, size_t len)
{
	/* ISA-L inverts on entry and exit, which is Go's crc64.Update. */
	return crc64_iso_refl(crc, data, len);
}

/*
 * Set of cleaned member names (tar-split refuses duplicate paths), kept as
 * 64 bits of their SHA-256: a layer can hold hundreds of thousands of
 * names, and this keeps 16 bytes a name instead of the names themselves.
 * Two different names of one layer sharing a key would need 2^32 tries to
 * craft, and would only get that layer refused.
 */
struct nameset {
	uint64_t *slots; /* 0 marks a free slot */
	size_t cap, used;
};

static uint64_t name_key(const char *s)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	uint64_t k;

	EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
	memcpy(&k, md, sizeof(k));
	return k ? k : 1;
}

/* Insert the cleaned name s (freed here); false when it was already there. */
static bool nameset_add(struct nameset *ns, char *s)
{
	uint64_t k = name_key(s);
	size_t j;

	free(s);
	if ((ns->used + 1) * 2 > ns->cap) {
		size_t ncap = ns->cap ? ns->cap * 2 : 1024;
		uint64_t *n = xcalloc(ncap, sizeof(*n));

		for (size_t i = 0; i < ns->cap; i++) {
			if (!ns->slots[i])
				continue;
			j = ns->slots[i] & (ncap - 1);
			while (n[j])
				j = (j + 1) & (ncap - 1);
			n[j] = ns->slots[i];
		}
		free(ns->slots);
		ns->slots = n;
		ns->cap = ncap;
	}
	j = k & (ns->cap - 1);
	while (ns->slots[j]) {
		if (ns->slots[j] == k)
			return false;
		j = (j + 1) & (ns->cap - 1);
	}
	ns->slots[j] = k;
	ns->used++;
	return true;
}

static void nameset_free(struct nameset *ns)
{
	free(ns->slots);
}

/* Go's filepath.Clean, lexically. */
static char *go_clean(const char *p)
{
	size_t n = strlen(p), r = 0, w = 0, dotdot = 0;
	bool rooted = n && p[0] == '/';
	char *out = xmalloc(n + 2);

	if (!n) {
		memcpy(out, ".", 2);
		return out;
	}
	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/') {
			r++;
		} else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
			r++;
		} else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && p[r] != '/'; r++)
				out[w++] = p[r];
		}
	}
	if (!w)
		out[w++] = '.';
	out[w] = 0;
	return out;
}

struct packer {
	struct gzip_writer *gz; /* NULL: record nothing */
	struct strbuf line;
	struct strbuf seg; /* raw bytes not yet emitted */
	uint64_t pos;
	uint64_t crc;
	bool trailer;
	uint64_t trailer_len; /* bytes after the archive end */
	uint64_t off;         /* tar bytes seen so far */
	struct decomp_reader *d;
	bool gz_input;        /* the tar came gzip-compressed */
	struct nameset names;
};

static int emit_line(struct packer *p, struct strata_error **err)
{
	int rc = gzip_writer_write(p->gz, p->line.buf, p->line.len, err);
	strbuf_reset(&p->line);
	p->pos++;
	return rc;
}

static int emit_segment(struct packer *p, const void *data, size_t len,
			struct strata_error **err)
{
	if (!p->gz) {
		p->pos++;
		return 0;
	}
	strbuf_addstr(&p->line, "{\"type\":2,\"payload\":\"");
	b64_encode(&p->line, data, len);
	strbuf_addf(&p->line, "\",\"position\":%llu}\n", (unsigned long long)p->pos);
	return emit_line(p, err);
}

static int flush_segment(struct packer *p, struct strata_error **err)
{
	int rc = 0;

	if (p->seg.len)
		rc = emit_segment(p, p->seg.buf, p->seg.len, err);
	strbuf_reset(&p->seg);
	return rc;
}

static int packer_raw(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	struct packer *p = cookie;
	const char *d = data;
	int ret;

	if (!p->trailer) {
		strbuf_add(&p->seg, data, len);
		p->off += len;
		return 0;
	}
	p->trailer_len += len;
	/*
	 * After the archive end tar-split copies the rest in 1 MiB reads, each
	 * of which Go's gzip reader ends at its window's boundaries too.
	 */
	while (len) {
		size_t take = TARSPLIT_TRAILER_CHUNK - p->seg.len;
		uint64_t in_member = p->off - decomp_reader_member_start(p->d);
		uint64_t to_window = GO_FLATE_WINDOW - in_member % GO_FLATE_WINDOW;
		if (p->gz_input && take > to_window)
			take = (size_t)to_window;
		if (take > len)
			take = len;
		strbuf_add(&p->seg, d, take);
		d += take;
		len -= take;
		p->off += take;
		if ((p->seg.len == TARSPLIT_TRAILER_CHUNK ||
		     (p->gz_input && (p->off - decomp_reader_member_start(p->d)) % GO_FLATE_WINDOW == 0)) &&
		    (ret = flush_segment(p, err)) < 0)
			return ret;
	}
	return 0;
}

static int packer_data(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	struct packer *p = cookie;

	p->crc = tarsplit_crc64(p->crc, data, len);
	p->off += len;
	return 0;
}

static int packer_file(struct packer *p, const char *name, uint64_t size,
		       struct strata_error **err)
{
	size_t nl = strlen(name);
	bool raw = !utf8_valid(name, nl);

	if (!nameset_add(&p->names, go_clean(name)))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"tar-split: duplicate path %s: duplicates of file paths not supported",
					name);
	if (!p->gz) {
		p->pos++;
		return 0;
	}
	strbuf_addstr(&p->line, "{\"type\":1");
	if (raw) {
		strbuf_addstr(&p->line, ",\"name_raw\":\"");
		b64_encode(&p->line, name, nl);
		strbuf_addch(&p->line, '"');
	} else if (nl) {
		strbuf_addstr(&p->line, ",\"name\":");
		gojson_encode_string(&p->line, name, nl);
	}
	if (size) {
		unsigned char be[8];
		for (int i = 0; i < 8; i++)
			be[i] = (unsigned char)(p->crc >> (56 - 8 * i));
		strbuf_addf(&p->line, ",\"size\":%llu,\"payload\":\"", (unsigned long long)size);
		b64_encode(&p->line, be, 8);
		strbuf_addch(&p->line, '"');
	} else {
		strbuf_addstr(&p->line, ",\"payload\":null");
	}
	strbuf_addf(&p->line, ",\"position\":%llu}\n", (unsigned long long)p->pos);
	return emit_line(p, err);
}

int tarsplit_ingest(stream_read_fn src, void *src_cookie, int tarsplit_fd,
		    tar_entry_fn on_entry, void *entry_cookie,
		    struct tarsplit_ingest_result *res, struct strata_error **err)
{
	struct decomp_reader *d = decomp_reader_new(src, src_cookie,
						    DECOMP_HASH_INPUT | DECOMP_HASH_OUTPUT);
	struct tar_reader *r = tar_reader_new(decomp_reader_read, d);
	struct packer p = { .d = d };
	struct decomp_sums sums;
	enum compress_kind kind;
	const struct tar_entry *e;
	int rc = -1, n;

	memset(res, 0, sizeof(*res));
	strbuf_init(&p.line, 0);
	strbuf_init(&p.seg, 0);
	if (tarsplit_fd >= 0)
		p.gz = gzip_writer_new_fd(tarsplit_fd);
	tar_reader_set_raw_sink(r, packer_raw, &p);
	tar_reader_set_data_sink(r, packer_data, &p);

	while ((n = tar_reader_next(r, &e, err)) > 0) {
		/* Header bytes go out before the member, as tar-split orders them. */
		if (flush_segment(&p, err) < 0)
			goto out;
		p.crc = 0;
		if (on_entry && on_entry(entry_cookie, e, r, err) < 0)
			goto out;
		if (tar_reader_skip_data(r, err) < 0)
			goto out;
		if (packer_file(&p, e->name, tar_reader_header_size(r), err) < 0)
			goto out;
		res->nr_entries++;
		res->data_size += e->size;
	}
	if (n < 0)
		goto out;
	if (flush_segment(&p, err) < 0)
		goto out;
	if (decomp_reader_detect(d, &kind, err) < 0)
		goto out;
	p.trailer = true;
	p.gz_input = kind == COMPRESS_GZIP;
	if (tar_reader_drain(r, err) < 0 || flush_segment(&p, err) < 0)
		goto out;
	/*
	 * tar-split records one more (empty) read at the end, unless the last
	 * bytes after the archive end came with io.EOF, as Go's gzip reader
	 * mostly gives them (compress.h says when not); a plain tar (docker
	 * import) always gets the empty segment.
	 */
	if ((!p.trailer_len || decomp_reader_go_separate_eof(d)) && emit_segment(&p, "", 0, err) < 0)
		goto out;
	if (p.gz && gzip_writer_close(p.gz, err) < 0)
		goto out;
	if (decomp_reader_finish(d, &sums, err) < 0)
		goto out;
	res->compression = sums.kind;
	memcpy(res->compressed_hex, sums.input_hex, sizeof(res->compressed_hex));
	memcpy(res->diff_id_hex, sums.output_hex, sizeof(res->diff_id_hex));
	res->compressed_size = sums.input_size;
	res->tar_size = sums.output_size;
	rc = 0;
out:
	gzip_writer_free(p.gz);
	strbuf_release(&p.line);
	strbuf_release(&p.seg);
	nameset_free(&p.names);
	tar_reader_free(r);
	decomp_reader_free(d);
	return rc;
}

struct tarsplit_writer {
	struct packer p;
	char *name; /* the member whose data is being written, NULL before the first */
	uint64_t size;
};

struct tarsplit_writer *tarsplit_writer_new(int tarsplit_fd)
{
	struct tarsplit_writer *w = xcalloc(1, sizeof(*w));

	strbuf_init(&w->p.line, 0);
	strbuf_init(&w->p.seg, 0);
	w->p.gz = gzip_writer_new_fd(tarsplit_fd);
	return w;
}

void tarsplit_writer_free(struct tarsplit_writer *w)
{
	if (!w)
		return;
	gzip_writer_free(w->p.gz);
	strbuf_release(&w->p.line);
	strbuf_release(&w->p.seg);
	nameset_free(&w->p.names);
	free(w->name);
	free(w);
}

int tarsplit_writer_raw(struct tarsplit_writer *w, const void *data, size_t len, struct strata_error **err)
{
	return packer_raw(&w->p, data, len, err);
}

int tarsplit_writer_data(struct tarsplit_writer *w, const void *data, size_t len, struct strata_error **err)
{
	return packer_data(&w->p, data, len, err);
}

/* The line of the member before, now that its data is complete. */
static int writer_end_member(struct tarsplit_writer *w, struct strata_error **err)
{
	int ret = 0;

	if (w->name)
		ret = packer_file(&w->p, w->name, w->size, err);
	free(w->name);
	w->name = NULL;
	return ret;
}

/* The order tarsplit_ingest records: header segment, data (CRC), the member's line. */
int tarsplit_writer_member(struct tarsplit_writer *w, const char *name, uint64_t size, struct strata_error **err)
{
	int ret = writer_end_member(w, err);

	if (ret >= 0)
		ret = flush_segment(&w->p, err);
	if (ret < 0)
		return ret;
	w->p.crc = 0;
	w->name = xstrdup(name);
	w->size = size;
	return 0;
}

int tarsplit_writer_finish(struct tarsplit_writer *w, struct strata_error **err)
{
	int ret = writer_end_member(w, err);

	/* the end blocks, then the empty read a plain tar ends with */
	if (ret >= 0)
		ret = flush_segment(&w->p, err);
	if (ret >= 0)
		ret = emit_segment(&w->p, "", 0, err);
	if (ret >= 0)
		ret = gzip_writer_close(w->p.gz, err);
	return ret;
}
