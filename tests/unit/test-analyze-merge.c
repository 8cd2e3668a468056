/*
 * The merge of layers without a store: cases a loaded image cannot hold
 * (strata load refuses a path twice in one layer) and the order rules that
 * the CLI test's images do not isolate: same-layer duplicates, a hard-link
 * group whose data-carrying name was overwritten, the first hiding entry in
 * tar order deciding "how", same-layer whiteouts, implied directories.
 */
#include <string.h>

#include "analyze/analyze-private.h"
#include "tap.h"
#include "tar/tar.h"

#define MAX_LAYERS 4

struct stack {
	struct alayer l[MAX_LAYERS];
	size_t n;
};

static void add(struct stack *s, size_t layer, const char *name, char type, const char *link, uint64_t size)
{
	if (layer >= s->n)
		s->n = layer + 1;
	if (alayer_add(&s->l[layer], name, type, link, strlen(link), size, size * 7, NULL) < 0)
		bail_out("alayer_add %s", name);
}

static void merge_all(struct stack *s)
{
	struct merge *m = merge_new(s->l, s->n);
	for (size_t i = 0; i < s->n; i++)
		merge_layer(m, i);
	merge_free(m);
}

/* The entry of layer at path (the last one when there are several). */
static const struct rec *find(const struct stack *s, size_t layer, const char *path, size_t nth)
{
	const struct alayer *l = &s->l[layer];
	for (size_t k = 0; k < l->nr; k++)
		if (!strcmp(rec_path(l, &l->recs[k]), path) && nth-- == 0)
			return &l->recs[k];
	bail_out("no %s in layer %zu", path, layer);
}

static uint64_t layer_size(const struct alayer *l, uint64_t *wasted)
{
	uint64_t size = 0;
	*wasted = 0;
	for (size_t k = 0; k < l->nr_inodes; k++) {
		if (!l->inodes[k].names)
			continue;
		size += l->inodes[k].size;
		if (l->inodes[k].hidden == l->inodes[k].names)
			*wasted += l->inodes[k].size;
	}
	return size;
}

static void release(struct stack *s)
{
	for (size_t i = 0; i < s->n; i++)
		alayer_release(&s->l[i]);
	memset(s, 0, sizeof(*s));
}

int main(void)
{
	struct stack s = { 0 };
	uint64_t w;

	/* a path twice in one layer: the last copy is the layer's */
	add(&s, 0, "a", TAR_REG, "", 100);
	add(&s, 0, "./a", TAR_REG, "", 200);
	add(&s, 1, ".wh.a", TAR_REG, "", 0);
	merge_all(&s);
	ok(layer_size(&s.l[0], &w) == 200 && w == 200, "duplicate: only the last copy counts, and is waste");
	ok(find(&s, 0, "a", 0)->flags & REC_SUPERSEDED, "duplicate: the first copy is superseded");
	ok(s.l[0].out.added == 2 && s.l[1].out.removed == 1, "duplicate: both entries counted as added");
	release(&s);

	/* the data name of a hard-link group overwritten in its own layer */
	add(&s, 0, "x", TAR_REG, "", 50);
	add(&s, 0, "y", TAR_LINK, "x", 0);
	add(&s, 0, "x", TAR_REG, "", 70);
	add(&s, 1, ".wh.y", TAR_REG, "", 0);
	merge_all(&s);
	ok(layer_size(&s.l[0], &w) == 120 && w == 50, "link group: kept by its other name, wasted when that goes");
	ok(s.l[0].recs[s.l[0].inodes[0].data_rec].path_len == 1 &&
	   !strcmp(rec_path(&s.l[0], &s.l[0].recs[s.l[0].inodes[0].data_rec]), "y"),
	   "link group: the bytes are carried by the kept name");
	release(&s);

	/* one layer hiding a tree two ways: the first in tar order decides */
	add(&s, 0, "d/", TAR_DIR, "", 0);
	add(&s, 0, "d/f", TAR_REG, "", 10);
	add(&s, 1, "d", TAR_REG, "", 5);
	add(&s, 1, ".wh.d", TAR_REG, "", 0);
	add(&s, 2, "d", TAR_REG, "", 5);
	merge_all(&s);
	ok(find(&s, 0, "d/f", 0)->hidden_by == 1 && find(&s, 0, "d/f", 0)->how == STRATA_HIDDEN_REPLACED,
	   "order: a file over the directory first: replaced");
	ok(find(&s, 1, "d", 0)->hidden_by == 2, "order: the same-layer whiteout left the new file visible");
	release(&s);
	add(&s, 0, "d/", TAR_DIR, "", 0);
	add(&s, 0, "d/f", TAR_REG, "", 10);
	add(&s, 1, ".wh.d", TAR_REG, "", 0);
	add(&s, 1, "d", TAR_REG, "", 5);
	merge_all(&s);
	ok(find(&s, 0, "d/f", 0)->how == STRATA_HIDDEN_REMOVED, "order: the whiteout first: removed");
	ok(s.l[1].out.modified == 1 && s.l[1].out.added == 0, "order: the re-added path is modified");
	release(&s);

	/* directories implied by deeper entries are visible; opaque at the root */
	add(&s, 0, "p/q/r", TAR_REG, "", 3);
	add(&s, 1, "p/", TAR_DIR, "", 0);
	add(&s, 1, "p/new", TAR_REG, "", 4);
	add(&s, 2, ".wh..wh..opq", TAR_REG, "", 0);
	add(&s, 2, "top", TAR_SYMLINK, "p/new", 0);
	merge_all(&s);
	ok(s.l[1].out.modified == 1 && s.l[1].out.added == 1, "implied: an implied directory is modified");
	ok(find(&s, 0, "p/q/r", 0)->hidden_by == 2 && find(&s, 0, "p/q/r", 0)->how == STRATA_HIDDEN_OPAQUE &&
	   find(&s, 1, "p/new", 0)->how == STRATA_HIDDEN_OPAQUE, "opaque root: every lower entry hidden");
	ok(find(&s, 2, "top", 0)->hidden_by < 0 && layer_size(&s.l[2], &w) == 5 && w == 0,
	   "opaque root: the layer's own entries stay; a symlink counts its target's length");
	release(&s);

	/* a non-directory written under a lower file replaces the file */
	add(&s, 0, "f", TAR_REG, "", 8);
	add(&s, 1, "f/g", TAR_REG, "", 1);
	merge_all(&s);
	ok(find(&s, 0, "f", 0)->hidden_by == 1 && find(&s, 0, "f", 0)->how == STRATA_HIDDEN_REPLACED,
	   "a path under a lower file replaces it");
	release(&s);
	return tap_done();
}
