/* COPY without a container: source hashes and the layer tar dockerd's diff would give. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "build/copy.h"
#include "compress/compress.h"
#include "digest/digest.h"
#include "http/http.h"
#include "tar/tar.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/safepath.h"

#define MAX_LINKS 40

struct build_context {
	int root_fd;
	struct build_ignore *ignore;
	char *dockerfile;
	/* COPY --from: an image's layer folders instead of a folder (owns the fds) */
	struct build_lower image;
	bool is_image;
	const struct build_sums *sums; /* a context from an archive: the hashes its headers give */
	struct ctx_links *links;       /* a folder's hard-linked files, found at the first need */
};

/* The client's tar links a file to the first path of its inode in its walk of the context. */
struct ctx_link {
	ino_t ino;
	char *first;
};
struct ctx_links {
	bool walked;
	struct ctx_link *v;
	size_t n, alloc;
};

/* The context's .dockerignore, parsed into ctx->ignore (none: NULL). */
static int read_ignore(struct build_context *ctx, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf ig = STRBUF_INIT;
	int fd = openat(ctx->root_fd, ".dockerignore", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[8192];
	ssize_t n;

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0 && ig.len < (1u << 20))
		strbuf_add(&ig, buf, (size_t)n);
	close(fd);
	if (n < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "read .dockerignore");
	if (build_ignore_parse(ig.buf, ig.len, &ctx->ignore, err) < 0)
		return strata_error_wrap(err, ".dockerignore");
	return 0;
}

/* A context folder: dir, or sums' archive extracted in dir. */
static int open_folder(const char *dir, const char *dockerfile, const struct build_sums *sums,
		       struct build_context **out, struct strata_error **err)
{
	struct build_context *ctx = xcalloc(1, sizeof(*ctx));
	_cleanup_free_ char *clean = build_path_clean(dockerfile && *dockerfile ? dockerfile : ".");
	int ret;

	ctx->root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ctx->dockerfile = xstrdup(strcmp(clean, ".") ? clean : "");
	ctx->sums = sums;
	ctx->links = sums ? NULL : xcalloc(1, sizeof(*ctx->links));
	if (ctx->root_fd < 0) {
		build_context_free(ctx);
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, errno, "open build context '%s'", dir);
	}
	ret = read_ignore(ctx, err);
	if (ret < 0) {
		build_context_free(ctx);
		return ret;
	}
	*out = ctx;
	return 0;
}

int build_context_open(const char *dir, const char *dockerfile, struct build_context **out,
		       struct strata_error **err)
{
	return open_folder(dir, dockerfile, NULL, out, err);
}

int build_context_open_archive(const struct strata_build_archive *a, const char *dockerfile,
			       struct build_context **out, struct strata_error **err)
{
	return open_folder(a->dir, dockerfile, &a->sums, out, err);
}

/* The first sum recorded for name, NULL when the archive had no such member. */
static const char *sums_find(const struct build_sums *sums, const char *name)
{
	size_t lo = 0, hi = sums->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(sums->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sums->n && !strcmp(sums->v[lo].name, name) ? sums->v[lo].hex : NULL;
}

int build_context_open_empty(struct build_context **out, struct strata_error **err)
{
	struct build_context *ctx = xcalloc(1, sizeof(*ctx));

	ctx->root_fd = -1;
	ctx->dockerfile = xstrdup("");
	*out = ctx;
	return 0;
}

int build_context_open_image(const struct build_lower *layers, struct build_context **out)
{
	struct build_context *ctx = xcalloc(1, sizeof(*ctx));

	ctx->root_fd = -1;
	ctx->dockerfile = xstrdup("");
	ctx->image = *layers;
	ctx->is_image = true;
	*out = ctx;
	return 0;
}

void build_context_free(struct build_context *ctx)
{
	if (!ctx)
		return;
	for (size_t i = 0; i < ctx->image.n; i++)
		close(ctx->image.fds[i]);
	free(ctx->image.fds);
	if (ctx->root_fd >= 0)
		close(ctx->root_fd);
	build_ignore_free(ctx->ignore);
	free(ctx->dockerfile);
	for (size_t i = 0; ctx->links && i < ctx->links->n; i++)
		free(ctx->links->v[i].first);
	if (ctx->links)
		free(ctx->links->v);
	free(ctx->links);
	free(ctx);
}

/*
 * What COPY does not see.  Of a folder the client packs it sends neither
 * excluded files nor excluded folders, but the Dockerfile and
 * .dockerignore always; an archive it sends as it is.  The daemon then
 * removes those two from whatever context it got when .dockerignore
 * matches them (removeDockerfile): an archive keeps every other file.
 */
static bool ctx_ignored(const struct build_context *ctx, const char *rel)
{
	if (!ctx->ignore)
		return false;
	if (!strcmp(rel, ".dockerignore") || (*ctx->dockerfile && !strcmp(rel, ctx->dockerfile)))
		return build_ignore_match(ctx->ignore, rel);
	return !ctx->sums && build_ignore_match(ctx->ignore, rel);
}

/*
 * In layer folder fd: whether rel is there (*st), and whether lower layers
 * are hidden from it (a whiteout, a file in place of a folder, an opaque
 * folder on the way).
 */
static bool layer_has(int fd, const char *rel, struct stat *st, bool *stop)
{
	_cleanup_strbuf_ struct strbuf prefix = STRBUF_INIT;
	const char *p = rel;

	*stop = false;
	if (!*rel)
		return fstat(fd, st) == 0;
	while (*p) {
		const char *e = strchr(p, '/');
		bool last = !e;

		if (prefix.len)
			strbuf_addch(&prefix, '/');
		strbuf_add(&prefix, p, e ? (size_t)(e - p) : strlen(p));
		if (fstatat(fd, prefix.buf, st, AT_SYMLINK_NOFOLLOW) < 0)
			return false;
		if (S_ISCHR(st->st_mode) && st->st_rdev == 0) {
			*stop = true;
			return false;
		}
		if (last)
			return true;
		if (!S_ISDIR(st->st_mode)) {
			*stop = true;
			return false;
		}
		{
			int dfd = openat(fd, prefix.buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			char v[2];

			if (dfd >= 0) {
				if (fgetxattr(dfd, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y')
					*stop = true;
				close(dfd);
			}
		}
		p = e + 1;
	}
	return true;
}

/* The folder fd that holds rel: the context's root, or the image layer that shows it; -ENOENT when none does. */
static int src_fd(const struct build_context *ctx, const char *rel, struct stat *st)
{
	struct stat tmp;

	if (!st)
		st = &tmp;
	if (!ctx->is_image) {
		if (ctx->root_fd < 0 || ctx_ignored(ctx, rel) ||
		    fstatat(ctx->root_fd, *rel ? rel : ".", st, AT_SYMLINK_NOFOLLOW) < 0)
			return -ENOENT;
		return ctx->root_fd;
	}
	for (size_t i = 0; i < ctx->image.n; i++) {
		bool stop, stop_here = false;

		if (layer_has(ctx->image.fds[i], rel, st, &stop))
			return ctx->image.fds[i];
		/* an opaque folder above rel in this layer hides the lower ones */
		stop_here = stop;
		if (stop_here || !ctx->image.diff_only)
			break;
	}
	return -ENOENT;
}

static int ctx_lstat(const struct build_context *ctx, const char *rel, struct stat *st)
{
	if (src_fd(ctx, rel, st) < 0) {
		errno = ENOENT;
		return -ENOENT;
	}
	return 0;
}

/* readlinkat / openat of rel where it lives. */
static ssize_t src_readlink(const struct build_context *ctx, const char *rel, char *buf, size_t len)
{
	int fd = src_fd(ctx, rel, NULL);

	if (fd < 0) {
		errno = ENOENT;
		return fd;
	}
	return readlinkat(fd, rel, buf, len);
}

static int src_open(const struct build_context *ctx, const char *rel, int flags)
{
	int fd = src_fd(ctx, rel, NULL);

	if (fd < 0) {
		errno = ENOENT;
		return -ENOENT;
	}
	return openat(fd, *rel ? rel : ".", flags | O_CLOEXEC);
}

/*
 * FollowSymlinkInScope: rel with every symlink resolved inside the context
 * ("/" and ".." stop at its root); *out the resolved path ("" the root).
 */
static int ctx_resolve(const struct build_context *ctx, const char *rel, char **out, struct stat *st)
{
	_cleanup_free_ char *todo = build_path_clean(rel), *done = xstrdup("");
	int hops = 0;

	for (;;) {
		char *p = todo, *slash;
		_cleanup_free_ char *cand = NULL;

		while (*p == '/')
			p++;
		if (!*p || !strcmp(p, "."))
			break;
		slash = strchr(p, '/');
		cand = *done ? xasprintf("%s/%.*s", done, slash ? (int)(slash - p) : (int)strlen(p), p) :
		       xstrndup(p, slash ? (size_t)(slash - p) : strlen(p));
		if (ctx_lstat(ctx, cand, st) < 0)
			return -errno;
		if (S_ISLNK(st->st_mode)) {
			char target[4096];
			ssize_t n = src_readlink(ctx, cand, target, sizeof(target) - 1);
			char *next;

			if (n < 0 || ++hops > MAX_LINKS) {
				errno = n < 0 ? errno : ELOOP;
				return -errno;
			}
			target[n] = '\0';
			next = xasprintf("/%s/%s/%s", target[0] == '/' ? "" : done, target, slash ? slash + 1 : "");
			free(todo);
			todo = build_path_clean(next);
			free(next);
			free(done);
			done = xstrdup("");
			continue;
		}
		free(done);
		done = steal_pointer(&cand);
		memmove(todo, slash ? slash + 1 : p + strlen(p), strlen(slash ? slash + 1 : "") + 1);
	}
	if (ctx_lstat(ctx, done, st) < 0)
		return -errno;
	*out = steal_pointer(&done);
	return 0;
}

static const char *user_name(int64_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	buf[0] = '\0';
	if (getpwuid_r((uid_t)uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "%s", res->pw_name);
	return buf;
}

static const char *group_name(int64_t gid, char *buf, size_t len)
{
	struct group gr, *res = NULL;
	char tmp[4096];

	buf[0] = '\0';
	if (getgrgid_r((gid_t)gid, &gr, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "%s", res->gr_name);
	return buf;
}

/* security.capability of a file or folder of the context, the only xattr dockerd keeps; < 0 when none. */
static ssize_t ctx_capability(const struct build_context *ctx, const char *rel, char *buf, size_t len)
{
	int fd = src_open(ctx, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = fgetxattr(fd, "security.capability", buf, len);
	close(fd);
	return n;
}

static unsigned type_bits(mode_t m)
{
	return S_ISDIR(m) ? 040000 : S_ISLNK(m) ? 0120000 : S_ISREG(m) ? 0100000 : 0;
}

struct names;
static int ctx_list(const struct build_context *ctx, const char *rel, struct names *out, struct strata_error **err);
static int walk_links(const struct build_context *ctx, const char *rel, struct strata_error **err);

/*
 * The path rel's inode had first in the client's walk of the context, when
 * that is not rel itself: the tar it sends has rel as a hard link to it.
 */
static int first_link(const struct build_context *ctx, const char *rel, const struct stat *st, const char **first,
		      struct strata_error **err)
{
	struct ctx_links *l = ctx->links;

	if (!l->walked) {
		int ret = walk_links(ctx, "", err);

		if (ret < 0)
			return ret;
		l->walked = true;
	}
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].ino == st->st_ino) {
			*first = strcmp(l->v[i].first, rel) ? l->v[i].first : NULL;
			return 0;
		}
	return 0;
}

/* remotecontext's file hash: tarsum v1 of the header the daemon's context gives (0:0), then the data (files and folders). */
static int hash_entry(const struct build_context *ctx, const char *rel, const struct stat *st,
		      struct strbuf *out, struct strata_error **err)
{
	struct sha256_ctx h;
	char hex[STRATA_HEX_LEN + 1];
	_cleanup_strbuf_ struct strbuf sel = STRBUF_INIT;
	char cap[1024];
	ssize_t ncap = -1;
	const char *first = NULL;

	/* archiveContext.Hash: the member's sum, else the path itself */
	if (ctx->sums) {
		const char *sum = sums_find(ctx->sums, *rel ? rel : ".");

		strbuf_addstr(out, sum ? sum : rel);
		return 0;
	}
	if (ctx->links && !S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		int ret = first_link(ctx, rel, st, &first, err);

		if (ret < 0)
			return ret;
	}
	ncap = ctx_capability(ctx, rel, cap, sizeof(cap));
	strbuf_addf(&sel, "name%s%s", rel, S_ISDIR(st->st_mode) && *rel ? "/" : "");
	strbuf_addf(&sel, "mode%u", (unsigned)((st->st_mode & 07777) | type_bits(st->st_mode)));
	/* the context the client sends is 0:0; an image's files keep their owners */
	strbuf_addf(&sel, "uid%lldgid%lldsize%lld", ctx->is_image ? (long long)st->st_uid : 0LL,
		    ctx->is_image ? (long long)st->st_gid : 0LL,
		    S_ISREG(st->st_mode) && !first ? (long long)st->st_size : 0LL);
	strbuf_addf(&sel, "typeflag%c", S_ISDIR(st->st_mode) ? '5' : first ? '1' : '0');
	/*
	 * Symlinks never get here (resolved first).  User names: none for the
	 * context (as dockerd hashes it), this host's for an image's files.
	 */
	if (ctx->is_image) {
		char uname[256], gname[256];

		strbuf_addf(&sel, "linknameuname%sgname%sdevmajor0devminor0", user_name(st->st_uid, uname, sizeof(uname)),
			    group_name(st->st_gid, gname, sizeof(gname)));
	} else {
		strbuf_addf(&sel, "linkname%sunamegnamedevmajor0devminor0", first ? first : "");
	}
	if (ncap > 0) {
		strbuf_addstr(&sel, "security.capability");
		strbuf_add(&sel, cap, (size_t)ncap);
	}
	sha256_init(&h);
	sha256_update(&h, sel.buf, sel.len);
	if (S_ISREG(st->st_mode) && st->st_size > 0 && !first) {
		int fd = src_open(ctx, rel, O_RDONLY | O_NOFOLLOW);
		char buf[65536];
		ssize_t n;

		if (fd < 0) {
			sha256_release(&h);
			return strata_error_set(err, STRATA_ERR_IO, errno, "open '%s' in the build context", rel);
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			sha256_update(&h, buf, (size_t)n);
		close(fd);
		if (n < 0) {
			sha256_release(&h);
			return strata_error_set(err, STRATA_ERR_IO, errno, "read '%s' in the build context", rel);
		}
	}
	sha256_final_hex(&h, hex);
	strbuf_addstr(out, hex);
	return 0;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct unode;
static int cmp_node(const void *a, const void *b);

struct names {
	char **v;
	size_t n, alloc;
};

static void names_release(struct names *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
	memset(n, 0, sizeof(*n));
}

static bool names_has(const struct names *n, const char *name)
{
	for (size_t i = 0; i < n->n; i++)
		if (!strcmp(n->v[i], name))
			return true;
	return false;
}

/* One folder's entries in one folder fd; whiteouts (image layers) go to *gone. */
static int list_one(const struct build_context *ctx, int root, const char *rel, struct names *out,
		    struct names *gone, struct strata_error **err)
{
	int fd = openat(root, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return strata_error_set(err, STRATA_ERR_IO, errno, "open '%s' in the build %s", rel,
					ctx->is_image ? "source image" : "context");
	}
	while ((de = readdir(d))) {
		_cleanup_free_ char *child = NULL;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || names_has(out, de->d_name) ||
		    names_has(gone, de->d_name))
			continue;
		child = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		if (ctx_ignored(ctx, child))
			continue;
		if (ctx->is_image && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISCHR(st.st_mode) && st.st_rdev == 0) {
			ALLOC_GROW(gone->v, gone->n + 1, gone->alloc);
			gone->v[gone->n++] = xstrdup(de->d_name);
			continue;
		}
		ALLOC_GROW(out->v, out->n + 1, out->alloc);
		out->v[out->n++] = xstrdup(de->d_name);
	}
	closedir(d);
	return 0;
}

/* The entries of a source folder (what the client sends, or the image shows), sorted as Go's Walk reads them. */
static int ctx_list(const struct build_context *ctx, const char *rel, struct names *out, struct strata_error **err)
{
	struct names gone = { 0 };
	int ret = 0;

	if (!ctx->is_image) {
		ret = list_one(ctx, ctx->root_fd, rel, out, &gone, err);
	} else {
		for (size_t i = 0; ret >= 0 && i < ctx->image.n; i++) {
			struct stat st;
			bool stop, opaque = false;

			if (layer_has(ctx->image.fds[i], rel, &st, &stop) && S_ISDIR(st.st_mode)) {
				int dfd = openat(ctx->image.fds[i], *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				char v[2];

				if (dfd >= 0) {
					opaque = fgetxattr(dfd, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y';
					close(dfd);
				}
				ret = list_one(ctx, ctx->image.fds[i], rel, out, &gone, err);
			} else if (layer_has(ctx->image.fds[i], rel, &st, &stop) || stop) {
				break;
			}
			if (opaque || stop || !ctx->image.diff_only)
				break;
		}
	}
	names_release(&gone);
	if (ret >= 0 && out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_strp);
	return ret;
}

/* The client's walk (Go's Walk order, what it sends): the first path of each inode with other links. */
static int walk_links(const struct build_context *ctx, const char *rel, struct strata_error **err)
{
	struct names kids = { 0 };
	int ret = ctx_list(ctx, rel, &kids, err);

	for (size_t i = 0; ret >= 0 && i < kids.n; i++) {
		_cleanup_free_ char *child = *rel ? xasprintf("%s/%s", rel, kids.v[i]) : xstrdup(kids.v[i]);
		struct ctx_links *l = ctx->links;
		struct stat st;
		bool seen = false;

		if (ctx_lstat(ctx, child, &st) < 0) {
			ret = strata_error_set(err, STRATA_ERR_IO, errno, "stat '%s' in the build context", child);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			ret = walk_links(ctx, child, err);
			continue;
		}
		if (st.st_nlink < 2)
			continue;
		for (size_t k = 0; k < l->n && !seen; k++)
			seen = l->v[k].ino == st.st_ino;
		if (!seen) {
			ALLOC_GROW(l->v, l->n + 1, l->alloc);
			l->v[l->n++] = (struct ctx_link){ st.st_ino, steal_pointer(&child) };
		}
	}
	names_release(&kids);
	return ret;
}

/* Every hash below a folder (itself included unless it is the context root). */
static int hash_tree(const struct build_context *ctx, const char *rel, const struct stat *st, struct names *hashes,
		     struct strata_error **err)
{
	struct names kids = { 0 };
	int ret;

	if (*rel) {
		struct strbuf h = STRBUF_INIT;
		_cleanup_free_ char *target = NULL;
		struct stat tst;

		/* lazySource.Hash resolves symlinks in the context: a link hashes as its target, a dangling one as its own path */
		if (S_ISLNK(st->st_mode) && ctx_resolve(ctx, rel, &target, &tst) < 0) {
			strbuf_addstr(&h, rel);
			ret = 0;
		} else if (S_ISLNK(st->st_mode)) {
			ret = hash_entry(ctx, target, &tst, &h, err);
		} else {
			ret = hash_entry(ctx, rel, st, &h, err);
		}
		if (ret < 0) {
			strbuf_release(&h);
			return ret;
		}
		ALLOC_GROW(hashes->v, hashes->n + 1, hashes->alloc);
		hashes->v[hashes->n++] = strbuf_detach(&h, NULL);
	}
	if (!S_ISDIR(st->st_mode))
		return 0;
	ret = ctx_list(ctx, rel, &kids, err);
	for (size_t i = 0; ret >= 0 && i < kids.n; i++) {
		_cleanup_free_ char *child = *rel ? xasprintf("%s/%s", rel, kids.v[i]) : xstrdup(kids.v[i]);
		struct stat cst;

		if (ctx_lstat(ctx, child, &cst) < 0)
			ret = strata_error_set(err, STRATA_ERR_IO, errno, "stat '%s' in the build context", child);
		else
			ret = hash_tree(ctx, child, &cst, hashes, err);
	}
	names_release(&kids);
	return ret;
}

/* ---- the image's files ---- */

/* One layer folder: what path is there, and whether lower layers can show it at all. */
static enum build_path_state layer_path(int root, const char *path, bool diff_only, struct stat *out, bool *stop)
{
	_cleanup_free_ char *copy = xstrdup(path);
	char *comp = copy;
	int fd = dup(root);
	enum build_path_state state = BUILD_PATH_DIR;

	*stop = false;
	if (fd >= 0 && fstat(fd, out) < 0)
		state = BUILD_PATH_OTHER;
	while (fd >= 0 && *comp) {
		char *next;
		struct stat st;
		int sub;

		while (*comp == '/')
			comp++;
		if (!*comp)
			break;
		next = strchr(comp, '/');
		if (next)
			*next++ = '\0';
		else
			next = comp + strlen(comp);
		if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			state = BUILD_PATH_ABSENT;
			break;
		}
		if (diff_only && S_ISCHR(st.st_mode) && st.st_rdev == 0) {
			state = BUILD_PATH_ABSENT;
			*stop = true;
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			state = BUILD_PATH_OTHER;
			*stop = true;
			break;
		}
		sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = sub;
		*out = st;
		if (fd >= 0 && diff_only) {
			char v[2];

			/* an opaque folder hides what lower layers have below it */
			if (fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y' && *next)
				*stop = true;
		}
		comp = next;
	}
	if (fd < 0)
		return BUILD_PATH_OTHER;
	close(fd);
	return state;
}

enum build_path_state build_lower_stat(const struct build_lower *lower, const char *path, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFDIR | 0755;
	if (!strcmp(path, "/") || !*path)
		return BUILD_PATH_DIR;
	for (size_t i = 0; i < lower->n; i++) {
		bool stop;
		enum build_path_state s = layer_path(lower->fds[i], path, lower->diff_only, st, &stop);

		if (s != BUILD_PATH_ABSENT || stop || !lower->diff_only)
			return s;
	}
	return BUILD_PATH_ABSENT;
}

/* ---- the container's upper folder, as the copy would leave it ---- */

struct unode {
	char *name;
	mode_t mode;        /* with the type bits */
	int64_t uid, gid, mtime;
	uint64_t size;
	char *src;          /* a file's data: its path in the context */
	/* or, for a member of an archive ADD extracts, where it is in the copier's spill file */
	bool spilled;
	uint64_t spill_off;
	const struct build_download *dl; /* or an ADD URL's download, read from its own file */
	char *link;
	bool keep_mtime;    /* a folder whose times the untar restores */
	/* a file of a folder source with other links: the untar links what the tar of that folder linked */
	unsigned link_group;
	dev_t dev;
	ino_t ino;
	struct unode **kids;
	size_t n, alloc;
};

static void unode_free(struct unode *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++)
		unode_free(u->kids[i]);
	free(u->kids);
	free(u->name);
	free(u->src);
	free(u->link);
	free(u);
}

static struct unode *unode_find(struct unode *dir, const char *name)
{
	for (size_t i = 0; i < dir->n; i++)
		if (!strcmp(dir->kids[i]->name, name))
			return dir->kids[i];
	return NULL;
}

static struct unode *unode_add(struct unode *dir, const char *name)
{
	struct unode *u = xcalloc(1, sizeof(*u));

	u->name = xstrdup(name);
	ALLOC_GROW(dir->kids, dir->n + 1, dir->alloc);
	dir->kids[dir->n++] = u;
	return u;
}

/*
 * The entry name of dir about to be written: a folder written over a
 * folder keeps it (and its children); anything else replaces what was
 * there with a fresh entry.
 */
static struct unode *unode_put(struct unode *dir, const char *name, bool is_dir)
{
	struct unode *u = unode_find(dir, name);

	if (!u)
		return unode_add(dir, name);
	if (!(S_ISDIR(u->mode) && is_dir)) {
		for (size_t i = 0; i < u->n; i++)
			unode_free(u->kids[i]);
		u->n = 0;
		free(u->src);
		free(u->link);
		u->src = u->link = NULL;
		u->spilled = false;
	}
	return u;
}

/* A hard-linked inode's first path in the layer tar, as the tar of the upper folder links the others to it. */
struct linked {
	unsigned group;
	dev_t dev;
	ino_t ino;
	char *path;
};

struct copier {
	struct build_context *ctx;
	const struct build_lower *lower;
	const struct build_copy *c;
	struct unode *root;
	unsigned groups, group; /* folder sources so far, the one being copied (0: a file source) */
	struct linked *linked;
	size_t nlinked, alloc_linked;
	/* the unnamed file in c->spill_dir holding the data of the members ADD extracted */
	bool spilling;
	int spill;
	uint64_t spill_len;
};

/* A child of dir is created or replaced: the folder changes, unless the untar restores its times. */
static void touched(struct copier *cp, struct unode *dir)
{
	if (!dir->keep_mtime)
		dir->mtime = cp->c->now;
}

/*
 * MkdirAll in the container: the folders of path, created (0755, owned
 * uid:gid, now) or copied up from the image (its mode and owner).  *out
 * the last one.
 */
static int mkdir_all(struct copier *cp, const char *path, int64_t uid, int64_t gid, struct unode **out,
		     struct strata_error **err)
{
	_cleanup_free_ char *copy = xstrdup(path);
	_cleanup_strbuf_ struct strbuf sofar = STRBUF_INIT;
	struct unode *dir = cp->root;
	char *comp = copy;

	while (*comp) {
		char *next;
		struct unode *u;

		while (*comp == '/')
			comp++;
		if (!*comp)
			break;
		next = strchr(comp, '/');
		if (next)
			*next++ = '\0';
		else
			next = comp + strlen(comp);
		strbuf_addf(&sofar, "/%s", comp);
		u = unode_find(dir, comp);
		if (u && !S_ISDIR(u->mode))
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "failed to copy files: mkdir %s: not a directory",
						sofar.buf);
		if (!u) {
			struct stat st;
			enum build_path_state s = build_lower_stat(cp->lower, sofar.buf, &st);

			if (s == BUILD_PATH_OTHER)
				return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
							"failed to copy files: %s is not a folder in the image "
							"(copying through symlinks is not supported yet)", sofar.buf);
			u = unode_add(dir, comp);
			if (s == BUILD_PATH_DIR) {
				u->mode = S_IFDIR | (st.st_mode & 07777);
				u->uid = st.st_uid;
				u->gid = st.st_gid;
				u->mtime = st.st_mtim.tv_sec;
			} else {
				u->mode = S_IFDIR | 0755;
				u->uid = uid;
				u->gid = gid;
				u->mtime = cp->c->now;
				touched(cp, dir);
			}
		}
		dir = u;
		comp = next;
	}
	*out = dir;
	return 0;
}

/* The upper entry for name in dir as a copy of the context's rel (lstat'ed as st). */
static struct unode *put(struct copier *cp, struct unode *dir, const char *name, const char *rel,
			 const struct stat *st)
{
	struct unode *u = unode_put(dir, name, S_ISDIR(st->st_mode));
	char link[4096];

	touched(cp, dir);
	u->mode = (st->st_mode & 07777) | type_bits(st->st_mode);
	u->uid = cp->c->preserve ? st->st_uid : cp->c->uid;
	u->gid = cp->c->preserve ? st->st_gid : cp->c->gid;
	u->mtime = st->st_mtim.tv_sec;
	u->size = 0;
	u->link_group = 0;
	if (S_ISREG(st->st_mode)) {
		u->size = (uint64_t)st->st_size;
		u->src = xstrdup(rel);
		if (st->st_nlink > 1 && cp->group) {
			u->link_group = cp->group;
			u->dev = st->st_dev;
			u->ino = st->st_ino;
		}
	} else if (S_ISLNK(st->st_mode)) {
		ssize_t n = src_readlink(cp->ctx, rel, link, sizeof(link) - 1);

		link[n > 0 ? n : 0] = '\0';
		u->link = xstrdup(link);
		u->mode = 0120777;
	} else if (S_ISDIR(st->st_mode)) {
		u->keep_mtime = true;
	}
	return u;
}

/* TarUntar of a context folder's contents into dir (the untar restores folder times). */
static int copy_tree(struct copier *cp, struct unode *dir, const char *rel, struct strata_error **err)
{
	struct names kids = { 0 };
	int ret = ctx_list(cp->ctx, rel, &kids, err);

	for (size_t i = 0; ret >= 0 && i < kids.n; i++) {
		_cleanup_free_ char *child = *rel ? xasprintf("%s/%s", rel, kids.v[i]) : xstrdup(kids.v[i]);
		struct stat st;
		struct unode *u;

		if (ctx_lstat(cp->ctx, child, &st) < 0) {
			ret = strata_error_set(err, STRATA_ERR_IO, errno, "stat '%s' in the build context", child);
			break;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
			ret = strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
					       "'%s' in the build context is a special file: not supported yet", child);
			break;
		}
		u = put(cp, dir, kids.v[i], child, &st);
		if (S_ISDIR(st.st_mode))
			ret = copy_tree(cp, u, child, err);
	}
	names_release(&kids);
	return ret;
}

/* ---- the layer tar ---- */

/* The upper folder a step leaves, kept to be written as a tar once or more. */
struct build_layer {
	struct copier cp;
	struct build_copy c; /* WORKDIR's (a COPY's is the caller's) */
};

static int write_tree(struct copier *cp, struct tar_writer *w, struct unode *dir, struct strbuf *path,
		      struct strata_error **err)
{
	int ret = 0;

	if (dir->n)
		qsort(dir->kids, dir->n, sizeof(*dir->kids), cmp_node);
	for (size_t i = 0; ret >= 0 && i < dir->n; i++) {
		struct unode *u = dir->kids[i];
		size_t keep = path->len;
		char uname[256], gname[256];
		struct tar_entry e = { 0 };

		const char *first = NULL;

		strbuf_addf(path, "%s%s", u->name, S_ISDIR(u->mode) ? "/" : "");
		if (u->link_group) {
			for (size_t k = 0; k < cp->nlinked && !first; k++)
				if (cp->linked[k].group == u->link_group && cp->linked[k].dev == u->dev &&
				    cp->linked[k].ino == u->ino)
					first = cp->linked[k].path;
			if (!first) {
				ALLOC_GROW(cp->linked, cp->nlinked + 1, cp->alloc_linked);
				cp->linked[cp->nlinked++] = (struct linked){ u->link_group, u->dev, u->ino,
									     xstrdup(path->buf) };
			}
		}
		e.name = path->buf;
		e.linkname = first ? (char *)first : u->link ? u->link : (char *)"";
		e.typeflag = first ? TAR_LINK : S_ISDIR(u->mode) ? TAR_DIR : S_ISLNK(u->mode) ? TAR_SYMLINK : TAR_REG;
		e.mode = u->mode & 07777;
		/* FileInfoHeader of a linked regular file: its type bits stay in the mode */
		if (first) {
			e.mode |= S_IFREG;
			e.mode_raw = true;
		}
		e.uid = u->uid;
		e.gid = u->gid;
		e.uname = (char *)user_name(u->uid, uname, sizeof(uname));
		e.gname = (char *)group_name(u->gid, gname, sizeof(gname));
		e.mtime_sec = u->mtime;
		e.size = first ? 0 : u->size;
		ret = tar_writer_add(w, &e, err);
		if (ret >= 0 && !first && u->spilled && u->size) {
			char buf[65536];
			uint64_t off = u->dl ? 0 : u->spill_off, left = u->size;
			int fd = u->dl ? u->dl->fd : cp->spill;

			while (ret >= 0 && left) {
				ssize_t n = pread(fd, buf, left < sizeof(buf) ? left : sizeof(buf), (off_t)off);

				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0) {
					ret = strata_error_set(err, STRATA_ERR_IO, n < 0 ? errno : 0,
							       "read the extracted member %s back", path->buf);
					break;
				}
				ret = tar_writer_write_data(w, buf, (size_t)n, err);
				off += (uint64_t)n;
				left -= (uint64_t)n;
			}
		} else if (ret >= 0 && !first && u->src && u->size) {
			int fd = src_open(cp->ctx, u->src, O_RDONLY | O_NOFOLLOW);
			char buf[65536];
			uint64_t left = u->size;

			if (fd < 0)
				ret = strata_error_set(err, STRATA_ERR_IO, errno, "open '%s' in the build context", u->src);
			while (ret >= 0 && left) {
				ssize_t n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));

				if (n <= 0) {
					ret = strata_error_set(err, STRATA_ERR_IO, n < 0 ? errno : 0,
							       "read '%s' in the build context%s", u->src,
							       n == 0 ? ": it shrank while being copied" : "");
					break;
				}
				ret = tar_writer_write_data(w, buf, (size_t)n, err);
				left -= (uint64_t)n;
			}
			if (fd >= 0)
				close(fd);
		}
		if (ret >= 0 && S_ISDIR(u->mode))
			ret = write_tree(cp, w, u, path, err);
		strbuf_setlen(path, keep);
	}
	return ret;
}

static int cmp_node(const void *a, const void *b)
{
	return strcmp((*(struct unode *const *)a)->name, (*(struct unode *const *)b)->name);
}

/* The upper node at the clean absolute path, NULL when the copy did not make it. */
static struct unode *upper_find(struct unode *root, const char *path)
{
	const char *p = path;
	struct unode *u = root;

	while (u && *p) {
		const char *e;
		_cleanup_free_ char *name = NULL;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		name = e ? xstrndup(p, (size_t)(e - p)) : xstrdup(p);
		u = unode_find(u, name);
		p = e ? e : p + strlen(p);
	}
	return u;
}

/* Whether the clean absolute path is a folder in the container now. */
static bool dest_is_dir(struct copier *cp, const char *path)
{
	struct unode *u = upper_find(cp->root, path);
	struct stat st;

	if (u)
		return S_ISDIR(u->mode);
	return build_lower_stat(cp->lower, path, &st) == BUILD_PATH_DIR;
}

static bool has_wildcards(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			continue;
		}
		if (*s == '*' || *s == '?' || *s == '[')
			return true;
	}
	return false;
}

struct source {
	char *orig;     /* as written, leading "/" and "./" removed */
	char *rel;      /* resolved in the context */
	struct stat st;
	char *hash;
	bool archive;   /* ADD: a tar (plain, gzip or zstd) to extract */
	const struct build_download *dl; /* ADD: a URL's download (orig its file name) */
};

enum archive_kind { NOT_ARCHIVE, ARCHIVE, ARCHIVE_UNSUPPORTED };

static ssize_t fd_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	ssize_t n;

	do
		n = read(*(int *)cookie, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? strata_error_set(err, STRATA_ERR_IO, errno, "read") : n;
}

/*
 * isArchivePath: the file decompresses (plain, gzip, zstd here) to data
 * starting with a tar header.  bzip2 and xz, which dockerd also
 * decompresses, are recognised and refused: strata has no decompressor
 * for them.
 */
static enum archive_kind archive_kind(const struct build_context *ctx, const char *rel)
{
	unsigned char h[6];
	int fd = src_open(ctx, rel, O_RDONLY | O_NOFOLLOW);
	ssize_t n = fd >= 0 ? read(fd, h, sizeof(h)) : -1;
	struct decomp_reader *d;
	struct tar_reader *t;
	const struct tar_entry *e;
	struct strata_error *e2 = NULL;
	int got;

	if (n < 0) {
		if (fd >= 0)
			close(fd);
		return NOT_ARCHIVE;
	}
	if ((n >= 3 && !memcmp(h, "BZh", 3)) || (n >= 6 && !memcmp(h, "\xfd" "7zXZ\0", 6))) {
		close(fd);
		return ARCHIVE_UNSUPPORTED;
	}
	lseek(fd, 0, SEEK_SET);
	d = decomp_reader_new(fd_read, &fd, 0);
	t = tar_reader_new(decomp_reader_read, d);
	got = tar_reader_next(t, &e, &e2);
	strata_error_free(e2);
	tar_reader_free(t);
	decomp_reader_free(d);
	close(fd);
	return got > 0 ? ARCHIVE : NOT_ARCHIVE;
}

static int stat_source(struct build_context *ctx, const struct build_copy *c, const char *raw,
		       const struct build_download *dl, struct source *s, struct strata_error **err)
{
	_cleanup_free_ char *clean = NULL;
	const char *o = raw;
	size_t dl_len = strlen(c->dest);

	while (*o == '/')
		o++;
	if (!strncmp(o, "./", 2))
		o += 2;
	if (c->add && http_is_url(raw)) {
		/* getCopyInfoForSourcePath: never extracted; no name is __unnamed__, unless dest is a folder */
		if (!dl || dl->fd < 0)
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s failed: %s was not downloaded", c->name, raw);
		if (!*dl->name && dl_len && c->dest[dl_len - 1] == '/')
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"%s failed: cannot determine filename for source %s", c->name, raw);
		s->orig = xstrdup(*dl->name ? dl->name : "__unnamed__");
		s->dl = dl;
		s->st.st_mode = S_IFREG | 0600;
		s->st.st_size = (off_t)dl->size;
		s->st.st_nlink = 1;
		return 0;
	}
	s->orig = xstrdup(o);
	if (strstr(s->orig, "://"))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s failed: source can't be a URL for %s",
					c->name, c->name);
	clean = build_path_clean(*s->orig ? s->orig : ".");
	if (!strcmp(clean, "..") || !strncmp(clean, "../", 3) || !strcmp(clean, "/..") || !strncmp(clean, "/../", 4))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"%s failed: forbidden path outside the build context: %s ()", c->name, s->orig);
	if (ctx_resolve(ctx, clean, &s->rel, &s->st) < 0)
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0,
					"%s failed: file not found in build context or excluded by .dockerignore: "
					"stat %s: file does not exist", c->name, s->orig);
	if (!S_ISDIR(s->st.st_mode) && !S_ISREG(s->st.st_mode))
		return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
					"%s of the special file %s is not supported yet", c->name, s->orig);
	if (c->add && S_ISREG(s->st.st_mode)) {
		enum archive_kind k = archive_kind(ctx, s->rel);

		if (k == ARCHIVE_UNSUPPORTED)
			return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
						"ADD of the bzip2 or xz archive %s is not supported (strata reads gzip and zstd)",
						s->orig);
		s->archive = k == ARCHIVE;
	}
	return 0;
}

/*
 * The lazy source's hash of the downloaded file: its header as dockerd,
 * running as root, stats it (0600, root's names), then the data.
 */
static int hash_download(const struct source *s, struct strbuf *out, struct strata_error **err)
{
	struct sha256_ctx h;
	char hex[STRATA_HEX_LEN + 1], uname[256], gname[256], buf[65536];
	_cleanup_strbuf_ struct strbuf sel = STRBUF_INIT;
	uint64_t off = 0;

	strbuf_addf(&sel, "name%smode%uuid0gid0size%llutypeflag0linknameuname%sgname%sdevmajor0devminor0", s->orig,
		    (unsigned)(S_IFREG | 0600), (unsigned long long)s->dl->size, user_name(0, uname, sizeof(uname)),
		    group_name(0, gname, sizeof(gname)));
	sha256_init(&h);
	sha256_update(&h, sel.buf, sel.len);
	while (off < s->dl->size) {
		ssize_t n = pread(s->dl->fd, buf, sizeof(buf), (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			sha256_release(&h);
			return strata_error_set(err, STRATA_ERR_IO, n < 0 ? errno : 0, "read the download of %s back",
						s->orig);
		}
		sha256_update(&h, buf, (size_t)n);
		off += (uint64_t)n;
	}
	sha256_final_hex(&h, hex);
	strbuf_addstr(out, hex);
	return 0;
}

static int hash_source(struct build_context *ctx, struct source *s, struct strata_error **err)
{
	struct strbuf h = STRBUF_INIT;
	int ret;

	if (s->dl) {
		/* a URL's hash has no "file:" (getCopyInfoForSourcePath) */
		ret = hash_download(s, &h, err);
	} else if (S_ISDIR(s->st.st_mode)) {
		struct names all = { 0 };
		_cleanup_strbuf_ struct strbuf joined = STRBUF_INIT;
		char hex[STRATA_HEX_LEN + 1];

		ret = hash_tree(ctx, s->rel, &s->st, &all, err);
		if (ret >= 0) {
			if (all.n)
				qsort(all.v, all.n, sizeof(*all.v), cmp_strp);
			for (size_t i = 0; i < all.n; i++)
				strbuf_addf(&joined, "%s%s", i ? "," : "", all.v[i]);
			sha256_hex(joined.buf, joined.len, hex);
			strbuf_addf(&h, "dir:%s", hex);
		}
		names_release(&all);
	} else {
		strbuf_addstr(&h, "file:");
		ret = hash_entry(ctx, s->rel, &s->st, &h, err);
	}
	if (ret < 0) {
		strbuf_release(&h);
		return ret;
	}
	s->hash = strbuf_detach(&h, NULL);
	return 0;
}

/* A member's data into the copier's spill file (made at the first), u pointing at it. */
static int spill_member(struct copier *cp, struct tar_reader *t, struct unode *u, struct strata_error **err)
{
	char buf[65536];
	ssize_t n;

	if (!cp->spilling) {
		cp->spill = openat(cp->c->spill_dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (cp->spill < 0)
			return strata_error_set(err, fs_errcode(errno), errno,
						"create a file for what ADD extracts in the data root's tmp");
		cp->spilling = true;
	}
	u->spilled = true;
	u->spill_off = cp->spill_len;
	u->size = 0;
	while ((n = tar_reader_read_data(t, buf, sizeof(buf), err)) > 0) {
		int ret = fs_write_all(cp->spill, buf, (size_t)n, "write what ADD extracts", err);

		if (ret < 0)
			return ret;
		u->size += (uint64_t)n;
		cp->spill_len += (uint64_t)n;
	}
	return n < 0 ? (int)n : 0;
}

/*
 * UntarPath into dest: members keep their owners, modes and times (no
 * --chown), missing parents are made 0755 as root, an existing folder takes
 * the member's metadata, folder times are restored.
 */
static int extract_archive(struct copier *cp, const struct source *s, const char *dest, struct strata_error **err)
{
	int fd = src_open(cp->ctx, s->rel, O_RDONLY | O_NOFOLLOW);
	struct decomp_reader *d;
	struct tar_reader *t;
	const struct tar_entry *e;
	struct unode *root;
	int ret;

	if (fd < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "open '%s' in the build context", s->rel);
	/* Untar: a missing destination is made as root, 0755 */
	ret = mkdir_all(cp, dest, 0, 0, &root, err);
	d = decomp_reader_new(fd_read, &fd, 0);
	t = tar_reader_new(decomp_reader_read, d);
	while (ret >= 0 && (ret = tar_reader_next(t, &e, err)) > 0) {
		_cleanup_free_ char *name = NULL, *full = NULL;
		struct unode *dir, *u;
		const char *base;
		char *slash;

		ret = safepath_clean(e->name, &name, "archive member", err);
		if (ret < 0)
			break;
		if (e->typeflag == TAR_LINK || (e->typeflag != TAR_REG && e->typeflag != TAR_DIR &&
						     e->typeflag != TAR_SYMLINK)) {
			ret = strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
					       "ADD of %s: the member %s is a hard link or special file, not supported yet",
					       s->orig, e->name);
			break;
		}
		/* the archive's own root ("./") leaves the destination folder as it is, as dockerd's untar */
		if (!*name)
			continue;
		slash = strrchr(name, '/');
		base = slash ? slash + 1 : name;
		full = slash ? xasprintf("%s/%.*s", strcmp(dest, "/") ? dest : "", (int)(slash - name), name) :
		       xstrdup(dest);
		ret = mkdir_all(cp, full, 0, 0, &dir, err);
		if (ret < 0)
			break;
		u = unode_put(dir, base, e->typeflag == TAR_DIR);
		touched(cp, dir);
		u->uid = e->uid;
		u->gid = e->gid;
		u->mtime = e->mtime_sec;
		u->size = 0;
		if (e->typeflag == TAR_DIR) {
			u->mode = S_IFDIR | (e->mode & 07777);
			u->keep_mtime = true;
		} else if (e->typeflag == TAR_SYMLINK) {
			u->mode = 0120777;
			u->link = xstrdup(e->linkname);
		} else {
			u->mode = S_IFREG | (e->mode & 07777);
			ret = spill_member(cp, t, u, err);
			if (ret < 0)
				break;
		}
	}
	tar_reader_free(t);
	decomp_reader_free(d);
	close(fd);
	return ret < 0 ? strata_error_wrap(err, "failed to copy files") : 0;
}

/* performCopyForInfo for one source. */
static int copy_source(struct copier *cp, const struct source *s, const char *dest, bool ends_in_slash,
		       struct strata_error **err)
{
	struct unode *dir;
	int ret;

	if (s->archive)
		return extract_archive(cp, s, dest, err);

	if (S_ISDIR(s->st.st_mode)) {
		bool existed = dest_is_dir(cp, dest);

		/* CopyWithTar: MkdirAll as root, then fixPermissions gives a new root folder the identity */
		ret = mkdir_all(cp, dest, 0, 0, &dir, err);
		if (ret < 0)
			return ret;
		/* without an identity (preserve) there is no fixPermissions */
		if (!existed && dir != cp->root && !cp->c->preserve) {
			dir->uid = cp->c->uid;
			dir->gid = cp->c->gid;
		}
		/* each folder source is tarred on its own: links reach only within it */
		cp->group = ++cp->groups;
		ret = copy_tree(cp, dir, s->rel, err);
		cp->group = 0;
		return ret;
	}
	{
		_cleanup_free_ char *path = NULL, *parent = NULL;
		const char *base = strrchr(s->orig, '/') ? strrchr(s->orig, '/') + 1 : s->orig;
		const char *slash;
		struct unode *u;

		if (ends_in_slash || dest_is_dir(cp, dest))
			path = xasprintf("%s/%s", strcmp(dest, "/") ? dest : "", base);
		else
			path = xstrdup(dest);
		slash = strrchr(path, '/');
		parent = xstrndup(path, (size_t)(slash - path));
		/* copyFile: MkdirAllAndChownNew with the identity (plain MkdirAll, root, without one) */
		ret = mkdir_all(cp, *parent ? parent : "/", cp->c->preserve ? 0 : cp->c->uid,
				cp->c->preserve ? 0 : cp->c->gid, &dir, err);
		if (ret < 0)
			return ret;
		u = unode_find(dir, slash + 1);
		if (u && S_ISDIR(u->mode))
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"failed to copy files: cannot overwrite directory %s with a file", path);
		if (!s->dl) {
			put(cp, dir, slash + 1, s->rel, &s->st);
			return 0;
		}
		u = unode_put(dir, slash + 1, false);
		touched(cp, dir);
		u->mode = S_IFREG | 0600;
		u->uid = cp->c->uid;
		u->gid = cp->c->gid;
		u->mtime = s->dl->mtime;
		u->size = s->dl->size;
		u->link_group = 0;
		u->spilled = true;
		u->dl = s->dl;
		return 0;
	}
}

/* copyWithWildcards: every path of the source (Go's Walk order) that filepath.Match accepts. */
static int match_walk(struct build_context *ctx, const char *rel, const char *pattern, struct names *out,
		      struct strata_error **err)
{
	struct names kids = { 0 };
	int ret = ctx_list(ctx, rel, &kids, err);

	for (size_t i = 0; ret >= 0 && i < kids.n; i++) {
		_cleanup_free_ char *child = *rel ? xasprintf("%s/%s", rel, kids.v[i]) : xstrdup(kids.v[i]);
		struct stat st;

		if (fnmatch(pattern, child, FNM_PATHNAME) == 0) {
			ALLOC_GROW(out->v, out->n + 1, out->alloc);
			out->v[out->n++] = xstrdup(child);
		}
		if (ctx_lstat(ctx, child, &st) == 0 && S_ISDIR(st.st_mode))
			ret = match_walk(ctx, child, pattern, out, err);
	}
	names_release(&kids);
	return ret;
}

/* getCopyInfosForSourcePaths: the sources, wildcards expanded, each stat'ed and hashed. */
static int collect_sources(struct build_context *ctx, const struct build_copy *c, struct source **out, size_t *nout,
			   struct strata_error **err)
{
	struct source *v = NULL;
	size_t n = 0, alloc = 0;
	int ret = 0;

	for (size_t i = 0; ret >= 0 && i < c->nsources; i++) {
		const char *o = c->sources[i];
		struct names matches = { 0 };

		while (*o == '/')
			o++;
		if (!strncmp(o, "./", 2))
			o += 2;
		if (!strstr(c->sources[i], "://") && has_wildcards(o)) {
			ret = match_walk(ctx, "", o, &matches, err);
		} else {
			ALLOC_GROW(matches.v, matches.n + 1, matches.alloc);
			matches.v[matches.n++] = xstrdup(c->sources[i]);
		}
		for (size_t k = 0; ret >= 0 && k < matches.n; k++) {
			ALLOC_GROW(v, n + 1, alloc);
			memset(&v[n], 0, sizeof(v[n]));
			ret = stat_source(ctx, c, matches.v[k], c->downloads ? &c->downloads[i] : NULL, &v[n], err);
			if (ret >= 0)
				ret = hash_source(ctx, &v[n], err);
			n++;
		}
		names_release(&matches);
	}
	if (ret >= 0 && !n)
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "%s failed: no source files were specified", c->name);
	*out = v;
	*nout = n;
	return ret;
}

static void copier_release(struct copier *cp)
{
	if (cp->spilling)
		close(cp->spill);
	unode_free(cp->root);
	for (size_t i = 0; i < cp->nlinked; i++)
		free(cp->linked[i].path);
	free(cp->linked);
}

/* A step's layer: *out the upper folder of cp, or NULL when it changes nothing. */
static void layer_take(struct copier *cp, struct build_layer **out)
{
	if (!cp->root->n) {
		copier_release(cp);
		*out = NULL;
		return;
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->cp = *cp;
}

int build_layer_write(struct build_layer *l, stream_write_fn write, void *cookie, struct strata_error **err)
{
	struct tar_writer *w = tar_writer_new(write, cookie);
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	int ret;

	/* each writing links a hard-linked file to its first path anew */
	for (size_t i = 0; i < l->cp.nlinked; i++)
		free(l->cp.linked[i].path);
	l->cp.nlinked = 0;
	ret = write_tree(&l->cp, w, l->cp.root, &path, err);
	if (ret >= 0)
		ret = tar_writer_finish(w, err);
	tar_writer_free(w);
	return ret;
}

void build_layer_free(struct build_layer *l)
{
	if (!l)
		return;
	copier_release(&l->cp);
	free(l);
}

int build_copy_layer(struct build_context *ctx, const struct build_lower *lower, const struct build_copy *c,
		     char **hash, struct build_layer **layer, struct strata_error **err)
{
	struct source *srcs = NULL;
	size_t nsrc = 0;
	struct copier cp = { ctx, lower, c, xcalloc(1, sizeof(struct unode)) };
	_cleanup_free_ char *dest = build_path_clean(c->dest);
	size_t dl = strlen(c->dest);
	bool ends_in_slash = dl && c->dest[dl - 1] == '/';
	int ret = 0;

	cp.root->mode = S_IFDIR | 0755;
	ret = collect_sources(ctx, c, &srcs, &nsrc, err);
	if (ret >= 0 && nsrc > 1 && !ends_in_slash)
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
				       "When using %s with more than one source file, the destination must be a directory and end with a /",
				       c->name);
	for (size_t i = 0; layer && ret >= 0 && i < nsrc; i++)
		ret = copy_source(&cp, &srcs[i], dest, ends_in_slash, err);
	if (ret >= 0) {
		if (nsrc == 1) {
			*hash = xstrdup(srcs[0].hash);
		} else {
			_cleanup_strbuf_ struct strbuf joined = STRBUF_INIT;
			char hex[STRATA_HEX_LEN + 1];

			for (size_t i = 0; i < nsrc; i++)
				strbuf_addf(&joined, "%s%s", i ? "," : "", srcs[i].hash);
			sha256_hex(joined.buf, joined.len, hex);
			*hash = xasprintf("multi:%s", hex);
		}
	}
	for (size_t i = 0; i < nsrc; i++) {
		free(srcs[i].orig);
		free(srcs[i].rel);
		free(srcs[i].hash);
	}
	free(srcs);
	if (layer && ret >= 0)
		layer_take(&cp, layer);
	else
		copier_release(&cp);
	return ret;
}

int build_copy_download(struct build_copy *c, const struct http_get_options *opts, size_t *n_urls,
			struct strata_error **err)
{

	*n_urls = 0;
	c->downloads = xcalloc(c->nsources ? c->nsources : 1, sizeof(*c->downloads));
	for (size_t i = 0; i < c->nsources; i++)
		c->downloads[i].fd = -1;
	for (size_t i = 0; c->add && i < c->nsources; i++) {
		struct build_download *d = &c->downloads[i];
		struct http_get_info info = { 0 };
		struct stat st;
		int ret;

		if (!http_is_url(c->sources[i]))
			continue;
		d->fd = openat(c->spill_dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (d->fd < 0)
			return strata_error_set(err, fs_errcode(errno), errno,
						"create a file for what ADD downloads in the data root's tmp");
		ret = http_get_to_fd(c->sources[i], d->fd, opts, &info, err);
		if (ret >= 0 && fstat(d->fd, &st) < 0)
			ret = strata_error_set(err, STRATA_ERR_IO, errno, "stat the download of %s", c->sources[i]);
		if (ret < 0) {
			http_get_info_release(&info);
			return strata_error_wrap(err, "%s failed", c->name);
		}
		d->name = steal_pointer(&info.filename);
		d->size = (uint64_t)st.st_size;
		d->mtime = info.last_modified > 0 ? info.last_modified : 0;
		(*n_urls)++;
	}
	return 0;
}

void build_copy_downloads_release(struct build_copy *c)
{
	for (size_t i = 0; c->downloads && i < c->nsources; i++) {
		if (c->downloads[i].fd >= 0)
			close(c->downloads[i].fd);
		free(c->downloads[i].name);
	}
	free(c->downloads);
	c->downloads = NULL;
}

int build_mkdir_layer(const struct build_lower *lower, const char *path, int64_t now, struct build_layer **layer,
		      struct strata_error **err)
{
	struct build_layer *l = xcalloc(1, sizeof(*l));
	struct unode *dir;
	int ret;

	l->c.now = now;
	l->c.name = "WORKDIR";
	l->cp.lower = lower;
	l->cp.c = &l->c;
	l->cp.root = xcalloc(1, sizeof(struct unode));
	l->cp.root->mode = S_IFDIR | 0755;
	ret = mkdir_all(&l->cp, path, 0, 0, &dir, err);
	if (ret < 0 || !l->cp.root->n) {
		build_layer_free(l);
		l = NULL;
	}
	*layer = l;
	return ret;
}

int build_lower_read(const struct build_lower *lower, const char *path, struct strbuf *out, struct strata_error **err)
{
	struct build_context ctx = { .root_fd = -1, .image = *lower, .is_image = true };
	_cleanup_free_ char *rel = NULL;
	struct stat st;
	char buf[8192];
	ssize_t n;
	int fd;

	ctx.dockerfile = (char *)"";
	if (ctx_resolve(&ctx, path, &rel, &st) < 0 || !S_ISREG(st.st_mode))
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "open %s: no such file or directory", path);
	fd = src_open(&ctx, rel, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "open %s", path);
	while ((n = read(fd, buf, sizeof(buf))) > 0 && out->len < (4u << 20))
		strbuf_add(out, buf, (size_t)n);
	close(fd);
	return n < 0 ? strata_error_set(err, STRATA_ERR_IO, errno, "read %s", path) : 0;
}
