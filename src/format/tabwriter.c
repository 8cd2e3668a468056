/* Go text/tabwriter semantics, written from its documented behaviour. */
#include <stdlib.h>
#include <string.h>

#include "format/tabwriter.h"
#include "util/alloc.h"

#define TW_ESCAPE 0xff

size_t tabwriter_rune_count(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t need;
		unsigned char lo = 0x80, hi = 0xbf;

		n++;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0; /* no overlong forms */
			else if (c == 0xed)
				hi = 0x9f; /* no surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f; /* <= U+10FFFF */
		} else {
			i++; /* invalid lead byte: one rune */
			continue;
		}
		/* A short or broken sequence counts its lead byte as one rune
		 * and decoding resumes right after it (utf8.RuneCount). */
		if (i + need >= len) {
			i++;
			continue;
		}
		if (s[i + 1] < lo || s[i + 1] > hi) {
			i++;
			continue;
		}
		{
			size_t k;

			for (k = 2; k <= need; k++)
				if (s[i + k] < 0x80 || s[i + k] > 0xbf)
					break;
			if (k <= need) {
				i++;
				continue;
			}
		}
		i += need + 1;
	}
	return n;
}

static void add_line(struct tabwriter *tw)
{
	if (tw->nlines == tw->lines_alloc) {
		size_t old = tw->lines_alloc;

		ALLOC_GROW(tw->lines, tw->nlines + 1, tw->lines_alloc);
		memset(tw->lines + old, 0, (tw->lines_alloc - old) * sizeof(*tw->lines));
	}
	/* Reused slots keep their cells array; only the count restarts. */
	tw->lines[tw->nlines++].n = 0;
}

static void reset(struct tabwriter *tw)
{
	strbuf_reset(&tw->buf);
	tw->pos = 0;
	memset(&tw->cell, 0, sizeof(tw->cell));
	tw->in_escape = 0;
	tw->nlines = 0;
	tw->nwidths = 0;
	add_line(tw);
}

void tabwriter_init(struct tabwriter *tw, struct strbuf *out, size_t minwidth,
		    size_t tabwidth, size_t padding, char padchar, unsigned flags)
{
	memset(tw, 0, sizeof(*tw));
	tw->out = out;
	tw->minwidth = minwidth;
	tw->tabwidth = tabwidth;
	tw->padding = padding;
	tw->padchar = padchar;
	tw->flags = flags;
	if (padchar == '\t') {
		/* Go: tab padding implies left alignment. */
		tw->flags &= ~(unsigned)TABWRITER_ALIGN_RIGHT;
	}
	strbuf_init(&tw->buf, 0);
	reset(tw);
}

void tabwriter_init_docker(struct tabwriter *tw, struct strbuf *out)
{
	tabwriter_init(tw, out, 10, 1, 3, ' ', 0);
}

void tabwriter_release(struct tabwriter *tw)
{
	for (size_t i = 0; i < tw->lines_alloc; i++)
		free(tw->lines[i].cells);
	free(tw->lines);
	free(tw->widths);
	strbuf_release(&tw->buf);
	memset(tw, 0, sizeof(*tw));
}

static void append_text(struct tabwriter *tw, const char *s, size_t len)
{
	strbuf_add(&tw->buf, s, len);
	tw->cell.size += len;
}

static void update_width(struct tabwriter *tw)
{
	tw->cell.width += (long)tabwriter_rune_count(tw->buf.buf + tw->pos,
						     tw->buf.len - tw->pos);
	tw->pos = tw->buf.len;
}

static size_t terminate_cell(struct tabwriter *tw, int htab)
{
	struct tabwriter_line *line = &tw->lines[tw->nlines - 1];

	tw->cell.htab = htab;
	ALLOC_GROW(line->cells, line->n + 1, line->alloc);
	line->cells[line->n++] = tw->cell;
	memset(&tw->cell, 0, sizeof(tw->cell));
	return line->n;
}

static void end_escape(struct tabwriter *tw)
{
	update_width(tw);
	if (!(tw->flags & TABWRITER_STRIP_ESCAPE))
		tw->cell.width -= 2; /* the two escape bytes take no room */
	tw->pos = tw->buf.len;
	tw->in_escape = 0;
}

static void write_padding(struct tabwriter *tw, long textw, long cellw, int use_tabs)
{
	if (tw->padchar == '\t' || use_tabs) {
		long tabw = (long)tw->tabwidth, n;

		if (tabw == 0)
			return; /* tabs have no width: no padding possible */
		cellw = (cellw + tabw - 1) / tabw * tabw;
		n = cellw - textw;
		if (n > 0)
			strbuf_addchars(tw->out, '\t', (size_t)((n + tabw - 1) / tabw));
		return;
	}
	if (cellw > textw)
		strbuf_addchars(tw->out, tw->padchar, (size_t)(cellw - textw));
}

static size_t write_lines(struct tabwriter *tw, size_t pos, size_t line0, size_t line1)
{
	for (size_t i = line0; i < line1; i++) {
		const struct tabwriter_line *line = &tw->lines[i];
		int use_tabs = !!(tw->flags & TABWRITER_TAB_INDENT);

		for (size_t j = 0; j < line->n; j++) {
			const struct tabwriter_cell *c = &line->cells[j];

			if (j > 0 && (tw->flags & TABWRITER_DEBUG))
				strbuf_addch(tw->out, '|');
			if (c->size == 0) {
				if (j < tw->nwidths)
					write_padding(tw, c->width, (long)tw->widths[j], use_tabs);
				continue;
			}
			use_tabs = 0;
			if (!(tw->flags & TABWRITER_ALIGN_RIGHT)) {
				strbuf_add(tw->out, tw->buf.buf + pos, c->size);
				pos += c->size;
				if (j < tw->nwidths)
					write_padding(tw, c->width, (long)tw->widths[j], 0);
			} else {
				if (j < tw->nwidths)
					write_padding(tw, c->width, (long)tw->widths[j], 0);
				strbuf_add(tw->out, tw->buf.buf + pos, c->size);
				pos += c->size;
			}
		}
		if (i + 1 == tw->nlines) {
			/* last buffered line has no newline yet: emit the open cell */
			strbuf_add(tw->out, tw->buf.buf + pos, tw->cell.size);
			pos += tw->cell.size;
		} else {
			strbuf_addch(tw->out, '\n');
		}
	}
	return pos;
}

/*
 * Go's format() recurses once per column; this is the same walk with an
 * explicit stack so a line with many thousand cells cannot exhaust the C
 * stack.  Frame k formats lines [line0, line1) knowing the widths of
 * columns 0..k-1; it scans for the next line having a cell in column k,
 * measures that column block and descends into it.
 */
struct tw_frame {
	size_t line0, cur, line1;
};

static void format_all(struct tabwriter *tw)
{
	struct tw_frame *stack = NULL;
	size_t depth = 0, alloc = 0, pos = 0;

	ALLOC_GROW(stack, 1, alloc);
	stack[depth++] = (struct tw_frame){ 0, 0, tw->nlines };
	while (depth > 0) {
		struct tw_frame *f = &stack[depth - 1];
		size_t column = tw->nwidths, end, width;
		int discardable = 1;

		while (f->cur < f->line1 && column + 1 >= tw->lines[f->cur].n)
			f->cur++;
		if (f->cur >= f->line1) {
			pos = write_lines(tw, pos, f->line0, f->line1);
			depth--;
			if (depth > 0) {
				tw->nwidths--; /* pop this block's width */
				f = &stack[depth - 1];
				f->line0 = f->cur;
				f->cur++;
			}
			continue;
		}
		/* print the lines before the block, then measure the block */
		pos = write_lines(tw, pos, f->line0, f->cur);
		f->line0 = f->cur;
		width = tw->minwidth;
		for (end = f->cur; end < f->line1; end++) {
			const struct tabwriter_line *line = &tw->lines[end];
			const struct tabwriter_cell *c;

			if (column + 1 >= line->n)
				break;
			c = &line->cells[column];
			if (c->width + (long)tw->padding > (long)width)
				width = (size_t)(c->width + (long)tw->padding);
			if (c->width > 0 || c->htab)
				discardable = 0;
		}
		if (discardable && (tw->flags & TABWRITER_DISCARD_EMPTY_COLUMNS))
			width = 0;
		ALLOC_GROW(tw->widths, tw->nwidths + 1, tw->widths_alloc);
		tw->widths[tw->nwidths++] = width;
		{
			struct tw_frame child = { f->cur, f->cur, end };

			f->cur = end;
			ALLOC_GROW(stack, depth + 1, alloc);
			stack[depth++] = child;
		}
	}
	free(stack);
}

static void flush_internal(struct tabwriter *tw)
{
	if (tw->cell.size > 0) {
		if (tw->in_escape)
			end_escape(tw); /* terminate even if incomplete */
		terminate_cell(tw, 0);
	}
	format_all(tw);
	reset(tw);
}

void tabwriter_flush(struct tabwriter *tw)
{
	flush_internal(tw);
}

void tabwriter_write(struct tabwriter *tw, const char *text, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (tw->in_escape) {
			if (ch == TW_ESCAPE) {
				size_t j = i + 1;

				if (tw->flags & TABWRITER_STRIP_ESCAPE)
					j = i;
				append_text(tw, text + n, j - n);
				n = i + 1;
				end_escape(tw);
			}
			continue;
		}
		if (ch == '\t' || ch == '\v' || ch == '\n' || ch == '\f') {
			size_t ncells;

			append_text(tw, text + n, i - n);
			update_width(tw);
			n = i + 1;
			ncells = terminate_cell(tw, ch == '\t');
			if (ch == '\n' || ch == '\f') {
				add_line(tw);
				/* A one-cell line cannot influence later columns,
				 * so everything so far can be written out. */
				if (ch == '\f' || ncells == 1) {
					flush_internal(tw);
					if (ch == '\f' && (tw->flags & TABWRITER_DEBUG))
						strbuf_addstr(tw->out, "---\n");
				}
			}
		} else if (ch == TW_ESCAPE) {
			append_text(tw, text + n, i - n);
			update_width(tw);
			n = i;
			if (tw->flags & TABWRITER_STRIP_ESCAPE)
				n++;
			tw->in_escape = 1;
		}
	}
	append_text(tw, text + n, len - n);
}

void tabwriter_write_str(struct tabwriter *tw, const char *text)
{
	tabwriter_write(tw, text, strlen(text));
}
