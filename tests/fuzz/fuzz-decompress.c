/* The decompression front: format detection, gzip (multi-member), zstd, plain. */
#include "compress/compress.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size, 0 };
	struct decomp_reader *d = decomp_reader_new(fuzz_read, &in, DECOMP_HASH_INPUT | DECOMP_HASH_OUTPUT);
	struct strata_error *err = NULL;
	struct decomp_sums sums;
	enum compress_kind kind;
	char buf[8192];
	ssize_t n = 0;
	uint64_t total = 0;

	if (decomp_reader_detect(d, &kind, &err) == 0) {
		/* bounded: a decompression bomb must not keep the target busy */
		while (total < (64u << 20) && (n = decomp_reader_read(d, buf, sizeof(buf), &err)) > 0)
			total += (uint64_t)n;
		if (n == 0)
			decomp_reader_finish(d, &sums, &err);
	}
	strata_error_free(err);
	decomp_reader_free(d);
	return 0;
}
