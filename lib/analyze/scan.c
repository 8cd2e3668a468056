/*
 * A layer as the analysis needs it: every tar member reduced to its kind,
 * cleaned path, link target, size and CRC-64, read from tar-split alone.
 */
#include <string.h>

#include "analyze/analyze-private.h"
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

static int on_member(void *cookie, const struct tarsplit_member *m, struct strata_error **err)
{
	const struct tar_entry *e = m->entry;

	return alayer_add(cookie, e->name, e->typeflag, e->linkname, strlen(e->linkname), e->size,
			  m->crc64, err);
}

int analyze_scan_layer(int fd, struct alayer *l, struct strata_error **err)
{
	return tarsplit_scan(fd, on_member, l, err);
}
