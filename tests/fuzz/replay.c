/* Run a fuzz target once per file named on the command line (or in a named folder). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"

static int run_file(const char *path)
{
	_cleanup_free_ char *buf = NULL;
	struct strata_error *err = NULL;
	size_t len = 0;

	if (fs_read_file_at(AT_FDCWD, path, 64u << 20, &buf, &len, &err) < 0) {
		fprintf(stderr, "replay: %s\n", err->msg);
		strata_error_free(err);
		return 1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	return 0;
}

int main(int argc, char **argv)
{
	int bad = 0;
	size_t files = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			struct dirent **names;
			int n = scandir(argv[i], &names, NULL, alphasort);

			for (int k = 0; k < n; k++) {
				if (names[k]->d_name[0] != '.') {
					_cleanup_free_ char *p = xasprintf("%s/%s", argv[i], names[k]->d_name);

					bad |= run_file(p);
					files++;
				}
				free(names[k]);
			}
			free(n >= 0 ? names : NULL);
			continue;
		}
		bad |= run_file(argv[i]);
		files++;
	}
	printf("replayed %zu input(s)\n", files);
	return bad;
}
