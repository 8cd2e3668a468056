/*
 * --format templates: the Go text/template parser and the executor, on an
 * image's inspect object (plain, typed as docker's structs, missingkey=error)
 * and through the table formatter.
 */
#include <stdlib.h>

#include "format/template.h"
#include "fuzz.h"
#include "util/alloc.h"

static const char dot_json[] =
	"{\"Id\":\"sha256:156c48630dd2\",\"RepoTags\":[\"seed-image:latest\",\"b:1\"],"
	"\"Size\":1982359,\"Os\":\"linux\",\"Ratio\":1.5,\"Flag\":true,\"Nothing\":null,"
	"\"Config\":{\"Env\":[\"PATH=/usr/bin\"],\"Cmd\":[\"/bin/sh\"],\"Entrypoint\":null,"
	"\"Labels\":{\"name\":\"seed\"},\"Volumes\":null,\"WorkingDir\":\"/app\"},"
	"\"RootFS\":{\"Type\":\"layers\",\"Layers\":[\"sha256:7ef3\"]}}";

static const struct template_type config_type = { "*container.Config", NULL };
static const struct template_field fields[] = { { "Config", &config_type }, { NULL } };
static const struct template_type inspect_type = { "types.ImageInspect", fields };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	json_t *dot = json_loads(dot_json, 0, NULL);
	json_t *rows = json_pack("[O,O]", dot, dot);
	struct strata_error *err = NULL;
	struct template *t = NULL;
	struct strbuf out = STRBUF_INIT;

	if (template_parse(text, &t, &err) == 0) {
		template_execute(t, dot, 0, &out, &err);
		strata_error_free(err);
		err = NULL;
		template_execute(t, dot, TEMPLATE_MISSINGKEY_ERROR, &out, &err);
		strata_error_free(err);
		err = NULL;
		template_execute_struct(t, dot, &inspect_type, 0, &out, &err);
		strata_error_free(err);
		err = NULL;
		template_free(t);
	}
	strata_error_free(err);
	err = NULL;
	strbuf_reset(&out);
	/* docker's formatter: "table" prefix, \t and \n escapes, header row */
	format_render(&out, text, "*formatter.imageContext", dot, rows, &err);
	strata_error_free(err);
	strbuf_release(&out);
	json_decref(rows);
	json_decref(dot);
	free(text);
	return 0;
}
