/*
 * Registry authentication pieces that need no network:
 *  - WWW-Authenticate parsing (RFC 7235: several challenges in one header,
 *    quoted strings with escapes, case-insensitive scheme and names);
 *  - Docker's client credentials: config.json in a docker config folder
 *    (the front end's $DOCKER_CONFIG or ~/.docker; NULL: none) "auths"
 *    entries (base64 "auth", or "username"/"password", "identitytoken"),
 *    "credsStore" and "credHelpers" through docker-credential-HELPER
 *    get|store|erase (found on the process's PATH).
 *
 * Credentials are looked up by the exact normalised registry key (the host,
 * or "https://index.docker.io/v1/" for Docker Hub), never by falling back to
 * another host's entry (CVE-2021-41092).  No function here puts a secret in
 * an error message.
 */
#ifndef STRATA_REGISTRY_AUTH_H
#define STRATA_REGISTRY_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "strata/error.h"

#define REGISTRY_HUB_KEY "https://index.docker.io/v1/"
#define REGISTRY_HUB_HOST "registry-1.docker.io"

struct registry_challenge {
	char *scheme;  /* lower case: "basic", "bearer", ... */
	char **names;  /* lower case parameter names */
	char **values;
	size_t n;
};

/* Parse one header value (may hold several challenges); *out is owned. */
int registry_challenges_parse(const char *header, struct registry_challenge **out,
			      size_t *n, struct strata_error **err);
void registry_challenges_free(struct registry_challenge *c, size_t n);
/* Value of parameter name in c, or NULL. */
const char *registry_challenge_param(const struct registry_challenge *c, const char *name);

struct registry_credentials {
	char *username;
	char *password;
	char *identity_token; /* helper "<token>" user / "identitytoken" */
};

void registry_credentials_release(struct registry_credentials *c);
static inline bool registry_credentials_empty(const struct registry_credentials *c)
{
	return !c->username && !c->password && !c->identity_token;
}

/* True for docker.io, index.docker.io, registry-1.docker.io (and the hub key). */
bool registry_host_is_hub(const char *host);
/* The config.json / helper key for a registry host or a SERVER argument (new string). */
char *registry_auth_key(const char *server);
/* Host part of a key ("https://h:5000/v1/" -> "h:5000"), new string. */
char *registry_auth_key_host(const char *key);

/* DIR/config.json (new string). */
char *registry_docker_config_path(const char *dir);

/*
 * Look credentials for key up in the docker config folder dir:
 * credHelpers[key], else credsStore, else the "auths" entry.  Returns 1 and
 * fills *out when found, 0 when there are none (always for dir NULL).
 */
int registry_credentials_get(const char *dir, const char *key, struct registry_credentials *out,
			     struct strata_error **err);
/*
 * Store credentials for key: through the helper when one applies, else as a
 * base64 "auth" in dir/config.json (atomic, mode 0600, other keys kept).
 */
int registry_credentials_store(const char *dir, const char *key, const struct registry_credentials *c,
			       struct strata_error **err);
/* Remove them; returns 1 when something was removed, 0 when none were stored. */
int registry_credentials_erase(const char *dir, const char *key, struct strata_error **err);

/*
 * Base64 (standard alphabet, padded).  decode returns -STRATA_ERR_INVALID on
 * bad input and sets no error: its callers name what held the bad text.
 */
char *registry_base64_encode(const void *data, size_t len);
int registry_base64_decode(const char *s, char **out, size_t *len);

#endif
