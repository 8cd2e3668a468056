/*
 * strata analyze: what each layer of an image costs and which of its bytes
 * are wasted (hidden by a later layer), from the layers' tar-split files
 * alone: no layer content is read and nothing is exported.
 *
 * Definitions (the numbers are Docker's layer size accounting, so that a
 * squash shrinks an image by exactly its waste):
 *  - an inode of a layer is a regular file with the hard links of the same
 *    layer to it, or a symlink (size: the length of its target); the
 *    layer's size is the sum of its inodes' sizes;
 *  - an entry of layer i is hidden by the first later layer that removes it
 *    (a whiteout of it or of an ancestor), makes an ancestor opaque, or
 *    writes the same path or a non-directory at an ancestor (replaced); a
 *    directory over a directory hides only the older directory entry;
 *    whiteouts apply to lower layers only;
 *  - an inode is wasted when all its names are hidden; its bytes are waste
 *    of the layer that added them; efficiency = 1 - wasted / size.
 * The root directory entry ("./") is not a path entry.
 */
#ifndef STRATA_ANALYZE_H
#define STRATA_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/error.h"
#include "strata/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct strata_image_index;
struct strata_image;
struct strata_analysis;

struct strata_analyze_options {
	/* Layers of this image (a prefix of the analysed one) are the base: their
	 * waste is not the user's.  NULL: the first layer is the base. */
	const struct strata_image *base;
	unsigned threads; /* layers scanned in parallel; 0 = 2 */
};

/*
 * Analyse img.  A layer whose tar-split is missing or damaged fails the
 * whole analysis (STRATA_ERR_CORRUPT or the I/O error) with a message
 * naming the layer: a partial analysis would be a wrong one.  A base that
 * is not a prefix of img is STRATA_ERR_INVALID.
 */
STRATA_PUBLIC int strata_analyze(const struct strata_image_index *idx, const struct strata_image *img,
				 const struct strata_analyze_options *opts, struct strata_analysis **out,
				 struct strata_error **err);
STRATA_PUBLIC void strata_analysis_free(struct strata_analysis *a);

struct strata_analysis_summary {
	uint64_t size;              /* sum of the layers' sizes */
	uint64_t wasted_bytes;      /* sum of the layers' wasted bytes */
	uint64_t user_wasted_bytes; /* waste of the layers above the base */
	uint64_t user_size;         /* size of the layers above the base */
	double efficiency;          /* 1 - wasted / size; 1.0 for size 0 */
	size_t base_layers;         /* layers counted as the base */
};
STRATA_PUBLIC void strata_analysis_summary(const struct strata_analysis *a,
					   struct strata_analysis_summary *out);

struct strata_analysis_layer {
	const char *diff_id;    /* "sha256:..." */
	const char *chain_id;   /* "sha256:...", its layerdb folder */
	const char *created_by; /* its history entry's created_by, "" when none */
	uint64_t size;
	uint64_t added;    /* path entries at paths not visible below */
	uint64_t modified; /* path entries at paths visible below */
	uint64_t removed;  /* .wh.* entries (whiteouts and opaque markers) */
	uint64_t wasted_bytes;
};
STRATA_PUBLIC size_t strata_analysis_layer_count(const struct strata_analysis *a);
/* Valid while a lives. */
STRATA_PUBLIC void strata_analysis_layer(const struct strata_analysis *a, size_t i,
					 struct strata_analysis_layer *out);

enum strata_hidden_how {
	STRATA_HIDDEN_REMOVED,  /* a whiteout of the path or of an ancestor */
	STRATA_HIDDEN_REPLACED, /* an entry at the path, or a non-directory at an ancestor */
	STRATA_HIDDEN_OPAQUE,   /* an opaque marker on an ancestor */
};
/* "removed", "replaced", "opaque" */
STRATA_PUBLIC const char *strata_hidden_how_name(enum strata_hidden_how how);

struct strata_wasted {
	const char *path; /* "/..." the entry carrying the bytes, raw bytes from the tar */
	uint64_t size;
	size_t layer;     /* the layer that added the bytes */
	size_t hidden_by; /* the first layer that hid that entry */
	enum strata_hidden_how how;
	bool same_content; /* the replacing entry has the same size and CRC-64 */
};
/*
 * The wasted inodes of size > 0, by size descending, then path (bytes),
 * then layer.  Valid while a lives.
 */
STRATA_PUBLIC size_t strata_analysis_wasted_count(const struct strata_analysis *a);
STRATA_PUBLIC const struct strata_wasted *strata_analysis_wasted(const struct strata_analysis *a, size_t i);

/*
 * dive's CI rules, each as text: a value, "disabled", or NULL for dive's
 * default (lowest efficiency 0.9, highest user-wasted ratio 0.1, no limit
 * on wasted bytes).  The strings are owned: strata_ci_rules_release.
 */
struct strata_ci_rules {
	char *lowest_efficiency;           /* a ratio 0..1 */
	char *highest_wasted_bytes;        /* a size such as 20MB */
	char *highest_user_wasted_percent; /* a ratio 0..1 of the bytes above the base */
};

/*
 * Read a dive-style .dive-ci YAML file ("rules:" with lowestEfficiency,
 * highestWastedBytes, highestUserWastedPercent, or their kebab-case
 * spellings) into the fields still NULL, so rules given before (flags)
 * win.  A missing file is STRATA_ERR_NOT_FOUND; bad YAML STRATA_ERR_INVALID.
 */
STRATA_PUBLIC int strata_ci_rules_load(const char *path, struct strata_ci_rules *rules,
				       struct strata_error **err);
STRATA_PUBLIC void strata_ci_rules_release(struct strata_ci_rules *rules);

#ifdef __cplusplus
}
#endif

#endif
