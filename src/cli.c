#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "util/fs.h"
#include "format/units.h"
#include "strata/image.h"
#include "strata/store.h"
#include "util/alloc.h"
#include "util/cleanup.h"

int cli_open_store_flags(struct cli_ctx *ctx, unsigned flags, struct strata_store **out,
			 struct strata_error **err)
{
	int ret = strata_store_open(ctx->data_root, ctx->storage_driver, flags, out, err);

	if (ret >= 0 && ctx->fixed_time)
		strata_store_set_time(*out, ctx->source_date_epoch);
	return ret;
}

int cli_open_store(struct cli_ctx *ctx, bool write, struct strata_store **out,
		   struct strata_error **err)
{
	return cli_open_store_flags(ctx, write ? STRATA_STORE_WRITE : 0, out, err);
}

int cli_open_images(struct cli_ctx *ctx, bool write, struct strata_store **store,
		    struct strata_image_index **idx)
{
	struct strata_error *err = NULL;

	if (cli_open_store(ctx, write, store, &err) < 0)
		return cli_fail(err);
	if (strata_image_index_load(*store, idx, &err) < 0) {
		strata_store_free(*store);
		*store = NULL;
		return cli_fail(err);
	}
	return 0;
}

void cli_put_escaped(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		/* Newline and tab keep multi-line messages readable; every other
		 * control byte could retitle or recolour the terminal. */
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			putc(*p, f);
	}
}

static int fail_with(const char *prefix, struct strata_error *err)
{
	fputs(prefix, stderr);
	cli_put_escaped(stderr, err ? err->msg : "unknown error");
	putc('\n', stderr);
	strata_error_free(err);
	return 1;
}

int cli_fail(struct strata_error *err)
{
	return fail_with("Error: ", err);
}

int cli_fail_bare(struct strata_error *err)
{
	return fail_with("", err);
}

int cli_fail_daemon(struct strata_error *err)
{
	return fail_with("Error response from daemon: ", err);
}

void cli_progress_init(struct cli_progress *pr, bool quiet)
{
	struct winsize ws;

	memset(pr, 0, sizeof(*pr));
	pr->quiet = quiet;
	pr->tty = isatty(STDOUT_FILENO);
	pr->width = 200;
	/* as docker: the terminal's width even when it reports 0 (no bar then) */
	if (pr->tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		pr->width = ws.ws_col;
}

static void forget_lines(struct cli_progress *pr)
{
	for (size_t i = 0; i < pr->nr; i++)
		free(pr->lines[i].id);
	pr->nr = 0;
}

void cli_progress_release(struct cli_progress *pr)
{
	forget_lines(pr);
	free(pr->lines);
	pr->lines = NULL;
	pr->alloc = 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Go's time.Duration.String() of whole seconds: "0s", "45s", "1m30s", "2h0m5s". */
static void go_seconds(struct strbuf *out, int64_t s)
{
	if (s >= 3600)
		strbuf_addf(out, "%" PRId64 "h%" PRId64 "m%" PRId64 "s", s / 3600, s / 60 % 60, s % 60);
	else if (s >= 60)
		strbuf_addf(out, "%" PRId64 "m%" PRId64 "s", s / 60, s % 60);
	else
		strbuf_addf(out, "%" PRId64 "s", s);
}

void cli_progress_string(struct strbuf *out, int width, int64_t current, int64_t total,
			 int64_t elapsed_ns)
{
	_cleanup_strbuf_ struct strbuf cur = STRBUF_INIT;
	_cleanup_strbuf_ struct strbuf tot = STRBUF_INIT;
	int pct;

	if (current <= 0 && total <= 0)
		return;
	units_human_size_prec(&cur, (double)current, 4);
	if (total <= 0) {
		strbuf_addf(out, "%8s", cur.buf);
		return;
	}
	pct = (int)((double)current / (double)total * 100) / 2;
	if (pct > 50)
		pct = 50;
	if (width > 110) {
		strbuf_addch(out, '[');
		for (int i = 0; i < pct; i++)
			strbuf_addch(out, '=');
		strbuf_addch(out, '>');
		for (int i = pct; i < 50; i++)
			strbuf_addch(out, ' ');
		strbuf_addstr(out, "] ");
	}
	units_human_size_prec(&tot, (double)total, 4);
	if (current > total)
		strbuf_addf(out, "%8s", cur.buf);
	else
		strbuf_addf(out, "%8s/%s", cur.buf, tot.buf);
	if (current > 0 && elapsed_ns > 0 && pct < 50 && width > 50) {
		/* docker: elapsed / current per byte, times what is left, in whole seconds */
		int64_t per = elapsed_ns / current;
		int64_t left = (total - current) * per / 1000000000LL;

		strbuf_addch(out, ' ');
		go_seconds(out, left);
	}
}

/* The line of id in the block, added (one new terminal line) when new. */
static size_t line_of(struct cli_progress *pr, const char *id)
{
	for (size_t i = 0; i < pr->nr; i++)
		if (!strcmp(pr->lines[i].id, id))
			return i;
	ALLOC_GROW(pr->lines, pr->nr + 1, pr->alloc);
	pr->lines[pr->nr].id = xstrdup(id);
	pr->lines[pr->nr].start = 0;
	putchar('\n');
	return pr->nr++;
}

/* Rewrite id's line: up to it, clear, "id: status progress", back down. */
static void draw(struct cli_progress *pr, size_t line, const char *status, const char *progress)
{
	size_t up = pr->nr - line;

	printf("\x1b[%zuA\x1b[2K\r", up);
	cli_put_escaped(stdout, pr->lines[line].id);
	fputs(": ", stdout);
	cli_put_escaped(stdout, status);
	printf(" %s\r\x1b[%zuB", progress, up);
	fflush(stdout);
}

void cli_print_progress(void *cookie, const char *id, const char *status)
{
	struct cli_progress *pr = cookie;

	/* the default tag is the docker client's own line, before its request */
	if (id || strcmp(status, "Using default tag: latest"))
		pr->streamed = true;
	if (pr->quiet)
		return;
	/* docker's per-layer updates; "TAG: Pulling from REPO" is a message of its own */
	if (pr->tty && id && strncmp(status, "Pulling from ", 13)) {
		draw(pr, line_of(pr, id), status, "");
		return;
	}
	/* any other line ends the block of layer lines, as in docker */
	forget_lines(pr);
	if (id) {
		cli_put_escaped(stdout, id);
		fputs(": ", stdout);
	}
	cli_put_escaped(stdout, status);
	putc('\n', stdout);
	fflush(stdout);
}

void cli_print_progress_bytes(void *cookie, const char *id, const char *action, int64_t current,
			      int64_t total)
{
	struct cli_progress *pr = cookie;
	_cleanup_strbuf_ struct strbuf bar = STRBUF_INIT;
	size_t line;

	/* docker leaves byte progress out of a log that is no terminal */
	if (pr->quiet || !pr->tty)
		return;
	line = line_of(pr, id);
	if (!pr->lines[line].start)
		pr->lines[line].start = now_ns();
	cli_progress_string(&bar, pr->width, current, total, now_ns() - pr->lines[line].start);
	draw(pr, line, action, bar.buf);
}

json_t *cli_table_header(const char *const (*titles)[2], size_t n)
{
	json_t *h = json_object();

	for (size_t i = 0; i < n; i++)
		json_object_set_new(h, titles[i][0], json_string(titles[i][1]));
	return h;
}

void cli_created_since(struct strbuf *out, int64_t created)
{
	units_human_duration(out, ((int64_t)time(NULL) - created) * 1000000000LL);
	strbuf_addstr(out, " ago");
}

int cli_dispatch(const char *group, const char *what, const struct cli_subcommand *subs, size_t nr, int argc,
		 char **argv, struct cli_ctx *ctx)
{
	if (argc < 2 || !strcmp(argv[1], "--help")) {
		printf("\nUsage:  strata %s COMMAND\n\n%s\n\nCommands:\n", group, what);
		for (size_t i = 0; i < nr; i++)
			if (subs[i].desc)
				printf("  %-11s %s\n", subs[i].name, subs[i].desc);
		printf("\nRun 'strata %s COMMAND --help' for more information on a command.\n", group);
		return argc < 2 ? 1 : 0;
	}
	for (size_t i = 0; i < nr; i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(argc - 1, argv + 1, ctx);
	fprintf(stderr, "strata: '%s ", group);
	cli_put_escaped(stderr, argv[1]);
	fprintf(stderr, "' is not a strata command.\nSee 'strata %s --help'\n", group);
	return 1;
}

const char *cli_errno_text(int e)
{
	static _Thread_local char buf[128];
	char *text = fs_errno_text(e);

	snprintf(buf, sizeof(buf), "%s", text);
	free(text);
	return buf;
}

const char *cli_go_arch(const char *machine)
{
	static const char *const names[][2] = {
		{ "x86_64", "amd64" }, { "aarch64", "arm64" }, { "i686", "386" },
		{ "i386", "386" },     { "armv7l", "arm" },    { "ppc64le", "ppc64le" },
		{ "s390x", "s390x" },  { "riscv64", "riscv64" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(machine, names[i][0]))
			return names[i][1];
	return machine;
}

void cli_add_deleted_container(void *cookie, const char *id)
{
	struct strbuf *out = cookie;

	if (!out->len)
		strbuf_addstr(out, "Deleted Containers:\n");
	strbuf_addf(out, "%s\n", id);
}

void cli_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}
