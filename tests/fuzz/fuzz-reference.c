/* Image references as docker's reference.ParseNormalizedNamed reads them. */
#include <stdlib.h>

#include "fuzz.h"
#include "strata/reference.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	struct strata_error *err = NULL;
	struct strata_ref ref;

	if (strata_ref_parse(s, &ref, &err) == 0) {
		free(strata_ref_full_name(&ref));
		free(strata_ref_familiar_name(&ref));
		free(strata_ref_familiar_string(&ref));
		strata_ref_familiar_match(s, &ref);
		strata_ref_default_tag(&ref);
		strata_ref_release(&ref);
	}
	strata_ref_tag_valid(s);
	strata_ref_path_valid(s);
	strata_ref_is_full_id(s);
	strata_error_free(err);
	free(s);
	return 0;
}
