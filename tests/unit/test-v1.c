/*
 * image/v1: Docker's legacy v1 JSON both ways, pinned to the bytes dockerd
 * 20.10 writes (MakeConfigFromV1Config, HistoryFromConfig, v1.CreateID);
 * t0310/t0330 compare the same code with a running dockerd end to end.
 */
#include <string.h>

#include "digest/digest.h"
#include "image/v1.h"
#include "util/gotime.h"
#include "tap.h"
#include "util/strbuf.h"

#define DIFF "sha256:5d0da3dc976460b72c77d94c8a1ad043720b0416bfc16c52c45d4847e53fadb6"
#define CHAIN0 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define CHAIN1 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
/* container.Config's zero value as Go marshals it */
#define EMPTY_CC                                                                                       \
	"{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,"                  \
	"\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,"           \
	"\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,"             \
	"\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null}"

static void config_of(const char *v1, const char *want, const char *what)
{
	struct strbuf out = STRBUF_INIT, hist = STRBUF_INIT;
	struct strata_error *err = NULL;
	const char *diffs[] = { DIFF };
	const char *history[1];
	int ret;

	ret = image_v1_history_entry(v1, strlen(v1), &hist, &err);
	history[0] = hist.buf;
	if (ret >= 0)
		ret = image_v1_config(v1, strlen(v1), diffs, 1, history, 1, &out, &err);
	ok(ret == 0, "%s: converted (%s)", what, err ? err->msg : "");
	is_str(out.buf, want, "%s: the config dockerd makes", what);
	strata_error_free(err);
	strbuf_release(&out);
	strbuf_release(&hist);
}

static void test_config(void)
{
	/* 1.8.3 and later: values kept as written, compacted; v1-only keys dropped */
	config_of("{\"id\":\"aa\", \"parent\":\"bb\", \"Size\": 5, \"throwaway\": true,"
		  " \"created\":\"2016-01-02T03:04:05.100Z\", \"docker_version\":\"1.9.1\","
		  " \"container_config\":{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo <hi>\"]},"
		  " \"author\":\"me\", \"x-unknown\": [1, 2], \"os\":\"linux\"}",
		  "{\"author\":\"me\",\"container_config\":{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo \\u003chi\\u003e\"]},"
		  "\"created\":\"2016-01-02T03:04:05.100Z\",\"docker_version\":\"1.9.1\","
		  "\"history\":[{\"created\":\"2016-01-02T03:04:05.1Z\",\"author\":\"me\","
		  "\"created_by\":\"/bin/sh -c echo \\u003chi\\u003e\"}],"
		  "\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIFF "\"]},"
		  "\"x-unknown\":[1,2]}",
		  "docker 1.9.1");
	/* before 1.8.3: decoded into V1Image and marshalled again (unknown keys gone) */
	config_of("{\"id\":\"aa\",\"created\":\"2015-05-06T07:08:09.000000000Z\",\"docker_version\":\"1.6.2\","
		  "\"container_config\":{\"Cmd\":null},\"x-unknown\":1,\"os\":\"linux\"}",
		  "{\"container_config\":" EMPTY_CC ",\"created\":\"2015-05-06T07:08:09Z\","
		  "\"docker_version\":\"1.6.2\",\"history\":[{\"created\":\"2015-05-06T07:08:09Z\"}],"
		  "\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIFF "\"]}}",
		  "docker 1.6.2");
}

static void test_os_parent(void)
{
	struct strata_error *err = NULL;
	char *os = NULL, *parent = NULL;
	const char *v1 = "{\"OS\":\"windows\",\"parent\":\"abc\",\"Parent\":\"def\"}";

	ok(image_v1_os_parent(v1, strlen(v1), &os, &parent, &err) == 0, "os and parent read");
	ok(os && parent && !strcmp(os, "windows") && !strcmp(parent, "def"),
	   "keys as Go's decoder reads them: any case, the last one wins (%s, %s)", os, parent);
	free(os);
	free(parent);
	ok(image_v1_os_parent("[1]", 3, &os, &parent, &err) < 0 && err && !os && !parent,
	   "not an object: refused (%s)", err ? err->msg : "");
	strata_error_free(err);
}

static void test_layer_ids(void)
{
	struct strbuf json = STRBUF_INIT, want = STRBUF_INIT;
	char v1[2][STRATA_HEX_LEN + 1], hex[STRATA_HEX_LEN + 1];
	json_t *config = json_pack("{s:s, s:s, s:s, s:{s:[s]}}", "created", "2020-01-02T03:04:05.500Z",
				   "architecture", "amd64", "os", "linux", "config", "Cmd", "sh");

	/* the lower layer: an empty V1Image at the epoch, keys sorted for the ID */
	image_v1_layer(config, 0, 2, CHAIN0, "", v1[0], &json);
	strbuf_addstr(&want, "{\"container_config\":" EMPTY_CC ",\"created\":\"1970-01-01T00:00:00Z\","
			     "\"layer_id\":\"" CHAIN0 "\"}");
	sha256_hex(want.buf, want.len, hex);
	is_str(v1[0], hex, "lower layer: v1 ID = sha256 of the sorted V1Image with layer_id");
	strbuf_reset(&want);
	/* the OS is set after CreateID, so it is in the json but not in the ID */
	strbuf_addf(&want, "{\"id\":\"%s\",\"created\":\"1970-01-01T00:00:00Z\",\"container_config\":" EMPTY_CC
			   ",\"os\":\"linux\"}",
		    v1[0]);
	is_str(json.buf, want.buf, "lower layer: its <v1id>/json in struct order, with the image's OS");
	/* the top layer: the image's own v1 fields, parent linked */
	strbuf_reset(&json);
	image_v1_layer(config, 1, 2, CHAIN1, v1[0], v1[1], &json);
	strbuf_reset(&want);
	strbuf_addf(&want, "{\"id\":\"%s\",\"parent\":\"%s\",\"created\":\"2020-01-02T03:04:05.5Z\","
			   "\"container_config\":" EMPTY_CC ",\"config\":"
			   "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,"
			   "\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,"
			   "\"StdinOnce\":false,\"Env\":null,\"Cmd\":[\"sh\"],\"Image\":\"\",\"Volumes\":null,"
			   "\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null},"
			   "\"architecture\":\"amd64\",\"os\":\"linux\"}",
		    v1[1], v1[0]);
	is_str(json.buf, want.buf, "top layer: the image's fields, parent, time re-marshalled");
	ok(strcmp(v1[0], v1[1]), "the two layers get different IDs");
	json_decref(config);
	strbuf_release(&json);
	strbuf_release(&want);
}

static void remarshal(const char *in, const char *want)
{
	struct strbuf sb = STRBUF_INIT;
	struct strata_error *err = NULL;
	int ret = gotime_remarshal(&sb, in, &err);

	if (want)
		is_str(ret == 0 ? sb.buf : NULL, want, "time %s marshals again as %s", in, want);
	else
		ok(ret < 0 && err, "time %s is refused (%s)", in, err ? err->msg : "");
	strata_error_free(err);
	strbuf_release(&sb);
}

static void test_times(void)
{
	remarshal("2016-01-02T03:04:05.120000000Z", "2016-01-02T03:04:05.12Z");
	remarshal("2016-01-02T03:04:05.000Z", "2016-01-02T03:04:05Z");
	remarshal("2016-01-02T03:04:05,5+00:00", "2016-01-02T03:04:05.5Z");
	remarshal("2016-01-02T03:04:05.1234567891-07:30", "2016-01-02T03:04:05.123456789-07:30");
	remarshal("2016-02-30T03:04:05Z", NULL);
	remarshal("2016-01-02 03:04:05Z", NULL);
}

int main(void)
{
	test_times();
	test_config();
	test_os_parent();
	test_layer_ids();
	return tap_done();
}
