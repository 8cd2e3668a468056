/*
 * docker load in one streaming pass.
 *
 * The archive is read once, member by member.  Small members (configs,
 * manifests, v1 json, small layers) stay in memory.  A large member that
 * can already be identified as layer i of a known image whose parent chain
 * is registered (the manifest, an OCI manifest or the config with the v1
 * IDs docker save derives from it came earlier in the tar) is registered
 * straight from the stream.  Any other large member is copied once,
 * compressed or not as it is in the archive, into a staging file under
 * image/<driver>/layerdb/tmp/load-<pid>/ and registered from there once the
 * manifest is known; each staging file is deleted as soon as the last layer
 * that needs it is registered.  Nothing is ever extracted twice.
 *
 * All layers are registered first, then configs are written, then tags are
 * set in one repositories.json write; a failure at any step removes every
 * layer and config this load added.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/load.h"
#include "compress/compress.h"
#include "image/rootfs.h"
#include "image/v1.h"
#include "image/image-private.h"
#include "image/imagedb.h"
#include "json/gojson.h"
#include "layer/layerdb.h"
#include "layer/layerstore.h"
#include "layer/pipeline.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "strata/archive.h"
#include "strata/image.h"
#include "strata/reference.h"
#include "tar/tar.h"
#include "util/limits.h"
#include "util/alloc.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/safepath.h"
#include "util/strbuf.h"

#define MEMBER_SMALL (1u << 20)   /* members up to this size are kept in memory */
#define MEMBER_MEM_CAP (64u << 20) /* ... while all of them stay below this */
#define MAX_MEMBERS 100000
#define MAX_LINK_HOPS 40

enum member_kind { MEMBER_FILE, MEMBER_SYMLINK, MEMBER_HARDLINK, MEMBER_DIR };

struct member {
	char *name;   /* cleaned path */
	enum member_kind kind;
	char *target; /* symlink target as written / hard link target cleaned */
	char *data;   /* in memory, or NULL */
	size_t len;
	char *staged; /* file name in the staging folder, or NULL */
	bool consumed; /* registered straight from the stream */
	uint64_t size;
};

/* A config seen while streaming, to recognise layers before the manifest. */
struct known_config {
	char *member;
	json_t *config;
	struct image_rootfs layers;
	char (*v1)[STRATA_HEX_LEN + 1];
};

struct loader {
	struct strata_image_index *idx;
	struct strata_store *store;
	int dir_fd; /* input is a folder (OCI layout), else -1 */
	struct member *m;
	size_t nr, alloc;
	size_t mem_total;
	struct known_config *kc;
	size_t nr_kc, alloc_kc;
	json_t *early_manifest; /* manifest.json seen before the layers */
	json_t **early_oci;     /* OCI manifests seen while streaming */
	size_t nr_oci, alloc_oci;
	char *stage_name;       /* layerdb/tmp/load-<pid> */
	int stage_fd;
	unsigned nr_staged;
	/* what this load added, for the rollback */
	char (*new_chains)[STRATA_DIGEST_LEN + 1];
	size_t nr_new, alloc_new;
	char (*kept_chains)[STRATA_DIGEST_LEN + 1];
	size_t nr_kept, alloc_kept;
	char (*new_configs)[STRATA_HEX_LEN + 1];
	size_t nr_new_cfg, alloc_new_cfg;
	const struct strata_cancel *cancel;
	strata_load_progress_fn progress; /* "Loading layer" byte counts, or NULL */
	void *progress_cookie;
	pthread_mutex_t progress_mu;      /* one progress call at a time */
};

void load_image_release(struct load_image *img)
{
	free(img->config);
	json_decref(img->config_json);
	for (size_t i = 0; i < img->nr_layers; i++)
		free(img->layer_paths ? img->layer_paths[i] : NULL);
	free(img->layer_paths);
	free(img->diff_ids);
	free(img->chain_ids);
	free(img->blob_digests);
	free(img->blob_sizes);
	for (size_t i = 0; i < img->nr_tags; i++)
		free(img->tags[i]);
	free(img->tags);
	free(img->parent);
	memset(img, 0, sizeof(*img));
}

static struct member *member_find(struct loader *l, const char *name)
{
	for (size_t i = l->nr; i-- > 0;)
		if (!strcmp(l->m[i].name, name))
			return &l->m[i];
	return NULL;
}

static void member_clear(struct loader *l, struct member *m)
{
	if (m->data)
		l->mem_total -= m->len;
	free(m->data);
	free(m->target);
	if (m->staged && l->stage_fd >= 0)
		unlinkat(l->stage_fd, m->staged, 0);
	free(m->staged);
	m->data = m->target = m->staged = NULL;
	m->consumed = false;
	m->len = 0;
}

static void loader_release(struct loader *l)
{
	_cleanup_error_ struct strata_error *stage_err = NULL;

	for (size_t i = 0; i < l->nr; i++) {
		member_clear(l, &l->m[i]);
		free(l->m[i].name);
	}
	free(l->m);
	for (size_t i = 0; i < l->nr_kc; i++) {
		free(l->kc[i].member);
		json_decref(l->kc[i].config);
		image_rootfs_release(&l->kc[i].layers);
		free(l->kc[i].v1);
	}
	free(l->kc);
	json_decref(l->early_manifest);
	for (size_t i = 0; i < l->nr_oci; i++)
		json_decref(l->early_oci[i]);
	free(l->early_oci);
	if (l->stage_fd >= 0)
		close(l->stage_fd);
	if (l->stage_name)
		fs_remove_tree_at(l->store->image_fd, l->stage_name, &stage_err);
	free(l->stage_name);
	if (l->dir_fd >= 0)
		close(l->dir_fd);
	free(l->new_chains);
	free(l->kept_chains);
	free(l->new_configs);
}

/* Archive names: relative, no ".." above the root (moby's safePath). */
static int clean_name(const char *name, char **out, struct strata_error **err)
{
	if (name[0] == '/')
		return strata_error_set(err, STRATA_ERR_UNSAFE_PATH, 0,
					"invalid archive member '%s': absolute path", name);
	if (safepath_clean(name, out, "path", err) < 0)
		return strata_error_wrap(err, "invalid archive member '%s'", name);
	return 0;
}

/*
 * Resolve symlinks met along path inside the archive (hard links too).
 * Targets climbing out of the archive or absolute are refused.
 */
static int resolve(struct loader *l, const char *path, bool follow_last, char **out,
		   struct strata_error **err)
{
	_cleanup_free_ char *cur = NULL;
	int ret, hops = 0;

	ret = clean_name(path, &cur, err);
	if (ret < 0)
		return ret;
again:
	for (char *p = cur;; p++) {
		if (*p == '/' || *p == '\0') {
			char save = *p;
			struct member *m;

			*p = '\0';
			m = member_find(l, cur);
			*p = save;
			if (m && (m->kind == MEMBER_SYMLINK || m->kind == MEMBER_HARDLINK) &&
			    (save == '/' || follow_last)) {
				_cleanup_free_ char *joined = NULL, *clean = NULL;
				const char *dir_end;
				size_t dlen;

				if (++hops > MAX_LINK_HOPS)
					return strata_error_set(err, STRATA_ERR_UNSAFE_PATH, 0,
								"'%s': too many levels of symbolic links", path);
				if (m->kind == MEMBER_HARDLINK) {
					joined = xasprintf("%s%s", m->target, save ? p : "");
				} else {
					if (m->target[0] == '/')
						return strata_error_set(err, STRATA_ERR_UNSAFE_PATH, 0,
									"'%s': symlink '%s' points outside the archive (%s)",
									path, m->name, m->target);
					dir_end = strrchr(m->name, '/');
					dlen = dir_end ? (size_t)(dir_end - m->name) : 0;
					joined = xasprintf("%.*s%s%s%s", (int)dlen, m->name, dlen ? "/" : "",
							   m->target, save ? p : "");
				}
				ret = safepath_clean(joined, &clean, "symlink target", err);
				if (ret < 0)
					return strata_error_wrap(err, "'%s': symlink '%s' points outside the archive",
								 path, m->name);
				free(cur);
				cur = steal_pointer(&clean);
				goto again;
			}
			if (!save)
				break;
		}
	}
	*out = steal_pointer(&cur);
	return 0;
}

bool loader_has(struct loader *l, const char *path)
{
	_cleanup_free_ char *name = NULL;
	_cleanup_error_ struct strata_error *err = NULL;

	if (resolve(l, path, true, &name, &err) < 0)
		return false;
	if (l->dir_fd >= 0) {
		struct stat st;

		return *name && fstatat(l->dir_fd, name, &st, 0) == 0;
	}
	return member_find(l, name) != NULL;
}

static int read_fd_bounded(int fd, size_t max, char **buf, size_t *len, const char *what,
			   struct strata_error **err)
{
	struct strbuf sb = STRBUF_INIT;
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			strbuf_release(&sb);
			return strata_error_set(err, STRATA_ERR_IO, errno, "read %s", what);
		}
		if (!n)
			break;
		if (sb.len + (size_t)n > max) {
			strbuf_release(&sb);
			return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "%s is larger than %zu bytes",
						what, max);
		}
		strbuf_add(&sb, chunk, (size_t)n);
	}
	*buf = strbuf_detach(&sb, len);
	return 0;
}

int loader_read(struct loader *l, const char *path, bool follow, size_t max, char **buf,
		size_t *len, struct strata_error **err)
{
	_cleanup_free_ char *name = NULL;
	struct member *m;
	int ret;

	ret = resolve(l, path, follow, &name, err);
	if (ret < 0)
		return ret;
	if (l->dir_fd >= 0) {
		_cleanup_close_ int fd = -1;
		struct stat st;

		if (!*name)
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "'%s' is not a file", path);
		fd = safepath_open(l->dir_fd, name, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW), 0, err);
		if (fd < 0) {
			if (!follow && errno == ELOOP)
				return strata_error_wrap(err, "'%s' is a symlink", path);
			return fd;
		}
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "'%s' is not a regular file", path);
		return read_fd_bounded(fd, max, buf, len, path, err);
	}
	m = member_find(l, name);
	if (!m)
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "'%s' is missing from the archive", path);
	if (m->kind == MEMBER_SYMLINK || m->kind == MEMBER_HARDLINK)
		return strata_error_set(err, STRATA_ERR_UNSAFE_PATH, 0, "'%s' is a link in the archive", path);
	if (m->kind != MEMBER_FILE)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "'%s' is not a regular file", path);
	if (m->size > max)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "'%s' is larger than %zu bytes", path, max);
	if (m->data) {
		*buf = xmalloc(m->len + 1);
		memcpy(*buf, m->data, m->len);
		(*buf)[m->len] = '\0';
		*len = m->len;
		return 0;
	}
	if (m->staged) {
		_cleanup_close_ int fd = openat(l->stage_fd, m->staged, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return strata_error_set(err, STRATA_ERR_IO, errno, "open staged '%s'", path);
		return read_fd_bounded(fd, max, buf, len, path, err);
	}
	return strata_error_set(err, STRATA_ERR_INVALID, 0,
				"'%s' was read as a layer and cannot be used as a document", path);
}

/* ---- layers ---- */

struct membuf {
	const char *p;
	size_t left;
};

static ssize_t membuf_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct membuf *mb = cookie;
	size_t n = len < mb->left ? len : mb->left;

	memcpy(buf, mb->p, n);
	mb->p += n;
	mb->left -= n;
	return (ssize_t)n;
}

/* docker load's "Loading layer" counts of one layer being read */
struct layer_progress {
	struct loader *l;
	char short_id[13];
	uint64_t read, reported, total;
};

static void layer_progress_add(struct layer_progress *lp, ssize_t n)
{
	if (n <= 0 || !lp->l->progress)
		return;
	lp->read += (uint64_t)n;
	if (lp->read - lp->reported < (512u << 10) && lp->read != lp->total)
		return;
	lp->reported = lp->read;
	pthread_mutex_lock(&lp->l->progress_mu);
	lp->l->progress(lp->l->progress_cookie, lp->short_id, "Loading layer", (int64_t)lp->read,
			(int64_t)lp->total);
	pthread_mutex_unlock(&lp->l->progress_mu);
}

struct counted_member {
	struct tar_reader *r;
	struct layer_progress lp;
};

static ssize_t counted_member_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct counted_member *cm = cookie;
	ssize_t n = tar_reader_read_data(cm->r, buf, len, err);

	layer_progress_add(&cm->lp, n);
	return n;
}

static void note_chain(char (**arr)[STRATA_DIGEST_LEN + 1], size_t *nr, size_t *alloc, const char *chain)
{
	for (size_t i = 0; i < *nr; i++)
		if (!strcmp((*arr)[i], chain))
			return;
	ALLOC_GROW(*arr, *nr + 1, *alloc);
	snprintf((*arr)[(*nr)++], STRATA_DIGEST_LEN + 1, "%s", chain);
}

static int check_blob(const struct layer_register_result *res, const char *blob_digest, int64_t blob_size,
		      const char *path, struct strata_error **err)
{
	if (res->existed)
		return 0;
	if (blob_digest && *blob_digest && strcmp(blob_digest, res->compressed_digest))
		return strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
					"blob '%s': digest mismatch: expected %s, got %s", path, blob_digest,
					res->compressed_digest);
	if (blob_size >= 0 && (uint64_t)blob_size != res->compressed_size)
		return strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
					"blob '%s': size mismatch: expected %lld, got %llu", path,
					(long long)blob_size, (unsigned long long)res->compressed_size);
	return 0;
}

/* One layer this load registers, and where its bytes are. */
struct load_job {
	size_t img, k;          /* imgs[img].layer_paths[k] */
	int fd;                 /* source file, or -1 for a member in memory */
	struct membuf mb;
	uint64_t size;          /* source bytes: bigger layers are read first */
	struct layer_progress lp; /* named by the diff ID, as docker's progress */
	const struct strata_cancel *cancel;
};

/* Open wherever a layer's member bytes are: a file of the layout, a staged file or memory. */
static int layer_source(struct loader *l, const char *path, struct load_job *j, struct strata_error **err)
{
	_cleanup_free_ char *name = NULL;
	struct member *m;
	struct stat st;
	int ret;

	ret = resolve(l, path, true, &name, err);
	if (ret < 0)
		return ret;
	if (l->dir_fd >= 0) {
		j->fd = *name ? safepath_open(l->dir_fd, name, O_RDONLY | O_CLOEXEC, 0, err)
			      : strata_error_set(err, STRATA_ERR_INVALID, 0, "'%s' is not a file", path);
		if (j->fd < 0)
			return strata_error_wrap(err, "layer '%s'", path);
	} else {
		m = member_find(l, name);
		if (!m || m->kind != MEMBER_FILE)
			return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "layer '%s' is missing from the archive",
						path);
		if (m->data) {
			j->mb.p = m->data;
			j->mb.left = m->len;
			j->size = m->len;
			return 0;
		}
		if (!m->staged)
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"layer '%s' was registered as another layer already", path);
		j->fd = openat(l->stage_fd, m->staged, O_RDONLY | O_CLOEXEC);
		if (j->fd < 0)
			return strata_error_set(err, STRATA_ERR_IO, errno, "open staged layer '%s'", path);
	}
	if (fstat(j->fd, &st) == 0)
		j->size = (uint64_t)st.st_size;
	return 0;
}

/* ---- legacy archives: what legacy.c needs from the loader ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_name(char ***names, size_t *nr, size_t *alloc, const char *name, size_t len)
{
	for (size_t i = 0; i < *nr; i++)
		if (strlen((*names)[i]) == len && !strncmp((*names)[i], name, len))
			return;
	ALLOC_GROW(*names, *nr + 1, *alloc);
	(*names)[(*nr)++] = xstrndup(name, len);
}

/* Top-level folders as os.ReadDir sees them after the untar: real folders, not symlinks. */
int loader_top_dirs(struct loader *l, char ***out, size_t *nr, struct strata_error **err)
{
	char **names = NULL;
	size_t n = 0, alloc = 0;

	if (l->dir_fd >= 0) {
		DIR *d = NULL;
		struct dirent *de;

		if (fs_opendir_at(l->dir_fd, ".", &d, err) < 0)
			return strata_error_wrap(err, "the layout folder");
		while ((de = readdir(d))) {
			struct stat st;

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (fstatat(l->dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
				add_name(&names, &n, &alloc, de->d_name, strlen(de->d_name));
			if (n > LOAD_MAX_IMAGES)
				break;
		}
		closedir(d);
	} else {
		for (size_t i = 0; i < l->nr && n <= LOAD_MAX_IMAGES; i++) {
			const char *slash = strchr(l->m[i].name, '/');

			if (slash)
				add_name(&names, &n, &alloc, l->m[i].name, (size_t)(slash - l->m[i].name));
			else if (l->m[i].kind == MEMBER_DIR && *l->m[i].name)
				add_name(&names, &n, &alloc, l->m[i].name, strlen(l->m[i].name));
		}
		/* a later symlink or file of the same name replaces the folder */
		for (size_t i = 0; i < n;) {
			struct member *m = member_find(l, names[i]);

			if (m && m->kind != MEMBER_DIR) {
				free(names[i]);
				names[i] = names[--n];
			} else {
				i++;
			}
		}
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	*out = names;
	*nr = n;
	return 0;
}

int loader_diff_id(struct loader *l, const char *path, char out[STRATA_DIGEST_LEN + 1], struct strata_error **err)
{
	struct load_job j = { .fd = -1 };
	struct decomp_reader *d;
	struct decomp_sums sums;
	char buf[65536];
	ssize_t n;
	int ret;

	ret = layer_source(l, path, &j, err);
	if (ret < 0)
		return ret;
	d = j.fd >= 0 ? decomp_reader_new(compress_fd_read, &j.fd, DECOMP_HASH_OUTPUT)
		      : decomp_reader_new(membuf_read, &j.mb, DECOMP_HASH_OUTPUT);
	while ((n = decomp_reader_read(d, buf, sizeof(buf), err)) > 0)
		;
	ret = n < 0 ? (int)n : decomp_reader_finish(d, &sums, err);
	decomp_reader_free(d);
	if (j.fd >= 0)
		close(j.fd);
	if (ret < 0)
		return strata_error_wrap(err, "layer '%s'", path);
	snprintf(out, STRATA_DIGEST_LEN + 1, "sha256:%s", sums.output_hex);
	return 0;
}

/* ---- recognising layers while streaming ---- */

static void known_config_add(struct loader *l, const char *member, const char *buf, size_t len)
{
	_cleanup_error_ struct strata_error *err = NULL;
	json_t *cfg = NULL;
	struct known_config kc = { 0 };

	if (gojson_parse(buf, len, "config", &cfg, &err) < 0)
		return;
	if (image_rootfs_parse(cfg, &kc.layers, &err) < 0 || !kc.layers.n) {
		image_rootfs_release(&kc.layers);
		json_decref(cfg);
		return;
	}
	kc.member = xstrdup(member);
	kc.config = cfg;
	ALLOC_GROW(l->kc, l->nr_kc + 1, l->alloc_kc);
	l->kc[l->nr_kc++] = kc;
}

static void known_v1_ids(struct known_config *kc)
{
	_cleanup_strbuf_ struct strbuf json = STRBUF_INIT;

	if (kc->v1)
		return;
	kc->v1 = xcalloc(kc->layers.n, sizeof(*kc->v1));
	for (size_t i = 0; i < kc->layers.n; i++) {
		strbuf_reset(&json);
		image_v1_layer(kc->config, i, kc->layers.n, kc->layers.chain_ids[i], i ? kc->v1[i - 1] : "",
			       kc->v1[i], &json);
	}
}

struct prediction {
	const char *diff, *chain, *parent;
	const char *blob; /* OCI blob digest or NULL */
};

static struct known_config *kc_by_member(struct loader *l, const char *path)
{
	_cleanup_free_ char *name = NULL;
	_cleanup_error_ struct strata_error *err = NULL;

	if (resolve(l, path, true, &name, &err) < 0)
		return NULL;
	for (size_t i = 0; i < l->nr_kc; i++)
		if (!strcmp(l->kc[i].member, name))
			return &l->kc[i];
	return NULL;
}

static bool same_member(struct loader *l, const char *path, const char *name)
{
	_cleanup_free_ char *clean = NULL;
	_cleanup_error_ struct strata_error *err = NULL;

	return clean_name(path, &clean, &err) == 0 && !strcmp(clean, name);
}

static bool predict_slot(struct known_config *kc, size_t i, struct prediction *p)
{
	p->diff = kc->layers.diff_ids[i];
	p->chain = kc->layers.chain_ids[i];
	p->parent = i ? kc->layers.chain_ids[i - 1] : NULL;
	return true;
}

/* Which layer is member `name`, from what the stream showed so far? */
static bool predict(struct loader *l, const char *name, struct prediction *p)
{
	const char *base = strrchr(name, '/');
	size_t i, k;

	memset(p, 0, sizeof(*p));
	base = base ? base + 1 : name;
	/* manifest.json seen first */
	if (l->early_manifest) {
		json_t *entry;

		json_array_foreach(l->early_manifest, k, entry) {
			json_t *layers = json_object_get(entry, "Layers");
			const char *cfg = gojson_get_string(entry, "Config");
			struct known_config *kc = cfg ? kc_by_member(l, cfg) : NULL;

			if (!kc || json_array_size(layers) != kc->layers.n)
				continue;
			for (i = 0; i < kc->layers.n; i++) {
				const char *lp = json_string_value(json_array_get(layers, i));

				if (lp && same_member(l, lp, name))
					return predict_slot(kc, i, p);
			}
		}
	}
	/* OCI manifests seen first */
	if (!strncmp(name, "blobs/sha256/", 13) && digest_hex_valid(name + 13)) {
		for (k = 0; k < l->nr_oci; k++) {
			json_t *layers = json_object_get(l->early_oci[k], "layers");
			const char *cd = gojson_get_string(json_object_get(l->early_oci[k], "config"), "digest");
			_cleanup_free_ char *cpath = NULL;
			struct known_config *kc;

			if (!cd || !digest_valid(cd))
				continue;
			cpath = xasprintf("blobs/sha256/%s", cd + 7);
			kc = kc_by_member(l, cpath);
			if (!kc || json_array_size(layers) != kc->layers.n)
				continue;
			for (i = 0; i < kc->layers.n; i++) {
				const char *d = gojson_get_string(json_array_get(layers, i), "digest");

				if (d && !strncmp(d, "sha256:", 7) && !strcmp(d + 7, name + 13)) {
					predict_slot(kc, i, p);
					p->blob = d;
					return true;
				}
			}
		}
	}
	for (k = 0; k < l->nr_kc; k++) {
		struct known_config *kc = &l->kc[k];

		/* docker save: <v1id>/layer.tar, v1 IDs derive from the config */
		if (!strcmp(base, "layer.tar") && base - name == STRATA_HEX_LEN + 1) {
			known_v1_ids(kc);
			for (i = 0; i < kc->layers.n; i++)
				if (!strncmp(name, kc->v1[i], STRATA_HEX_LEN))
					return predict_slot(kc, i, p);
		}
		/* <diffid>.tar (skopeo, ggcr) or an uncompressed blob named by its diff ID */
		for (i = 0; i < kc->layers.n; i++) {
			const char *hex = kc->layers.diff_ids[i] + 7;

			if ((!strncmp(base, hex, STRATA_HEX_LEN) && !strcmp(base + STRATA_HEX_LEN, ".tar")) ||
			    (!strncmp(name, "blobs/sha256/", 13) && !strcmp(name + 13, hex)))
				return predict_slot(kc, i, p);
		}
	}
	return false;
}

/* ---- the streaming pass ---- */

static int stage_open(struct loader *l, struct strata_error **err)
{
	struct strbuf name = STRBUF_INIT;
	int ret;

	if (l->stage_fd >= 0)
		return 0;
	if ((ret = layout_mkdir(l->store->image_fd, LAYOUT_LAYERDB_TMP, err)) < 0)
		return ret;
	layout_tmp_load(&name, getpid());
	l->stage_name = strbuf_detach(&name, NULL);
	ret = fs_remove_tree_at(l->store->image_fd, l->stage_name, err);
	if (ret >= 0)
		ret = fs_mkdir_at(l->store->image_fd, l->stage_name, 0700, err);
	if (ret < 0)
		return ret;
	l->stage_fd = fs_open_dir_at(l->store->image_fd, l->stage_name, err);
	return l->stage_fd < 0 ? l->stage_fd : 0;
}

static int stage_member(struct loader *l, struct tar_reader *r, struct member *m, struct strata_error **err)
{
	_cleanup_close_ int fd = -1;
	char buf[1 << 16];
	int ret = stage_open(l, err);

	if (ret < 0)
		return ret;
	m->staged = xasprintf("%u", l->nr_staged++);
	fd = openat(l->stage_fd, m->staged, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "create staging file for '%s'", m->name);
	for (;;) {
		ssize_t n = tar_reader_read_data(r, buf, sizeof(buf), err);

		if (n < 0)
			return (int)n;
		if (!n)
			break;
		ret = compress_fd_write(&fd, buf, (size_t)n, err);
		if (ret < 0)
			return strata_error_wrap(err, "stage '%s'", m->name);
	}
	return 0;
}

static int keep_in_memory(struct loader *l, struct tar_reader *r, struct member *m, struct strata_error **err)
{
	size_t got = 0;

	m->data = xmalloc(m->size + 1);
	while (got < m->size) {
		ssize_t n = tar_reader_read_data(r, m->data + got, m->size - got, err);

		if (n < 0)
			return (int)n;
		if (!n)
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "'%s': truncated member", m->name);
		got += (size_t)n;
	}
	m->data[got] = '\0';
	m->len = got;
	l->mem_total += got;
	return 0;
}

/* Learn from a small document as soon as it arrives. */
static void inspect_document(struct loader *l, struct member *m)
{
	_cleanup_error_ struct strata_error *err = NULL;
	json_t *doc = NULL;
	size_t i = 0;

	while (i < m->len && strchr(" \t\r\n", m->data[i]))
		i++;
	if (i == m->len || (m->data[i] != '{' && m->data[i] != '['))
		return;
	if (!strcmp(m->name, "manifest.json")) {
		if (gojson_parse(m->data, m->len, "manifest.json", &doc, &err) == 0 && json_is_array(doc)) {
			json_decref(l->early_manifest);
			l->early_manifest = doc;
		} else {
			json_decref(doc);
		}
		return;
	}
	if (m->data[i] != '{')
		return;
	if (strstr(m->data, "\"rootfs\"")) {
		known_config_add(l, m->name, m->data, m->len);
		return;
	}
	if (strstr(m->data, "\"layers\"") && gojson_parse(m->data, m->len, "manifest", &doc, &err) == 0) {
		if (json_is_array(json_object_get(doc, "layers")) && l->nr_oci < LOAD_MAX_IMAGES) {
			ALLOC_GROW(l->early_oci, l->nr_oci + 1, l->alloc_oci);
			l->early_oci[l->nr_oci++] = doc;
			return;
		}
		json_decref(doc);
	}
}

static int below_link(struct loader *l, const char *name, struct strata_error **err)
{
	_cleanup_free_ char *copy = xstrdup(name);

	for (char *p = copy; (p = strchr(p, '/')); p++) {
		struct member *m;

		*p = '\0';
		m = member_find(l, copy);
		if (m && (m->kind == MEMBER_SYMLINK || m->kind == MEMBER_HARDLINK))
			return strata_error_set(err, STRATA_ERR_UNSAFE_PATH, 0,
						"invalid archive member '%s': below symlink '%s'", name, copy);
		*p = '/';
	}
	return 0;
}

static bool is_document_name(const char *name)
{
	return !strcmp(name, "manifest.json") || !strcmp(name, "index.json") ||
	       !strcmp(name, "repositories") || !strcmp(name, "oci-layout");
}

static int stream_member(struct loader *l, struct tar_reader *r, const struct tar_entry *e,
			 struct strata_error **err)
{
	_cleanup_free_ char *name = NULL;
	struct member *m;
	struct prediction p;
	int ret;

	if (e->typeflag == TAR_XGLOBAL)
		return 0;
	ret = clean_name(e->name, &name, err);
	if (ret < 0)
		return ret;
	if (!*name)
		return 0;
	ret = below_link(l, name, err);
	if (ret < 0)
		return ret;
	if (is_document_name(name) && e->typeflag != TAR_REG)
		return strata_error_set(err, STRATA_ERR_UNSAFE_PATH, 0,
					"invalid archive: '%s' is not a regular file", name);
	m = member_find(l, name);
	if (m) {
		member_clear(l, m);
	} else {
		if (l->nr >= MAX_MEMBERS)
			return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "archive has more than %d members",
						MAX_MEMBERS);
		ALLOC_GROW(l->m, l->nr + 1, l->alloc);
		m = &l->m[l->nr++];
		memset(m, 0, sizeof(*m));
		m->name = steal_pointer(&name);
	}
	m->size = e->size;
	switch (e->typeflag) {
	case TAR_DIR:
		m->kind = MEMBER_DIR;
		return 0;
	case TAR_SYMLINK:
		m->kind = MEMBER_SYMLINK;
		m->target = xstrdup(e->linkname);
		return 0;
	case TAR_LINK:
		m->kind = MEMBER_HARDLINK;
		return clean_name(e->linkname, &m->target, err);
	case TAR_REG:
		break;
	default:
		m->kind = MEMBER_DIR; /* devices, fifos: nothing a loader uses */
		return 0;
	}
	m->kind = MEMBER_FILE;
	if (e->size <= MEMBER_SMALL && l->mem_total + e->size <= MEMBER_MEM_CAP) {
		ret = keep_in_memory(l, r, m, err);
		if (ret >= 0)
			inspect_document(l, m);
		return ret;
	}
	if (!is_document_name(m->name) && predict(l, m->name, &p)) {
		struct layer_register_result res;

		if (layerstore_has(l->store, p.chain)) {
			/* Known layer: dockerd does not read it either. */
			note_chain(&l->kept_chains, &l->nr_kept, &l->alloc_kept, p.chain);
			m->consumed = true;
			return 0;
		}
		if (!p.parent || layerstore_has(l->store, p.parent)) {
			struct counted_member cm = { r, { .l = l, .total = e->size } };

			snprintf(cm.lp.short_id, sizeof(cm.lp.short_id), "%.12s", p.diff + 7);
			ret = layerstore_register(l->store, p.parent, counted_member_read, &cm, p.diff,
						  &res, err);
			if (ret < 0)
				return strata_error_wrap(err, "layer '%s'", m->name);
			note_chain(&l->new_chains, &l->nr_new, &l->alloc_new, res.chain_id);
			m->consumed = true;
			return check_blob(&res, p.blob, -1, m->name, err);
		}
	}
	return stage_member(l, r, m, err);
}

/* The archive stream; the load stops at the next read once it is cancelled. */
struct input {
	int fd;
	const struct strata_cancel *cancel;
};

static ssize_t input_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct input *in = cookie;
	int ret = cancel_check(in->cancel, err);

	if (ret < 0)
		return ret;
	return compress_fd_read(&in->fd, buf, len, err);
}

static int stream_archive(struct loader *l, int fd, struct strata_error **err)
{
	struct input in = { fd, l->cancel };
	struct decomp_reader *d = decomp_reader_new(input_read, &in, 0);
	struct tar_reader *r = tar_reader_new(decomp_reader_read, d);
	const struct tar_entry *e;
	struct strata_error *serr = NULL;
	int ret;

	size_t members = 0;

	while ((ret = tar_reader_next(r, &e, &serr)) > 0) {
		members++;
		ret = stream_member(l, r, e, &serr);
		if (ret < 0)
			break;
	}
	tar_reader_free(r);
	decomp_reader_free(d);
	if (ret < 0 && serr && serr->code == STRATA_ERR_INTERRUPTED)
		return strata_error_propagate(err, serr);
	if (ret < 0 && !members && serr && serr->code != STRATA_ERR_IO) {
		strata_error_free(serr);
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"invalid archive: the input is not a tar archive (plain, gzip or zstd)");
	}
	if (ret < 0 && serr)
		for (char *c = serr->msg; *c; c++)
			if ((unsigned char)*c < 0x20)
				*c = '?';
	if (ret < 0) {
		strata_error_propagate(err, serr);
		return strata_error_wrap(err, "invalid archive");
	}
	return 0;
}

/* ---- the plan ---- */

static int check_os(const json_t *config, struct strata_error **err)
{
	const char *os = gojson_get_string(config, "os");

	if (os && *os && strcmp(os, "linux"))
		return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0, "cannot load %s image on linux", os);
	return 0;
}

int load_image_set_config(struct load_image *img, char *config, size_t len, const char *expect_hex,
			  const char *what, struct strata_error **err)
{
	struct strata_error *e = NULL;
	struct image_rootfs rootfs;
	char hex[STRATA_HEX_LEN + 1];
	json_t *diffs;
	int ret;

	sha256_hex(config, len, hex);
	if (expect_hex && strcmp(expect_hex, hex)) {
		free(config);
		return strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
					"config '%s': digest mismatch: the archive names it sha256:%s, its content hashes to sha256:%s",
					what, expect_hex, hex);
	}
	img->config = config;
	img->config_len = len;
	snprintf(img->id, sizeof(img->id), "sha256:%s", hex);
	ret = gojson_parse(config, len, what, &img->config_json, err);
	if (ret < 0)
		return ret;
	if (!json_is_object(img->config_json))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "config '%s' is not a JSON object", what);
	ret = check_os(img->config_json, err);
	if (ret < 0)
		return ret;
	diffs = json_object_get(json_object_get(img->config_json, "rootfs"), "diff_ids");
	ret = image_rootfs_parse(img->config_json, &rootfs, &e);
	if ((ret >= 0 || json_is_array(diffs)) && json_array_size(diffs) != img->nr_layers) {
		image_rootfs_release(&rootfs);
		strata_error_free(e);
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"invalid manifest, layers length mismatch: expected %zu, got %zu",
					img->nr_layers, json_array_size(diffs));
	}
	img->diff_ids = rootfs.diff_ids;
	img->chain_ids = rootfs.chain_ids;
	if (ret < 0) {
		strata_error_propagate(err, steal_pointer(&e));
		return strata_error_wrap(err, "config '%s'", what);
	}
	return 0;
}

/* A config named <hex>.json or blobs/sha256/<hex> must hash to that hex. */
static const char *expected_config_hex(const char *path, char buf[STRATA_HEX_LEN + 1])
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len == STRATA_HEX_LEN + 5 && !strcmp(base + STRATA_HEX_LEN, ".json"))
		len = STRATA_HEX_LEN;
	if (len != STRATA_HEX_LEN)
		return NULL;
	memcpy(buf, base, STRATA_HEX_LEN);
	buf[STRATA_HEX_LEN] = '\0';
	return digest_hex_valid(buf) ? buf : NULL;
}

static int validate_tag(const char *tag, struct strata_error **err)
{
	struct strata_ref ref = { 0 };
	int ret = strata_ref_parse(tag, &ref, err);

	if (ret < 0)
		return ret;
	if (!ref.tag || ref.digest)
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid tag \"%s\"", tag);
	strata_ref_release(&ref);
	return ret;
}

static int docker_plan(struct loader *l, struct load_image **out, size_t *nr, struct strata_error **err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ json_t *man = NULL;
	struct load_image *imgs;
	size_t len, n, i;
	json_t *entry;
	int ret;

	ret = loader_read(l, "manifest.json", false, LIMIT_CONFIG, &buf, &len, err);
	if (ret < 0)
		return ret;
	ret = gojson_parse(buf, len, "manifest.json", &man, err);
	if (ret < 0)
		return ret;
	if (!json_is_array(man))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid manifest.json: not a list");
	n = json_array_size(man);
	if (n > LOAD_MAX_IMAGES)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "manifest.json lists too many images");
	imgs = xcalloc(n + 1, sizeof(*imgs));
	*out = imgs;
	*nr = n;
	json_array_foreach(man, i, entry) {
		struct load_image *img = &imgs[i];
		const char *cfg = gojson_get_string(entry, "Config");
		json_t *layers = json_object_get(entry, "Layers"), *tags = json_object_get(entry, "RepoTags");
		const char *parent = gojson_get_string(entry, "Parent");
		char hexbuf[STRATA_HEX_LEN + 1];
		_cleanup_free_ char *clean = NULL;
		char *config;
		size_t clen;

		if (!json_is_object(entry) || !cfg || !json_is_array(layers) ||
		    (tags && !json_is_array(tags) && !json_is_null(tags)))
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid manifest.json entry %zu", i);
		img->nr_layers = json_array_size(layers);
		if (img->nr_layers > LIMIT_LAYERS)
			return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "max depth exceeded");
		img->layer_paths = xcalloc(img->nr_layers + 1, sizeof(char *));
		for (size_t k = 0; k < img->nr_layers; k++) {
			const char *lp = json_string_value(json_array_get(layers, k));

			if (!lp)
				return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid manifest.json entry %zu",
							i);
			ret = clean_name(lp, &clean, err);
			if (ret < 0)
				return ret;
			free(clean);
			clean = NULL;
			img->layer_paths[k] = xstrdup(lp);
		}
		ret = clean_name(cfg, &clean, err);
		if (ret < 0)
			return ret;
		ret = loader_read(l, cfg, true, LIMIT_CONFIG, &config, &clen, err);
		if (ret < 0)
			return strata_error_wrap(err, "config");
		ret = load_image_set_config(img, config, clen, expected_config_hex(clean, hexbuf), cfg, err);
		if (ret < 0)
			return ret;
		img->nr_tags = json_array_size(tags);
		img->tags = xcalloc(img->nr_tags + 1, sizeof(char *));
		for (size_t k = 0; k < img->nr_tags; k++) {
			const char *t = json_string_value(json_array_get(tags, k));

			if (!t)
				return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid manifest.json entry %zu", i);
			ret = validate_tag(t, err);
			if (ret < 0)
				return ret;
			img->tags[k] = xstrdup(t);
		}
		if (parent && *parent)
			img->parent = xstrdup(parent);
	}
	return 0;
}

/* ---- registering, committing, rolling back ---- */

static size_t remaining_uses(struct loader *l, struct load_image *imgs, size_t nr, size_t from_img,
			     size_t from_layer, const char *name)
{
	size_t uses = 0;

	for (size_t i = from_img; i < nr; i++)
		for (size_t k = i == from_img ? from_layer : 0; k < imgs[i].nr_layers; k++) {
			_cleanup_free_ char *res = NULL;
			_cleanup_error_ struct strata_error *err = NULL;

			if (layerstore_has(l->store, imgs[i].chain_ids[k]))
				continue;
			if (resolve(l, imgs[i].layer_paths[k], true, &res, &err) == 0 && !strcmp(res, name))
				uses++;
		}
	return uses;
}

/* A job's layer bytes; the load stops at the next read once it is cancelled. */
static ssize_t job_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct load_job *j = cookie;
	int ret = cancel_check(j->cancel, err);
	ssize_t n;

	if (ret < 0)
		return ret;
	n = j->fd >= 0 ? compress_fd_read(&j->fd, buf, len, err) : membuf_read(&j->mb, buf, len, err);
	j->lp.total = j->size;
	layer_progress_add(&j->lp, n);
	return n;
}

/* The load's side of the layer pipeline: one job per layer not in the store yet. */
struct load_run {
	struct loader *l;
	struct load_image *imgs;
	size_t nr;
	struct load_job *jobs;
};

static int job_open(void *cookie, size_t i, uint64_t *size, struct strata_error **err)
{
	struct load_run *r = cookie;
	struct load_job *j = &r->jobs[i];
	struct load_image *img = &r->imgs[j->img];

	if (layer_source(r->l, img->layer_paths[j->k], j, err) < 0)
		return strata_error_wrap(err, "image %s: layer %zu", img->id, j->k);
	*size = j->size;
	return 0;
}

static int job_ingest(void *cookie, size_t i, struct layer_job *job, struct strata_error **err)
{
	struct load_job *j = &((struct load_run *)cookie)->jobs[i];
	int ret = layerstore_job_ingest(job, job_read, j, err);

	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	return ret;
}

static void job_context(void *cookie, size_t i, struct strata_error **err)
{
	struct load_run *r = cookie;
	struct load_job *j = &r->jobs[i];
	struct load_image *img = &r->imgs[j->img];

	strata_error_wrap(err, "layer '%s'", img->layer_paths[j->k]);
	strata_error_wrap(err, "image %s: layer %zu", img->id, j->k);
}

/* A layer is in: note it for the rollback, check its blob, drop its staged copy once unused. */
static int job_committed(void *cookie, size_t i, const struct layer_register_result *res,
			 struct strata_error **err)
{
	struct load_run *r = cookie;
	struct loader *l = r->l;
	struct load_job *j = &r->jobs[i];
	struct load_image *img = &r->imgs[j->img];
	const char *path = img->layer_paths[j->k];
	_cleanup_error_ struct strata_error *local = NULL;
	_cleanup_free_ char *name = NULL;
	struct member *m;

	if (!res->existed)
		note_chain(&l->new_chains, &l->nr_new, &l->alloc_new, res->chain_id);
	else
		note_chain(&l->kept_chains, &l->nr_kept, &l->alloc_kept, res->chain_id);
	if (check_blob(res, img->blob_digests ? img->blob_digests[j->k] : NULL,
		       img->blob_sizes ? img->blob_sizes[j->k] : -1, path, err) < 0)
		return strata_error_wrap(err, "image %s: layer %zu", img->id, j->k);
	if (l->dir_fd >= 0 || resolve(l, path, true, &name, &local) < 0)
		return 0;
	m = member_find(l, name);
	if (m && m->staged && !remaining_uses(l, r->imgs, r->nr, j->img, j->k + 1, name)) {
		unlinkat(l->stage_fd, m->staged, 0);
		free(m->staged);
		m->staged = NULL;
	}
	return 0;
}

/*
 * Register every layer of the load that is not in the store yet, once per
 * chain, through the layer pipeline (biggest layers read first).  The
 * committed ones are in new_chains for the rollback.
 */
static int register_layers(struct loader *l, struct load_image *imgs, size_t nr, struct strata_error **err)
{
	struct load_run r = { l, imgs, nr, NULL };
	struct layer_pipeline p = {
		.store = l->store, .cancel = l->cancel, .biggest_first = true, .cookie = &r,
		.open = job_open, .ingest = job_ingest, .context = job_context, .committed = job_committed,
	};
	_cleanup_free_ struct layer_pipeline_item *items = NULL;
	struct graph_driver *driver;
	size_t total = 0, n = 0;
	int ret = 0;

	for (size_t i = 0; i < nr; i++)
		total += imgs[i].nr_layers;
	r.jobs = xcalloc(total + 1, sizeof(*r.jobs));
	items = xcalloc(total + 1, sizeof(*items));
	for (size_t i = 0; i < nr; i++)
		for (size_t k = 0; k < imgs[i].nr_layers; k++) {
			const char *chain = imgs[i].chain_ids[k];
			bool dup = false;

			if (layerstore_has(l->store, chain)) {
				note_chain(&l->kept_chains, &l->nr_kept, &l->alloc_kept, chain);
				continue;
			}
			for (size_t e = 0; e < n && !dup; e++)
				dup = !strcmp(items[e].chain_id, chain);
			if (dup)
				continue;
			r.jobs[n] = (struct load_job){ .img = i, .k = k, .fd = -1, .cancel = l->cancel,
						       .lp = { .l = l } };
			snprintf(r.jobs[n].lp.short_id, sizeof(r.jobs[n].lp.short_id), "%.12s",
				 imgs[i].diff_ids[k] + 7);
			items[n++] = (struct layer_pipeline_item){ chain, k ? imgs[i].chain_ids[k - 1] : NULL,
								   imgs[i].diff_ids[k] };
		}
	/* Open the driver before any thread runs. */
	if (n && (ret = store_driver(l->store, &driver, err)) >= 0)
		ret = layer_pipeline_run(&p, items, n, err);
	for (size_t e = 0; e < n; e++)
		if (r.jobs[e].fd >= 0)
			close(r.jobs[e].fd);
	free(r.jobs);
	return ret;
}

static void rollback(struct loader *l)
{
	struct strata_image_index *idx = l->idx;
	const char **in_use = xcalloc(idx->nr + l->nr_kept + 1, sizeof(*in_use));
	size_t n = 0;

	for (size_t i = 0; i < l->nr_new_cfg; i++) {
		_cleanup_error_ struct strata_error *err = NULL;

		imagedb_delete(l->store, l->new_configs[i], &err);
	}
	for (size_t i = 0; i < idx->nr; i++)
		if (idx->images[i]->nr_layers)
			in_use[n++] = idx->images[i]->chain_ids[idx->images[i]->nr_layers - 1];
	for (size_t i = 0; i < l->nr_kept; i++)
		in_use[n++] = l->kept_chains[i];
	for (size_t i = l->nr_new; i-- > 0;) {
		_cleanup_error_ struct strata_error *err = NULL;

		layerstore_release(l->store, l->new_chains[i], in_use, n, NULL, NULL, &err);
	}
	free(in_use);
}

static void say(strata_load_report_fn report, void *cookie, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(strata_load_report_fn report, void *cookie, const char *fmt, ...)
{
	_cleanup_free_ char *line = NULL;
	va_list ap;

	if (!report)
		return;
	va_start(ap, fmt);
	line = xvasprintf(fmt, ap);
	va_end(ap);
	report(cookie, line);
}

/* legacy: dockerd's legacyLoad prints no "Loaded image" lines, only the renaming notice. */
static int commit(struct loader *l, struct load_image *imgs, size_t nr, bool legacy, strata_load_report_fn report,
		  void *cookie, struct strata_error **err)
{
	struct strata_image_index *idx = l->idx;
	_cleanup_strbuf_ struct strbuf ids = STRBUF_INIT, out = STRBUF_INIT;
	size_t tagged = 0;
	int ret;

	for (size_t i = 0; i < nr; i++) {
		char hex[STRATA_HEX_LEN + 1];
		bool had = strata_image_index_find(idx, imgs[i].id) != NULL;

		for (size_t k = 0; k < i && !had; k++)
			had = !strcmp(imgs[k].id, imgs[i].id);
		ret = imagedb_write_config(l->store, imgs[i].config, imgs[i].config_len, hex, err);
		if (ret < 0)
			return ret;
		if (!had) {
			ALLOC_GROW(l->new_configs, l->nr_new_cfg + 1, l->alloc_new_cfg);
			memcpy(l->new_configs[l->nr_new_cfg++], hex, sizeof(hex));
		}
	}
	for (size_t i = 0; i < nr; i++) {
		strbuf_addf(&ids, "Loaded image ID: %s\n", imgs[i].id);
		tagged = 0;
		for (size_t k = 0; k < imgs[i].nr_tags; k++) {
			struct strata_ref ref = { 0 };
			_cleanup_free_ char *fam = NULL;
			const char *prev;

			ret = strata_ref_parse(imgs[i].tags[k], &ref, err);
			if (ret < 0)
				return ret;
			fam = strata_ref_familiar_string(&ref);
			prev = refstore_get(&idx->refs, &ref);
			if (prev && strcmp(prev, imgs[i].id))
				strbuf_addf(&out, "The image %s already exists, renaming the old one with ID %s to empty string\n",
					    fam, prev);
			ret = refstore_add(&idx->refs, &ref, imgs[i].id, err);
			strata_ref_release(&ref);
			if (ret < 0)
				return ret;
			if (!legacy)
				strbuf_addf(&out, "Loaded image: %s\n", fam);
			tagged++;
		}
	}
	/* dockerd: the IDs are printed when the last image had no tag */
	if (!tagged && !legacy)
		strbuf_add(&out, ids.buf, ids.len);
	for (size_t i = 0; i < nr; i++) {
		if (!imgs[i].parent || !digest_valid(imgs[i].parent))
			continue;
		for (size_t k = 0; k < nr; k++)
			if (!strcmp(imgs[k].id, imgs[i].parent)) {
				ret = imagedb_set_parent(l->store, imgs[i].id + 7, imgs[i].parent, err);
				if (ret < 0)
					return ret;
				break;
			}
	}
	ret = refstore_save(l->store, &idx->refs, err);
	if (ret < 0)
		return ret;
	for (char *line = out.buf, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		*nl = '\0';
		say(report, cookie, "%s", line);
	}
	return 0;
}

int strata_image_load(struct strata_image_index *idx, const struct strata_load_options *opts,
		      struct strata_error **err)
{
	struct loader l = { .idx = idx, .store = idx->store, .dir_fd = -1, .stage_fd = -1,
			    .cancel = opts->cancel, .progress = opts->progress,
			    .progress_cookie = opts->report_cookie,
			    .progress_mu = PTHREAD_MUTEX_INITIALIZER };
	const char *path = opts->path;
	struct load_image *imgs = NULL;
	size_t nr = 0;
	_cleanup_close_ int fd = -1;
	struct stat st;
	int in = opts->fd, ret;
	bool legacy = false;

	if (l.store->image_fd < 0)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "the store is not open for writing");
	if (path) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return strata_error_set(err, errno == ENOENT ? STRATA_ERR_NOT_FOUND : STRATA_ERR_IO, errno,
						"open %s", path);
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
			l.dir_fd = steal_fd(&fd);
		else
			in = fd;
	}
	ret = l.dir_fd >= 0 ? 0 : stream_archive(&l, in, err);
	if (ret >= 0) {
		if (loader_has(&l, "manifest.json"))
			ret = docker_plan(&l, &imgs, &nr, err);
		else if (loader_has(&l, "index.json"))
			ret = oci_load_plan(&l, &imgs, &nr, err);
		else if (loader_has(&l, "repositories") && (legacy = true))
			ret = legacy_load_plan(&l, &imgs, &nr, err);
		/* dockerd's words first: it falls back to the legacy format last */
		else if (!l.nr && l.dir_fd < 0)
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
					       "open repositories: no such file or directory "
					       "(the input is empty: no archive to load)");
		else
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
					       "open repositories: no such file or directory (invalid "
					       "archive: no manifest.json, index.json or repositories)");
	}
	if (ret >= 0 && !nr)
		ret = strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "no image to load in the archive");
	if (ret >= 0)
		ret = register_layers(&l, imgs, nr, err);
	if (ret >= 0)
		ret = commit(&l, imgs, nr, legacy, opts->report, opts->report_cookie, err);
	if (ret < 0)
		rollback(&l);
	for (size_t i = 0; i < nr; i++)
		load_image_release(&imgs[i]);
	free(imgs);
	loader_release(&l);
	return ret < 0 ? ret : 0;
}
