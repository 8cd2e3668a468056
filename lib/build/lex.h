/*
 * Variable substitution as moby 20.10's shell.Lex (buildkit
 * frontend/dockerfile/shell): quotes removed ('...' literal, "..." with
 * $ expanded and the escape token escaping " $ and itself), $V and ${V},
 * ${V:-word}, ${V:+word}, ${V?msg}, ${V:?msg}, special parameters
 * ($@ $* $# ...) and positional ones as empty, the escape token escaping
 * any character outside quotes.  The environment is a list of "K=V"
 * strings (a later duplicate wins, a string without '=' is an empty
 * variable).  Errors are moby's: `failed to process "WORD": CAUSE`.
 */
#ifndef STRATA_BUILD_LEX_H
#define STRATA_BUILD_LEX_H

#include <stddef.h>

#include "strata/error.h"

struct build_env {
	const char *const *kv;
	size_t n;
};

/* ProcessWord: word with substitutions and quote removal; caller frees *out. */
int build_lex_word(const char *word, char escape, const struct build_env *env, char **out,
		   struct strata_error **err);

/*
 * ProcessWords: the same, then split into words at unquoted blanks (blanks
 * from an expanded variable split too, quoted ones do not); caller frees
 * each word and the array.
 */
int build_lex_words(const char *word, char escape, const struct build_env *env, char ***words,
		    size_t *nwords, struct strata_error **err);

/* Go's strconv.Quote of s, appended to out (printable UTF-8 kept as is). */
struct strbuf;
void build_go_quote(struct strbuf *out, const char *s);

#endif
