#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "format/template.h"
#include "json/gojson.h"
#include "strata/image.h"
#include "strata/store.h"
#include "util/cleanup.h"

static const struct command_usage usage = {
	"inspect", "strata inspect [OPTIONS] IMAGE [IMAGE...]",
	"Display detailed information on one or more images",
	1, -1,
};

int cmd_inspect(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *format = NULL;
	const struct flag flags[] = {
		{ "format", 'f', FLAG_STRING, &format, "Format the output using the given Go template" },
		{ 0 },
	};
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct template *tmpl = NULL;
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	_cleanup_strbuf_ struct strbuf errors = STRBUF_INIT;
	_cleanup_json_ json_t *found = json_array();
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
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
	for (int i = 0; !ret && i < nargs; i++) {
		struct strata_error *err = NULL;
		struct strata_image *img;
		_cleanup_free_ char *text = NULL;
		json_t *obj;

		/* the library hands the object over as JSON text: templates need it parsed */
		if (strata_image_lookup(idx, args[i], &img, &err) < 0 ||
		    strata_image_inspect(idx, img, &text, &err) < 0 ||
		    gojson_parse(text, strlen(text), "image inspect", &obj, &err) < 0) {
			strbuf_addf(&errors, "Error: %s\n", err->msg);
			strata_error_free(err);
			continue;
		}
		json_array_append_new(found, obj);
	}
	if (!ret && tmpl) {
		size_t i;
		json_t *obj;

		json_array_foreach(found, i, obj) {
			struct strata_error *err = NULL;

			/* docker runs the template on its typed struct first, and after a
			 * failure on the raw map with missingkey=error, reporting that */
			if (template_execute_typed(tmpl, obj, "types.ImageInspect", 0, &out, &err) < 0) {
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
