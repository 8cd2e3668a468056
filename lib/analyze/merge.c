/*
 * The merged view, layer by layer: a tree of path components whose nodes
 * say what is visible there (an entry of some layer, or a directory that
 * only exists because something below it does).  Each layer j is applied
 * in three passes so that its whiteouts reach only lower layers, whatever
 * the order of its entries:
 *   1. look up every path entry: added or modified against the view below
 *      j, same-layer duplicates and hard-link groups (inodes);
 *   2. in tar order, hide what j removes, makes opaque or replaces: only
 *      entries of lower layers are in the tree yet, and an entry leaves the
 *      tree when first hidden, so the first hiding entry decides "how";
 *   3. put j's entries into the tree.
 * Children lookups go through one hash table keyed by (parent, name);
 * nodes left empty by a removal are freed, so repeated whiteouts of a big
 * tree do not walk it again.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze-private.h"
#include "util/alloc.h"

struct node {
	struct node *parent, *child, *next, *prev;
	const char *name;
	uint32_t name_len, hash;
	int32_t vis_layer; /* layer of what is visible here, -1 for nothing */
	uint32_t vis;      /* its entry, REC_NONE for a directory implied by entries below */
	int32_t touched;   /* the layer whose pass 1 last found this node */
	uint32_t cur;      /* that layer's latest entry here */
};

/* A table slot keeps the hash beside the node: probes touch no node until one matches. */
struct slot {
	uint32_t hash;
	struct node *node;
};

#define POOL_NODES 4096

struct pool {
	struct pool *next;
	struct node nodes[POOL_NODES];
};

struct merge {
	struct alayer *layers;
	size_t nr_layers;
	struct node root;
	struct slot *table;  /* open addressing, linear probing */
	size_t cap, used;
	struct pool *pools;
	size_t pool_used;
	struct node *free_nodes;
	struct node **nodes; /* pass 1's node of each entry of the current layer */
	size_t nodes_alloc;
	/* pass 1's last directory: tar order keeps a folder's entries together */
	const char *last_dir;
	size_t last_dir_len;
	struct node *last_dir_node;
};

static uint32_t hash_name(const struct node *parent, const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ ((uintptr_t)parent * 0x9e3779b97f4a7c15ull);

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 0x100000001b3ull;
	return (uint32_t)(h ^ h >> 32);
}

static void table_insert(struct merge *m, struct node *n)
{
	size_t i = n->hash & (m->cap - 1);

	while (m->table[i].node)
		i = (i + 1) & (m->cap - 1);
	m->table[i] = (struct slot){ n->hash, n };
}

static void table_grow(struct merge *m)
{
	struct slot *old = m->table;
	size_t old_cap = m->cap;

	m->cap = m->cap ? m->cap * 2 : 1024;
	m->table = xcalloc(m->cap, sizeof(*m->table));
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].node)
			table_insert(m, old[i].node);
	free(old);
}

/* Remove n, shifting back the entries of its probe run (no tombstones). */
static void table_delete(struct merge *m, struct node *n)
{
	size_t mask = m->cap - 1, i = n->hash & mask;

	while (m->table[i].node != n)
		i = (i + 1) & mask;
	for (size_t j = (i + 1) & mask; m->table[j].node; j = (j + 1) & mask) {
		size_t home = m->table[j].hash & mask;
		/* move j into the hole at i unless its home lies in (i, j] */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->table[i] = m->table[j];
			i = j;
		}
	}
	m->table[i] = (struct slot){ 0, NULL };
	m->used--;
}

static struct node *child(struct merge *m, struct node *parent, const char *name, size_t len,
			  bool create)
{
	uint32_t h = hash_name(parent, name, len);
	size_t i = h & (m->cap - 1);
	struct node *n;

	for (; m->table[i].node; i = (i + 1) & (m->cap - 1)) {
		n = m->table[i].node;
		if (m->table[i].hash == h && n->parent == parent && n->name_len == len && !memcmp(n->name, name, len))
			return n;
	}
	if (!create)
		return NULL;
	if (m->free_nodes) {
		n = m->free_nodes;
		m->free_nodes = n->next;
	} else {
		if (!m->pools || m->pool_used == POOL_NODES) {
			struct pool *p = xmalloc(sizeof(*p));
			p->next = m->pools;
			m->pools = p;
			m->pool_used = 0;
		}
		n = &m->pools->nodes[m->pool_used++];
	}
	*n = (struct node){ .parent = parent, .name = name, .name_len = (uint32_t)len, .hash = h,
			    .vis_layer = -1, .vis = REC_NONE, .touched = -1, .cur = REC_NONE };
	n->next = parent->child;
	if (n->next)
		n->next->prev = n;
	parent->child = n;
	if (2 * (m->used + 1) > m->cap)
		table_grow(m);
	table_insert(m, n);
	m->used++;
	return n;
}

static void node_free(struct merge *m, struct node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		n->parent->child = n->next;
	if (n->next)
		n->next->prev = n->prev;
	table_delete(m, n);
	n->next = m->free_nodes;
	m->free_nodes = n;
}

/* The node of a cleaned path ("" is the root). */
static struct node *walk(struct merge *m, const char *path, size_t len, bool create)
{
	struct node *n = &m->root;
	size_t i = 0;

	while (n && i < len) {
		const char *slash = memchr(path + i, '/', len - i);
		size_t end = slash ? (size_t)(slash - path) : len;
		n = child(m, n, path + i, end - i, create);
		i = end + 1;
	}
	return n;
}

/* Layer j's entry k hides the entry visible at n (if any). */
/* walk(create) for pass 1, starting from the previous entry's directory when it is the same. */
static struct node *walk_dir_cached(struct merge *m, const char *path, size_t len)
{
	const char *slash = memrchr(path, '/', len);
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	struct node *dir;

	if (m->last_dir_node && dlen == m->last_dir_len && !memcmp(path, m->last_dir, dlen)) {
		dir = m->last_dir_node;
	} else {
		dir = walk(m, path, dlen, true);
		m->last_dir = path;
		m->last_dir_len = dlen;
		m->last_dir_node = dir;
	}
	return slash ? child(m, dir, slash + 1, len - dlen - 1, true) : child(m, dir, path, len, true);
}

static void hide(struct merge *m, struct node *n, size_t j, uint32_t k, enum strata_hidden_how how)
{
	if (n->vis_layer >= 0 && n->vis != REC_NONE) {
		struct alayer *l = &m->layers[n->vis_layer];
		struct rec *r = &l->recs[n->vis];

		r->hidden_by = (int32_t)j;
		r->how = (uint8_t)how;
		r->replacer = how == STRATA_HIDDEN_REPLACED ? k : REC_NONE;
		if (r->inode != REC_NONE)
			l->inodes[r->inode].hidden++;
	}
	n->vis_layer = -1;
	n->vis = REC_NONE;
}

/* Hide everything below top (post-order, freeing what is left empty). */
static void wipe_below(struct merge *m, struct node *top, size_t j, uint32_t k, enum strata_hidden_how how)
{
	struct node *x = top->child, *next;

	if (!x)
		return;
	while (x->child)
		x = x->child;
	for (;;) {
		if (x->next) {
			next = x->next;
			while (next->child)
				next = next->child;
		} else {
			next = x->parent;
		}
		hide(m, x, j, k, how);
		if (!x->child && x->touched != (int32_t)j)
			node_free(m, x);
		if (x == top || next == top)
			break;
		x = next;
	}
}

static bool rec_is_path(const struct rec *r)
{
	return r->kind <= REC_OTHER;
}

static uint32_t new_inode(struct alayer *l, uint32_t k)
{
	struct rec *r = &l->recs[k];

	if (l->nr_inodes == l->alloc_inodes) {
		l->alloc_inodes = l->alloc_inodes ? l->alloc_inodes * 2 : 64;
		l->inodes = xrealloc(l->inodes, l->alloc_inodes * sizeof(*l->inodes));
	}
	l->inodes[l->nr_inodes] = (struct inode){ .size = r->size, .crc = r->crc, .data_rec = k,
						  .names = 1, .kind = r->kind };
	return (uint32_t)l->nr_inodes++;
}

static void pass_lookup(struct merge *m, size_t j)
{
	struct alayer *l = &m->layers[j];

	m->last_dir_node = NULL; /* pass 2 may have freed it */
	for (uint32_t k = 0; k < l->nr; k++) {
		struct rec *r = &l->recs[k];
		struct node *n;

		if (!rec_is_path(r)) {
			l->out.removed++;
			continue;
		}
		n = m->nodes[k] = walk_dir_cached(m, rec_path(l, r), r->path_len);
		if (n->vis_layer >= 0)
			l->out.modified++;
		else
			l->out.added++;
		if (r->kind == REC_REG || r->kind == REC_SYMLINK) {
			r->inode = new_inode(l, k);
		} else if (r->kind == REC_LINK) {
			struct node *t = walk(m, l->arena.buf + r->link_off, r->link_len, false);
			/* a link to a lower layer's file has no bytes of its own here */
			if (t && t->touched == (int32_t)j && t->cur != REC_NONE &&
			    (r->inode = l->recs[t->cur].inode) != REC_NONE)
				l->inodes[r->inode].names++;
		}
		if (n->touched == (int32_t)j && n->cur != REC_NONE) {
			struct rec *old = &l->recs[n->cur];
			old->flags |= REC_SUPERSEDED;
			if (old->inode != REC_NONE)
				l->inodes[old->inode].names--;
		}
		n->touched = (int32_t)j;
		n->cur = k;
	}
}

static void pass_hide(struct merge *m, size_t j)
{
	struct alayer *l = &m->layers[j];

	for (uint32_t k = 0; k < l->nr; k++) {
		struct rec *r = &l->recs[k];
		struct node *n;

		switch (r->kind) {
		case REC_WHMETA:
			break;
		case REC_WHITEOUT:
			n = walk(m, rec_path(l, r), r->path_len, false);
			if (n) {
				wipe_below(m, n, j, k, STRATA_HIDDEN_REMOVED);
				hide(m, n, j, k, STRATA_HIDDEN_REMOVED);
			}
			break;
		case REC_OPAQUE:
			n = walk(m, rec_path(l, r), r->path_len, false);
			if (n)
				wipe_below(m, n, j, k, STRATA_HIDDEN_OPAQUE);
			break;
		default:
			n = m->nodes[k];
			/* a directory over a directory keeps the children */
			if (n->vis_layer >= 0 && (r->kind != REC_DIR || n->vis != REC_NONE))
				hide(m, n, j, k, STRATA_HIDDEN_REPLACED);
			if (r->kind != REC_DIR)
				wipe_below(m, n, j, k, STRATA_HIDDEN_REPLACED);
			for (struct node *a = n->parent; a != &m->root; a = a->parent)
				if (a->vis_layer >= 0 && a->vis != REC_NONE &&
				    m->layers[a->vis_layer].recs[a->vis].kind != REC_DIR)
					hide(m, a, j, k, STRATA_HIDDEN_REPLACED);
			break;
		}
	}
}

static void pass_apply(struct merge *m, size_t j)
{
	struct alayer *l = &m->layers[j];

	for (uint32_t k = 0; k < l->nr; k++) {
		struct rec *r = &l->recs[k];
		struct node *n;

		if (!rec_is_path(r) || (r->flags & REC_SUPERSEDED))
			continue;
		n = m->nodes[k];
		n->vis_layer = (int32_t)j;
		n->vis = k;
		for (struct node *a = n->parent; a != &m->root && a->vis_layer < 0; a = a->parent)
			a->vis_layer = (int32_t)j;
		/* the bytes of a group whose first name was overwritten move to a kept name */
		if (r->inode != REC_NONE && (l->recs[l->inodes[r->inode].data_rec].flags & REC_SUPERSEDED))
			l->inodes[r->inode].data_rec = k;
	}
}

struct merge *merge_new(struct alayer *layers, size_t n)
{
	struct merge *m = xcalloc(1, sizeof(*m));

	m->layers = layers;
	m->nr_layers = n;
	m->root.vis_layer = -1;
	m->root.vis = REC_NONE;
	m->root.touched = -1;
	table_grow(m);
	return m;
}

void merge_layer(struct merge *m, size_t j)
{
	struct alayer *l = &m->layers[j];

	if (l->nr > m->nodes_alloc) {
		m->nodes_alloc = l->nr;
		free(m->nodes);
		m->nodes = xmalloc(m->nodes_alloc * sizeof(*m->nodes));
	}
	pass_lookup(m, j);
	pass_hide(m, j);
	pass_apply(m, j);
}

void merge_free(struct merge *m)
{
	if (!m)
		return;
	while (m->pools) {
		struct pool *p = m->pools;
		m->pools = p->next;
		free(p);
	}
	free(m->table);
	free(m->nodes);
	free(m);
}
