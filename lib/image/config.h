/*
 * Image configs strata creates (import, commit, build), serialised exactly
 * as dockerd 20.10 marshals them: top-level keys in alphabetical order,
 * container.Config fields in Go struct order, Go's HTML-safe escaping,
 * compact, no trailing newline.
 */
#ifndef STRATA_IMAGE_CONFIG_H
#define STRATA_IMAGE_CONFIG_H

#include <jansson.h>

#include "strata/error.h"
#include "util/strbuf.h"

/* The docker_version dockerd 20.10 (Debian's) records in configs it creates. */
#define CONFIG_DOCKER_VERSION "20.10.24+dfsg1"

/* An empty container.Config as dockerd writes it (Env, Cmd ... null). */
json_t *config_container_new(void);

/*
 * Apply one Dockerfile-style change ("CMD [\"sh\"]", "ENV A=1", "LABEL k=v",
 * "EXPOSE 80/tcp", "USER u", "WORKDIR /w", "VOLUME /v", "ENTRYPOINT x",
 * "STOPSIGNAL s") to a container.Config, as docker import -c does.
 */
int config_apply_change(json_t *config, const char *change, struct strata_error **err);

/* Re-order a container.Config's keys into Go struct order (maps sorted). */
json_t *config_container_ordered(const json_t *config);

/* Serialise an image config object: top-level keys sorted, nested order kept. */
void config_encode(struct strbuf *out, const json_t *image);

#endif
