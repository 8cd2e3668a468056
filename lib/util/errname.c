/* Names of the error codes, for logs and language bindings. */
#include "strata/error.h"

const char *strata_error_name(int code)
{
	static const char *const names[] = {
#define N(c) [c] = #c
		N(STRATA_ERR_IO), N(STRATA_ERR_NOSPC), N(STRATA_ERR_NOT_FOUND), N(STRATA_ERR_EXISTS),
		N(STRATA_ERR_INVALID), N(STRATA_ERR_TOO_LARGE), N(STRATA_ERR_UNSAFE_PATH),
		N(STRATA_ERR_DIGEST_MISMATCH), N(STRATA_ERR_CORRUPT), N(STRATA_ERR_BUSY),
		N(STRATA_ERR_CONFLICT), N(STRATA_ERR_NET), N(STRATA_ERR_AUTH), N(STRATA_ERR_UNSUPPORTED),
		N(STRATA_ERR_INTERRUPTED),
#undef N
	};

	if (code < 0)
		code = -code;
	if (code <= 0 || (size_t)code >= sizeof(names) / sizeof(names[0]) || !names[code])
		return "STRATA_ERR_UNKNOWN";
	return names[code];
}
