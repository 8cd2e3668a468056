#include <stdarg.h>
#include <stdlib.h>

#include "registry/progress.h"
#include "util/alloc.h"

void progress_init(struct progress *pr, strata_progress_fn fn, void *cookie)
{
	pr->fn = fn;
	pr->cookie = cookie;
	pthread_mutex_init(&pr->mu, NULL);
}

void progress_release(struct progress *pr)
{
	pthread_mutex_destroy(&pr->mu);
}

void progress_say(struct progress *pr, const char *id, const char *fmt, ...)
{
	char *msg;
	va_list ap;

	if (!pr->fn)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&pr->mu);
	pr->fn(pr->cookie, id, msg);
	pthread_mutex_unlock(&pr->mu);
	free(msg);
}

void progress_bytes(struct progress *pr, const char *id, const char *action, uint64_t current,
		    int64_t total, uint64_t *reported)
{
	if (!pr->bytes_fn || current == *reported ||
	    (current - *reported < PROGRESS_BYTES_STEP && (int64_t)current != total))
		return;
	*reported = current;
	pthread_mutex_lock(&pr->mu);
	pr->bytes_fn(pr->cookie, id, action, (int64_t)current, total);
	pthread_mutex_unlock(&pr->mu);
}
