#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "util/alloc.h"

static void print_usage(FILE *f, const struct flag *flags, const struct command_usage *cmd)
{
	fprintf(f, "\nUsage:  %s\n\n%s\n", cmd->usage, cmd->short_help);
	if (!flags[0].name)
		return;
	fputs("\nOptions:\n", f);
	for (const struct flag *fl = flags; fl->name; fl++) {
		char left[64];

		if (fl->shorthand)
			snprintf(left, sizeof(left), "-%c, --%s%s", fl->shorthand, fl->name,
				 fl->type == FLAG_BOOL ? "" : " string");
		else
			snprintf(left, sizeof(left), "    --%s%s", fl->name, fl->type == FLAG_BOOL ? "" : " string");
		fprintf(f, "  %-22s %s\n", left, fl->help);
	}
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

	for (size_t i = 0; i < 6; i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int set_value(const struct flag *fl, const char *val, const struct command_usage *cmd)
{
	switch (fl->type) {
	case FLAG_BOOL:
		if (parse_bool(val, fl->value) < 0) {
			char name[80];

			if (fl->shorthand)
				snprintf(name, sizeof(name), "-%c, --%s", fl->shorthand, fl->name);
			else
				snprintf(name, sizeof(name), "--%s", fl->name);
			fprintf(stderr, "invalid argument \"%s\" for \"%s\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax\nSee 'strata %s --help'.\n",
				val, name, val, cmd->name);
			return 125;
		}
		return 0;
	case FLAG_STRING:
		*(const char **)fl->value = val;
		return 0;
	case FLAG_FILTERS:
		if (!strchr(val, '=')) {
			fprintf(stderr, "invalid argument \"%s\" for \"-%c, --%s\" flag: bad format of filter (expected name=value)\nSee 'strata %s --help'.\n",
				val, fl->shorthand, fl->name, cmd->name);
			return 125;
		}
		/* fall through */
	case FLAG_STRINGS: {
		struct flag_list *l = fl->value;

		ALLOC_GROW(l->items, l->nr + 1, l->alloc);
		l->items[l->nr++] = xstrdup(val);
		return 0;
	}
	}
	return 0;
}

static bool has_shorthand(const struct flag *flags, char c)
{
	for (const struct flag *f = flags; f->name; f++)
		if (f->shorthand == c)
			return true;
	return false;
}

/* requirement: "requires exactly 1 argument", or cobra's NoArgs "accepts no arguments" */
static int arg_error(const struct command_usage *cmd, const char *requirement)
{
	fprintf(stderr, "\"strata %s\" %s.\nSee 'strata %s --help'.\n\nUsage:  %s\n\n%s\n", cmd->name,
		requirement, cmd->name, cmd->usage, cmd->short_help);
	return 1;
}

int flags_parse(int argc, char **argv, const struct flag *flags, const struct command_usage *cmd,
		char ***args, int *nargs)
{
	char **pos = xcalloc((size_t)argc + 1, sizeof(*pos));
	int n = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (cmd->no_interspersed && n > 0) {
			/* docker run IMAGE CMD...: everything after the first argument is the command's */
			pos[n++] = (char *)a;
			continue;
		}
		if (!strcmp(a, "--")) {
			while (++i < argc)
				pos[n++] = argv[i];
			break;
		}
		if (!strcmp(a, "--help") || (!strcmp(a, "-h") && !has_shorthand(flags, 'h'))) {
			print_usage(stdout, flags, cmd);
			free(pos);
			return -1;
		}
		if (a[0] == '-' && a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct flag *fl = NULL;
			int ret;

			for (const struct flag *f = flags; f->name; f++)
				if (strlen(f->name) == len && !strncmp(f->name, name, len))
					fl = f;
			if (!fl) {
				char *bad = xstrndup(name, len);

				fputs("unknown flag: --", stderr);
				cli_put_escaped(stderr, bad);
				fprintf(stderr, "\nSee 'strata %s --help'.\n", cmd->name);
				free(bad);
				free(pos);
				return 125;
			}
			if (eq) {
				ret = set_value(fl, eq + 1, cmd);
			} else if (fl->type == FLAG_BOOL) {
				ret = set_value(fl, "true", cmd);
			} else if (i + 1 < argc) {
				ret = set_value(fl, argv[++i], cmd);
			} else {
				fprintf(stderr, "flag needs an argument: --%s\nSee 'strata %s --help'.\n", fl->name, cmd->name);
				ret = 125;
			}
			if (ret) {
				free(pos);
				return ret;
			}
			continue;
		}
		if (a[0] == '-' && a[1]) {
			/* Grouped shorthands: -aq, -f VALUE, -fVALUE, -H=false. */
			for (const char *c = a + 1; *c; c++) {
				const struct flag *fl = NULL;
				int ret;

				for (const struct flag *f = flags; f->name; f++)
					if (f->shorthand == *c)
						fl = f;
				if (!fl) {
					fprintf(stderr, "unknown shorthand flag: '%c' in %s\nSee 'strata %s --help'.\n", *c, a, cmd->name);
					free(pos);
					return 125;
				}
				if (c[1] == '=') {
					ret = set_value(fl, c + 2, cmd);
				} else if (fl->type == FLAG_BOOL) {
					ret = set_value(fl, "true", cmd);
					if (!ret)
						continue;
				} else if (c[1]) {
					ret = set_value(fl, c + 1, cmd);
				} else if (i + 1 < argc) {
					ret = set_value(fl, argv[++i], cmd);
				} else {
					fprintf(stderr, "flag needs an argument: '%c' in -%c\nSee 'strata %s --help'.\n", *c, *c, cmd->name);
					ret = 125;
				}
				if (ret) {
					free(pos);
					return ret;
				}
				break;
			}
			continue;
		}
		pos[n++] = (char *)a;
	}
	if (n < cmd->min_args || (cmd->max_args >= 0 && n > cmd->max_args)) {
		char req[80];
		int lo = cmd->min_args, hi = cmd->max_args;

		if (hi == 0)
			snprintf(req, sizeof(req), "accepts no arguments");
		else if (lo == hi)
			snprintf(req, sizeof(req), "requires exactly %d argument%s", lo, lo == 1 ? "" : "s");
		else if (hi < 0)
			snprintf(req, sizeof(req), "requires at least %d argument%s", lo, lo == 1 ? "" : "s");
		else if (lo == 0)
			snprintf(req, sizeof(req), "requires at most %d argument%s", hi, hi == 1 ? "" : "s");
		else
			snprintf(req, sizeof(req), "requires at least %d and at most %d arguments", lo, hi);
		free(pos);
		return arg_error(cmd, req);
	}
	*args = pos;
	*nargs = n;
	return 0;
}

void flag_list_release(struct flag_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

