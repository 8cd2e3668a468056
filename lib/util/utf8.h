/* UTF-8 decoding with Go's rules (utf8.DecodeRune, utf8.Valid). */
#ifndef STRATA_UTIL_UTF8_H
#define STRATA_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Decode the rune at str (len > 0 bytes): its length, *r = the code point.
 * An invalid or truncated sequence (overlong, surrogate, past U+10FFFF)
 * gives 1 and U+FFFD, as Go does; a real U+FFFD is 3 bytes long.
 */
size_t utf8_decode_rune(const char *str, size_t len, int32_t *r);

/* utf8.Valid: every sequence decodes. */
bool utf8_valid(const char *s, size_t len);

#endif
