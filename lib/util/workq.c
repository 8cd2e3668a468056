#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "util/alloc.h"
#include "util/workq.h"

struct workq {
	struct workq_task task;
	pthread_mutex_t mu;
	size_t next, n;
	bool stop, failed;
	pthread_t *tids;
	size_t started;
};

static void *workq_worker(void *arg)
{
	struct workq *q = arg;
	void *state = NULL;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&q->mu);
		if (q->stop || q->next >= q->n) {
			pthread_mutex_unlock(&q->mu);
			break;
		}
		i = q->next++;
		pthread_mutex_unlock(&q->mu);
		if (q->task.fn(q->task.cookie, &state, i) < 0) {
			pthread_mutex_lock(&q->mu);
			q->failed = true;
			if (q->task.stop_on_failure)
				q->stop = true;
			pthread_mutex_unlock(&q->mu);
		}
	}
	if (q->task.done)
		q->task.done(q->task.cookie, state);
	return NULL;
}

static struct workq *workq_new(size_t n, size_t threads, const struct workq_task *task)
{
	struct workq *q = xcalloc(1, sizeof(*q));

	q->task = *task;
	q->n = n;
	pthread_mutex_init(&q->mu, NULL);
	q->tids = xcalloc(threads ? threads : 1, sizeof(*q->tids));
	for (size_t t = 0; t < threads && t < n; t++)
		if (pthread_create(&q->tids[q->started], NULL, workq_worker, q) == 0)
			q->started++;
	return q;
}

int workq_start(size_t n, size_t threads, const struct workq_task *task, struct workq **out,
		struct strata_error **err)
{
	struct workq *q = workq_new(n, threads, task);

	if (!q->started && n) {
		int e = errno;

		workq_finish(q);
		return strata_error_set(err, STRATA_ERR_IO, e, "start a worker thread");
	}
	*out = q;
	return 0;
}

void workq_stop(struct workq *q)
{
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_mutex_unlock(&q->mu);
}

bool workq_finish(struct workq *q)
{
	bool failed;

	for (size_t t = 0; t < q->started; t++)
		pthread_join(q->tids[t], NULL);
	failed = q->failed;
	pthread_mutex_destroy(&q->mu);
	free(q->tids);
	free(q);
	return failed;
}

bool workq_run(size_t n, size_t threads, const struct workq_task *task)
{
	struct workq *q = workq_new(n, threads > 1 && n > 1 ? threads - 1 : 0, task);

	workq_worker(q);
	return workq_finish(q);
}
