/*
 * Functions lib/ must not call (git's banned.h): unbounded copies, formats
 * without a size, parsers without error reporting and the non-reentrant
 * tokenizer.  Use strbuf, memcpy with a checked length, snprintf/xasprintf,
 * strtol/strtoll with an end pointer, and strspn/strcspn or memchr.
 *
 * The Makefile force-includes this header into every lib/ object, ahead of
 * the file's own includes.  It includes the system headers that declare
 * these functions first, so their declarations are seen before the macros
 * exist and the headers' include guards keep later #includes from
 * re-reading them.  A use expands to an undeclared identifier naming the
 * function, which stops the build.
 */
#ifndef STRATA_UTIL_BANNED_H
#define STRATA_UTIL_BANNED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef strtok_r
#define strtok_r(x, y, z) BANNED(strtok_r)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef atoll
#define atoll(x) BANNED(atoll)
#undef gets
#define gets(x) BANNED(gets)

#endif
