/* Foreground runs: the runtime is a child of this process, which waits for it. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
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
 * Where the runtime sends the pty master: a socket in a fresh folder under
 * /tmp, as containerd's go-runc makes it, because a unix socket's path is
 * limited to 107 bytes and the bundle's folder may be longer.
 */
struct console_socket {
	char dir[32];
	char path[48];
	int fd;
};

static int console_listen(struct console_socket *cs, struct strata_error **err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	memcpy(cs->dir, "/tmp/strata-pty-XXXXXX", sizeof("/tmp/strata-pty-XXXXXX"));
	cs->fd = -1;
	if (!mkdtemp(cs->dir))
		return strata_error_set(err, fs_errcode(errno), errno, "create the console socket's folder in /tmp");
	snprintf(cs->path, sizeof(cs->path), "%s/pty.sock", cs->dir);
	memcpy(addr.sun_path, cs->path, strlen(cs->path) + 1);
	cs->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (cs->fd < 0 || bind(cs->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(cs->fd, 1) < 0) {
		int e = errno;

		if (cs->fd >= 0)
			close(cs->fd);
		cs->fd = -1;
		unlink(cs->path);
		rmdir(cs->dir);
		return strata_error_set(err, fs_errcode(e), e, "listen on the console socket %s", cs->path);
	}
	return 0;
}

static void console_close(struct console_socket *cs)
{
	if (cs->fd < 0)
		return;
	close(cs->fd);
	cs->fd = -1;
	unlink(cs->path);
	rmdir(cs->dir);
}

/* runc's utils.SendFd: one message, the pty's name as data and the master as SCM_RIGHTS; -1 when none came. */
static int console_receive(int lfd)
{
	char name[4096];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { name, sizeof(name) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;
	int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), fd = -1;
	ssize_t n;

	if (cfd < 0)
		return -1;
	do
		n = recvmsg(cfd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	close(cfd);
	cm = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * runc and crun write --pid-file (atomically) once the container exists and
 * its process runs, before they wait for it: from then on kill, stop and
 * delete find it.  Poll for it, and for the console the runtime sends
 * before that, while the runtime lives.
 */
static void wait_started(pid_t pid, int bfd, int *ready_fd, struct console_socket *cs,
			 const struct runtime_console *console, int *wstatus, bool *reaped)
{
	*reaped = false;
	while ((ready_fd && *ready_fd >= 0) || cs->fd >= 0) {
		pid_t r = waitpid(pid, wstatus, WNOHANG);

		if (cs->fd >= 0) {
			struct pollfd p = { .fd = cs->fd, .events = POLLIN };

			if (poll(&p, 1, 5) > 0) {
				int master = console_receive(cs->fd);

				console_close(cs);
				if (master >= 0)
					console->received(console->cookie, master);
			}
		} else {
			usleep(5 * 1000);
		}
		if (ready_fd && *ready_fd >= 0 && faccessat(bfd, RUNTIME_PID_FILE, F_OK, 0) == 0) {
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
	}
}

/* The process runc run --detach started and left to this subreaper. */
static int wait_detached(int bfd, int *wstatus, struct strata_error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	char *end;
	long pid;
	int ret = fs_read_file_at(bfd, RUNTIME_PID_FILE, 32, &buf, &len, err);

	if (ret < 0)
		return ret;
	pid = strtol(buf, &end, 10);
	if (pid <= 0 || *end)
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "the runtime's pid file says '%s'", buf);
	return reap((pid_t)pid, wstatus, err);
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
		int in_fd, int out_fd, int err_fd, const struct runtime_console *console, int *ready_fd,
		int *status, struct strata_error **err)
{
	_cleanup_free_ char *text = json_dumps(spec, JSON_COMPACT);
	_cleanup_free_ char *pid_file = xasprintf("%s/" RUNTIME_PID_FILE, bundle);
	_cleanup_close_ int bfd = -1;
	char *run_argv[] = { (char *)runtime, "run", "--pid-file", pid_file, "--bundle", (char *)bundle,
			     (char *)id, NULL, NULL, NULL, NULL };
	struct console_socket cs = { .fd = -1 };
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
	if (console) {
		ret = console_listen(&cs, err);
		if (ret < 0)
			return ret;
		/*
		 * runc run takes a console socket only with --detach (in the
		 * foreground it relays the pty itself, with ONLCR cleared); the
		 * process it leaves is this one's to reap, as containerd's shim.
		 */
		if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
			console_close(&cs);
			return strata_error_set(err, STRATA_ERR_IO, errno, "become the container's subreaper");
		}
		run_argv[6] = "--detach";
		run_argv[7] = "--console-socket";
		run_argv[8] = cs.path;
		run_argv[9] = (char *)id;
	}
	ret = spawn(runtime, run_argv, in_fd, out_fd, err_fd, &pid, err);
	if (ret < 0) {
		console_close(&cs);
		return ret;
	}
	wait_started(pid, bfd, ready_fd, &cs, console, &ws, &reaped);
	/* a runtime that died before it sent the console */
	console_close(&cs);
	if (!reaped && (ret = reap(pid, &ws, err)) < 0)
		return ret;
	if (console && WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && (ret = wait_detached(bfd, &ws, err)) < 0) {
		runtime_delete(runtime, id);
		return ret;
	}
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
