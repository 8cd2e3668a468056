/*
 * Image manifests as served by registries: Docker schema 2 manifests and
 * manifest lists, OCI image manifests and indexes.  Parsing is strict
 * (RELIABILITY.md §1.6): one parser over exactly the received bytes,
 * duplicate keys rejected, body mediaType consistent with Content-Type, a
 * document never both manifest and index, every digest validated, layer and
 * entry counts bounded, schema 1 refused.
 */
#ifndef STRATA_REGISTRY_MANIFEST_H
#define STRATA_REGISTRY_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/error.h"
#include "util/strbuf.h"

#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_FOREIGN_LAYER "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"

/* The Accept list sent for manifests (NULL-terminated). */
extern const char *const registry_manifest_accept[];

enum registry_manifest_kind {
	REGISTRY_MANIFEST_DOCKER_V2 = 1,
	REGISTRY_MANIFEST_DOCKER_LIST,
	REGISTRY_MANIFEST_OCI,
	REGISTRY_MANIFEST_OCI_INDEX,
};

struct registry_platform {
	char *os;
	char *architecture;
	char *variant;    /* NULL when none */
	char *os_version; /* NULL when none */
};

struct registry_descriptor {
	char *media_type;
	int64_t size;
	char *digest;               /* validated "sha256:<64 hex>" */
	char **urls;                /* foreign layers; never fetched by default */
	size_t n_urls;
	bool has_platform;
	struct registry_platform platform;
};

struct registry_manifest {
	enum registry_manifest_kind kind;
	const char *media_type;     /* static string for kind */
	struct registry_descriptor config;        /* manifests */
	struct registry_descriptor *layers;
	size_t n_layers;
	struct registry_descriptor *manifests;    /* indexes */
	size_t n_manifests;
};

/*
 * Parse and validate buf[0..len).  content_type is the HTTP Content-Type
 * (parameters ignored; NULL or a generic type when unknown, e.g. from a file).
 */
int registry_manifest_parse(const char *buf, size_t len, const char *content_type,
			    struct registry_manifest **out, struct strata_error **err);
void registry_manifest_free(struct registry_manifest *m);

static inline bool registry_manifest_is_index(const struct registry_manifest *m)
{
	return m->kind == REGISTRY_MANIFEST_DOCKER_LIST || m->kind == REGISTRY_MANIFEST_OCI_INDEX;
}
/* True for the four manifest/index media types this module parses. */
bool registry_media_type_is_manifest(const char *mt);
bool registry_media_type_is_index(const char *mt);
/* Known layer media types (gzip, zstd, plain tar, foreign). */
bool registry_media_type_is_layer(const char *mt);

/* ---- platforms ---- */

void registry_platform_release(struct registry_platform *p);
/* "os/arch[/variant]" (as --platform); normalised. */
int registry_platform_parse(const char *spec, struct registry_platform *out,
			    struct strata_error **err);
/* The platform of this machine (uname), normalised. */
void registry_platform_host(struct registry_platform *out);
/* In place: aarch64 -> arm64, x86_64 -> amd64, armhf -> arm/v7, arm -> arm/v7 ... */
void registry_platform_normalize(struct registry_platform *p);
/* "os/arch[/variant]", new string. */
char *registry_platform_format(const struct registry_platform *p);
/*
 * Rank of have for want: 0 best, higher = worse fallback (arm/v8 accepts
 * v7, v6, v5 in that order); -1 when have does not run on want.
 */
int registry_platform_rank(const struct registry_platform *want,
			   const struct registry_platform *have);
/*
 * Pick the entry of index that suits want best (first in list order among
 * equal ranks).  Error "no matching manifest for OS/ARCH in the manifest
 * list entries" (STRATA_ERR_NOT_FOUND) when none does.
 */
int registry_manifest_select(const struct registry_manifest *index,
			     const struct registry_platform *want,
			     const struct registry_descriptor **out, struct strata_error **err);

/*
 * Append the schema 2 manifest exactly as dockerd pushes it: 3-space
 * indent, keys schemaVersion, mediaType, config, layers; descriptors
 * mediaType, size, digest[, urls]; no trailing newline.
 */
void registry_manifest_encode_schema2(struct strbuf *sb, const struct registry_descriptor *config,
				      const struct registry_descriptor *layers, size_t n_layers);
/*
 * Append an OCI image manifest in the same layout: schemaVersion 2,
 * mediaType application/vnd.oci.image.manifest.v1+json, config, layers;
 * the descriptors' media types are the caller's (OCI config and layer
 * types).  Pushed for images that were pulled as OCI.
 */
void registry_manifest_encode_oci(struct strbuf *sb, const struct registry_descriptor *config,
				  const struct registry_descriptor *layers, size_t n_layers);

#endif
