/*
 * The public side of docker login / logout (strata/registry.h): the check
 * dockerd does against the registry, and the docker CLI's credential store.
 */
#include <string.h>

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
