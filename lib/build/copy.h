/*
 * COPY as the classic builder does it, without a container: the sources'
 * content hashes (moby's tarsum v1 of each file's header and data, as the
 * daemon sees the context: owned by 0:0), and the layer tar dockerd's
 * overlay2 diff of the step's container would be: the files copied with
 * their mode and mtime, owned by the --chown identity (default root), the
 * folders created on the way (0755, now) and the image's folders that the
 * copy changed (copied up: their mode and owner, mtime now), walked as Go's
 * filepath.Walk, uname/gname from this host's user database.
 */
#ifndef STRATA_BUILD_COPY_H
#define STRATA_BUILD_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "build/dockerignore.h"
#include "http/http.h"
#include "strata/cancel.h"
#include "strata/error.h"
#include "util/strbuf.h"
#include "util/stream.h"

/* The build context: a folder, its .dockerignore. */
struct build_context;
struct build_lower;

/* dockerfile: the Dockerfile's path in the context ("" when it is not in it). */
int build_context_open(const char *dir, const char *dockerfile, struct build_context **out,
		       struct strata_error **err);
/*
 * The tarsums of a context that came as an archive (context.c): each
 * member's tarsum v1 over its header as the archive has it, keyed by its
 * clean name ("." for the root), the first member of a name winning.
 */
struct build_sum {
	char *name;
	size_t seq;
	char hex[65];
};
struct build_sums {
	struct build_sum *v;
	size_t n, alloc;
};

struct strata_build_archive {
	int tmp_fd;  /* DATA_ROOT/tmp */
	char *name;  /* the folder's name in it */
	char *dir;   /* its path: the context folder */
	struct build_sums sums;
};

/*
 * A context extracted from an archive: hashed by its sums; of its
 * .dockerignore only what dockerd applies to an archive: the Dockerfile
 * and .dockerignore itself are left out when it matches them (the client
 * filters only the folders it packs itself).
 */
int build_context_open_archive(const struct strata_build_archive *a, const char *dockerfile,
			       struct build_context **out, struct strata_error **err);
/* The context of a Dockerfile given alone (on stdin): nothing in it. */
int build_context_open_empty(struct build_context **out, struct strata_error **err);
/*
 * COPY --from: the merged files of an image's layer folders (layers: top
 * first; the context takes the fds over).
 */
int build_context_open_image(const struct build_lower *layers, struct build_context **out);
void build_context_free(struct build_context *ctx);

/* The files of the image a step starts from: layer folders, top first. */
struct build_lower {
	int *fds;
	size_t n;
	bool diff_only; /* a folder holds only its layer's changes (overlay2), else a full copy (vfs) */
};

enum build_path_state { BUILD_PATH_DIR, BUILD_PATH_ABSENT, BUILD_PATH_OTHER };

/* What the clean absolute path is in the image; *st gets a folder's metadata. */
enum build_path_state build_lower_stat(const struct build_lower *lower, const char *path, struct stat *st);

/* An ADD source that is a URL, downloaded once for the step (build_copy_download). */
struct build_download {
	int fd;          /* the body, an unnamed file in spill_dir; -1: the source is no URL */
	char *name;      /* getFilenameForDownload's, "" when neither the URL nor the answer gives one */
	uint64_t size;
	int64_t mtime;   /* Last-Modified, else 0 (the Unix epoch, as dockerd's Chtimes of a zero time) */
};

struct build_copy {
	char *const *sources;   /* as the instruction names them (substituted) */
	size_t nsources;
	const char *dest;       /* absolute (WORKDIR applied), a trailing '/' kept */
	int64_t uid, gid;       /* the identity of what is copied */
	int64_t now;            /* the mtime of created and changed folders */
	const char *name;       /* "COPY" or "ADD" (messages) */
	bool add;               /* ADD: archives are extracted, URLs downloaded */
	bool preserve;          /* COPY --from without --chown: files keep their owners */
	int spill_dir;          /* ADD: the folder (the data root's tmp/) of the unnamed files of what it extracts and downloads */
	struct build_download *downloads; /* ADD: NULL, or one per source once build_copy_download ran */
};

/*
 * ADD's downloads: each http(s) source's body into an unnamed file of
 * c->spill_dir, once per step, before the sources are hashed (the cache
 * key is the downloaded file's hash, so a download happens on every
 * build).  *n_urls the number downloaded.  Errors are dockerd's ("ADD
 * failed: failed to GET ...").
 */
int build_copy_download(struct build_copy *c, const struct http_get_options *opts, size_t *n_urls,
			struct strata_error **err);
void build_copy_downloads_release(struct build_copy *c);

/*
 * The upper folder a step leaves, as planned (names, modes, owners, times,
 * where each file's data is read from): build_layer_write writes its
 * layer tar, the same bytes each time, reading the files' data as it goes
 * (nothing of it is held in memory).  The context and lower it was made
 * from must stay open while it is written.
 */
struct build_layer;
int build_layer_write(struct build_layer *l, stream_write_fn write, void *cookie, struct strata_error **err);
void build_layer_free(struct build_layer *l);

/*
 * Hash the sources (*hash: "file:<h>", "dir:<h>", "multi:<h>", or a URL's
 * download's bare "<h>") and,
 * unless layer is NULL (a cache probe needs only the hash), plan the
 * step's layer into *layer (NULL when the copy changes nothing).  Errors
 * carry dockerd's messages.
 */
int build_copy_layer(struct build_context *ctx, const struct build_lower *lower, const struct build_copy *c,
		     char **hash, struct build_layer **layer, struct strata_error **err);

/* The content of the image file path (symlinks resolved in the image), e.g. etc/passwd. */
int build_lower_read(const struct build_lower *lower, const char *path, struct strbuf *out, struct strata_error **err);

/*
 * WORKDIR's ContainerCreateWorkdir: the layer of the folders MkdirAll makes
 * for path (root-owned, 0755, now), with the image's folders it changes.
 */
int build_mkdir_layer(const struct build_lower *lower, const char *path, int64_t now, struct build_layer **layer,
		      struct strata_error **err);

#endif
