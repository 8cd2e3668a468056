/*
 * The public side of docker login / logout (strata/registry.h): the check
 * dockerd does against the registry, and the docker CLI's credential store.
 */
#include <string.h>

#include <jansson.h>

#include "json/gojson.h"
#include "registry/auth.h"
#include "registry/config.h"
#include "registry/registry.h"
#include "strata/registry.h"
#include "util/alloc.h"
#include "util/cleanup.h"

void strata_credentials_release(struct strata_credentials *c)
{
	struct registry_credentials r = { c->username, c->password, c->identity_token };

	registry_credentials_release(&r);
	memset(c, 0, sizeof(*c));
}

static char *nonempty_dup(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

int strata_credentials_decode_header(const char *value, struct strata_credentials *out,
				     struct strata_error **err)
{
	_cleanup_free_ char *std = xstrdup(value);
	_cleanup_json_ json_t *cfg = NULL;
	struct strata_error *perr = NULL;
	const char *auth;
	char *dec = NULL;
	size_t len;

	memset(out, 0, sizeof(*out));
	/* base64url's alphabet into the standard one the decoder reads */
	for (char *p = std; *p; p++)
		*p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
	if (registry_base64_decode(std, &dec, &len) < 0)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "X-Registry-Auth: not base64url");
	explicit_bzero(std, strlen(std));
	if (gojson_parse(dec, len, "X-Registry-Auth", &cfg, &perr) < 0 || !json_is_object(cfg)) {
		explicit_bzero(dec, len);
		free(dec);
		strata_error_free(perr);
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "X-Registry-Auth: not a JSON object");
	}
	explicit_bzero(dec, len);
	free(dec);
	out->username = nonempty_dup(gojson_get_string(cfg, "username"));
	out->password = nonempty_dup(gojson_get_string(cfg, "password"));
	out->identity_token = nonempty_dup(gojson_get_string(cfg, "identitytoken"));
	auth = gojson_get_string(cfg, "auth");
	if (!out->username && !out->password && auth && *auth &&
	    registry_base64_decode(auth, &dec, &len) == 0) {
		char *colon = memchr(dec, ':', len);

		if (colon) {
			out->username = xstrndup(dec, (size_t)(colon - dec));
			out->password = xstrdup(colon + 1);
		}
		explicit_bzero(dec, len);
		free(dec);
	}
	/* the secrets' copies in the parsed document */
	json_object_clear(cfg);
	return out->username || out->password || out->identity_token;
}

char *strata_credentials_key(const char *server)
{
	return registry_auth_key(server);
}

int strata_credentials_get(const char *docker_config_dir, const char *server,
			   struct strata_credentials *out, struct strata_error **err)
{
	_cleanup_free_ char *key = registry_auth_key(server);
	struct registry_credentials r = { 0 };
	int ret;

	memset(out, 0, sizeof(*out));
	ret = registry_credentials_get(docker_config_dir, key, &r, err);
	if (ret > 0) {
		out->username = r.username;
		out->password = r.password;
		out->identity_token = r.identity_token;
	}
	return ret;
}

int strata_credentials_store(const char *docker_config_dir, const char *server,
			     const struct strata_credentials *c, struct strata_error **err)
{
	_cleanup_free_ char *key = registry_auth_key(server);
	const struct registry_credentials r = { c->username, c->password, c->identity_token };

	return registry_credentials_store(docker_config_dir, key, &r, err);
}

int strata_logout(const char *docker_config_dir, const char *server, struct strata_error **err)
{
	_cleanup_free_ char *key = registry_auth_key(server);

	return registry_credentials_erase(docker_config_dir, key, err);
}

int strata_login(const char *server, const struct strata_login_options *opts,
		 struct strata_error **err)
{
	_cleanup_free_ char *key = registry_auth_key(server);
	/* the client reaches Docker Hub's registry host for "docker.io" */
	_cleanup_free_ char *host = registry_host_is_hub(key) ? xstrdup("docker.io")
							      : registry_auth_key_host(key);
	const struct registry_credentials creds = { (char *)opts->username, (char *)opts->password, NULL };
	struct registry_client_options copts = { .credentials = &creds };
	struct registry_client *client = NULL;
	struct registry_config cfg;
	int ret;

	registry_config_init(&cfg);
	ret = registry_config_load(&cfg, opts->config_path, err);
	if (ret >= 0) {
		copts.config = &cfg;
		ret = registry_client_new(host, &copts, &client, err);
	}
	if (ret >= 0)
		ret = registry_login(client, err);
	registry_client_free(client);
	registry_config_release(&cfg);
	return ret < 0 ? ret : 0;
}
