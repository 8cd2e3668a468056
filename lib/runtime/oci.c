/* Foreground runs: the runtime is a child of this process, which waits for it. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/oci.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* The library reads no environment: the runtime gets a fixed one. */
static char *const runtime_env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				     NULL };

static int spawn(const char *runtime, char *const argv[], int in_fd, int out_fd, int err_fd, pid_t *pid,
		 struct strata_error **err)
{
	posix_spawn_file_actions_t fa;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	rc = posix_spawn(pid, runtime, &fa, NULL, argv, runtime_env);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return strata_error_set(err, fs_errcode(rc), rc, "start the runtime %s", runtime);
	return 0;
}

static int reap(pid_t pid, int *wstatus, struct strata_error **err)
{
	while (waitpid(pid, wstatus, 0) < 0) {
		if (errno != EINTR)
			return strata_error_set(err, STRATA_ERR_IO, errno, "wait for the runtime");
	}
	return 0;
}

static int spawn_wait(const char *runtime, char *const argv[], int in_fd, int out_fd, int err_fd,
		      int *wstatus, struct strata_error **err)
{
	pid_t pid;
	int ret = spawn(runtime, argv, in_fd, out_fd, err_fd, &pid, err);

	return ret < 0 ? ret : reap(pid, wstatus, err);
}

/*
 * runc and crun write --pid-file (atomically) once the container exists and
 * its process runs, before they wait for it: from then on kill, stop and
 * delete find it.  Poll for it while the runtime lives.
 */
static void notify_when_created(pid_t pid, int bfd, int *ready_fd, int *wstatus, bool *reaped)
{
	*reaped = false;
	while (*ready_fd >= 0) {
		pid_t r = waitpid(pid, wstatus, WNOHANG);

		if (faccessat(bfd, RUNTIME_PID_FILE, F_OK, 0) == 0) {
			fs_write_all(*ready_fd, "", 1, "signal the start", NULL);
			close(*ready_fd);
			*ready_fd = -1;
		}
		if (r == pid) {
			*reaped = true;
			return;
		}
		if (r < 0 && errno != EINTR)
			return;
		usleep(5 * 1000);
	}
}

const char *runtime_default(void)
{
	return access("/usr/sbin/runc", X_OK) == 0 ? "/usr/sbin/runc" :
	       access("/usr/bin/runc", X_OK) == 0 ? "/usr/bin/runc" : "/usr/bin/crun";
}

void runtime_delete(const char *runtime, const char *id)
{
	char *argv[] = { (char *)runtime, "delete", "-f", (char *)id, NULL };
	_cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int ws;

	if (devnull >= 0)
		spawn_wait(runtime, argv, devnull, devnull, devnull, &ws, NULL);
}

int runtime_run(const char *runtime, const char *bundle, const char *id, const json_t *spec,
		int in_fd, int out_fd, int err_fd, int *ready_fd, int *status, struct strata_error **err)
{
	_cleanup_free_ char *text = json_dumps(spec, JSON_COMPACT);
	_cleanup_free_ char *pid_file = xasprintf("%s/" RUNTIME_PID_FILE, bundle);
	_cleanup_close_ int bfd = -1;
	char *run_argv[] = { (char *)runtime, "run", "--pid-file", pid_file, "--bundle", (char *)bundle, (char *)id, NULL };
	bool reaped = false;
	pid_t pid;
	int ws, ret;

	if (!text)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "runtime spec for %s", id);
	bfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "open bundle %s", bundle);
	ret = fs_write_file_atomic_at(bfd, "config.json", text, strlen(text), 0600, err);
	if (ret < 0)
		return ret;
	ret = spawn(runtime, run_argv, in_fd, out_fd, err_fd, &pid, err);
	if (ret < 0)
		return ret;
	if (ready_fd)
		notify_when_created(pid, bfd, ready_fd, &ws, &reaped);
	if (!reaped && (ret = reap(pid, &ws, err)) < 0)
		return ret;
	/* runc keeps state of a container that failed to start; drop it quietly */
	runtime_delete(runtime, id);
	if (WIFEXITED(ws))
		*status = WEXITSTATUS(ws);
	else if (WIFSIGNALED(ws))
		*status = 128 + WTERMSIG(ws);
	else
		*status = 125;
	return 0;
}

int runtime_kill(const char *runtime, const char *id, int sig, struct strata_error **err)
{
	char signo[16];
	char *argv[] = { (char *)runtime, "kill", (char *)id, signo, NULL };
	_cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int ws, ret;

	if (devnull < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "open /dev/null");
	snprintf(signo, sizeof(signo), "%d", sig);
	ret = spawn_wait(runtime, argv, devnull, devnull, devnull, &ws, err);
	if (ret < 0)
		return ret;
	if (!WIFEXITED(ws) || WEXITSTATUS(ws))
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "container %s is not running", id);
	return 0;
}
