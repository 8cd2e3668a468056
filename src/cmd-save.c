#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "flags.h"
#include "util/alloc.h"
#include "strata/archive.h"
#include "strata/image.h"
#include "strata/store.h"

static const struct command_usage usage = {
	"save", "strata save [OPTIONS] IMAGE [IMAGE...]",
	"Save one or more images to a tar archive (streamed to STDOUT by default)",
	1, -1,
};

/* docker's ValidateOutputPath, checked before the daemon is asked: the
 * output's folder must exist.  docker prints it without "Error: ". */
static int output_dir_missing(const char *output)
{
	char *copy = xstrdup(output), *dir = dirname(copy);
	struct stat st;
	int missing = strcmp(dir, ".") && stat(dir, &st) < 0 && errno == ENOENT;

	if (missing) {
		fputs("failed to save image: invalid output path: directory \"", stderr);
		cli_put_escaped(stderr, dir);
		fputs("\" does not exist\n", stderr);
	}
	free(copy);
	return missing;
}

/* docker's CopyToFile: a temporary file next to the target, renamed when complete. */
static int save_to_file(struct strata_image_index *idx, char **names, int nr, enum strata_save_format fmt,
			const char *output)
{
	struct strata_error *err = NULL;
	char *copy = strdup(output), *dir = dirname(copy);
	char *tmp = NULL;
	int fd, ret;

	if (asprintf(&tmp, "%s/.docker_temp_XXXXXX", dir) < 0) {
		free(copy);
		fprintf(stderr, "Error: out of memory\n");
		return 1;
	}
	free(copy);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "Error: failed to save image: failed to create a temporary file in the output folder: %s\n",
			cli_errno_text(errno));
		free(tmp);
		return 1;
	}
	ret = strata_image_save(idx, (const char *const *)names, (size_t)nr, fmt, fd, &err);
	if (ret >= 0 && fsync(fd) < 0)
		ret = -1, fprintf(stderr, "Error: failed to save image: %s\n", cli_errno_text(errno));
	else if (ret < 0)
		cli_fail_daemon(err);
	close(fd);
	if (ret >= 0 && rename(tmp, output) < 0) {
		fprintf(stderr, "Error: failed to save image: rename %s: %s\n", output, cli_errno_text(errno));
		ret = -1;
	}
	if (ret < 0)
		unlink(tmp);
	free(tmp);
	return ret < 0 ? 1 : 0;
}

int cmd_save(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *output = NULL, *format = NULL;
	const struct flag flags[] = {
		{ "output", 'o', FLAG_STRING, &output, "Write to a file, instead of STDOUT" },
		{ "format", 0, FLAG_STRING, &format, "Archive format: docker (default) or oci" },
		{ 0 },
	};
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	enum strata_save_format fmt = STRATA_SAVE_DOCKER;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (format && !strcmp(format, "oci")) {
		fmt = STRATA_SAVE_OCI;
	} else if (format && strcmp(format, "docker")) {
		fprintf(stderr, "Error: invalid format '%s': expected docker or oci\n", format);
		free(args);
		return 1;
	}
	if ((!output || !strcmp(output, "-")) && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
		free(args);
		return 1;
	}
	if (output && strcmp(output, "-") && output_dir_missing(output)) {
		free(args);
		return 1;
	}
	ret = cli_open_images(ctx, false, &store, &idx);
	if (!ret) {
		if (output && strcmp(output, "-"))
			ret = save_to_file(idx, args, nargs, fmt, output);
		else if (strata_image_save(idx, (const char *const *)args, (size_t)nargs, fmt, STDOUT_FILENO,
					   &err) < 0)
			ret = cli_fail_daemon(err);
	}
	strata_image_index_free(idx);
	strata_store_free(store);
	free(args);
	return ret;
}
