#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/intent.h"
#include "store/layout.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"

int release_intent_write(struct strata_store *store, const char *image_id, const char *chains,
			 struct strbuf *path, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf text = STRBUF_INIT;
	int ret;

	strbuf_addf(&text, "%s\n%s", image_id, chains);
	layout_tmp_release(path, getpid());
	if ((ret = layout_mkdir(store->image_fd, LAYOUT_LAYERDB_TMP, err)) < 0 ||
	    (ret = fs_write_file_atomic_at(store->image_fd, path->buf, text.buf, text.len, 0600, err)) < 0)
		return strata_error_wrap(err, "record the removal of image %s", image_id);
	return 0;
}

int release_intent_read(struct strata_store *store, const char *path, char image_id[STRATA_DIGEST_LEN + 1],
			char **chains, struct strata_error **err)
{
	_cleanup_free_ char *text = NULL;
	char *nl;
	int ret;

	image_id[0] = '\0';
	*chains = NULL;
	ret = fs_read_file_at(store->image_fd, path, 1 << 20, &text, NULL, err);
	if (ret < 0)
		return ret;
	nl = strchr(text, '\n');
	if (!nl) {
		*chains = xstrdup("");
		return 0;
	}
	*nl = '\0';
	if (digest_valid(text))
		snprintf(image_id, STRATA_DIGEST_LEN + 1, "%s", text);
	*chains = xstrdup(nl + 1);
	return 0;
}

int release_intent_remove(struct strata_store *store, const char *path, struct strata_error **err)
{
	if (unlinkat(store->image_fd, path, 0) < 0 && errno != ENOENT)
		return strata_error_set(err, STRATA_ERR_IO, errno, "remove '%s'", path);
	return 0;
}
