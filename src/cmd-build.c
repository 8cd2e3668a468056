/*
 * strata build: docker build with the classic builder (DOCKER_BUILDKIT=0),
 * daemonless.  The front end reads the Dockerfile (from the context folder,
 * -f relative to the current directory, or stdin), passes the options and
 * SOURCE_DATE_EPOCH's time to the library, and prints what the docker 20.10
 * client prints: the transcript, or only the ID with -q (the transcript goes
 * to stderr when a quiet build fails); an error raised before any output is
 * "Error response from daemon: ...", later ones are printed bare.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "flags.h"
#include "strata/build.h"
#include "strata/image.h"
#include "strata/reference.h"
#include "strata/store.h"
#include "util/alloc.h"
#include "util/strbuf.h"

static const struct command_usage usage = {
	"build", "strata build [OPTIONS] PATH | -",
	"Build an image from a Dockerfile",
	1, 1,
};

/* A Dockerfile bigger than this is not a Dockerfile. */
#define MAX_DOCKERFILE (16u << 20)

struct transcript {
	bool quiet;
	bool written;
	struct strbuf held; /* -q: shown only when the build fails */
};

static void write_transcript(void *cookie, const char *text, size_t len)
{
	struct transcript *t = cookie;

	t->written = true;
	if (t->quiet) {
		strbuf_add(&t->held, text, len);
		return;
	}
	fwrite(text, 1, len, stdout);
	fflush(stdout);
}

static int read_all(int fd, struct strbuf *out, const char *what)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "unable to prepare context: read %s: %s\n", what, cli_errno_text(errno));
			return 1;
		}
		if (n == 0)
			return 0;
		if (out->len + (size_t)n > MAX_DOCKERFILE) {
			fprintf(stderr, "unable to prepare context: %s is larger than %u bytes\n", what, MAX_DOCKERFILE);
			return 1;
		}
		strbuf_add(out, buf, (size_t)n);
	}
}

/* What the daemon calls the Dockerfile in messages: its path inside the context. */
static char *dockerfile_name(const char *context, const char *path)
{
	char ctx_real[PATH_MAX], file_real[PATH_MAX];
	size_t n;

	if (!realpath(context, ctx_real) || !realpath(path, file_real))
		return xstrdup("Dockerfile");
	n = strlen(ctx_real);
	if (!strncmp(file_real, ctx_real, n) && file_real[n] == '/')
		return xstrdup(file_real + n + 1);
	return xstrdup(strrchr(file_real, '/') + 1);
}

/* Up to 512 bytes of fd: what the client peeks at to tell an archive from a Dockerfile. */
static int read_head(int fd, unsigned char *buf, size_t cap, size_t *len)
{
	*len = 0;
	while (*len < cap) {
		ssize_t n = read(fd, buf + *len, cap - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "failed to peek context header from STDIN: %s\n", cli_errno_text(errno));
			return 1;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

/*
 * The Dockerfile of a context archive, file (-f) inside it, "Dockerfile"
 * by default, else "dockerfile", as dockerd looks for it; never a file
 * outside the extracted folder.
 */
static int load_archive_dockerfile(const char *dir, const char *file, struct strbuf *data, char **name)
{
	const char *want = file && *file ? file : "Dockerfile";
	char dir_real[PATH_MAX], file_real[PATH_MAX];
	char *path = xasprintf("%s/%s", dir, want);
	size_t n;
	int fd, ret;

	if (!(file && *file) && access(path, F_OK) < 0) {
		free(path);
		path = xasprintf("%s/dockerfile", dir);
	}
	n = realpath(dir, dir_real) ? strlen(dir_real) : 0;
	if (!n || !realpath(path, file_real) || strncmp(file_real, dir_real, n) || file_real[n] != '/' ||
	    (fd = open(file_real, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "Error response from daemon: Cannot locate specified Dockerfile: %s\n", want);
		free(path);
		return 1;
	}
	ret = read_all(fd, data, want);
	close(fd);
	*name = xstrdup(file_real + n + 1);
	free(path);
	return ret;
}

/*
 * docker build -: stdin is a context archive (extracted into *archive) or
 * a Dockerfile alone (the client then ignores -f); returns the exit status.
 */
static int load_stdin(struct strata_image_index *idx, const char *file, struct strbuf *data, char **name,
		      struct strata_build_archive **archive)
{
	unsigned char head[512];
	struct strata_error *err = NULL;
	size_t len;
	int ret;

	if (file && !strcmp(file, "-")) {
		fprintf(stderr, "invalid argument: can't use stdin for both build context and dockerfile\n");
		return 1;
	}
	ret = read_head(STDIN_FILENO, head, sizeof(head), &len);
	if (ret)
		return ret;
	if (!strata_build_is_archive(head, len)) {
		strbuf_add(data, head, len);
		*name = xstrdup("Dockerfile");
		return read_all(STDIN_FILENO, data, "stdin");
	}
	if (strata_build_archive_extract(idx, head, len, STDIN_FILENO, archive, &err) < 0)
		return cli_fail_daemon(err);
	return load_archive_dockerfile(strata_build_archive_dir(*archive), file, data, name);
}

/* Read PATH/Dockerfile or -f FILE; returns the exit status. */
static int load_dockerfile(const char *context, const char *file, struct strbuf *data, char **name)
{
	struct strbuf path = STRBUF_INIT;
	struct stat st;
	int fd, ret;

	if (stat(context, &st) < 0 || !S_ISDIR(st.st_mode)) {
		if (errno == ENOENT || (stat(context, &st) == 0 && !S_ISDIR(st.st_mode)))
			fprintf(stderr, "unable to prepare context: path \"%s\" not found\n", context);
		else
			fprintf(stderr, "unable to prepare context: %s: %s\n", context, cli_errno_text(errno));
		return 1;
	}
	if (file && *file)
		strbuf_addstr(&path, file);
	else
		strbuf_addf(&path, "%s/Dockerfile", context);
	if (lstat(path.buf, &st) < 0) {
		char abs[PATH_MAX];

		if (path.buf[0] != '/' && getcwd(abs, sizeof(abs)))
			fprintf(stderr, "unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
					"lstat %s/%s: %s\n", abs, path.buf, cli_errno_text(errno));
		else
			fprintf(stderr, "unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
					"lstat %s: %s\n", path.buf, cli_errno_text(errno));
		strbuf_release(&path);
		return 1;
	}
	fd = open(path.buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "unable to prepare context: open %s: %s\n", path.buf, cli_errno_text(errno));
		strbuf_release(&path);
		return 1;
	}
	ret = read_all(fd, data, path.buf);
	close(fd);
	*name = dockerfile_name(context, path.buf);
	strbuf_release(&path);
	return ret;
}

/* -t is checked by the client, before anything is sent: docker's flag error. */
static int check_tags(const struct flag_list *tags)
{
	for (size_t i = 0; i < tags->nr; i++) {
		struct strata_error *err = NULL;
		struct strata_ref ref = { 0 };

		if (strata_ref_parse(tags->items[i], &ref, &err) < 0) {
			fprintf(stderr, "invalid argument \"%s\" for \"-t, --tag\" flag: %s\nSee 'strata build --help'.\n",
				tags->items[i], err->msg);
			strata_error_free(err);
			return 125;
		}
		strata_ref_release(&ref);
	}
	return 0;
}

int cmd_build(int argc, char **argv, struct cli_ctx *ctx)
{
	struct flag_list tags = { 0 }, build_args = { 0 }, labels = { 0 };
	const char *file = NULL, *target = NULL, *iidfile = NULL, *network = NULL, *platform = NULL;
	bool no_cache = false, pull = false, quiet = false, rm = true, force_rm = false;
	const struct flag flags[] = {
		{ "build-arg", 0, FLAG_STRINGS, &build_args, "Set build-time variables" },
		{ "file", 'f', FLAG_STRING, &file, "Name of the Dockerfile (Default is 'PATH/Dockerfile')" },
		{ "force-rm", 0, FLAG_BOOL, &force_rm, "Always remove intermediate containers" },
		{ "iidfile", 0, FLAG_STRING, &iidfile, "Write the image ID to the file" },
		{ "label", 0, FLAG_STRINGS, &labels, "Set metadata for an image" },
		{ "network", 0, FLAG_STRING, &network, "Set the networking mode for the RUN instructions during build" },
		{ "no-cache", 0, FLAG_BOOL, &no_cache, "Do not use cache when building the image" },
		{ "platform", 0, FLAG_STRING, &platform, "Set platform if server is multi-platform capable" },
		{ "pull", 0, FLAG_BOOL, &pull, "Always attempt to pull a newer version of the image" },
		{ "quiet", 'q', FLAG_BOOL, &quiet, "Suppress the build output and print image ID on success" },
		{ "rm", 0, FLAG_BOOL, &rm, "Remove intermediate containers after a successful build" },
		{ "tag", 't', FLAG_STRINGS, &tags, "Name and optionally a tag in the 'name:tag' format" },
		{ "target", 0, FLAG_STRING, &target, "Set the target build stage to build." },
		{ 0 },
	};
	struct transcript t = { false, false, STRBUF_INIT };
	struct strbuf dockerfile = STRBUF_INIT;
	struct strata_build_options opts = { 0 };
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	char **args = NULL, **resolved = NULL, *name = NULL;
	struct strata_build_archive *archive = NULL;
	char id[72];
	int nargs, ret, run_status = 0;

	ret = flags_parse(argc, argv, flags, &usage, &args, &nargs);
	if (ret) {
		ret = ret < 0 ? 0 : ret;
		goto out;
	}
	ret = check_tags(&tags);
	if (ret)
		goto out;
	if (pull || (network && strcmp(network, "none") && strcmp(network, "host") &&
			    strcmp(network, "default")) ||
	    (platform && strcmp(platform, "linux") && strncmp(platform, "linux/", 6))) {
		fprintf(stderr, "Error: %s is not supported by strata build\n",
			pull ? "--pull (strata build does not pull: run strata pull first)" :
			network && strcmp(network, "none") && strcmp(network, "host") && strcmp(network, "default") ?
			"this --network (none and host are)" : "this --platform (linux is)");
		ret = 1;
		goto out;
	}
	if (iidfile && unlink(iidfile) < 0 && errno != ENOENT) {
		fprintf(stderr, "Removing image ID file: %s\n", cli_errno_text(errno));
		ret = 1;
		goto out;
	}
	ret = cli_open_images(ctx, true, &store, &idx);
	if (ret)
		goto out;
	ret = strcmp(args[0], "-") ? load_dockerfile(args[0], file, &dockerfile, &name) :
	      load_stdin(idx, file, &dockerfile, &name, &archive);
	if (ret)
		goto out;
	/* --build-arg K without a value takes K from the environment, as the client does */
	resolved = xcalloc(build_args.nr + 1, sizeof(*resolved));
	for (size_t i = 0; i < build_args.nr; i++) {
		const char *a = build_args.items[i], *v = strchr(a, '=') ? NULL : getenv(a);

		resolved[i] = v ? xasprintf("%s=%s", a, v) : xstrdup(a);
	}
	opts.dockerfile = dockerfile.buf;
	opts.dockerfile_len = dockerfile.len;
	opts.dockerfile_name = name;
	opts.context_dir = strcmp(args[0], "-") ? args[0] : NULL;
	opts.archive = archive;
	opts.tags = (const char *const *)tags.items;
	opts.nr_tags = tags.nr;
	opts.build_args = (const char *const *)resolved;
	opts.nr_build_args = build_args.nr;
	opts.labels = (const char *const *)labels.items;
	opts.nr_labels = labels.nr;
	opts.target = target;
	opts.no_cache = no_cache;
	opts.keep_containers = !rm;
	opts.force_rm = force_rm;
	opts.network = network && !strcmp(network, "host") ? "host" : "none";
	opts.run_status = &run_status;
	opts.write = write_transcript;
	opts.cookie = &t;
	t.quiet = quiet;
	if (strata_build(idx, &opts, id, &err) < 0) {
		if (quiet)
			fwrite(t.held.buf, 1, t.held.len, stderr);
		ret = t.written ? cli_fail_bare(err) : cli_fail_daemon(err);
		/* a failed RUN's status is the build's, as the client's jsonmessage code */
		if (run_status > 0)
			ret = run_status;
		goto out;
	}
	if (quiet)
		printf("%s\n", id);
	if (iidfile) {
		FILE *f = fopen(iidfile, "w");

		if (!f || fputs(id, f) < 0 || fclose(f) != 0) {
			fprintf(stderr, "Writing image ID file: %s\n", cli_errno_text(errno));
			ret = 1;
		}
	}
out:
	for (size_t i = 0; resolved && i < build_args.nr; i++)
		free(resolved[i]);
	free(resolved);
	free(name);
	strata_build_archive_free(archive);
	strbuf_release(&dockerfile);
	strbuf_release(&t.held);
	strata_image_index_free(idx);
	strata_store_free(store);
	flag_list_release(&tags);
	flag_list_release(&build_args);
	flag_list_release(&labels);
	free(args);
	return ret;
}
