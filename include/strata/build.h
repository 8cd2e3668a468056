/*
 * strata build: a Dockerfile built into the store with docker 20.10's
 * classic builder semantics: one committed image per instruction (parent
 * metadata, config, container_config and history as dockerd writes them),
 * the classic build cache (children of the parent image compared as
 * dockerd compares them), multi-stage builds, --target, build args and
 * --label, and the transcript dockerd streams ("Step N/M : ...").
 *
 * This version builds the metadata instructions (FROM, ARG, ENV, LABEL,
 * MAINTAINER, EXPOSE, ENTRYPOINT, CMD, VOLUME, USER, ONBUILD, STOPSIGNAL,
 * HEALTHCHECK, SHELL, WORKDIR: a folder it creates is the step's layer)
 * COPY/ADD of files and folders of a context folder (.dockerignore
 * applied, --chown) or, with --from, of a stage or an image, and
 * RUN in a container through the OCI runtime; ADD extracts local tar,
 * .tar.gz and .tar.zst archives; ADD of bzip2/xz archives and of URLs fails
 * with STRATA_ERR_UNSUPPORTED.
 */
#ifndef STRATA_BUILD_H
#define STRATA_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/cancel.h"
#include "strata/error.h"
#include "strata/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct strata_image_index;
struct strata_build_archive;

/* Receives the transcript, as dockerd streams it (stderr parts in red, as it sends them). */
typedef void (*strata_build_write_fn)(void *cookie, const char *text, size_t len);

struct strata_build_options {
	const char *dockerfile;      /* the Dockerfile's bytes */
	size_t dockerfile_len;
	const char *dockerfile_name; /* how messages name it, "Dockerfile" when NULL; its path in the context */
	const char *context_dir;     /* the build context's folder, NULL for none (a Dockerfile alone) */
	const struct strata_build_archive *archive; /* or a context that came as an archive */
	const char *const *tags;     /* -t NAME[:TAG] */
	size_t nr_tags;
	const char *const *build_args; /* --build-arg "K=V", or "K" for a declared-but-unset value */
	size_t nr_build_args;
	const char *const *labels;   /* --label "K=V" (or "K": empty value) */
	size_t nr_labels;
	const char *target;          /* --target STAGE, NULL for the last */
	bool no_cache;
	/*
	 * --rm=false: keep every step's container (a RUN's exited, a metadata
	 * step's created and never started), as dockerd does; --force-rm wins
	 */
	bool keep_containers;
	bool force_rm;               /* remove every step's container, a failed RUN's too (--force-rm) */
	const char *network;         /* RUN's network: "none" (NULL) or "host" */
	const char *runtime;         /* the OCI runtime's path; NULL: runc, else crun */
	int *run_status;             /* receives a failed RUN's exit status (the build's exit status) */
	strata_build_write_fn write; /* the transcript; NULL discards it */
	void *cookie;
	/* ADD URL's download, at dockerd's "Downloading" progress lines: bytes so far of total (-1 unknown); NULL: none */
	void (*download_progress)(void *cookie, int64_t current, int64_t total);
	/* NULL: not cancellable; looked at before each instruction (a RUN runs to its end) */
	struct strata_cancel *cancel;
};

/*
 * Build; id receives "sha256:<image id>" of the result, which is tagged
 * with every -t name only when the whole build succeeded.  Errors carry
 * dockerd's message.
 */
STRATA_PUBLIC int strata_build(struct strata_image_index *idx, const struct strata_build_options *opts,
			       char id[72], struct strata_error **err);

/*
 * The Dockerfile name (a path inside the context, symlinks resolved inside
 * it) of the context folder dir, as build options' dockerfile bytes
 * (*data owned, NUL-terminated).  Missing: STRATA_ERR_NOT_FOUND "Cannot
 * locate specified Dockerfile: NAME", as dockerd.
 */
STRATA_PUBLIC int strata_build_context_read(const char *dir, const char *name, char **data, size_t *len,
					    struct strata_error **err);

/*
 * docker build -: whether the first bytes of stdin (up to 512) are an
 * archive, as the client's IsArchive: a gzip, bzip2, xz or zstd magic, or
 * a first block that is a tar header.  Otherwise stdin is a Dockerfile.
 */
STRATA_PUBLIC bool strata_build_is_archive(const void *head, size_t len);

/*
 * Extract a context archive (plain tar, gzip or zstd; bzip2 and xz fail
 * with STRATA_ERR_UNSUPPORTED), whose first head_len bytes were already
 * read from fd, into a new folder of the data root's tmp/, as dockerd
 * untars the context it receives, and keep the tarsum of each member,
 * which COPY/ADD hash as dockerd does.  strata_build_archive_free removes
 * the folder; one left by a killed build is removed by the next write
 * command's recovery.
 */
STRATA_PUBLIC int strata_build_archive_extract(struct strata_image_index *idx, const void *head, size_t head_len,
					       int fd, struct strata_build_archive **out, struct strata_error **err);
/* The extracted folder. */
STRATA_PUBLIC const char *strata_build_archive_dir(const struct strata_build_archive *a);
STRATA_PUBLIC void strata_build_archive_free(struct strata_build_archive *a);

#ifdef __cplusplus
}
#endif

#endif
