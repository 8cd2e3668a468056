/* Chain IDs, references, repositories.json and config bytes (issue: the foundation). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/imagedb.h"
#include "json/gojson.h"
#include "image/refstore.h"
#include "layer/layerdb.h"
#include "store/store-private.h"
#include "strata/reference.h"
#include "strata/store.h"
#include "tap.h"
#include "util/alloc.h"
#include "util/fs.h"

static void test_chain_ids(void)
{
	char chain[STRATA_DIGEST_LEN + 1];

	/* The seed article's worked example (reference §2). */
	layer_chain_id("sha256:7ef32d21e68c2edbb33fd4918422a139e35652e22e77d8ea7dd34e35abac5b82",
		       "sha256:56d651592361694728addea3705688cad0752bd2343c93580a5194960c2c8502", chain);
	is_str(chain, "sha256:30aef658b36f0e2e6416bec10cbf1279c8eb2fbf791f7815dae4ccb6a9c71cab",
	       "chain ID of the seed's second layer");
	layer_chain_id(NULL, "sha256:7ef32d21e68c2edbb33fd4918422a139e35652e22e77d8ea7dd34e35abac5b82", chain);
	is_str(chain, "sha256:7ef32d21e68c2edbb33fd4918422a139e35652e22e77d8ea7dd34e35abac5b82",
	       "chain ID of a base layer is its diff ID");
}

static void parse_ok(const char *in, const char *domain, const char *path, const char *tag,
		     const char *digest, const char *familiar)
{
	struct strata_error *err = NULL;
	struct strata_ref ref;
	char *fam;

	if (strata_ref_parse(in, &ref, &err) < 0) {
		ok(0, "parse '%s': %s", in, err->msg);
		strata_error_free(err);
		return;
	}
	is_str(ref.domain, domain, "'%s' domain", in);
	is_str(ref.path, path, "'%s' path", in);
	ok(tag ? ref.tag && !strcmp(ref.tag, tag) : !ref.tag, "'%s' tag", in);
	ok(digest ? ref.digest && !strcmp(ref.digest, digest) : !ref.digest, "'%s' digest", in);
	fam = strata_ref_familiar_string(&ref);
	is_str(fam, familiar, "'%s' familiar string", in);
	free(fam);
	strata_ref_release(&ref);
}

static void parse_bad(const char *in, const char *msg)
{
	struct strata_error *err = NULL;
	struct strata_ref ref;

	if (strata_ref_parse(in, &ref, &err) == 0) {
		ok(0, "'%s' should be refused", in);
		strata_ref_release(&ref);
		return;
	}
	is_str(err->msg, msg, "'%s' refused", in);
	strata_error_free(err);
}

#define D64 "sha256:8c8d78d048e8cca6d8707ea21295af92e0bfdfcaddf9c8c1aee1c877e784f4ca"

static void test_references(void)
{
	parse_ok("alpine", "docker.io", "library/alpine", NULL, NULL, "alpine");
	parse_ok("alpine:3.19", "docker.io", "library/alpine", "3.19", NULL, "alpine:3.19");
	parse_ok("docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest", NULL, "alpine:latest");
	parse_ok("index.docker.io/library/alpine", "docker.io", "library/alpine", NULL, NULL, "alpine");
	parse_ok("user/app", "docker.io", "user/app", NULL, NULL, "user/app");
	parse_ok("127.0.0.1:5000/ref/seed-image:v1", "127.0.0.1:5000", "ref/seed-image", "v1", NULL,
		 "127.0.0.1:5000/ref/seed-image:v1");
	parse_ok("localhost/app", "localhost", "app", NULL, NULL, "localhost/app");
	parse_ok("localhost:5000", "docker.io", "library/localhost", "5000", NULL, "localhost:5000");
	parse_ok("example.com/a/b/c@" D64, "example.com", "a/b/c", NULL, D64, "example.com/a/b/c@" D64);
	parse_ok("seed-image:latest@" D64, "docker.io", "library/seed-image", "latest", D64,
		 "seed-image:latest@" D64);
	parse_ok("a__b.c-d---e", "docker.io", "library/a__b.c-d---e", NULL, NULL, "a__b.c-d---e");

	parse_bad("", "invalid reference format");
	parse_bad("UPPER", "invalid reference format: repository name must be lowercase");
	parse_bad("a/../b", "invalid reference format");
	parse_bad("-leading", "invalid reference format");
	parse_bad("trailing-", "invalid reference format");
	parse_bad("a___b", "invalid reference format");
	parse_bad("app:", "invalid reference format");
	parse_bad("app:-tag", "invalid reference format");
	parse_bad("app@sha256:abc", "invalid reference format");
	parse_bad("app@sha256:8C8D78D048E8CCA6D8707EA21295AF92E0BFDFCADDF9C8C1AEE1C877E784F4CA",
		  "invalid checksum digest format");
	parse_bad("app@md5:8c8d78d048e8cca6d8707ea21295af92", "unsupported digest algorithm");
	parse_bad("8c8d78d048e8cca6d8707ea21295af92e0bfdfcaddf9c8c1aee1c877e784f4ca",
		  "invalid repository name (8c8d78d048e8cca6d8707ea21295af92e0bfdfcaddf9c8c1aee1c877e784f4ca), "
		  "cannot specify 64-byte hexadecimal strings");
	{
		char *longname = xmalloc(300);

		memset(longname, 'a', 299);
		longname[299] = '\0';
		parse_bad(longname, "invalid reference format: repository name must not be more than 255 characters");
		free(longname);
	}
}

/* repositories.json written back byte for byte as dockerd wrote it (reference §4.1). */
static void test_refstore_and_configs(void)
{
	static const char repos[] =
		"{\"Repositories\":{\"127.0.0.1:5000/ref/seed-image\":{\"127.0.0.1:5000/ref/seed-image:v1\":"
		"\"sha256:156c48630dd253d30cd2b6fbe96db6a46609590d26ec882307d347ca577532f0\","
		"\"127.0.0.1:5000/ref/seed-image@" D64 "\":"
		"\"sha256:156c48630dd253d30cd2b6fbe96db6a46609590d26ec882307d347ca577532f0\"},"
		"\"busybox\":{\"busybox:local\":\"sha256:94920a9d884764d386ba717c287a0618a9af4db7c161e121c319c342ca75e6cf\"},"
		"\"seed-image\":{\"seed-image:latest\":\"sha256:156c48630dd253d30cd2b6fbe96db6a46609590d26ec882307d347ca577532f0\"}}}";
	static const char config[] = "{\"b\":1,  \"a\":\"<&>\"}\n";
	char dir[] = "/tmp/strata-test-image.XXXXXX";
	struct strata_error *err = NULL;
	struct strata_store *store = NULL;
	struct refstore rs = REFSTORE_INIT;
	struct strata_ref ref;
	char hex[STRATA_HEX_LEN + 1];
	char *bytes = NULL;
	size_t len = 0;

	/* set-up, not tests: without it nothing below means anything */
	if (!mkdtemp(dir))
		bail_out("cannot create a temp data root: %s", strerror(errno));
	if (strata_store_open(dir, "vfs", STRATA_STORE_WRITE, &store, &err) < 0)
		bail_out("cannot open a new store in %s: %s", dir, err->msg);
	if (fs_write_file_atomic_at(store->image_fd, "repositories.json", repos, strlen(repos), 0600, &err) < 0)
		bail_out("cannot write dockerd's repositories.json: %s", err->msg);
	ok(refstore_load(store, &rs, &err) == 0 && rs.nr == 4, "load 4 references");
	ok(refstore_save(store, &rs, &err) == 0, "save them back");
	ok(fs_read_file_at(store->image_fd, "repositories.json", 1 << 20, &bytes, &len, &err) == 0 &&
	   len == strlen(repos) && !memcmp(bytes, repos, len), "repositories.json is byte-identical");
	free(bytes);
	strata_ref_parse("seed-image", &ref, NULL);
	is_str(refstore_get(&rs, &ref), "sha256:156c48630dd253d30cd2b6fbe96db6a46609590d26ec882307d347ca577532f0",
	       "a name without tag finds :latest");
	ok(refstore_remove(&rs, &ref), "remove seed-image:latest");
	strata_ref_release(&ref);
	refstore_release(&rs);

	ok(imagedb_write_config(store, config, strlen(config), hex, &err) == 0, "store a config");
	ok(imagedb_read_config(store, hex, &bytes, &len, &err) == 0 && len == strlen(config) &&
	   !memcmp(bytes, config, len), "config bytes come back unchanged");
	free(bytes);
	{
		char *path = xasprintf("%s/image/vfs/imagedb/content/sha256/%s", dir, hex);
		FILE *f = fopen(path, "r+");

		fputc('[', f);
		fclose(f);
		free(path);
	}
	ok(imagedb_read_config(store, hex, &bytes, &len, &err) == -STRATA_ERR_CORRUPT && err &&
	   strstr(err->msg, "is corrupted"), "a config whose bytes changed is reported corrupted");
	strata_error_free(err);
	err = NULL;
	strata_store_free(store);
	if (fs_remove_tree_at(AT_FDCWD, dir, &err) < 0)
		bail_out("cannot remove %s: %s", dir, err->msg);
}

/* Go's encoding/json string escaping, which every config strata writes relies on. */
static void test_go_escaping(void)
{
	static const char in[] = "a<b>&c\"\\\n\x01\xe2\x80\xa8\xff\xc3\xa9\xef\xbf\xbd";
	struct strbuf sb = STRBUF_INIT;

	gojson_encode_string(&sb, in, sizeof(in) - 1);
	is_str(sb.buf, "\"a\\u003cb\\u003e\\u0026c\\\"\\\\\\n\\u0001\\u2028\\ufffd\xc3\xa9\xef\xbf\xbd\"",
	       "HTML-safe escapes, U+2028, invalid UTF-8 as \\ufffd, valid runes (and a real U+FFFD) kept");
	strbuf_release(&sb);
}

int main(void)
{
	test_go_escaping();
	test_chain_ids();
	test_references();
	test_refstore_and_configs();
	return tap_done();
}
