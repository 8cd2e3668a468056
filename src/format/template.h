/*
 * A Go text/template subset evaluated against a jansson value, with the
 * functions docker/cli adds (templates.Parse), for `--format`.
 *
 * Supported: text, comment actions, {{- -}} trimming, .Field chains,
 * ., $, $var, $x := / $x = , (pipelines), p | f, if / else if / else,
 * with / else with, range (1 or 2 variables, else, break, continue),
 * string / raw string / char / number / true false nil literals;
 * functions: json split join title lower upper pad truncate (docker) and
 * and or not len index slice print printf println eq ne lt le gt ge (Go).
 * Not supported: define / template / block, html / js / urlquery / call
 * (they are parse errors), complex numbers.
 *
 * Values print as Go's fmt %v prints the Go value docker would hold:
 * strings raw, integers in decimal, floats like %v, booleans, arrays
 * "[a b]", objects "map[k:v]" with sorted keys, null "<nil>", a missing
 * key "<no value>".  JSON objects are treated as Go maps: a struct would
 * print as "{v1 v2}" in docker; a json_t cannot tell the two apart.
 *
 * Nil rule: docker's structs hold nil Go maps/slices where the JSON says
 * null.  A null found under a key named Labels, Volumes or ExposedPorts
 * (nil map) prints "map[]"; under Env, Cmd, Entrypoint, OnBuild or Shell
 * (nil slice) it prints "[]".  Such values also have len 0, range zero
 * times and index (maps) to "".  Any other null is a nil interface.
 * Map lookups with index give "" for a missing key (docker's maps are
 * map[string]string), while .Field on a missing key gives <no value>.
 *
 * Errors read like Go's: "template: :1: function \"foo\" not defined",
 * "template: :1:2: executing \"\" at <.Foo>: map has no entry for key
 * \"Foo\"".  Nesting depth, output size and evaluation steps are bounded.
 */
#ifndef STRATA_FORMAT_TEMPLATE_H
#define STRATA_FORMAT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "strata/error.h"
#include "util/strbuf.h"

struct template;

enum template_flags {
	/* docker's HeaderFunctions: json, split, join, title, lower, upper and
	 * truncate return their first (string) argument unchanged. */
	TEMPLATE_HEADER_FUNCS = 1 << 0,
	/* Go's Option("missingkey=error"): .Field on a missing key fails. */
	TEMPLATE_MISSINGKEY_ERROR = 1 << 1,
};

#define TEMPLATE_MAX_DEPTH 100            /* nested controls / parentheses */
#define TEMPLATE_MAX_OUTPUT (64u << 20)   /* bytes per execution */
#define TEMPLATE_MAX_STEPS 10000000u      /* evaluated nodes per execution */

/* Parse text (as templates.Parse does: name ""); *out is freed by template_free. */
int template_parse(const char *text, struct template **out, struct strata_error **err);
/*
 * Execute against dot, appending to out.  On error out is left as it was
 * (docker renders into a buffer it drops) and *err holds Go's message.
 */
int template_execute(const struct template *t, const json_t *dot, unsigned flags,
		     struct strbuf *out, struct strata_error **err);
/* The same with dot a Go struct of that type (docker's formatter contexts,
 * "*formatter.imageContext"): a field dot's object lacks fails as Go does. */
int template_execute_typed(const struct template *t, const json_t *dot, const char *type,
			   unsigned flags, struct strbuf *out, struct strata_error **err);
/*
 * A Go struct a template runs on, for template_execute_struct: its type
 * name and the fields that are structs too (the others are maps, slices
 * or scalars, where a missing key is no error).
 */
struct template_type {
	const char *name; /* "*container.Config" */
	const struct template_field {
		const char *name;
		const struct template_type *type;
	} *fields; /* ends with { NULL }; NULL: none */
};
/* template_execute_typed with nested structs: .Config.Nope fails as in Go. */
int template_execute_struct(const struct template *t, const json_t *dot,
			    const struct template_type *type, unsigned flags, struct strbuf *out,
			    struct strata_error **err);
void template_free(struct template *t);
/* The same for a template Go knows by name (docker version's is "version"). */
int template_parse_named(const char *name, const char *text, struct template **out,
			 struct strata_error **err);

/* docker/cli formatter.Format.IsTable(): the format starts with "table". */
bool format_is_table(const char *format);
/*
 * docker/cli Context.preFormat(): drop the "table" prefix, trim spaces at
 * both ends, then replace the two characters \t and \n by a tab and a
 * newline.  Returns a new string (free it).
 */
char *format_prepare(const char *format);
/*
 * docker/cli Context.Write(): parse the prepared format, execute it for
 * every element of rows (an array of objects) followed by "\n".  For a
 * table format, the header row (the same template executed against
 * header, an object mapping field names to column titles such as
 * {"Repository":"REPOSITORY","ID":"IMAGE ID"}, with TEMPLATE_HEADER_FUNCS)
 * comes first and everything goes through the docker tabwriter; a header
 * execution error is ignored like docker does.  Otherwise rows are written
 * as they are.  Errors are "template parsing error: ..." and leave out
 * untouched.  type names the Go struct each row is (template_execute_typed).
 */
int format_render(struct strbuf *out, const char *format, const char *type, const json_t *header,
		  const json_t *rows, struct strata_error **err);

#endif
