/*
 * docker build -: the context as an archive on stdin, with the sums COPY
 * hashes (context.c extracts the Engine API's bodies).  The client sends
 * what it reads as is when IsArchive says so (a compression magic, or a
 * first block that parses as a tar header); dockerd decompresses it and
 * untars it into a temporary folder, which is then the context folder.
 * strata does the same in DATA_ROOT/tmp/strata-context-XXXXXX: the
 * "strata-" prefix makes the recovery pass of the next write command
 * remove the folder of a build that was killed (no monitor.pid in it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/copy.h"
#include "build/dockerignore.h"
#include "compress/compress.h"
#include "digest/digest.h"
#include "image/image-private.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "strata/build.h"
#include "tar/tar.h"
#include "unpack/apply.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"

/* Go's archive/tar accepts a header whose checksum matches, summed unsigned or signed. */
static bool tar_header_ok(const unsigned char *h)
{
	unsigned long want = 0, usum = 0;
	long ssum = 0;
	size_t i = 148;
	bool digits = false;

	while (i < 156 && (h[i] == ' ' || h[i] == '\0'))
		i++;
	for (; i < 156 && h[i] >= '0' && h[i] <= '7'; i++) {
		want = want * 8 + (unsigned long)(h[i] - '0');
		digits = true;
	}
	if (!digits)
		return false;
	for (i = 0; i < TAR_BLOCK; i++) {
		unsigned char c = i >= 148 && i < 156 ? ' ' : h[i];

		usum += c;
		ssum += (signed char)c;
	}
	return usum == want || (ssum >= 0 && (unsigned long)ssum == want);
}

bool strata_build_is_archive(const void *head, size_t len)
{
	const unsigned char *h = head;

	if ((len >= 3 && h[0] == 0x1f && h[1] == 0x8b && h[2] == 0x08) || (len >= 3 && !memcmp(h, "BZh", 3)) ||
	    (len >= 6 && !memcmp(h, "\xfd" "7zXZ\0", 6)) || (len >= 4 && !memcmp(h, "\x28\xb5\x2f\xfd", 4)))
		return true;
	return len >= TAR_BLOCK && tar_header_ok(h);
}

struct head_source {
	const unsigned char *head;
	size_t len, off;
	int fd;
};

/* The bytes the caller already read, then the rest of fd. */
static ssize_t head_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct head_source *s = cookie;

	if (s->off < s->len) {
		size_t n = s->len - s->off < len ? s->len - s->off : len;

		memcpy(buf, s->head + s->off, n);
		s->off += n;
		return (ssize_t)n;
	}
	return compress_fd_read(&s->fd, buf, len, err);
}

/* A member's data on its way to the applier, hashed as tarsum hashes it. */
struct hashing_read {
	struct tar_reader *t;
	struct sha256_ctx h;
};

static ssize_t hashing_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct hashing_read *hr = cookie;
	ssize_t n = tar_reader_read_data(hr->t, buf, len, err);

	if (n > 0)
		sha256_update(&hr->h, buf, (size_t)n);
	return n;
}

/* tarsum v1's header selection: the header's fields as Go reads them, no mtime, then the xattrs by name. */
static void tarsum_header(struct sha256_ctx *h, const struct tar_entry *e)
{
	_cleanup_strbuf_ struct strbuf sel = STRBUF_INIT;
	size_t order[64], n = e->nr_xattrs < 64 ? e->nr_xattrs : 64;

	/* dockerd's sums have empty user and group names whatever the archive holds (seen on 20.10) */
	strbuf_addf(&sel, "name%smode%uuid%lldgid%lldsize%llutypeflag%clinkname%sunamegnamedevmajor%udevminor%u",
		    e->name, e->header_mode, (long long)e->uid, (long long)e->gid, (unsigned long long)e->size,
		    e->typeflag, e->linkname, e->devmajor, e->devminor);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(e->xattrs[order[j - 1]].name, e->xattrs[order[j]].name) > 0; j--) {
			size_t t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		strbuf_addstr(&sel, e->xattrs[order[i]].name);
		strbuf_add(&sel, e->xattrs[order[i]].value, e->xattrs[order[i]].len);
	}
	sha256_update(h, sel.buf, sel.len);
}

/* tarsum's file name: path.Join(".", path.Join("/", name)). */
static char *tarsum_name(const char *raw)
{
	_cleanup_free_ char *rooted = xasprintf("/%s", raw);
	char *clean = build_path_clean(rooted);
	char *out = xstrdup(strcmp(clean, "/") ? clean + 1 : ".");

	free(clean);
	return out;
}

static int cmp_sum(const void *a, const void *b)
{
	const struct build_sum *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int untar(int root_fd, struct head_source *src, struct build_sums *sums, struct strata_error **err)
{
	struct layer_applier *a = NULL;
	struct decomp_reader *d = decomp_reader_new(head_read, src, 0);
	struct tar_reader *t = tar_reader_new(decomp_reader_read, d);
	const struct tar_entry *e;
	int ret = layer_applier_new(root_fd, WHITEOUT_NONE, &a, err);

	while (ret >= 0 && (ret = tar_reader_next(t, &e, err)) > 0) {
		struct hashing_read hr = { t, { 0 } };
		struct build_sum *s;

		sha256_init(&hr.h);
		tarsum_header(&hr.h, e);
		ret = layer_applier_apply(a, e, tar_reader_header_size(t), hashing_read, &hr, err);
		/* what the applier left unread is still the member's data */
		while (ret >= 0) {
			char buf[65536];
			ssize_t n = hashing_read(&hr, buf, sizeof(buf), err);

			if (n <= 0) {
				ret = n < 0 ? (int)n : ret;
				break;
			}
		}
		ALLOC_GROW(sums->v, sums->n + 1, sums->alloc);
		s = &sums->v[sums->n];
		s->name = tarsum_name(e->name);
		s->seq = sums->n++;
		sha256_final_hex(&hr.h, s->hex);
	}
	if (ret >= 0)
		ret = layer_applier_finish(a, NULL, err);
	if (sums->n)
		qsort(sums->v, sums->n, sizeof(*sums->v), cmp_sum);
	layer_applier_free(a);
	tar_reader_free(t);
	decomp_reader_free(d);
	return ret;
}

int strata_build_archive_extract(struct strata_image_index *idx, const void *head, size_t head_len, int fd,
				 struct strata_build_archive **out, struct strata_error **err)
{
	struct strata_store *store = idx->store;
	struct strata_build_archive *a;
	_cleanup_close_ int root_fd = -1;
	struct head_source src = { head, head_len, 0, fd };
	const unsigned char *h = head;
	char name[] = LAYOUT_RUN_BUNDLE_PREFIX "context-XXXXXX";
	int ret;

	/* recognised by IsArchive, but strata has no decompressor for them */
	if ((head_len >= 3 && !memcmp(h, "BZh", 3)) || (head_len >= 6 && !memcmp(h, "\xfd" "7zXZ\0", 6)))
		return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
					"a bzip2 or xz build context is not supported (strata reads plain tar, gzip and zstd)");
	ret = fs_mkdir_at(store->root_fd, LAYOUT_TMP, 0700, err);
	if (ret < 0)
		return ret;
	a = xcalloc(1, sizeof(*a));
	a->tmp_fd = openat(store->root_fd, LAYOUT_TMP, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (a->tmp_fd < 0) {
		free(a);
		return strata_error_set(err, STRATA_ERR_IO, errno, "open '%s/" LAYOUT_TMP "'", store->root);
	}
	a->dir = xasprintf("%s/" LAYOUT_TMP "/%s", store->root, name);
	if (!mkdtemp(a->dir)) {
		ret = strata_error_set(err, STRATA_ERR_IO, errno, "create a folder for the build context in '%s/" LAYOUT_TMP "'",
				       store->root);
		close(a->tmp_fd);
		free(a->dir);
		free(a);
		return ret;
	}
	a->name = xstrdup(strrchr(a->dir, '/') + 1);
	root_fd = open(a->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	ret = root_fd < 0 ? strata_error_set(err, STRATA_ERR_IO, errno, "open '%s'", a->dir) :
	      untar(root_fd, &src, &a->sums, err);
	if (ret < 0) {
		strata_build_archive_free(a);
		return strata_error_wrap(err, "extract the build context");
	}
	*out = a;
	return 0;
}

const char *strata_build_archive_dir(const struct strata_build_archive *a)
{
	return a->dir;
}

void strata_build_archive_free(struct strata_build_archive *a)
{
	if (!a)
		return;
	fs_remove_tree_at(a->tmp_fd, a->name, NULL);
	close(a->tmp_fd);
	for (size_t i = 0; i < a->sums.n; i++)
		free(a->sums.v[i].name);
	free(a->sums.v);
	free(a->name);
	free(a->dir);
	free(a);
}
