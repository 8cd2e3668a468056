#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "digest/digest.h"
#include "image/refstore.h"
#include "json/gojson.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define REPOSITORIES_MAX (64u << 20)

static int damaged(struct strata_store *store, const char *why, struct strata_error **err)
{
	return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
				"'%s/%s/" LAYOUT_REPOSITORIES "' is damaged: %s (dockerd would lose these tags; "
				"fix or restore the file)", store->root, store->image_dir, why);
}

static void append(struct refstore *rs, const char *repo, const char *ref, const char *id)
{
	struct refstore_entry *e;

	ALLOC_GROW(rs->entries, rs->nr + 1, rs->alloc);
	e = &rs->entries[rs->nr++];
	e->repo = xstrdup(repo);
	e->ref = xstrdup(ref);
	e->id = xstrdup(id);
}

int refstore_load(struct strata_store *store, struct refstore *rs, struct strata_error **err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ json_t *root = NULL;
	_cleanup_error_ struct strata_error *perr = NULL;
	struct strata_error *e = NULL;
	json_t *repos, *refs, *id;
	const char *repo, *ref;
	size_t len;
	int ret;

	if (store->image_fd < 0)
		return 0;
	ret = fs_read_file_at(store->image_fd, LAYOUT_REPOSITORIES, REPOSITORIES_MAX, &buf, &len, &e);
	if (ret == -STRATA_ERR_NOT_FOUND) {
		strata_error_free(e);
		return 0;
	}
	if (ret < 0)
		return strata_error_propagate(err, e);
	if (gojson_parse(buf, len, LAYOUT_REPOSITORIES, &root, &perr) < 0)
		return damaged(store, perr->msg, err);
	repos = json_object_get(root, "Repositories");
	if (!json_is_object(repos))
		return damaged(store, "no \"Repositories\" object", err);
	json_object_foreach(repos, repo, refs) {
		if (!json_is_object(refs))
			return damaged(store, "a repository is not an object", err);
		json_object_foreach(refs, ref, id) {
			struct strata_ref parsed;
			_cleanup_free_ char *familiar = NULL;

			if (!json_is_string(id) || !digest_valid(json_string_value(id)))
				return damaged(store, "a reference does not point at an image ID", err);
			if (strata_ref_parse(ref, &parsed, &perr) < 0)
				return damaged(store, "a reference is not valid", err);
			familiar = strata_ref_familiar_string(&parsed);
			strata_ref_release(&parsed);
			append(rs, repo, familiar, json_string_value(id));
		}
	}
	return 0;
}

int refstore_save(struct strata_store *store, const struct refstore *rs, struct strata_error **err)
{
	_cleanup_json_ json_t *root = json_object();
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	json_t *repos = json_object();

	json_object_set_new(root, "Repositories", repos);
	for (size_t i = 0; i < rs->nr; i++) {
		const struct refstore_entry *e = &rs->entries[i];
		json_t *refs = json_object_get(repos, e->repo);

		if (!refs) {
			refs = json_object();
			json_object_set_new(repos, e->repo, refs);
		}
		json_object_set_new(refs, e->ref, json_string(e->id));
	}
	gojson_encode(&sb, root, GOJSON_SORT_KEYS);
	return fs_write_file_atomic_at(store->image_fd, LAYOUT_REPOSITORIES, sb.buf, sb.len, 0600, err);
}

void refstore_copy(const struct refstore *from, struct refstore *to)
{
	for (size_t i = 0; i < from->nr; i++)
		append(to, from->entries[i].repo, from->entries[i].ref, from->entries[i].id);
}

void refstore_release(struct refstore *rs)
{
	for (size_t i = 0; i < rs->nr; i++) {
		free(rs->entries[i].repo);
		free(rs->entries[i].ref);
		free(rs->entries[i].id);
	}
	free(rs->entries);
	memset(rs, 0, sizeof(*rs));
}

/* Whether familiar is stored, and at which index. */
static bool find(const struct refstore *rs, const char *familiar, size_t *at)
{
	for (size_t i = 0; i < rs->nr; i++) {
		if (!strcmp(rs->entries[i].ref, familiar)) {
			*at = i;
			return true;
		}
	}
	return false;
}

/* The key dockerd stores: a digest wins over a tag; no tag means latest. */
static char *storage_key(const struct strata_ref *ref)
{
	struct strata_ref key = *ref;

	if (ref->digest)
		key.tag = NULL;
	else if (!ref->tag)
		key.tag = "latest";
	return strata_ref_familiar_string(&key);
}

const char *refstore_get(const struct refstore *rs, const struct strata_ref *ref)
{
	_cleanup_free_ char *key = storage_key(ref);
	size_t i;

	return find(rs, key, &i) ? rs->entries[i].id : NULL;
}

int refstore_add(struct refstore *rs, const struct strata_ref *ref, const char *id,
		 struct strata_error **err)
{
	_cleanup_free_ char *key = storage_key(ref);
	_cleanup_free_ char *repo = strata_ref_familiar_name(ref);
	size_t i;

	if (!strcmp(ref->path, "library/sha256") || !strcmp(ref->path, "sha256"))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"refusing to create an ambiguous tag using digest algorithm as name");
	if (find(rs, key, &i)) {
		free(rs->entries[i].id);
		rs->entries[i].id = xstrdup(id);
		return 0;
	}
	append(rs, repo, key, id);
	return 0;
}

bool refstore_remove(struct refstore *rs, const struct strata_ref *ref)
{
	_cleanup_free_ char *key = storage_key(ref);
	size_t i;

	if (!find(rs, key, &i))
		return false;
	free(rs->entries[i].repo);
	free(rs->entries[i].ref);
	free(rs->entries[i].id);
	memmove(&rs->entries[i], &rs->entries[i + 1], (rs->nr - i - 1) * sizeof(rs->entries[0]));
	rs->nr--;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t refstore_refs_of(const struct refstore *rs, const char *id, bool tags, bool digests,
			const char ***out)
{
	const char **list = NULL;
	size_t n = 0, alloc = 0;

	for (size_t i = 0; i < rs->nr; i++) {
		const struct refstore_entry *e = &rs->entries[i];
		bool is_digest = strchr(e->ref, '@') != NULL;

		if (strcmp(e->id, id) || (is_digest ? !digests : !tags))
			continue;
		ALLOC_GROW(list, n + 1, alloc);
		list[n++] = e->ref;
	}
	if (n)
		qsort(list, n, sizeof(*list), cmp_str);
	*out = list;
	return n;
}
