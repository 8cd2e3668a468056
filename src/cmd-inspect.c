#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "format/template.h"
#include "json/gojson.h"
#include "strata/container.h"
#include "strata/image.h"
#include "strata/store.h"
#include "util/cleanup.h"

static const struct command_usage usage = {
	"inspect", "strata inspect [OPTIONS] NAME|ID [NAME|ID...]",
	"Return low-level information on Docker objects",
	1, -1,
};
static const struct command_usage image_usage = {
	"image inspect", "strata image inspect [OPTIONS] IMAGE [IMAGE...]",
	"Display detailed information on one or more images",
	1, -1,
};

/* docker inspect --type's values; strata's store holds images and containers */
static const char *const object_types[] = {
	"config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume",
};

/* The Go structs of docker's types.ImageInspect: a field missing from one of
 * them fails the typed run (and inspect then reports the map run's error),
 * while a missing key of a map (Labels, GraphDriver.Data) prints <no value>. */
static const struct template_type health_type = { "*container.HealthConfig", NULL };
static const struct template_field config_fields[] = {
	{ "Healthcheck", &health_type },
	{ NULL },
};
static const struct template_type config_type = { "*container.Config", config_fields };
static const struct template_type graphdriver_type = { "types.GraphDriverData", NULL };
static const struct template_type rootfs_type = { "types.RootFS", NULL };
static const struct template_type metadata_type = { "types.ImageMetadata", NULL };
static const struct template_field inspect_fields[] = {
	{ "Config", &config_type },
	{ "ContainerConfig", &config_type },
	{ "GraphDriver", &graphdriver_type },
	{ "RootFS", &rootfs_type },
	{ "Metadata", &metadata_type },
	{ NULL },
};
static const struct template_type inspect_type = { "types.ImageInspect", inspect_fields };

/* types.ContainerJSON's nested structs (the Go types docker's errors name) */
static const struct template_type state_type = { "*types.ContainerState", NULL };
static const struct template_type hostconfig_type = { "*container.HostConfig", NULL };
static const struct template_type network_type = { "*types.NetworkSettings", NULL };
static const struct template_field container_fields[] = {
	{ "State", &state_type },
	{ "HostConfig", &hostconfig_type },
	{ "GraphDriver", &graphdriver_type },
	{ "Config", &config_type },
	{ "NetworkSettings", &network_type },
	{ NULL },
};
static const struct template_type container_type = { "types.ContainerJSON", container_fields };

/*
 * The container NAME as JSON text: 1 when there is none (*err set), 0 when
 * found, < 0 on any other error.
 */
static int inspect_container(struct strata_store *store, const char *name, bool size, char **text,
			     struct strata_error **err)
{
	struct strata_container *c = NULL;
	int ret = strata_container_open(store, name, &c, err);

	if (ret == -STRATA_ERR_NOT_FOUND)
		return 1;
	if (ret >= 0)
		ret = strata_container_inspect(c, size, text, err);
	strata_container_free(c);
	return ret < 0 ? ret : 0;
}

/*
 * top: `strata inspect`, which has --type and, without it, looks for any
 * object ("No such object: X"); else `strata image inspect`.
 */
static int inspect(int argc, char **argv, struct cli_ctx *ctx, bool top)
{
	const char *format = NULL, *type = NULL;
	bool size = false;
	const struct flag flags[] = {
		{ "format", 'f', FLAG_STRING, &format, "Format the output using the given Go template" },
		{ "size", 's', FLAG_BOOL, &size, "Display total file sizes if the type is container" },
		{ "type", 0, FLAG_STRING, &type, "Return JSON for specified type" },
		{ 0 },
	};
	const struct flag image_flags[] = { flags[0], { 0 } };
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct template *tmpl = NULL;
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	_cleanup_strbuf_ struct strbuf errors = STRBUF_INIT;
	_cleanup_json_ json_t *found = json_array();
	_cleanup_free_ const struct template_type **types = NULL;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, top ? flags : image_flags, top ? &usage : &image_usage, &args,
			  &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (type && *type) {
		size_t t;

		for (t = 0; t < sizeof(object_types) / sizeof(object_types[0]); t++)
			if (!strcmp(type, object_types[t]))
				break;
		if (t == sizeof(object_types) / sizeof(object_types[0])) {
			fputc('"', stderr);
			cli_put_escaped(stderr, type);
			fputs("\" is not a valid value for --type\n", stderr);
			free(args);
			return 1;
		}
	}
	if (format && *format) {
		struct strata_error *err = NULL;

		if (template_parse(format, &tmpl, &err) < 0) {
			free(args);
			strata_error_wrap(&err, "template parsing error");
			cli_fail_bare(err);
			return 64; /* docker's StatusError for a bad --format */
		}
	}
	ret = cli_open_images(ctx, false, &store, &idx);
	types = calloc(nargs ? (size_t)nargs : 1, sizeof(*types));
	for (int i = 0; !ret && i < nargs; i++) {
		struct strata_error *err = NULL;
		struct strata_image *img;
		_cleanup_free_ char *text = NULL;
		bool any = top && !(type && *type);
		const struct template_type *t = &inspect_type;
		json_t *obj;
		int r = 1;

		if (type && *type && strcmp(type, "image") && strcmp(type, "container")) {
			/* a volume, network, ... of that name is none strata could show */
			strbuf_addf(&errors, "Error: No such %s: %s\n", type, args[i]);
			continue;
		}
		/* docker's inspectAll looks for a container first, then an image */
		if (any || (type && !strcmp(type, "container"))) {
			r = inspect_container(store, args[i], size, &text, &err);
			t = &container_type;
			if (r > 0 && any) {
				strata_error_free(err);
				err = NULL;
			}
		}
		if (r > 0 && !(type && !strcmp(type, "container"))) {
			t = &inspect_type;
			r = strata_image_lookup(idx, args[i], &img, &err);
			if (r >= 0)
				r = strata_image_inspect(idx, img, &text, &err);
		}
		/* the library hands the object over as JSON text: templates need it parsed */
		if (r == 0)
			r = gojson_parse(text, strlen(text), "inspect", &obj, &err);
		if (r) {
			if (any && err->code == STRATA_ERR_NOT_FOUND)
				strbuf_addf(&errors, "Error: No such object: %s\n", args[i]);
			else
				strbuf_addf(&errors, "Error: %s\n", err->msg);
			strata_error_free(err);
			continue;
		}
		types[json_array_size(found)] = t;
		json_array_append_new(found, obj);
	}
	if (!ret && tmpl) {
		size_t i;
		json_t *obj;

		json_array_foreach(found, i, obj) {
			struct strata_error *err = NULL;

			/* docker runs the template on its typed struct first, and after a
			 * failure on the raw map with missingkey=error, reporting that */
			if (template_execute_struct(tmpl, obj, types[i], 0, &out, &err) < 0) {
				strata_error_free(err);
				err = NULL;
				if (template_execute(tmpl, obj, TEMPLATE_MISSINGKEY_ERROR, &out, &err) < 0) {
					/* docker goes on with the next image */
					strbuf_addf(&errors, "template parsing error: %s\n", err->msg);
					strata_error_free(err);
					continue;
				}
			}
			strbuf_addch(&out, '\n');
		}
		if (!out.len) /* docker's TemplateInspector.Flush */
			strbuf_addch(&out, '\n');
	} else if (!ret) {
		gojson_encode(&out, found, GOJSON_INDENT);
		strbuf_addch(&out, '\n');
	}
	fwrite(out.buf, 1, out.len, stdout);
	fflush(stdout);
	if (errors.len) {
		cli_put_escaped(stderr, errors.buf);
		ret = 1;
	}
	template_free(tmpl);
	strata_image_index_free(idx);
	strata_store_free(store);
	free(args);
	return ret;
}

int cmd_inspect(int argc, char **argv, struct cli_ctx *ctx)
{
	return inspect(argc, argv, ctx, true);
}

int cmd_image_inspect(int argc, char **argv, struct cli_ctx *ctx)
{
	return inspect(argc, argv, ctx, false);
}
