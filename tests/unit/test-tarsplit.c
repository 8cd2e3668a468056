/*
 * tar-split: JSON identical to the reference `tar-split disasm` on the corpus
 * and on generated tars, exact reassembly, digests of the single ingest
 * pass, hostile tar-split files, and a member larger than 8 GiB.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compress/compress.h"
#include "digest/digest.h"
#include "fixtures.h"
#include "memio.h"
#include "tap.h"
#include "tarsplit/tarsplit.h"
#include "util/strbuf.h"

static char tmpdir[] = "/tmp/strata-tarsplit.XXXXXX";
static int have_ref;

static int read_file(const char *path, struct strbuf *sb)
{
	int fd = open(path, O_RDONLY);
	char buf[65536];
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_add(sb, buf, (size_t)n);
	close(fd);
	return 0;
}

static int gunzip_file(const char *path, struct strbuf *out)
{
	struct strata_error *err = NULL;
	int fd = open(path, O_RDONLY);
	struct decomp_reader *d;
	char buf[65536];
	ssize_t n;

	if (fd < 0)
		return -1;
	d = decomp_reader_new(compress_fd_read, &fd, 0);
	while ((n = decomp_reader_read(d, buf, sizeof(buf), &err)) > 0)
		strbuf_add(out, buf, (size_t)n);
	decomp_reader_free(d);
	close(fd);
	strata_error_free(err);
	return n < 0 ? -1 : 0;
}

/* Members captured by on_entry so the tar can be reassembled from them. */
struct member {
	char *name;
	struct strbuf data;
};
struct capture {
	struct member *m;
	size_t n;
	int partial; /* read only a little of each member, leave the rest */
};

static int on_entry(void *cookie, const struct tar_entry *e, struct tar_reader *r,
		    struct strata_error **err)
{
	struct capture *c = cookie;
	struct member *m;
	char buf[777];
	ssize_t n;

	c->m = realloc(c->m, (c->n + 1) * sizeof(*c->m));
	m = &c->m[c->n++];
	m->name = strdup(e->name);
	strbuf_init(&m->data, 0);
	while ((n = tar_reader_read_data(r, buf, sizeof(buf), err)) > 0) {
		strbuf_add(&m->data, buf, (size_t)n);
		if (c->partial)
			break;
	}
	return n < 0 ? -1 : 0;
}

static void capture_free(struct capture *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->m[i].name);
		strbuf_release(&c->m[i].data);
	}
	free(c->m);
	c->m = NULL;
	c->n = 0;
}

static int open_member(void *cookie, const char *name, uint64_t size, struct strata_error **err)
{
	struct capture *c = cookie;

	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->m[i].name, name))
			continue;
		int fd = memfd_create("member", 0);
		if (write(fd, c->m[i].data.buf, c->m[i].data.len) != (ssize_t)c->m[i].data.len)
			return strata_error_set(err, STRATA_ERR_IO, 0, "memfd write");
		lseek(fd, 0, SEEK_SET);
		return fd;
	}
	return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "no member %s", name);
}

/* Print where two JSON-lines texts first differ. */
static void show_diff(const struct strbuf *a, const struct strbuf *b)
{
	size_t i = 0, line = 1, start = 0;

	while (i < a->len && i < b->len && a->buf[i] == b->buf[i]) {
		if (a->buf[i] == '\n') {
			line++;
			start = i + 1;
		}
		i++;
	}
	printf("#   first difference on line %zu, byte %zu\n", line, i);
	printf("#   mine: %.200s\n#   ref:  %.200s\n", a->buf + start, b->buf + start);
}

/* Full check of one tar (compressed or not) at path. */
static void check_tar(const char *path, const char *label)
{
	struct strata_error *err = NULL;
	struct strbuf raw = STRBUF_INIT, tar = STRBUF_INIT, mine = STRBUF_INIT, ref = STRBUF_INIT,
		      again = STRBUF_INIT;
	struct tarsplit_ingest_result res, res2;
	struct capture cap = { 0 };
	char raw_hex[65], tar_hex[65], hex[65], mine_path[256], ref_path[256], in_path[256],
		cmd[1024];
	uint64_t size = 0;

	if (read_file(path, &raw) < 0) {
		ok(0, "%s: read", label);
		return;
	}
	sha256_hex(raw.buf, raw.len, raw_hex);
	{
		struct mem m = { (unsigned char *)raw.buf, raw.len, 0, 10000 };
		struct decomp_reader *d = decomp_reader_new(mem_read, &m, 0);
		char buf[65536];
		ssize_t n;
		while ((n = decomp_reader_read(d, buf, sizeof(buf), &err)) > 0)
			strbuf_add(&tar, buf, (size_t)n);
		decomp_reader_free(d);
	}
	sha256_hex(tar.buf, tar.len, tar_hex);
	snprintf(in_path, sizeof(in_path), "%s/in.tar", tmpdir);
	snprintf(mine_path, sizeof(mine_path), "%s/mine.json.gz", tmpdir);
	snprintf(ref_path, sizeof(ref_path), "%s/ref.json.gz", tmpdir);

	int fd = open(mine_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct mem m = { (unsigned char *)raw.buf, raw.len, 0, 10000 };
	int rc = tarsplit_ingest(mem_read, &m, fd, on_entry, &cap, &res, &err);
	close(fd);
	ok(rc == 0, "%s: ingest", label);
	if (rc) {
		printf("#   %s\n", err ? err->msg : "?");
		strata_error_freep(&err);
		goto out;
	}
	is_str(res.diff_id_hex, tar_hex, "%s: diff id", label);
	is_str(res.compressed_hex, raw_hex, "%s: compressed digest", label);
	ok(res.tar_size == tar.len && res.compressed_size == raw.len, "%s: sizes", label);
	gunzip_file(mine_path, &mine);

	if (have_ref) {
		fd = open(in_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (write(fd, tar.buf, tar.len) != (ssize_t)tar.len)
			ok(0, "write temp tar");
		close(fd);
		snprintf(cmd, sizeof(cmd), "tar-split disasm --no-stdout --output %s %s 2>/dev/null",
			 ref_path, in_path);
		if (system(cmd) != 0 || gunzip_file(ref_path, &ref) < 0) {
			ok(0, "%s: reference tar-split disasm ran", label);
		} else {
			int same = mine.len == ref.len && !memcmp(mine.buf, ref.buf, mine.len);

			/*
			 * The reference read a plain tar.  From gzip input dockerd (Go's
			 * gzip reader) gets the bytes after the archive end together
			 * with io.EOF and so records no final empty segment.
			 */
			if (!same && res.compression == COMPRESS_GZIP && ref.len > mine.len) {
				static const char empty[] = "{\"type\":2,\"payload\":\"\",\"position\":";
				const char *tail = ref.buf + mine.len;

				same = !memcmp(mine.buf, ref.buf, mine.len) &&
				       !strncmp(tail, empty, sizeof(empty) - 1) &&
				       strchr(tail, '\n') == ref.buf + ref.len - 1;
			}
			ok(same, "%s: JSON identical to tar-split disasm", label);
			if (!same)
				show_diff(&mine, &ref);
		}
	} else {
		printf("ok %d - %s: JSON identical to tar-split disasm # SKIP no tar-split binary\n",
		       ++tap_count, label);
	}

	fd = open(mine_path, O_RDONLY);
	rc = tarsplit_assemble_sha256(fd, open_member, &cap, hex, &size, &err);
	close(fd);
	ok(rc == 0, "%s: assemble", label);
	if (rc)
		printf("#   %s\n", err ? err->msg : "?");
	strata_error_freep(&err);
	is_str(hex, tar_hex, "%s: reassembled tar is identical", label);
	ok(size == tar.len, "%s: reassembled size", label);

	/* Reading little or nothing of members changes nothing. */
	struct capture part = { .partial = 1 };
	fd = open(mine_path, O_WRONLY | O_TRUNC);
	m.pos = 0;
	rc = tarsplit_ingest(mem_read, &m, fd, on_entry, &part, &res2, &err);
	close(fd);
	gunzip_file(mine_path, &again);
	ok(rc == 0 && again.len == mine.len && !memcmp(again.buf, mine.buf, mine.len) &&
		   !strcmp(res2.diff_id_hex, tar_hex),
	   "%s: partial reads give the same tar-split and digest", label);
	strata_error_freep(&err);
	capture_free(&part);
out:
	capture_free(&cap);
	strbuf_release(&raw);
	strbuf_release(&tar);
	strbuf_release(&mine);
	strbuf_release(&ref);
	strbuf_release(&again);
}

static void corpus(void)
{
	char root[900], path[1024];
	struct strbuf tsv = STRBUF_INIT;
	int col = -1, n = 0;

	snprintf(root, sizeof(root), "%s/corpus/tar", fixtures_dir());
	snprintf(path, sizeof(path), "%s/EXPECTED.tsv", root);
	if (read_file(path, &tsv) < 0) {
		ok(0, "corpus table %s readable", path);
		return;
	}
	char *save = NULL;
	for (char *line = strtok_r(tsv.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *fields[32];
		int nf = 0;
		char *p = line;
		while (nf < 32) {
			fields[nf++] = p;
			char *tab = strchr(p, '\t');
			if (!tab)
				break;
			*tab = 0;
			p = tab + 1;
		}
		if (col < 0) {
			for (int i = 0; i < nf; i++)
				if (!strcmp(fields[i], "tarsplit_roundtrip_identical"))
					col = i;
			continue;
		}
		if (col >= nf || strcmp(fields[col], "yes"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, fields[0]);
		check_tar(path, fields[0]);
		n++;
	}
	ok(n >= 10, "corpus: %d round-trip files checked", n);
	strbuf_release(&tsv);
}

static void generated(void)
{
	char cmd[2048], path[512];

	snprintf(cmd, sizeof(cmd), "python3 %s/tar/gen.py %s", fixtures_dir(), tmpdir);
	if (system("python3 -c '' 2>/dev/null") != 0) {
		printf("ok %d - generated tars # SKIP python3 not installed\n", ++tap_count);
	} else if (system(cmd) != 0) {
		ok(0, "tests/fixtures/tar/gen.py wrote the generated tars");
	} else {
		const char *names[] = { "pax.tar", "gnu.tar", "raw.tar" };
		for (size_t i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
			check_tar(path, names[i]);
		}
	}
	/* GNU tar: global header, record padding after the end, gzip'd. */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir -p g/sub && printf 'bye\\n' > g/sub/f && : > g/empty && "
		 "ln g/sub/f g/hard && ln -s sub/f g/soft && "
		 "tar --format=pax --pax-option=SCHILY.xattr.user.k=v -cf gt.tar g && "
		 "tar --format=gnu -czf gt.tar.gz g", tmpdir);
	if (system("tar --version >/dev/null 2>&1") != 0) {
		printf("ok %d - GNU tar fixtures # SKIP GNU tar not installed\n", ++tap_count);
		return;
	}
	if (system(cmd) != 0) {
		ok(0, "GNU tar wrote its fixtures");
		return;
	}
	snprintf(path, sizeof(path), "%s/gt.tar", tmpdir);
	check_tar(path, "gnutar-pax-global");
	snprintf(path, sizeof(path), "%s/gt.tar.gz", tmpdir);
	check_tar(path, "gnutar-gnu.tar.gz");
}

/* A tar strata writes, its bytes routed as the layer store's writer routes them. */
struct routed {
	struct tarsplit_writer *ts;
	struct strbuf tar;
	uint64_t data_left;
};

static int routed_write(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	struct routed *r = cookie;
	size_t take = len < r->data_left ? len : (size_t)r->data_left;
	int ret = 0;

	strbuf_add(&r->tar, data, len);
	if (take)
		ret = tarsplit_writer_data(r->ts, data, take, err);
	r->data_left -= take;
	if (ret >= 0 && take < len)
		ret = tarsplit_writer_raw(r->ts, (const char *)data + take, len - take, err);
	return ret;
}

/* tarsplit_writer records what tarsplit_ingest records reading the same tar back. */
static void written(void)
{
	static char long_name[300], data[5000];
	struct tar_xattr cap = { .name = "security.capability", .value = "\x01\x00\x00\x02", .len = 4 };
	struct tar_entry entries[] = {
		{ .name = "d/", .typeflag = TAR_DIR, .mode = 0755, .mtime_sec = 1700000000 },
		{ .name = "d/f", .typeflag = TAR_REG, .mode = 0644, .size = 1000, .uname = "root", .gname = "root" },
		{ .name = "d/empty", .typeflag = TAR_REG, .mode = 0600 },
		{ .name = "d/block", .typeflag = TAR_REG, .mode = 0644, .size = 1024 },
		{ .name = long_name, .typeflag = TAR_REG, .mode = 0644, .size = 7 },
		{ .name = "d/cap", .typeflag = TAR_REG, .mode = 0755, .size = 3, .xattrs = &cap, .nr_xattrs = 1 },
		{ .name = "d/h\xff\xfe", .typeflag = TAR_REG, .mode = 0644, .size = 5 },
		{ .name = "d/link", .typeflag = TAR_LINK, .linkname = "d/f", .mode = 0644 },
		{ .name = "d/sym", .typeflag = TAR_SYMLINK, .linkname = "f", .mode = 0777 },
		{ .name = "d/.wh.gone", .typeflag = TAR_REG, .mode_raw = true },
	};
	struct strata_error *err = NULL;
	struct routed r = { .tar = STRBUF_INIT };
	struct tarsplit_ingest_result res;
	struct strbuf mine = STRBUF_INIT, ref = STRBUF_INIT;
	struct tar_writer *w = tar_writer_new(routed_write, &r);
	char mine_path[256], ref_path[256];
	int fd, rc = 0;

	memset(long_name, 'n', sizeof(long_name) - 1);
	memcpy(long_name, "d/", 2);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7);
	snprintf(mine_path, sizeof(mine_path), "%s/written.json.gz", tmpdir);
	snprintf(ref_path, sizeof(ref_path), "%s/read.json.gz", tmpdir);
	fd = open(mine_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	r.ts = tarsplit_writer_new(fd);
	for (size_t i = 0; rc >= 0 && i < sizeof(entries) / sizeof(*entries); i++) {
		struct tar_entry *e = &entries[i];

		if (!e->linkname)
			e->linkname = "";
		rc = tar_writer_add(w, e, &err);
		if (rc >= 0)
			rc = tarsplit_writer_member(r.ts, e->name, e->size, &err);
		r.data_left = e->size;
		/* data in uneven pieces: the routing must not depend on the writes' sizes */
		for (uint64_t off = 0; rc >= 0 && off < e->size; off += 333)
			rc = tar_writer_write_data(w, data + off, e->size - off < 333 ? e->size - off : 333, &err);
	}
	if (rc >= 0)
		rc = tar_writer_finish(w, &err);
	if (rc >= 0)
		rc = tarsplit_writer_finish(r.ts, &err);
	close(fd);
	ok(rc >= 0, "written: tar and tar-split written%s%s", err ? ": " : "", err ? err->msg : "");
	strata_error_freep(&err);
	fd = open(ref_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	{
		struct mem m = { (unsigned char *)r.tar.buf, r.tar.len, 0, 4096 };

		rc = tarsplit_ingest(mem_read, &m, fd, NULL, NULL, &res, &err);
	}
	close(fd);
	ok(rc == 0, "written: the same tar read back%s%s", err ? ": " : "", err ? err->msg : "");
	strata_error_freep(&err);
	gunzip_file(mine_path, &mine);
	gunzip_file(ref_path, &ref);
	ok(mine.len && mine.len == ref.len && !memcmp(mine.buf, ref.buf, mine.len),
	   "written: tar-split as written is tar-split as read (%zu bytes)", mine.len);
	if (mine.len != ref.len || memcmp(mine.buf, ref.buf, mine.len))
		show_diff(&mine, &ref);
	tar_writer_free(w);
	tarsplit_writer_free(r.ts);
	strbuf_release(&r.tar);
	strbuf_release(&mine);
	strbuf_release(&ref);
}

/* A tar with one member of 8 GiB + 5 bytes of zeros, produced on the fly. */
struct huge {
	uint64_t size, pos, total;
	unsigned char hdr[512];
};

static ssize_t huge_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct huge *h = cookie;
	size_t n = 0;

	if (h->pos >= h->total)
		return 0;
	if (len > h->total - h->pos)
		len = (size_t)(h->total - h->pos);
	while (n < len) {
		if (h->pos < 512) {
			size_t k = 512 - (size_t)h->pos;
			if (k > len - n)
				k = len - n;
			memcpy((char *)buf + n, h->hdr + h->pos, k);
			n += k;
			h->pos += k;
		} else {
			memset((char *)buf + n, 0, len - n);
			h->pos += len - n;
			n = len;
		}
	}
	return (ssize_t)n;
}

static int huge_entry(void *cookie, const struct tar_entry *e, struct tar_reader *r,
		      struct strata_error **err)
{
	uint64_t *seen = cookie;
	char buf[100];

	*seen = e->size;
	return tar_reader_read_data(r, buf, sizeof(buf), err) == sizeof(buf) ? 0 : -1;
}

static void huge_member(void)
{
	struct huge h = { .size = (8ull << 30) + 5 };
	struct strata_error *err = NULL;
	struct tarsplit_ingest_result res;
	struct strbuf json = STRBUF_INIT;
	uint64_t seen = 0, sum = 0;
	char path[256];

	memcpy(h.hdr, "huge.bin", 8);
	memcpy(h.hdr + 100, "0000644", 8);
	memcpy(h.hdr + 108, "0000000", 8);
	memcpy(h.hdr + 116, "0000000", 8);
	h.hdr[124] = 0x80; /* base-256 size */
	for (int i = 0; i < 8; i++)
		h.hdr[135 - i] = (unsigned char)(h.size >> (8 * i));
	memcpy(h.hdr + 136, "00000000000", 12);
	h.hdr[156] = '0';
	memcpy(h.hdr + 257, "ustar  ", 8); /* GNU magic: base-256 is a GNU extension */
	memset(h.hdr + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h.hdr[i];
	snprintf((char *)h.hdr + 148, 8, "%06o", (unsigned)sum);
	h.total = 512 + (h.size + 511) / 512 * 512 + 1024;

	snprintf(path, sizeof(path), "%s/huge.json.gz", tmpdir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int rc = tarsplit_ingest(huge_read, &h, fd, huge_entry, &seen, &res, &err);
	close(fd);
	ok(rc == 0, "8 GiB member streams through ingest");
	if (rc)
		printf("#   %s\n", err->msg);
	strata_error_freep(&err);
	ok(seen == h.size, "8 GiB member size from base-256 field");
	ok(res.tar_size == h.total, "8 GiB tar size counted");
	gunzip_file(path, &json);
	ok(strstr(json.buf, "\"name\":\"huge.bin\",\"size\":8589934597,") != NULL,
	   "8 GiB member size recorded in tar-split");
	strbuf_release(&json);
}

static int gz_to_file(const char *path, const char *text, size_t len)
{
	struct strata_error *err = NULL;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct gzip_writer *g = gzip_writer_new_fd(fd);
	int rc = gzip_writer_write(g, text, len, &err) | gzip_writer_close(g, &err);

	gzip_writer_free(g);
	close(fd);
	strata_error_free(err);
	return rc;
}

static int assemble_path(const char *path, struct capture *cap, struct strata_error **err)
{
	char hex[65];
	int fd = open(path, O_RDONLY);
	int rc = tarsplit_assemble_sha256(fd, open_member, cap, hex, NULL, err);

	close(fd);
	return rc;
}

static void hostile(void)
{
	struct strata_error *err = NULL;
	struct capture cap = { 0 };
	char path[256];
	const char *good = "{\"type\":2,\"payload\":\"AAAA\",\"position\":0}\n"
			   "{\"type\":1,\"name\":\"f\",\"size\":4,\"payload\":\"YULClvAAAAA=\",\"position\":1}\n"
			   "{\"type\":2,\"payload\":\"\",\"position\":2}\n";

	snprintf(path, sizeof(path), "%s/h.json.gz", tmpdir);
	cap.m = calloc(1, sizeof(*cap.m));
	cap.n = 1;
	cap.m[0].name = strdup("f");
	strbuf_init(&cap.m[0].data, 0);
	strbuf_addstr(&cap.m[0].data, "bye\n");

	gz_to_file(path, good, strlen(good));
	ok(assemble_path(path, &cap, &err) == 0, "assemble a hand-written tar-split");
	strata_error_freep(&err);

	strbuf_reset(&cap.m[0].data);
	strbuf_addstr(&cap.m[0].data, "bye!");
	ok(assemble_path(path, &cap, &err) < 0 && err && err->code == STRATA_ERR_DIGEST_MISMATCH &&
		   strstr(err->msg, "f"),
	   "CRC mismatch reported naming the file");
	strata_error_freep(&err);
	strbuf_addstr(&cap.m[0].data, "x");
	ok(assemble_path(path, &cap, &err) < 0 && err && err->code == STRATA_ERR_DIGEST_MISMATCH,
	   "size mismatch reported");
	strata_error_freep(&err);

	/* A line beyond the limit is refused without reading it all into memory. */
	size_t big = TARSPLIT_MAX_LINE + 100;
	char *line = malloc(big);
	memset(line, 'A', big);
	memcpy(line, "{\"type\":2,\"payload\":\"", 21);
	gz_to_file(path, line, big);
	free(line);
	ok(assemble_path(path, &cap, &err) < 0 && err && err->code == STRATA_ERR_TOO_LARGE,
	   "over-long tar-split line refused");
	strata_error_freep(&err);

	const char *badpos = "{\"type\":2,\"payload\":\"AAAA\",\"position\":5}\n";
	gz_to_file(path, badpos, strlen(badpos));
	ok(assemble_path(path, &cap, &err) < 0 && err && err->code == STRATA_ERR_CORRUPT,
	   "position out of sequence refused");
	strata_error_freep(&err);

	int fd = open(path, O_WRONLY | O_TRUNC);
	if (write(fd, good, strlen(good)) < 0)
		ok(0, "write");
	close(fd);
	ok(assemble_path(path, &cap, &err) < 0 && err && strstr(err->msg, "gzip"),
	   "non-gzip tar-split refused");
	strata_error_freep(&err);
	capture_free(&cap);
}

int main(void)
{
	unsigned char be[8];
	uint64_t crc = tarsplit_crc64(0, "bye\n", 4);

	for (int i = 0; i < 8; i++)
		be[i] = (unsigned char)(crc >> (56 - 8 * i));
	ok(crc == 0x6142c296f0000000ull, "CRC-64/ISO of \"bye\\n\" is 6142c296f0000000");
	ok(tarsplit_crc64(tarsplit_crc64(0, "by", 2), "e\n", 2) == crc, "CRC-64 continues");
	ok(be[0] == 0x61 && be[7] == 0, "CRC-64 big-endian bytes");

	if (!mkdtemp(tmpdir))
		return 1;
	have_ref = system("tar-split --version >/dev/null 2>&1") == 0;
	corpus();
	generated();
	written();
	hostile();
	if (!getenv("NOHUGE")) huge_member();

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return tap_done();
}
