/* Running a container's process through an OCI runtime (runc, crun). */
#ifndef STRATA_RUNTIME_OCI_H
#define STRATA_RUNTIME_OCI_H

#include <jansson.h>

#include "strata/error.h"

/*
 * Write spec as bundle/config.json, run "RUNTIME run --bundle BUNDLE ID" in
 * the foreground with stdin/stdout/stderr on in_fd/out_fd/err_fd, and
 * remove the runtime's state afterwards ("RUNTIME delete -f ID").
 * *status is the process's exit status, 128+N when signal N killed it (as
 * docker reports). runtime is the runtime's path (e.g. /usr/sbin/runc).
 * With ready_fd (NULL: none), *ready_fd gets one byte and is closed (set to
 * -1) once the runtime's container exists (its pid file in the bundle), so
 * that another process can signal or delete it; it stays open when the
 * runtime failed to create it.
 */
#define RUNTIME_PID_FILE "init.pid"
/*
 * A spec with process.terminal: the runtime makes the pty and sends its
 * master over --console-socket; received(cookie, master) gets it (and owns
 * it) while the process runs, before runtime_run waits for the process.
 * The runtime's own stdio stays in_fd/out_fd/err_fd.  The runtime is then
 * run detached and the calling process becomes a child subreaper
 * (PR_SET_CHILD_SUBREAPER) to wait for the container's process itself.
 */
struct runtime_console {
	void (*received)(void *cookie, int master);
	void *cookie;
};
int runtime_run(const char *runtime, const char *bundle, const char *id, const json_t *spec,
		int in_fd, int out_fd, int err_fd, const struct runtime_console *console, int *ready_fd,
		int *status, struct strata_error **err);

/* The installed runtime: /usr/sbin/runc, /usr/bin/runc, else /usr/bin/crun. */
const char *runtime_default(void);

/* "RUNTIME delete -f ID": stop and forget a container the runtime may still run; none is fine. */
void runtime_delete(const char *runtime, const char *id);

/* "RUNTIME kill ID SIG": signal a container the runtime runs (a missing one is STRATA_ERR_NOT_FOUND). */
int runtime_kill(const char *runtime, const char *id, int sig, struct strata_error **err);

#endif
