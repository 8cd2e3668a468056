/* The tar reader: headers (ustar, GNU, PAX), extension chains, data skipping. */
#include "fuzz.h"
#include "tar/tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size, 0 };
	struct tar_reader *r = tar_reader_new(fuzz_read, &in);
	struct strata_error *err = NULL;
	const struct tar_entry *e;
	int ret;

	/* the raw sink sees every byte, as tar-split's does */
	tar_reader_set_raw_sink(r, fuzz_discard, NULL);
	while ((ret = tar_reader_next(r, &e, &err)) > 0) {
		/* read the data of every other member, skip the rest */
		if (e->size & 1)
			tar_reader_set_data_sink(r, fuzz_discard, NULL);
		if (tar_reader_skip_data(r, &err) < 0)
			break;
	}
	strata_error_free(err);
	tar_reader_free(r);
	return 0;
}
