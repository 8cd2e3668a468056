/* Allocation helpers that never return NULL: out of memory aborts (git, crun). */
#ifndef STRATA_UTIL_ALLOC_H
#define STRATA_UTIL_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* Report out of memory and abort: nothing sane remains to do. */
__attribute__((noreturn)) void xalloc_die(void);
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Grow *arr (of *alloc elements of elem_size) to hold at least need elements. */
#define ALLOC_GROW(arr, need, alloc)                                             \
	do {                                                                     \
		if ((need) > (alloc)) {                                          \
			(alloc) = (need) > (alloc) * 2 ? (need) : (alloc) * 2;   \
			(arr) = xrealloc((arr), (alloc) * sizeof(*(arr)));       \
		}                                                                \
	} while (0)

#endif
