/*
 * The registry client against a real docker-registry on 127.0.0.1 (plain,
 * Basic htpasswd, Bearer token), started by tests/fixtures/registry/launch.py.
 * Skipped when docker-registry or python3 is missing.
 */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "digest/digest.h"
#include "fixtures.h"
#include "image/manifest.h"
#include "registry/registry.h"
#include "tap.h"
#include "util/alloc.h"
#include "util/strbuf.h"

#define USER "strata-user"
#define PASS "Pa55-secret-w0rd"

static bool have(const char *prog)
{
	char *cmd = xasprintf("command -v %s >/dev/null 2>&1", prog);
	int r = system(cmd);

	free(cmd);
	return r == 0;
}

struct reg {
	pid_t pid;
	char host[256];
};

static int start_registry(const char *dir, const char *mode, struct reg *r)
{
	char *env = xasprintf("%s/env", dir);
	char *launch = xasprintf("%s/registry/launch.py", fixtures_dir());
	pid_t pid = fork();

	if (pid == 0) {
		execlp("python3", "python3", launch, "--dir", dir, "--mode", mode, "--user", USER,
		       "--password", PASS, "--lifetime", "300", (char *)NULL);
		_exit(127);
	}
	free(launch);
	r->pid = pid;
	for (int i = 0; i < 300; i++) {
		FILE *f = fopen(env, "r");
		char line[256];

		if (f) {
			while (fgets(line, sizeof(line), f))
				if (!strncmp(line, "REGISTRY=", 9)) {
					line[strcspn(line, "\n")] = 0;
					snprintf(r->host, sizeof(r->host), "%s", line + 9);
				}
			fclose(f);
			if (r->host[0]) {
				free(env);
				return 0;
			}
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
		usleep(100000);
	}
	free(env);
	return -1;
}

static void stop_registry(struct reg *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGTERM);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
}

struct src {
	const char *data;
	size_t len, off;
};

static ssize_t src_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	(void)err;
	struct src *s = cookie;
	size_t n = s->len - s->off;

	if (n > len)
		n = len;
	if (n > 7)
		n = 7; /* several reads: exercises chunked streaming */
	memcpy(buf, s->data + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static int sink(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	(void)err;
	strbuf_add(cookie, data, len);
	return 0;
}

static char *digest_of(const void *data, size_t len)
{
	char hex[STRATA_HEX_LEN + 1];

	sha256_hex(data, len, hex);
	return xasprintf("sha256:%s", hex);
}

static bool no_secret(const struct strata_error *e)
{
	return !e || !strstr(e->msg, PASS);
}

static void scenario(const char *mode, const char *host)
{
	struct registry_credentials creds = { .username = USER, .password = PASS };
	struct registry_client_options o = { .credentials = &creds, .push = true, .retry_delay_ms = 50 };
	struct registry_client *c = NULL;
	struct strata_error *err = NULL;
	const char *layer = "layer bytes: 0123456789abcdefghijklmnopqrstuvwxyz";
	const char *config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
	char *ldig = digest_of(layer, strlen(layer));
	char *cdig = digest_of(config, strlen(config));
	struct src s = { layer, strlen(layer), 0 };
	struct strbuf got = STRBUF_INIT, man = STRBUF_INIT;
	struct registry_descriptor cd = { .media_type = MT_DOCKER_CONFIG, .size = (int64_t)strlen(config), .digest = cdig };
	struct registry_descriptor ld = { .media_type = MT_DOCKER_LAYER, .size = (int64_t)strlen(layer), .digest = ldig };
	char *bytes = NULL, *mt = NULL, *dg = NULL, *pdg = NULL, *loc = NULL, **tags = NULL;
	size_t len = 0, ntags = 0;
	int64_t size = -1;
	int r;

#define CHECK(expr, ...)                                                      \
	do {                                                                  \
		r = (expr);                                                   \
		ok(r >= 0, "%s: " __VA_ARGS__);                               \
		if (r < 0 && err)                                             \
			printf("#   %s\n", err->msg);                     \
		strata_error_free(err);                                       \
		err = NULL;                                                   \
	} while (0)

	CHECK(registry_client_new(host, &o, &c, &err), "client", mode);
	if (!c)
		return;
	CHECK(registry_login(c, &err), "login with good credentials", mode);
	CHECK(registry_blob_exists(c, "strata/one", ldig, NULL, &err), "HEAD unknown blob", mode);
	ok(r == 0, "%s: unknown blob reported absent", mode);
	CHECK(registry_blob_upload(c, "strata/one", ldig, src_read, &s, NULL, NULL, &err),
	      "streamed upload (POST, chunked PATCH, PUT)", mode);
	CHECK(registry_blob_exists(c, "strata/one", ldig, &size, &err), "HEAD blob", mode);
	ok(r == 1 && size == (int64_t)strlen(layer), "%s: blob exists with its size (%lld)", mode,
	   (long long)size);
	CHECK(registry_blob_mount(c, "strata/two", ldig, "strata/one", &loc, &err), "mount", mode);
	ok(r == 1 && !loc, "%s: mounted from strata/one", mode);
	CHECK(registry_blob_exists(c, "strata/two", ldig, NULL, &err), "HEAD mounted blob", mode);
	ok(r == 1, "%s: mounted blob present in strata/two", mode);
	{
		char *cfgdig_missing = digest_of("nope", 4);

		CHECK(registry_blob_mount(c, "strata/two", cfgdig_missing, "strata/one", &loc, &err),
		      "mount of a missing blob", mode);
		ok(r == 0 && loc && strstr(loc, "/v2/strata/two/blobs/uploads/"),
		   "%s: mount refused -> upload session location", mode);
		free(loc);
		loc = NULL;
		free(cfgdig_missing);
	}
	CHECK(registry_blob_upload_buf(c, "strata/two", cdig, config, strlen(config), &err),
	      "config upload", mode);
	registry_manifest_encode_schema2(&man, &cd, &ld, 1);
	CHECK(registry_put_manifest(c, "strata/two", "v1", man.buf, man.len, MT_DOCKER_MANIFEST, &pdg,
				    &err), "PUT manifest", mode);
	CHECK(registry_put_manifest(c, "strata/two", "v2", man.buf, man.len, MT_DOCKER_MANIFEST, NULL,
				    &err), "PUT manifest second tag", mode);
	CHECK(registry_get_manifest(c, "strata/two", "v1", NULL, &bytes, &len, &mt, &dg, &err),
	      "GET manifest by tag (HEAD + GET by digest)", mode);
	ok(bytes && len == man.len && !memcmp(bytes, man.buf, len), "%s: manifest bytes round-trip", mode);
	ok(dg && pdg && !strcmp(dg, pdg), "%s: digest matches the pushed one", mode);
	ok(mt && !strcmp(mt, MT_DOCKER_MANIFEST), "%s: media type %s", mode, mt ? mt : "");
	free(bytes);
	free(mt);
	bytes = mt = NULL;
	CHECK(registry_get_manifest(c, "strata/two", pdg ? pdg : "sha256:x", NULL, &bytes, &len, NULL,
				    NULL, &err), "GET manifest by digest", mode);
	free(bytes);
	bytes = NULL;
	r = registry_get_manifest(c, "strata/two", "nope", NULL, &bytes, &len, NULL, NULL, &err);
	ok(r == -STRATA_ERR_NOT_FOUND && err && strstr(err->msg, "manifest unknown"),
	   "%s: unknown tag -> %s", mode, err ? err->msg : "");
	strata_error_free(err);
	err = NULL;
	CHECK(registry_blob_get(c, "strata/two", ldig, 0, sink, &got, &err), "GET blob", mode);
	ok(got.len == strlen(layer) && !memcmp(got.buf, layer, got.len), "%s: blob content", mode);
	strbuf_reset(&got);
	CHECK(registry_blob_get(c, "strata/two", ldig, 13, sink, &got, &err), "GET blob from offset 13", mode);
	ok(got.len == strlen(layer) - 13 && !memcmp(got.buf, layer + 13, got.len),
	   "%s: Range resume content", mode);
	CHECK(registry_blob_get_buf(c, "strata/two", cdig, 1 << 20, &bytes, &len, &err), "config to memory",
	      mode);
	ok(bytes && len == strlen(config), "%s: config bytes", mode);
	free(bytes);
	bytes = NULL;
	r = registry_blob_get_buf(c, "strata/two", cdig, 10, &bytes, &len, &err);
	ok(r == -STRATA_ERR_TOO_LARGE, "%s: capped buffer enforced (%s)", mode, err ? err->msg : "");
	strata_error_free(err);
	err = NULL;
	CHECK(registry_list_tags(c, "strata/two", &tags, &ntags, &err), "list tags", mode);
	ok(ntags == 2 && !strcmp(tags[0], "v1") && !strcmp(tags[1], "v2"), "%s: tags v1 v2", mode);
	registry_tags_free(tags, ntags);
	registry_client_free(c);
	c = NULL;

	if (strcmp(mode, "plain")) {
		struct registry_credentials bad = { .username = USER, .password = "wrong-" PASS };
		struct registry_client_options bo = { .credentials = &bad };
		struct registry_client_options ao = { .anonymous = true };

		CHECK(registry_client_new(host, &bo, &c, &err), "client with a wrong password", mode);
		r = registry_login(c, &err);
		ok(r == -STRATA_ERR_AUTH && err && strstr(err->msg, "unauthorized") && no_secret(err),
		   "%s: login with wrong password -> %s", mode, err ? err->msg : "");
		strata_error_free(err);
		err = NULL;
		r = registry_get_manifest(c, "strata/two", "v1", NULL, &bytes, &len, NULL, NULL, &err);
		ok(r == -STRATA_ERR_AUTH && no_secret(err), "%s: pull with wrong password refused (%s)",
		   mode, err ? err->msg : "");
		strata_error_free(err);
		err = NULL;
		registry_client_free(c);
		c = NULL;
		CHECK(registry_client_new(host, &ao, &c, &err), "anonymous client", mode);
		r = registry_get_manifest(c, "strata/two", "v1", NULL, &bytes, &len, NULL, NULL, &err);
		ok(r == -STRATA_ERR_AUTH && err && strstr(err->msg, "unauthorized"),
		   "%s: anonymous pull refused (%s)", mode, err ? err->msg : "");
		strata_error_free(err);
		err = NULL;
		registry_client_free(c);
	}
	free(dg);
	free(pdg);
	free(ldig);
	free(cdig);
	strbuf_release(&got);
	strbuf_release(&man);
#undef CHECK
}

int main(void)
{
	static const char *const modes[] = { "plain", "htpasswd", "token" };
	char tmpl[] = "/tmp/strata-regtest-XXXXXX";
	char *cmd, *launch;

	if (!have("docker-registry") || !have("python3") || !have("openssl")) {
		printf("ok 1 - # SKIP docker-registry, python3 or openssl missing\n");
		return tap_done();
	}
	launch = xasprintf("%s/registry/launch.py", fixtures_dir());
	if (access(launch, R_OK) < 0) {
		ok(0, "registry launcher %s readable: %s", launch, strerror(errno));
		free(launch);
		return tap_done();
	}
	free(launch);
	if (!mkdtemp(tmpl)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	setenv("DOCKER_CONFIG", tmpl, 1); /* never read the user's credentials */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char *dir = xasprintf("%s/%s", tmpl, modes[i]);
		struct reg r = { 0 };

		if (start_registry(dir, modes[i], &r) < 0) {
			ok(0, "%s: registry started", modes[i]);
			stop_registry(&r);
			free(dir);
			continue;
		}
		scenario(modes[i], r.host);
		stop_registry(&r);
		free(dir);
	}
	curl_global_cleanup();
	cmd = xasprintf("rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpl);
	free(cmd);
	return tap_done();
}
