/*
 * strata login [-u USER] [-p PASS | --password-stdin] [SERVER]
 *
 * docker login without a daemon: the credentials are checked against the
 * registry (GET /v2/ with Basic, or a token request for Bearer registries)
 * and then stored in the Docker client config (~/.docker/config.json, or
 * $DOCKER_CONFIG) as base64 "auth" (atomic, 0600, other keys kept), or
 * through the configured credential helper.  The password is never printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "strata/registry.h"
#include "util/alloc.h"
#include "util/strbuf.h"

/*
 * Flags are parsed here rather than with flags.h so that this command builds
 * on its own; the forms and messages are pflag's.
 */
static const char usage_text[] =
	"\nUsage:  strata login [OPTIONS] [SERVER]\n\n"
	"Log in to a Docker registry.\n"
	"If no server is specified, the default is defined by the daemon.\n\n"
	"Options:\n"
	"  -p, --password string   Password\n"
	"      --password-stdin    Take the password from stdin\n"
	"  -u, --username string   Username\n";

static int login_usage_error(const char *what, const char *arg)
{
	if (arg[1] == '-')
		fprintf(stderr, "%s: %s", what, arg);
	else
		fprintf(stderr, "%s: '%c' in %s", what, arg[1], arg);
	fputs("\nSee 'strata login --help'.\n", stderr);
	return 125;
}

/* Returns 0, -1 for --help, or an exit status. */
static int parse_login_args(int argc, char **argv, const char **username, const char **password,
			    bool *password_stdin, const char **server)
{
	int npos = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **target = NULL;
		const char *val = NULL;

		if (!strcmp(a, "--")) {
			for (i++; i < argc; i++, npos++)
				*server = argv[i];
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			return -1;
		}
		if (!strcmp(a, "--password-stdin")) {
			*password_stdin = true;
			continue;
		}
		if (!strncmp(a, "--username", 10) && (a[10] == '=' || !a[10]))
			target = username, val = a[10] ? a + 11 : NULL;
		else if (!strncmp(a, "--password", 10) && (a[10] == '=' || !a[10]))
			target = password, val = a[10] ? a + 11 : NULL;
		else if (a[0] == '-' && (a[1] == 'u' || a[1] == 'p'))
			target = a[1] == 'u' ? username : password, val = a[2] ? a + 2 + (a[2] == '=') : NULL;
		else if (a[0] == '-' && a[1])
			return login_usage_error(a[1] == '-' ? "unknown flag" : "unknown shorthand flag", a);
		if (target) {
			if (!val) {
				if (i + 1 >= argc)
					return login_usage_error("flag needs an argument", a);
				val = argv[++i];
			}
			*target = val;
			continue;
		}
		*server = a;
		npos++;
	}
	if (npos > 1) {
		fprintf(stderr, "\"strata login\" requires at most 1 argument.\n"
				"See 'strata login --help'.\n\nUsage:  strata login [OPTIONS] [SERVER]\n\n"
				"Log in to a Docker registry\n");
		return 1;
	}
	return 0;
}

#define MAX_PASSWORD (64 * 1024)

static char *read_stdin_password(void)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;

	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0 && sb.len < MAX_PASSWORD)
		strbuf_add(&sb, buf, n);
	while (sb.len && (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == '\r'))
		strbuf_setlen(&sb, sb.len - 1);
	return strbuf_detach(&sb, NULL);
}

static char *prompt(const char *label, bool secret)
{
	struct termios old, quiet;
	bool restore = false;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	fputs(label, stdout);
	fflush(stdout);
	if (secret && tcgetattr(0, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(0, TCSANOW, &quiet) == 0;
	}
	n = getline(&line, &cap, stdin);
	if (restore) {
		tcsetattr(0, TCSANOW, &old);
		fputc('\n', stdout);
	}
	if (n < 0) {
		free(line);
		return xstrdup("");
	}
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

static void wipe(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int cmd_login(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *username = NULL, *password = NULL;
	bool password_stdin = false;
	struct strata_login_options opts = { ctx->config_path, NULL, NULL };
	struct strata_credentials creds = { 0 };
	struct strata_error *err = NULL;
	char *user = NULL, *pass = NULL;
	const char *server = NULL;
	int ret;

	ret = parse_login_args(argc, argv, &username, &password, &password_stdin, &server);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (password && *password)
		fputs("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n", stderr);
	if (password_stdin) {
		if (password && *password) {
			fputs("Error: --password and --password-stdin are mutually exclusive\n", stderr);
			return 1;
		}
		if (!username || !*username) {
			fputs("Error: Must provide --username with --password-stdin\n", stderr);
			return 1;
		}
		pass = read_stdin_password();
	} else if (password) {
		pass = xstrdup(password);
	}
	user = username ? xstrdup(username) : NULL;

	if ((!user || !*user) && (!pass || !*pass)) {
		/* like docker: reuse stored credentials, else ask on a terminal */
		struct strata_credentials stored = { 0 };

		if (strata_credentials_get(ctx->docker_config_dir, server, &stored, &err) == 1 &&
		    stored.username && *stored.username) {
			free(user);
			wipe(pass);
			user = stored.username;
			pass = stored.password;
			stored.username = stored.password = NULL;
			printf("Authenticating with existing credentials...\n");
		}
		strata_credentials_release(&stored);
		strata_error_free(err);
		err = NULL;
	}
	if (!user || !*user || !pass || !*pass) {
		if (!isatty(0)) {
			fputs("Error: Cannot perform an interactive login from a non TTY device\n", stderr);
			ret = 1;
			goto out;
		}
		if (!user || !*user) {
			free(user);
			user = prompt("Username: ", false);
		}
		if (!*user) {
			fputs("Error: Username is required\n", stderr);
			ret = 1;
			goto out;
		}
		if (!pass || !*pass) {
			wipe(pass);
			pass = prompt("Password: ", true);
		}
		if (!*pass) {
			fputs("Error: Password is required\n", stderr);
			ret = 1;
			goto out;
		}
	}

	opts.username = user;
	opts.password = pass;
	if (strata_login(server, &opts, &err) < 0) {
		ret = cli_fail_daemon(err);
		goto out;
	}
	creds.username = user;
	creds.password = pass;
	if (strata_credentials_store(ctx->docker_config_dir, server, &creds, &err) < 0) {
		fprintf(stderr, "Error: saving credentials: %s\n", err->msg);
		strata_error_free(err);
		ret = 1;
		goto out;
	}
	{
		/* docker warns when the password lands in the file (no helper) */
		char *cfgpath = xasprintf("%s/config.json", ctx->docker_config_dir);
		FILE *f = fopen(cfgpath, "r");
		bool helper = false;

		if (f) {
			char *line = NULL;
			size_t cap = 0;

			while (getline(&line, &cap, f) > 0)
				if (strstr(line, "\"credsStore\"") || strstr(line, "\"credHelpers\""))
					helper = true;
			free(line);
			fclose(f);
		}
		if (!helper)
			fprintf(stderr,
				"WARNING! Your password will be stored unencrypted in %s.\n"
				"Configure a credential helper to remove this warning. See\n"
				"https://docs.docker.com/engine/reference/commandline/login/#credentials-store\n\n",
				cfgpath);
		free(cfgpath);
	}
	printf("Login Succeeded\n");
	ret = 0;
out:
	free(user);
	wipe(pass);
	return ret;
}
