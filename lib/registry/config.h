/*
 * strata's own configuration file (the subset of dockerd's daemon.json that
 * concerns registries).  JSON object; unknown keys are ignored so one file can
 * carry settings of other modules; a missing file means the defaults.
 *
 *   {
 *     "insecure-registries": ["myreg:5000", "10.0.0.0/8"],
 *     "registry-mirrors": ["https://mirror.example"],
 *     "max-concurrent-downloads": 3,
 *     "max-concurrent-uploads": 5
 *   }
 */
#ifndef STRATA_REGISTRY_CONFIG_H
#define STRATA_REGISTRY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "strata/error.h"

#define REGISTRY_CONFIG_DEFAULT_PATH "/etc/strata/config.json"
#define REGISTRY_CONFIG_MAX_SIZE (1024 * 1024)
#define REGISTRY_DEFAULT_DOWNLOADS 3
#define REGISTRY_DEFAULT_UPLOADS 5

struct registry_config {
	char **insecure;      /* "host[:port]" entries, as written */
	size_t n_insecure;
	char **mirrors;       /* URLs without trailing '/' */
	size_t n_mirrors;
	int max_downloads;    /* >= 1 */
	int max_uploads;      /* >= 1 */
};

/* Set the defaults (no insecure registries, no mirrors, 3 / 5). */
void registry_config_init(struct registry_config *cfg);
void registry_config_release(struct registry_config *cfg);

/*
 * Load path (NULL = REGISTRY_CONFIG_DEFAULT_PATH) into cfg, which must have
 * been initialised.  A missing file leaves the defaults; a file that is not
 * valid JSON or holds a value of the wrong type is an error naming the key.
 */
int registry_config_load(struct registry_config *cfg, const char *path,
			 struct strata_error **err);
/* Same, from bytes; what names the document in errors. */
int registry_config_parse(struct registry_config *cfg, const char *buf, size_t len,
			  const char *what, struct strata_error **err);

/*
 * True when host ("name", "name:port", "1.2.3.4:5000", "[::1]:5000") may be
 * reached over plain HTTP: loopback addresses and "localhost" always, else
 * when it equals an "insecure-registries" entry or its address (literal or
 * resolved) lies in one of its CIDR ranges.
 */
bool registry_config_is_insecure(const struct registry_config *cfg, const char *host);

/* True for 127.0.0.0/8, ::1 and "localhost" (port ignored). */
bool registry_host_is_loopback(const char *host);

/*
 * Split "name[:port]" / "[v6]:port" into a newly allocated name (brackets
 * removed) and the port (0 when none).  Returns -STRATA_ERR_INVALID on a
 * malformed host and sets no error: its callers name the host in their own.
 */
int registry_host_split(const char *host, char **name, int *port);

#endif
