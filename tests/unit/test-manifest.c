/* Manifest validation tables, platform matching, the schema 2 and OCI encoders. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "registry/http.h"
#include "image/manifest.h"
#include "tap.h"
#include "util/limits.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define D1 "sha256:156c48630dd253d30cd2b6fbe96db6a46609590d26ec882307d347ca577532f0"
#define D2 "sha256:00aef3ae34f25da1e2d2223118bed5e40f44dcc2a7363247c1aec89de876b30f"
#define DESC(mt, d) "{\"mediaType\":\"" mt "\",\"size\":10,\"digest\":\"" d "\"}"
#define CFG DESC(MT_DOCKER_CONFIG, D1)
#define LAYER DESC(MT_DOCKER_LAYER, D2)
#define PLAT(os, arch, var) "\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\"" var "}"
#define ENTRY(mt, d, plat) "{\"mediaType\":\"" mt "\",\"size\":10,\"digest\":\"" d "\"," plat "}"

struct mcase {
	const char *name;
	const char *body;
	const char *content_type;
	int want; /* 0 ok, else -STRATA_ERR_x */
	const char *msg; /* substring of the error */
};

static const struct mcase cases[] = {
	{ "docker v2", "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"config\":" CFG
	  ",\"layers\":[" LAYER "]}", MT_DOCKER_MANIFEST, 0, NULL },
	{ "docker v2, content-type with params",
	  "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"config\":" CFG ",\"layers\":[]}",
	  MT_DOCKER_MANIFEST "; charset=utf-8", 0, NULL },
	{ "oci manifest without mediaType",
	  "{\"schemaVersion\":2,\"config\":" DESC(MT_OCI_CONFIG, D1) ",\"layers\":[" DESC(MT_OCI_LAYER_GZIP, D2) "]}",
	  MT_OCI_MANIFEST, 0, NULL },
	{ "oci index without mediaType or content type",
	  "{\"schemaVersion\":2,\"manifests\":[" ENTRY(MT_OCI_MANIFEST, D1, PLAT("linux", "amd64", "")) "]}",
	  NULL, 0, NULL },
	{ "docker list", "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_LIST "\",\"manifests\":[]}",
	  MT_DOCKER_LIST, 0, NULL },
	{ "not json", "{\"schemaVersion\":2,", MT_DOCKER_MANIFEST, -STRATA_ERR_INVALID, "invalid manifest" },
	{ "array", "[]", MT_DOCKER_MANIFEST, -STRATA_ERR_INVALID, "not a JSON object" },
	{ "duplicate keys",
	  "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"config\":" CFG
	  ",\"layers\":[],\"layers\":[" LAYER "]}", MT_DOCKER_MANIFEST, -STRATA_ERR_INVALID, "duplicate" },
	{ "schema1 by version", "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}", "application/json",
	  -STRATA_ERR_UNSUPPORTED, "schema 1" },
	{ "schema1 by content type", "{}", MT_DOCKER_SCHEMA1_SIGNED, -STRATA_ERR_UNSUPPORTED, "schema 1" },
	{ "schemaVersion 3", "{\"schemaVersion\":3}", NULL, -STRATA_ERR_INVALID, "schemaVersion" },
	{ "schemaVersion string", "{\"schemaVersion\":\"2\"}", NULL, -STRATA_ERR_INVALID, "schemaVersion" },
	{ "manifests and layers",
	  "{\"schemaVersion\":2,\"manifests\":[],\"layers\":[" LAYER "],\"config\":" CFG "}",
	  MT_OCI_INDEX, -STRATA_ERR_INVALID, "both" },
	{ "mediaType vs Content-Type",
	  "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":[]}", MT_OCI_MANIFEST,
	  -STRATA_ERR_INVALID, "does not match" },
	{ "index content type, manifest fields",
	  "{\"schemaVersion\":2,\"config\":" DESC(MT_OCI_CONFIG, D1) ",\"layers\":[]}", MT_OCI_INDEX,
	  -STRATA_ERR_INVALID, "forbidden" },
	{ "manifest content type, manifests field",
	  "{\"schemaVersion\":2,\"manifests\":[]}", MT_OCI_MANIFEST, -STRATA_ERR_INVALID, "forbidden" },
	{ "docker v2 without mediaType",
	  "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[]}", MT_DOCKER_MANIFEST,
	  -STRATA_ERR_INVALID, "without mediaType" },
	{ "unknown mediaType", "{\"schemaVersion\":2,\"mediaType\":\"text/html\",\"layers\":[]}", NULL,
	  -STRATA_ERR_UNSUPPORTED, "unsupported manifest media type" },
	{ "short digest",
	  "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"config\":" CFG
	  ",\"layers\":[" DESC(MT_DOCKER_LAYER, "sha256:00aef3ae34f25da1e2d2223118bed5e40f44dcc2a7363247c1aec89de876b30") "]}",
	  MT_DOCKER_MANIFEST, -STRATA_ERR_INVALID, "invalid digest" },
	{ "upper-case digest",
	  "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"config\":" CFG
	  ",\"layers\":[" DESC(MT_DOCKER_LAYER, "sha256:00AEF3ae34f25da1e2d2223118bed5e40f44dcc2a7363247c1aec89de876b30f") "]}",
	  MT_DOCKER_MANIFEST, -STRATA_ERR_INVALID, "invalid digest" },
	{ "path digest",
	  "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"config\":" DESC(MT_DOCKER_CONFIG, "sha256:../../etc/passwd")
	  ",\"layers\":[]}", MT_DOCKER_MANIFEST, -STRATA_ERR_INVALID, "invalid digest" },
	{ "md5 digest",
	  "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"config\":" CFG
	  ",\"layers\":[" DESC(MT_DOCKER_LAYER, "md5:d41d8cd98f00b204e9800998ecf8427e") "]}",
	  MT_DOCKER_MANIFEST, -STRATA_ERR_UNSUPPORTED, "unsupported digest algorithm" },
	{ "empty digest",
	  "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"config\":" DESC(MT_DOCKER_CONFIG, "")
	  ",\"layers\":[]}", MT_DOCKER_MANIFEST, -STRATA_ERR_INVALID, "invalid digest" },
	{ "negative size",
	  "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"config\":"
	  "{\"mediaType\":\"" MT_DOCKER_CONFIG "\",\"size\":-1,\"digest\":\"" D1 "\"},\"layers\":[]}",
	  MT_DOCKER_MANIFEST, -STRATA_ERR_INVALID, "invalid size" },
	{ "size as string",
	  "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"config\":"
	  "{\"mediaType\":\"" MT_DOCKER_CONFIG "\",\"size\":\"1\",\"digest\":\"" D1 "\"},\"layers\":[]}",
	  MT_DOCKER_MANIFEST, -STRATA_ERR_INVALID, "invalid size" },
	{ "huge config",
	  "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"config\":"
	  "{\"mediaType\":\"" MT_DOCKER_CONFIG "\",\"size\":99999999999,\"digest\":\"" D1 "\"},\"layers\":[]}",
	  MT_DOCKER_MANIFEST, -STRATA_ERR_TOO_LARGE, "too large" },
	{ "no config", "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"layers\":[]}",
	  MT_DOCKER_MANIFEST, -STRATA_ERR_INVALID, "no config" },
	{ "layers not array",
	  "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"config\":" CFG ",\"layers\":{}}",
	  MT_DOCKER_MANIFEST, -STRATA_ERR_INVALID, "layers" },
	{ "unknown layer type",
	  "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"config\":" CFG
	  ",\"layers\":[" DESC("application/x-evil", D2) "]}", MT_DOCKER_MANIFEST,
	  -STRATA_ERR_UNSUPPORTED, "unsupported media type" },
	{ "docker v2 with OCI config type",
	  "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"config\":" DESC(MT_OCI_CONFIG, D1)
	  ",\"layers\":[]}", MT_DOCKER_MANIFEST, -STRATA_ERR_UNSUPPORTED, "config media type" },
	{ "platform without arch",
	  "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":["
	  "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"size\":1,\"digest\":\"" D1 "\",\"platform\":{\"os\":\"linux\"}}]}",
	  MT_OCI_INDEX, -STRATA_ERR_INVALID, "platform" },
};

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mcase *c = &cases[i];
		struct registry_manifest *m = NULL;
		struct strata_error *err = NULL;
		int r = registry_manifest_parse(c->body, strlen(c->body), c->content_type, &m, &err);

		ok(r == c->want, "%s: result %d", c->name, r);
		if (c->msg)
			ok(err && strstr(err->msg, c->msg), "%s: message '%s'", c->name,
			   err ? err->msg : "(none)");
		registry_manifest_free(m);
		strata_error_free(err);
	}
}

static void test_layer_limit(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct registry_manifest *m = NULL;
	struct strata_error *err = NULL;

	for (int n = 125; n <= 126; n++) {
		strbuf_reset(&sb);
		strbuf_addstr(&sb, "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST
				   "\",\"config\":" CFG ",\"layers\":[");
		for (int i = 0; i < n; i++)
			strbuf_addstr(&sb, i ? "," LAYER : LAYER);
		strbuf_addstr(&sb, "]}");
		int r = registry_manifest_parse(sb.buf, sb.len, MT_DOCKER_MANIFEST, &m, &err);
		if (n == 125) {
			ok(r == 0 && m->n_layers == 125, "125 layers accepted");
		} else {
			ok(r < 0 && err && strstr(err->msg, "max depth exceeded"),
			   "126 layers: max depth exceeded (%s)", err ? err->msg : "");
		}
		registry_manifest_free(m);
		m = NULL;
		strata_error_free(err);
		err = NULL;
	}
	/* > 4 MiB */
	strbuf_reset(&sb);
	strbuf_addchars(&sb, ' ', LIMIT_MANIFEST + 1);
	ok(registry_manifest_parse(sb.buf, sb.len, NULL, &m, &err) == -STRATA_ERR_TOO_LARGE,
	   "manifest over 4 MiB rejected");
	strata_error_free(err);
	strbuf_release(&sb);
}

static void test_fields(void)
{
	const char *body = "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST
			   "\",\"config\":" CFG ",\"layers\":[" LAYER "," LAYER "]}";
	struct registry_manifest *m = NULL;
	struct strata_error *err = NULL;

	ok(registry_manifest_parse(body, strlen(body), MT_DOCKER_MANIFEST, &m, &err) == 0,
	   "parse docker v2");
	ok(m && m->kind == REGISTRY_MANIFEST_DOCKER_V2 && m->n_layers == 2, "kind and layers");
	ok(m && !strcmp(m->config.digest, D1), "config digest");
	ok(m && m->layers[1].size == 10, "layer size");
	registry_manifest_free(m);
	strata_error_free(err);
}

static const char *index_body =
	"{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_LIST "\",\"manifests\":["
	ENTRY(MT_DOCKER_MANIFEST, "sha256:1111111111111111111111111111111111111111111111111111111111111111",
	      PLAT("linux", "amd64", "")) ","
	ENTRY(MT_DOCKER_MANIFEST, "sha256:2222222222222222222222222222222222222222222222222222222222222222",
	      PLAT("linux", "arm", ",\"variant\":\"v6\"")) ","
	ENTRY(MT_DOCKER_MANIFEST, "sha256:3333333333333333333333333333333333333333333333333333333333333333",
	      PLAT("linux", "arm", ",\"variant\":\"v7\"")) ","
	ENTRY(MT_DOCKER_MANIFEST, "sha256:4444444444444444444444444444444444444444444444444444444444444444",
	      PLAT("linux", "arm64", ",\"variant\":\"v8\"")) ","
	ENTRY(MT_DOCKER_MANIFEST, "sha256:5555555555555555555555555555555555555555555555555555555555555555",
	      PLAT("windows", "amd64", "")) ","
	ENTRY(MT_DOCKER_MANIFEST, "sha256:6666666666666666666666666666666666666666666666666666666666666666",
	      PLAT("unknown", "unknown", ""))
	"]}";

static char select_for(const struct registry_manifest *m, const char *spec, char **msg)
{
	struct registry_platform p;
	const struct registry_descriptor *d = NULL;
	struct strata_error *err = NULL;
	char c = 0;

	if (registry_platform_parse(spec, &p, &err) < 0) {
		*msg = xstrdup(err->msg);
		strata_error_free(err);
		return '!';
	}
	if (registry_manifest_select(m, &p, &d, &err) == 0)
		c = d->digest[7];
	else
		*msg = xstrdup(err->msg);
	strata_error_free(err);
	registry_platform_release(&p);
	return c;
}

static void test_platforms(void)
{
	struct registry_manifest *m = NULL;
	struct strata_error *err = NULL;
	char *msg = NULL;
	struct registry_platform p;

	ok(registry_manifest_parse(index_body, strlen(index_body), MT_DOCKER_LIST, &m, &err) == 0,
	   "parse manifest list");
	ok(select_for(m, "linux/amd64", &msg) == '1', "linux/amd64");
	ok(select_for(m, "linux/x86_64", &msg) == '1', "x86_64 -> amd64");
	ok(select_for(m, "linux/arm64", &msg) == '4', "arm64 matches arm64/v8");
	ok(select_for(m, "linux/aarch64", &msg) == '4', "aarch64 -> arm64");
	ok(select_for(m, "linux/arm64/v8", &msg) == '4', "arm64/v8");
	ok(select_for(m, "linux/arm", &msg) == '3', "arm -> arm/v7");
	ok(select_for(m, "linux/arm/v7", &msg) == '3', "arm/v7");
	ok(select_for(m, "linux/arm/v8", &msg) == '3', "arm/v8 falls back to v7 before v6");
	ok(select_for(m, "linux/arm/v6", &msg) == '2', "arm/v6");
	ok(select_for(m, "linux/armhf", &msg) == '3', "armhf -> arm/v7");
	ok(select_for(m, "windows/amd64", &msg) == '5', "windows/amd64");
	ok(select_for(m, "LINUX/AMD64", &msg) == '1', "case folded");
	ok(select_for(m, "linux/arm/v5", &msg) == 0 && msg &&
	   !strcmp(msg, "no matching manifest for linux/arm/v5 in the manifest list entries"),
	   "arm/v5: docker's error (%s)", msg ? msg : "");
	free(msg);
	msg = NULL;
	ok(select_for(m, "linux/s390x", &msg) == 0, "s390x: none");
	free(msg);
	msg = NULL;
	ok(select_for(m, "amd64", &msg) == '1', "an architecture alone is linux's");
	ok(select_for(m, "linux", &msg) != '!', "an OS alone takes this machine's architecture");
	free(msg);
	msg = NULL;
	ok(select_for(m, "bogus", &msg) == '!' && msg &&
	   !strcmp(msg, "\"bogus\": unknown operating system or architecture: invalid argument"),
	   "unknown one-part platform: containerd's error (%s)", msg ? msg : "");
	free(msg);
	msg = NULL;
	ok(select_for(m, "linux/amd64/v2/x", &msg) == '!' && msg &&
	   !strcmp(msg, "\"linux/amd64/v2/x\": cannot parse platform specifier: invalid argument"),
	   "too many parts rejected (%s)", msg ? msg : "");
	free(msg);
	msg = NULL;
	ok(select_for(m, "linux/", &msg) == '!' && msg &&
	   !strcmp(msg, "\"\" is an invalid component of \"linux/\": platform specifier component "
			"must match \"^[A-Za-z0-9_-]+$\": invalid argument"),
	   "empty component rejected (%s)", msg ? msg : "");
	free(msg);
	msg = NULL;
	registry_manifest_free(m);

	registry_platform_host(&p);
	ok(p.os && !strcmp(p.os, "linux") && p.architecture && strcmp(p.architecture, "x86_64"),
	   "host platform normalised (%s)", p.architecture);
	registry_platform_release(&p);
}

static void test_encode(void)
{
	_cleanup_free_ char *path = xasprintf("%s/docker-20.10/registry/manifest.v1.json", fixtures_dir());
	char *want = NULL;
	size_t want_len = 0;
	struct strata_error *err = NULL;
	struct registry_manifest *m = NULL;
	struct strbuf sb = STRBUF_INIT;

	if (fs_read_file_at(AT_FDCWD, path, 1 << 20, &want, &want_len, &err) < 0) {
		ok(0, "dockerd's pushed manifest %s readable: %s", path, err->msg);
		strata_error_free(err);
		return;
	}
	ok(registry_manifest_parse(want, want_len, MT_DOCKER_MANIFEST, &m, &err) == 0,
	   "parse dockerd's pushed manifest");
	registry_manifest_encode_schema2(&sb, &m->config, m->layers, m->n_layers);
	ok(sb.len == want_len && !memcmp(sb.buf, want, want_len),
	   "schema 2 bytes identical to dockerd's (%zu vs %zu)", sb.len, want_len);
	strbuf_reset(&sb);
	registry_manifest_encode_schema2(&sb, &m->config, NULL, 0);
	ok(strstr(sb.buf, "\"layers\": []\n}") != NULL, "empty layers as Go writes them");
	registry_manifest_free(m);
	strbuf_release(&sb);
	free(want);
}

/* The OCI encoder: exact bytes (dockerd's layout, OCI types), round trip, edge cases. */
static void test_encode_oci(void)
{
	static const char want[] =
		"{\n"
		"   \"schemaVersion\": 2,\n"
		"   \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n"
		"   \"config\": {\n"
		"      \"mediaType\": \"application/vnd.oci.image.config.v1+json\",\n"
		"      \"size\": 1469,\n"
		"      \"digest\": \"" D1 "\"\n"
		"   },\n"
		"   \"layers\": [\n"
		"      {\n"
		"         \"mediaType\": \"application/vnd.oci.image.layer.v1.tar+zstd\",\n"
		"         \"size\": 3355,\n"
		"         \"digest\": \"" D2 "\"\n"
		"      },\n"
		"      {\n"
		"         \"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\",\n"
		"         \"size\": 2811969,\n"
		"         \"digest\": \"" D1 "\"\n"
		"      }\n"
		"   ]\n"
		"}";
	struct registry_descriptor cfg = { .media_type = (char *)MT_OCI_CONFIG, .size = 1469,
					   .digest = (char *)D1 };
	struct registry_descriptor layers[2] = {
		{ .media_type = (char *)MT_OCI_LAYER_ZSTD, .size = 3355, .digest = (char *)D2 },
		{ .media_type = (char *)MT_OCI_LAYER_GZIP, .size = 2811969, .digest = (char *)D1 },
	};
	struct strbuf sb = STRBUF_INIT, s2 = STRBUF_INIT;
	struct registry_manifest *m = NULL;
	struct strata_error *err = NULL;

	registry_manifest_encode_oci(&sb, &cfg, layers, 2);
	ok(sb.len == strlen(want) && !memcmp(sb.buf, want, sb.len),
	   "OCI manifest bytes: 3-space indent, schemaVersion first, no trailing newline");
	ok(registry_manifest_parse(sb.buf, sb.len, MT_OCI_MANIFEST, &m, &err) == 0 && m &&
	   m->kind == REGISTRY_MANIFEST_OCI && m->n_layers == 2 &&
	   !strcmp(m->config.media_type, MT_OCI_CONFIG) &&
	   !strcmp(m->layers[0].media_type, MT_OCI_LAYER_ZSTD) && m->layers[1].size == 2811969,
	   "OCI encoding parses back as an OCI image manifest");
	strata_error_freep(&err);
	{
		struct registry_manifest *m2 = NULL;

		ok(registry_manifest_parse(sb.buf, sb.len, MT_DOCKER_MANIFEST, &m2, &err) < 0,
		   "OCI encoding is not taken for a Docker schema 2 manifest");
		registry_manifest_free(m2);
		strata_error_freep(&err);
	}
	if (m) {
		registry_manifest_encode_oci(&s2, &m->config, m->layers, m->n_layers);
		ok(s2.len == sb.len && !memcmp(s2.buf, sb.buf, sb.len), "parse + encode is stable");
		strbuf_reset(&s2);
		registry_manifest_encode_schema2(&s2, &m->config, m->layers, m->n_layers);
		ok(s2.len == sb.len + strlen(MT_DOCKER_MANIFEST) - strlen(MT_OCI_MANIFEST) &&
		   strstr(s2.buf, "\"mediaType\": \"" MT_DOCKER_MANIFEST "\",\n   \"config\"") &&
		   !strstr(s2.buf, MT_OCI_MANIFEST),
		   "schema 2 encoder unchanged: same layout, only the top media type differs");
	}
	registry_manifest_free(m);
	strbuf_reset(&sb);
	registry_manifest_encode_oci(&sb, &cfg, NULL, 0);
	ok(sb.len && sb.buf[sb.len - 1] == '}' && strstr(sb.buf, "\"layers\": []\n}") != NULL,
	   "OCI: empty layers as Go writes them");
	strbuf_reset(&sb);
	{
		char *urls[] = { (char *)"https://example.com/a<b>" };
		struct registry_descriptor l = { .media_type = (char *)MT_OCI_LAYER, .size = 0,
						 .digest = (char *)D2, .urls = urls, .n_urls = 1 };

		registry_manifest_encode_oci(&sb, &cfg, &l, 1);
		ok(strstr(sb.buf, "\"urls\": [\n            \"https://example.com/a\\u003cb\\u003e\"\n"
				  "         ]\n      }") != NULL,
		   "OCI: urls and Go's HTML escaping as in schema 2");
		ok(strstr(sb.buf, "\"size\": 0,") != NULL, "OCI: size 0 written");
	}
	strbuf_release(&sb);
	strbuf_release(&s2);
}

int main(void)
{
	test_table();
	test_layer_limit();
	test_fields();
	test_platforms();
	test_encode();
	test_encode_oci();
	return tap_done();
}
