/* rmi and image prune with dockerd's rules (daemon/images/image_delete.go, image_prune.go). */
#include <stdlib.h>
#include <string.h>

#include "image/containers.h"
#include "image/image-private.h"
#include "image/imagedb.h"
#include "layer/layerstore.h"
#include "strata/reference.h"
#include "util/alloc.h"
#include "util/cleanup.h"

enum conflict {
	CONFLICT_CHILD = 1 << 0,
	CONFLICT_RUNNING = 1 << 1,
	CONFLICT_REFERENCE = 1 << 2,
	CONFLICT_STOPPED = 1 << 3,
	CONFLICT_HARD = CONFLICT_CHILD | CONFLICT_RUNNING,
	CONFLICT_SOFT = CONFLICT_REFERENCE | CONFLICT_STOPPED,
};

struct removal {
	struct strata_image_index *idx;
	struct container_list containers;
	strata_removal_fn report;
	void *cookie;
	uint64_t reclaimed;
	const char *dropping; /* the image delete_image removes */
	bool dropped;
};

struct parsed_ref {
	struct strata_ref ref;
	char *name; /* full name, to compare repositories */
	bool canonical;
};

static void parsed_refs_free(struct parsed_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		strata_ref_release(&refs[i].ref);
		free(refs[i].name);
	}
	free(refs);
}

/* The references of id, parsed (they were validated when repositories.json was loaded). */
static size_t refs_of(struct strata_image_index *idx, const char *id, struct parsed_ref **out)
{
	const char **strs;
	size_t n = refstore_refs_of(&idx->refs, id, true, true, &strs);
	struct parsed_ref *refs = xcalloc(n, sizeof(*refs));

	for (size_t i = 0; i < n; i++) {
		strata_ref_parse(strs[i], &refs[i].ref, NULL);
		refs[i].name = strata_ref_full_name(&refs[i].ref);
		refs[i].canonical = refs[i].ref.digest != NULL;
	}
	free(strs);
	*out = refs;
	return n;
}

/* isSingleReference: one tag, possibly with digest references of the same repository. */
static bool single_reference(const struct parsed_ref *refs, size_t n)
{
	const struct parsed_ref *single = NULL;
	const char *canonical_repo = NULL;
	size_t nr_canonical_repos = 0;

	if (n <= 1)
		return n == 1;
	for (size_t i = 0; i < n; i++) {
		if (refs[i].canonical) {
			if (!canonical_repo || strcmp(canonical_repo, refs[i].name)) {
				if (!canonical_repo)
					canonical_repo = refs[i].name;
				nr_canonical_repos++;
			}
		} else if (!single) {
			single = &refs[i];
		} else {
			return false;
		}
	}
	if (!single)
		single = &refs[0];
	return nr_canonical_repos == 1 && !strcmp(canonical_repo, single->name);
}

static bool is_id_prefix(const char *id, const char *prefix)
{
	return !strncmp(id, prefix, strlen(prefix)) || !strncmp(id + 7, prefix, strlen(prefix));
}

static int save_refs(struct removal *r, struct strata_error **err)
{
	return refstore_save(r->idx->store, &r->idx->refs, err);
}

static void untagged(struct removal *r, const struct strata_ref *ref)
{
	_cleanup_free_ char *s = NULL;
	struct strata_ref key = *ref;

	if (!key.tag && !key.digest)
		key.tag = "latest";
	s = strata_ref_familiar_string(&key);
	if (r->report)
		r->report(r->cookie, STRATA_UNTAGGED, s);
}

static int conflict(const char *id, bool hard, const char *msg, struct strata_error **err)
{
	return strata_error_set(err, STRATA_ERR_CONFLICT, 0, "conflict: unable to delete %.12s (%s) - %s", id + 7,
				hard ? "cannot be forced" : "must be forced", msg);
}

/* A running (running 1) or stopped (0) container uses image id: 1 with *err set, else 0. */
static int container_conflict(struct removal *r, const char *id, int running, struct strata_error **err)
{
	const struct container_info *c = containers_first(&r->containers, id, running);
	_cleanup_free_ char *m = NULL;

	if (!c)
		return 0;
	m = xasprintf("image is being used by %s container %.12s", running ? "running" : "stopped", c->id);
	conflict(id, running, m, err);
	return 1;
}

/* checkImageDeleteConflict; returns 1 when it set *err, *used tells a container uses img. */
static int check_conflict(struct removal *r, const struct strata_image *img, unsigned mask, bool *used,
			  struct strata_error **err)
{
	*used = false;
	if ((mask & CONFLICT_CHILD) && img->nr_children) {
		conflict(img->id, true, "image has dependent child images", err);
		return 1;
	}
	if ((mask & CONFLICT_RUNNING) && container_conflict(r, img->id, 1, err)) {
		*used = true;
		return 1;
	}
	if (mask & CONFLICT_REFERENCE) {
		const char **refs;
		size_t n = refstore_refs_of(&r->idx->refs, img->id, true, true, &refs);

		free(refs);
		if (n) {
			conflict(img->id, false, "image is referenced in multiple repositories", err);
			return 1;
		}
	}
	if ((mask & CONFLICT_STOPPED) && container_conflict(r, img->id, 0, err)) {
		*used = true;
		return 1;
	}
	return 0;
}

static void report_layer(void *cookie, const char *chain_id, int64_t size)
{
	struct removal *r = cookie;

	r->reclaimed += (uint64_t)size;
	if (r->report)
		r->report(r->cookie, STRATA_DELETED, chain_id);
}

/* The image goes first (reported before its layers, as dockerd does). */
static int drop_image(void *cookie, struct strata_error **err)
{
	struct removal *r = cookie;
	int ret = imagedb_delete(r->idx->store, r->dropping + 7, err);

	if (ret < 0)
		return ret;
	r->dropped = true;
	if (r->report)
		r->report(r->cookie, STRATA_DELETED, r->dropping);
	return 0;
}

/* imageStore.Delete + layer release. */
static int delete_image(struct removal *r, struct strata_image *img, struct strata_error **err)
{
	struct strata_image_index *idx = r->idx;
	_cleanup_free_ char *id = xstrdup(img->id);
	_cleanup_free_ const char **in_use = xcalloc(idx->nr, sizeof(*in_use));
	size_t n = 0;
	int ret;

	/* the top layers of the other images */
	for (size_t i = 0; i < idx->nr; i++)
		if (idx->images[i] != img && idx->images[i]->nr_layers)
			in_use[n++] = idx->images[i]->chain_ids[idx->images[i]->nr_layers - 1];
	r->dropping = id;
	r->dropped = false;
	if (img->nr_layers)
		ret = layerstore_release_image(idx->store, id, img->chain_ids[img->nr_layers - 1], in_use, n,
					       drop_image, report_layer, r, err);
	else
		ret = drop_image(r, err);
	if (r->dropped)
		image_index_forget(idx, img);
	return ret;
}

static bool dangling(struct removal *r, const struct strata_image *img)
{
	const char **refs;
	size_t n = refstore_refs_of(&r->idx->refs, img->id, true, true, &refs);

	free(refs);
	return !n && !img->nr_children;
}

static int remove_all_refs_of(struct removal *r, const char *id, struct strata_error **err)
{
	struct parsed_ref *refs;
	size_t n = refs_of(r->idx, id, &refs);
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		refstore_remove(&r->idx->refs, &refs[i].ref);
		ret = save_refs(r, err);
		if (ret < 0)
			break;
		untagged(r, &refs[i].ref);
	}
	parsed_refs_free(refs, n);
	return ret;
}

/* imageDeleteHelper */
static int delete_helper(struct removal *r, struct strata_image *img, bool force, bool prune, bool quiet,
			 struct strata_error **err)
{
	_cleanup_free_ char *parent = img->parent ? xstrdup(img->parent) : NULL;
	struct strata_error *cerr = NULL;
	struct strata_image *next;
	bool used;
	int ret;

	if (check_conflict(r, img, CONFLICT_HARD | (force ? 0 : CONFLICT_SOFT), &used, &cerr)) {
		if (quiet && (!dangling(r, img) || used)) {
			strata_error_free(cerr);
			return 0;
		}
		return strata_error_propagate(err, cerr);
	}
	ret = remove_all_refs_of(r, img->id, err);
	if (ret < 0)
		return ret;
	ret = delete_image(r, img, err);
	if (ret < 0 || !prune || !parent)
		return ret;
	next = strata_image_index_find(r->idx, parent);
	if (!next)
		return 0;
	return delete_helper(r, next, false, true, true, err);
}

/*
 * A damaged image (see image_index_find_damaged) goes by tag or by ID as an
 * intact one would, so that rmi is a way out; its layers, which a damaged
 * config may not name, stay for `check --repair` to weigh.
 */
static int delete_damaged(struct removal *r, struct damaged_image *d, const char *name, bool force,
			  struct strata_error **err)
{
	_cleanup_free_ char *id = xstrdup(d->id);
	struct parsed_ref *refs;
	size_t n = refs_of(r->idx, id, &refs);
	int ret = 0;

	if (!is_id_prefix(id, name)) {
		struct strata_ref ref;

		parsed_refs_free(refs, n);
		if ((ret = strata_ref_parse(name, &ref, err)) < 0)
			return ret;
		refstore_remove(&r->idx->refs, &ref);
		ret = save_refs(r, err);
		if (ret >= 0)
			untagged(r, &ref);
		strata_ref_release(&ref);
		n = refs_of(r->idx, id, &refs);
	} else if (n > 1 && !force) {
		ret = conflict(id, false, "image is referenced in multiple repositories", err);
	}
	parsed_refs_free(refs, n);
	if (ret < 0 || (!is_id_prefix(id, name) && n))
		return ret;
	if (container_conflict(r, id, 1, err) || (!force && container_conflict(r, id, 0, err)))
		return -STRATA_ERR_CONFLICT;
	if ((ret = remove_all_refs_of(r, id, err)) < 0 || (ret = imagedb_delete(r->idx->store, id + 7, err)) < 0)
		return ret;
	image_index_forget_damaged(r->idx, d);
	if (r->report)
		r->report(r->cookie, STRATA_DELETED, id);
	return 0;
}

static int image_delete(struct removal *r, const char *name, bool force, bool prune, struct strata_error **err)
{
	struct strata_image_index *idx = r->idx;
	struct strata_error *lerr = NULL;
	struct strata_image *img;
	struct damaged_image *d;
	struct parsed_ref *refs = NULL;
	size_t n;
	int ret;

	ret = strata_image_lookup(idx, name, &img, &lerr);
	if (ret < 0 && (d = image_index_find_damaged(idx, name))) {
		strata_error_free(lerr);
		return delete_damaged(r, d, name, force, err);
	}
	if (ret < 0)
		return strata_error_propagate(err, lerr);
	n = refs_of(idx, img->id, &refs);
	if (!is_id_prefix(img->id, name)) {
		struct strata_ref ref;
		const struct container_info *c;
		bool found_tag = false;

		if (!force && single_reference(refs, n) && (c = containers_first(&r->containers, img->id, -1))) {
			ret = strata_error_set(err, STRATA_ERR_CONFLICT, 0,
					       "conflict: unable to remove repository reference \"%s\" (must force) - "
					       "container %.12s is using its referenced image %.12s",
					       name, c->id, img->id + 7);
			goto out;
		}
		ret = strata_ref_parse(name, &ref, err);
		if (ret < 0)
			goto out;
		refstore_remove(&idx->refs, &ref);
		ret = save_refs(r, err);
		if (ret >= 0)
			untagged(r, &ref);
		parsed_refs_free(refs, n);
		n = refs_of(idx, img->id, &refs);
		/* A removed tag takes the digest references of its repository along. */
		if (ret >= 0 && !ref.digest) {
			_cleanup_free_ char *repo = strata_ref_full_name(&ref);

			for (size_t i = 0; i < n; i++)
				if (!refs[i].canonical && !strcmp(refs[i].name, repo))
					found_tag = true;
			for (size_t i = 0; !found_tag && i < n && ret >= 0; i++) {
				if (!refs[i].canonical || strcmp(refs[i].name, repo))
					continue;
				refstore_remove(&idx->refs, &refs[i].ref);
				ret = save_refs(r, err);
				if (ret >= 0)
					untagged(r, &refs[i].ref);
			}
			parsed_refs_free(refs, n);
			n = refs_of(idx, img->id, &refs);
		}
		strata_ref_release(&ref);
		if (ret < 0 || n)
			goto out;
		ret = delete_helper(r, img, force, prune, true, err);
		goto out;
	}
	if (single_reference(refs, n)) {
		bool used;

		if (check_conflict(r, img, CONFLICT_HARD | (force ? 0 : CONFLICT_STOPPED), &used, err)) {
			ret = -STRATA_ERR_CONFLICT;
			goto out;
		}
		for (size_t i = 0; i < n && ret >= 0; i++) {
			refstore_remove(&idx->refs, &refs[i].ref);
			ret = save_refs(r, err);
			if (ret >= 0)
				untagged(r, &refs[i].ref);
		}
		if (ret < 0)
			goto out;
	}
	ret = delete_helper(r, img, force, prune, false, err);
out:
	parsed_refs_free(refs, n);
	return ret;
}

int strata_image_remove(struct strata_image_index *idx, const char *name, bool force, bool prune,
			strata_removal_fn report, void *cookie, struct strata_error **err)
{
	struct removal r = { .idx = idx, .report = report, .cookie = cookie };
	int ret;

	ret = containers_load(idx->store, &r.containers, false, err);
	if (ret < 0)
		return ret;
	ret = image_delete(&r, name, force, prune, err);
	containers_release(&r.containers);
	return ret;
}

/* ImagesPrune ignores conflicts and images that vanished meanwhile (imageDeleteFailed). */
static int delete_skipping_conflicts(struct removal *r, const char *name, struct strata_error **err)
{
	struct strata_error *ierr = NULL;

	if (image_delete(r, name, false, true, &ierr) >= 0)
		return 0;
	if (ierr->code == STRATA_ERR_CONFLICT || ierr->code == STRATA_ERR_NOT_FOUND) {
		strata_error_free(ierr);
		return 0;
	}
	return strata_error_propagate(err, ierr);
}

int strata_image_prune_filtered(struct strata_image_index *idx, const char *const *filters, size_t nr_filters,
				strata_removal_fn report, void *cookie, uint64_t *reclaimed, struct strata_error **err)
{
	struct removal r = { .idx = idx, .report = report, .cookie = cookie };
	struct image_prune_filters f;
	char (*targets)[72];
	size_t nr_targets = 0;
	bool all;
	int ret;

	*reclaimed = 0;
	ret = image_prune_filters(idx, filters, nr_filters, &f, err);
	if (ret < 0)
		return ret;
	all = !f.dangling_only;
	ret = containers_load(idx->store, &r.containers, false, err);
	if (ret < 0) {
		image_prune_filters_release(&f);
		return ret;
	}
	/* Choose first: deleting changes the index under us. */
	targets = xcalloc(idx->nr ? idx->nr : 1, sizeof(*targets));
	for (size_t i = 0; i < idx->nr; i++) {
		struct strata_image *img = idx->images[i];
		const char **refs;
		size_t nr_refs = refstore_refs_of(&idx->refs, img->id, true, true, &refs);

		free(refs);
		if (img->nr_children && (!all || !nr_refs))
			continue; /* dangling mode looks at heads only; intermediates never */
		if (!image_prune_selects(&f, img))
			continue;
		memcpy(targets[nr_targets++], img->id, sizeof(*targets));
	}
	for (size_t t = 0; t < nr_targets && ret >= 0; t++) {
		struct strata_image *img = strata_image_index_find(idx, targets[t]);
		struct parsed_ref *refs;
		bool has_tag = false;
		size_t n;

		if (!img)
			continue;
		n = refs_of(idx, img->id, &refs);
		for (size_t i = 0; i < n; i++)
			has_tag |= !refs[i].canonical;
		if (!n)
			ret = delete_skipping_conflicts(&r, img->id + 7, err);
		for (size_t i = 0; i < n && ret >= 0 && (all || !has_tag); i++) {
			_cleanup_free_ char *s = strata_ref_familiar_string(&refs[i].ref);

			ret = delete_skipping_conflicts(&r, s, err);
		}
		parsed_refs_free(refs, n);
	}
	free(targets);
	containers_release(&r.containers);
	image_prune_filters_release(&f);
	*reclaimed = r.reclaimed;
	return ret;
}

int strata_image_prune(struct strata_image_index *idx, bool all, strata_removal_fn report,
		       void *cookie, uint64_t *reclaimed, struct strata_error **err)
{
	const char *dangling = all ? "dangling=false" : "dangling=true";

	return strata_image_prune_filtered(idx, &dangling, 1, report, cookie, reclaimed, err);
}
