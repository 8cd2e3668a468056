/*
 * Image removal rules (docker rmi / image prune) through the public API, on
 * stores made here: tags, several references given by ID, -f, children,
 * stopped and running containers, pruning of untagged parents.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "strata/image.h"
#include "strata/store.h"
#include "tap.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"

static char base[] = "/tmp/strata-test-remove.XXXXXX";
static int nr_store;

struct fixture {
	char *root;
	struct strata_store *store;
	struct strata_image_index *idx;
};

static void on_removal(void *cookie, enum strata_removal what, const char *value)
{
	strbuf_addf(cookie, "%s: %s\n", what == STRATA_UNTAGGED ? "Untagged" : "Deleted", value);
}

static void write_file(const char *path, const char *data)
{
	struct strata_error *err = NULL;

	if (fs_write_file_atomic_at(AT_FDCWD, path, data, strlen(data), 0600, &err) < 0)
		bail_out("cannot write %s: %s", path, err->msg);
}

static void mkdirs(const char *dir)
{
	_cleanup_free_ char *cmd = xasprintf("mkdir -p '%s'", dir);

	if (system(cmd) != 0)
		bail_out("cannot create %s", dir);
}

static void reload(struct fixture *f)
{
	struct strata_error *err = NULL;

	strata_image_index_free(f->idx);
	f->idx = NULL;
	if (strata_image_index_load(f->store, &f->idx, &err) < 0)
		bail_out("cannot load the image index of %s: %s", f->root, err->msg);
}

static void fixture_open(struct fixture *f)
{
	struct strata_error *err = NULL;

	f->root = xasprintf("%s/s%d", base, ++nr_store);
	f->idx = NULL;
	if (strata_store_open(f->root, "vfs", STRATA_STORE_WRITE, &f->store, &err) < 0)
		bail_out("cannot open a new store in %s: %s", f->root, err->msg);
	reload(f);
}

static void fixture_close(struct fixture *f)
{
	strata_image_index_free(f->idx);
	strata_store_free(f->store);
	free(f->root);
}

/* A one-layer image holding one file with `content`, tagged ref (or untagged). */
static void import(struct fixture *f, const char *content, const char *ref, char id[72])
{
	_cleanup_free_ char *dir = xasprintf("%s/src%d", base, nr_store);
	_cleanup_free_ char *file = xasprintf("%s/f", dir);
	_cleanup_free_ char *tar = xasprintf("%s/layer.tar", base);
	_cleanup_free_ char *cmd = xasprintf("tar -C '%s' -cf '%s' f", dir, tar);
	struct strata_import_options opts = { .ref = ref };
	struct strata_error *err = NULL;

	mkdir(dir, 0755);
	write_file(file, content);
	if (system(cmd) != 0)
		bail_out("tar could not write %s", tar);
	if (strata_image_import(f->idx, tar, &opts, id, &err) < 0)
		bail_out("cannot import %s: %s", tar, err->msg);
	reload(f);
}

/* dockerd's metadata parent: child was built on parent */
static void set_parent(struct fixture *f, const char *child, const char *parent)
{
	_cleanup_free_ char *dir = xasprintf("%s/image/vfs/imagedb/metadata/sha256/%s", f->root, child + 7);
	_cleanup_free_ char *path = xasprintf("%s/parent", dir);
	mkdirs(dir);
	write_file(path, parent);
	reload(f);
}

/* a container of image id, as dockerd records it in containers/<cid>/config.v2.json */
static void add_container(struct fixture *f, const char *cid, const char *id, bool running)
{
	_cleanup_free_ char *dir = xasprintf("%s/containers/%s", f->root, cid);
	_cleanup_free_ char *path = xasprintf("%s/config.v2.json", dir);
	_cleanup_free_ char *cfg = xasprintf("{\"ID\":\"%s\",\"Image\":\"%s\",\"State\":{\"Running\":%s}}\n", cid,
					     id, running ? "true" : "false");
	mkdirs(dir);
	write_file(path, cfg);
}

/* rmi NAME: returns the status; *out gets the report, *msg the error text */
static int rmi(struct fixture *f, const char *name, bool force, bool prune, struct strbuf *out, char **msg)
{
	struct strata_error *err = NULL;
	int ret;

	strbuf_reset(out);
	ret = strata_image_remove(f->idx, name, force, prune, on_removal, out, &err);
	*msg = err ? xstrdup(err->msg) : NULL;
	strata_error_free(err);
	return ret;
}

static bool has_image(struct fixture *f, const char *id)
{
	return strata_image_index_find(f->idx, id) != NULL;
}

static bool has_layer_dir(struct fixture *f, const char *id)
{
	struct strata_image *img = strata_image_index_find(f->idx, id);
	_cleanup_free_ char *path = NULL;

	if (!img || !strata_image_layer_count(img))
		return false;
	path = xasprintf("%s/image/vfs/layerdb/sha256/%s", f->root, strata_layer_chain_id(strata_image_layer(img, 0)) + 7);
	return fs_exists_at(AT_FDCWD, path);
}

/* "Deleted: ID\nDeleted: LAYER\n": docker reports the image, then each layer it released */
static char *deleted(struct fixture *f, const char *id)
{
	struct strata_image *img = strata_image_index_find(f->idx, id);

	if (!img || strata_image_layer_count(img) != 1)
		bail_out("%s is not a one-layer image of the index", id);
	return xasprintf("Deleted: %s\nDeleted: %s\n", id, strata_layer_chain_id(strata_image_layer(img, 0)));
}

#define CID1 "1111111111111111111111111111111111111111111111111111111111111111"

static void test_tags(void)
{
	struct fixture f;
	struct strbuf out = STRBUF_INIT;
	struct strata_error *err = NULL;
	char id[72], chain[72], *msg = NULL, *path, *want, *del;

	fixture_open(&f);
	import(&f, "one\n", "a:1", id);
	if (strata_image_tag(f.idx, "a:1", "a:2", &err) < 0)
		bail_out("cannot tag a:2: %s", err->msg);
	snprintf(chain, sizeof(chain), "%s", strata_layer_chain_id(strata_image_layer(strata_image_index_find(f.idx, id), 0)));
	del = deleted(&f, id);

	ok(rmi(&f, "a:2", false, true, &out, &msg) == 0, "rmi of one of two tags");
	is_str(out.buf, "Untagged: a:2\n", "only that tag is untagged");
	ok(has_image(&f, id), "the image stays");

	ok(rmi(&f, "a:1", false, true, &out, &msg) == 0, "rmi of the last tag");
	want = xasprintf("Untagged: a:1\n%s", del);
	is_str(out.buf, want, "untagged, then the image and its layer deleted");
	free(want);
	free(del);
	ok(!has_image(&f, id), "the image is gone from the index");
	path = xasprintf("%s/image/vfs/layerdb/sha256/%s", f.root, chain + 7);
	ok(!fs_exists_at(AT_FDCWD, path), "its layer is released");
	free(path);
	reload(&f);
	ok(!has_image(&f, id), "and from the store");

	ok(rmi(&f, "nosuch:1", false, true, &out, &msg) == -STRATA_ERR_NOT_FOUND, "rmi of an unknown name");
	is_str(msg, "No such image: nosuch:1", "docker's message");
	free(msg);
	ok(rmi(&f, "nosuch:1", true, true, &out, &msg) == -STRATA_ERR_NOT_FOUND, "-f does not hide it");
	free(msg);
	strbuf_release(&out);
	fixture_close(&f);
}

static void test_references_by_id(void)
{
	struct fixture f;
	struct strbuf out = STRBUF_INIT;
	struct strata_error *err = NULL;
	char id[72], short_id[13], *msg = NULL, *want, *del;

	fixture_open(&f);
	import(&f, "two\n", "a:1", id);
	snprintf(short_id, sizeof(short_id), "%.12s", id + 7);
	if (strata_image_tag(f.idx, "a:1", "a:2", &err) < 0 || strata_image_tag(f.idx, "a:1", "b:1", &err) < 0)
		bail_out("cannot tag: %s", err->msg);

	ok(rmi(&f, short_id, false, true, &out, &msg) == -STRATA_ERR_CONFLICT,
	   "rmi by ID of an image in two repositories");
	want = xasprintf("conflict: unable to delete %s (must be forced) - image is referenced in multiple "
			 "repositories", short_id);
	is_str(msg, want, "docker's conflict message");
	free(want);
	free(msg);
	is_str(out.buf, "", "nothing untagged");
	ok(has_image(&f, id), "the image stays");

	ok(rmi(&f, "b:1", false, true, &out, &msg) == 0, "untag the other repository");
	/* moby's isSingleReference: two tags are two references, even in one repository */
	ok(rmi(&f, short_id, false, true, &out, &msg) == -STRATA_ERR_CONFLICT, "rmi by ID: two tags of one repository");
	want = xasprintf("conflict: unable to delete %s (must be forced) - image is referenced in multiple "
			 "repositories", short_id);
	is_str(msg, want, "the same conflict");
	free(want);
	free(msg);
	ok(rmi(&f, "a:2", false, true, &out, &msg) == 0, "untag a:2");
	del = deleted(&f, id);
	ok(rmi(&f, short_id, false, true, &out, &msg) == 0, "rmi by ID of an image with one tag");
	want = xasprintf("Untagged: a:1\n%s", del);
	is_str(out.buf, want, "the tag untagged, then deleted");
	free(want);
	free(del);
	ok(!has_image(&f, id), "the image is gone");

	import(&f, "two\n", "a:1", id);
	if (strata_image_tag(f.idx, "a:1", "b:1", &err) < 0)
		bail_out("cannot tag: %s", err->msg);
	del = deleted(&f, id);
	ok(rmi(&f, id, true, true, &out, &msg) == 0, "rmi -f by full ID of an image in two repositories");
	want = xasprintf("Untagged: a:1\nUntagged: b:1\n%s", del);
	is_str(out.buf, want, "-f untags every repository and deletes");
	free(want);
	free(del);
	strbuf_release(&out);
	fixture_close(&f);
}

static void test_children(void)
{
	struct fixture f;
	struct strbuf out = STRBUF_INIT;
	char parent[72], child[72], short_id[13], *msg = NULL, *want, *del;

	fixture_open(&f);
	import(&f, "parent\n", "p:1", parent);
	import(&f, "child\n", "c:1", child);
	set_parent(&f, child, parent);
	snprintf(short_id, sizeof(short_id), "%.12s", parent + 7);
	want = xasprintf("conflict: unable to delete %s (cannot be forced) - image has dependent child images",
			 short_id);

	ok(rmi(&f, short_id, false, true, &out, &msg) == -STRATA_ERR_CONFLICT, "rmi by ID of a parent");
	is_str(msg, want, "dependent child images");
	free(msg);
	ok(rmi(&f, short_id, true, true, &out, &msg) == -STRATA_ERR_CONFLICT, "-f cannot force it");
	is_str(msg, want, "the same message");
	free(msg);
	free(want);
	ok(has_image(&f, parent) && has_image(&f, child), "both images stay");

	ok(rmi(&f, "p:1", false, true, &out, &msg) == 0, "rmi of the parent's tag");
	is_str(out.buf, "Untagged: p:1\n", "untags it, the image stays for its child");
	ok(has_image(&f, parent), "the untagged parent stays");

	del = deleted(&f, child);
	ok(rmi(&f, "c:1", false, false, &out, &msg) == 0, "rmi --no-prune of the child");
	want = xasprintf("Untagged: c:1\n%s", del);
	is_str(out.buf, want, "only the child is deleted");
	free(want);
	free(del);
	ok(has_image(&f, parent) && has_layer_dir(&f, parent), "the untagged parent and its layer stay");
	strbuf_release(&out);
	fixture_close(&f);
}

static void test_prune_parents(void)
{
	struct fixture f;
	struct strbuf out = STRBUF_INIT;
	char grand[72], parent[72], child[72], *msg = NULL, *want, *d1, *d2, *d3;

	fixture_open(&f);
	import(&f, "grand\n", NULL, grand);
	import(&f, "parent\n", NULL, parent);
	import(&f, "child\n", "c:1", child);
	set_parent(&f, parent, grand);
	set_parent(&f, child, parent);

	d1 = deleted(&f, child);
	d2 = deleted(&f, parent);
	d3 = deleted(&f, grand);
	ok(rmi(&f, "c:1", false, true, &out, &msg) == 0, "rmi of a child whose parents are untagged");
	want = xasprintf("Untagged: c:1\n%s%s%s", d1, d2, d3);
	is_str(out.buf, want, "the untagged parents are pruned, nearest first");
	free(want);
	free(d1);
	free(d2);
	free(d3);
	ok(strata_image_index_count(f.idx) == 0, "no image is left");
	reload(&f);
	ok(strata_image_index_count(f.idx) == 0, "none in the store either");

	import(&f, "grand\n", "g:1", grand);
	import(&f, "child\n", "c:1", child);
	set_parent(&f, child, grand);
	d1 = deleted(&f, child);
	ok(rmi(&f, "c:1", false, true, &out, &msg) == 0, "rmi of a child whose parent is tagged");
	want = xasprintf("Untagged: c:1\n%s", d1);
	is_str(out.buf, want, "a tagged parent is kept");
	free(want);
	free(d1);
	ok(has_image(&f, grand), "the tagged parent stays");
	strbuf_release(&out);
	fixture_close(&f);
}

static void test_containers(void)
{
	struct fixture f;
	struct strbuf out = STRBUF_INIT;
	char id[72], short_id[13], *msg = NULL, *want, *del;

	fixture_open(&f);
	import(&f, "used\n", "x:1", id);
	snprintf(short_id, sizeof(short_id), "%.12s", id + 7);
	add_container(&f, CID1, id, false);

	ok(rmi(&f, "x:1", false, true, &out, &msg) == -STRATA_ERR_CONFLICT, "rmi of the only tag of a used image");
	want = xasprintf("conflict: unable to remove repository reference \"x:1\" (must force) - container "
			 "%.12s is using its referenced image %s", CID1, short_id);
	is_str(msg, want, "must force: a container uses it");
	free(want);
	free(msg);

	ok(rmi(&f, short_id, false, true, &out, &msg) == -STRATA_ERR_CONFLICT, "rmi by ID of a used image");
	want = xasprintf("conflict: unable to delete %s (must be forced) - image is being used by stopped "
			 "container %.12s", short_id, CID1);
	is_str(msg, want, "used by a stopped container");
	free(want);
	free(msg);

	/* a stopped container is a soft conflict: -f deletes the image all the same */
	del = deleted(&f, id);
	ok(rmi(&f, "x:1", true, true, &out, &msg) == 0, "rmi -f of the tag");
	want = xasprintf("Untagged: x:1\n%s", del);
	is_str(out.buf, want, "untags and deletes despite the stopped container");
	free(want);
	free(del);
	ok(!has_image(&f, id), "the image is gone");

	import(&f, "used\n", "x:1", id);
	snprintf(short_id, sizeof(short_id), "%.12s", id + 7);
	add_container(&f, CID1, id, true);
	ok(rmi(&f, short_id, true, true, &out, &msg) == -STRATA_ERR_CONFLICT, "rmi -f by ID, running container");
	want = xasprintf("conflict: unable to delete %s (cannot be forced) - image is being used by running "
			 "container %.12s", short_id, CID1);
	is_str(msg, want, "a running container cannot be forced");
	free(want);
	free(msg);
	ok(has_image(&f, id), "the image stays");
	strbuf_release(&out);
	fixture_close(&f);
}

static void test_image_prune(void)
{
	struct fixture f;
	struct strbuf out = STRBUF_INIT;
	struct strata_error *err = NULL;
	char dangling[72], tagged[72], used[72], *want, *del;
	uint64_t reclaimed = 0;

	fixture_open(&f);
	import(&f, "dangling\n", NULL, dangling);
	import(&f, "tagged\n", "t:1", tagged);
	import(&f, "used\n", NULL, used);
	add_container(&f, CID1, used, false);

	want = deleted(&f, dangling);
	ok(strata_image_prune(f.idx, false, on_removal, &out, &reclaimed, &err) == 0, "image prune");
	is_str(out.buf, want, "deletes the dangling image only (not one a container uses)");
	free(want);
	ok(reclaimed == strlen("dangling\n"), "reclaimed the layer's size (%llu)", (unsigned long long)reclaimed);

	strbuf_reset(&out);
	ok(strata_image_prune(f.idx, false, on_removal, &out, &reclaimed, &err) == 0 && !out.len &&
		   reclaimed == 0,
	   "again: nothing to do, 0 reclaimed");

	del = deleted(&f, tagged);
	ok(strata_image_prune(f.idx, true, on_removal, &out, &reclaimed, &err) == 0, "image prune -a");
	want = xasprintf("Untagged: t:1\n%s", del);
	is_str(out.buf, want, "-a deletes unused tagged images too");
	free(want);
	free(del);
	ok(has_image(&f, used) && !has_image(&f, tagged), "the used image stays");
	strbuf_release(&out);
	fixture_close(&f);
}

int main(void)
{
	struct strata_error *err = NULL;

	if (!mkdtemp(base))
		bail_out("cannot create %s: %s", base, strerror(errno));
	test_tags();
	test_references_by_id();
	test_children();
	test_prune_parents();
	test_containers();
	test_image_prune();
	if (fs_remove_tree_at(AT_FDCWD, base, &err) < 0)
		bail_out("cannot remove %s: %s", base, err->msg);
	return tap_done();
}
