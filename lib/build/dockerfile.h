/*
 * The line layer of the Dockerfile parser, as moby 20.10's
 * (frontend/dockerfile/parser): parser directives at the top (`escape`,
 * `syntax` accepted and ignored), '#' comment lines, line continuations with
 * the escape token (comment lines inside a continuation skipped, empty ones
 * warned about as dockerd does), then one node per instruction: its name
 * lower-cased and the rest of its line.  Each node's leading --flags are
 * split off as moby's extractBuilderFlags does.  Names are not checked
 * here: as in moby, an unknown instruction is the instruction layer's
 * error (build/instructions.h), which also splits the arguments.
 */
#ifndef STRATA_BUILD_DOCKERFILE_H
#define STRATA_BUILD_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "strata/error.h"

struct build_node {
	char *cmd;        /* "from", "copy", ... */
	char *rest;       /* what follows the name, left whitespace removed */
	char *original;   /* the joined line, as docker keeps it */
	char **flags;     /* leading "--name=value" words, quotes removed */
	size_t nflags;
	char *args;       /* rest without those flags */
	size_t start_line, end_line;
};

struct build_dockerfile {
	struct build_node *nodes;
	size_t n, alloc;
	char escape;      /* '\\' or '`' */
	char **warnings;  /* lines dockerd prints as "[WARNING]: ..." */
	size_t nwarnings, warnings_alloc;
};

/* Parse a Dockerfile's bytes; also the fuzz entry point. */
int build_dockerfile_parse(const char *data, size_t len, struct build_dockerfile **out,
			   struct strata_error **err);

/*
 * moby's extractBuilderFlags: the leading words of line that start with
 * "--" (quotes and backslashes processed, a lone "--" ends them) go to
 * *flags; *args points into line at what follows.
 */
void build_split_flags(const char *line, char ***flags, size_t *nflags, const char **args);

void build_dockerfile_free(struct build_dockerfile *df);

/*
 * moby's parseMaybeJSON (RUN, CMD, ENTRYPOINT, SHELL) on the argument text
 * after any --flags: a leading '[' that decodes as a JSON array of strings
 * gives the exec form (*json = true, Go's Decoder: text after the array is
 * ignored); an array holding anything but strings is an error; anything else
 * is the shell form, one argument.  Empty text gives no argument.  The
 * caller frees (*argv)[i] and *argv.
 */
int build_parse_maybe_json(const char *text, char ***argv, size_t *argc, bool *json,
			   struct strata_error **err);

#endif
