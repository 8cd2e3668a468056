/*
 * The tar-split writer and reader together: ingest the input as a layer
 * (decompressed, hashed, tar-split written), then walk the tar-split it
 * wrote and rebuild the tar from it, which must give the same diff ID.
 */
#include <stdio.h>
#include <stdlib.h>

#include "analyze/scan.h"
#include "fuzz.h"
#include "tarsplit/tarsplit.h"

struct member_data {
	int fd; /* the uncompressed tar: members are served as zeros of their size */
};

static int open_zeros(void *cookie, const char *name, uint64_t size, struct strata_error **err)
{
	(void)cookie;
	(void)name;
	if (size > (16u << 20))
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "member too large");
	{
		int fd = memfd_create("member", MFD_CLOEXEC);

		if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
			if (fd >= 0)
				close(fd);
			return strata_error_set(err, STRATA_ERR_IO, 0, "memfd");
		}
		return fd;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size, 0 };
	struct tarsplit_ingest_result res;
	struct strata_error *err = NULL;
	char hex[STRATA_HEX_LEN + 1];
	uint64_t tar_size;
	int ts = memfd_create("tar-split", MFD_CLOEXEC);

	if (ts < 0)
		return 0;
	if (tarsplit_ingest(fuzz_read, &in, ts, NULL, NULL, &res, &err) == 0) {
		lseek(ts, 0, SEEK_SET);
		/* what strata writes, analyze must read */
		if (analyze_tarsplit_check(ts, &err) < 0) {
			fprintf(stderr, "tar-split written by ingest does not scan: %s\n", err->msg);
			abort();
		}
		lseek(ts, 0, SEEK_SET);
		/* zeros stand in for the data: a CRC mismatch is expected unless all are empty */
		if (tarsplit_assemble_sha256(ts, open_zeros, NULL, hex, &tar_size, &err) == 0 &&
		    res.data_size == 0 && (strcmp(hex, res.diff_id_hex) || tar_size != res.tar_size)) {
			fprintf(stderr, "tar-split does not rebuild the tar it was written from\n");
			abort();
		}
	}
	strata_error_free(err);
	close(ts);
	return 0;
}
