/*
 * The instruction layer of the Dockerfile parser, as moby 20.10 (buildkit
 * frontend/dockerfile parser line parsers + instructions): each node's
 * arguments split the way its instruction's line parser splits them (words
 * with quotes kept, key=value pairs, JSON or shell form, whitespace lists),
 * its --flags checked against the instruction's own, its argument counts
 * checked; then the instructions grouped into stages, ARGs before the first
 * FROM kept apart as meta args.  Nothing is substituted here: which
 * instruction expands variables, and with which environment, is the
 * builder's (build_instr_expand).
 */
#ifndef STRATA_BUILD_INSTRUCTIONS_H
#define STRATA_BUILD_INSTRUCTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build/dockerfile.h"
#include "build/lex.h"
#include "strata/error.h"

enum build_kind {
	BI_FROM, BI_ARG, BI_ENV, BI_LABEL, BI_MAINTAINER, BI_EXPOSE, BI_ENTRYPOINT, BI_CMD,
	BI_VOLUME, BI_USER, BI_WORKDIR, BI_ONBUILD, BI_STOPSIGNAL, BI_HEALTHCHECK, BI_SHELL,
	BI_RUN, BI_COPY, BI_ADD,
};

struct build_kv {
	char *key, *value; /* value NULL: an ARG without default */
};

struct build_health {
	char **test;       /* ["NONE"], ["CMD", ...] or ["CMD-SHELL", "..."] */
	size_t ntest;
	int64_t interval, timeout, start_period; /* nanoseconds, 0 = inherit */
	int retries;
};

struct build_instr {
	enum build_kind kind;
	char *code;        /* the instruction as written, trimmed: "Step N/M : <code>" */
	size_t line;
	/* FROM base [AS name], EXPOSE, VOLUME, COPY/ADD sources and dest,
	 * USER/WORKDIR/STOPSIGNAL/MAINTAINER: one word */
	char **words;
	size_t nwords;
	struct build_kv *kvs; /* ENV, LABEL, ARG */
	size_t nkvs;
	/* CMD, ENTRYPOINT, RUN, SHELL: exec form (json) or one shell string */
	char **cmdline;
	size_t ncmdline;
	bool cmdline_nil;  /* ENTRYPOINT with no command: null, not [] */
	bool prepend_shell;
	char *name;        /* FROM ... AS name (lower-cased) */
	char *platform;    /* FROM --platform */
	char *from, *chown, *chmod; /* COPY/ADD flags ("" when absent) */
	char *expression;  /* ONBUILD: the trigger as written */
	struct build_health health;
	bool no_expand;    /* a --label option's LABEL: never substituted */
};

struct build_stage {
	struct build_instr from;
	struct build_instr *cmds;
	size_t n, alloc;
};

struct build_plan {
	struct build_instr *meta;  /* ARGs before the first FROM */
	size_t nmeta, meta_alloc;
	struct build_stage *stages;
	size_t nstages, stages_alloc;
	char escape;
	char **warnings;           /* the line layer's, printed as dockerd does */
	size_t nwarnings;
};

/*
 * Parse a Dockerfile (name: how messages call it) into stages; errors carry
 * dockerd's text (without its "Error response from daemon: " prefix).
 */
int build_plan_parse(const char *data, size_t len, const char *name, struct build_plan **out,
		     struct strata_error **err);
/* Parse one instruction line (an ONBUILD trigger) into *out. */
int build_instr_parse_line(const char *line, struct build_instr *out, struct strata_error **err);
void build_plan_free(struct build_plan *plan);
void build_instr_release(struct build_instr *in);

/* Append a "LABEL k=v" instruction that is never substituted (--label). */
void build_stage_add_label(struct build_stage *stage, const char *key, const char *value);

/*
 * Substitute variables in place in the instructions where moby's
 * SupportsSingleWordExpansion does: ENV, LABEL (unless no_expand), COPY,
 * ADD (sources, dest and --chown), WORKDIR, USER, VOLUME, STOPSIGNAL, ARG.
 */
int build_instr_expand(struct build_instr *in, char escape, const struct build_env *env,
		       struct strata_error **err);

/* Go's time.Duration String() of ns. */
struct strbuf;
void build_go_duration(struct strbuf *out, int64_t ns);

#endif
