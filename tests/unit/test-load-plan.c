/*
 * The load planners through strata_image_load: OCI layouts (the host's
 * platform among index entries and inside a nested index, artifacts
 * skipped, tags from annotations) and legacy archives (parents planned
 * before children whatever the folder order).  The archives come from
 * tests/fixtures/archives/gen.py.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fixtures.h"
#include "strata/strata.h"
#include "tap.h"

static char work[] = "/tmp/strata-test-load-plan.XXXXXX";

/* Load archive NAME into a new store; the index of that store, or NULL. */
static struct strata_image_index *load(const char *name, struct strata_store **store)
{
	struct strata_load_options opts = { .fd = -1 };
	struct strata_image_index *idx = NULL;
	struct strata_error *err = NULL;
	char root[256], path[256];

	snprintf(root, sizeof(root), "%s/root-%s", work, name);
	snprintf(path, sizeof(path), "%s/in/%s.tar", work, name);
	opts.path = path;
	if (strata_store_open(root, "vfs", STRATA_STORE_WRITE, store, &err) < 0 ||
	    strata_image_index_load(*store, &idx, &err) < 0 || strata_image_load(idx, &opts, &err) < 0) {
		printf("# load %s: %s\n", name, err ? err->msg : "?");
		strata_error_free(err);
		strata_image_index_free(idx);
		return NULL;
	}
	strata_image_index_free(idx);
	idx = NULL;
	if (strata_image_index_load(*store, &idx, &err) < 0)
		bail_out("reload the index: %s", err->msg);
	return idx;
}

static struct strata_image *find(struct strata_image_index *idx, const char *name)
{
	struct strata_image *img = NULL;
	struct strata_error *err = NULL;

	if (strata_image_lookup(idx, name, &img, &err) < 0)
		img = NULL;
	strata_error_free(err);
	return img;
}

static bool has_arch(const struct strata_image *img, const char *arch)
{
	char want[64];
	size_t len;
	const char *cfg = strata_image_config(img, &len);

	snprintf(want, sizeof(want), "\"architecture\":\"%s\"", arch);
	return cfg && memmem(cfg, len, want, strlen(want));
}

static void test_oci_platforms(const char *host_arch)
{
	static const char *const names[] = { "oci-platforms", "oci-nested" };

	for (size_t i = 0; i < 2; i++) {
		struct strata_store *store = NULL;
		struct strata_image_index *idx = load(names[i], &store);
		struct strata_image *img = idx ? find(idx, "gen/plat:1") : NULL;

		ok(idx && strata_image_index_count(idx) == 1, "%s: one image planned of the two platforms", names[i]);
		if (host_arch)
			ok(img && has_arch(img, host_arch), "%s: the host's (%s), tagged from the annotation", names[i],
			   host_arch);
		else
			printf("ok %d - # SKIP %s: the host is neither amd64 nor arm64\n", ++tap_count, names[i]);
		strata_image_index_free(idx);
		strata_store_free(store);
	}
}

static void test_oci_artifact(void)
{
	struct strata_store *store = NULL;
	struct strata_image_index *idx = load("oci-artifact", &store);

	ok(idx && strata_image_index_count(idx) == 1 && find(idx, "gen/art:1"),
	   "oci-artifact: the image is loaded under its name");
	ok(idx && !find(idx, "gen/art:sig"), "oci-artifact: the artifact beside it is skipped");
	strata_image_index_free(idx);
	strata_store_free(store);
}

static void test_legacy_order(void)
{
	struct strata_store *store = NULL;
	struct strata_image_index *idx = load("legacy-reversed", &store);
	struct strata_image *child = idx ? find(idx, "gen/legacy:1") : NULL;
	struct strata_image *parent = child && strata_image_parent(child) ? find(idx, strata_image_parent(child))
									    : NULL;

	ok(idx && strata_image_index_count(idx) == 2, "legacy-reversed: both v1 images loaded");
	ok(child && parent && strata_image_layer_count(child) == 2 && strata_image_layer_count(parent) == 1,
	   "legacy-reversed: the child sits on its parent, planned first although its folder sorts after");
	ok(child && parent &&
		   !strcmp(strata_layer_chain_id(strata_image_layer(child, 0)),
			   strata_layer_chain_id(strata_image_layer(parent, 0))),
	   "legacy-reversed: the child's base layer is the parent's");
	strata_image_index_free(idx);
	strata_store_free(store);
}

int main(void)
{
	char cmd[512];
	struct utsname u;
	const char *host = NULL;

	if (!mkdtemp(work))
		bail_out("mkdtemp: %s", strerror(errno));
	snprintf(cmd, sizeof(cmd), "python3 %s/archives/gen.py %s/in >/dev/null", fixtures_dir(), work);
	if (system(cmd) != 0)
		bail_out("cannot generate the archives: %s", cmd);
	if (uname(&u) == 0)
		host = !strcmp(u.machine, "x86_64") ? "amd64" : !strcmp(u.machine, "aarch64") ? "arm64" : NULL;
	test_oci_platforms(host);
	test_oci_artifact();
	test_legacy_order();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", work);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", work);
	return tap_done();
}
