/*
 * The store checker through the public API: each kind of damage it
 * reports, whether --repair fixes it, and that a repaired store checks
 * clean.  t0600 runs the same checker through the CLI and against dockerd.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata/strata.h"
#include "tap.h"

#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

struct fixture {
	char dir[64];
	char id_a[72], id_b[72];
	char chain_a[72], cache_a[65];
};

struct reports {
	char text[8192];
	size_t problems, repaired;
};

static void on_report(void *cookie, const char *object, const char *problem, bool repaired)
{
	struct reports *r = cookie;
	size_t used = strlen(r->text);

	snprintf(r->text + used, sizeof(r->text) - used, "%s: %s%s\n", object, problem,
		 repaired ? " [repaired]" : "");
	r->problems++;
	r->repaired += repaired;
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		bail_out("setup step failed: %s", cmd);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		bail_out("write %s: %s", path, strerror(errno));
}

/* A vfs store with two one-layer images, a:1 and b:1. */
static void make_store(struct fixture *fx)
{
	struct strata_store *store = NULL;
	struct strata_image_index *idx = NULL;
	struct strata_error *err = NULL;
	const struct strata_layer *layer;
	char tar[128];

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/strata-test-check.XXXXXX");
	if (!mkdtemp(fx->dir))
		bail_out("mkdtemp: %s", strerror(errno));
	sh("mkdir -p %s/src/a %s/src/b", fx->dir, fx->dir);
	sh("echo alpha >%s/src/a/f && echo bravo-bravo >%s/src/b/g", fx->dir, fx->dir);
	sh("tar -C %s/src/a -cf %s/a.tar f", fx->dir, fx->dir);
	sh("tar -C %s/src/b -cf %s/b.tar g", fx->dir, fx->dir);
	if (strata_store_open(fx->dir, "vfs", STRATA_STORE_WRITE, &store, &err) < 0 ||
	    strata_image_index_load(store, &idx, &err) < 0)
		bail_out("open the store: %s", err->msg);
	snprintf(tar, sizeof(tar), "%s/a.tar", fx->dir);
	if (strata_image_import(idx, tar, &(struct strata_import_options){ .ref = "a:1" }, fx->id_a, &err) < 0)
		bail_out("import a: %s", err->msg);
	snprintf(tar, sizeof(tar), "%s/b.tar", fx->dir);
	if (strata_image_import(idx, tar, &(struct strata_import_options){ .ref = "b:1" }, fx->id_b, &err) < 0)
		bail_out("import b: %s", err->msg);
	strata_image_index_free(idx);
	if (strata_image_index_load(store, &idx, &err) < 0)
		bail_out("reload the index: %s", err->msg);
	layer = strata_image_layer(strata_image_index_find(idx, fx->id_a), 0);
	snprintf(fx->chain_a, sizeof(fx->chain_a), "%s", strata_layer_chain_id(layer));
	snprintf(fx->cache_a, sizeof(fx->cache_a), "%s", strata_layer_cache_id(layer));
	strata_image_index_free(idx);
	strata_store_free(store);
}

static int check(const struct fixture *fx, bool deep, bool repair, struct reports *r)
{
	struct strata_check_options opts = { .deep = deep, .repair = repair };
	struct strata_check_result res;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	/* repair reports what it removes, so the next writer must not clean up first */
	unsigned flags = repair ? STRATA_STORE_WRITE | STRATA_STORE_KEEP_LEFTOVERS : STRATA_STORE_STABLE;
	int ret;

	memset(r, 0, sizeof(*r));
	if (strata_store_open(fx->dir, "vfs", flags, &store, &err) < 0)
		bail_out("open the store for check: %s", err->msg);
	ret = strata_store_check(store, &opts, on_report, r, &res, &err);
	if (ret < 0)
		snprintf(r->text, sizeof(r->text), "check failed: %s", err->msg);
	strata_error_free(err);
	strata_store_free(store);
	return ret;
}

static void path_of(char *out, size_t len, const struct fixture *fx, const char *rel, const char *id)
{
	snprintf(out, len, "%s/image/vfs/%s%s", fx->dir, rel, id ? id + 7 : "");
}

/* ---- the damages ---- */

static void leftover_config_write(const struct fixture *fx)
{
	char p[512];

	path_of(p, sizeof(p), fx, "imagedb/content/sha256/.tmp-" ZEROS ".123", NULL);
	write_file(p, "{}");
}

static void unexpected_content_file(const struct fixture *fx)
{
	char p[512];

	path_of(p, sizeof(p), fx, "imagedb/content/sha256/not-an-id", NULL);
	write_file(p, "{}");
}

static void broken_config(const struct fixture *fx)
{
	char p[512];

	path_of(p, sizeof(p), fx, "imagedb/content/sha256/", fx->id_a);
	write_file(p, "{\"rootfs\": ");
}

static void metadata_of_missing_image(const struct fixture *fx)
{
	char p[512];

	path_of(p, sizeof(p), fx, "imagedb/metadata/sha256/" ZEROS, NULL);
	mkdir(p, 0700);
	strcat(p, "/lastUpdated");
	write_file(p, "2020-01-01T00:00:00Z");
}

static void missing_parent_image(const struct fixture *fx)
{
	char p[512];

	path_of(p, sizeof(p), fx, "imagedb/metadata/sha256/", fx->id_b);
	mkdir(p, 0700);
	strcat(p, "/parent");
	write_file(p, "sha256:" ZEROS);
}

static void missing_layer(const struct fixture *fx)
{
	char p[512];

	path_of(p, sizeof(p), fx, "layerdb/sha256/", fx->chain_a);
	sh("rm -rf %s", p);
}

static void orphan_layer(const struct fixture *fx)
{
	char p[512];

	path_of(p, sizeof(p), fx, "imagedb/content/sha256/", fx->id_a);
	unlink(p);
}

static void missing_driver_folder(const struct fixture *fx)
{
	sh("rm -rf %s/vfs/dir/%s", fx->dir, fx->cache_a);
}

static void orphan_driver_folder(const struct fixture *fx)
{
	sh("mkdir -p %s/vfs/dir/" ZEROS, fx->dir);
}

static void dangling_tag(const struct fixture *fx)
{
	char p[512];

	path_of(p, sizeof(p), fx, "repositories.json", NULL);
	write_file(p, "{\"Repositories\":{\"x\":{\"x:1\":\"sha256:" ZEROS "\"}}}");
}

static void changed_layer_file(const struct fixture *fx)
{
	sh("echo ALPHA >%s/vfs/dir/%s/f", fx->dir, fx->cache_a);
}

static void changed_cache_id(const struct fixture *fx)
{
	char p[512];

	path_of(p, sizeof(p), fx, "layerdb/sha256/", fx->chain_a);
	strcat(p, "/cache-id");
	write_file(p, "../../../../tmp/x");
}

static const struct {
	const char *what;
	void (*damage)(const struct fixture *fx);
	bool deep;
	const char *report;     /* a line of the report contains this */
	bool repaired;          /* --repair fixes it */
} cases[] = {
	{ "a leftover of an interrupted config write", leftover_config_write, false,
	  "leftover of an interrupted image write", true },
	{ "a stray file among the configs", unexpected_content_file, false, "unexpected file in", false },
	{ "a config that does not match its ID", broken_config, false, "is corrupted: its sha256 is", true },
	{ "metadata of an image that is gone", metadata_of_missing_image, false,
	  "metadata of an image that does not exist", true },
	{ "a parent image that is gone", missing_parent_image, false, "parent image sha256:" ZEROS " does not exist",
	  false },
	{ "an image's layer that is gone", missing_layer, false, "is missing", false },
	{ "a layer no image uses", orphan_layer, false, "no image or container uses this layer", true },
	{ "a layer's driver folder that is gone", missing_driver_folder, false, "is missing", false },
	{ "a driver folder no layer uses", orphan_driver_folder, false, "folder that no layer or container uses",
	  true },
	{ "a tag of a missing image", dangling_tag, false, "x:1 points at missing image", true },
	{ "a changed file in a layer (deep)", changed_layer_file, true, "layer tar", false },
	{ "a hostile cache-id", changed_cache_id, false, "cache-id", true },
};

/* The report's line about needle: 0 none, 1 there, 2 there and repaired. */
static int line_state(const char *text, const char *needle)
{
	const char *hit = strstr(text, needle), *end;

	if (!hit)
		return 0;
	end = strchr(hit, '\n');
	return end && end - hit >= 10 && !strncmp(end - 10, "[repaired]", 10) ? 2 : 1;
}

static void show(const struct reports *r)
{
	for (const char *p = r->text; *p;) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);

		printf("#   %.*s\n", n, p);
		p += n + (nl != NULL);
	}
}

int main(void)
{
	struct fixture fx;
	struct reports r;
	bool good;

	make_store(&fx);
	good = check(&fx, true, false, &r) == 0 && r.problems == 0;
	ok(good, "a fresh store checks clean, deep too");
	if (!good)
		show(&r);
	sh("rm -rf %s", fx.dir);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		make_store(&fx);
		cases[k].damage(&fx);
		good = check(&fx, cases[k].deep, false, &r) == 0 && line_state(r.text, cases[k].report) == 1 &&
		       !r.repaired;
		ok(good, "%s: reported, nothing changed", cases[k].what);
		if (!good)
			show(&r);
		good = check(&fx, cases[k].deep, true, &r) == 0 &&
		       line_state(r.text, cases[k].report) == (cases[k].repaired ? 2 : 1);
		ok(good, "%s: --repair %s", cases[k].what, cases[k].repaired ? "fixes it" : "reports it, cannot fix it");
		if (!good)
			show(&r);
		if (cases[k].repaired) {
			check(&fx, cases[k].deep, false, &r);
			ok(r.problems == 0, "%s: after the repair the store checks clean", cases[k].what);
			if (r.problems)
				show(&r);
		}
		sh("rm -rf %s", fx.dir);
	}
	return tap_done();
}
