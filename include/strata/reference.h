/*
 * Image references parsed and normalised exactly as Docker does
 * (github.com/docker/distribution/reference): "alpine" is
 * docker.io/library/alpine:latest; registry hosts with ports; tags; digests.
 */
#ifndef STRATA_REFERENCE_H
#define STRATA_REFERENCE_H

#include <stdbool.h>

#include "strata/error.h"
#include "strata/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct strata_ref {
	char *domain; /* "docker.io", "127.0.0.1:5000" */
	char *path;   /* "library/alpine" */
	char *tag;    /* NULL when none */
	char *digest; /* "sha256:<hex>", NULL when none */
};

/* ParseNormalizedNamed: errors read "invalid reference format..." as docker's. */
STRATA_PUBLIC int strata_ref_parse(const char *s, struct strata_ref *out, struct strata_error **err);
STRATA_PUBLIC void strata_ref_release(struct strata_ref *ref);

/*
 * A name to tag a new image with (import, commit, build, squash): parsed,
 * "latest" when it has no tag, and a digest refused as dockerd does.
 */
STRATA_PUBLIC int strata_ref_parse_tag(const char *s, struct strata_ref *out, struct strata_error **err);

/* Add the "latest" tag when neither a tag nor a digest is present. */
STRATA_PUBLIC void strata_ref_default_tag(struct strata_ref *ref);

/* "docker.io/library/alpine" */
STRATA_PUBLIC char *strata_ref_full_name(const struct strata_ref *ref);
/* "alpine", "127.0.0.1:5000/ref/seed" */
STRATA_PUBLIC char *strata_ref_familiar_name(const struct strata_ref *ref);
/* familiar name plus ":tag" and/or "@digest" */
STRATA_PUBLIC char *strata_ref_familiar_string(const struct strata_ref *ref);

/* Docker's tag grammar: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
STRATA_PUBLIC bool strata_ref_tag_valid(const char *tag);
/* Docker's repository path grammar: lower-case components joined by '/' (no domain). */
STRATA_PUBLIC bool strata_ref_path_valid(const char *path);

/* True for 64 lowercase hex digits (a full image ID without "sha256:"). */
STRATA_PUBLIC bool strata_ref_is_full_id(const char *s);

/*
 * reference.FamiliarMatch: shell-style pattern matched against the familiar
 * string of ref, and against its familiar name when the pattern has no tag.
 */
STRATA_PUBLIC bool strata_ref_familiar_match(const char *pattern, const struct strata_ref *ref);

#ifdef __cplusplus
}
#endif

#endif
