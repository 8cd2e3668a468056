/* The OCI runtime spec (config.json) for a container, with dockerd 20.10's defaults. */
#ifndef STRATA_RUNTIME_SPEC_H
#define STRATA_RUNTIME_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "strata/error.h"

struct runtime_bind {
	const char *source; /* host path */
	const char *destination; /* path in the container */
	bool readonly;
};

struct runtime_spec_opts {
	const char *rootfs; /* the mounted (overlay) or copied (vfs) root */
	bool readonly_rootfs;
	const char *const *args; /* NULL-terminated, at least one */
	const char *const *env; /* NULL-terminated K=V, resolved by the caller */
	const char *cwd; /* absolute; NULL means "/" */
	uid_t uid;
	gid_t gid;
	const gid_t *additional_gids;
	size_t n_additional_gids;
	const char *hostname;
	bool host_network; /* --network host: no network namespace */
	/* containers/<id>/{hosts,hostname,resolv.conf}, bind-mounted as docker does; NULL: none */
	const char *hosts_path, *hostname_path, *resolv_conf_path;
	const struct runtime_bind *binds; /* -v HOST:CTR[:ro] */
	size_t n_binds;
	bool terminal; /* process.terminal: a pty as the process's stdio (runtime_console) */
	/* process.consoleSize with terminal, when both are set: the pty's size from its start */
	unsigned short console_rows, console_cols;
};

/*
 * A new spec object (*out, owned by the caller): namespaces mount, uts, pid,
 * ipc and network (unless host_network); docker's default capabilities;
 * /proc, /dev, /dev/pts, /sys (read-only), /sys/fs/cgroup, /dev/mqueue,
 * /dev/shm; docker's masked and read-only paths.
 */
int runtime_spec_build(const struct runtime_spec_opts *o, json_t **out,
		       struct strata_error **err);

#endif
