/* The layer store: registering layers from tar streams and releasing unused ones. */
#ifndef STRATA_LAYER_LAYERSTORE_H
#define STRATA_LAYER_LAYERSTORE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "strata/error.h"

struct strata_store;

typedef void (*layer_deleted_fn)(void *cookie, const char *chain_id, int64_t size);

/*
 * An image that used chain_id as its top layer is gone: delete chain_id and
 * then each parent while nothing references it any more.  References are
 * derived as dockerd does: the top layers of remaining images (in_use), the
 * parents of other layers, and container mounts.  deleted is called for each
 * removed chain, top to bottom, with its own size.
 */
int layerstore_release(struct strata_store *store, const char *chain_id,
		       const char *const *in_use, size_t nr_in_use,
		       layer_deleted_fn deleted, void *cookie, struct strata_error **err);

/* Removes the image whose layers are being released (its config). */
typedef int (*layer_drop_image_fn)(void *cookie, struct strata_error **err);

/*
 * The same for image_id, whose top layer is chain_id, surviving a crash: the
 * chains to delete are decided first and recorded with image_id as a release
 * intent in layerdb/tmp; then drop removes the image; then the layers go and
 * the intent with them.  The next writer finishes the intent of a dead
 * process when the image is gone, and drops it otherwise.
 */
int layerstore_release_image(struct strata_store *store, const char *image_id, const char *chain_id,
			     const char *const *in_use, size_t nr_in_use, layer_drop_image_fn drop,
			     layer_deleted_fn deleted, void *cookie, struct strata_error **err);


#include "digest/digest.h"
#include "compress/compress.h"
#include "tar/tar.h"

struct layer_register_result {
	char chain_id[STRATA_DIGEST_LEN + 1];
	char diff_id[STRATA_DIGEST_LEN + 1];
	char compressed_digest[STRATA_DIGEST_LEN + 1]; /* sha256 of the bytes read */
	uint64_t compressed_size;
	int64_t size;  /* the layer's own size (dockerd's rule) */
	bool existed;  /* the chain was already registered: nothing was written */
};

/* True when layerdb has chain_id ("sha256:..."). */
bool layerstore_has(struct strata_store *store, const char *chain_id);

/*
 * Register a layer from a (possibly compressed) tar stream on parent_chain
 * ("" or NULL for a base layer), in one pass: decompress, hash, record
 * tar-split, extract into a new driver folder.  When expected_diff_id is
 * given the cache-id is derived from the chain ID (reproducible stores), an
 * existing chain is reused without reading src, and a different diff ID
 * fails with STRATA_ERR_DIGEST_MISMATCH.  The layerdb entry is staged under
 * layerdb/tmp and renamed into place only when complete; on failure nothing
 * of the layer stays behind.
 */
int layerstore_register(struct strata_store *store, const char *parent_chain,
			stream_read_fn src, void *src_cookie, const char *expected_diff_id,
			struct layer_register_result *out, struct strata_error **err);
/*
 * A tar written by a producer, registered as layerstore_register registers
 * src's: produce runs on a thread of its own and writes into one end of a
 * socket pair the store reads, so no tar is held in memory or in a file.
 * The producer's error wins over the store's (which would say only that
 * the stream ended); a layer made of a stream the producer did not finish
 * is released again.  A chain that existed (expected_diff_id given) reads
 * nothing: the producer is cut off and that is no error.
 */
typedef int (*layer_produce_fn)(void *cookie, stream_write_fn write, void *write_cookie, struct strata_error **err);
int layerstore_register_produced(struct strata_store *store, const char *parent_chain, layer_produce_fn produce,
				 void *cookie, const char *expected_diff_id, struct layer_register_result *out,
				 struct strata_error **err);
/*
 * A layer whose tar strata writes itself (squash), never read back: produce
 * writes the tar's bytes through layer_writer_write (hashed for the diff ID,
 * recorded as tar-split as tarsplit_ingest records them) and, after each
 * member's header, reports the member with layer_writer_member, which makes
 * its file in the new folder: from src_fd for a regular file with data (a
 * hard link when src_fd's inode already is that file, see
 * layer_applier_apply_fd), from the entry alone otherwise.
 */
struct layer_writer;
typedef int (*layer_write_fn)(void *cookie, struct layer_writer *w, struct strata_error **err);
/* stream_write_fn of the tar bytes; cookie: the layer_writer */
int layer_writer_write(void *cookie, const void *data, size_t len, struct strata_error **err);
int layer_writer_member(struct layer_writer *w, const struct tar_entry *e, int src_fd, struct strata_error **err);

/* layerstore_register of a layer produce writes. */
int layerstore_register_written(struct strata_store *store, const char *parent_chain, layer_write_fn produce,
				void *cookie, struct layer_register_result *out, struct strata_error **err);

/*
 * Phased registration, to register the layers of a chain concurrently:
 *
 *   layerstore_prepare     chain order, one thread: computes the chain ID and
 *                          cache-id, creates the driver folder on the parent's
 *                          folder and a staging entry under layerdb/tmp;
 *   layerstore_job_ingest  any thread, jobs in parallel: decompress, hash,
 *                          record tar-split, extract into the folder;
 *   layerstore_job_commit  chain order, the preparing thread: check the diff
 *                          ID, write diff/size/cache-id/parent and rename the
 *                          entry into layerdb/sha256;
 *   layerstore_job_abort   removes everything the job created.
 *
 * layerstore_register is prepare + ingest + commit.  A job only touches its
 * own folder, staging entry and error, so ingests of different jobs may run
 * at the same time; everything else about a store stays single-threaded.
 * Call store_driver once before starting threads (prepare does).  The same
 * chain must not be prepared twice at once.  With vfs (which copies the
 * parent's files at create time) a parent must be ingested before its child
 * is prepared.
 */
struct layer_job;

/*
 * Prepare a layer on parent_chain ("" or NULL for a base layer), or on
 * parent_job, a job prepared earlier (committed or not) whose chain ID is
 * known (it was prepared with an expected diff ID); parent_chain may then be
 * NULL or must name the same chain.  expected_diff_id as for
 * layerstore_register: when its chain is registered already the job is
 * "existed" (see layerstore_job_existed): it creates nothing and its ingest
 * reads nothing.
 */
int layerstore_prepare(struct strata_store *store, const char *parent_chain,
		       const struct layer_job *parent_job, const char *expected_diff_id,
		       struct layer_job **out, struct strata_error **err);
/* The chain was registered before prepare: nothing will be written. */
bool layerstore_job_existed(const struct layer_job *job);
/* The job's chain ID, "" until it is known (no expected diff ID, not committed). */
const char *layerstore_job_chain_id(const struct layer_job *job);
/*
 * Read the layer from src into the prepared job (once).  On failure the
 * job stays owned by the caller, who aborts it.  Fails early with
 * STRATA_ERR_DIGEST_MISMATCH when the tar does not hash to the expected
 * diff ID.
 */
int layerstore_job_ingest(struct layer_job *job, stream_read_fn src, void *src_cookie,
			  struct strata_error **err);
/* layerstore_job_ingest of a layer produce writes (see layerstore_register_written). */
int layerstore_job_write(struct layer_job *job, layer_write_fn produce, void *cookie, struct strata_error **err);
/*
 * Register the ingested job (its parent must be registered by now) and
 * free it.  The job is consumed even on failure: then nothing of it stays
 * behind.
 */
int layerstore_job_commit(struct layer_job *job, struct layer_register_result *out,
			  struct strata_error **err);
/* Remove the job's driver folder and staging entry and free it (NULL is fine). */
void layerstore_job_abort(struct layer_job *job);

/*
 * Rebuild chain_id's exact layer tar from its tar-split.json.gz and the
 * files in its driver folder (member paths resolved inside that folder),
 * writing it to write; every member's size and CRC-64 is verified.
 */
int layerstore_assemble(struct strata_store *store, const char *chain_id, stream_write_fn write,
			void *cookie, struct strata_error **err);
/* The same, returning sha256 (to compare with the diff ID) and size. */
int layerstore_assemble_sha256(struct strata_store *store, const char *chain_id,
			       char hex[STRATA_HEX_LEN + 1], uint64_t *size, struct strata_error **err);
/*
 * The same from the files of driver folder cache_id instead of the recorded
 * one (diff and tar-split as recorded): proves which folder a layer whose
 * cache-id file is damaged owns.
 */
int layerstore_assemble_sha256_from(struct strata_store *store, const char *chain_id, const char *cache_id,
				    char hex[STRATA_HEX_LEN + 1], uint64_t *size, struct strata_error **err);

/* The cache-id that load and pull give chain_id (import's cannot be derived). */
void layerstore_derived_cache_id(const char *chain_id, char out[STRATA_HEX_LEN + 1]);

#endif
