/* fd-relative file helpers: bounded reads, atomic writes, directory sync. */
#ifndef STRATA_UTIL_FS_H
#define STRATA_UTIL_FS_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "strata/error.h"

/* strerror(e) as Go words it, which docker prints: lower case first ("no such file or directory"); free it. */
char *fs_errno_text(int e);

/* The error code for a failed syscall's errno (ENOENT -> NOT_FOUND, ENOSPC -> NOSPC, ...). */
enum strata_errcode fs_errcode(int e);

/* write(2) until all len bytes are written (retrying EINTR); on failure *err is "<what>: <strerror>". */
int fs_write_all(int fd, const void *data, size_t len, const char *what,
		 struct strata_error **err);
/* The same with send(MSG_NOSIGNAL) on a socket: a peer that went away is an error, not SIGPIPE. */
int fs_send_all(int fd, const void *data, size_t len, const char *what, struct strata_error **err);

/*
 * Read the whole of dirfd/name into a new NUL-terminated buffer (*out, owned
 * by the caller), refusing files larger than max bytes.  A missing file gives
 * STRATA_ERR_NOT_FOUND.  Symlinks are not followed.
 */
int fs_read_file_at(int dirfd, const char *name, size_t max, char **out,
		    size_t *len, struct strata_error **err);

/*
 * Replace dirfd/name atomically: write a temporary file in the same folder,
 * fsync it, set mode, rename it over name and fsync the folder.  Readers see
 * either the old or the new bytes, never a mix.
 */
int fs_write_file_atomic_at(int dirfd, const char *name, const void *data,
			    size_t len, mode_t mode, struct strata_error **err);
/* True when name (one folder entry) is such a temporary file: .tmp-<name>.<pid>. */
bool fs_is_atomic_tmp(const char *name);

/* Write name in dirfd (which must be a fresh staging folder), fsync it. */
int fs_write_file_at(int dirfd, const char *name, const void *data, size_t len,
		     mode_t mode, struct strata_error **err);

int fs_fsync_dir_at(int dirfd, const char *name, struct strata_error **err);

/* mkdir dirfd/name with exactly mode (umask ignored); an existing folder is fine. */
int fs_mkdir_at(int dirfd, const char *name, mode_t mode, struct strata_error **err);

/*
 * A directory stream on dirfd/name ("." for dirfd itself, which stays open and
 * keeps its own offset).  A missing folder gives STRATA_ERR_NOT_FOUND.
 */
int fs_opendir_at(int dirfd, const char *name, DIR **out, struct strata_error **err);

/* Open a folder below dirfd without following symlinks at the last step. */
int fs_open_dir_at(int dirfd, const char *name, struct strata_error **err);

/* Remove dirfd/name and everything below it; a missing entry is fine. */
int fs_remove_tree_at(int dirfd, const char *name, struct strata_error **err);

/* True when name exists in dirfd (no symlink following). */
int fs_exists_at(int dirfd, const char *name);

#endif
