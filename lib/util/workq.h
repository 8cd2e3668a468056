/*
 * A work queue: items 0..n-1 handed out in order to a few threads, each with
 * a state of its own (e.g. one registry connection per thread).  pull's
 * downloads and extractions, push's uploads and load's extractions all
 * share it.
 */
#ifndef STRATA_UTIL_WORKQ_H
#define STRATA_UTIL_WORKQ_H

#include <stdbool.h>
#include <stddef.h>

#include "strata/error.h"

struct workq;

struct workq_task {
	/* Do item i; *state starts NULL in each thread. < 0 marks the queue failed. */
	int (*fn)(void *cookie, void **state, size_t i);
	/* Called once per thread with its last *state (may be NULL). */
	void (*done)(void *cookie, void *state);
	void *cookie;
	/* After a failure hand out no further items. */
	bool stop_on_failure;
};

/*
 * Work through n items on up to threads threads, this one among them, and
 * return when all are done (or stopped).  Without a thread to be had it
 * does them all here.  Returns whether any item failed.
 */
bool workq_run(size_t n, size_t threads, const struct workq_task *task);

/*
 * The same in the background: up to threads new threads work while the
 * caller goes on.  Fails only when not one thread could be started.
 */
int workq_start(size_t n, size_t threads, const struct workq_task *task, struct workq **out,
		struct strata_error **err);
/* Hand out no further items (those running finish). */
void workq_stop(struct workq *q);
/* Wait for the threads and free q; returns whether any item failed. */
bool workq_finish(struct workq *q);

#endif
