/*
 * docker load / docker save: image archives in and out of a store.
 *
 * Load reads a docker-archive (manifest.json, also Docker 25+ archives that
 * carry an OCI layout beside it, layers stored as symlinks to other
 * members) or an OCI image layout (tar, or a folder), plain, gzip or zstd,
 * in one streaming pass.  Save writes the docker-archive byte for byte as
 * dockerd 20.10 does, or an OCI image layout tar.
 */
#ifndef STRATA_ARCHIVE_H
#define STRATA_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "strata/cancel.h"
#include <stdint.h>

#include "strata/error.h"
#include "strata/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct strata_image_index;

/* One line of docker load's output (no newline), e.g. "Loaded image: busybox:latest". */
typedef void (*strata_load_report_fn)(void *cookie, const char *line);

/*
 * Bytes of one layer read from the archive while it is loaded: id is the
 * short diff ID, action "Loading layer", current of total (the layer's
 * bytes in the archive).  Called from worker threads, one call at a time,
 * every 512 KiB and at the end of the layer.
 */
typedef void (*strata_load_progress_fn)(void *cookie, const char *id, const char *action,
					int64_t current, int64_t total);

struct strata_load_options {
	const char *path;     /* archive file or OCI layout folder; NULL: read fd */
	int fd;               /* the archive stream when path is NULL (not closed) */
	strata_load_report_fn report; /* NULL: no output */
	void *report_cookie;
	struct strata_cancel *cancel; /* NULL: not cancellable */
	strata_load_progress_fn progress; /* NULL: none; its cookie is report_cookie */
};

/*
 * docker load from opts->path or opts->fd (zeroed options read stdin).
 * Every config digest and layer diff ID is verified; on any failure
 * nothing the load added stays in the store (new layers and configs are
 * removed, repositories.json is not touched).  report receives docker's
 * output lines once everything is in place.
 */
STRATA_PUBLIC int strata_image_load(struct strata_image_index *idx, const struct strata_load_options *opts,
				    struct strata_error **err);

enum strata_save_format {
	STRATA_SAVE_DOCKER = 0, /* docker-archive as dockerd 20.10 writes it */
	STRATA_SAVE_OCI,        /* OCI image layout (oci-layout, index.json, blobs/sha256) */
};

/*
 * docker save NAME...: names are resolved as dockerd does (a tag, a repository
 * name meaning all its tags, an ID or short ID, name@digest), and the archive
 * is written to out_fd.
 */
STRATA_PUBLIC int strata_image_save(struct strata_image_index *idx, const char *const *names,
				    size_t nr_names, enum strata_save_format format, int out_fd,
				    struct strata_error **err);

#ifdef __cplusplus
}
#endif

#endif
