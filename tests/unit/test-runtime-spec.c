/* The OCI runtime spec: docker 20.10's defaults, the caller's process, binds, namespaces. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/spec.h"
#include "tap.h"

static const char *path_str(json_t *spec, const char *expr)
{
	/* "process.cwd" style lookups, objects only */
	char buf[128], *save = NULL;
	json_t *v = spec;

	snprintf(buf, sizeof(buf), "%s", expr);
	for (char *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
		v = json_object_get(v, k);
	return json_is_string(v) ? json_string_value(v) : "(none)";
}

static int has_ns(json_t *spec, const char *type)
{
	json_t *a = json_object_get(json_object_get(spec, "linux"), "namespaces"), *e;
	size_t i;

	json_array_foreach(a, i, e)
		if (strcmp(json_string_value(json_object_get(e, "type")), type) == 0)
			return 1;
	return 0;
}

static json_t *mount_at(json_t *spec, const char *dst)
{
	json_t *a = json_object_get(spec, "mounts"), *e;
	size_t i;

	json_array_foreach(a, i, e)
		if (strcmp(json_string_value(json_object_get(e, "destination")), dst) == 0)
			return e;
	return NULL;
}

int main(void)
{
	static const char *const args[] = { "/bin/sh", "-c", "echo hi", NULL };
	static const char *const env[] = { "PATH=/usr/bin:/bin", "HOME=/root", NULL };
	static const gid_t gids[] = { 10, 20 };
	struct runtime_bind binds[] = { { "/srv/data", "/data", true } };
	struct runtime_spec_opts o = {
		.rootfs = "/x/merged", .args = args, .env = env, .cwd = "/work", .uid = 1000,
		.gid = 1000, .additional_gids = gids, .n_additional_gids = 2,
		.hostname = "0123456789ab", .hosts_path = "/c/hosts", .hostname_path = "/c/hostname",
		.resolv_conf_path = "/c/resolv.conf", .binds = binds, .n_binds = 1,
	};
	struct strata_error *err = NULL;
	json_t *spec = NULL, *caps, *m;
	char *dump;

	ok(runtime_spec_build(&o, &spec, &err) == 0, "build a spec");
	is_str(path_str(spec, "root.path"), "/x/merged", "root path");
	is_str(path_str(spec, "process.cwd"), "/work", "cwd");
	is_str(path_str(spec, "hostname"), "0123456789ab", "hostname");
	ok(json_integer_value(json_object_get(json_object_get(json_object_get(spec, "process"), "user"), "uid")) == 1000,
	   "uid");
	caps = json_object_get(json_object_get(json_object_get(spec, "process"), "capabilities"), "bounding");
	ok(json_array_size(caps) == 14, "docker's 14 default capabilities");
	dump = json_dumps(spec, JSON_COMPACT);
	ok(strstr(dump, "\"CAP_AUDIT_WRITE\"") && !strstr(dump, "CAP_SYS_ADMIN"),
	   "AUDIT_WRITE in, SYS_ADMIN out");
	ok(strstr(dump, "\"/proc/kcore\"") && strstr(dump, "\"/sys/firmware\"") &&
	   strstr(dump, "\"/proc/sysrq-trigger\""), "masked and read-only paths");
	free(dump);
	ok(has_ns(spec, "mount") && has_ns(spec, "pid") && has_ns(spec, "ipc") &&
	   has_ns(spec, "uts") && has_ns(spec, "network"), "five namespaces with --network none");
	m = mount_at(spec, "/sys");
	dump = m ? json_dumps(json_object_get(m, "options"), 0) : NULL;
	ok(dump && strstr(dump, "\"ro\"") != NULL, "/sys read-only");
	free(dump);
	m = mount_at(spec, "/etc/hosts");
	is_str(m ? json_string_value(json_object_get(m, "source")) : NULL, "/c/hosts", "hosts bind-mounted");
	m = mount_at(spec, "/data");
	ok(m && json_array_size(json_object_get(m, "options")) == 3, "-v :ro gives rbind,rprivate,ro");
	ok(mount_at(spec, "/dev/shm") && mount_at(spec, "/dev/mqueue") && mount_at(spec, "/dev/pts"),
	   "/dev/shm, /dev/mqueue, /dev/pts");
	json_decref(spec);

	o.host_network = true;
	o.cwd = NULL;
	o.hosts_path = NULL;
	ok(runtime_spec_build(&o, &spec, &err) == 0, "build with --network host");
	ok(!has_ns(spec, "network") && has_ns(spec, "pid"), "no network namespace");
	is_str(path_str(spec, "process.cwd"), "/", "cwd defaults to /");
	ok(mount_at(spec, "/etc/hosts") == NULL, "no hosts path, no hosts mount");
	ok(json_is_false(json_object_get(json_object_get(spec, "process"), "terminal")) &&
	   !json_object_get(json_object_get(spec, "process"), "consoleSize"), "no terminal, no console size");
	json_decref(spec);

	o.terminal = true;
	o.console_rows = 33;
	o.console_cols = 111;
	ok(runtime_spec_build(&o, &spec, &err) == 0, "build with a terminal");
	m = json_object_get(json_object_get(spec, "process"), "consoleSize");
	ok(json_is_true(json_object_get(json_object_get(spec, "process"), "terminal")) &&
	   json_integer_value(json_object_get(m, "height")) == 33 &&
	   json_integer_value(json_object_get(m, "width")) == 111, "terminal with the console size");
	json_decref(spec);
	o.terminal = false;

	o.cwd = "rel";
	spec = NULL;
	ok(runtime_spec_build(&o, &spec, &err) == -STRATA_ERR_INVALID && spec == NULL,
	   "a relative working directory is refused");
	is_str(err ? err->msg : NULL,
	       "the working directory 'rel' is invalid, it needs to be an absolute path", "docker's message");
	strata_error_freep(&err);
	return tap_done();
}
