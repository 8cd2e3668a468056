/* Progress lines of pull and push, written one at a time from worker threads. */
#ifndef STRATA_REGISTRY_PROGRESS_H
#define STRATA_REGISTRY_PROGRESS_H

#include <pthread.h>
#include <stdint.h>

#include "strata/registry.h"

struct progress {
	strata_progress_fn fn; /* NULL: nothing is reported */
	strata_progress_bytes_fn bytes_fn; /* NULL: no byte counts */
	void *cookie;
	pthread_mutex_t mu;
};

void progress_init(struct progress *pr, strata_progress_fn fn, void *cookie);
void progress_release(struct progress *pr);
/* Report "id: message" (id NULL for a line of its own). */
void progress_say(struct progress *pr, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Bytes of id moved so far; *reported keeps the last count told, for the
 * 512 KiB step (the end, current == total, is always told). */
void progress_bytes(struct progress *pr, const char *id, const char *action, uint64_t current,
		    int64_t total, uint64_t *reported);
#define PROGRESS_BYTES_STEP (512u << 10)

#endif
