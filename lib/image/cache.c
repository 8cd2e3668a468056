/*
 * Images kept between index loads (strata_image_cache_use).
 *
 * A config is content-addressed: the file named by an image's ID always
 * holds the same bytes, so what can change under a kept image is only what
 * else it was read from: its metadata folder (the parent) and the layerdb
 * folder of each of its layers.  strata and dockerd replace the files there
 * by rename and remove the folders whole, and either gives the folder a new
 * ctime or inode; so a kept image whose folders still have the stamps they
 * had when it was read is still what the store holds.  A folder stamped
 * less than a second before it was read may change again within the same
 * timestamp tick without its ctime moving, so an image read from such a
 * folder is not kept (git's "racily clean" entries).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/image-private.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

struct cache_entry {
	struct strata_image *img; /* the cache's copy, holding one of its references */
	struct image_stamps stamps;
};

struct strata_image_cache {
	pthread_mutex_t lock;
	struct cache_entry *entries; /* sorted by ID */
	size_t nr, alloc;
	bool have_refs;              /* repositories.json as refs_stamp says it was */
	struct refstore refs;
	struct path_stamp refs_stamp;
};

struct strata_image_cache *strata_image_cache_new(void)
{
	struct strata_image_cache *cache = xcalloc(1, sizeof(*cache));

	pthread_mutex_init(&cache->lock, NULL);
	return cache;
}

static void entry_release(struct cache_entry *e)
{
	image_release(e->img);
	image_stamps_release(&e->stamps);
}

void strata_image_cache_free(struct strata_image_cache *cache)
{
	if (!cache)
		return;
	for (size_t i = 0; i < cache->nr; i++)
		entry_release(&cache->entries[i]);
	free(cache->entries);
	refstore_release(&cache->refs);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}

void strata_image_cache_use(struct strata_store *store, struct strata_image_cache *cache)
{
	store->image_cache = cache;
}

static void stamp_path(int dirfd, const char *path, struct path_stamp *s)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (dirfd < 0 || fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	s->exists = true;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->ctime = st.st_ctim;
}

void image_stamps_take(struct strata_store *store, const struct strata_image *img, struct image_stamps *st)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;

	clock_gettime(CLOCK_REALTIME, &st->taken);
	if (layout_image_metadata(&path, img->id + 7, NULL, NULL) == 0)
		stamp_path(store->image_fd, path.buf, &st->metadata);
	st->nr_layers = img->nr_layers;
	st->layers = xcalloc(img->nr_layers ? img->nr_layers : 1, sizeof(*st->layers));
	for (size_t i = 0; i < img->nr_layers; i++) {
		strbuf_reset(&path);
		if (layout_layer_dir(&path, img->chain_ids[i] + 7, NULL) == 0)
			stamp_path(store->image_fd, path.buf, &st->layers[i]);
	}
}

void image_stamps_release(struct image_stamps *st)
{
	free(st->layers);
	st->layers = NULL;
}

static bool stamp_same(const struct path_stamp *a, const struct path_stamp *b)
{
	if (a->exists != b->exists)
		return false;
	return !a->exists || (a->dev == b->dev && a->ino == b->ino && a->ctime.tv_sec == b->ctime.tv_sec &&
			      a->ctime.tv_nsec == b->ctime.tv_nsec);
}

static bool stamps_same(const struct image_stamps *a, const struct image_stamps *b)
{
	if (a->nr_layers != b->nr_layers || !stamp_same(&a->metadata, &b->metadata))
		return false;
	for (size_t i = 0; i < a->nr_layers; i++)
		if (!stamp_same(&a->layers[i], &b->layers[i]))
			return false;
	return true;
}

/* Changed within a second of being stamped: the next change may keep the same ctime. */
static bool stamp_racy(const struct path_stamp *s, const struct timespec *taken)
{
	return s->exists && (s->ctime.tv_sec > taken->tv_sec - 1 ||
			     (s->ctime.tv_sec == taken->tv_sec - 1 && s->ctime.tv_nsec >= taken->tv_nsec));
}

static bool stamps_racy(const struct image_stamps *st)
{
	if (stamp_racy(&st->metadata, &st->taken))
		return true;
	for (size_t i = 0; i < st->nr_layers; i++)
		if (stamp_racy(&st->layers[i], &st->taken))
			return true;
	return false;
}

/* The entry of hex, or false and where it would go. */
static bool cache_find(const struct strata_image_cache *cache, const char *hex, size_t *pos)
{
	size_t lo = 0, hi = cache->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(cache->entries[mid].img->id + 7, hex);

		if (!c) {
			*pos = mid;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return false;
}

/* An index's image sharing the cache's copy. */
static struct strata_image *image_share(struct strata_image *kept)
{
	struct strata_image *img = xmalloc(sizeof(*img));

	*img = *kept;
	img->origin = kept;
	img->config_parsed = NULL;
	img->refs = 0;
	img->nr_children = 0;
	__atomic_add_fetch(&kept->refs, 1, __ATOMIC_RELAXED);
	return img;
}

/* Keep img (read with stamps st, both now the cache's) in place of any older copy; an index's share of it. */
static struct strata_image *cache_keep(struct strata_image_cache *cache, struct strata_image *img, struct image_stamps *st)
{
	struct strata_image *share;
	struct cache_entry *e;
	size_t pos;

	/*
	 * The cache keeps the bytes, in a block of their size: the parsed
	 * config is ten times as large, and listings never read it.
	 */
	json_decref(img->config_parsed);
	img->config_parsed = NULL;
	img->config_raw = xrealloc(img->config_raw, img->config_len + 1);
	img->refs = 1;
	pthread_mutex_lock(&cache->lock);
	if (cache_find(cache, img->id + 7, &pos)) {
		entry_release(&cache->entries[pos]);
	} else {
		ALLOC_GROW(cache->entries, cache->nr + 1, cache->alloc);
		memmove(&cache->entries[pos + 1], &cache->entries[pos], (cache->nr - pos) * sizeof(*e));
		cache->nr++;
	}
	e = &cache->entries[pos];
	e->img = img;
	e->stamps = *st;
	/* shared before the lock goes: a newer copy may replace this one and drop the cache's reference */
	share = image_share(img);
	pthread_mutex_unlock(&cache->lock);
	return share;
}

int image_get(struct strata_store *store, const char *hex, struct strata_image **out, struct strata_error **err)
{
	struct strata_image_cache *cache = store->image_cache;
	struct image_stamps st = { 0 };
	struct strata_image *img = NULL;
	size_t pos;
	int ret;

	if (!cache)
		return image_load_stamped(store, hex, out, NULL, err);
	pthread_mutex_lock(&cache->lock);
	if (cache_find(cache, hex, &pos)) {
		struct cache_entry *e = &cache->entries[pos];

		image_stamps_take(store, e->img, &st);
		if (stamps_same(&e->stamps, &st))
			img = image_share(e->img);
		image_stamps_release(&st);
	}
	pthread_mutex_unlock(&cache->lock);
	if (img) {
		*out = img;
		return 0;
	}
	ret = image_load_stamped(store, hex, &img, &st, err);
	if (ret < 0) {
		image_stamps_release(&st);
		return ret;
	}
	if (stamps_racy(&st)) {
		image_stamps_release(&st);
		*out = img;
		return 0;
	}
	*out = cache_keep(cache, img, &st);
	return 0;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void image_cache_retain(struct strata_image_cache *cache, char **ids, size_t nr)
{
	size_t i = 0, kept = 0;

	if (nr)
		qsort(ids, nr, sizeof(*ids), by_string);
	pthread_mutex_lock(&cache->lock);
	for (size_t k = 0; k < cache->nr; k++) {
		struct cache_entry *e = &cache->entries[k];
		int c = 1;

		while (i < nr && (c = strcmp(ids[i], e->img->id + 7)) < 0)
			i++;
		if (i < nr && !c)
			cache->entries[kept++] = *e;
		else
			entry_release(e);
	}
	cache->nr = kept;
	pthread_mutex_unlock(&cache->lock);
}

int image_refs_load(struct strata_store *store, struct refstore *refs, struct strata_error **err)
{
	struct strata_image_cache *cache = store->image_cache;
	struct path_stamp st;
	struct timespec taken;
	bool hit = false;
	int ret;

	if (!cache)
		return refstore_load(store, refs, err);
	clock_gettime(CLOCK_REALTIME, &taken);
	stamp_path(store->image_fd, LAYOUT_REPOSITORIES, &st);
	pthread_mutex_lock(&cache->lock);
	if (cache->have_refs && stamp_same(&cache->refs_stamp, &st)) {
		refstore_copy(&cache->refs, refs);
		hit = true;
	}
	pthread_mutex_unlock(&cache->lock);
	if (hit)
		return 0;
	ret = refstore_load(store, refs, err);
	if (ret < 0 || stamp_racy(&st, &taken))
		return ret;
	pthread_mutex_lock(&cache->lock);
	refstore_release(&cache->refs);
	refstore_copy(refs, &cache->refs);
	cache->refs_stamp = st;
	cache->have_refs = true;
	pthread_mutex_unlock(&cache->lock);
	return 0;
}
