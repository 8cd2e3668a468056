/* WWW-Authenticate parsing, base64, docker config credentials, registry config. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/auth.h"
#include "registry/config.h"
#include "tap.h"
#include "util/alloc.h"
#include "util/fs.h"

static bool streq(const char *a, const char *b) { return a && b && !strcmp(a, b); }

static void test_challenges(void)
{
	struct registry_challenge *c = NULL;
	struct strata_error *err = NULL;
	size_t n = 0;

	ok(registry_challenges_parse(
		   "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/busybox:pull\"",
		   &c, &n, &err) == 0 && n == 1, "bearer challenge");
	ok(n == 1 && streq(c[0].scheme, "bearer"), "scheme lower-cased");
	ok(n == 1 && streq(registry_challenge_param(&c[0], "realm"), "https://auth.docker.io/token"), "realm");
	ok(n == 1 && streq(registry_challenge_param(&c[0], "service"), "registry.docker.io"), "service");
	ok(n == 1 && streq(registry_challenge_param(&c[0], "scope"), "repository:library/busybox:pull"), "scope");
	registry_challenges_free(c, n);

	ok(registry_challenges_parse("Basic realm=\"basic-realm\"", &c, &n, &err) == 0 && n == 1 &&
	   streq(c[0].scheme, "basic") && streq(registry_challenge_param(&c[0], "realm"), "basic-realm"),
	   "basic challenge");
	registry_challenges_free(c, n);

	ok(registry_challenges_parse(
		   "Basic realm=\"a, b\", Bearer realm=\"https://x/t\", service=reg, error=\"invalid_token\"",
		   &c, &n, &err) == 0 && n == 2, "two challenges in one header");
	ok(n == 2 && streq(registry_challenge_param(&c[0], "realm"), "a, b"), "comma inside quotes");
	ok(n == 2 && streq(c[1].scheme, "bearer") && streq(registry_challenge_param(&c[1], "service"), "reg") &&
	   streq(registry_challenge_param(&c[1], "error"), "invalid_token"), "second challenge params (token value)");
	registry_challenges_free(c, n);

	ok(registry_challenges_parse("BEARER REALM=\"r\\\"q\\\\\"", &c, &n, &err) == 0 && n == 1 &&
	   streq(registry_challenge_param(&c[0], "realm"), "r\"q\\"), "escapes in quoted string, case-insensitive names");
	registry_challenges_free(c, n);

	ok(registry_challenges_parse("Negotiate", &c, &n, &err) == 0 && n == 1 && c[0].n == 0,
	   "scheme without parameters");
	registry_challenges_free(c, n);

	ok(registry_challenges_parse("Bearer realm=\"unterminated", &c, &n, &err) < 0, "unterminated quote rejected");
	strata_error_free(err);
	err = NULL;
	ok(registry_challenges_parse("Bearer realm=\"x\" junk=", &c, &n, &err) < 0 ||
	   true, "trailing junk handled without crash");
	if (!err)
		registry_challenges_free(c, n);
	strata_error_free(err);
	err = NULL;
	ok(registry_challenges_parse("", &c, &n, &err) == 0 && n == 0, "empty header");
	registry_challenges_free(c, n);
}

static void test_base64(void)
{
	char *s, *d = NULL;
	size_t len;

	s = registry_base64_encode("user:pass", 9);
	ok(streq(s, "dXNlcjpwYXNz"), "encode (%s)", s);
	free(s);
	s = registry_base64_encode("ab", 2);
	ok(streq(s, "YWI="), "encode with padding");
	free(s);
	ok(registry_base64_decode("YWI=", &d, &len) == 0 && len == 2 && !memcmp(d, "ab", 2), "decode padded");
	free(d);
	ok(registry_base64_decode("dXNlcjpwYXNz", &d, &len) == 0 && streq(d, "user:pass"), "decode");
	free(d);
	ok(registry_base64_decode("dX!l", &d, &len) < 0, "bad character rejected");
}

static void test_keys(void)
{
	char *k;

	k = registry_auth_key(NULL);
	ok(streq(k, REGISTRY_HUB_KEY), "no server = Docker Hub key");
	free(k);
	k = registry_auth_key("docker.io");
	ok(streq(k, REGISTRY_HUB_KEY), "docker.io -> hub key");
	free(k);
	k = registry_auth_key("registry-1.docker.io");
	ok(streq(k, REGISTRY_HUB_KEY), "registry-1.docker.io -> hub key");
	free(k);
	k = registry_auth_key("https://127.0.0.1:5000/v2/");
	ok(streq(k, "127.0.0.1:5000"), "URL -> host:port (%s)", k);
	free(k);
	k = registry_auth_key("MyReg.example:443");
	ok(streq(k, "myreg.example:443"), "lower-cased");
	free(k);
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	fputs(s, f);
	fclose(f);
}

static void test_docker_config(void)
{
	char dir[] = "/tmp/strata-auth-XXXXXX";
	struct registry_credentials c = { 0 };
	struct strata_error *err = NULL;
	char *path, *buf = NULL;
	size_t len;
	struct stat st;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	path = registry_docker_config_path(dir);
	{
		char *want = xasprintf("%s/config.json", dir);

		ok(streq(path, want), "config.json in the given docker config folder");
		free(want);
	}

	ok(registry_credentials_get(dir, "127.0.0.1:5000", &c, &err) == 0, "no file: no credentials");

	write_file(path, "{\"auths\":{\"https://127.0.0.1:5000/v1/\":{\"auth\":\"dXNlcjpwYTpzcw==\"},"
			 "\"other:1\":{\"username\":\"u2\",\"password\":\"p2\"},"
			 "\"https://index.docker.io/v1/\":{\"auth\":\"aHViOmh1YnB3\"},"
			 "\"tok:1\":{\"auth\":\"dTo=\",\"identitytoken\":\"IDT\"}},"
			 "\"psFormat\":\"table\"}");
	ok(registry_credentials_get(dir, "127.0.0.1:5000", &c, &err) == 1 && streq(c.username, "user") &&
	   streq(c.password, "pa:ss"), "auth found via normalised key; ':' in password kept");
	registry_credentials_release(&c);
	ok(registry_credentials_get(dir, "other:1", &c, &err) == 1 && streq(c.username, "u2") &&
	   streq(c.password, "p2"), "username/password entry");
	registry_credentials_release(&c);
	ok(registry_credentials_get(dir, REGISTRY_HUB_KEY, &c, &err) == 1 && streq(c.username, "hub"), "hub entry");
	registry_credentials_release(&c);
	ok(registry_credentials_get(dir, "tok:1", &c, &err) == 1 && streq(c.identity_token, "IDT"), "identity token");
	registry_credentials_release(&c);
	ok(registry_credentials_get(dir, "127.0.0.1:5001", &c, &err) == 0, "no fallback to another port");
	ok(registry_credentials_get(dir, "evil.example", &c, &err) == 0, "no fallback to another host");

	c.username = xstrdup("newuser");
	c.password = xstrdup("s3cret");
	ok(registry_credentials_store(dir, "10.0.0.1:5000", &c, &err) == 0, "store");
	registry_credentials_release(&c);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "config.json mode 0600");
	fs_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len, &err);
	ok(buf && strstr(buf, "\"10.0.0.1:5000\": {\n\t\t\t\"auth\": \"bmV3dXNlcjpzM2NyZXQ=\"") &&
	   strstr(buf, "\"psFormat\": \"table\"") && strstr(buf, "\"other:1\""),
	   "auth stored as base64, tab indented, other keys kept");
	free(buf);
	buf = NULL;
	ok(registry_credentials_get(dir, "10.0.0.1:5000", &c, &err) == 1 && streq(c.password, "s3cret"),
	   "read back");
	registry_credentials_release(&c);
	ok(registry_credentials_erase(dir, "10.0.0.1:5000", &err) == 1, "erase");
	ok(registry_credentials_erase(dir, "10.0.0.1:5000", &err) == 0, "erase again: nothing");
	ok(registry_credentials_erase(dir, "127.0.0.1:5000", &err) == 1 &&
	   registry_credentials_get(dir, "127.0.0.1:5000", &c, &err) == 0, "erase by normalised key");

	write_file(path, "{\"auths\":{\"bad:1\":{\"auth\":\"!!!!\"}}}");
	ok(registry_credentials_get(dir, "bad:1", &c, &err) < 0 && err && !strstr(err->msg, "!!!!"),
	   "bad auth rejected without echoing it (%s)", err ? err->msg : "");
	strata_error_free(err);
	err = NULL;
	write_file(path, "{\"auths\":{\"x:1\":{\"auth\":\"c2VjcmV0\"}");
	ok(registry_credentials_get(dir, "x:1", &c, &err) < 0 && err && !strstr(err->msg, "c2VjcmV0"),
	   "broken JSON rejected without echoing content (%s)", err ? err->msg : "");
	strata_error_free(err);
	err = NULL;

	/* credential helper */
	{
		char *bin = xasprintf("%s/docker-credential-fake", dir);
		char *script = xasprintf(
			"#!/bin/sh\ncase \"$1\" in\n"
			"get) read s; if [ \"$s\" = h:1 ]; then echo '{\"ServerURL\":\"h:1\",\"Username\":\"hu\",\"Secret\":\"hs\"}';"
			" elif [ \"$s\" = t:1 ]; then echo '{\"Username\":\"<token>\",\"Secret\":\"tk\"}';"
			" else echo 'credentials not found in native keychain'; exit 1; fi;;\n"
			"store) cat > %s/stored;;\n"
			"erase) read s; echo \"$s\" > %s/erased;;\nesac\n", dir, dir);
		char *oldpath = xstrdup(getenv("PATH"));
		char *newpath = xasprintf("%s:%s", dir, oldpath);

		write_file(bin, script);
		chmod(bin, 0755);
		setenv("PATH", newpath, 1);
		write_file(path, "{\"auths\":{},\"credHelpers\":{\"t:1\":\"fake\"},\"credsStore\":\"fake\"}");
		ok(registry_credentials_get(dir, "h:1", &c, &err) == 1 && streq(c.username, "hu") &&
		   streq(c.password, "hs"), "credsStore helper get");
		registry_credentials_release(&c);
		ok(registry_credentials_get(dir, "t:1", &c, &err) == 1 && streq(c.identity_token, "tk") &&
		   !c.username, "<token> user = identity token");
		registry_credentials_release(&c);
		ok(registry_credentials_get(dir, "none:1", &c, &err) == 0, "helper: not found");
		c.username = xstrdup("su");
		c.password = xstrdup("sp");
		ok(registry_credentials_store(dir, "h:1", &c, &err) == 0, "helper store");
		registry_credentials_release(&c);
		free(buf);
		buf = NULL;
		char *stored = xasprintf("%s/stored", dir);
		fs_read_file_at(AT_FDCWD, stored, 4096, &buf, &len, &err);
		ok(buf && strstr(buf, "\"Secret\":\"sp\"") && strstr(buf, "\"ServerURL\":\"h:1\""),
		   "helper received JSON");
		free(buf);
		buf = NULL;
		fs_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len, &err);
		ok(buf && !strstr(buf, "sp\"") && strstr(buf, "\"h:1\": {}"),
		   "no secret in config.json with a helper");
		free(buf);
		buf = NULL;
		ok(registry_credentials_erase(dir, "h:1", &err) == 1, "helper erase");
		setenv("PATH", oldpath, 1);
		free(stored);
		free(oldpath);
		free(newpath);
		free(bin);
		free(script);
	}
	strata_error_free(err);
	free(path);
	{
		char *cmd = xasprintf("rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("# cleanup failed\n");
		free(cmd);
	}
}

static void test_config(void)
{
	struct registry_config cfg;
	struct strata_error *err = NULL;
	const char *good = "{\"insecure-registries\":[\"myreg:5000\",\"10.1.0.0/16\",\"fd00::/8\"],"
			   "\"registry-mirrors\":[\"https://mirror.example/\"],"
			   "\"max-concurrent-downloads\":7,\"other-module\":{}}";

	registry_config_init(&cfg);
	ok(cfg.max_downloads == 3 && cfg.max_uploads == 5, "defaults 3/5");
	ok(registry_config_load(&cfg, "/nonexistent/strata.json", &err) == 0 && cfg.max_downloads == 3,
	   "missing file = defaults");
	ok(registry_config_parse(&cfg, good, strlen(good), "cfg", &err) == 0, "parse good config");
	ok(cfg.n_insecure == 3 && cfg.max_downloads == 7 && cfg.max_uploads == 5, "values");
	ok(cfg.n_mirrors == 1 && streq(cfg.mirrors[0], "https://mirror.example"), "mirror trailing / removed");
	ok(registry_config_is_insecure(&cfg, "myreg:5000"), "listed host insecure");
	ok(!registry_config_is_insecure(&cfg, "myreg:5001"), "other port secure");
	ok(registry_config_is_insecure(&cfg, "10.1.2.3:443"), "CIDR match");
	ok(!registry_config_is_insecure(&cfg, "10.2.0.1"), "outside CIDR");
	ok(registry_config_is_insecure(&cfg, "[fd00::1]:5000"), "IPv6 CIDR");
	ok(registry_config_is_insecure(&cfg, "127.0.0.1:5000") && registry_config_is_insecure(NULL, "localhost:1") &&
	   registry_config_is_insecure(NULL, "[::1]:5000") && registry_config_is_insecure(NULL, "127.9.9.9"),
	   "loopback always insecure");
	ok(!registry_config_is_insecure(NULL, "example.com:5000"), "others secure by default");
	registry_config_release(&cfg);

	static const struct {
		const char *json, *msg;
	} bad[] = {
		{ "{\"max-concurrent-downloads\":\"3\"}", "must be an integer" },
		{ "{\"max-concurrent-uploads\":0}", "between 1 and 1024" },
		{ "{\"insecure-registries\":\"x\"}", "must be an array" },
		{ "{\"insecure-registries\":[1]}", "non-empty string" },
		{ "{\"insecure-registries\":[\"http://x\"]}", "://" },
		{ "{\"insecure-registries\":[\"10.0.0.0/99\"]}", "not a valid host or CIDR" },
		{ "{\"registry-mirrors\":[\"ftp://m\"]}", "http:// or https://" },
		{ "[1]", "must hold a JSON object" },
		{ "{\"max-concurrent-uploads\":1,\"max-concurrent-uploads\":2}", "duplicate" },
		{ "{", "not valid JSON" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		registry_config_init(&cfg);
		ok(registry_config_parse(&cfg, bad[i].json, strlen(bad[i].json), "cfg", &err) < 0 && err &&
		   strstr(err->msg, bad[i].msg), "bad config %zu: %s", i, err ? err->msg : "(no error)");
		strata_error_free(err);
		err = NULL;
		registry_config_release(&cfg);
	}
}

int main(void)
{
	test_challenges();
	test_base64();
	test_keys();
	test_docker_config();
	test_config();
	return tap_done();
}
