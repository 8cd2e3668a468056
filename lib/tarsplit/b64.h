/* Standard base64 with padding (Go's base64.StdEncoding, used by encoding/json for []byte). */
#ifndef STRATA_TARSPLIT_B64_H
#define STRATA_TARSPLIT_B64_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

void b64_encode(struct strbuf *sb, const void *data, size_t len);
/* Append the decoded bytes to out; false on anything but canonical padded base64. */
bool b64_decode(const char *s, size_t len, struct strbuf *out);

#endif
