/* Tar reader (formats, numbers, limits, raw accounting) and writer. */
#include <stdlib.h>
#include <string.h>

#include "strata/error.h"
#include "memio.h"
#include "tap.h"
#include "tar/tar.h"
#include "util/strbuf.h"

/* Raw header block with a valid checksum. */
static void block(struct strbuf *sb, const char *name, char type, const char *size_oct,
		  const char *magic)
{
	unsigned char b[512] = { 0 };
	unsigned sum = 0;

	strncpy((char *)b, name, 100);
	memcpy(b + 100, "0000644", 8);
	memcpy(b + 108, "0000000", 8);
	memcpy(b + 116, "0000000", 8);
	snprintf((char *)b + 124, 12, "%s", size_oct);
	memcpy(b + 136, "14000000000", 12);
	b[156] = (unsigned char)type;
	memcpy(b + 257, magic, 8);
	memset(b + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += b[i];
	snprintf((char *)b + 148, 8, "%06o", sum);
	strbuf_add(sb, b, 512);
}

static void data(struct strbuf *sb, const void *p, size_t n)
{
	strbuf_add(sb, p, n);
	strbuf_addchars(sb, 0, (512 - n % 512) % 512);
}

static void end(struct strbuf *sb) { strbuf_addchars(sb, 0, 1024); }

/* One PAX record "%d k=v\n" whose length counts itself. */
static void pax_rec(struct strbuf *sb, const char *k, const char *v, size_t vl)
{
	size_t body = strlen(k) + vl + 3, n = body + 1;

	while (n != body + (size_t)snprintf(NULL, 0, "%zu", n))
		n = body + (size_t)snprintf(NULL, 0, "%zu", n);
	strbuf_addf(sb, "%zu %s=", n, k);
	strbuf_add(sb, v, vl);
	strbuf_addch(sb, '\n');
}

#define USTAR "ustar\0" "00"
#define GNU "ustar  \0"

struct rawcap {
	struct strbuf raw, dat;
};

static int raw_sink(void *cookie, const void *d, size_t n, struct strata_error **err)
{
	strbuf_add(&((struct rawcap *)cookie)->raw, d, n);
	return 0;
}

static int data_sink(void *cookie, const void *d, size_t n, struct strata_error **err)
{
	strbuf_add(&((struct rawcap *)cookie)->dat, d, n);
	return 0;
}

/* Read all members; returns count or < 0 with *err set; names joined by '|'. */
static int read_all(const struct strbuf *tar, struct strbuf *names, struct strata_error **err)
{
	struct mem m = { (const unsigned char *)tar->buf, tar->len, 0, 333 };
	struct tar_reader *r = tar_reader_new(mem_read, &m);
	const struct tar_entry *e;
	int n = 0, rc;

	while ((rc = tar_reader_next(r, &e, err)) > 0) {
		n++;
		if (names) {
			strbuf_addstr(names, e->name);
			strbuf_addch(names, '|');
		}
	}
	tar_reader_free(r);
	return rc < 0 ? rc : n;
}

static void test_errors(void)
{
	struct strata_error *err = NULL;
	struct strbuf t = STRBUF_INIT, names = STRBUF_INIT;

	/* bad checksum */
	block(&t, "a", '0', "00000000001", USTAR);
	data(&t, "x", 1);
	end(&t);
	t.buf[150] ^= 1;
	ok(read_all(&t, NULL, &err) < 0 && err && err->code == STRATA_ERR_CORRUPT &&
		   strstr(err->msg, "checksum"),
	   "bad header checksum refused: %s", err ? err->msg : "");
	strata_error_freep(&err);

	/* truncated inside data */
	strbuf_reset(&t);
	block(&t, "trunc", '0', "00000001000", USTAR);
	strbuf_addchars(&t, 'a', 100);
	ok(read_all(&t, NULL, &err) < 0 && err && strstr(err->msg, "trunc"),
	   "truncated data refused naming the entry: %s", err ? err->msg : "");
	strata_error_freep(&err);

	/* truncated inside a header */
	strbuf_reset(&t);
	block(&t, "a", '0', "00000000000", USTAR);
	strbuf_addchars(&t, 'a', 100);
	ok(read_all(&t, NULL, &err) < 0 && err && err->code == STRATA_ERR_CORRUPT,
	   "truncated header refused");
	strata_error_freep(&err);

	/* PAX data over 1 MiB refused before reading it */
	strbuf_reset(&t);
	block(&t, "PaxHeaders.0/a", 'x', "04000001", USTAR);
	ok(read_all(&t, NULL, &err) < 0 && err && err->code == STRATA_ERR_TOO_LARGE,
	   "PAX header over 1 MiB refused");
	strata_error_freep(&err);

	/* one PAX record over 1 MiB */
	{
		struct strbuf rec = STRBUF_INIT;
		size_t vlen = (1u << 20) + 10;
		strbuf_addf(&rec, "%zu path=", vlen + 7 + 8);
		strbuf_addchars(&rec, 'p', vlen);
		strbuf_addch(&rec, '\n');
		char sz[16];
		snprintf(sz, sizeof(sz), "%011zo", rec.len);
		strbuf_reset(&t);
		block(&t, "PaxHeaders.0/a", 'x', sz, USTAR);
		data(&t, rec.buf, rec.len);
		block(&t, "a", '0', "0", USTAR);
		end(&t);
		ok(read_all(&t, NULL, &err) < 0 && err && err->code == STRATA_ERR_TOO_LARGE,
		   "PAX record over 1 MiB refused");
		strata_error_freep(&err);
		strbuf_release(&rec);
	}

	/* too many PAX records */
	{
		struct strbuf rec = STRBUF_INIT;
		for (int i = 0; i < TAR_MAX_PAX_RECORDS + 1; i++)
			strbuf_addstr(&rec, "6 a=b\n");
		char sz[16];
		snprintf(sz, sizeof(sz), "%011zo", rec.len);
		strbuf_reset(&t);
		block(&t, "PaxHeaders.0/a", 'x', sz, USTAR);
		data(&t, rec.buf, rec.len);
		block(&t, "a", '0', "0", USTAR);
		end(&t);
		ok(read_all(&t, NULL, &err) < 0 && err && err->code == STRATA_ERR_TOO_LARGE,
		   "more than 10000 PAX records refused");
		strata_error_freep(&err);
		strbuf_release(&rec);
	}

	/* NUL inside a PAX path */
	{
		const char rec[] = "12 path=a\0b\n";
		strbuf_reset(&t);
		block(&t, "PaxHeaders.0/a", 'x', "14", USTAR);
		data(&t, rec, 12);
		block(&t, "a", '0', "0", USTAR);
		end(&t);
		ok(read_all(&t, NULL, &err) < 0 && err && strstr(err->msg, "NUL"),
		   "NUL in a PAX path refused");
		strata_error_freep(&err);
	}

	/* malformed PAX record length */
	strbuf_reset(&t);
	block(&t, "PaxHeaders.0/a", 'x', "12", USTAR);
	data(&t, "99 path=abc\n", 12);
	block(&t, "a", '0', "0", USTAR);
	end(&t);
	ok(read_all(&t, NULL, &err) < 0 && err && err->code == STRATA_ERR_CORRUPT,
	   "malformed PAX record refused");
	strata_error_freep(&err);

	/* negative base-256 size */
	strbuf_reset(&t);
	block(&t, "neg", '0', "0", USTAR);
	memset(t.buf + 124, 0xff, 12);
	{
		unsigned sum = 0;
		memset(t.buf + 148, ' ', 8);
		for (int i = 0; i < 512; i++)
			sum += (unsigned char)t.buf[i];
		snprintf(t.buf + 148, 8, "%06o", sum);
	}
	end(&t);
	ok(read_all(&t, NULL, &err) < 0 && err && strstr(err->msg, "negative"),
	   "negative size refused");
	strata_error_freep(&err);

	/* a zero block followed by a header is not an end */
	strbuf_reset(&t);
	strbuf_addchars(&t, 0, 512);
	block(&t, "a", '0', "0", USTAR);
	ok(read_all(&t, NULL, &err) < 0, "zero block then header refused");
	strata_error_freep(&err);

	/* one zero block then EOF ends the archive */
	strbuf_reset(&t);
	block(&t, "a", '0', "0", USTAR);
	strbuf_addchars(&t, 0, 512);
	ok(read_all(&t, NULL, &err) == 1, "single zero block then EOF is the end");
	strata_error_freep(&err);

	/* GNU sparse refused */
	strbuf_reset(&t);
	block(&t, "sparse", 'S', "0", GNU);
	end(&t);
	ok(read_all(&t, NULL, &err) < 0 && err && err->code == STRATA_ERR_UNSUPPORTED,
	   "GNU sparse refused");
	strata_error_freep(&err);

	/* over-long GNU name */
	{
		struct strbuf ln = STRBUF_INIT;
		strbuf_addchars(&ln, 'n', TAR_MAX_NAME + 1);
		char sz[16];
		snprintf(sz, sizeof(sz), "%011zo", ln.len);
		strbuf_reset(&t);
		block(&t, "././@LongLink", 'L', sz, GNU);
		data(&t, ln.buf, ln.len);
		block(&t, "a", '0', "0", GNU);
		end(&t);
		ok(read_all(&t, NULL, &err) < 0 && err && err->code == STRATA_ERR_TOO_LARGE,
		   "name over 64 KiB refused");
		strata_error_freep(&err);
		strbuf_release(&ln);
	}
	strbuf_release(&t);
	strbuf_release(&names);
}

static void test_formats(void)
{
	struct strata_error *err = NULL;
	struct strbuf t = STRBUF_INIT;
	struct rawcap cap = { STRBUF_INIT, STRBUF_INIT };
	const struct tar_entry *e;
	char longname[300];

	memset(longname, 'L', sizeof(longname));
	memcpy(longname, "gnu/", 4);
	longname[299] = 0;

	/* GNU long name and link */
	block(&t, "././@LongLink", 'L', "454", GNU);
	data(&t, longname, 300);
	block(&t, "././@LongLink", 'K', "5", GNU);
	data(&t, "tgt\0\0", 5);
	block(&t, "short", '1', "0", GNU);
	/* PAX: path, size, uid, uname, mtime with fraction, xattrs */
	{
		struct strbuf rec = STRBUF_INIT;
		pax_rec(&rec, "mtime", "1700000000.123456789", 20);
		pax_rec(&rec, "path", "pax/name", 8);
		pax_rec(&rec, "uid", "123456789", 9);
		pax_rec(&rec, "uname", "alice", 5);
		pax_rec(&rec, "size", "10", 2);
		pax_rec(&rec, "SCHILY.xattr.user.k", "v\0w", 3);
		pax_rec(&rec, "SCHILY.xattr.user.k", "final", 5);
		pax_rec(&rec, "SCHILY.xattr.security.cap", "\x01\x02", 2);
		char sz[16];
		snprintf(sz, sizeof(sz), "%011zo", rec.len);
		block(&t, "PaxHeaders.0/name", 'x', sz, USTAR);
		data(&t, rec.buf, rec.len);
		strbuf_release(&rec);
	}
	block(&t, "name", '0', "3", USTAR);
	data(&t, "0123456789", 10);
	/* ustar prefix and an old-style regular file ('\0') */
	{
		struct strbuf b = STRBUF_INIT;
		block(&b, "file", '\0', "0", USTAR);
		memcpy(b.buf + 345, "pre/fix", 7);
		unsigned sum = 0;
		memset(b.buf + 148, ' ', 8);
		for (int i = 0; i < 512; i++)
			sum += (unsigned char)b.buf[i];
		snprintf(b.buf + 148, 8, "%06o", sum);
		strbuf_add(&t, b.buf, b.len);
		strbuf_release(&b);
	}
	/* base-256 uid, signed checksum (a byte >= 0x80 in the name) */
	{
		struct strbuf b = STRBUF_INIT;
		block(&b, "b256-\xe9", '0', "0", GNU);
		memset(b.buf + 108, 0, 8);
		b.buf[108] = (char)0x80;
		b.buf[113] = 0x01; /* uid = 0x010000 << 8 ... */
		b.buf[115] = 0x05;
		int sum = 0;
		memset(b.buf + 148, ' ', 8);
		for (int i = 0; i < 512; i++)
			sum += (signed char)b.buf[i];
		snprintf(b.buf + 148, 8, "%06o", sum);
		strbuf_add(&t, b.buf, b.len);
		strbuf_release(&b);
	}
	block(&t, "dir/", '5', "0", USTAR);
	block(&t, "dev", '3', "0", USTAR);
	memcpy(t.buf + t.len - 512 + 329, "0000001", 8);
	memcpy(t.buf + t.len - 512 + 337, "0000003", 8);
	{
		unsigned sum = 0;
		char *b = t.buf + t.len - 512;
		memset(b + 148, ' ', 8);
		for (int i = 0; i < 512; i++)
			sum += (unsigned char)b[i];
		snprintf(b + 148, 8, "%06o", sum);
	}
	end(&t);
	strbuf_addstr(&t, "trailing garbage");

	struct mem m = { (const unsigned char *)t.buf, t.len, 0, 333 };
	struct tar_reader *r = tar_reader_new(mem_read, &m);
	tar_reader_set_raw_sink(r, raw_sink, &cap);
	tar_reader_set_data_sink(r, data_sink, &cap);

	ok(tar_reader_next(r, &e, &err) == 1, "GNU long name entry");
	is_str(e->name, longname, "GNU long name");
	is_str(e->linkname, "tgt", "GNU long link (cut at NUL)");
	ok(e->typeflag == TAR_LINK && e->size == 0, "hard link has no data");

	ok(tar_reader_next(r, &e, &err) == 1, "PAX entry");
	if (!e) {
		printf("# %s\n", err ? err->msg : "?");
		fflush(stdout);
		return;
	}
	is_str(e->name, "pax/name", "PAX path");
	ok(e->size == 10 && tar_reader_header_size(r) == 10, "PAX size overrides header");
	ok(e->uid == 123456789, "PAX uid");
	is_str(e->uname, "alice", "PAX uname");
	ok(e->mtime_sec == 1700000000 && e->mtime_nsec == 123456789, "PAX mtime fraction");
	ok(e->nr_xattrs == 2, "two xattrs (repeated key replaced)");
	if (e->nr_xattrs == 2) {
		is_str(e->xattrs[0].name, "user.k", "xattr name");
		ok(e->xattrs[0].len == 5 && !memcmp(e->xattrs[0].value, "final", 5),
		   "last value of a repeated xattr wins");
		ok(e->xattrs[1].len == 2 && e->xattrs[1].value[0] == 1, "binary xattr value");
	}
	char buf[4];
	ok(tar_reader_read_data(r, buf, 4, &err) == 4 && !memcmp(buf, "0123", 4), "read data");

	ok(tar_reader_next(r, &e, &err) == 1, "prefix entry (rest of data skipped)");
	is_str(e->name, "pre/fix/file", "ustar prefix joined");
	ok(e->typeflag == TAR_REG, "'\\0' reported as regular file");

	ok(tar_reader_next(r, &e, &err) == 1, "signed-checksum entry");
	ok(e->uid == 0x010005, "base-256 uid");

	ok(tar_reader_next(r, &e, &err) == 1 && e->typeflag == TAR_DIR, "directory");
	ok(tar_reader_next(r, &e, &err) == 1 && e->typeflag == TAR_CHR && e->devmajor == 1 &&
		   e->devminor == 3,
	   "char device numbers");
	ok(tar_reader_next(r, &e, &err) == 0, "end of archive");
	ok(tar_reader_drain(r, &err) == 16, "drain returns the trailing bytes");
	ok(cap.raw.len + cap.dat.len == t.len, "raw + data bytes account for every input byte");
	ok(cap.dat.len == 10 && !memcmp(cap.dat.buf, "0123456789", 10),
	   "data sink saw read and skipped data");
	ok(!memcmp(cap.raw.buf + cap.raw.len - 16, "trailing garbage", 16),
	   "trailing bytes reach the raw sink");
	tar_reader_free(r);
	strata_error_freep(&err);
	strbuf_release(&t);
	strbuf_release(&cap.raw);
	strbuf_release(&cap.dat);
}

static void test_writer(void)
{
	struct strata_error *err = NULL;
	struct strbuf out = STRBUF_INIT;
	struct tar_writer *w = tar_writer_new(sb_write, &out);
	char split[200], nosplit[150], hex[20];

	memset(split, 'a', sizeof(split));
	memcpy(split, "dir1/", 5);
	split[120] = '/';
	split[199] = 0;
	memset(nosplit, 'b', sizeof(nosplit));
	nosplit[149] = 0;

	struct tar_entry f = { .name = "manifest.json", .linkname = "", .typeflag = TAR_REG,
			       .mode = 0644, .uname = "", .gname = "", .mtime_sec = 1700000000,
			       .size = 3 };
	ok(tar_writer_add(w, &f, &err) == 0 && tar_writer_write_data(w, "abc", 3, &err) == 0,
	   "write a file");
	struct tar_entry d = { .name = "abc/", .linkname = "", .typeflag = TAR_DIR, .mode = 0755,
			       .uname = "root", .gname = "root" };
	ok(tar_writer_add(w, &d, &err) == 0, "write a directory");
	struct tar_entry s = { .name = "l", .linkname = "abc/", .typeflag = TAR_SYMLINK,
			       .mode = 0777 };
	ok(tar_writer_add(w, &s, &err) == 0, "write a symlink");
	struct tar_entry l1 = f;
	l1.name = split;
	l1.size = 0;
	ok(tar_writer_add(w, &l1, &err) == 0, "write a splittable long name");
	struct tar_entry l2 = f;
	l2.name = nosplit;
	l2.size = 0;
	ok(tar_writer_add(w, &l2, &err) == 0, "write an unsplittable long name");
	struct tar_entry big = f;
	big.uid = 100000000; /* beyond 7 octal digits: base-256 */
	big.size = 0;
	big.name = "bigid";
	ok(tar_writer_add(w, &big, &err) == 0, "write a large uid");
	ok(tar_writer_finish(w, &err) == 0, "finish");
	tar_writer_free(w);

	ok(out.len % 512 == 0 && !memcmp(out.buf + out.len - 1024, (char[1024]){ 0 }, 1024),
	   "ends in two zero blocks, no record padding (%zu bytes)", out.len);
	ok(!memcmp(out.buf + 100, "0100644\0", 8), "file mode 0100644");
	ok(!memcmp(out.buf + 257, "ustar\0" "00", 8), "ustar magic");
	snprintf(hex, sizeof(hex), "%.11s", out.buf + 136);
	is_str(hex, "14524770400", "mtime octal");
	ok(!memcmp(out.buf + 1024 + 100, "0040755\0", 8), "dir mode 040755");
	ok(!memcmp(out.buf + 1024 + 265, "root\0", 5), "uname");
	ok(!memcmp(out.buf + 1536 + 100, "0120777\0", 8), "symlink mode 0120777");
	ok(!memcmp(out.buf + 1024 + 329, "0000000\0", 8), "devmajor written as zeros");
	ok(out.buf[2048 + 156] == '0' && !memcmp(out.buf + 2048 + 345, "dir1/", 5),
	   "long name split into prefix without PAX");
	ok(out.buf[2560 + 156] == 'x' && !strncmp(out.buf + 2560, "PaxHeaders.0/bbb", 16),
	   "unsplittable name gets a PAX header");

	/* and the reader reads all of it back */
	struct strbuf names = STRBUF_INIT;
	ok(read_all(&out, &names, &err) == 6, "reader reads the writer's tar");
	char want[600];
	snprintf(want, sizeof(want), "manifest.json|abc/|l|%s|%s|bigid|", split, nosplit);
	is_str(names.buf, want, "names round trip");
	strata_error_freep(&err);
	strbuf_release(&names);
	strbuf_release(&out);
}

/* What dockerd's layer tars need: raw whiteout modes, security.capability and non-ASCII names as PAX. */
static void test_writer_pax(void)
{
	struct strata_error *err = NULL;
	struct strbuf out = STRBUF_INIT;
	struct tar_writer *w = tar_writer_new(sb_write, &out);
	struct tar_xattr cap = { .name = "security.capability", .value = "\x01\0\x02", .len = 3 };
	struct tar_entry wh = { .name = "a/.wh.b", .linkname = "a/c", .typeflag = TAR_REG, .mode = 0600,
				.mode_raw = true };
	struct tar_entry x = { .name = "ping", .linkname = "", .typeflag = TAR_REG, .mode = 0755, .xattrs = &cap,
			       .nr_xattrs = 1 };
	struct tar_entry u = { .name = "caf\xc3\xa9", .linkname = "", .typeflag = TAR_REG, .mode = 0644 };
	const char rec[] = "40 SCHILY.xattr.security.capability=\x01\0\x02\n";

	ok(tar_writer_add(w, &wh, &err) == 0 && tar_writer_add(w, &x, &err) == 0 &&
	   tar_writer_add(w, &u, &err) == 0 && tar_writer_finish(w, &err) == 0, "write whiteout, xattr, UTF-8 name");
	ok(!memcmp(out.buf + 100, "0000600\0", 8) && !strcmp(out.buf + 157, "a/c"),
	   "raw mode without type bits, link name kept");
	ok(out.buf[512 + 156] == 'x' && !strcmp(out.buf + 512, "PaxHeaders.0/ping") &&
	   !memcmp(out.buf + 1024, rec, sizeof(rec) - 1), "security.capability as a PAX record");
	ok(out.buf[1536 + 156] == '0' && !strcmp(out.buf + 1536, "ping"), "the member after its PAX header");
	ok(out.buf[2048 + 156] == 'x' && !memcmp(out.buf + 2560, "14 path=caf\xc3\xa9\n", 14) &&
	   !strcmp(out.buf + 3072, "caf"), "a non-ASCII name: PAX path, ASCII in the header as Go");
	tar_writer_free(w);
	strbuf_release(&out);
}

int main(void)
{
	test_errors();
	test_formats();
	test_writer();
	test_writer_pax();
	return tap_done();
}
