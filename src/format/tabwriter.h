/*
 * Go's text/tabwriter (elastic tabstops), byte for byte.  docker/cli uses
 * tabwriter.NewWriter(out, 10, 1, 3, ' ', 0): see tabwriter_init_docker().
 *
 * Text is a sequence of cells terminated by '\t' (or '\v'); a line ends at
 * '\n' ('\f' also forces a flush).  The last cell of a line belongs to no
 * column.  Consecutive lines that have a cell in column k form a column
 * block whose width is max(minwidth, widest cell + padding), widths counted
 * in runes.  Escaped text (between two 0xff bytes) counts as written.
 * HTML filtering (FilterHTML) is not implemented.
 */
#ifndef STRATA_FORMAT_TABWRITER_H
#define STRATA_FORMAT_TABWRITER_H

#include <stddef.h>

#include "util/strbuf.h"

enum tabwriter_flags {
	TABWRITER_STRIP_ESCAPE = 1 << 1,
	TABWRITER_ALIGN_RIGHT = 1 << 2,
	TABWRITER_DISCARD_EMPTY_COLUMNS = 1 << 3,
	TABWRITER_TAB_INDENT = 1 << 4,
	TABWRITER_DEBUG = 1 << 5,
};

struct tabwriter_cell {
	size_t size;  /* bytes */
	long width;   /* runes (Go int: can go negative on a broken escape) */
	int htab;     /* terminated by '\t' */
};

struct tabwriter_line {
	struct tabwriter_cell *cells;
	size_t n, alloc;
};

/* Fields are private; the struct is public so it can live on the stack. */
struct tabwriter {
	struct strbuf *out;
	size_t minwidth, tabwidth, padding;
	char padchar;
	unsigned flags;
	struct strbuf buf; /* text of all cells, without separators */
	size_t pos;        /* buf offset up to which cell.width is counted */
	struct tabwriter_cell cell;
	int in_escape;
	struct tabwriter_line *lines;
	size_t nlines, lines_alloc;
	size_t *widths;
	size_t nwidths, widths_alloc;
};

/* Formatted output is appended to out (also during write, like Go). */
void tabwriter_init(struct tabwriter *tw, struct strbuf *out, size_t minwidth,
		    size_t tabwidth, size_t padding, char padchar, unsigned flags);
/* docker/cli: minwidth 10, tabwidth 1, padding 3, ' ', no flags. */
void tabwriter_init_docker(struct tabwriter *tw, struct strbuf *out);
void tabwriter_write(struct tabwriter *tw, const char *text, size_t len);
void tabwriter_write_str(struct tabwriter *tw, const char *text);
/* Format and emit everything buffered (Go's Flush). */
void tabwriter_flush(struct tabwriter *tw);
void tabwriter_release(struct tabwriter *tw);

/* Runes in s[0..len) as Go's utf8.RuneCount counts them (bad bytes = 1). */
size_t tabwriter_rune_count(const char *s, size_t len);

#endif
