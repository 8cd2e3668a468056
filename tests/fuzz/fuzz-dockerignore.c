/* .dockerignore: patterns parsed, then matched against paths from the same input. */
#include <stdlib.h>

#include "build/dockerignore.h"
#include "fuzz.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct build_ignore *ig = NULL;
	struct strata_error *err = NULL;
	const uint8_t *split = memchr(data, 0, size);
	size_t plen = split ? (size_t)(split - data) : size;

	/* before the first NUL: the file; after it: NUL-separated paths to match */
	if (build_ignore_parse((const char *)data, plen, &ig, &err) == 0) {
		const uint8_t *p = split ? split + 1 : data + size;

		build_ignore_has_exceptions(ig);
		while (p < data + size) {
			const uint8_t *end = memchr(p, 0, (size_t)(data + size - p));
			size_t n = end ? (size_t)(end - p) : (size_t)(data + size - p);
			char *path = xstrndup((const char *)p, n);

			build_ignore_match(ig, path);
			free(path);
			p += n + 1;
		}
		build_ignore_free(ig);
	}
	strata_error_free(err);
	return 0;
}
