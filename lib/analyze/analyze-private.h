/*
 * The analysis in two steps: each layer's tar-split is scanned into a
 * flat list of entries (independent per layer, so layers are scanned in
 * parallel), then the lists are merged base first into the file tree that
 * decides what each later layer hides.
 */
#ifndef STRATA_ANALYZE_PRIVATE_H
#define STRATA_ANALYZE_PRIVATE_H

#include <stdint.h>

#include "strata/analyze.h"
#include "util/strbuf.h"

#define REC_NONE UINT32_MAX

enum rec_kind {
	REC_DIR,
	REC_REG,      /* regular file: an inode with data */
	REC_LINK,     /* hard link: joins its target's inode in the same layer */
	REC_SYMLINK,  /* an inode whose size is the target's length */
	REC_OTHER,    /* device, fifo, unknown type: size 0 */
	REC_WHITEOUT, /* .wh.NAME: path is the removed path */
	REC_OPAQUE,   /* DIR/.wh..wh..opq: path is DIR */
	REC_WHMETA,   /* another .wh..wh.* name (aufs metadata), hides nothing */
};

enum rec_flags {
	REC_SUPERSEDED = 1 << 0, /* a later entry of the same layer wrote the same path */
};

/* One tar member of a layer; strings live in the layer's arena. */
struct rec {
	uint32_t path_off, path_len; /* cleaned: no leading '/', no "." or ".." parts */
	uint32_t link_off, link_len; /* hard link target (cleaned) or symlink target (raw) */
	uint64_t size;               /* data bytes of a regular file */
	uint64_t crc;                /* its tar-split CRC-64 */
	uint8_t kind, flags, how;
	int32_t hidden_by;           /* the first later layer hiding it, -1 while visible */
	uint32_t replacer;           /* entry of hidden_by that replaced it, REC_NONE */
	uint32_t inode;              /* index in the layer's inodes, REC_NONE */
};

struct inode {
	uint64_t size, crc;
	uint32_t data_rec;   /* the entry that carries the bytes */
	uint32_t names;      /* entries of the layer naming it (superseded ones left out) */
	uint32_t hidden;     /* of those, the hidden ones */
	uint8_t kind;        /* REC_REG or REC_SYMLINK */
};

struct alayer {
	struct strbuf arena;
	struct rec *recs;
	size_t nr, alloc;
	struct inode *inodes;
	size_t nr_inodes, alloc_inodes;
	struct strata_error *err; /* the scan's failure */
	struct strata_analysis_layer out;
};

/* Append a member (raw tar name, link target) to a layer: classified and cleaned. */
int alayer_add(struct alayer *l, const char *name, char typeflag, const char *link, size_t link_len,
	       uint64_t size, uint64_t crc, struct strata_error **err);
void alayer_release(struct alayer *l);

/* Scan the tar-split file open at fd into l. */
int analyze_scan_layer(int fd, struct alayer *l, struct strata_error **err);

/* The merge of layers[0..n): fills every rec's hiding, inodes and layer counts. */
struct merge;
struct merge *merge_new(struct alayer *layers, size_t n);
void merge_layer(struct merge *m, size_t j);
void merge_free(struct merge *m);

static inline const char *rec_path(const struct alayer *l, const struct rec *r)
{
	return l->arena.buf + r->path_off;
}

#endif
