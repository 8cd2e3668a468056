/* Values from moby 20.10 oci/defaults.go, oci/caps/defaults.go and daemon/oci_linux.go. */
#include <string.h>

#include "runtime/spec.h"

static const char *const default_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", NULL,
};

static const char *const masked_paths[] = {
	"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
	"/sys/firmware", NULL,
};

static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static const struct {
	const char *destination, *type, *source;
	const char *const options[8];
} default_mounts[] = {
	{ "/proc", "proc", "proc", { "nosuid", "noexec", "nodev" } },
	{ "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k" } },
	{ "/dev/pts", "devpts", "devpts",
	  { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
	{ "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro" } },
	{ "/sys/fs/cgroup", "cgroup", "cgroup", { "ro", "nosuid", "noexec", "nodev" } },
	{ "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev" } },
	{ "/dev/shm", "tmpfs", "shm", { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } },
};

static json_t *strings(const char *const *v)
{
	json_t *a = json_array();

	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static json_t *bind_mount(const char *src, const char *dst, bool ro)
{
	json_t *opts = json_pack("[ss]", "rbind", "rprivate");

	if (ro)
		json_array_append_new(opts, json_string("ro"));
	return json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type", "bind",
			 "source", src, "options", opts);
}

static json_t *capabilities(void)
{
	return json_pack("{s:o,s:o,s:o,s:o}", "bounding", strings(default_caps),
			 "effective", strings(default_caps), "inheritable", strings(default_caps),
			 "permitted", strings(default_caps));
}

static json_t *mounts(const struct runtime_spec_opts *o)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sizeof(default_mounts) / sizeof(default_mounts[0]); i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:o}",
						   "destination", default_mounts[i].destination,
						   "type", default_mounts[i].type,
						   "source", default_mounts[i].source,
						   "options", strings(default_mounts[i].options)));
	if (o->resolv_conf_path)
		json_array_append_new(a, bind_mount(o->resolv_conf_path, "/etc/resolv.conf", false));
	if (o->hostname_path)
		json_array_append_new(a, bind_mount(o->hostname_path, "/etc/hostname", false));
	if (o->hosts_path)
		json_array_append_new(a, bind_mount(o->hosts_path, "/etc/hosts", false));
	for (size_t i = 0; i < o->n_binds; i++)
		json_array_append_new(a, bind_mount(o->binds[i].source, o->binds[i].destination,
						    o->binds[i].readonly));
	return a;
}

static json_t *namespaces(bool host_network)
{
	static const char *const ns[] = { "mount", "network", "uts", "pid", "ipc" };
	json_t *a = json_array();

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		if (host_network && strcmp(ns[i], "network") == 0)
			continue;
		json_array_append_new(a, json_pack("{s:s}", "type", ns[i]));
	}
	return a;
}

int runtime_spec_build(const struct runtime_spec_opts *o, json_t **out,
		       struct strata_error **err)
{
	json_t *gids, *spec;

	if (!o->rootfs || !o->args || !o->args[0])
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"runtime spec: a root and a command are required");
	if (o->cwd && o->cwd[0] != '/')
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"the working directory '%s' is invalid, it needs to be an absolute path",
					o->cwd);
	gids = json_array();
	for (size_t i = 0; i < o->n_additional_gids; i++)
		json_array_append_new(gids, json_integer(o->additional_gids[i]));
	spec = json_pack("{s:s,s:{s:b,s:{s:I,s:I,s:o},s:o,s:o,s:s,s:o,s:b},s:{s:s,s:b},s:s*,"
			 "s:o,s:{s:o,s:o,s:o}}",
			 "ociVersion", "1.0.2",
			 "process",
			 "terminal", o->terminal,
			 "user", "uid", (json_int_t)o->uid, "gid", (json_int_t)o->gid,
			 "additionalGids", gids,
			 "args", strings(o->args),
			 "env", strings(o->env),
			 "cwd", o->cwd ? o->cwd : "/",
			 "capabilities", capabilities(),
			 "noNewPrivileges", 0,
			 "root", "path", o->rootfs, "readonly", o->readonly_rootfs,
			 "hostname", o->hostname,
			 "mounts", mounts(o),
			 "linux",
			 "namespaces", namespaces(o->host_network),
			 "maskedPaths", strings(masked_paths),
			 "readonlyPaths", strings(readonly_paths));
	if (!spec)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "runtime spec: a string is not UTF-8");
	/* dockerd sets the size after the start; given here no process sees the pty at 0x0 */
	if (o->terminal && o->console_rows && o->console_cols)
		json_object_set_new(json_object_get(spec, "process"), "consoleSize",
				    json_pack("{s:i,s:i}", "height", (int)o->console_rows, "width",
					      (int)o->console_cols));
	*out = spec;
	return 0;
}
