/* The Dockerfile parser (lines, continuations, escape and syntax directives, heredoc-free JSON forms). */
#include <stdlib.h>

#include "build/dockerfile.h"
#include "fuzz.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct build_dockerfile *df = NULL;
	struct strata_error *err = NULL;
	char *line = xstrndup((const char *)data, size);
	char **argv = NULL, **flags = NULL;
	size_t argc = 0, nflags = 0;
	const char *args;
	bool json;

	if (build_dockerfile_parse((const char *)data, size, &df, &err) == 0)
		build_dockerfile_free(df);
	strata_error_free(err);
	err = NULL;
	/* the helpers instructions use on their arguments */
	build_split_flags(line, &flags, &nflags, &args);
	for (size_t i = 0; i < nflags; i++)
		free(flags[i]);
	free(flags);
	if (build_parse_maybe_json(line, &argv, &argc, &json, &err) == 0) {
		for (size_t i = 0; i < argc; i++)
			free(argv[i]);
		free(argv);
	}
	strata_error_free(err);
	free(line);
	return 0;
}
