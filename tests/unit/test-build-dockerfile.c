/* The Dockerfile line layer: directives, comments, continuations, unknown instructions. */
#include <stdlib.h>
#include <string.h>

#include "build/dockerfile.h"
#include "tap.h"
#include "util/strbuf.h"

static struct build_dockerfile *parse(const char *text)
{
	struct strata_error *err = NULL;
	struct build_dockerfile *df = NULL;

	if (build_dockerfile_parse(text, strlen(text), &df, &err) < 0)
		bail_out("parse: %s", err->msg);
	return df;
}

static void error_is(const char *text, const char *want)
{
	struct strata_error *err = NULL;
	struct build_dockerfile *df = NULL;
	int rc = build_dockerfile_parse(text, strlen(text), &df, &err);

	ok(rc == -STRATA_ERR_INVALID && !df, "refused: %s", want);
	is_str(err ? err->msg : NULL, want, "message");
	strata_error_free(err);
}

static void form_is(const char *text, bool want_json, size_t want_n, const char *first)
{
	struct strata_error *err = NULL;
	char **argv = NULL;
	size_t argc = 0;
	bool json = false;
	int rc = build_parse_maybe_json(text, &argv, &argc, &json, &err);

	ok(rc == 0 && json == want_json && argc == want_n, "'%s': %s form, %zu args", text,
	   want_json ? "exec" : "shell", want_n);
	if (first)
		is_str(argc ? argv[0] : NULL, first, "'%s': first argument", text);
	for (size_t i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	strata_error_free(err);
}

static void flags_is(const char *line, const char *want_flags, const char *want_args)
{
	struct strbuf got = STRBUF_INIT;
	char **flags;
	size_t n;
	const char *args;

	build_split_flags(line, &flags, &n, &args);
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(&got, "%s<%s>", i ? " " : "", flags[i]);
		free(flags[i]);
	}
	free(flags);
	is_str(got.buf, want_flags, "flags of '%s'", line);
	is_str(args, want_args, "args of '%s'", line);
	strbuf_release(&got);
}

int main(void)
{
	struct build_dockerfile *df;

	df = parse("\xef\xbb\xbf# a comment\nFROM busybox AS base  \n\n  label a=b \\\n"
		   "# inside\n   c=d\ncmd [\"x\"]\n");
	ok(df->n == 3, "three instructions");
	is_str(df->nodes[0].cmd, "from", "name lower-cased");
	is_str(df->nodes[0].rest, "busybox AS base", "rest trimmed");
	ok(df->nodes[0].nflags == 0, "FROM without flags");
	ok(df->nodes[0].start_line == 2, "FROM on line 2");
	is_str(df->nodes[1].cmd, "label", "LABEL");
	is_str(df->nodes[1].rest, "a=b    c=d", "continuation joined, comment skipped");
	ok(df->nodes[1].start_line == 4 && df->nodes[1].end_line == 6, "LABEL spans 4-6");
	is_str(df->nodes[2].rest, "[\"x\"]", "CMD rest");
	ok(df->nwarnings == 0 && df->escape == '\\', "no warning, default escape");
	build_dockerfile_free(df);

	df = parse("# escape=`\n# syntax=docker/dockerfile:1\nFROM x\nRUN a `\n  b\\\n");
	ok(df->escape == '`', "escape directive");
	ok(df->n == 2, "two instructions");
	is_str(df->nodes[1].rest, "a   b\\", "backtick continues, backslash kept");
	build_dockerfile_free(df);

	df = parse("FROM x\n# escape=`\nRUN a \\\n  b\n");
	ok(df->escape == '\\', "a directive after an instruction is a comment");
	is_str(df->nodes[1].rest, "a   b", "backslash continues");
	build_dockerfile_free(df);

	df = parse("# hello\n# escape=`\nFROM x\n");
	ok(df->escape == '\\', "a directive after a comment is a comment");
	build_dockerfile_free(df);

	df = parse("FROM x\nRUN a \\\n\n  b\n");
	ok(df->n == 2 && df->nwarnings == 2, "empty continuation line warned");
	is_str(df->warnings[0], "[WARNING]: Empty continuation line found in:\n    RUN a   b",
	       "warning text");
	is_str(df->nodes[1].rest, "a   b", "empty line skipped");
	ok(df->nodes[1].end_line == 4, "RUN ends on line 4");
	build_dockerfile_free(df);

	df = parse("FROM --platform=linux/amd64 x\nCOPY --chown=1:1 --from=a /s /d\n");
	ok(df->nodes[1].nflags == 2, "COPY has two flags");
	is_str(df->nodes[1].flags[1], "--from=a", "second flag");
	is_str(df->nodes[1].args, "/s /d", "COPY args");
	is_str(df->nodes[0].args, "x", "FROM args");
	build_dockerfile_free(df);

	df = parse("FROM x\r\nCMD y\r\n");
	is_str(df->nodes[1].rest, "y", "CRLF");
	build_dockerfile_free(df);

	df = parse("FROM x\n\nFOO bar\n");
	ok(df->n == 2, "an unknown instruction is a node (the instruction layer refuses it)");
	is_str(df->nodes[1].cmd, "foo", "its name");
	build_dockerfile_free(df);
	error_is("# escape=x\nFROM x\n", "invalid ESCAPE 'x'. Must be ` or \\");
	error_is("# escape=`\n# escape=\\\nFROM x\n", "only one escape parser directive can be used");

	flags_is("--from=base /a /b", "<--from=base>", "/a /b");
	flags_is("--chown=1:2   --from=x a b", "<--chown=1:2> <--from=x>", "a b");
	flags_is("--chown=\"a b\" x", "<--chown=a b>", "x");
	flags_is("--x=a\\ b c", "<--x=a b>", "c");
	flags_is("-- --from=x a", "", " --from=x a");
	flags_is("-x a", "", "-x a");
	flags_is("--a", "<--a>", "");
	flags_is("--a=''  ", "<--a=>", "");
	flags_is("a --b", "", "a --b");

	form_is("[\"echo\", \"a b\"]", true, 2, "echo");
	form_is("  [\"x\"] trailing", true, 1, "x");
	form_is("[]", true, 0, NULL);
	form_is("[\"x\"", false, 1, "[\"x\"");
	form_is("['x']", false, 1, "['x']");
	form_is("echo [\"x\"]", false, 1, "echo [\"x\"]");
	form_is("", false, 0, NULL);
	{
		struct strata_error *err = NULL;
		char **argv = NULL;
		size_t argc = 0;
		bool json = false;
		int rc = build_parse_maybe_json("[\"a\", 1]", &argv, &argc, &json, &err);

		ok(rc == -STRATA_ERR_INVALID && argc == 0, "a number in the array is refused");
		is_str(err ? err->msg : NULL,
		       "when using JSON array syntax, arrays must be comprised of strings only",
		       "its message");
		strata_error_free(err);
	}
	return tap_done();
}
