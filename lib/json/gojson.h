/*
 * JSON exactly as Go's encoding/json writes it (Docker's files and output):
 * HTML-safe escapes (\u003c \u003e \u0026), U+2028/2029 escaped, compact or
 * MarshalIndent with 4 spaces, object keys in insertion order or sorted
 * bytewise (Go maps).  Parsing goes through jansson with size limits.
 */
#ifndef STRATA_JSON_GOJSON_H
#define STRATA_JSON_GOJSON_H

#include <stddef.h>
#include <jansson.h>

#include "strata/error.h"
#include "util/strbuf.h"

enum gojson_flags {
	GOJSON_SORT_KEYS = 1 << 0, /* every object is a Go map */
	GOJSON_INDENT = 1 << 1,    /* json.MarshalIndent(v, "", "    ") */
};

void gojson_encode(struct strbuf *sb, const json_t *v, unsigned flags);
/* A copy of obj with its keys in bytewise order, one level deep: a Go map inside a struct marshalled in order. */
json_t *gojson_sorted_copy(const json_t *obj);
/* Append one Go-escaped JSON string literal (with quotes). */
void gojson_encode_string(struct strbuf *sb, const char *s, size_t len);

/* Parse buf[0..len) as JSON; what names the document in errors. */
int gojson_parse(const char *buf, size_t len, const char *what, json_t **out,
		 struct strata_error **err);

/* Typed getters that return NULL when the key is missing or of another type. */
const char *gojson_get_string(const json_t *obj, const char *key);

#endif
