/* Internals shared by template.c (parser) and template_exec.c (executor). */
#ifndef STRATA_FORMAT_TEMPLATE_INT_H
#define STRATA_FORMAT_TEMPLATE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

enum nkind {
	N_LIST,
	N_TEXT,
	N_ACTION,
	N_IF,
	N_RANGE,
	N_WITH,
	N_BREAK,
	N_CONTINUE,
	N_ELSE, /* parse-time terminators only */
	N_END,
	N_PIPE,
	N_CMD,
	N_FIELD, /* fields: A, B for .A.B */
	N_VAR,   /* fields[0] = "$x", then fields */
	N_CHAIN, /* sub, then fields */
	N_DOT,
	N_NIL,
	N_BOOL,
	N_NUM,
	N_STR,
	N_IDENT,
};

struct node {
	enum nkind kind;
	size_t pos; /* byte offset in the template text */
	char *text; /* N_TEXT, N_STR (unquoted), N_IDENT (name) */
	size_t text_len;
	char *raw; /* N_STR / N_NUM: as written */
	char **fields; /* N_FIELD, N_VAR, N_CHAIN; N_PIPE: declared variables */
	size_t nfields, afields;
	struct node **kids; /* N_LIST items, N_PIPE commands, N_CMD arguments */
	size_t nkids, akids;
	struct node *sub;                    /* N_CHAIN */
	struct node *pipe, *list, *else_list; /* N_ACTION, N_IF, N_RANGE, N_WITH */
	int is_assign;                       /* N_PIPE: "=" rather than ":=" */
	int bval;
	int is_int, is_float;
	int64_t ival;
	double fval;
};

struct template {
	char *name; /* Go's template name, in error messages */
	char *src;
	struct node *root;
	struct node **nodes; /* arena: every node, freed together */
	size_t nnodes, anodes;
};

/* Go's node String() (used in error messages). */
void node_str(struct strbuf *sb, const struct node *n);
/* Is name a function the parser accepts? */
int template_func_known(const char *name);

/* strconv.Quote of s[0..len). */
void go_quote(struct strbuf *sb, const char *s, size_t len);
/* strconv.Unquote body (between the quotes q); -1 on a bad escape. */
int go_unquote(struct strbuf *sb, const char *s, size_t len, char q);
size_t tk_rune_len(const char *s, size_t len);
/* Bytes of the first n runes of s. */
size_t tk_rune_prefix(const char *s, size_t len, size_t n);

#endif
