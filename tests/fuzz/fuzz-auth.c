/*
 * Registry authentication input: WWW-Authenticate challenges, a token
 * server's JSON answer and the base64 of a docker config "auth" entry.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "registry/auth.h"
#include "registry/registry.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	struct registry_challenge *ch = NULL;
	struct strata_error *err = NULL;
	char *tok = NULL, *dec = NULL;
	size_t n = 0, len = 0;
	int expires = 0;

	if (registry_challenges_parse(s, &ch, &n, &err) == 0)
		registry_challenges_free(ch, n);
	strata_error_free(err);
	err = NULL;
	if (registry_token_parse((const char *)data, size, &tok, &expires, &err) == 0)
		free(tok);
	strata_error_free(err);
	if (registry_base64_decode(s, &dec, &len) == 0)
		free(dec);
	free(s);
	return 0;
}
