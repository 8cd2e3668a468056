/*
 * docker load's planners (docker-archive manifest.json, OCI index.json,
 * legacy repositories): the input is a list of archive members, which the
 * harness writes as a valid tar so that mutations reach the JSON documents
 * rather than tar checksums.  Each run loads into a fresh vfs store.
 *
 * Input: members separated by "\n@@\n"; a member is its name, a newline,
 * and its content.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "strata/archive.h"
#include "strata/image.h"
#include "strata/store.h"
#include "tar/tar.h"
#include "util/alloc.h"

static const char sep[] = "\n@@\n";

static int fd_write(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	(void)err;
	return write(*(int *)cookie, data, len) == (ssize_t)len ? 0 : -STRATA_ERR_IO;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void write_members(struct tar_writer *w, const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;

	while (p < end) {
		const uint8_t *next = memmem(p, (size_t)(end - p), sep, sizeof(sep) - 1);
		const uint8_t *stop = next ? next : end;
		const uint8_t *nl = memchr(p, '\n', (size_t)(stop - p));
		struct tar_entry e = { 0 };
		struct strata_error *err = NULL;
		char *name;

		if (!nl)
			nl = stop;
		name = xstrndup((const char *)p, (size_t)(nl - p));
		e.name = name;
		e.typeflag = TAR_REG;
		e.mode = 0644;
		e.size = nl < stop ? (uint64_t)(stop - nl - 1) : 0;
		if (tar_writer_add(w, &e, &err) == 0 && e.size)
			tar_writer_write_data(w, nl + 1, e.size, &err);
		strata_error_free(err);
		free(name);
		p = next ? next + sizeof(sep) - 1 : end;
	}
}

static char root[] = "/tmp/strata-fuzz-load.XXXXXX";
static bool made;

static void remove_root(void)
{
	if (made)
		nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_load_options opts = { 0 };
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	struct tar_writer *w;
	int fd = memfd_create("archive", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	w = tar_writer_new(fd_write, &fd);
	write_members(w, data, size);
	tar_writer_finish(w, &err);
	tar_writer_free(w);
	strata_error_free(err);
	err = NULL;
	lseek(fd, 0, SEEK_SET);

	if (made)
		nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else if (!mkdtemp(root))
		abort();
	else
		atexit(remove_root);
	made = true;
	if (strata_store_open(root, "vfs", STRATA_STORE_WRITE, &store, &err) == 0 &&
	    strata_image_index_load(store, &idx, &err) == 0) {
		opts.fd = fd;
		strata_image_load(idx, &opts, &err);
	}
	strata_error_free(err);
	strata_image_index_free(idx);
	strata_store_free(store);
	close(fd);
	return 0;
}
