/*
 * Size and count limits shared by every reader of untrusted input, so that
 * a registry, an archive and a store are held to the same bounds.
 */
#ifndef STRATA_UTIL_LIMITS_H
#define STRATA_UTIL_LIMITS_H

#define LIMIT_LAYERS 125             /* dockerd's maxLayerDepth */
#define LIMIT_CONFIG (8u << 20)      /* one image config (or legacy v1 JSON) */
#define LIMIT_MANIFEST (4u << 20)    /* one manifest or index */
#define LIMIT_INDEX_ENTRIES 10000    /* manifests listed by one index */
#define LIMIT_INDEX_DEPTH 4          /* index -> index -> ... -> manifest */

#endif
