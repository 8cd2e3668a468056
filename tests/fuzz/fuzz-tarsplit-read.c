/* The tar-split readers: JSON lines (gzip'd by the harness) scanned as analyze does, and assembled. */
#include "analyze/scan.h"
#include "compress/compress.h"
#include "fuzz.h"
#include "tarsplit/tarsplit.h"

static int open_zeros(void *cookie, const char *name, uint64_t size, struct strata_error **err)
{
	int fd;

	(void)cookie;
	(void)name;
	if (size > (1u << 20))
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "member too large");
	fd = memfd_create("member", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		if (fd >= 0)
			close(fd);
		return strata_error_set(err, STRATA_ERR_IO, 0, "memfd");
	}
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_error *err = NULL;
	struct gzip_writer *gz;
	char hex[STRATA_HEX_LEN + 1];
	uint64_t tar_size;
	int fd = memfd_create("tar-split", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	/* the stored form is gzip; the harness compresses so mutations hit the JSON */
	gz = gzip_writer_new_fd(fd);
	if (gzip_writer_write(gz, data, size, &err) == 0 && gzip_writer_close(gz, &err) == 0) {
		lseek(fd, 0, SEEK_SET);
		analyze_tarsplit_check(fd, &err);
		strata_error_free(err);
		err = NULL;
		lseek(fd, 0, SEEK_SET);
		tarsplit_assemble_sha256(fd, open_zeros, NULL, hex, &tar_size, &err);
	}
	gzip_writer_free(gz);
	strata_error_free(err);
	close(fd);
	return 0;
}
