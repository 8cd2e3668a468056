/*
 * preload: pull an image from a registry into a new Docker data root, then
 * list it with its layers: what an image build (Yocto, Buildroot) does so
 * that a device boots with its containers' images already in place.
 *
 *   cc -o preload preload.c $(pkg-config --cflags --libs strata)
 *   preload DATA_ROOT IMAGE [overlay2|vfs]
 *
 * Only the public API (strata/strata.h) is used.  Credentials for a
 * private registry would come from a docker config folder
 * (strata_pull_options.docker_config_dir); here the pull is anonymous.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <strata/strata.h>

static void progress(void *cookie, const char *id, const char *status)
{
	(void)cookie;
	if (id)
		printf("%s: %s\n", id, status);
	else
		printf("%s\n", status);
}

static int fail(const char *what, struct strata_error *err)
{
	fprintf(stderr, "preload: %s: %s (%s)\n", what, err ? err->msg : "failed",
		err ? strata_error_name(err->code) : "");
	strata_error_free(err);
	return 1;
}

/* What the data root now holds for name: the image, its tags, its layers. */
static int list(struct strata_store *store, const char *name)
{
	struct strata_image_index *idx = NULL;
	struct strata_error *err = NULL;
	struct strata_image *img;
	const char **tags;
	size_t n;

	if (strata_image_index_load(store, &idx, &err) < 0)
		return fail("reading the images", err);
	if (strata_image_lookup(idx, name, &img, &err) < 0) {
		strata_image_index_free(idx);
		return fail(name, err);
	}
	printf("image %s size %" PRId64 "\n", strata_image_id(img), strata_image_size(img));
	n = strata_image_refs(idx, img, true, false, &tags);
	for (size_t i = 0; i < n; i++)
		printf("tag %s\n", tags[i]);
	free(tags);
	for (size_t i = 0; i < strata_image_layer_count(img); i++) {
		const struct strata_layer *l = strata_image_layer(img, i);

		printf("layer %zu chain %s diff %s size %" PRId64 " cache-id %s\n", i,
		       strata_layer_chain_id(l), strata_layer_diff_id(l), strata_layer_size(l),
		       strata_layer_cache_id(l));
	}
	strata_image_index_free(idx);
	return 0;
}

int main(int argc, char **argv)
{
	struct strata_pull_options opts = { 0 };
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	char *pulled = NULL;
	int ret;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: preload DATA_ROOT IMAGE [overlay2|vfs]\n");
		return 2;
	}
	printf("libstrata %s\n", strata_version());
	/* a new root gets the driver asked for, else what works on its filesystem */
	if (strata_store_open(argv[1], argc > 3 ? argv[3] : NULL, STRATA_STORE_WRITE, &store, &err) < 0)
		return fail(argv[1], err);
	opts.progress = progress;
	if (strata_pull(store, argv[2], &opts, &pulled, &err) < 0) {
		strata_store_free(store);
		return fail(argv[2], err);
	}
	printf("pulled %s\n", pulled);
	free(pulled);
	ret = list(store, argv[2]);
	strata_store_free(store);
	return ret;
}
