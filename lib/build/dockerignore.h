/*
 * .dockerignore as the classic builder reads it (builder/dockerignore and
 * pkg/fileutils of moby 20.10): one pattern a line, '#' comments, '!'
 * exceptions, each pattern cleaned like Go's filepath.Clean with a leading
 * '/' stripped, compiled to an anchored regular expression ('*', '?', '**',
 * '\' escapes, other characters as the regex sees them); for a path the last
 * matching pattern wins, and a pattern also matches a path whose leading
 * folders it matches.
 */
#ifndef STRATA_BUILD_DOCKERIGNORE_H
#define STRATA_BUILD_DOCKERIGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "strata/error.h"

struct build_ignore;

/* Parse the bytes of a .dockerignore file; also the fuzz entry point. */
int build_ignore_parse(const char *data, size_t len, struct build_ignore **out,
		       struct strata_error **err);

/* Whether the context-relative path (slash-separated) is ignored. */
bool build_ignore_match(const struct build_ignore *ig, const char *path);

/* Whether any pattern is an exception (then excluded folders must be walked). */
bool build_ignore_has_exceptions(const struct build_ignore *ig);

void build_ignore_free(struct build_ignore *ig);

/* Go's path.Clean on a slash-separated path; the caller frees the result. */
char *build_path_clean(const char *path);

#endif
