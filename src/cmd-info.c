/*
 * strata info: docker 20.10's `docker info` Server block, with the fields
 * that apply to strata (the store, its driver, the host, the registries).
 * Plugins, swarm, runtimes, logging and security options belong to a
 * daemon strata does not have, so they are left out rather than made up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "format/template.h"
#include "json/gojson.h"
#include "strata/image.h"
#include "strata/store.h"
#include "strata/system.h"
#include "util/cleanup.h"

static const struct command_usage usage = {
	"info", "strata info [OPTIONS]",
	"Display system-wide information",
	0, 0,
};

static const struct template_type registry_type = { "*registry.ServiceConfig", NULL };
static const struct template_field info_fields[] = {
	{ "RegistryConfig", &registry_type },
	{ NULL },
};
static const struct template_type info_type = { "system.info", info_fields };

/* go-units BytesSize: "%.4g" and binary prefixes ("23.54GiB") */
static void bytes_size(struct strbuf *sb, double size)
{
	static const char *const abbrs[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	size_t i = 0;

	while (size >= 1024 && i + 1 < sizeof(abbrs) / sizeof(abbrs[0])) {
		size /= 1024;
		i++;
	}
	strbuf_addf(sb, "%.4g%s", size, abbrs[i]);
}

static const char *str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

static void print_field(const json_t *info, const char *title, const char *key)
{
	const json_t *v = json_object_get(info, key);

	if (!v)
		return;
	fputs(" ", stdout);
	fputs(title, stdout);
	fputs(": ", stdout);
	if (json_is_integer(v))
		printf("%lld", (long long)json_integer_value(v));
	else
		cli_put_escaped(stdout, str(info, key));
	putchar('\n');
}

/* docker's prettyPrintServerInfo, for the fields strata fills in */
static void print_info(const json_t *info)
{
	const json_t *rc = json_object_get(info, "RegistryConfig");
	const json_t *cidrs = json_object_get(rc, "InsecureRegistryCIDRs");
	const json_t *mirrors = json_object_get(rc, "Mirrors");
	const json_t *v;
	const char *key;
	size_t i;

	fputs("Server:\n", stdout);
	print_field(info, "Containers", "Containers");
	printf("  Running: %lld\n  Paused: %lld\n  Stopped: %lld\n",
	       (long long)json_integer_value(json_object_get(info, "ContainersRunning")),
	       (long long)json_integer_value(json_object_get(info, "ContainersPaused")),
	       (long long)json_integer_value(json_object_get(info, "ContainersStopped")));
	print_field(info, "Images", "Images");
	print_field(info, "Server Version", "ServerVersion");
	print_field(info, "Storage Driver", "Driver");
	json_array_foreach(json_object_get(info, "DriverStatus"), i, v) {
		printf("  %s: %s\n", json_string_value(json_array_get(v, 0)),
		       json_string_value(json_array_get(v, 1)));
	}
	print_field(info, "Kernel Version", "KernelVersion");
	print_field(info, "OSType", "OSType");
	print_field(info, "Architecture", "Architecture");
	print_field(info, "CPUs", "NCPU");
	if ((v = json_object_get(info, "MemTotal"))) {
		_cleanup_strbuf_ struct strbuf mem = STRBUF_INIT;

		bytes_size(&mem, (double)json_integer_value(v));
		printf(" Total Memory: %s\n", mem.buf);
	}
	print_field(info, "Name", "Name");
	fputs(" Docker Root Dir: ", stdout);
	cli_put_escaped(stdout, str(info, "DockerRootDir"));
	putchar('\n');
	print_field(info, "Registry", "IndexServerAddress");
	if (json_array_size(cidrs)) {
		fputs(" Insecure Registries:\n", stdout);
		json_object_foreach((json_t *)json_object_get(rc, "IndexConfigs"), key, v) {
			if (json_is_false(json_object_get(v, "Secure"))) {
				fputs("  ", stdout);
				cli_put_escaped(stdout, key);
				putchar('\n');
			}
		}
		json_array_foreach(cidrs, i, v) {
			fputs("  ", stdout);
			cli_put_escaped(stdout, json_string_value(v));
			putchar('\n');
		}
	}
	if (json_array_size(mirrors)) {
		fputs(" Registry Mirrors:\n", stdout);
		json_array_foreach(mirrors, i, v) {
			fputs("  ", stdout);
			cli_put_escaped(stdout, json_string_value(v));
			putchar('\n');
		}
	}
	putchar('\n'); /* docker ends the block with an empty line */
}

/* printServerWarnings: each on its own line on stderr, after the block */
static void print_warnings(const json_t *info)
{
	const json_t *v;
	size_t i;

	fflush(stdout);
	json_array_foreach(json_object_get(info, "Warnings"), i, v) {
		cli_put_escaped(stderr, json_string_value(v));
		fputc('\n', stderr);
	}
}

int cmd_info(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *format = NULL;
	const struct flag flags[] = {
		{ "format", 'f', FLAG_STRING, &format, "Format the output using the given Go template" },
		{ 0 },
	};
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct template *tmpl = NULL;
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ json_t *info = NULL;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	free(args);
	/* docker checks the template before it asks the daemon */
	if (format && *format && template_parse(format, &tmpl, &err) < 0) {
		strata_error_wrap(&err, "template parsing error");
		cli_fail_bare(err);
		return 64;
	}
	ret = cli_open_images(ctx, false, &store, &idx);
	if (!ret && (strata_system_info(idx, ctx->config_path, &text, &err) < 0 ||
		     gojson_parse(text, strlen(text), "system info", &info, &err) < 0))
		ret = cli_fail(err);
	strata_image_index_free(idx);
	strata_store_free(store);
	if (ret) {
		template_free(tmpl);
		return ret;
	}
	if (!tmpl) {
		print_info(info);
		print_warnings(info);
		return 0;
	}
	ret = template_execute_struct(tmpl, info, &info_type, 0, &out, &err);
	template_free(tmpl);
	strbuf_addch(&out, '\n');
	fwrite(out.buf, 1, out.len, stdout);
	fflush(stdout);
	/* docker prints Warnings only without --format; a skipped object is worth
	 * saying in both, and stderr keeps the template's output clean */
	print_warnings(info);
	return ret < 0 ? cli_fail_bare(err) : 0;
}
