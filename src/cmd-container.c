/* Container commands as docker 20.10's: create, run, start, ps, logs, rm, diff, export, commit, container. */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "flags.h"
#include "format/template.h"
#include "format/units.h"
#include "strata/container.h"
#include "strata/image.h"
#include "strata/store.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/gotime.h"
#include "util/strbuf.h"

/* ---- create and run ---- */

struct run_flags {
	bool rm, detach, interactive, tty, read_only;
	const char *name, *workdir, *user, *entrypoint, *network, *hostname;
	bool entrypoint_set;
	struct flag_list env, env_file, volumes;
};

static void run_flags_release(struct run_flags *f)
{
	flag_list_release(&f->env);
	flag_list_release(&f->env_file);
	flag_list_release(&f->volumes);
}

/* docker's -e: "K" alone takes K from the environment when it is set */
static char *env_value(const char *kv)
{
	const char *v;

	if (strchr(kv, '=') || !(v = getenv(kv)))
		return xstrdup(kv);
	return xasprintf("%s=%s", kv, v);
}

/* docker's --env-file: K=V lines, "K" from the environment, # comments and blank lines skipped */
static int read_env_file(const char *path, struct flag_list *out)
{
	FILE *f = fopen(path, "r");
	char line[65536];

	if (!f) {
		fprintf(stderr, "strata: open %s: %s.\nSee 'strata run --help'.\n", path, cli_errno_text(errno));
		return 125;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;

		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strlen(p);
		while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
			*--end = '\0';
		if (!*p || *p == '#')
			continue;
		ALLOC_GROW(out->items, out->nr + 1, out->alloc);
		out->items[out->nr++] = env_value(p);
	}
	fclose(f);
	return 0;
}

/* docker's reportError: "strata: PREFIX MSG." with one final dot, and the help line when cmd is set. */
static void report_error(const char *cmd, const char *prefix, const char *msg)
{
	char *text = xstrdup(msg);
	size_t n = strlen(text);

	if (n && text[n - 1] == '.')
		text[n - 1] = '\0';
	fprintf(stderr, "strata: %s", prefix);
	cli_put_escaped(stderr, text);
	fputs(".\n", stderr);
	if (cmd)
		fprintf(stderr, "See 'strata %s --help'.\n", cmd);
	free(text);
}

static int run_error(const char *cmd, const char *msg)
{
	report_error(cmd, "", msg);
	return 125;
}

/* Build the options; *binds, *env are owned by the caller. */
static int make_options(const char *cmd, struct run_flags *f, char **args, int nargs,
			struct strata_container_options *o, struct strata_bind **binds, char ***env)
{
	size_t n = 0;

	for (size_t i = 0; i < f->env_file.nr; i++) {
		int ret = read_env_file(f->env_file.items[i], &f->env);

		if (ret)
			return ret;
	}
	*env = xcalloc(f->env.nr + 1, sizeof(**env));
	for (size_t i = 0; i < f->env.nr; i++)
		(*env)[i] = strchr(f->env.items[i], '=') ? xstrdup(f->env.items[i]) : env_value(f->env.items[i]);
	*binds = xcalloc(f->volumes.nr + 1, sizeof(**binds));
	for (size_t i = 0; i < f->volumes.nr; i++) {
		char *v = f->volumes.items[i], *c1 = strchr(v, ':'), *c2;

		if (!c1 || *v != '/')
			return run_error(cmd, "only -v HOST:CONTAINER[:ro] with an absolute host path is supported (no named volumes)");
		*c1 = '\0';
		c2 = strchr(c1 + 1, ':');
		if (c2) {
			*c2 = '\0';
			if (strcmp(c2 + 1, "ro") && strcmp(c2 + 1, "rw"))
				return run_error(cmd, "invalid mode for -v (ro or rw)");
		}
		if (c1[1] != '/')
			return run_error(cmd, "invalid volume specification: the container path must be absolute");
		(*binds)[n++] = (struct strata_bind){ v, c1 + 1, c2 && !strcmp(c2 + 1, "ro") };
	}
	*o = (struct strata_container_options){
		.cmd = (const char *const *)args + 1, .nr_cmd = (size_t)nargs - 1,
		.entrypoint = f->entrypoint_set ? (f->entrypoint ? f->entrypoint : "") : NULL,
		.env = (const char *const *)*env, .nr_env = f->env.nr,
		.workdir = f->workdir, .user = f->user, .hostname = f->hostname, .name = f->name,
		.network = f->network, .binds = *binds, .nr_binds = n,
		.read_only = f->read_only, .auto_remove = f->rm, .interactive = f->interactive,
		.tty = f->tty, .detach = f->detach,
	};
	return 0;
}

#define RUN_FLAGS(f)                                                                                          \
	{ "detach", 'd', FLAG_BOOL, &(f).detach, "Run container in background and print container ID" },    \
	{ "entrypoint", 0, FLAG_STRING, &(f).entrypoint, "Overwrite the default ENTRYPOINT of the image" },    \
	{ "env", 'e', FLAG_STRINGS, &(f).env, "Set environment variables" },                                   \
	{ "env-file", 0, FLAG_STRINGS, &(f).env_file, "Read in a file of environment variables" },             \
	{ "hostname", 'h', FLAG_STRING, &(f).hostname, "Container host name" },                                \
	{ "interactive", 'i', FLAG_BOOL, &(f).interactive, "Keep STDIN open even if not attached" },           \
	{ "name", 0, FLAG_STRING, &(f).name, "Assign a name to the container" },                               \
	{ "network", 0, FLAG_STRING, &(f).network, "Connect a container to a network (none or host)" },        \
	{ "read-only", 0, FLAG_BOOL, &(f).read_only, "Mount the container's root filesystem as read only" },   \
	{ "rm", 0, FLAG_BOOL, &(f).rm, "Automatically remove the container when it exits" },                   \
	{ "tty", 't', FLAG_BOOL, &(f).tty, "Allocate a pseudo-TTY" },                                          \
	{ "user", 'u', FLAG_STRING, &(f).user, "Username or UID (format: <name|uid>[:<group|gid>])" },         \
	{ "volume", 'v', FLAG_STRINGS, &(f).volumes, "Bind mount a volume" },                                  \
	{ "workdir", 'w', FLAG_STRING, &(f).workdir, "Working directory inside the container" }

/* The flag parser cannot tell --entrypoint "" from no --entrypoint: look at argv. */
static bool has_flag(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);

	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-')
			break; /* flags end at the image */
		if (!strncmp(argv[i], name, n) && (argv[i][n] == '\0' || argv[i][n] == '='))
			return true;
	}
	return false;
}

static int create_container(struct cli_ctx *ctx, const char *cmd, struct run_flags *f, char **args, int nargs,
			    struct strata_store **store, struct strata_container **c)
{
	struct strata_image_index *idx = NULL;
	struct strata_container_options o;
	struct strata_bind *binds = NULL;
	struct strata_error *err = NULL;
	char **env = NULL;
	int ret = make_options(cmd, f, args, nargs, &o, &binds, &env);

	if (!ret && (ret = cli_open_images(ctx, true, store, &idx)))
		ret = 125;
	if (!ret && strata_container_create(idx, args[0], &o, c, &err) < 0) {
		if (err->code == STRATA_ERR_NOT_FOUND)
			fprintf(stderr, "Unable to find image '%s' locally\n", args[0]);
		report_error(cmd, "Error response from daemon: ", err->msg);
		strata_error_free(err);
		ret = 125;
	}
	strata_image_index_free(idx);
	cli_strv_free(env);
	free(binds);
	return ret;
}

static const struct command_usage create_usage = {
	"create", "strata create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container", 1, -1, true,
};

int cmd_create(int argc, char **argv, struct cli_ctx *ctx)
{
	struct run_flags f = { 0 };
	const struct flag flags[] = { RUN_FLAGS(f), { 0 } };
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &create_usage, &args, &nargs);
	if (ret) {
		run_flags_release(&f);
		return ret < 0 ? 0 : ret;
	}
	f.entrypoint_set = has_flag(argc, argv, "--entrypoint");
	f.detach = false; /* create has no -d; it attaches stdout/stderr like docker create */
	ret = create_container(ctx, "create", &f, args, nargs, &store, &c);
	if (!ret)
		printf("%s\n", strata_container_id(c));
	strata_container_free(c);
	strata_store_free(store);
	run_flags_release(&f);
	free(args);
	return ret;
}

/* ---- the caller's terminal while attached to a container made with -t ---- */

/* what the signal handlers reach: the state stdin had before it was made raw, the SIGWINCH pipe */
static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;
static int winch_pipe[2] = { -1, -1 };

static void restore_terminal(void)
{
	if (termios_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
		termios_saved = 0;
	}
}

static void on_fatal_signal(int sig)
{
	restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_winch(int sig)
{
	int saved = errno;

	if (write(winch_pipe[1], "", 1) < 0) {
		/* a full pipe already says the size changed */
	}
	errno = saved;
}

static const int fatal_signals[] = { SIGTERM, SIGHUP, SIGQUIT };

/*
 * As docker's attach with a tty: stdin in raw mode while it is typed into
 * the container (so ^C and ^D reach its pty), SIGWINCH sending the new size
 * of stdout's terminal.  Undone by terminal_leave, or by the handler of a
 * signal that ends strata.
 */
static void terminal_enter(bool raw, struct strata_terminal *t)
{
	struct sigaction sa = { .sa_flags = SA_RESTART };

	t->size_fd = isatty(STDOUT_FILENO) ? STDOUT_FILENO : -1;
	t->winch_fd = -1;
	if (t->size_fd >= 0 && pipe2(winch_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
		sa.sa_handler = on_winch;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGWINCH, &sa, NULL);
		t->winch_fd = winch_pipe[0];
	}
	if (raw && tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
		struct termios rawt = saved_termios;

		sa.sa_handler = on_fatal_signal;
		for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(*fatal_signals); i++)
			sigaction(fatal_signals[i], &sa, NULL);
		cfmakeraw(&rawt); /* moby/term's MakeRaw clears the same flags */
		termios_saved = 1;
		tcsetattr(STDIN_FILENO, TCSANOW, &rawt);
	}
}

static void terminal_leave(void)
{
	restore_terminal();
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(*fatal_signals); i++)
		signal(fatal_signals[i], SIG_DFL);
	if (winch_pipe[0] >= 0) {
		signal(SIGWINCH, SIG_DFL);
		close(winch_pipe[0]);
		close(winch_pipe[1]);
		winch_pipe[0] = winch_pipe[1] = -1;
	}
}

/*
 * Run c in the foreground: 0 with *status the process's exit status, or -1
 * after printing the error (*status then 125, 126 or 127 as docker run's).
 */
static int start_foreground(struct strata_container *c, bool attach, bool interactive, const char *cmd,
			    int *status)
{
	struct strata_error *err = NULL;
	int ret;

	*status = 125;
	fflush(stdout);
	if (strata_container_tty(c)) {
		struct strata_terminal t;

		terminal_enter(interactive && strata_container_interactive(c) && isatty(STDIN_FILENO), &t);
		ret = strata_container_start_terminal(c, NULL, interactive ? STDIN_FILENO : -1,
						      attach ? STDOUT_FILENO : -1, &t, status, &err);
		terminal_leave();
	} else {
		ret = strata_container_start(c, NULL, interactive ? STDIN_FILENO : -1, attach ? STDOUT_FILENO : -1,
					     attach ? STDERR_FILENO : -1, status, &err);
	}
	if (ret < 0) {
		bool run = !strcmp(cmd, "run");

		if (run) {
			report_error(NULL, "Error response from daemon: ", err->msg);
		} else {
			fputs("Error response from daemon: ", stderr);
			cli_put_escaped(stderr, err->msg);
			fputs("\n", stderr);
		}
		strata_error_free(err);
		return -1;
	}
	return 0;
}

static const struct command_usage run_usage = {
	"run", "strata run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Run a command in a new container", 1, -1, true,
};

int cmd_run(int argc, char **argv, struct cli_ctx *ctx)
{
	struct run_flags f = { 0 };
	const struct flag flags[] = { RUN_FLAGS(f), { 0 } };
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &run_usage, &args, &nargs);
	if (ret) {
		run_flags_release(&f);
		return ret < 0 ? 0 : ret == 1 ? 125 : ret;
	}
	f.entrypoint_set = has_flag(argc, argv, "--entrypoint");
	/* docker's CheckTty, before anything is created: an attached stdin typed into a tty must be one */
	if (f.interactive && f.tty && !f.detach && !isatty(STDIN_FILENO)) {
		fputs("the input device is not a TTY\n", stderr);
		run_flags_release(&f);
		free(args);
		return 1;
	}
	ret = create_container(ctx, "run", &f, args, nargs, &store, &c);
	if (!ret && f.detach) {
		struct strata_error *err = NULL;
		int st = 125;

		if (strata_container_start_detached(c, NULL, &st, &err) < 0) {
			report_error(NULL, "Error response from daemon: ", err->msg);
			strata_error_free(err);
			ret = st == 126 || st == 127 ? st : 125;
		} else {
			printf("%s\n", strata_container_id(c));
		}
	} else if (!ret) {
		start_foreground(c, true, f.interactive, "run", &ret);
		if (f.rm) {
			struct strata_error *err = NULL;

			if (strata_container_remove(c, true, &err) < 0) {
				fputs("Error: ", stderr);
				cli_put_escaped(stderr, err->msg);
				fputc('\n', stderr);
				strata_error_free(err);
			}
		}
	}
	strata_container_free(c);
	strata_store_free(store);
	run_flags_release(&f);
	free(args);
	return ret;
}

static const struct command_usage start_usage = {
	"start", "strata start [OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", 1, -1,
};

int cmd_start(int argc, char **argv, struct cli_ctx *ctx)
{
	bool attach = false, interactive = false;
	const struct flag flags[] = {
		{ "attach", 'a', FLAG_BOOL, &attach, "Attach STDOUT/STDERR and forward signals" },
		{ "interactive", 'i', FLAG_BOOL, &interactive, "Attach container's STDIN" },
		{ 0 },
	};
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &start_usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	if ((attach || interactive) && nargs > 1) {
		fputs("Error: you cannot start and attach multiple containers at once\n", stderr);
		free(args);
		return 1;
	}
	if (cli_open_store(ctx, true, &store, &err) < 0) {
		free(args);
		return cli_fail(err);
	}
	for (int i = 0; i < nargs; i++) {
		struct strata_container_state state;
		struct strata_container *c = NULL;

		if (strata_container_open(store, args[i], &c, &err) < 0) {
			ret = cli_fail_daemon(err);
			err = NULL;
			continue;
		}
		strata_container_state(c, &state);
		if (attach || interactive) {
			int st;

			ret = start_foreground(c, true, interactive, "start", &st) < 0 ? (st == 125 ? 1 : st) : st;
		} else if (state.running) {
			printf("%s\n", args[i]); /* docker start of a running container does nothing */
		} else if (strata_container_start_detached(c, NULL, &(int){ 0 }, &err) < 0) {
			fputs("Error response from daemon: ", stderr);
			cli_put_escaped(stderr, err->msg);
			fprintf(stderr, "\nError: failed to start containers: %s\n", args[i]);
			strata_error_free(err);
			err = NULL;
			ret = 1;
		} else {
			printf("%s\n", args[i]);
		}
		strata_container_free(c);
	}
	strata_store_free(store);
	free(args);
	return ret;
}

/* ---- ps ---- */

static const struct command_usage ps_usage = {
	"ps", "strata ps [OPTIONS]", "List containers", 0, 0,
};

#define PS_TABLE "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

static const char *const ps_titles[][2] = {
	{ "Command", "COMMAND" }, { "CreatedAt", "CREATED AT" }, { "ID", "CONTAINER ID" }, { "Image", "IMAGE" },
	{ "Labels", "LABELS" }, { "LocalVolumes", "LOCAL VOLUMES" }, { "Mounts", "MOUNTS" }, { "Names", "NAMES" },
	{ "Networks", "NETWORKS" }, { "Ports", "PORTS" }, { "RunningFor", "CREATED" }, { "Size", "SIZE" },
	{ "State", "STATE" }, { "Status", "STATUS" },
};

/* docker's formatter.Ellipsis for ASCII and UTF-8 text: at most n characters, the last one '…' */
static void ellipsis(struct strbuf *out, const char *s, size_t n)
{
	size_t chars = 0, i;

	for (i = 0; s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	if (chars <= n) {
		strbuf_addstr(out, s);
		return;
	}
	chars = 0;
	for (i = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && ++chars == n)
			break;
	}
	strbuf_add(out, s, i);
	strbuf_addstr(out, "\xe2\x80\xa6");
}

/* Go's strconv.Quote for the command text (printable UTF-8 kept) */
static void go_quote(struct strbuf *out, const char *s)
{
	strbuf_addch(out, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			strbuf_addf(out, "\\%c", ch);
		else if (ch == '\n')
			strbuf_addstr(out, "\\n");
		else if (ch == '\t')
			strbuf_addstr(out, "\\t");
		else if (ch == '\r')
			strbuf_addstr(out, "\\r");
		else if (ch < 0x20 || ch == 0x7f)
			strbuf_addf(out, "\\x%02x", ch);
		else
			strbuf_addch(out, (char)ch);
	}
	strbuf_addch(out, '"');
}

void cli_container_status(struct strbuf *out, const struct strata_container_state *st)
{
	int64_t now = (int64_t)time(NULL);

	if (st->running) {
		strbuf_addstr(out, "Up ");
		units_human_duration(out, (now - st->started_at) * 1000000000LL);
	} else if (!st->started_at) {
		strbuf_addstr(out, "Created");
	} else if (st->finished_at) {
		strbuf_addf(out, "Exited (%d) ", st->exit_code);
		units_human_duration(out, (now - st->finished_at) * 1000000000LL);
		strbuf_addstr(out, " ago");
	}
}

const char *cli_container_state_name(const struct strata_container_state *st)
{
	return st->running ? "running" : !st->started_at ? "created" : "exited";
}

struct ps_filters {
	struct flag_list status, name, ancestor, id;
	char **ancestor_ids;
	size_t nr_ancestor_ids;
};

static bool ancestor_match(struct strata_image_index *idx, const struct ps_filters *f, const char *image_id)
{
	for (struct strata_image *img = strata_image_index_find(idx, image_id); img;
	     img = strata_image_parent(img) ? strata_image_index_find(idx, strata_image_parent(img)) : NULL)
		for (size_t i = 0; i < f->nr_ancestor_ids; i++)
			if (!strcmp(f->ancestor_ids[i], strata_image_id(img)))
				return true;
	return false;
}

static bool regex_match(const char *pattern, const char *s)
{
	regex_t re;
	bool m;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB))
		return false;
	m = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

static bool ps_match(struct strata_image_index *idx, const struct ps_filters *f, struct strata_container *c,
		     const struct strata_container_state *st)
{
	bool any;

	if (f->status.nr) {
		any = false;
		for (size_t i = 0; i < f->status.nr; i++)
			any |= !strcmp(f->status.items[i], cli_container_state_name(st));
		if (!any)
			return false;
	}
	if (f->name.nr) {
		any = false;
		for (size_t i = 0; i < f->name.nr; i++)
			any |= regex_match(f->name.items[i], strata_container_name(c));
		if (!any)
			return false;
	}
	if (f->id.nr) {
		any = false;
		for (size_t i = 0; i < f->id.nr; i++)
			any |= !strncmp(strata_container_id(c), f->id.items[i], strlen(f->id.items[i]));
		if (!any)
			return false;
	}
	if (f->ancestor.nr && !ancestor_match(idx, f, strata_container_image_id(c)))
		return false;
	return true;
}

static int parse_ps_filters(struct strata_image_index *idx, const struct flag_list *in, struct ps_filters *f)
{
	static const char *const states[] = { "created", "restarting", "running", "removing", "paused", "exited", "dead" };

	for (size_t i = 0; i < in->nr; i++) {
		char *kv = in->items[i], *eq = strchr(kv, '=');
		struct flag_list *l;

		if (!eq) {
			fprintf(stderr, "Error: bad format of filter (expected name=value)\n");
			return 1;
		}
		*eq = '\0';
		if (!strcmp(kv, "status"))
			l = &f->status;
		else if (!strcmp(kv, "name"))
			l = &f->name;
		else if (!strcmp(kv, "ancestor"))
			l = &f->ancestor;
		else if (!strcmp(kv, "id"))
			l = &f->id;
		else {
			fprintf(stderr, "Error response from daemon: Invalid filter '%s'\n", kv);
			return 1;
		}
		if (l == &f->status) {
			bool known = false;

			for (size_t s = 0; s < sizeof(states) / sizeof(*states); s++)
				known |= !strcmp(states[s], eq + 1);
			if (!known) {
				fprintf(stderr, "Error response from daemon: Invalid filter 'status=%s'\n", eq + 1);
				return 1;
			}
		}
		ALLOC_GROW(l->items, l->nr + 1, l->alloc);
		l->items[l->nr++] = xstrdup(eq + 1);
		if (l == &f->ancestor) {
			struct strata_image *img;
			struct strata_error *err = NULL;

			/* an image that does not resolve matches nothing, as dockerd */
			if (strata_image_lookup(idx, eq + 1, &img, &err) == 0) {
				f->ancestor_ids = xrealloc(f->ancestor_ids, (f->nr_ancestor_ids + 1) * sizeof(char *));
				f->ancestor_ids[f->nr_ancestor_ids++] = xstrdup(strata_image_id(img));
			}
			strata_error_free(err);
		}
	}
	return 0;
}

static void ps_filters_release(struct ps_filters *f)
{
	flag_list_release(&f->status);
	flag_list_release(&f->name);
	flag_list_release(&f->ancestor);
	flag_list_release(&f->id);
	for (size_t i = 0; i < f->nr_ancestor_ids; i++)
		free(f->ancestor_ids[i]);
	free(f->ancestor_ids);
}

json_t *cli_ps_row(struct strata_container *c, const struct strata_container_state *st, bool trunc,
		   bool size)
{
	_cleanup_strbuf_ struct strbuf cmd = STRBUF_INIT, quoted = STRBUF_INIT, since = STRBUF_INIT, at = STRBUF_INIT,
				       status = STRBUF_INIT, sz = STRBUF_INIT;
	char *command = strata_container_command(c), *labels = strata_container_labels(c);
	const char *image = strata_container_image(c);
	json_t *row = json_object();

	if (trunc)
		ellipsis(&cmd, command, 20);
	else
		strbuf_addstr(&cmd, command);
	go_quote(&quoted, cmd.buf);
	cli_created_since(&since, st->created);
	gotime_format_go_time(&at, st->created, 0, true);
	cli_container_status(&status, st);
	if (size) {
		int64_t rw = 0, vsize = 0;
		struct strata_error *err = NULL;

		if (strata_container_size(c, &rw, &vsize, &err) == 0) {
			_cleanup_strbuf_ struct strbuf v = STRBUF_INIT;

			units_human_size(&sz, (double)rw);
			units_human_size(&v, (double)vsize);
			strbuf_addf(&sz, " (virtual %s)", v.buf);
		}
		strata_error_free(err);
	}
	json_object_set_new(row, "Command", json_string(quoted.buf));
	json_object_set_new(row, "CreatedAt", json_string(at.buf));
	json_object_set_new(row, "ID", trunc ? json_sprintf("%.12s", strata_container_id(c))
					     : json_string(strata_container_id(c)));
	/* a container without image (a kept build step of FROM scratch): the client's placeholder */
	json_object_set_new(row, "Image", !*image ? json_string("<no image>") :
				   trunc && !strncmp(image, "sha256:", 7) ? json_sprintf("%.12s", image + 7) :
				   json_string(image));
	json_object_set_new(row, "Labels", json_string(labels));
	json_object_set_new(row, "LocalVolumes", json_string("0"));
	json_object_set_new(row, "Mounts", json_string(""));
	json_object_set_new(row, "Names", json_string(strata_container_name(c)));
	json_object_set_new(row, "Networks", json_string("none"));
	json_object_set_new(row, "Ports", json_string(""));
	json_object_set_new(row, "RunningFor", json_string(since.buf));
	json_object_set_new(row, "Size", json_string(sz.buf));
	json_object_set_new(row, "State", json_string(cli_container_state_name(st)));
	json_object_set_new(row, "Status", json_string(status.buf));
	free(command);
	free(labels);
	return row;
}

int cmd_ps(int argc, char **argv, struct cli_ctx *ctx)
{
	bool all = false, quiet = false, size = false, no_trunc = false;
	const char *format = NULL;
	struct flag_list filter = { 0 };
	const struct flag flags[] = {
		{ "all", 'a', FLAG_BOOL, &all, "Show all containers (default shows just running)" },
		{ "filter", 'f', FLAG_FILTERS, &filter, "Filter output based on conditions provided" },
		{ "format", 0, FLAG_STRING, &format, "Pretty-print containers using a Go template" },
		{ "no-trunc", 0, FLAG_BOOL, &no_trunc, "Don't truncate output" },
		{ "quiet", 'q', FLAG_BOOL, &quiet, "Only display container IDs" },
		{ "size", 's', FLAG_BOOL, &size, "Display total file sizes" },
		{ 0 },
	};
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_container **v = NULL;
	struct strata_error *err = NULL;
	struct ps_filters pf = { 0 };
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT, table = STRBUF_INIT;
	_cleanup_json_ json_t *rows = json_array();
	_cleanup_json_ json_t *head = cli_table_header(ps_titles, sizeof(ps_titles) / sizeof(ps_titles[0]));
	size_t nr = 0;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &ps_usage, &args, &nargs);
	if (ret) {
		flag_list_release(&filter);
		return ret < 0 ? 0 : ret;
	}
	free(args);
	ret = cli_open_images(ctx, false, &store, &idx);
	if (!ret)
		ret = parse_ps_filters(idx, &filter, &pf);
	/* a status filter other than running shows stopped containers too, as docker */
	if (!ret && pf.status.nr)
		all = true;
	if (!ret && strata_container_list(store, &v, &nr, &err) < 0)
		ret = cli_fail_daemon(err);
	for (size_t i = 0; !ret && i < nr; i++) {
		struct strata_container_state st;

		strata_container_state(v[i], &st);
		if ((!all && !st.running) || !ps_match(idx, &pf, v[i], &st))
			continue;
		json_array_append_new(rows, cli_ps_row(v[i], &st, !no_trunc, size));
	}
	if (!ret) {
		if (!format || !*format || !strcmp(format, "table")) {
			strbuf_addstr(&table, quiet ? "{{.ID}}" : PS_TABLE);
			if (size && !quiet)
				strbuf_addstr(&table, "\t{{.Size}}");
			format = table.buf;
		}
		if (format_render(&out, format, "*formatter.ContainerContext", head, rows, &err) < 0)
			ret = cli_fail_bare(err);
		else
			fwrite(out.buf, 1, out.len, stdout);
	}
	strata_container_list_free(v, nr);
	ps_filters_release(&pf);
	strata_image_index_free(idx);
	strata_store_free(store);
	flag_list_release(&filter);
	return ret;
}

/* ---- logs, rm, diff, export, commit ---- */

static const struct command_usage logs_usage = {
	"logs", "strata logs [OPTIONS] CONTAINER", "Fetch the logs of a container", 1, 1,
};

int cmd_logs(int argc, char **argv, struct cli_ctx *ctx)
{
	bool timestamps = false, follow = false;
	const char *tail = "all";
	const struct flag flags[] = {
		{ "follow", 'f', FLAG_BOOL, &follow, "Follow log output" },
		{ "tail", 'n', FLAG_STRING, &tail, "Number of lines to show from the end of the logs" },
		{ "timestamps", 't', FLAG_BOOL, &timestamps, "Show timestamps" },
		{ 0 },
	};
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;
	long n = -1;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &logs_usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (strcmp(tail, "all")) {
		char *end;

		errno = 0;
		n = strtol(tail, &end, 10);
		if (errno || *end || end == tail)
			n = -1; /* dockerd treats a bad --tail as all */
	}
	if (cli_open_store(ctx, false, &store, &err) < 0 || strata_container_open(store, args[0], &c, &err) < 0 ||
	    (follow ? strata_container_logs_follow(c, n, timestamps, STDOUT_FILENO, STDERR_FILENO, &err)
		    : strata_container_logs(c, n, timestamps, STDOUT_FILENO, STDERR_FILENO, &err)) < 0)
		ret = cli_fail_daemon(err);
	strata_container_free(c);
	strata_store_free(store);
	free(args);
	return ret;
}

static const struct command_usage rm_usage = {
	"rm", "strata rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", 1, -1,
};

int cmd_rm(int argc, char **argv, struct cli_ctx *ctx)
{
	bool force = false, volumes = false, link = false;
	const struct flag flags[] = {
		{ "force", 'f', FLAG_BOOL, &force, "Force the removal of a running container (uses SIGKILL)" },
		{ "link", 'l', FLAG_BOOL, &link, "Remove the specified link" },
		{ "volumes", 'v', FLAG_BOOL, &volumes, "Remove anonymous volumes associated with the container" },
		{ 0 },
	};
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &rm_usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (cli_open_store(ctx, true, &store, &err) < 0) {
		free(args);
		return cli_fail(err);
	}
	for (int i = 0; i < nargs; i++) {
		struct strata_container *c = NULL;

		if (strata_container_open(store, args[i], &c, &err) < 0 || strata_container_remove(c, force, &err) < 0) {
			/* docker rm: every container is tried, each failure printed */
			fputs(err->code == STRATA_ERR_NOT_FOUND ? "Error: " : "Error response from daemon: ", stderr);
			cli_put_escaped(stderr, err->msg);
			fputc('\n', stderr);
			strata_error_free(err);
			err = NULL;
			ret = 1;
		} else {
			printf("%s\n", args[i]);
		}
		strata_container_free(c);
	}
	strata_store_free(store);
	free(args);
	return ret;
}

static void print_change(void *cookie, char kind, const char *path)
{
	printf("%c ", kind);
	cli_put_escaped(stdout, path);
	putchar('\n');
}

static const struct command_usage diff_usage = {
	"diff", "strata diff CONTAINER", "Inspect changes to files or directories on a container's filesystem", 1, 1,
};

int cmd_diff(int argc, char **argv, struct cli_ctx *ctx)
{
	const struct flag flags[] = { { 0 } };
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &diff_usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	/* for writing: the layers are mounted to compare them, as dockerd does */
	if (cli_open_store(ctx, true, &store, &err) < 0 || strata_container_open(store, args[0], &c, &err) < 0 ||
	    strata_container_changes(c, print_change, NULL, &err) < 0)
		ret = cli_fail_daemon(err);
	strata_container_free(c);
	strata_store_free(store);
	free(args);
	return ret;
}

static const struct command_usage export_usage = {
	"export", "strata export [OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive", 1, 1,
};

int cmd_export(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *output = NULL;
	const struct flag flags[] = {
		{ "output", 'o', FLAG_STRING, &output, "Write to a file, instead of STDOUT" },
		{ 0 },
	};
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;
	int fd = STDOUT_FILENO;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &export_usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (!output && isatty(STDOUT_FILENO)) {
		fputs("Error: cowardly refusing to save to a terminal. Use the -o flag or redirect\n", stderr);
		free(args);
		return 1;
	}
	/* the store is opened for writing: export mounts the container's layers */
	if (cli_open_store(ctx, true, &store, &err) < 0 || strata_container_open(store, args[0], &c, &err) < 0) {
		ret = cli_fail_daemon(err);
		goto out;
	}
	if (output && (fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		fprintf(stderr, "Error: failed to export container: open %s: %s\n", output, cli_errno_text(errno));
		ret = 1;
		goto out;
	}
	if (strata_container_export(c, fd, &err) < 0)
		ret = cli_fail_daemon(err);
	if (output && close(fd) < 0 && !ret) {
		fprintf(stderr, "Error: failed to export container: close %s: %s\n", output, cli_errno_text(errno));
		ret = 1;
	}
out:
	strata_container_free(c);
	strata_store_free(store);
	free(args);
	return ret;
}

static const struct command_usage commit_usage = {
	"commit", "strata commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
	"Create a new image from a container's changes", 1, 2,
};

int cmd_commit(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *author = NULL, *message = NULL;
	bool pause = true;
	struct flag_list changes = { 0 };
	const struct flag flags[] = {
		{ "author", 'a', FLAG_STRING, &author, "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")" },
		{ "change", 'c', FLAG_STRINGS, &changes, "Apply Dockerfile instruction to the created image" },
		{ "message", 'm', FLAG_STRING, &message, "Commit message" },
		{ "pause", 'p', FLAG_BOOL, &pause, "Pause container during commit (default true)" },
		{ 0 },
	};
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_container *c = NULL;
	struct strata_error *err = NULL;
	char id[72], **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &commit_usage, &args, &nargs);
	if (ret) {
		flag_list_release(&changes);
		return ret < 0 ? 0 : ret;
	}
	ret = cli_open_images(ctx, true, &store, &idx);
	if (!ret && strata_container_open(store, args[0], &c, &err) < 0)
		ret = cli_fail_daemon(err);
	else if (!ret &&
		 strata_container_commit(idx, c,
					 &(struct strata_commit_options){ (const char *const *)changes.items, changes.nr,
									  author, message, nargs > 1 ? args[1] : NULL },
					 id, &err) < 0)
		ret = cli_fail_daemon(err);
	else if (!ret)
		printf("%s\n", id);
	strata_container_free(c);
	strata_image_index_free(idx);
	strata_store_free(store);
	flag_list_release(&changes);
	free(args);
	return ret;
}

/*
 * stop, kill and wait open the store without the lock: the process they
 * wait for (a monitor, or a foreground strata holding the lock) records
 * the exit itself.
 */
enum signal_cmd { SIG_STOP, SIG_KILL, SIG_WAIT };

static int each_container(struct cli_ctx *ctx, enum signal_cmd what, int nargs, char **args, int timeout,
			  const char *signal)
{
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	int ret = 0;

	if (cli_open_store(ctx, false, &store, &err) < 0)
		return cli_fail(err);
	for (int i = 0; i < nargs; i++) {
		struct strata_container *c = NULL;
		int code = 0, r;

		r = strata_container_open(store, args[i], &c, &err);
		if (r >= 0)
			r = what == SIG_STOP ? strata_container_stop(c, timeout, &err) :
			    what == SIG_KILL ? strata_container_kill(c, signal, &err) :
					       strata_container_wait(c, &code, &err);
		if (r < 0) {
			fputs(err->code == STRATA_ERR_NOT_FOUND ? "Error: " : "Error response from daemon: ", stderr);
			cli_put_escaped(stderr, err->msg);
			fputc('\n', stderr);
			strata_error_free(err);
			err = NULL;
			ret = 1;
		} else if (what == SIG_WAIT) {
			printf("%d\n", code);
		} else {
			printf("%s\n", args[i]);
		}
		fflush(stdout);
		strata_container_free(c);
	}
	strata_store_free(store);
	return ret;
}

static const struct command_usage stop_usage = {
	"stop", "strata stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", 1, -1,
};

int cmd_stop(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *time_s = "10";
	const struct flag flags[] = {
		{ "time", 't', FLAG_STRING, &time_s, "Seconds to wait for stop before killing it" },
		{ 0 },
	};
	char **args, *end;
	int nargs, ret;
	long t;

	ret = flags_parse(argc, argv, flags, &stop_usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	errno = 0;
	t = strtol(time_s, &end, 10);
	if (errno || *end || end == time_s || t < 0 || t > 86400) {
		fprintf(stderr, "invalid argument \"%s\" for \"-t, --time\" flag: strconv.ParseInt: parsing \"%s\": invalid syntax\nSee 'strata stop --help'.\n",
			time_s, time_s);
		free(args);
		return 125;
	}
	ret = each_container(ctx, SIG_STOP, nargs, args, (int)t, NULL);
	free(args);
	return ret;
}

static const struct command_usage kill_usage = {
	"kill", "strata kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", 1, -1,
};

int cmd_kill(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *signal = "KILL";
	const struct flag flags[] = {
		{ "signal", 's', FLAG_STRING, &signal, "Signal to send to the container" },
		{ 0 },
	};
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &kill_usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = each_container(ctx, SIG_KILL, nargs, args, 0, signal);
	free(args);
	return ret;
}

static const struct command_usage wait_usage = {
	"wait", "strata wait CONTAINER [CONTAINER...]",
	"Block until one or more containers stop, then print their exit codes", 1, -1,
};

int cmd_wait(int argc, char **argv, struct cli_ctx *ctx)
{
	const struct flag flags[] = { { 0 } };
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &wait_usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = each_container(ctx, SIG_WAIT, nargs, args, 0, NULL);
	free(args);
	return ret;
}

/* ---- container prune and the management command ---- */

static const struct command_usage prune_usage = {
	"container prune", "strata container prune [OPTIONS]", "Remove all stopped containers", 0, 0,
};

static int container_prune(int argc, char **argv, struct cli_ctx *ctx)
{
	bool force = false;
	const struct flag flags[] = {
		{ "force", 'f', FLAG_BOOL, &force, "Do not prompt for confirmation" },
		{ 0 },
	};
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	_cleanup_strbuf_ struct strbuf deleted = STRBUF_INIT, size = STRBUF_INIT;
	uint64_t reclaimed = 0;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &prune_usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	free(args);
	if (!force) {
		char line[64];

		printf("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y'))
			return 0;
	}
	if (cli_open_store(ctx, true, &store, &err) < 0 ||
	    strata_container_prune(store, cli_add_deleted_container, &deleted, &reclaimed, &err) < 0)
		ret = cli_fail_daemon(err);
	if (deleted.len)
		printf("%s\n", deleted.buf);
	units_human_size_prec(&size, (double)reclaimed, 4);
	printf("Total reclaimed space: %s\n", size.buf);
	strata_store_free(store);
	return ret;
}

int cmd_container(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct cli_subcommand subs[] = {
		{ "commit", cmd_commit, "Create a new image from a container's changes" },
		{ "create", cmd_create, "Create a new container" },
		{ "diff", cmd_diff, "Inspect changes to files or directories on a container's filesystem" },
		{ "export", cmd_export, "Export a container's filesystem as a tar archive" },
		{ "kill", cmd_kill, "Kill one or more running containers" },
		{ "list", cmd_ps, NULL },
		{ "logs", cmd_logs, "Fetch the logs of a container" },
		{ "ls", cmd_ps, "List containers" },
		{ "prune", container_prune, "Remove all stopped containers" },
		{ "ps", cmd_ps, NULL },
		{ "remove", cmd_rm, NULL },
		{ "rm", cmd_rm, "Remove one or more containers" },
		{ "run", cmd_run, "Run a command in a new container" },
		{ "start", cmd_start, "Start one or more stopped containers" },
		{ "stop", cmd_stop, "Stop one or more running containers" },
		{ "wait", cmd_wait, "Block until one or more containers stop, then print their exit codes" },
	};

	return cli_dispatch("container", "Manage containers", subs, sizeof(subs) / sizeof(subs[0]), argc, argv, ctx);
}
