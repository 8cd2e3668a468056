/*
 * strata version: the client block of docker 20.10's `docker version`, with
 * the fields that mean something for strata.  There is no daemon, so no
 * Server block (its template value is null) and no "Cannot connect" failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "cli.h"
#include "flags.h"
#include "format/template.h"
#include "strata/strata.h"
#include "util/cleanup.h"

static const struct command_usage usage = {
	"version", "strata version [OPTIONS]",
	"Show the Docker version information",
	0, 0,
};

static const struct template_type platform_type = { "struct { Name string }", NULL };
static const struct template_field client_fields[] = {
	{ "Platform", &platform_type },
	{ NULL },
};
static const struct template_type client_type = { "system.clientVersion", client_fields };
static const struct template_field version_fields[] = {
	{ "Client", &client_type },
	{ NULL },
};
static const struct template_type version_type = { "system.versionInfo", version_fields };

static json_t *version_info(void)
{
	struct utsname u;
	const char *arch = uname(&u) == 0 ? cli_go_arch(u.machine) : "unknown";

	return json_pack("{s:{s:{s:s},s:s,s:s,s:s},s:n}", "Client", "Platform", "Name", "strata",
			 "Version", strata_version(), "Os", "linux", "Arch", arch, "Server");
}

int cmd_version(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *format = NULL;
	const struct flag flags[] = {
		{ "format", 'f', FLAG_STRING, &format, "Format the output using the given Go template" },
		{ 0 },
	};
	_cleanup_json_ json_t *info = version_info();
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	struct strata_error *err = NULL;
	struct template *tmpl = NULL;
	json_t *client = json_object_get(info, "Client");
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	free(args);
	if (!format || !*format) {
		/* docker's tabwriter (minwidth 20) lines up the values at column 20 */
		printf("Client: %s\n", json_string_value(json_object_get(json_object_get(client, "Platform"), "Name")));
		printf(" %-19s%s\n", "Version:", json_string_value(json_object_get(client, "Version")));
		printf(" %-19s%s/%s\n", "OS/Arch:", json_string_value(json_object_get(client, "Os")),
		       json_string_value(json_object_get(client, "Arch")));
		return 0;
	}
	if (template_parse_named("version", format, &tmpl, &err) < 0) {
		strata_error_wrap(&err, "template parsing error");
		cli_fail_bare(err);
		return 64; /* docker's StatusError for a bad --format */
	}
	ret = template_execute_struct(tmpl, info, &version_type, 0, &out, &err);
	template_free(tmpl);
	/* docker ends the output with a newline even when the template failed */
	strbuf_addch(&out, '\n');
	fwrite(out.buf, 1, out.len, stdout);
	fflush(stdout);
	return ret < 0 ? cli_fail_bare(err) : 0;
}
