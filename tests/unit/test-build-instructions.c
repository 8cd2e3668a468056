/* Substitution (moby's shell.Lex) and the instruction layer of the Dockerfile parser. */
#include <stdlib.h>
#include <string.h>

#include "build/instructions.h"
#include "build/lex.h"
#include "tap.h"
#include "util/strbuf.h"

static const char *const env_kv[] = { "PWD=/home", "SHELL=bash", "KOREAN=한국어", "EMPTY=", "A=a b",
				      "X=x", "X=later" };
static const struct build_env env = { env_kv, sizeof(env_kv) / sizeof(env_kv[0]) };

static void word_is(const char *in, const char *want)
{
	struct strata_error *err = NULL;
	char *out = NULL;
	int rc = build_lex_word(in, '\\', &env, &out, &err);

	if (rc < 0)
		printf("# error: %s\n", err->msg);
	is_str(out, want, "word '%s'", in);
	free(out);
	strata_error_free(err);
}

static void word_fails(const char *in, const char *want)
{
	struct strata_error *err = NULL;
	char *out = NULL;
	int rc = build_lex_word(in, '\\', &env, &out, &err);

	ok(rc == -STRATA_ERR_INVALID && !out, "'%s' refused", in);
	is_str(err ? err->msg : NULL, want, "its message");
	strata_error_free(err);
}

static void words_are(const char *in, const char *want)
{
	struct strata_error *err = NULL;
	struct strbuf got = STRBUF_INIT;
	char **w = NULL;
	size_t n = 0;

	if (build_lex_words(in, '\\', &env, &w, &n, &err) < 0)
		strbuf_addf(&got, "error: %s", err->msg);
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(&got, "%s<%s>", i ? " " : "", w[i]);
		free(w[i]);
	}
	free(w);
	is_str(got.buf, want, "words of '%s'", in);
	strbuf_release(&got);
	strata_error_free(err);
}

static struct build_plan *plan_of(const char *text)
{
	struct strata_error *err = NULL;
	struct build_plan *plan = NULL;

	if (build_plan_parse(text, strlen(text), "Dockerfile", &plan, &err) < 0)
		bail_out("plan of '%s': %s", text, err->msg);
	return plan;
}

static void plan_fails(const char *text, const char *want)
{
	struct strata_error *err = NULL;
	struct build_plan *plan = NULL;
	int rc = build_plan_parse(text, strlen(text), "Dockerfile", &plan, &err);

	ok(rc == -STRATA_ERR_INVALID && !plan, "refused: %s", want);
	is_str(err ? err->msg : NULL, want, "message");
	strata_error_free(err);
}

static void duration_is(int64_t ns, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	build_go_duration(&sb, ns);
	is_str(sb.buf, want, "Duration(%lld)", (long long)ns);
	strbuf_release(&sb);
}

int main(void)
{
	struct build_plan *p;
	struct strata_error *err = NULL;

	/* cases from moby's envVarTest */
	word_is("hello", "hello");
	word_is("he'll'o", "hello");
	word_fails("he'llo", "failed to process \"he'llo\": unexpected end of statement while looking for matching single-quote");
	word_is("he\\'llo", "he'llo");
	word_fails("he\\\\'llo", "failed to process \"he\\\\\\\\'llo\": unexpected end of statement while looking for matching single-quote");
	word_is("abc\\\\$PWD", "abc\\/home");
	word_is("\"abc\\$PWD\"", "abc$PWD");
	word_is("'abc$PWD'", "abc$PWD");
	word_is("\"abc\\\"def\"", "abc\"def");
	word_is("\"a\\b\"", "a\\b");
	word_is("he\\$PWD", "he$PWD");
	word_is("he$PWD", "he/home");
	word_is("he${PWD}x", "he/homex");
	word_is("$XYZ", "");
	word_is("${XYZ:-default}", "default");
	word_is("${PWD:-default}", "/home");
	word_is("${EMPTY:-e}", "e");
	word_is("${EMPTY:+e}", "");
	word_is("${PWD:+set}", "set");
	word_is("${XYZ:+set}", "");
	word_is("${XYZ:-$PWD}", "/home");
	word_is("${XYZ:-'$PWD'}", "$PWD");
	word_is("${XYZ:-\"a b\"}", "a b");
	word_is("$KOREAN", "한국어");
	word_is("$X", "later");
	word_is("$", "$");
	word_is("$1x", "x");
	word_is("$@x", "x");
	word_is("a\\", "a");
	word_fails("${", "failed to process \"${\": syntax error: missing '}'");
	word_fails("${}", "failed to process \"${}\": syntax error: bad substitution");
	word_fails("${:x}", "failed to process \"${:x}\": syntax error: bad substitution");
	word_fails("${PWD:-x", "failed to process \"${PWD:-x\": syntax error: missing '}'");
	word_fails("${PWD%x}", "failed to process \"${PWD%x}\": missing ':' in substitution");
	word_fails("${PWD:=x}", "failed to process \"${PWD:=x}\": unsupported modifier (=) in substitution");
	word_fails("${XYZ:?}", "failed to process \"${XYZ:?}\": XYZ: is not allowed to be unset");
	word_fails("${EMPTY:?must}", "failed to process \"${EMPTY:?must}\": EMPTY: must");
	word_fails("'abc", "failed to process \"'abc\": unexpected end of statement while looking for matching single-quote");
	word_fails("\"a\tb", "failed to process \"\\\"a\\tb\": unexpected end of statement while looking for matching double-quote");
	words_are("$A c", "<a> <b> <c>");
	words_are("\"$A\" c", "<a b> <c>");
	words_are("  x\\ y  'z w' ", "<x y> <z w>");
	words_are("", "");

	duration_is(0, "0s");
	duration_is(30000000000LL, "30s");
	duration_is(90000000000LL, "1m30s");
	duration_is(3600000000000LL, "1h0m0s");
	duration_is(1500000000LL, "1.5s");
	duration_is(1000000LL, "1ms");
	duration_is(1500000LL, "1.5ms");
	duration_is(2500LL, "2.5\xc2\xb5s");

	p = plan_of("ARG V=1\nARG W\nFROM busybox:$V AS Base\nENV A=1 B=\"two words\"\nENV C d e\n"
		    "LABEL \"k\"=v x=\"y z\"\nEXPOSE 9001/udp 80 443\nCMD [\"a\", \"b\"]\nCMD echo hi\n"
		    "ENTRYPOINT []\nVOLUME [\"/v1\", \"/v2\"]\nVOLUME /a /b\nHEALTHCHECK --interval=30s --retries=3 CMD true\n"
		    "HEALTHCHECK NONE\nSHELL [\"/bin/sh\", \"-e\", \"-c\"]\nONBUILD  RUN echo on\n"
		    "ARG X=1 Y\nUSER 1:1\nWORKDIR /w\nSTOPSIGNAL SIGKILL\nCOPY --chown=1:1 --from=base a b /d/\n"
		    "FROM scratch\n");
	ok(p->nmeta == 2 && p->nstages == 2, "two meta args, two stages");
	is_str(p->meta[0].kvs[0].value, "1", "ARG V=1");
	ok(p->meta[1].kvs[0].value == NULL, "ARG W has no value");
	is_str(p->stages[0].from.name, "base", "stage name lower-cased");
	is_str(p->stages[0].from.words[0], "busybox:$V", "base name unexpanded");
	is_str(p->stages[0].from.code, "FROM busybox:$V AS Base", "step code");
	{
		struct build_instr *c = p->stages[0].cmds;

		ok(p->stages[0].n == 18, "18 instructions in stage 0");
		ok(c[0].nkvs == 2, "ENV two pairs");
		is_str(c[0].kvs[1].value, "\"two words\"", "quotes kept until substitution");
		is_str(c[1].kvs[0].key, "C", "legacy ENV key");
		is_str(c[1].kvs[0].value, "d e", "legacy ENV value");
		is_str(c[2].kvs[0].key, "\"k\"", "LABEL key as written");
		is_str(c[3].words[0], "443", "EXPOSE sorted as strings");
		is_str(c[3].words[2], "9001/udp", "EXPOSE sorted as strings (last)");
		ok(!c[4].prepend_shell && c[4].ncmdline == 2, "CMD exec form");
		ok(c[5].prepend_shell && c[5].ncmdline == 1, "CMD shell form");
		ok(c[6].cmdline_nil && c[6].ncmdline == 0, "ENTRYPOINT [] is nil");
		ok(c[7].nwords == 2 && c[8].nwords == 2, "VOLUME JSON and list");
		ok(c[9].health.interval == 30000000000LL && c[9].health.retries == 3 && c[9].health.ntest == 2,
		   "HEALTHCHECK flags");
		is_str(c[9].health.test[0], "CMD-SHELL", "shell-form HEALTHCHECK");
		is_str(c[10].health.test[0], "NONE", "HEALTHCHECK NONE");
		ok(c[11].ncmdline == 3, "SHELL");
		is_str(c[12].expression, "RUN echo on", "ONBUILD expression");
		ok(c[13].nkvs == 2 && !c[13].kvs[1].value, "ARG X=1 Y");
		is_str(c[17].chown, "1:1", "COPY --chown");
		is_str(c[17].from, "base", "COPY --from");
		ok(c[17].nwords == 3, "COPY sources and dest");
	}
	{
		struct build_instr *c = &p->stages[0].cmds[0];
		const char *const kv[] = { "V=two" };
		const struct build_env e = { kv, 1 };

		ok(build_instr_expand(c, '\\', &e, &err) == 0, "ENV expands");
		is_str(c->kvs[1].value, "two words", "quotes removed");
	}
	build_plan_free(p);

	p = plan_of("FROM x\n");
	build_stage_add_label(&p->stages[0], "b", "$X");
	ok(p->stages[0].n == 1, "--label appended");
	is_str(p->stages[0].cmds[0].code, "LABEL b=$X", "its step");
	build_plan_free(p);

	plan_fails("FROM x\n\nFOO bar\n", "dockerfile parse error line 3: unknown instruction: FOO");
	plan_fails("FROM x\nrunn \\\n y\n", "dockerfile parse error line 2: unknown instruction: RUNN");
	plan_fails("LABEL a=b\nFROM x\n", "no build stage in current context");
	plan_fails("FROM x\nLABEL a\n", "failed to parse Dockerfile: LABEL must have two arguments");
	plan_fails("FROM x\nENV a=b c\n",
		   "failed to parse Dockerfile: Syntax error - can't find = in \"c\". Must be of the form: name=value");
	plan_fails("FROM x\nCMD [\"a\", 1]\n",
		   "failed to parse Dockerfile: when using JSON array syntax, arrays must be comprised of strings only");
	plan_fails("FROM a b\n", "dockerfile parse error line 1: FROM requires either one or three arguments");
	plan_fails("FROM a AS 1x\n",
		   "dockerfile parse error line 1: invalid name for build stage: \"1x\", name can't start with a number or contain symbols");
	plan_fails("FROM x\nUSER\n", "dockerfile parse error line 2: USER requires exactly one argument");
	plan_fails("FROM x\nCOPY a\n",
		   "dockerfile parse error line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined");
	plan_fails("FROM x\nCOPY --foo=1 a b\n", "dockerfile parse error line 2: Unknown flag: foo");
	plan_fails("FROM x\nCOPY --from a b\n", "dockerfile parse error line 2: Missing a value on flag: from");
	plan_fails("FROM x\nONBUILD ONBUILD RUN x\n",
		   "dockerfile parse error line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
	plan_fails("FROM x\nONBUILD from y\n", "dockerfile parse error line 2: FROM isn't allowed as an ONBUILD trigger");
	plan_fails("FROM x\nSHELL sh -c\n", "dockerfile parse error line 2: SHELL requires the arguments to be in JSON form");
	plan_fails("FROM x\nHEALTHCHECK --interval=1us CMD x\n",
		   "dockerfile parse error line 2: Interval \"interval\" cannot be less than 1ms");
	plan_fails("FROM x\nHEALTHCHECK --retries=0 CMD x\n",
		   "dockerfile parse error line 2: --retries must be at least 1 (not 0)");
	plan_fails("FROM x\nHEALTHCHECK FOO x\n",
		   "dockerfile parse error line 2: Unknown type \"FOO\" in HEALTHCHECK (try CMD)");
	plan_fails("FROM x\nRUN <<EOF\necho hi\nEOF\n",
		   "dockerfile parse error line 2: heredocs (<<EOF) are not supported by the classic builder of docker 20.10");
	plan_fails("FROM x\nCOPY <<-\"EOF\" /x\n",
		   "dockerfile parse error line 2: heredocs (<<EOF) are not supported by the classic builder of docker 20.10");
	plan_fails("# escape=x\nFROM x\n", "failed to parse Dockerfile: invalid ESCAPE 'x'. Must be ` or \\");
	return tap_done();
}
