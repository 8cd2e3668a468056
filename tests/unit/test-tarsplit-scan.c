/*
 * tar-split scan: the headers read back from a tar-split file alone match
 * what the tar reader saw in the tar itself (names incl. PAX long and
 * non-UTF-8 ones, types, link targets, modes, sizes) and the recorded
 * CRC-64 of each member's data; a damaged file fails with CORRUPT.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memio.h"
#include "tap.h"
#include "tarsplit/tarsplit.h"
#include "util/strbuf.h"

#define MAX_SEEN 64

struct seen {
	char name[8192], link[256];
	char type;
	uint32_t mode;
	uint64_t size, crc;
};

struct log {
	struct seen s[MAX_SEEN];
	size_t n;
};

static void record(struct log *l, const struct tar_entry *e, uint64_t size, uint64_t crc)
{
	if (l->n == MAX_SEEN)
		return;
	struct seen *s = &l->s[l->n++];
	snprintf(s->name, sizeof(s->name), "%s", e->name);
	snprintf(s->link, sizeof(s->link), "%s", e->linkname);
	s->type = e->typeflag;
	s->mode = e->mode;
	s->size = size;
	s->crc = crc;
}

static int on_entry(void *cookie, const struct tar_entry *e, struct tar_reader *r,
		    struct strata_error **err)
{
	char buf[4096];
	uint64_t crc = 0, got = 0;
	ssize_t n;

	while ((n = tar_reader_read_data(r, buf, sizeof(buf), err)) > 0) {
		crc = tarsplit_crc64(crc, buf, (size_t)n);
		got += (uint64_t)n;
	}
	if (n < 0)
		return (int)n;
	record(cookie, e, got, got ? crc : 0);
	return 0;
}

static int on_member(void *cookie, const struct tarsplit_member *m, struct strata_error **err)
{
	/* The recorded size is the header's claim; compare the data size. */
	record(cookie, m->entry, m->entry->size, m->entry->size ? m->crc64 : 0);
	return 0;
}

static void add(struct tar_writer *w, const char *name, char type, const char *link,
		uint32_t mode, const char *data, size_t len)
{
	struct strata_error *err = NULL;
	struct tar_entry e = { .name = (char *)name, .linkname = (char *)link, .typeflag = type,
			       .mode = mode, .size = len, .uname = "", .gname = "" };

	if (tar_writer_add(w, &e, &err) < 0 || (len && tar_writer_write_data(w, data, len, &err) < 0))
		ok(0, "write %s: %s", name, err ? err->msg : "?");
	strata_error_freep(&err);
}

int main(void)
{
	struct strata_error *err = NULL;
	struct strbuf tar = STRBUF_INIT;
	struct tar_writer *w = tar_writer_new(sb_write, &tar);
	static struct log want, got;
	char tmpl[] = "/tmp/strata-scan.XXXXXX";
	char longname[300], *big = malloc(200000);
	int fd, rc;

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	for (int i = 0; i < 200000; i++)
		big[i] = (char)(i * 7);
	add(w, "d/", TAR_DIR, "", 0755, NULL, 0);
	add(w, "d/empty", TAR_REG, "", 0644, NULL, 0);
	add(w, "d/big", TAR_REG, "", 0600, big, 200000);
	add(w, "d/hl", TAR_LINK, "d/big", 0600, NULL, 0);
	add(w, "d/sym", TAR_SYMLINK, "big", 0777, NULL, 0);
	add(w, "d/.wh.gone", TAR_REG, "", 0644, NULL, 0);
	add(w, longname, TAR_REG, "", 0644, "hello\n", 6);
	add(w, "bad\xff\nname", TAR_REG, "", 0644, "x", 1);
	add(w, "fifo", TAR_FIFO, "", 0644, NULL, 0);
	if (tar_writer_finish(w, &err) < 0)
		ok(0, "finish");
	tar_writer_free(w);

	/* The hard link claims 5 data bytes in its header (as some tars do); none follow. */
	for (size_t off = 0; off + 512 <= tar.len; off += 512) {
		unsigned char *h = (unsigned char *)tar.buf + off;
		unsigned sum = 0;

		if (strcmp((char *)h, "d/hl") || h[156] != TAR_LINK)
			continue;
		memcpy(h + 124, "00000000005", 12);
		memset(h + 148, ' ', 8);
		for (int i = 0; i < 512; i++)
			sum += h[i];
		snprintf((char *)h + 148, 8, "%06o", sum);
	}
	fd = mkstemp(tmpl);
	struct mem m = { (unsigned char *)tar.buf, tar.len, 0, 1000 };
	struct tarsplit_ingest_result res;
	rc = tarsplit_ingest(mem_read, &m, fd, on_entry, &want, &res, &err);
	ok(rc == 0 && want.n == 9, "ingest saw 9 members");

	lseek(fd, 0, SEEK_SET);
	rc = tarsplit_scan(fd, on_member, &got, &err);
	ok(rc == 0, "scan: %s", err ? err->msg : "ok");
	strata_error_freep(&err);
	ok(got.n == want.n, "scan saw %zu members, want %zu", got.n, want.n);
	for (size_t i = 0; i < want.n && i < got.n; i++) {
		const struct seen *a = &got.s[i], *b = &want.s[i];
		ok(!strcmp(a->name, b->name) && !strcmp(a->link, b->link) && a->type == b->type &&
			   a->mode == b->mode && a->size == b->size && a->crc == b->crc,
		   "member %zu (type %c) matches", i, b->type);
	}

	/* A tar-split cut short inside its first line. */
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd),
			 "gzip -dc <%s | head -c 300 | gzip >%s.cut", tmpl, tmpl);
		ok(system(cmd) == 0, "made a truncated tar-split");
		snprintf(cmd, sizeof(cmd), "%s.cut", tmpl);
		int cfd = open(cmd, O_RDONLY);
		static struct log cut;
		rc = tarsplit_scan(cfd, on_member, &cut, &err);
		ok(rc < 0 && err && err->code == STRATA_ERR_CORRUPT, "truncated: CORRUPT (%s)",
		   err ? err->msg : "no error");
		strata_error_freep(&err);
		close(cfd);
		unlink(cmd);
	}
	close(fd);
	unlink(tmpl);
	free(big);
	strbuf_release(&tar);
	return tap_done();
}
