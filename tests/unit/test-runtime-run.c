/* A foreground run through runc: the generated spec starts, output and exit status come back. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/oci.h"
#include "runtime/spec.h"
#include "tap.h"
#include "util/fs.h"

#define RUNC "/usr/sbin/runc"
#define BUSYBOX "/usr/bin/busybox"

static char base[] = "/tmp/strata-run-XXXXXX";

static int copy_file(const char *src, int dfd, const char *dst)
{
	char buf[65536];
	ssize_t n;
	int in = open(src, O_RDONLY | O_CLOEXEC), out;

	if (in < 0)
		return -1;
	out = openat(dfd, dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	while (out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	close(in);
	return out < 0 ? -1 : close(out);
}

static int run(int dfd, const char *script, char *out, size_t outsz, int *status)
{
	const char *const args[] = { "/bin/busybox", "sh", "-c", script, NULL };
	static const char *const env[] = { "PATH=/bin", NULL };
	struct runtime_spec_opts o = { .rootfs = "rootfs", .args = args, .env = env,
				       .hostname = "0123456789ab" };
	struct strata_error *err = NULL;
	char id[64];
	json_t *spec;
	ssize_t n;
	int ofd = openat(dfd, "out", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC), ret;

	snprintf(id, sizeof(id), "strata-unit-%ld", (long)getpid());
	if (runtime_spec_build(&o, &spec, &err) < 0)
		return -1;
	ret = runtime_run(RUNC, base, id, spec, nul, ofd, ofd, NULL, NULL, status, &err);
	json_decref(spec);
	if (ret < 0)
		fprintf(stderr, "# %s\n", err->msg);
	strata_error_freep(&err);
	n = pread(ofd, out, outsz - 1, 0);
	out[n < 0 ? 0 : n] = '\0';
	close(ofd);
	close(nul);
	return ret;
}

int main(void)
{
	struct strata_error *err = NULL;
	char out[4096];
	int dfd, status = -1;

	if (geteuid() != 0 || access(RUNC, X_OK) != 0 || access(BUSYBOX, X_OK) != 0) {
		printf("ok 1 - # SKIP needs root, %s and %s\n", RUNC, BUSYBOX);
		return tap_done();
	}
	if (!mkdtemp(base))
		bail_out("mkdtemp");
	dfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fs_mkdir_at(dfd, "rootfs", 0755, &err);
	fs_mkdir_at(dfd, "rootfs/bin", 0755, &err);
	if (err || copy_file(BUSYBOX, dfd, "rootfs/bin/busybox") < 0)
		bail_out("rootfs");

	ok(run(dfd, "hostname; grep CapBnd /proc/self/status; exit 7", out, sizeof(out), &status) == 0,
	   "runc runs the spec");
	ok(status == 7, "exit status comes back (%d)", status);
	is_str(out, "0123456789ab\nCapBnd:\t00000000a80425fb\n",
	       "hostname set, docker's default bounding set");
	ok(run(dfd, "echo second", out, sizeof(out), &status) == 0 && status == 0,
	   "the same id runs again (no runtime state left)");
	is_str(out, "second\n", "second run's output");
	ok(fs_exists_at(dfd, "config.json"), "config.json in the bundle");

	fs_remove_tree_at(AT_FDCWD, base, &err);
	close(dfd);
	return tap_done();
}
