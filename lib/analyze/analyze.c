/*
 * strata_analyze: scan every layer's tar-split (in parallel, a few worker
 * threads taking the next layer) while this thread merges them base first
 * as each becomes ready; then collect the wasted inodes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/analyze-private.h"
#include "analyze/visible.h"
#include "image/image-private.h"
#include "json/gojson.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"

#define DEFAULT_THREADS 2
#define MAX_THREADS 16

struct strata_analysis {
	struct alayer *layers;
	size_t nr_layers;
	struct strata_wasted *wasted;
	size_t nr_wasted;
	struct strata_analysis_summary sum;
};

struct scan_pool {
	const struct strata_image *img;
	int image_fd;
	struct alayer *layers;
	bool *done;
	size_t next, nr;
	bool stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static int scan_one(struct scan_pool *p, size_t i, struct strata_error **err)
{
	const char *chain = p->img->chain_ids[i];
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	_cleanup_close_ int fd = -1;
	int rc;

	rc = layout_layer_file(&path, chain + strlen("sha256:"), LAYOUT_LAYER_TAR_SPLIT, err);
	if (rc < 0)
		return rc;
	fd = p->image_fd < 0 ? -1 : openat(p->image_fd, path.buf, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return strata_error_set(err, errno == ENOENT ? STRATA_ERR_CORRUPT : STRATA_ERR_IO, errno,
					"open %s", path.buf);
	return analyze_scan_layer(fd, &p->layers[i], err);
}

static void *scan_worker(void *cookie)
{
	struct scan_pool *p = cookie;

	pthread_mutex_lock(&p->mu);
	while (!p->stop && p->next < p->nr) {
		size_t i = p->next++;
		struct strata_error *e = NULL;

		pthread_mutex_unlock(&p->mu);
		if (scan_one(p, i, &e) < 0 && !e)
			strata_error_set(&e, STRATA_ERR_IO, 0, "scan failed");
		pthread_mutex_lock(&p->mu);
		p->layers[i].err = e;
		p->done[i] = true;
		if (e)
			p->stop = true; /* the analysis fails at the first bad layer */
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* created_by of each layer: the history entries that are not empty_layer, in order. */
static void layer_commands(const struct strata_image *img, struct alayer *layers)
{
	json_t *history = json_object_get(image_config(img), "history");
	size_t layer = 0;

	for (size_t i = 0; i < img->nr_layers; i++)
		layers[i].out.created_by = "";
	for (size_t i = 0; i < json_array_size(history) && layer < img->nr_layers; i++) {
		json_t *h = json_array_get(history, i);
		const char *by = gojson_get_string(h, "created_by");

		if (json_is_true(json_object_get(h, "empty_layer")))
			continue;
		layers[layer++].out.created_by = by ? by : "";
	}
}

static int cmp_wasted(const void *pa, const void *pb)
{
	const struct strata_wasted *a = pa, *b = pb;
	int c;

	if (a->size != b->size)
		return a->size > b->size ? -1 : 1;
	if ((c = strcmp(a->path, b->path)))
		return c;
	return a->layer < b->layer ? -1 : a->layer > b->layer;
}

static bool same_content(const struct strata_analysis *a, const struct alayer *xl, const struct inode *x,
			 const struct rec *r)
{
	const struct alayer *by;
	const struct rec *rr;
	const struct inode *y;

	if (r->how != STRATA_HIDDEN_REPLACED || r->replacer == REC_NONE)
		return false;
	by = &a->layers[r->hidden_by];
	rr = &by->recs[r->replacer];
	if (rr->inode == REC_NONE)
		return false;
	y = &by->inodes[rr->inode];
	if (x->kind != y->kind || x->size != y->size)
		return false;
	if (x->kind == REC_SYMLINK) {
		/* symlinks carry no CRC: their targets are compared */
		const struct rec *xr = &xl->recs[x->data_rec], *yr = &by->recs[y->data_rec];
		return !memcmp(xl->arena.buf + xr->link_off, by->arena.buf + yr->link_off, xr->link_len);
	}
	return x->crc == y->crc;
}

/* Sizes and waste per layer, the wasted rows, the totals. */
static void collect(struct strata_analysis *a, size_t base_layers)
{
	size_t alloc = 0;

	for (size_t i = 0; i < a->nr_layers; i++) {
		struct alayer *l = &a->layers[i];

		for (size_t k = 0; k < l->nr_inodes; k++) {
			const struct inode *x = &l->inodes[k];
			const struct rec *r = &l->recs[x->data_rec];

			if (!x->names)
				continue;
			l->out.size += x->size;
			if (x->hidden < x->names)
				continue;
			l->out.wasted_bytes += x->size;
			if (!x->size)
				continue;
			if (a->nr_wasted == alloc) {
				alloc = alloc ? alloc * 2 : 64;
				a->wasted = xrealloc(a->wasted, alloc * sizeof(*a->wasted));
			}
			a->wasted[a->nr_wasted++] = (struct strata_wasted){
				.path = rec_path(l, r) - 1, /* the arena keeps a '/' before each path */
				.size = x->size,
				.layer = i,
				.hidden_by = (size_t)r->hidden_by,
				.how = (enum strata_hidden_how)r->how,
				.same_content = same_content(a, l, x, r),
			};
		}
		a->sum.size += l->out.size;
		a->sum.wasted_bytes += l->out.wasted_bytes;
		if (i >= base_layers) {
			a->sum.user_size += l->out.size;
			a->sum.user_wasted_bytes += l->out.wasted_bytes;
		}
	}
	a->sum.base_layers = base_layers;
	a->sum.efficiency = a->sum.size ? 1.0 - (double)a->sum.wasted_bytes / (double)a->sum.size : 1.0;
	if (a->nr_wasted)
		qsort(a->wasted, a->nr_wasted, sizeof(*a->wasted), cmp_wasted);
}

static size_t base_layers_of(const struct strata_image *img, const struct strata_image *base,
			     struct strata_error **err)
{
	size_t n = base->nr_layers;

	if (n > img->nr_layers || (n && strcmp(base->chain_ids[n - 1], img->chain_ids[n - 1]))) {
		strata_error_set(err, STRATA_ERR_INVALID, 0, "image %s is not a base of image %s: its layers are not the first layers of it",
				 base->id, img->id);
		return SIZE_MAX;
	}
	return n;
}

int strata_analyze(const struct strata_image_index *idx, const struct strata_image *img,
		   const struct strata_analyze_options *opts, struct strata_analysis **out,
		   struct strata_error **err)
{
	struct strata_analysis *a = xcalloc(1, sizeof(*a));
	struct scan_pool p = { .img = img, .image_fd = idx->store->image_fd, .nr = img->nr_layers };
	size_t nthreads = opts && opts->threads ? opts->threads : DEFAULT_THREADS;
	size_t base = img->nr_layers ? 1 : 0, started = 0;
	pthread_t tids[MAX_THREADS];
	struct merge *m;
	int rc = 0;

	if (opts && opts->base && (base = base_layers_of(img, opts->base, err)) == SIZE_MAX) {
		free(a);
		return -STRATA_ERR_INVALID;
	}
	a->nr_layers = img->nr_layers;
	a->layers = xcalloc(a->nr_layers ? a->nr_layers : 1, sizeof(*a->layers));
	for (size_t i = 0; i < a->nr_layers; i++) {
		strbuf_init(&a->layers[i].arena, 0);
		a->layers[i].out.diff_id = img->diff_ids[i];
		a->layers[i].out.chain_id = img->chain_ids[i];
	}
	layer_commands(img, a->layers);
	p.layers = a->layers;
	p.done = xcalloc(a->nr_layers ? a->nr_layers : 1, sizeof(*p.done));
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	if (nthreads > a->nr_layers)
		nthreads = a->nr_layers;
	for (size_t t = 0; t < nthreads; t++)
		if (pthread_create(&tids[started], NULL, scan_worker, &p) == 0)
			started++;
	if (!started && a->nr_layers)
		scan_worker(&p); /* no thread to be had: scan here first */

	m = merge_new(a->layers, a->nr_layers);
	for (size_t i = 0; i < a->nr_layers; i++) {
		/* workers take layers in order: every layer up to a failed one gets done */
		pthread_mutex_lock(&p.mu);
		while (!p.done[i])
			pthread_cond_wait(&p.cv, &p.mu);
		pthread_mutex_unlock(&p.mu);
		if (a->layers[i].err) {
			strata_error_propagate(err, steal_pointer(&a->layers[i].err));
			rc = strata_error_wrap(err, "layer %zu (%s)", i, img->diff_ids[i]);
			break;
		}
		merge_layer(m, i);
	}
	pthread_mutex_lock(&p.mu);
	p.stop = true;
	pthread_mutex_unlock(&p.mu);
	for (size_t t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	merge_free(m);
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
	free(p.done);
	if (rc < 0) {
		strata_analysis_free(a);
		return rc;
	}
	collect(a, base);
	*out = a;
	return 0;
}

void strata_analysis_free(struct strata_analysis *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nr_layers; i++)
		alayer_release(&a->layers[i]);
	free(a->layers);
	free(a->wasted);
	free(a);
}

void strata_analysis_summary(const struct strata_analysis *a, struct strata_analysis_summary *out)
{
	*out = a->sum;
}

size_t strata_analysis_layer_count(const struct strata_analysis *a)
{
	return a->nr_layers;
}

void strata_analysis_layer(const struct strata_analysis *a, size_t i, struct strata_analysis_layer *out)
{
	*out = a->layers[i].out;
}

const char *strata_hidden_how_name(enum strata_hidden_how how)
{
	switch (how) {
	case STRATA_HIDDEN_REMOVED: return "removed";
	case STRATA_HIDDEN_REPLACED: return "replaced";
	case STRATA_HIDDEN_OPAQUE: return "opaque";
	}
	return "?";
}

size_t strata_analysis_wasted_count(const struct strata_analysis *a)
{
	return a->nr_wasted;
}

const struct strata_wasted *strata_analysis_wasted(const struct strata_analysis *a, size_t i)
{
	return i < a->nr_wasted ? &a->wasted[i] : NULL;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int analyze_range_visible(const struct strata_image_index *idx, const struct strata_image *img, size_t from,
			  struct analyze_paths *out, struct strata_error **err)
{
	struct strata_analysis *a;
	size_t alloc = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = strata_analyze(idx, img, NULL, &a, err)) < 0)
		return rc;
	for (size_t i = from; i < a->nr_layers; i++) {
		const struct alayer *l = &a->layers[i];

		for (size_t k = 0; k < l->nr; k++) {
			const struct rec *r = &l->recs[k];

			if (r->kind > REC_OTHER || r->hidden_by >= 0 || (r->flags & REC_SUPERSEDED) || !r->path_len)
				continue;
			ALLOC_GROW(out->v, out->nr + 1, alloc);
			out->v[out->nr++] = xstrdup(rec_path(l, r) - 1);
		}
	}
	strata_analysis_free(a);
	if (out->nr)
		qsort(out->v, out->nr, sizeof(*out->v), cmp_path);
	return 0;
}

void analyze_paths_release(struct analyze_paths *p)
{
	for (size_t i = 0; i < p->nr; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}
