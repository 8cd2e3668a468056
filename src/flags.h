/* Command-line flags parsed as docker's pflag does (same forms and messages). */
#ifndef STRATA_FLAGS_H
#define STRATA_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

enum flag_type { FLAG_BOOL, FLAG_STRING, FLAG_STRINGS };

struct flag_list {
	char **items;
	size_t nr, alloc;
};

struct flag {
	const char *name; /* long name without "--" */
	char shorthand;   /* 0 when none */
	enum flag_type type;
	void *value;      /* bool *, const char **, struct flag_list * */
	const char *help;
};

struct command_usage {
	const char *name;  /* "images" */
	const char *usage; /* "strata images [OPTIONS] [REPOSITORY[:TAG]]" */
	const char *short_help;
};

/*
 * Parse argv[1..] (argv[0] is the command name) against flags; positional
 * arguments are collected into *args and *nargs (flags may follow them, as pflag
 * allows).  Returns 0, or the exit status to use after printing docker's
 * error text.  --help prints the usage and returns -1 (exit 0).
 */
int flags_parse(int argc, char **argv, const struct flag *flags, const struct command_usage *cmd,
		char ***args, int *nargs);
void flag_list_release(struct flag_list *l);

/* "\"strata X\" requires exactly 1 argument." with docker's usage tail; returns 1. */
int flags_arg_error(const struct command_usage *cmd, const char *requirement);

#endif
