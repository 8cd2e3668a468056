/* Layer store: phased registration (prepare, parallel ingest, commit, abort) and layerstore_register. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest/digest.h"
#include "driver/driver.h"
#include "layer/layerdb.h"
#include "layer/layerstore.h"
#include "store/store-private.h"
#include "strata/store.h"
#include "memio.h"
#include "tap.h"
#include "tar/tar.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "util/strbuf.h"

struct file {
	const char *name;
	char type;
	const char *data; /* file contents or symlink target */
};

/* A small layer tar in memory, and its diff ID. */
static void make_tar(const struct file *files, size_t n, struct strbuf *out, char diff_id[STRATA_DIGEST_LEN + 1])
{
	struct tar_writer *w = tar_writer_new(sb_write, out);
	char hex[STRATA_HEX_LEN + 1];

	for (size_t i = 0; i < n; i++) {
		struct tar_entry e = {
			.name = (char *)files[i].name,
			.linkname = (char *)(files[i].type == TAR_SYMLINK ? files[i].data : ""),
			.typeflag = files[i].type,
			.mode = files[i].type == TAR_DIR ? 0755 : 0644,
			.uname = (char *)"root",
			.gname = (char *)"root",
			.mtime_sec = 1700000000 + (int64_t)i,
			.size = files[i].type == TAR_REG ? strlen(files[i].data) : 0,
		};

		tar_writer_add(w, &e, NULL);
		if (e.size)
			tar_writer_write_data(w, files[i].data, e.size, NULL);
	}
	tar_writer_finish(w, NULL);
	tar_writer_free(w);
	sha256_hex(out->buf, out->len, hex);
	snprintf(diff_id, STRATA_DIGEST_LEN + 1, "sha256:%s", hex);
}

struct ingest_arg {
	struct layer_job *job;
	struct mem src;
	int ret;
	struct strata_error *err;
};

static void *ingest_thread(void *cookie)
{
	struct ingest_arg *a = cookie;

	a->ret = layerstore_job_ingest(a->job, mem_read, &a->src, &a->err);
	return NULL;
}

static char *slurp(struct strata_store *store, const char *chain, const char *file)
{
	char *path = xasprintf("layerdb/sha256/%s/%s", chain + 7, file);
	char *s = NULL;

	if (fs_read_file_at(store->image_fd, path, 4096, &s, NULL, NULL) < 0)
		s = NULL;
	free(path);
	return s;
}

/* Entries in image/<driver>/layerdb/tmp (-1 when it cannot be read). */
static int tmp_entries(struct strata_store *store)
{
	int fd = openat(store->image_fd, "layerdb/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void expected_cache_id(const char *chain, char out[STRATA_HEX_LEN + 1])
{
	char *seed = xasprintf("strata cache-id %s", chain);

	sha256_hex(seed, strlen(seed), out);
	free(seed);
}

static const struct file l1[] = {
	{ "etc/", TAR_DIR, NULL },
	{ "etc/a", TAR_REG, "alpha\n" },
};
static const struct file l2[] = {
	{ "etc/b", TAR_REG, "bravo bravo\n" },
	{ "etc/link", TAR_SYMLINK, "a" },
};
static const struct file l3[] = {
	{ "etc/a", TAR_REG, "charlie!\n" },
	{ "var/", TAR_DIR, NULL },
};

static void test_driver(const char *driver_name)
{
	const struct file *layers[3] = { l1, l2, l3 };
	const size_t counts[3] = { 2, 2, 2 };
	struct strbuf tars[3] = { STRBUF_INIT, STRBUF_INIT, STRBUF_INIT };
	char diff[3][STRATA_DIGEST_LEN + 1], chain[3][STRATA_DIGEST_LEN + 1];
	struct ingest_arg args[3] = { 0 };
	pthread_t tids[3];
	struct layer_job *jobs[3] = { NULL };
	struct layer_register_result res[3];
	struct strata_error *err = NULL;
	struct strata_store *store = NULL;
	struct graph_driver *driver = NULL;
	char dir[] = "/tmp/strata-test-layerstore.XXXXXX";
	bool parallel = strcmp(driver_name, "vfs") != 0;
	/* overlay2 counts the symlink's target length, vfs the header size fields (0) */
	const int64_t sizes[3] = { 6, parallel ? 13 : 12, 9 };
	int ret;

	printf("# driver %s\n", driver_name);
	if (!mkdtemp(dir))
		bail_out("cannot create a temp data root: %s", strerror(errno));
	ret = strata_store_open(dir, driver_name, STRATA_STORE_WRITE, &store, &err);
	ok(ret == 0, "%s: open a new store", driver_name);
	if (ret < 0) {
		printf("# %s\n", err ? err->msg : "?");
		strata_error_free(err);
		return;
	}
	ok(store_driver(store, &driver, &err) == 0, "%s: open the driver before the threads", driver_name);
	for (int i = 0; i < 3; i++) {
		make_tar(layers[i], counts[i], &tars[i], diff[i]);
		layer_chain_id(i ? chain[i - 1] : NULL, diff[i], chain[i]);
	}

	/* prepare in chain order, each on the (uncommitted) job below it */
	for (int i = 0; i < 3; i++) {
		ret = layerstore_prepare(store, i ? chain[i - 1] : NULL, i ? jobs[i - 1] : NULL, diff[i], &jobs[i],
					 &err);
		ok(ret == 0 && jobs[i] && !layerstore_job_existed(jobs[i]), "%s: prepare layer %d", driver_name, i);
		if (ret < 0) {
			printf("# %s\n", err->msg);
			strata_error_freep(&err);
		}
		if (jobs[i])
			is_str(layerstore_job_chain_id(jobs[i]), chain[i], "%s: layer %d's chain ID is known at prepare",
			       driver_name, i);
		args[i].job = jobs[i];
		args[i].src = (struct mem){ (const unsigned char *)tars[i].buf, tars[i].len, 0, 0 };
		/* vfs copies the parent at create: its parent must be read first */
		if (!parallel && jobs[i])
			ingest_thread(&args[i]);
	}
	if (parallel) {
		bool started[3];

		for (int i = 2; i >= 0; i--)
			started[i] = jobs[i] && pthread_create(&tids[i], NULL, ingest_thread, &args[i]) == 0;
		for (int i = 0; i < 3; i++)
			if (started[i])
				pthread_join(tids[i], NULL);
	}
	for (int i = 0; i < 3; i++) {
		ok(args[i].ret == 0, "%s: ingest layer %d%s", driver_name, i, parallel ? " (in parallel)" : "");
		if (args[i].err)
			printf("# %s\n", args[i].err->msg);
		strata_error_freep(&args[i].err);
	}
	for (int i = 0; i < 3; i++) {
		ret = jobs[i] ? layerstore_job_commit(jobs[i], &res[i], &err) : -1;
		jobs[i] = NULL;
		ok(ret == 0, "%s: commit layer %d in chain order", driver_name, i);
		if (err)
			printf("# %s\n", err->msg);
		strata_error_freep(&err);
	}

	for (int i = 0; i < 3; i++) {
		struct layer_record rec = { 0 };
		char cache[STRATA_HEX_LEN + 1], hex[STRATA_HEX_LEN + 1] = "", sz[32];
		uint64_t tar_size = 0;
		char *s;

		is_str(res[i].chain_id, chain[i], "%s: layer %d: chain ID", driver_name, i);
		is_str(res[i].diff_id, diff[i], "%s: layer %d: diff ID", driver_name, i);
		ok(!res[i].existed && res[i].size == sizes[i], "%s: layer %d: result size %lld", driver_name, i,
		   (long long)res[i].size);
		ok(layerstore_has(store, chain[i]), "%s: layer %d is in layerdb", driver_name, i);
		ok(layerdb_read(store, chain[i], &rec, &err) == 0, "%s: layer %d: layerdb entry reads", driver_name, i);
		strata_error_freep(&err);
		expected_cache_id(chain[i], cache);
		is_str(rec.cache_id, cache, "%s: layer %d: cache-id derived from the chain ID", driver_name, i);
		ok(graph_driver_exists(driver, cache), "%s: layer %d: driver folder exists", driver_name, i);
		snprintf(sz, sizeof(sz), "%lld", (long long)sizes[i]);
		s = slurp(store, chain[i], "size");
		is_str(s, sz, "%s: layer %d: size file", driver_name, i);
		free(s);
		s = slurp(store, chain[i], "diff");
		is_str(s, diff[i], "%s: layer %d: diff file", driver_name, i);
		free(s);
		s = slurp(store, chain[i], "parent");
		if (i)
			is_str(s, chain[i - 1], "%s: layer %d: parent file", driver_name, i);
		else
			ok(s == NULL, "%s: layer 0 has no parent file", driver_name);
		free(s);
		ok(layerstore_assemble_sha256(store, chain[i], hex, &tar_size, &err) == 0 && !strcmp(hex, diff[i] + 7) &&
		   tar_size == tars[i].len, "%s: layer %d: the rebuilt tar hashes to its diff ID", driver_name, i);
		if (err)
			printf("# %s\n", err->msg);
		strata_error_freep(&err);
	}
	ok(tmp_entries(store) == 0, "%s: layerdb/tmp is empty after the commits", driver_name);

	/* an existing chain: nothing is created, nothing is read */
	{
		struct layer_job *job = NULL;
		struct layer_register_result r;
		struct mem none = { NULL, 0, 0, 0 };

		ret = layerstore_prepare(store, chain[0], NULL, diff[1], &job, &err);
		ok(ret == 0 && job && layerstore_job_existed(job), "%s: a registered chain is prepared as existing",
		   driver_name);
		ok(job && layerstore_job_ingest(job, mem_read, &none, &err) == 0,
		   "%s: ingest of an existing chain reads nothing", driver_name);
		ok(job && layerstore_job_commit(job, &r, &err) == 0 && r.existed && r.size == sizes[1] &&
		   !strcmp(r.chain_id, chain[1]), "%s: commit reports the existing layer", driver_name);
		strata_error_freep(&err);
	}

	/* abort: two prepared layers (one on the other), one of them read, leave nothing behind */
	{
		static const struct file l4[] = { { "d", TAR_REG, "delta\n" } };
		static const struct file l5[] = { { "e", TAR_REG, "echo\n" } };
		struct strbuf t4 = STRBUF_INIT, t5 = STRBUF_INIT;
		char d4[STRATA_DIGEST_LEN + 1], d5[STRATA_DIGEST_LEN + 1], c4[STRATA_DIGEST_LEN + 1];
		char c5[STRATA_DIGEST_LEN + 1], k4[STRATA_HEX_LEN + 1], k5[STRATA_HEX_LEN + 1];
		struct layer_job *j4 = NULL, *j5 = NULL;
		struct mem s4;

		make_tar(l4, 1, &t4, d4);
		make_tar(l5, 1, &t5, d5);
		layer_chain_id(chain[2], d4, c4);
		layer_chain_id(c4, d5, c5);
		expected_cache_id(c4, k4);
		expected_cache_id(c5, k5);
		s4 = (struct mem){ (const unsigned char *)t4.buf, t4.len, 0, 0 };
		ok(layerstore_prepare(store, chain[2], NULL, d4, &j4, &err) == 0, "%s: prepare a 4th layer",
		   driver_name);
		ok(j4 && layerstore_job_ingest(j4, mem_read, &s4, &err) == 0, "%s: read it", driver_name);
		if (parallel)
			ok(layerstore_prepare(store, NULL, j4, d5, &j5, &err) == 0, "%s: prepare a 5th on it",
			   driver_name);
		strata_error_freep(&err);
		ok(graph_driver_exists(driver, k4) && tmp_entries(store) >= 1,
		   "%s: folders and staging exist before the abort", driver_name);
		layerstore_job_abort(j5);
		layerstore_job_abort(j4);
		ok(!graph_driver_exists(driver, k4) && !graph_driver_exists(driver, k5),
		   "%s: abort removes the driver folders", driver_name);
		ok(tmp_entries(store) == 0, "%s: abort leaves no layerdb/tmp entry", driver_name);
		ok(!layerstore_has(store, c4) && !layerstore_has(store, c5), "%s: abort registers nothing",
		   driver_name);

		/* a tar that does not hash to the expected diff ID fails in ingest */
		s4 = (struct mem){ (const unsigned char *)t4.buf, t4.len, 0, 0 };
		j4 = NULL;
		ok(layerstore_prepare(store, chain[2], NULL, d5, &j4, &err) == 0, "%s: prepare with a wrong diff ID",
		   driver_name);
		ok(j4 && layerstore_job_ingest(j4, mem_read, &s4, &err) == -STRATA_ERR_DIGEST_MISMATCH && err &&
		   strstr(err->msg, "diff ID mismatch"), "%s: ingest reports the mismatch", driver_name);
		strata_error_freep(&err);
		layerstore_job_abort(j4);
		layer_chain_id(chain[2], d5, c5);
		expected_cache_id(c5, k5);
		ok(!graph_driver_exists(driver, k5) && tmp_entries(store) == 0 && !layerstore_has(store, c5),
		   "%s: and its abort leaves nothing", driver_name);

		/* a job without a known chain cannot be a parent; commit of an unread job fails and cleans up */
		j4 = NULL;
		ok(layerstore_prepare(store, chain[2], NULL, NULL, &j4, &err) == 0 && j4 &&
		   !*layerstore_job_chain_id(j4), "%s: prepare without a diff ID: chain unknown", driver_name);
		strata_error_freep(&err);
		j5 = NULL;
		ok(j4 && layerstore_prepare(store, NULL, j4, d5, &j5, &err) == -STRATA_ERR_INVALID && !j5,
		   "%s: it cannot be a parent", driver_name);
		strata_error_freep(&err);
		{
			struct layer_register_result r;

			ok(j4 && layerstore_job_commit(j4, &r, &err) == -STRATA_ERR_INVALID,
			   "%s: commit of an unread job fails", driver_name);
			strata_error_freep(&err);
		}
		ok(tmp_entries(store) == 0, "%s: and leaves no layerdb/tmp entry", driver_name);

		/* layerstore_register (one call) still works, and reuses a known tar */
		{
			struct layer_register_result r = { 0 }, again = { 0 };

			s4 = (struct mem){ (const unsigned char *)t4.buf, t4.len, 0, 0 };
			ok(layerstore_register(store, chain[2], mem_read, &s4, NULL, &r, &err) == 0 && !r.existed &&
			   !strcmp(r.chain_id, c4) && layerstore_has(store, c4),
			   "%s: layerstore_register without a diff ID", driver_name);
			strata_error_freep(&err);
			s4 = (struct mem){ (const unsigned char *)t4.buf, t4.len, 0, 0 };
			ok(layerstore_register(store, chain[2], mem_read, &s4, NULL, &again, &err) == 0 && again.existed &&
			   !strcmp(again.chain_id, c4), "%s: the same tar again is the existing layer", driver_name);
			strata_error_freep(&err);
			ok(tmp_entries(store) == 0, "%s: layerdb/tmp is empty", driver_name);
		}
		strbuf_release(&t4);
		strbuf_release(&t5);
	}

	for (int i = 0; i < 3; i++)
		strbuf_release(&tars[i]);
	strata_store_free(store);
	fs_remove_tree_at(AT_FDCWD, dir, NULL);
}

int main(void)
{
	test_driver("overlay2");
	test_driver("vfs");
	return tap_done();
}
