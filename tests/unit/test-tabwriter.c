/* Go text/tabwriter behaviour, and docker tables rebuilt from real output. */
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "format/tabwriter.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/alloc.h"

static void tw_case(size_t minw, size_t tabw, size_t pad, char padchar, unsigned flags,
		    const char *in, const char *want, const char *name)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	struct tabwriter tw;

	tabwriter_init(&tw, &out, minw, tabw, pad, padchar, flags);
	tabwriter_write_str(&tw, in);
	tabwriter_flush(&tw);
	tabwriter_release(&tw);
	is_str(out.buf, want, "%s", name);
}

static void docker_case(const char *in, const char *want, const char *name)
{
	tw_case(10, 1, 3, ' ', 0, in, want, name);
}

/* Byte offset of rune number r in s (or strlen when s is shorter). */
static size_t rune_offset(const char *s, size_t r)
{
	size_t i = 0, len = strlen(s);

	while (r > 0 && i < len) {
		i++;
		while (i < len && ((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		r--;
	}
	return i;
}

/*
 * Cut a docker table back into cells: column starts are where the header
 * titles start (titles are separated by 3 or more spaces); every cell but
 * the last loses its padding.  Feed the cells to the tabwriter and compare
 * the result with the file.
 */
static void rebuild_table(const char *path)
{
	_cleanup_free_ char *data = NULL;
	_cleanup_strbuf_ struct strbuf in = STRBUF_INIT;
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	size_t starts[32], ncol = 0, len = 0;
	struct tabwriter tw;
	char *line, *save = NULL, *copy;
	FILE *f = fopen(path, "r");

	if (!f) {
		ok(0, "reference table %s readable", path);
		return;
	}
	{
		struct strbuf sb = STRBUF_INIT;
		char chunk[4096];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			strbuf_add(&sb, chunk, n);
		fclose(f);
		data = strbuf_detach(&sb, &len);
	}
	copy = xstrdup(data);
	/* header: find title starts (in runes; headers are ASCII) */
	{
		const char *h = copy;
		size_t i = 0, hl = strcspn(h, "\n");

		while (i < hl && ncol < 32) {
			starts[ncol++] = i;
			while (i < hl && !(h[i] == ' ' && i + 2 < hl && h[i + 1] == ' ' &&
					   h[i + 2] == ' '))
				i++;
			while (i < hl && h[i] == ' ')
				i++;
		}
	}
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		for (size_t c = 0; c < ncol; c++) {
			size_t b = rune_offset(line, starts[c]);
			size_t e = c + 1 < ncol ? rune_offset(line, starts[c + 1]) : strlen(line);

			if (c + 1 < ncol) {
				while (e > b && line[e - 1] == ' ')
					e--;
				strbuf_add(&in, line + b, e - b);
				strbuf_addch(&in, '\t');
			} else {
				strbuf_add(&in, line + b, e - b);
			}
		}
		strbuf_addch(&in, '\n');
	}
	free(copy);
	tabwriter_init_docker(&tw, &out);
	/* feed in two pieces to exercise buffering across writes */
	tabwriter_write(&tw, in.buf, in.len / 2);
	tabwriter_write(&tw, in.buf + in.len / 2, in.len - in.len / 2);
	tabwriter_flush(&tw);
	tabwriter_release(&tw);
	ok(out.len == len && !memcmp(out.buf, data, len), "rebuilt %s byte for byte", path);
	if (out.len != len || memcmp(out.buf, data, len))
		printf("# got:\n%s# want:\n%s", out.buf, data);
}

int main(void)
{
	static const char *const files[] = {
		"20.10/images.txt",	     "20.10/images--digests.txt",
		"20.10/images--no-trunc.txt", "20.10/images-a.txt",
		"20.10/images-a-pulled.txt", "20.10/images--digests-pulled.txt",
		"20.10/images-q.txt",	     "20.10/history.txt",
		"20.10/history--no-trunc.txt", "20.10/history-H=false.txt",
		"20.10/history-loaded.txt",  "20.10/history-pulled.txt",
		"28/images.txt",	     "28/history.txt",
		"28/history-H=false.txt",    "28/images--digests.txt",
	};

	ok(tabwriter_rune_count("abc", 3) == 3, "runes ascii");
	ok(tabwriter_rune_count("a\xe2\x80\xa6", 4) == 2, "runes ellipsis");
	ok(tabwriter_rune_count("\xe2\x80", 2) == 2, "runes truncated sequence");
	ok(tabwriter_rune_count("\xff\xc0\xaf", 3) == 3, "runes invalid bytes");
	ok(tabwriter_rune_count("\xed\xa0\x80", 3) == 3, "runes surrogate is invalid");
	ok(tabwriter_rune_count("\xf0\x9f\x98\x80x", 5) == 2, "runes 4-byte");

	/* Go's package examples. */
	tw_case(0, 8, 0, '\t', 0, "a\tb\tc\td\t.\n123\t12345\t1234567\t123456789\t.\n",
		"a\tb\tc\td\t\t.\n123\t12345\t1234567\t123456789\t.\n", "tab padding");
	tw_case(5, 0, 1, ' ', TABWRITER_ALIGN_RIGHT,
		"a\tb\tc\td\t.\n123\t12345\t1234567\t123456789\t.\n",
		"    a     b       c         d.\n  123 12345 1234567 123456789.\n",
		"align right");
	tw_case(0, 0, 3, '-', TABWRITER_ALIGN_RIGHT | TABWRITER_DEBUG,
		"a\tb\taligned\t\naa\tbb\taligned\t\naaa\tbbb\tunaligned\naaaa\tbbbb\taligned\t\n",
		"------a|------b|---aligned|\n-----aa|-----bb|---aligned|\n"
		"----aaa|----bbb|unaligned\n---aaaa|---bbbb|---aligned|\n",
		"trailing tab / column blocks");
	tw_case(0, 8, 1, '.', TABWRITER_DISCARD_EMPTY_COLUMNS,
		"a\v\vb\nc\v\vd\n", "a.b\nc.d\n", "discard empty soft columns");
	tw_case(0, 8, 1, '.', TABWRITER_DISCARD_EMPTY_COLUMNS,
		"a\t\tb\nc\t\td\n", "a..b\nc..d\n", "an htab column is never discarded");
	tw_case(0, 8, 1, '.', 0, "a\v\vb\nc\v\vd\n", "a..b\nc..d\n",
		"keep empty columns (minwidth 0 + padding 1 = 1)");

	/* docker settings */
	docker_case("", "", "empty input");
	docker_case("abc", "abc", "no newline");
	docker_case("a\tb\n", "a         b\n", "minwidth 10");
	docker_case("REPOSITORY\tTAG\nbusybox\tlocal\n",
		    "REPOSITORY   TAG\nbusybox      local\n", "padding 3");
	docker_case("A\tB\t\nxx\tyy\t\n", "A         B         \nxx        yy        \n",
		    "empty last cell keeps padding");
	docker_case("A\tB\n\t\n", "A         B\n          \n", "empty cells padded");
	docker_case("a\xe2\x80\xa6\tb\n", "a\xe2\x80\xa6        b\n", "width in runes");
	docker_case("aaaaaaaaaaaaaaaa\tb\nsingle\nc\td\n",
		    "aaaaaaaaaaaaaaaa   b\nsingle\nc         d\n",
		    "a one-cell line ends the column block");
	docker_case("a\tb\tc\nlonger-cell-xx\td\n",
		    "a                b         c\nlonger-cell-xx   d\n", "ragged lines");
	docker_case("x\vy\n", "x         y\n", "vertical tab terminates a cell");
	docker_case("a\tb\fc\td\n", "a         b\nc         d\n", "form feed flushes");
	docker_case("\xff\t\xff\tb\n", "\xff\t\xff         b\n", "escaped text is opaque");
	tw_case(0, 8, 1, ' ', TABWRITER_STRIP_ESCAPE, "\xff" "ab\xff\tc\n", "ab c\n",
		"strip escape");
	tw_case(0, 8, 1, '\t', TABWRITER_TAB_INDENT, "\tx\n\t\ty\n", "\tx\n\t\ty\n",
		"tab indent");

	/* write() auto-flushes on one-cell lines: output before flush() */
	{
		_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
		struct tabwriter tw;

		tabwriter_init_docker(&tw, &out);
		tabwriter_write_str(&tw, "a\tb\nplain\n");
		is_str(out.buf, "a         b\nplain\n", "flushed at one-cell line");
		tabwriter_write_str(&tw, "c\td");
		tabwriter_flush(&tw);
		is_str(out.buf, "a         b\nplain\nc         d", "then the rest");
		tabwriter_release(&tw);
	}

	/* many cells on a line: no deep recursion */
	{
		_cleanup_strbuf_ struct strbuf in = STRBUF_INIT;
		_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
		struct tabwriter tw;

		for (int i = 0; i < 200000; i++)
			strbuf_addstr(&in, "x\t");
		strbuf_addstr(&in, "end\n");
		tabwriter_init(&tw, &out, 0, 1, 1, ' ', 0);
		tabwriter_write(&tw, in.buf, in.len);
		tabwriter_flush(&tw);
		tabwriter_release(&tw);
		ok(out.len == 200000 * 2 + 4 && !strcmp(out.buf + out.len - 6, "x end\n"),
		   "200000 columns");
	}

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		_cleanup_free_ char *p = xasprintf("%s/docker-20.10/outputs/%s", fixtures_dir(), files[i]);

		rebuild_table(p);
	}
	return tap_done();
}
