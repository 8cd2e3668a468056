/* Command-line flags parsed as docker's pflag does (same forms and messages). */
#ifndef STRATA_FLAGS_H
#define STRATA_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

enum flag_type {
	FLAG_BOOL,
	FLAG_STRING,
	FLAG_STRINGS,
	FLAG_FILTERS, /* like FLAG_STRINGS, each value "name=value" */
};

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
	int min_args, max_args; /* positional arguments; max -1: no limit */
	bool no_interspersed;   /* flags end at the first argument (run IMAGE CMD ARG...) */
};

/*
 * Parse argv[1..] (argv[0] is the command name) against flags; positional
 * arguments are collected into *args and *nargs (flags may follow them, as pflag
 * allows) and their number checked against cmd's bounds.  Returns 0, or the
 * exit status to use after printing docker's error text (*args is then
 * freed).  --help prints the usage and returns -1 (exit 0).
 */
int flags_parse(int argc, char **argv, const struct flag *flags, const struct command_usage *cmd,
		char ***args, int *nargs);
void flag_list_release(struct flag_list *l);


#endif
