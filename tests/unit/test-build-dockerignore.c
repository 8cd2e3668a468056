/* .dockerignore patterns: moby 20.10 pkg/fileutils and builder/dockerignore cases. */
#include <stdlib.h>
#include <string.h>

#include "build/dockerignore.h"
#include "tap.h"
#include "util/cleanup.h"

static struct build_ignore *parse(const char *text)
{
	struct strata_error *err = NULL;
	struct build_ignore *ig = NULL;

	if (build_ignore_parse(text, strlen(text), &ig, &err) < 0)
		bail_out("parse '%s': %s", text, err->msg);
	return ig;
}

static void match_is(const char *patterns, const char *path, bool want)
{
	struct build_ignore *ig = parse(patterns);

	ok(build_ignore_match(ig, path) == want, "%s %s '%s'", path,
	   want ? "excluded by" : "kept by", patterns);
	build_ignore_free(ig);
}

static void clean_is(const char *in, const char *want)
{
	_cleanup_free_ char *got = build_path_clean(in);

	is_str(got, want, "Clean(%s)", in);
}

int main(void)
{
	clean_is("", ".");
	clean_is("a//b/./c/", "a/b/c");
	clean_is("a/../../b", "../b");
	clean_is("/../a", "/a");
	clean_is("./", ".");
	clean_is("a/b/..", "a");

	/* fileutils TestMatches cases */
	match_is("fileutils", "fileutils", true);
	match_is("*.go", "fileutils.go", true);
	match_is("*", "fileutils.go", true);
	match_is("*", "a/b", true); /* the parent folder "a" matches */
	match_is("?", "a", true);
	match_is("?", "ab", false);
	match_is("a*b", "a/b", false);
	match_is("a*/b", "abc/b", true);
	match_is("a\\*b", "a*b", true);
	match_is("a\\*b", "axb", false);
	match_is("**", "a/b/c", true);
	match_is("**/", "a", true);
	match_is("**/x", "x", true);
	match_is("**/x", "a/b/x", true);
	match_is("a/**", "a/b/c", true);
	match_is("a/**/b", "a/b", true);
	match_is("a/**/b", "a/x/y/b", true);
	match_is("a/**/b", "ab", false);
	match_is("**/*.go", "x/y/z.go", true);
	match_is("*.go", "x/y.go", false);
	match_is("abc.def", "abcZdef", false);
	match_is("a$b", "a$b", true);
	match_is("[a-c]", "b", true);
	match_is("[a-c]", "d", false);

	/* leading '/' stripped, paths cleaned, folders cover what is below */
	match_is("/foo", "foo/bar", true);
	match_is("foo/", "foo/bar/baz", true);
	match_is("./foo/../bar", "bar", true);
	match_is("dir", "dirx", false);

	/* comments, blank lines, spaces, CRLF, byte order mark */
	match_is("# foo\n\n  bar  \r\n", "bar", true);
	match_is("# foo\n", "# foo", false);
	match_is(" # foo\n", "# foo", true);
	match_is("\xef\xbb\xbf" "x\n", "x", true);

	/* '!' exceptions: the last match wins */
	match_is("*.md\n!README.md", "README.md", false);
	match_is("*.md\n!README.md", "CHANGES.md", true);
	match_is("*.md\n!README.md\nREADME*", "README.md", true);
	match_is("docs\n! docs/keep", "docs/keep", false);
	match_is("docs\n!docs/keep", "docs/other", true);
	match_is("!x\nx", "x", true);
	match_is("x\n!x", "x", false);

	{
		struct build_ignore *ig = parse("a\n!b\n");

		ok(build_ignore_has_exceptions(ig), "exceptions seen");
		build_ignore_free(ig);
		ig = parse("a\n#!b\n");
		ok(!build_ignore_has_exceptions(ig), "a commented '!' is no exception");
		build_ignore_free(ig);
	}
	{
		struct strata_error *err = NULL;
		struct build_ignore *ig = NULL;
		int rc = build_ignore_parse("a\n!\n", 4, &ig, &err);

		ok(rc == -STRATA_ERR_INVALID && ig == NULL, "a lone '!' is refused");
		is_str(err ? err->msg : NULL, "illegal exclusion pattern: \"!\"", "its message");
		strata_error_free(err);
	}
	{
		/* found by fuzz-dockerignore: glibc's regcomp grew past 1 GB on "+++..." */
		static const struct {
			const char *pattern, *msg;
		} bad[] = {
			{ "a,++++++++++++++++++++++++++++++++o.c",
			  "Error checking context: 'error parsing regexp: invalid nested repetition "
			  "operator: `++`'" },
			{ "x*+", "Error checking context: 'error parsing regexp: invalid nested repetition "
				 "operator: `*+`'" },
			{ "a{2}{3}", "Error checking context: 'error parsing regexp: invalid nested "
				     "repetition operator: `{2}{3}`'" },
			{ "a{1001}", "Error checking context: 'error parsing regexp: invalid repeat count: "
				     "`{1001}`'" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct strata_error *err = NULL;
			struct build_ignore *ig = NULL;
			int rc = build_ignore_parse(bad[i].pattern, strlen(bad[i].pattern), &ig, &err);

			ok(rc == -STRATA_ERR_INVALID && ig == NULL, "%s refused as Go's regexp does",
			   bad[i].pattern);
			is_str(err ? err->msg : NULL, bad[i].msg, "its message");
			strata_error_free(err);
		}
		{
			struct build_ignore *ig = parse("a+b\nc{2}\n");

			ok(ig && build_ignore_match(ig, "aab") && build_ignore_match(ig, "cc"),
			   "one repetition stays a regexp operator, as in moby");
			build_ignore_free(ig);
		}
	}
	return tap_done();
}
