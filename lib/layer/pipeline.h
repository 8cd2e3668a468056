/*
 * Registering the layers of a load or a pull: prepared in chain order (a
 * layer may sit on a parent that is prepared but not yet committed),
 * ingested in parallel, committed in chain order.  With a driver that
 * cannot apply in parallel (vfs copies the parent's files when a child is
 * prepared) every layer is a step of its own.
 */
#ifndef STRATA_LAYER_PIPELINE_H
#define STRATA_LAYER_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layer/layerstore.h"
#include "strata/cancel.h"
#include "strata/error.h"

struct strata_store;

struct layer_pipeline_item {
	const char *chain_id;     /* the chain the item registers */
	const char *parent_chain; /* NULL for a base layer */
	const char *diff_id;
};

struct layer_pipeline {
	struct strata_store *store;
	const struct strata_cancel *cancel;
	bool biggest_first;       /* ingest the big layers first (all sources ready at once) */
	void *cookie;
	/*
	 * Optional: make item i ready to be read (open its file) and tell its
	 * size in bytes (orders ingestion when biggest_first); < 0 stops preparing.
	 */
	int (*open)(void *cookie, size_t i, uint64_t *size, struct strata_error **err);
	/* On a worker thread: layerstore_job_ingest of item i's bytes into job. */
	int (*ingest)(void *cookie, size_t i, struct layer_job *job, struct strata_error **err);
	/*
	 * Optional: item i's ingest failed with *ingest_err (which it may take):
	 * set the error to report in err and return it (context is not added).
	 */
	int (*failed)(void *cookie, size_t i, struct strata_error **ingest_err, struct strata_error **err);
	/* Optional: add item i's context to an error about it (prepare, ingest). */
	void (*context)(void *cookie, size_t i, struct strata_error **err);
	/* Optional: item i is committed; < 0 stops the run. */
	int (*committed)(void *cookie, size_t i, const struct layer_register_result *res,
			 struct strata_error **err);
};

/*
 * Register items[0..n) (chain order; a parent before its children).  The
 * error is the first one the chain order meets; every layer not committed
 * by then is gone again, the committed ones stay (the caller rolls back).
 */
int layer_pipeline_run(const struct layer_pipeline *p, const struct layer_pipeline_item *items, size_t n,
		       struct strata_error **err);

#endif
