#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layer/layerdb.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"

void layer_chain_id(const char *parent_chain, const char *diff_id, char out[STRATA_DIGEST_LEN + 1])
{
	_cleanup_free_ char *text = NULL;
	char hex[STRATA_HEX_LEN + 1];

	if (!parent_chain || !*parent_chain) {
		memcpy(out, diff_id, STRATA_DIGEST_LEN + 1);
		return;
	}
	text = xasprintf("%s %s", parent_chain, diff_id);
	sha256_hex(text, strlen(text), hex);
	snprintf(out, STRATA_DIGEST_LEN + 1, "sha256:%s", hex);
}

bool layer_cache_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (!n || n > CACHE_ID_MAX || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_' && id[i] != '.')
			return false;
	return true;
}

/* dockerd trims whitespace of diff, cache-id and parent when it reads them. */
static char *trim(char *s)
{
	size_t n = strlen(s);

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

static int read_field(struct strata_store *store, const char *dir, const char *name, bool optional,
		      char **out, struct strata_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	struct strata_error *e = NULL;
	int ret = fs_read_file_at(store->image_fd, path, 4096, out, NULL, &e);

	if (ret == -STRATA_ERR_NOT_FOUND && optional) {
		strata_error_free(e);
		*out = NULL;
		return 0;
	}
	return ret < 0 ? strata_error_propagate(err, e) : ret;
}

int layerdb_read(struct strata_store *store, const char *chain_id, struct layer_record *out,
		 struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf dir = STRBUF_INIT;
	_cleanup_free_ char *diff = NULL, *size = NULL, *cache = NULL, *parent = NULL;
	struct layer_record rec = { 0 };
	const char *hex;
	char *end, *t;
	int ret;

	ret = digest_parse(chain_id, &hex, "layer chain", err);
	if (ret < 0)
		return ret;
	ret = layout_layer_dir(&dir, hex, err);
	if (ret < 0)
		return ret;
	if (store->image_fd < 0 || !fs_exists_at(store->image_fd, dir.buf))
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "layer %s does not exist", chain_id);
	if ((ret = read_field(store, dir.buf, LAYOUT_LAYER_DIFF, false, &diff, err)) < 0 ||
	    (ret = read_field(store, dir.buf, LAYOUT_LAYER_SIZE, false, &size, err)) < 0 ||
	    (ret = read_field(store, dir.buf, LAYOUT_LAYER_CACHE_ID, false, &cache, err)) < 0 ||
	    (ret = read_field(store, dir.buf, LAYOUT_LAYER_PARENT, true, &parent, err)) < 0) {
		/* a missing file in a layer's folder is damage, not an unknown layer */
		if (ret == -STRATA_ERR_NOT_FOUND)
			strata_error_recode(err, STRATA_ERR_CORRUPT);
		return strata_error_wrap(err, "layer %s is damaged", chain_id);
	}
	memcpy(rec.chain_id, chain_id, STRATA_DIGEST_LEN + 1);
	t = trim(diff);
	if (!digest_valid(t))
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "layer %s is damaged: malformed diff file", chain_id);
	memcpy(rec.diff_id, t, STRATA_DIGEST_LEN + 1);
	/* Unlike the others, dockerd does not trim size: "76\n" drops the layer. */
	errno = 0;
	rec.size = strtoll(size, &end, 10);
	if (!*size || *end || errno || rec.size < 0 || !isdigit((unsigned char)size[0]))
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
					"layer %s is damaged: size file is not a plain decimal number", chain_id);
	t = trim(cache);
	if (!layer_cache_id_valid(t))
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "layer %s is damaged: malformed cache-id", chain_id);
	memcpy(rec.cache_id, t, strlen(t) + 1);
	if (parent) {
		t = trim(parent);
		if (!digest_valid(t))
			return strata_error_set(err, STRATA_ERR_CORRUPT, 0,
						"layer %s is damaged: malformed parent file", chain_id);
		memcpy(rec.parent, t, STRATA_DIGEST_LEN + 1);
	}
	*out = rec;
	return 0;
}

int layerdb_read_field(struct strata_store *store, const char *chain_id, const char *name, char **out,
		       struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf dir = STRBUF_INIT;
	_cleanup_free_ char *raw = NULL;
	const char *hex;
	int ret;

	if ((ret = digest_parse(chain_id, &hex, "layer chain", err)) < 0 ||
	    (ret = layout_layer_dir(&dir, hex, err)) < 0 ||
	    (ret = read_field(store, dir.buf, name, false, &raw, err)) < 0)
		return ret;
	*out = xstrdup(trim(raw));
	return 0;
}

int layerdb_write_cache_id(struct strata_store *store, const char *chain_id, const char *cache_id,
			   struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	const char *hex;
	int ret;

	if (!layer_cache_id_valid(cache_id))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "malformed cache-id for layer %s", chain_id);
	if ((ret = digest_parse(chain_id, &hex, "layer chain", err)) < 0 ||
	    (ret = layout_layer_file(&path, hex, LAYOUT_LAYER_CACHE_ID, err)) < 0)
		return ret;
	return fs_write_file_atomic_at(store->image_fd, path.buf, cache_id, strlen(cache_id), 0644, err);
}
