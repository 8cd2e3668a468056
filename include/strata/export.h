/*
 * STRATA_PUBLIC marks the functions of the library's API.  libstrata is
 * built with -fvisibility=hidden, so these are the only symbols its shared
 * object exports (lib/libstrata.map versions them).
 */
#ifndef STRATA_EXPORT_H
#define STRATA_EXPORT_H

#if defined(__GNUC__) && __GNUC__ >= 4
#define STRATA_PUBLIC __attribute__((visibility("default")))
#else
#define STRATA_PUBLIC
#endif

#endif
