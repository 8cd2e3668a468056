#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layer/pipeline.h"
#include "store/store-private.h"
#include "util/alloc.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/workq.h"

struct slot {
	struct layer_job *job; /* prepared, not committed */
	uint64_t size;
	int ret;               /* of the ingest */
	struct strata_error *err;
	bool ingested;
};

struct run {
	const struct layer_pipeline *p;
	const struct layer_pipeline_item *items;
	struct slot *slots;
	size_t *order; /* the batch's prepared items, in ingest order */
};

static int ingest_nth(void *cookie, void **state, size_t k)
{
	struct run *r = cookie;
	size_t i = r->order[k];
	struct slot *s = &r->slots[i];

	(void)state;
	s->ret = r->p->ingest(r->p->cookie, i, s->job, &s->err);
	s->ingested = true;
	return s->ret;
}

static int bigger_first(const void *a, const void *b, void *cookie)
{
	const struct slot *slots = cookie;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (slots[x].size != slots[y].size)
		return slots[x].size > slots[y].size ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* The prepared job of parent chain among items [from, i), or NULL. */
static const struct layer_job *prepared_parent(struct run *r, size_t from, size_t i)
{
	const char *parent = r->items[i].parent_chain;

	for (size_t k = i; parent && k-- > from;)
		if (r->slots[k].job && !strcmp(r->items[k].chain_id, parent))
			return r->slots[k].job;
	return NULL;
}

/*
 * One batch [from, to): prepare in order up to the first failure, ingest
 * what was prepared, commit in order up to the first failure.  The error
 * reported is the first in chain order.
 */
static int run_batch(struct run *r, size_t from, size_t to, size_t threads, struct strata_error **err)
{
	const struct layer_pipeline *p = r->p;
	_cleanup_error_ struct strata_error *prep_err = NULL;
	struct workq_task task = { .fn = ingest_nth, .cookie = r, .stop_on_failure = true };
	size_t prepared, nr = 0, i;
	int prep_ret = 0, ret = 0;

	for (prepared = from; prepared < to; prepared++) {
		const struct layer_pipeline_item *it = &r->items[prepared];

		prep_ret = cancel_check(p->cancel, &prep_err);
		if (prep_ret >= 0 && p->open)
			prep_ret = p->open(p->cookie, prepared, &r->slots[prepared].size, &prep_err);
		if (prep_ret < 0)
			break;
		prep_ret = layerstore_prepare(p->store, it->parent_chain, prepared_parent(r, from, prepared),
					      it->diff_id, &r->slots[prepared].job, &prep_err);
		if (prep_ret < 0) {
			if (p->context)
				p->context(p->cookie, prepared, &prep_err);
			break;
		}
		r->order[nr++] = prepared;
	}
	if (p->biggest_first && threads > 1)
		qsort_r(r->order, nr, sizeof(*r->order), bigger_first, r->slots);
	workq_run(nr, threads, &task);
	for (i = from; i < prepared; i++) {
		struct slot *s = &r->slots[i];
		struct layer_register_result res;

		if (!s->ingested || s->ret < 0)
			break;
		ret = layerstore_job_commit(steal_pointer(&s->job), &res, err);
		if (ret < 0) {
			if (p->context)
				p->context(p->cookie, i, err);
			return ret;
		}
		if (p->committed && (ret = p->committed(p->cookie, i, &res, err)) < 0)
			return ret;
	}
	/* the first failure in chain order among the layers that were read */
	for (; i < prepared; i++) {
		struct slot *s = &r->slots[i];

		if (!s->ingested || s->ret >= 0)
			continue;
		if (p->failed)
			return p->failed(p->cookie, i, &s->err, err);
		if (p->context)
			p->context(p->cookie, i, &s->err);
		return strata_error_propagate(err, steal_pointer(&s->err));
	}
	return prep_ret < 0 ? strata_error_propagate(err, steal_pointer(&prep_err)) : 0;
}

int layer_pipeline_run(const struct layer_pipeline *p, const struct layer_pipeline_item *items, size_t n,
		       struct strata_error **err)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t threads = 1, batch = 1;
	struct run r = { p, items, xcalloc(n + 1, sizeof(*r.slots)), xcalloc(n + 1, sizeof(*r.order)) };
	int ret = 0;

	if (cpus > 1 && store_parallel_apply(p->store)) {
		threads = (size_t)cpus < n ? (size_t)cpus : n;
		batch = n;
	}
	for (size_t from = 0; from < n && ret >= 0; from += batch)
		ret = run_batch(&r, from, from + batch < n ? from + batch : n, threads, err);
	for (size_t i = 0; i < n; i++) {
		layerstore_job_abort(r.slots[i].job);
		strata_error_free(r.slots[i].err);
	}
	free(r.slots);
	free(r.order);
	return ret;
}
