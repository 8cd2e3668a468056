/* Progress lines of pull and push, written one at a time from worker threads. */
#ifndef STRATA_REGISTRY_PROGRESS_H
#define STRATA_REGISTRY_PROGRESS_H

#include <pthread.h>

#include "strata/registry.h"

struct progress {
	strata_progress_fn fn; /* NULL: nothing is reported */
	void *cookie;
	pthread_mutex_t mu;
};

void progress_init(struct progress *pr, strata_progress_fn fn, void *cookie);
void progress_release(struct progress *pr);
/* Report "id: message" (id NULL for a line of its own). */
void progress_say(struct progress *pr, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
