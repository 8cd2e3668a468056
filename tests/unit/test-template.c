/* Go text/template subset + docker formatter. */
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "format/template.h"
#include "tap.h"
#include "util/alloc.h"
#include "util/cleanup.h"

static json_t *data;

static const char data_json[] =
	"{\"Id\":\"sha256:156c48630dd2\",\"RepoTags\":[\"seed-image:latest\",\"b:1\"],"
	"\"Size\":1982359,\"Os\":\"linux\",\"Ratio\":1.5,\"Big\":1e21,\"Flag\":true,"
	"\"Nothing\":null,\"Empty\":\"\",\"A\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,"
	"18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40],"
	"\"Config\":{\"Env\":[\"PATH=/usr/bin\",\"APP_MODE=prod\"],"
	"\"Cmd\":[\"/bin/sh\",\"/startService.sh\"],\"Entrypoint\":null,\"OnBuild\":null,"
	"\"Labels\":{\"maintainer\":\"ref@example.com\",\"name\":\"seed-image\"},"
	"\"Volumes\":null,\"WorkingDir\":\"/app\",\"Tag\":\"<x>&y\"}}";

static void run(const char *tmpl_in, unsigned flags, const char *want, const char *want_err)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	_cleanup_free_ char *name = xstrdup(tmpl_in);
	const char *tmpl = tmpl_in;
	_cleanup_error_ struct strata_error *err = NULL;
	struct template *t = NULL;
	int rc;

	for (char *c = name; *c; c++) /* keep TAP lines on one line */
		if (*c == '\n')
			*c = ' ';
	rc = template_parse(tmpl, &t, &err);
	if (rc == 0)
		rc = template_execute(t, data, flags, &out, &err);
	template_free(t);
	if (want_err) {
		ok(rc < 0, "error for %s", name);
		if (want_err[0] == '*') /* substring match */
			ok(err && strstr(err->msg, want_err + 1), "message for %s: %s", name,
			   err ? err->msg : "");
		else
			is_str(err ? err->msg : NULL, want_err, "message for %s", name);
	} else {
		ok(rc == 0, "ok %s%s%s", name, err ? ": " : "", err ? err->msg : "");
		is_str(out.buf, want, "output of %s", name);
	}
}

#define T(tmpl, want) run(tmpl, 0, want, NULL)
#define E(tmpl, msg) run(tmpl, 0, NULL, msg)

static char *read_file(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	return strbuf_detach(&sb, NULL);
}

static void render_is(const char *format, const char *header, const char *rows,
		      const char *want, const char *want_err, const char *name)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	_cleanup_error_ struct strata_error *err = NULL;
	json_t *h = header ? json_loads(header, JSON_DECODE_ANY, NULL) : NULL;
	json_t *r = json_loads(rows, 0, NULL);
	int rc;

	strbuf_addstr(&out, "");
	rc = format_render(&out, format, NULL, h, r, &err);
	if (want_err) {
		ok(rc < 0, "%s fails", name);
		is_str(err ? err->msg : NULL, want_err, "%s message", name);
		is_str(out.buf, "", "%s leaves no output", name);
	} else {
		ok(rc == 0, "%s renders%s%s", name, err ? ": " : "", err ? err->msg : "");
		is_str(out.buf, want, "%s output", name);
	}
	json_decref(h);
	json_decref(r);
}

/* a reference output captured from docker 20.10 (tests/fixtures/docker-20.10) */
static char *read_reference(const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/docker-20.10/outputs/20.10/%s", fixtures_dir(), name);
	char *text = read_file(path);

	ok(text != NULL, "reference output %s readable", path);
	return text;
}

int main(void)
{
	data = json_loads(data_json, 0, NULL);
	ok(data != NULL, "test data parses");

	/* fields and printing */
	T("{{.Os}}", "linux");
	T("plain text", "plain text");
	T("", "");
	T("{{.Config.WorkingDir}}", "/app");
	T("{{.Size}}", "1982359");
	T("{{.RepoTags}}", "[seed-image:latest b:1]");
	T("{{.Config.Labels}}", "map[maintainer:ref@example.com name:seed-image]");
	T("{{.Config.Env}}", "[PATH=/usr/bin APP_MODE=prod]");
	T("{{.Config.Entrypoint}} {{.Config.OnBuild}} {{.Config.Volumes}}", "[] [] map[]");
	T("{{.Nothing}}", "<nil>");
	T("{{.Missing}}", "<no value>");
	T("{{.Missing.Deeper}}", "<no value>");
	T("{{.Config.Labels.nope}}", "<no value>");
	T("{{.Config.Volumes.x}}", "<no value>");
	T("{{.Flag}} {{.Ratio}} {{.Big}}", "true 1.5 1e+21");
	T("{{.}}", "map[A:[1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 "
		   "26 27 28 29 30 31 32 33 34 35 36 37 38 39 40] Big:1e+21 Config:map[Cmd:[/bin/sh "
		   "/startService.sh] Entrypoint:[] Env:[PATH=/usr/bin APP_MODE=prod] "
		   "Labels:map[maintainer:ref@example.com name:seed-image] OnBuild:[] Tag:<x>&y "
		   "Volumes:map[] WorkingDir:/app] Empty: Flag:true Id:sha256:156c48630dd2 "
		   "Nothing:<nil> Os:linux Ratio:1.5 RepoTags:[seed-image:latest b:1] Size:1982359]");
	T("{{$.Os}}", "linux");
	T("{{(.Config).WorkingDir}}", "/app");
	T("{{(index .RepoTags 0)}}", "seed-image:latest");

	/* json (no HTML escaping, like docker's encoder) */
	T("{{json .Config.Labels}}", "{\"maintainer\":\"ref@example.com\",\"name\":\"seed-image\"}");
	T("{{json .Config.Tag}}", "\"\\u003cx\\u003e\\u0026y\"");
	T("{{json .Config.Entrypoint}} {{json .Missing}}", "null null");
	T("{{.Config.Cmd | json}}", "[\"/bin/sh\",\"/startService.sh\"]");
	T("{{json .Size}} {{json .Flag}}", "1982359 true");
	T("{{json \"a\\\\u003cb\"}}", "\"a\\\\u003cb\"");

	/* index / len / slice */
	T("{{index .RepoTags 1}}", "b:1");
	T("{{index .Config.Labels \"name\"}}", "seed-image");
	T("{{index .Config.Labels \"zzz\"}}|", "|");
	T("{{index .Config.Volumes \"x\"}}|", "|");
	T("{{index . \"Config\" \"Env\" 1}}", "APP_MODE=prod");
	T("{{index .Os 0}}", "108");
	T("{{len .RepoTags}} {{len .Config.Entrypoint}} {{len .Config.Labels}} {{len .Os}}",
	  "2 0 2 5");
	T("{{slice .Os 1 3}} {{slice .RepoTags 1}}", "in [b:1]");

	/* control structures and variables */
	T("{{range .RepoTags}}[{{.}}]{{end}}", "[seed-image:latest][b:1]");
	T("{{range $i, $e := .RepoTags}}{{$i}}={{$e}} {{end}}", "0=seed-image:latest 1=b:1 ");
	T("{{range $e := .RepoTags}}{{$e}};{{end}}", "seed-image:latest;b:1;");
	T("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}",
	  "maintainer=ref@example.com;name=seed-image;");
	T("{{range .Config.Entrypoint}}x{{else}}none{{end}}", "none");
	T("{{range .Missing}}x{{else}}none{{end}}", "none");
	T("{{range .RepoTags}}{{if eq . \"b:1\"}}{{break}}{{end}}{{.}};{{end}}",
	  "seed-image:latest;");
	T("{{range .RepoTags}}{{if eq . \"seed-image:latest\"}}{{continue}}{{end}}{{.}};{{end}}",
	  "b:1;");
	T("{{if .Flag}}yes{{else}}no{{end}}", "yes");
	T("{{if .Empty}}a{{else if .Os}}b{{else}}c{{end}}", "b");
	T("{{if .Empty}}a{{else if .Missing}}b{{else}}c{{end}}", "c");
	T("{{if .Config.Entrypoint}}a{{else}}b{{end}}", "b");
	T("{{with .Config}}{{.WorkingDir}}{{end}}", "/app");
	T("{{with .Missing}}x{{else}}y{{end}}", "y");
	T("{{with $x := .Os}}{{$x}}{{.}}{{end}}", "linuxlinux");
	T("{{$x := .Os}}{{$x}} {{$.Os}}", "linux linux");
	T("{{$x := 1}}{{range .RepoTags}}{{$x = 2}}{{end}}{{$x}}", "2");
	T("{{range .RepoTags}}{{$y := .}}{{end}}ok", "ok");

	/* functions */
	T("{{join .RepoTags \",\"}}", "seed-image:latest,b:1");
	T("{{join .Config.Entrypoint \",\"}}|", "|");
	T("{{split \"a,b,c\" \",\"}} {{len (split \"a,b\" \",\")}} {{split \"ab\" \"\"}}",
	  "[a b c] 2 [a b]");
	T("{{upper .Os}} {{lower \"ABC\"}} {{title \"hello world-x\"}}", "LINUX abc Hello World-X");
	T("{{truncate .Os 3}} {{truncate .Os 10}}", "lin linux");
	T("[{{pad .Os 2 1}}][{{pad .Empty 2 1}}]", "[  linux ][]");
	T("{{.Os | upper | printf \"%s!\"}}", "LINUX!");
	T("{{print \"a\" 1 2 \"b\"}}", "a1 2b");
	T("{{print .Missing}}", "<nil>");
	T("{{println 1 \"x\"}}", "1 x\n");
	T("{{printf \"%s-%d-%v-%q\" .Os .Size .Flag .Os}}", "linux-1982359-true-\"linux\"");
	T("{{printf \"%5s|%-5s|%05d|%x|%X|%o|%c\" \"ab\" \"cd\" 42 255 255 8 65}}",
	  "   ab|cd   |00042|ff|FF|10|A");
	T("{{printf \"%d\" .Os}}", "%!d(string=linux)");
	T("{{printf \"%s %s\" \"a\"}}", "a %!s(MISSING)");
	T("{{printf \"x\" 1}}", "x%!(EXTRA int=1)");
	T("{{printf \"%v|%s|%q\" .RepoTags .RepoTags .RepoTags}}",
	  "[seed-image:latest b:1]|[seed-image:latest b:1]|[\"seed-image:latest\" \"b:1\"]");
	T("{{printf \"%.2f %v %g %e\" .Ratio .Ratio 0.000012 1234.5}}",
	  "1.50 1.5 1.2e-05 1.234500e+03");
	T("{{printf \"%t %v %%\" .Flag .Nothing}}", "true <nil> %");
	T("{{printf \"%q\" \"tab\\there\\u00e9\"}}", "\"tab\\there\u00e9\"");
	T("{{printf \"%.3s|%6.2f|%+d\" \"abcdef\" 3.14159 5}}", "abc|  3.14|+5");
	T("{{eq .Os \"linux\"}} {{ne .Size 0}} {{lt 1 2}} {{ge \"b\" \"a\"}} {{le 2 2}} {{gt 1 2}}",
	  "true true true true true false");
	T("{{eq .Os \"a\" \"linux\"}} {{eq .Missing \"x\"}} {{eq .Nothing nil}}", "true false true");
	T("{{and 1 0 2}} {{or 0 \"\" \"x\"}} {{not .Flag}} {{and .Flag .Os}} {{or .Empty}}|",
	  "0 x false linux |");
	T("{{if and .Flag (eq .Os \"linux\")}}both{{end}}", "both");

	/* literals */
	T("{{\"a\\tb\\u00e9\\x41\\101\"}}", "a\tb\u00e9AA");
	T("{{`x\\n`}}", "x\\n");
	T("{{'a'}} {{'\\n'}} {{0x10}} {{0o17}} {{017}} {{0b101}} {{1_000}}", "97 10 16 15 15 5 1000");
	T("{{1.5}} {{-3}} {{+4}} {{1e3}} {{.5}} {{1.0}}", "1.5 -3 4 1000 0.5 1");
	T("{{true}} {{false}}", "true false");

	/* whitespace trimming and comments */
	T("a {{- /* comment */ -}} b", "ab");
	T("a {{/* c\n multi-line */}} b", "a  b");
	T("a  \n{{- .Os}}", "alinux");
	T("{{.Os -}}  \n x", "linuxx");
	T("{{- .Os -}}", "linux");
	T("{{.Os}}{{-3}}", "linux-3");
	T("{{ .Os }}", "linux");
	T("{{.Os\n}}", "linux");

	/* docker table formats as text (no tabwriter) */
	T("{{.Os}}\t{{.Size}}", "linux\t1982359");

	/* parse errors */
	E("{{.Os", "template: :1: unclosed action");
	E("{{foo .Os}}", "template: :1: function \"foo\" not defined");
	E("{{if .Os}}x", "template: :1: unexpected EOF");
	E("{{end}}", "template: :1: unexpected {{end}}");
	E("{{else}}", "template: :1: unexpected {{else}}");
	E("{{$x}}", "template: :1: undefined variable \"$x\"");
	E("{{.Os | 3}}", "template: :1: non executable command in pipeline stage 2");
	E("{{}}", "template: :1: missing value for command");
	E("{{break}}", "template: :1: {{break}} outside {{range}}");
	E("{{\"abc}}", "template: :1: unterminated quoted string");
	E("{{.Os #}}", "template: :1: unexpected \"#\" in operand");
	E("{{(.Os}}", "template: :1: unclosed left paren");
	E("{{.Os)}}", "template: :1: unexpected right paren");
	E("{{/* x }}", "template: :1: unclosed comment");
	E("{{/* x */ .Os}}", "template: :1: comment ends before closing delimiter");
	E("{{3x}}", "template: :1: bad number syntax: \"3x\"");
	E("{{\"\\q\"}}", "template: :1: invalid syntax");
	E("{{range $a, $b, $c := .X}}{{end}}", "template: :1: too many declarations in range");
	E("{{if 1}}{{else}}{{else}}{{end}}", "template: :1: expected end; found {{else}}");
	E("{{define \"x\"}}{{end}}", "template: :1: {{define}} is not supported");
	E("{{\"x\".Y}}", "template: :1: unexpected . after term \"\\\"x\\\"\"");
	E("line1\n{{.A}}\n{{.B", "template: :3: unclosed action");
	E("{{.Os \x01}}", "template: :1: unrecognized character in action: U+0001");
	E("{{.Os$}}", "template: :1: bad character U+0024 '$'");

	/* execution errors */
	E("{{index .RepoTags 5}}", "template: :1:2: executing \"\" at <index .RepoTags 5>: "
				   "error calling index: index out of range: 5");
	E("{{.Os.Foo}}",
	  "template: :1:5: executing \"\" at <.Os.Foo>: can't evaluate field Foo in type string");
	E("{{.Nothing.X}}", "template: :1:10: executing \"\" at <.Nothing.X>: nil pointer "
			    "evaluating interface {}.X");
	E("{{upper .Size}}", "template: :1:8: executing \"\" at <.Size>: wrong type for value; "
			     "expected string; got int");
	E("{{upper 3}}",
	  "template: :1:8: executing \"\" at <3>: expected string; found 3");
	E("{{upper .Missing}}", "template: :1:8: executing \"\" at <.Missing>: invalid value; "
				"expected string");
	E("{{range .Os}}{{end}}",
	  "template: :1:8: executing \"\" at <{{range .Os}}{{end}}>: range can't iterate over linux");
	E("{{range .Size}}x{{end}}", "template: :1:8: executing \"\" at <{{range .Size}}x{{en...>: "
				     "range can't iterate over 1982359");
	E("{{.Os 1}}", "template: :1:2: executing \"\" at <.Os>: Os is not a method but has arguments");
	E("{{nil}}", "template: :1:2: executing \"\" at <nil>: nil is not a command");
	E("{{len 3}}", "template: :1:2: executing \"\" at <len 3>: error calling len: len of type int");
	E("{{upper}}", "template: :1:2: executing \"\" at <upper>: wrong number of args for upper: "
		       "want 1 got 0");
	E("{{lt .Os 1}}", "template: :1:2: executing \"\" at <lt .Os 1>: error calling lt: "
			  "incompatible types for comparison");
	E("{{\"x\" | .Os}}", "template: :1:8: executing \"\" at <.Os>: Os is not a method but has "
			     "arguments");
	E("{{3 4}}", "template: :1:2: executing \"\" at <3>: can't give argument to non-function 3");
	/* Go positions a field chain at its second field */
	E("{{join .Config.Labels \",\"}}", "template: :1:14: executing \"\" at <.Config.Labels>: "
					   "wrong type for value; expected []string; got "
					   "map[string]interface {}");
	E("{{truncate .Os -1}}", "template: :1:2: executing \"\" at <truncate .Os -1>: error "
				 "calling truncate: runtime error: slice bounds out of range [:-1]");
	E("x\n  {{.Os.Foo.Bar.Baz.Qux.Quux}}",
	  "template: :2:7: executing \"\" at <.Os.Foo.Bar.Baz.Qux....>: can't evaluate field Foo "
	  "in type string");
	run("{{.Missing}}", TEMPLATE_MISSINGKEY_ERROR, NULL,
	    "template: :1:2: executing \"\" at <.Missing>: map has no entry for key \"Missing\"");
	run("{{.Os}}", TEMPLATE_MISSINGKEY_ERROR, "linux", NULL);
	run("{{upper .Os}} {{json .Os}} {{join .Os \",\"}} {{truncate .Os 1}} {{pad .Os 1 1}}",
	    TEMPLATE_HEADER_FUNCS, "linux linux linux linux  linux ", NULL);

	/* limits: hostile templates fail cleanly */
	{
		_cleanup_strbuf_ struct strbuf t = STRBUF_INIT;

		for (int i = 0; i < 200; i++)
			strbuf_addstr(&t, "{{if 1}}");
		run(t.buf, 0, NULL, "template: :1: max nesting depth 100 exceeded");
		strbuf_reset(&t);
		strbuf_addstr(&t, "{{");
		for (int i = 0; i < 200; i++)
			strbuf_addch(&t, '(');
		strbuf_addch(&t, '1');
		for (int i = 0; i < 200; i++)
			strbuf_addch(&t, ')');
		strbuf_addstr(&t, "}}");
		run(t.buf, 0, NULL, "template: :1: max nesting depth 100 exceeded");
	}
	run("{{range .A}}{{range $.A}}{{range $.A}}{{pad \"x\" 100000 0}}{{end}}{{end}}{{end}}", 0,
	    NULL,
	    "template: :1:40: executing \"\" at <{{pad \"x\" 100000 0}}>: output exceeds 67108864 "
	    "bytes");
	run("{{range .A}}{{range $.A}}{{range $.A}}{{range $.A}}{{range $.A}}{{end}}{{end}}{{end}}"
	    "{{end}}{{end}}",
	    0, NULL, "*: execution exceeds 10000000 steps");
	{
		_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
		_cleanup_error_ struct strata_error *err = NULL;
		struct template *t = NULL;

		strbuf_addstr(&out, "keep");
		ok(template_parse("abc{{.Os.X}}", &t, &err) == 0, "parse for partial output");
		ok(template_execute(t, data, 0, &out, &err) < 0, "execution fails");
		is_str(out.buf, "keep", "failed execution leaves out untouched");
		template_free(t);
	}

	/* docker formatter */
	{
		_cleanup_free_ char *p = format_prepare("table {{.Repository}}\\t{{.Tag}}\\n  ");

		is_str(p, "{{.Repository}}\t{{.Tag}}\n", "format_prepare");
		ok(format_is_table("table {{.ID}}") && !format_is_table("{{.ID}} table"),
		   "format_is_table");
	}
	{
		static const char images_hdr[] =
			"{\"Repository\":\"REPOSITORY\",\"Tag\":\"TAG\",\"ID\":\"IMAGE ID\","
			"\"CreatedSince\":\"CREATED\",\"Size\":\"SIZE\",\"Digest\":\"DIGEST\"}";
		static const char images_rows[] =
			"[{\"Repository\":\"127.0.0.1:5000/other/seed-copy\",\"Tag\":\"v1\","
			"\"ID\":\"156c48630dd2\",\"CreatedSince\":\"5 minutes ago\",\"Size\":\"1.98MB\"},"
			"{\"Repository\":\"127.0.0.1:5000/ref/seed-image\",\"Tag\":\"v1\","
			"\"ID\":\"156c48630dd2\",\"CreatedSince\":\"5 minutes ago\",\"Size\":\"1.98MB\"},"
			"{\"Repository\":\"127.0.0.1:5001/ref/seed-image\",\"Tag\":\"v1\","
			"\"ID\":\"156c48630dd2\",\"CreatedSince\":\"5 minutes ago\",\"Size\":\"1.98MB\"},"
			"{\"Repository\":\"seed-image\",\"Tag\":\"latest\",\"ID\":\"156c48630dd2\","
			"\"CreatedSince\":\"5 minutes ago\",\"Size\":\"1.98MB\"},"
			"{\"Repository\":\"busybox\",\"Tag\":\"local\",\"ID\":\"94920a9d8847\","
			"\"CreatedSince\":\"5 minutes ago\",\"Size\":\"1.98MB\"}]";
		static const char images_txt[] =
			"REPOSITORY                       TAG       IMAGE ID       CREATED         SIZE\n"
			"127.0.0.1:5000/other/seed-copy   v1        156c48630dd2   5 minutes ago   1.98MB\n"
			"127.0.0.1:5000/ref/seed-image    v1        156c48630dd2   5 minutes ago   1.98MB\n"
			"127.0.0.1:5001/ref/seed-image    v1        156c48630dd2   5 minutes ago   1.98MB\n"
			"seed-image                       latest    156c48630dd2   5 minutes ago   1.98MB\n"
			"busybox                          local     94920a9d8847   5 minutes ago   1.98MB\n";
		const char *fmt = "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t"
				  "{{.Size}}";
		_cleanup_free_ char *ref = read_reference("images.txt");

		render_is(fmt, images_hdr, images_rows, images_txt, NULL, "docker images table");
		if (ref)
			is_str(images_txt, ref, "inline copy equals the reference images.txt");
		/* the same format given on the command line with real tabs */
		render_is("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}",
			  images_hdr, images_rows, images_txt, NULL, "real tabs");
		render_is("table {{.ID}}", images_hdr, "[]", "IMAGE ID\n", NULL, "no rows: header");
		render_is("{{.ID}}", images_hdr, images_rows,
			  "156c48630dd2\n156c48630dd2\n156c48630dd2\n156c48630dd2\n94920a9d8847\n",
			  NULL, "-q style (no table)");
		render_is("{{.Repository}}\\t{{.Tag}}", images_hdr,
			  "[{\"Repository\":\"busybox\",\"Tag\":\"local\"}]", "busybox\tlocal\n", NULL,
			  "non-table keeps tabs raw");
		render_is("table {{upper .Repository}}\\t{{json .Tag}}\\t{{pad .ID 1 1}}", images_hdr,
			  "[{\"Repository\":\"busybox\",\"Tag\":\"local\",\"ID\":\"94920a9d8847\"}]",
			  "REPOSITORY   TAG        IMAGE ID \nBUSYBOX      \"local\"    94920a9d8847 \n",
			  NULL, "header functions");
		render_is("table {{.Repository}}\\t{{.Nope}}", images_hdr,
			  "[{\"Repository\":\"busybox\"}]",
			  "REPOSITORY   <no value>\nbusybox      <no value>\n", NULL,
			  "unknown header field");
		render_is("{{.ID", images_hdr, images_rows, NULL,
			  "template parsing error: template: :1: unclosed action", "parse error");
		render_is("{{index .ID 99}}", images_hdr, images_rows, NULL,
			  "template parsing error: template: :1:2: executing \"\" at <index .ID 99>: "
			  "error calling index: index out of range: 99",
			  "execution error");
	}
	{
		/* docker history, with the empty trailing COMMENT cells */
		static const char hdr[] = "{\"ID\":\"IMAGE\",\"CreatedSince\":\"CREATED\","
					  "\"CreatedBy\":\"CREATED BY\",\"Size\":\"SIZE\","
					  "\"Comment\":\"COMMENT\"}";
		static const char rows[] =
			"[{\"ID\":\"156c48630dd2\",\"CreatedSince\":\"5 minutes ago\","
			"\"CreatedBy\":\"/bin/sh -c #(nop)  CMD [\\\"/bin/sh\\\" \\\"/startSer\u2026\","
			"\"Size\":\"0B\",\"Comment\":\"\"},"
			"{\"ID\":\"02cab8581df1\",\"CreatedSince\":\"5 minutes ago\","
			"\"CreatedBy\":\"/bin/sh -c #(nop) WORKDIR /app\",\"Size\":\"0B\",\"Comment\":\"\"},"
			"{\"ID\":\"4ed80bfee9b9\",\"CreatedSince\":\"5 minutes ago\","
			"\"CreatedBy\":\"/bin/sh -c #(nop)  ENV APP_MODE=prod\",\"Size\":\"0B\","
			"\"Comment\":\"\"},"
			"{\"ID\":\"185864a60ba5\",\"CreatedSince\":\"5 minutes ago\","
			"\"CreatedBy\":\"/bin/sh -c #(nop) COPY file:9b3e4208e5872a2b\u2026\","
			"\"Size\":\"23B\",\"Comment\":\"\"},"
			"{\"ID\":\"bebbbd504696\",\"CreatedSince\":\"5 minutes ago\","
			"\"CreatedBy\":\"/bin/sh -c rm /opt/a/bye.txt\",\"Size\":\"0B\",\"Comment\":\"\"},"
			"{\"ID\":\"7946e81df847\",\"CreatedSince\":\"5 minutes ago\","
			"\"CreatedBy\":\"/bin/sh -c mkdir -p /opt/a && echo hello > /\u2026\","
			"\"Size\":\"10B\",\"Comment\":\"\"},"
			"{\"ID\":\"8c320b1abdbe\",\"CreatedSince\":\"5 minutes ago\","
			"\"CreatedBy\":\"/bin/sh -c #(nop)  LABEL name=seed-image mai\u2026\","
			"\"Size\":\"0B\",\"Comment\":\"\"},"
			"{\"ID\":\"94920a9d8847\",\"CreatedSince\":\"5 minutes ago\",\"CreatedBy\":\"\","
			"\"Size\":\"1.98MB\",\"Comment\":\"Imported from -\"}]";
		_cleanup_free_ char *ref = read_reference("history.txt");

		if (ref)
			render_is("table {{.ID}}\\t{{.CreatedSince}}\\t{{.CreatedBy}}\\t{{.Size}}\\t"
				  "{{.Comment}}",
				  hdr, rows, ref, NULL, "docker history table = the reference history.txt");
	}
	{
		/* docker version's template is named "version": the name shows in both kinds of error */
		_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
		_cleanup_error_ struct strata_error *e1 = NULL, *e2 = NULL;
		struct template *t = NULL;

		ok(template_parse_named("version", "{{", &t, &e1) < 0 && e1 &&
			   !strcmp(e1->msg, "template: version:1: unclosed action"),
		   "named template: parse error names it (%s)", e1 ? e1->msg : "no error");
		ok(template_parse_named("version", "{{.Client.Nope}}", &t, &e2) == 0,
		   "named template parses");
		ok(t && template_execute_typed(t, data, "system.versionInfo", 0, &out, &e2) < 0 && e2 &&
			   !strcmp(e2->msg, "template: version:1:9: executing \"version\" at <.Client.Nope>: "
					    "can't evaluate field Client in type system.versionInfo"),
		   "named template: execution error names it (%s)", e2 ? e2->msg : "no error");
		template_free(t);
	}
	{
		/* nested Go structs: a missing field of one fails, a missing map key does not */
		static const struct template_type cfg = { "*container.Config", NULL };
		static const struct template_field fields[] = { { "Config", &cfg }, { NULL } };
		static const struct template_type top = { "types.ImageInspect", fields };
		static const struct {
			const char *tmpl, *want, *want_err;
		} cases[] = {
			{ "{{.Config.WorkingDir}}", "/app", NULL },
			{ "{{.Config.Labels.Bad}}", "<no value>", NULL },
			{ "{{.Config.Nope}}", NULL,
			  "template: :1:9: executing \"\" at <.Config.Nope>: can't evaluate field Nope "
			  "in type *container.Config" },
			{ "{{.Nope}}", NULL,
			  "template: :1:2: executing \"\" at <.Nope>: can't evaluate field Nope in type "
			  "types.ImageInspect" },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
			_cleanup_error_ struct strata_error *e = NULL;
			struct template *t = NULL;
			int rc = template_parse(cases[i].tmpl, &t, &e);

			if (!rc)
				rc = template_execute_struct(t, data, &top, 0, &out, &e);
			template_free(t);
			if (cases[i].want_err)
				ok(rc < 0 && !strcmp(e->msg, cases[i].want_err), "struct %s: %s",
				   cases[i].tmpl, e ? e->msg : out.buf);
			else
				ok(rc == 0 && !strcmp(out.buf, cases[i].want), "struct %s = %s",
				   cases[i].tmpl, rc ? e->msg : out.buf);
		}
	}
	json_decref(data);
	return tap_done();
}
