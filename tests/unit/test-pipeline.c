/*
 * layer/pipeline: a chain registered in order, the first failure in chain
 * order reported with its context, nothing left of the layers not committed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest/digest.h"
#include "layer/layerdb.h"
#include "layer/pipeline.h"
#include "memio.h"
#include "store/store-private.h"
#include "strata/store.h"
#include "tap.h"
#include "tar/tar.h"
#include "util/fs.h"
#include "util/strbuf.h"

#define N 4

struct chain {
	struct strbuf tars[N];
	char diff[N][STRATA_DIGEST_LEN + 1], id[N][STRATA_DIGEST_LEN + 1];
	struct layer_pipeline_item items[N];
};

struct script {
	struct chain *c;
	int fail_open, fail_ingest; /* item that fails there, or -1 */
	bool own_failure;          /* report failures through the failed hook */
	pthread_mutex_t mu;
	int committed[N], nr_committed;
};

/* Layer i: one folder with one file of i+1 KiB, so that the sizes differ. */
static void make_chain(struct chain *c)
{
	for (int i = 0; i < N; i++) {
		struct tar_writer *w;
		char name[32], hex[STRATA_HEX_LEN + 1], *data = malloc(1024 * (i + 1));
		struct tar_entry e = { .typeflag = TAR_REG, .mode = 0644, .uname = (char *)"root",
				       .gname = (char *)"root", .mtime_sec = 1700000000, .linkname = (char *)"" };

		strbuf_init(&c->tars[i], 0);
		w = tar_writer_new(sb_write, &c->tars[i]);
		memset(data, 'a' + i, 1024 * (i + 1));
		snprintf(name, sizeof(name), "f%d", i);
		e.name = name;
		e.size = 1024 * (i + 1);
		tar_writer_add(w, &e, NULL);
		tar_writer_write_data(w, data, e.size, NULL);
		tar_writer_finish(w, NULL);
		tar_writer_free(w);
		free(data);
		sha256_hex(c->tars[i].buf, c->tars[i].len, hex);
		snprintf(c->diff[i], sizeof(c->diff[i]), "sha256:%s", hex);
		layer_chain_id(i ? c->id[i - 1] : NULL, c->diff[i], c->id[i]);
		c->items[i] = (struct layer_pipeline_item){ c->id[i], i ? c->id[i - 1] : NULL, c->diff[i] };
	}
}

static int s_open(void *cookie, size_t i, uint64_t *size, struct strata_error **err)
{
	struct script *s = cookie;

	*size = s->c->tars[i].len;
	if ((int)i == s->fail_open)
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "source %zu is missing", i);
	return 0;
}

static ssize_t failing_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	(void)cookie, (void)buf, (void)len;
	return strata_error_set(err, STRATA_ERR_IO, 0, "read failed");
}

static int s_ingest(void *cookie, size_t i, struct layer_job *job, struct strata_error **err)
{
	struct script *s = cookie;
	struct mem m = { (const unsigned char *)s->c->tars[i].buf, s->c->tars[i].len, 0, 100 };

	if ((int)i == s->fail_ingest)
		return layerstore_job_ingest(job, failing_read, NULL, err);
	return layerstore_job_ingest(job, mem_read, &m, err);
}

static void s_context(void *cookie, size_t i, struct strata_error **err)
{
	(void)cookie;
	strata_error_wrap(err, "item %zu", i);
}

static int s_failed(void *cookie, size_t i, struct strata_error **ingest_err, struct strata_error **err)
{
	(void)cookie;
	strata_error_freep(ingest_err);
	return strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0, "item %zu: bad blob", i);
}

static int s_committed(void *cookie, size_t i, const struct layer_register_result *res, struct strata_error **err)
{
	struct script *s = cookie;

	(void)res, (void)err;
	pthread_mutex_lock(&s->mu);
	s->committed[s->nr_committed++] = (int)i;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static int tmp_entries(struct strata_store *store)
{
	DIR *d = NULL;
	struct dirent *de;
	int n = 0;

	if (fs_opendir_at(store->image_fd, "layerdb/tmp", &d, NULL) < 0)
		return 0;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

/* Run the pipeline on a fresh store; *store_out keeps it for the checks. */
static int run(const char *driver, struct script *s, char *dir, struct strata_store **store_out,
	       struct strata_error **err)
{
	struct layer_pipeline p = { .biggest_first = true, .cookie = s, .open = s_open, .ingest = s_ingest,
				    .context = s_context, .committed = s_committed };
	struct graph_driver *gd;
	int ret;

	if (!mkdtemp(dir))
		bail_out("cannot create a temp data root: %s", strerror(errno));
	ret = strata_store_open(dir, driver, STRATA_STORE_WRITE, store_out, err);
	if (ret < 0)
		bail_out("open a store in %s: %s", dir, (*err)->msg);
	if (store_driver(*store_out, &gd, err) < 0)
		bail_out("open the driver: %s", (*err)->msg);
	p.store = *store_out;
	if (s->own_failure)
		p.failed = s_failed;
	return layer_pipeline_run(&p, s->c->items, N, err);
}

static void test_driver(const char *driver, struct chain *c)
{
	static const struct {
		const char *what;
		int fail_open, fail_ingest;
		bool own_failure;
		int committed;        /* layers in the store after the run */
		const char *message;  /* NULL: success */
	} cases[] = {
		{ "every layer", -1, -1, false, N, NULL },
		{ "ingest of layer 2 fails", -1, 2, false, 2, "item 2: " },
		{ "the failed hook reports it", -1, 1, true, 1, "item 1: bad blob" },
		{ "opening layer 1 fails", 1, -1, false, 1, "source 1 is missing" },
		{ "opening the base fails", 0, -1, false, 0, "source 0 is missing" },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct script s = { c, cases[k].fail_open, cases[k].fail_ingest, cases[k].own_failure,
				    PTHREAD_MUTEX_INITIALIZER, { 0 }, 0 };
		char dir[] = "/tmp/strata-test-pipeline.XXXXXX";
		struct strata_store *store = NULL;
		struct strata_error *err = NULL;
		int ret = run(driver, &s, dir, &store, &err);
		/*
		 * In parallel (biggest first, stopping at a failure) fewer layers
		 * below the failure may have been read; one at a time, all are.
		 */
		bool in_order = strcmp(driver, "vfs") ? s.nr_committed <= cases[k].committed
						      : s.nr_committed == cases[k].committed;
		bool present = true;

		for (int i = 0; i < s.nr_committed; i++)
			in_order &= s.committed[i] == i;
		for (int i = 0; i < N; i++)
			present &= layerstore_has(store, c->id[i]) == (i < s.nr_committed);
		if (!cases[k].message)
			ok(ret == 0 && !err, "%s, %s: registered (%s)", driver, cases[k].what, err ? err->msg : "");
		else
			ok(ret < 0 && err && !strncmp(err->msg, cases[k].message, strlen(cases[k].message)),
			   "%s, %s: that error is reported (%s)", driver, cases[k].what, err ? err->msg : "none");
		ok(in_order, "%s, %s: %d layers committed (at most %d), in chain order", driver, cases[k].what,
		   s.nr_committed, cases[k].committed);
		ok(present, "%s, %s: exactly those are in the store", driver, cases[k].what);
		ok(tmp_entries(store) == 0, "%s, %s: no staging left", driver, cases[k].what);
		strata_error_free(err);
		strata_store_free(store);
		fs_remove_tree_at(AT_FDCWD, dir, NULL);
	}
}

int main(void)
{
	struct chain c;

	make_chain(&c);
	test_driver("overlay2", &c);
	test_driver("vfs", &c);
	for (int i = 0; i < N; i++)
		strbuf_release(&c.tars[i]);
	return tap_done();
}
