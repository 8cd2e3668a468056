/*
 * docker inspect of a container: daemon/inspect.go's ContainerJSON of
 * dockerd 20.10, built from config.v2.json and hostconfig.json (the fields
 * dockerd keeps there are the fields it reports).
 */
#include <stdlib.h>
#include <string.h>

#include "container/container-private.h"
#include "json/gojson.h"
#include "layer/layerdb.h"
#include "store/store-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

#define ZERO_TIME "0001-01-01T00:00:00Z"

/* The value of key in obj, or the Go zero value dflt (a new reference). */
static json_t *get(const json_t *obj, const char *key, json_t *dflt)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return dflt;
	json_decref(dflt);
	return json_deep_copy(v);
}

static const char *str(const json_t *obj, const char *key)
{
	const char *s = gojson_get_string(obj, key);

	return s ? s : "";
}

/* State.StateString() */
static const char *state_string(const json_t *s)
{
	const char *started = str(s, "StartedAt");

	if (json_is_true(json_object_get(s, "Running"))) {
		if (json_is_true(json_object_get(s, "Paused")))
			return "paused";
		if (json_is_true(json_object_get(s, "Restarting")))
			return "restarting";
		return "running";
	}
	if (json_is_true(json_object_get(s, "RemovalInProgress")))
		return "removing";
	if (json_is_true(json_object_get(s, "Dead")))
		return "dead";
	if (!*started || !strcmp(started, ZERO_TIME))
		return "created";
	return "exited";
}

static json_t *state_json(const json_t *s)
{
	json_t *o = json_object();
	const json_t *health = json_object_get(s, "Health");
	static const char *const bools[] = { "Running", "Paused", "Restarting", "OOMKilled", "Dead" };

	json_object_set_new(o, "Status", json_string(state_string(s)));
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		json_object_set_new(o, bools[i], json_boolean(json_is_true(json_object_get(s, bools[i]))));
	json_object_set_new(o, "Pid", get(s, "Pid", json_integer(0)));
	json_object_set_new(o, "ExitCode", get(s, "ExitCode", json_integer(0)));
	json_object_set_new(o, "Error", get(s, "Error", json_string("")));
	json_object_set_new(o, "StartedAt", get(s, "StartedAt", json_string(ZERO_TIME)));
	json_object_set_new(o, "FinishedAt", get(s, "FinishedAt", json_string(ZERO_TIME)));
	if (json_is_object(health)) { /* *types.Health, omitempty */
		json_t *h = json_object();
		json_t *log = json_object_get(health, "Log");

		json_object_set_new(h, "Status", get(health, "Status", json_string("")));
		json_object_set_new(h, "FailingStreak", get(health, "FailingStreak", json_integer(0)));
		/* append([]*HealthcheckResult{}, ...): never null */
		json_object_set_new(h, "Log", json_is_array(log) ? json_deep_copy(log) : json_array());
		json_object_set_new(o, "Health", h);
	}
	return o;
}

static void add_driver_data(void *cookie, const char *key, const char *value)
{
	json_t **data = cookie;

	if (!*data)
		*data = json_object();
	json_object_set_new(*data, key, json_string(value));
}

/* RWLayer.Metadata(): the rw folder on the init folder on the image's layers. */
static int graph_driver_data(struct container *c, json_t **out, struct strata_error **err)
{
	_cleanup_free_ char **lower = NULL;
	struct layer_record rec;
	char chain[sizeof(rec.chain_id)];
	size_t n = 1, alloc = 0;
	json_t *data = NULL;
	int ret;

	ALLOC_GROW(lower, n, alloc);
	lower[0] = xasprintf("%s-init", c->mount_id);
	snprintf(chain, sizeof(chain), "%s", c->parent_chain ? c->parent_chain : "");
	for (ret = 0; *chain && ret >= 0;) {
		ret = layerdb_read(c->store, chain, &rec, err);
		if (ret < 0)
			break;
		ALLOC_GROW(lower, n + 1, alloc);
		lower[n++] = xstrdup(rec.cache_id);
		memcpy(chain, rec.parent, sizeof(chain));
	}
	if (ret >= 0)
		ret = store_driver_metadata(c->store, c->mount_id, (const char *const *)lower, n, add_driver_data,
					    &data, err);
	for (size_t i = 0; i < n; i++)
		free(lower[i]);
	if (ret < 0) {
		json_decref(data);
		return strata_error_wrap(err, "container %s", c->id);
	}
	*out = data ? data : json_null();
	return 0;
}

/* addMountPoints: []types.MountPoint, never null; Go ranges over a map (the file's keys are sorted). */
static json_t *mounts_json(const json_t *points)
{
	json_t *a = json_array();
	const char *key;
	json_t *m;

	json_object_foreach((json_t *)points, key, m) {
		json_t *o = json_object();
		const char *type = str(m, "Type"), *name = str(m, "Name"), *driver = str(m, "Driver");

		if (*type)
			json_object_set_new(o, "Type", json_string(type));
		if (*name)
			json_object_set_new(o, "Name", json_string(name));
		json_object_set_new(o, "Source", get(m, "Source", json_string("")));
		json_object_set_new(o, "Destination", get(m, "Destination", json_string("")));
		if (*driver)
			json_object_set_new(o, "Driver", json_string(driver));
		json_object_set_new(o, "Mode", get(m, "Mode", json_string("")));
		json_object_set_new(o, "RW", json_boolean(json_is_true(json_object_get(m, "RW"))));
		json_object_set_new(o, "Propagation", get(m, "Propagation", json_string("")));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *network_settings_json(const json_t *ns)
{
	static const char *const base_str[] = { "Bridge", "SandboxID" };
	static const char *const defaults[] = {
		"EndpointID", "Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen",
		"IPAddress", "IPPrefixLen", "IPv6Gateway", "MacAddress",
	};
	const json_t *nets = json_object_get(ns, "Networks");
	const json_t *bridge = json_object_get(nets, "bridge");
	const json_t *ports = json_object_get(ns, "Ports");
	json_t *o = json_object(), *n = json_object();
	const char *key;
	json_t *v;

	for (size_t i = 0; i < 2; i++)
		json_object_set_new(o, base_str[i], get(ns, base_str[i], json_string("")));
	json_object_set_new(o, "HairpinMode", json_boolean(json_is_true(json_object_get(ns, "HairpinMode"))));
	json_object_set_new(o, "LinkLocalIPv6Address", get(ns, "LinkLocalIPv6Address", json_string("")));
	json_object_set_new(o, "LinkLocalIPv6PrefixLen", get(ns, "LinkLocalIPv6PrefixLen", json_integer(0)));
	/* a copy made with make(nat.PortMap): {} where the file has null */
	json_object_set_new(o, "Ports", json_is_object(ports) ? json_deep_copy(ports) : json_object());
	json_object_set_new(o, "SandboxKey", get(ns, "SandboxKey", json_string("")));
	json_object_set_new(o, "SecondaryIPAddresses", get(ns, "SecondaryIPAddresses", json_null()));
	json_object_set_new(o, "SecondaryIPv6Addresses", get(ns, "SecondaryIPv6Addresses", json_null()));
	/* getDefaultNetworkSettings: the "bridge" network's, else zero values */
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		bool num = strstr(defaults[i], "PrefixLen") != NULL;

		json_object_set_new(o, defaults[i], get(bridge, defaults[i], num ? json_integer(0) : json_string("")));
	}
	/* the API's EndpointSettings, without the daemon's own IPAMOperational */
	json_object_foreach((json_t *)nets, key, v) {
		json_t *e;

		if (!json_is_object(v))
			continue;
		e = json_deep_copy(v);
		json_object_del(e, "IPAMOperational");
		json_object_set_new(n, key, e);
	}
	json_object_set_new(o, "Networks", n);
	return o;
}

int container_inspect(struct container *c, const int64_t sizes[2], json_t **out, struct strata_error **err)
{
	const json_t *cfg = c->cfg;
	_cleanup_json_ json_t *o = json_object();
	json_t *host, *gd, *data = NULL;
	int ret;

	json_object_set_new(o, "Id", json_string(c->id));
	json_object_set_new(o, "Created", get(cfg, "Created", json_string(ZERO_TIME)));
	json_object_set_new(o, "Path", get(cfg, "Path", json_string("")));
	json_object_set_new(o, "Args", get(cfg, "Args", json_null()));
	json_object_set_new(o, "State", state_json(json_object_get(cfg, "State")));
	json_object_set_new(o, "Image", get(cfg, "Image", json_string("")));
	json_object_set_new(o, "ResolvConfPath", get(cfg, "ResolvConfPath", json_string("")));
	json_object_set_new(o, "HostnamePath", get(cfg, "HostnamePath", json_string("")));
	json_object_set_new(o, "HostsPath", get(cfg, "HostsPath", json_string("")));
	json_object_set_new(o, "LogPath", get(cfg, "LogPath", json_string("")));
	json_object_set_new(o, "Name", get(cfg, "Name", json_string("")));
	json_object_set_new(o, "RestartCount", get(cfg, "RestartCount", json_integer(0)));
	json_object_set_new(o, "Driver", get(cfg, "Driver", json_string("")));
	json_object_set_new(o, "Platform", get(cfg, "OS", json_string("")));
	json_object_set_new(o, "MountLabel", get(cfg, "MountLabel", json_string("")));
	json_object_set_new(o, "ProcessLabel", get(cfg, "ProcessLabel", json_string("")));
	json_object_set_new(o, "AppArmorProfile", get(cfg, "AppArmorProfile", json_string("")));
	json_object_set_new(o, "ExecIDs", json_null()); /* no exec sessions outside a daemon */
	host = json_deep_copy(c->host);
	json_object_set_new(host, "Links", json_null()); /* rebuilt from links strata never makes */
	json_object_set_new(o, "HostConfig", host);
	ret = graph_driver_data(c, &data, err);
	if (ret < 0)
		return ret;
	gd = json_object();
	json_object_set_new(gd, "Data", data);
	json_object_set_new(gd, "Name", get(cfg, "Driver", json_string("")));
	json_object_set_new(o, "GraphDriver", gd);
	if (sizes) {
		json_object_set_new(o, "SizeRw", json_integer(sizes[0]));
		json_object_set_new(o, "SizeRootFs", json_integer(sizes[1]));
	}
	json_object_set_new(o, "Mounts", mounts_json(json_object_get(cfg, "MountPoints")));
	json_object_set_new(o, "Config", get(cfg, "Config", json_null()));
	json_object_set_new(o, "NetworkSettings", network_settings_json(json_object_get(cfg, "NetworkSettings")));
	*out = steal_pointer(&o);
	return 0;
}
