/* Creating, loading and removing containers in dockerd 20.10's layout. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/container-private.h"
#include "container/initlayer.h"
#include "digest/digest.h"
#include "driver/driver.h"
#include "image/config.h"
#include "image/image-private.h"
#include "json/gojson.h"
#include "layer/layerdb.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/gotime.h"
#include "util/strbuf.h"

#define CONTAINER_JSON_MAX (16u << 20)
#define ZERO_TIME "0001-01-01T00:00:00Z"

/* A few of moby's namesgenerator words: names look like dockerd's. */
static const char *const name_left[] = {
	"admiring", "affectionate", "agitated", "amazing", "angry", "awesome", "blissful", "bold",
	"brave", "charming", "clever", "compassionate", "competent", "condescending", "confident",
	"cool", "cranky", "crazy", "dazzling", "determined", "distracted", "dreamy", "eager",
	"ecstatic", "elastic", "elated", "elegant", "eloquent", "epic", "fervent", "festive",
	"flamboyant", "focused", "friendly", "frosty", "gallant", "gifted", "goofy", "gracious",
	"happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible", "inspiring", "jolly",
	"jovial", "keen", "kind", "laughing", "loving", "lucid", "magical", "modest", "musing",
	"mystifying", "naughty", "nervous", "nice", "nifty", "nostalgic", "objective", "optimistic",
	"peaceful", "pedantic", "pensive", "practical", "priceless", "quirky", "quizzical",
	"relaxed", "reverent", "romantic", "sad", "serene", "sharp", "silly", "sleepy", "stoic",
	"strange", "stupefied", "suspicious", "sweet", "tender", "thirsty", "trusting", "unruffled",
	"upbeat", "vibrant", "vigilant", "vigorous", "wizardly", "wonderful", "xenodochial",
	"youthful", "zealous", "zen",
};
static const char *const name_right[] = {
	"albattani", "allen", "almeida", "agnesi", "archimedes", "ardinghelli", "aryabhata",
	"austin", "babbage", "banach", "bardeen", "bartik", "bassi", "beaver", "bell", "benz",
	"bhabha", "bhaskara", "blackwell", "bohr", "booth", "borg", "bose", "boyd", "brahmagupta",
	"brattain", "brown", "carson", "cerf", "chandrasekhar", "clarke", "colden", "cori", "cray",
	"curie", "darwin", "davinci", "dijkstra", "dubinsky", "easley", "edison", "einstein",
	"elion", "engelbart", "euclid", "euler", "fermat", "fermi", "feynman", "franklin",
	"galileo", "gates", "goldberg", "goldstine", "goldwasser", "golick", "goodall", "hamilton",
	"hawking", "heisenberg", "hermann", "hodgkin", "hoover", "hopper", "hugle", "hypatia",
	"jackson", "jang", "jennings", "jepsen", "johnson", "joliot", "jones", "kalam", "kare",
	"keller", "kepler", "khorana", "kilby", "kirch", "knuth", "kowalevski", "lalande",
	"lamarr", "lamport", "leakey", "leavitt", "lewin", "lichterman", "liskov", "lovelace",
	"lumiere", "mahavira", "margulis", "matsumoto", "mayer", "mccarthy", "mcclintock",
	"mclean", "mcnulty", "meitner", "meninsky", "mestorf", "minsky", "mirzakhani", "morse",
	"murdock", "napier", "nash", "neumann", "newton", "nightingale", "nobel", "noether",
	"northcutt", "noyce", "panini", "pare", "pasteur", "payne", "perlman", "pike", "poincare",
	"poitras", "ptolemy", "raman", "ramanujan", "ride", "ritchie", "roentgen", "rosalind",
	"saha", "sammet", "shannon", "shaw", "shirley", "shockley", "sinoussi", "snyder",
	"spence", "stallman", "stonebraker", "swanson", "swartz", "swirles", "tesla", "thompson",
	"torvalds", "turing", "varahamihira", "visvesvaraya", "volhard", "wescoff", "wiles",
	"williams", "wilson", "wing", "wozniak", "wright", "yalow", "yonath",
};

const char *container_name(const struct container *c)
{
	const char *n = gojson_get_string(c->cfg, "Name");

	return n ? (*n == '/' ? n + 1 : n) : "";
}

const char *container_image_id(const struct container *c)
{
	const char *n = gojson_get_string(c->cfg, "Image");

	return n ? n : "";
}

bool container_running(const struct container *c)
{
	return json_is_true(json_object_get(json_object_get(c->cfg, "State"), "Running"));
}

void container_free(struct container *c)
{
	if (!c)
		return;
	free(c->parent_chain);
	free(c->rootfs);
	json_decref(c->cfg);
	json_decref(c->host);
	free(c);
}

/* ---- files ---- */

int container_dir_fd(struct strata_store *store, const char *id, struct strata_error **err)
{
	_cleanup_close_ int cfd = -1;

	if (store->root_fd < 0)
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "No such container: %s", id);
	cfd = fs_open_dir_at(store->root_fd, LAYOUT_CONTAINERS, err);
	if (cfd < 0)
		return cfd;
	return fs_open_dir_at(cfd, id, err);
}

static int write_json(int dfd, const char *name, const json_t *v, mode_t mode, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	gojson_encode(&sb, v, 0);
	strbuf_addch(&sb, '\n'); /* json.Encoder's newline */
	return fs_write_file_atomic_at(dfd, name, sb.buf, sb.len, mode, err);
}

int container_save(struct container *c, struct strata_error **err)
{
	_cleanup_close_ int dfd = container_dir_fd(c->store, c->id, err);
	int ret;

	if (dfd < 0)
		return strata_error_wrap(err, "container %s", c->id);
	ret = write_json(dfd, "config.v2.json", c->cfg, 0600, err);
	if (ret >= 0)
		ret = write_json(dfd, "hostconfig.json", c->host, 0644, err);
	if (ret < 0)
		return strata_error_wrap(err, "save container %s", c->id);
	return 0;
}

static int read_mount_file(struct strata_store *store, const char *id, const char *file, char **out,
			   struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	size_t len;
	int ret;

	strbuf_addf(&path, LAYOUT_LAYERDB_MOUNTS "/%s/%s", id, file);
	ret = fs_read_file_at(store->image_fd, path.buf, 4096, out, &len, err);
	if (ret < 0)
		return ret;
	while (len && ((*out)[len - 1] == '\n' || (*out)[len - 1] == ' '))
		(*out)[--len] = '\0';
	return 0;
}

/* Load containers/<id>/ and layerdb/mounts/<id>/ (id: 64 hex). */
static int load(struct strata_store *store, const char *id, struct container **out, struct strata_error **err)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_free_ char *buf = NULL, *hbuf = NULL, *mount_id = NULL;
	struct container *c;
	struct strata_error *e = NULL;
	size_t len, hlen;
	int ret;

	dfd = container_dir_fd(store, id, err);
	if (dfd < 0)
		return dfd;
	ret = fs_read_file_at(dfd, "config.v2.json", CONTAINER_JSON_MAX, &buf, &len, err);
	if (ret < 0)
		return strata_error_wrap(err, "container %s", id);
	c = xcalloc(1, sizeof(*c));
	c->store = store;
	memcpy(c->id, id, 64);
	ret = gojson_parse(buf, len, "config.v2.json", &c->cfg, err);
	if (ret >= 0 && !json_is_object(c->cfg))
		ret = strata_error_set(err, STRATA_ERR_CORRUPT, 0, "config.v2.json is not an object");
	if (ret >= 0) {
		ret = fs_read_file_at(dfd, "hostconfig.json", CONTAINER_JSON_MAX, &hbuf, &hlen, &e);
		if (ret == -STRATA_ERR_NOT_FOUND) {
			strata_error_free(e);
			e = NULL; /* reused for the parent file below */
			c->host = json_object();
			ret = 0;
		} else if (ret < 0) {
			strata_error_propagate(err, e);
		} else {
			ret = gojson_parse(hbuf, hlen, "hostconfig.json", &c->host, err);
		}
	}
	if (ret >= 0 && store->image_fd >= 0) {
		ret = read_mount_file(store, id, LAYOUT_MOUNT_MOUNT_ID, &mount_id, err);
		if (ret >= 0 && (strlen(mount_id) != 64 || !digest_hex_valid(mount_id)))
			ret = strata_error_set(err, STRATA_ERR_CORRUPT, 0, "bad mount-id '%s'", mount_id);
		if (ret >= 0)
			memcpy(c->mount_id, mount_id, 65);
		if (ret >= 0) {
			ret = read_mount_file(store, id, LAYOUT_MOUNT_PARENT, &c->parent_chain, &e);
			if (ret == -STRATA_ERR_NOT_FOUND) {
				strata_error_free(e);
				c->parent_chain = xstrdup("");
				ret = 0;
			} else if (ret < 0) {
				strata_error_propagate(err, e);
			}
		}
	}
	if (ret < 0) {
		container_free(c);
		return strata_error_wrap(err, "container %s in '%s'", id, store->root);
	}
	*out = c;
	return 0;
}

int container_reload(struct container *c, struct strata_error **err)
{
	struct container *fresh;
	int ret = load(c->store, c->id, &fresh, err);

	if (ret < 0)
		return ret;
	json_decref(c->cfg);
	json_decref(c->host);
	c->cfg = steal_pointer(&fresh->cfg);
	c->host = steal_pointer(&fresh->host);
	container_free(fresh);
	return 0;
}

static int list_ids(struct strata_store *store, char ***ids, size_t *nr, struct strata_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct strata_error *e = NULL;
	struct dirent *de;
	size_t alloc = 0;
	int ret;

	*ids = NULL;
	*nr = 0;
	if (store->root_fd < 0)
		return 0;
	ret = fs_opendir_at(store->root_fd, LAYOUT_CONTAINERS, &d, &e);
	if (ret == -STRATA_ERR_NOT_FOUND) {
		strata_error_free(e);
		return 0;
	}
	if (ret < 0) {
		strata_error_propagate(err, e);
		return ret;
	}
	while ((de = readdir(d))) {
		if (strlen(de->d_name) != 64 || !digest_hex_valid(de->d_name))
			continue;
		ALLOC_GROW(*ids, *nr + 1, alloc);
		(*ids)[(*nr)++] = xstrdup(de->d_name);
	}
	return 0;
}

static void ids_free(char **ids, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		free(ids[i]);
	free(ids);
}

static int cmp_created(const void *a, const void *b)
{
	const struct container *x = *(struct container *const *)a, *y = *(struct container *const *)b;
	const char *cx = gojson_get_string(x->cfg, "Created"), *cy = gojson_get_string(y->cfg, "Created");
	int64_t sx = 0, sy = 0;
	int32_t nx = 0, ny = 0;

	if (cx)
		gotime_parse_rfc3339(cx, &sx, &nx, NULL);
	if (cy)
		gotime_parse_rfc3339(cy, &sy, &ny, NULL);
	if (sx != sy)
		return sx > sy ? -1 : 1;
	if (nx != ny)
		return nx > ny ? -1 : 1;
	return strcmp(x->id, y->id);
}

int container_list(struct strata_store *store, struct container ***out, size_t *nr, struct strata_error **err)
{
	char **ids;
	size_t n, alloc = 0;
	int ret = list_ids(store, &ids, &n, err);

	*out = NULL;
	*nr = 0;
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		struct container *c = NULL;
		struct strata_error *e = NULL;

		ret = load(store, ids[i], &c, &e);
		if (ret == -STRATA_ERR_NOT_FOUND || ret == -STRATA_ERR_CORRUPT) {
			/* a folder without config.v2.json is no container, and one
			 * that does not parse costs only itself: dockerd skips both */
			strata_error_free(e);
			ret = 0;
			continue;
		}
		if (ret < 0) {
			strata_error_propagate(err, e);
			break;
		}
		ALLOC_GROW(*out, *nr + 1, alloc);
		(*out)[(*nr)++] = c;
	}
	ids_free(ids, n);
	if (ret < 0) {
		container_list_free(*out, *nr);
		*out = NULL;
		*nr = 0;
		return ret;
	}
	if (*nr)
		qsort(*out, *nr, sizeof(**out), cmp_created);
	return 0;
}

void container_list_free(struct container **v, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		container_free(v[i]);
	free(v);
}

int container_open(struct strata_store *store, const char *name, struct container **out,
		   struct strata_error **err)
{
	struct container **all, *found = NULL;
	size_t nr, matches = 0;
	const char *bare = *name == '/' ? name + 1 : name;
	int ret;

	if (!*name)
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "No such container: %s", name);
	ret = container_list(store, &all, &nr, err);
	if (ret < 0)
		return ret;
	/* dockerd's GetContainer: full ID, then name, then unique prefix */
	for (size_t i = 0; i < nr && !found; i++)
		if (!strcmp(all[i]->id, name))
			found = all[i];
	for (size_t i = 0; i < nr && !found; i++)
		if (!strcmp(container_name(all[i]), bare))
			found = all[i];
	if (!found) {
		for (size_t i = 0; i < nr; i++)
			if (!strncmp(all[i]->id, name, strlen(name))) {
				found = all[i];
				matches++;
			}
		if (matches > 1) {
			container_list_free(all, nr);
			return strata_error_set(err, STRATA_ERR_CONFLICT, 0,
						"Multiple IDs found with provided prefix: %s", name);
		}
	}
	if (!found) {
		container_list_free(all, nr);
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "No such container: %s", name);
	}
	for (size_t i = 0; i < nr; i++)
		if (all[i] != found)
			container_free(all[i]);
	free(all);
	*out = found;
	return 0;
}

/* ---- create ---- */

static int random_hex(char out[65], struct strata_error **err)
{
	unsigned char b[32];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return strata_error_set(err, STRATA_ERR_IO, errno, "random container ID");
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	/* dockerd's stringid: an ID that reads as a number is redrawn */
	return 0;
}

static bool name_taken(struct container **all, size_t nr, const char *name)
{
	for (size_t i = 0; i < nr; i++)
		if (!strcmp(container_name(all[i]), name))
			return true;
	return false;
}

/* dockerd's name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
static bool name_valid(const char *n)
{
	if (!*n)
		return false;
	for (const char *p = n; *p; p++) {
		bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');

		if (!alnum && (p == n || (*p != '_' && *p != '.' && *p != '-')))
			return false;
	}
	return true;
}

static int pick_name(struct strata_store *store, const char *id, const char *want, char **out,
		     struct strata_error **err)
{
	struct container **all;
	size_t nr;
	int ret = container_list(store, &all, &nr, err);

	if (ret < 0)
		return ret;
	if (want) {
		if (!name_valid(want))
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
					       "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
					       want);
		else if (name_taken(all, nr, want)) {
			const char *other = "";

			for (size_t i = 0; i < nr; i++)
				if (!strcmp(container_name(all[i]), want))
					other = all[i]->id;
			ret = strata_error_set(err, STRATA_ERR_CONFLICT, 0,
					       "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.",
					       want, other);
		} else {
			*out = xstrdup(want);
		}
	} else {
		/* drawn from the ID so that reproducible builds name containers alike */
		unsigned seed = 0;

		for (size_t i = 0; i < 8; i++)
			seed = seed * 16 + (unsigned)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
		for (unsigned retry = 0;; retry++) {
			char *n = xasprintf("%s_%s", name_left[seed % (sizeof(name_left) / sizeof(*name_left))],
					    name_right[(seed / 97) % (sizeof(name_right) / sizeof(*name_right))]);

			if (retry) {
				char *m = xasprintf("%s%u", n, (seed + retry) % 10 + retry / 10 * 10);
				free(n);
				n = m;
			}
			if (!name_taken(all, nr, n) && strcmp(n, "boring_wozniak")) {
				*out = n;
				break;
			}
			free(n);
		}
	}
	container_list_free(all, nr);
	return ret;
}

static const char *env_key_end(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? eq : kv + strlen(kv);
}

/* runconfig's merge of the image's config into the user's, as dockerd 20.10 does at create */
static void merge_config(json_t *user, const json_t *image)
{
	json_t *v, *ienv = json_object_get(image, "Env"), *uenv = json_object_get(user, "Env");
	json_t *labels = json_object_get(user, "Labels"), *ilabels = json_object_get(image, "Labels");
	const char *key;

	if (!gojson_get_string(user, "User") || !*gojson_get_string(user, "User"))
		if ((v = json_object_get(image, "User")))
			json_object_set(user, "User", v);
	if (!json_object_size(json_object_get(user, "ExposedPorts")) && (v = json_object_get(image, "ExposedPorts")))
		json_object_set(user, "ExposedPorts", v);
	if (!json_array_size(uenv)) {
		json_object_set(user, "Env", ienv ? ienv : json_null());
	} else if (json_is_array(ienv)) {
		size_t i, j;
		json_t *ie, *ue;

		json_array_foreach(ienv, i, ie) {
			const char *is = json_string_value(ie);
			bool found = false;

			if (!is)
				continue;
			json_array_foreach(uenv, j, ue) {
				const char *us = json_string_value(ue);

				if (us && env_key_end(us) - us == env_key_end(is) - is &&
				    !strncmp(us, is, (size_t)(env_key_end(is) - is)))
					found = true;
			}
			if (!found)
				json_array_append(uenv, ie);
		}
	}
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(user, "Labels", labels);
	}
	json_object_foreach(ilabels, key, v)
		if (!json_object_get(labels, key))
			json_object_set(labels, key, v);
	if (!json_array_size(json_object_get(user, "Entrypoint"))) {
		if (!json_array_size(json_object_get(user, "Cmd"))) {
			json_object_set(user, "Cmd", (v = json_object_get(image, "Cmd")) ? v : json_null());
			if ((v = json_object_get(image, "ArgsEscaped")))
				json_object_set(user, "ArgsEscaped", v);
		}
		if (!json_object_get(user, "Entrypoint") || json_is_null(json_object_get(user, "Entrypoint")))
			json_object_set(user, "Entrypoint", (v = json_object_get(image, "Entrypoint")) ? v : json_null());
	}
	if (!json_object_get(user, "Healthcheck") && (v = json_object_get(image, "Healthcheck")))
		json_object_set(user, "Healthcheck", v);
	if ((!gojson_get_string(user, "WorkingDir") || !*gojson_get_string(user, "WorkingDir")) &&
	    (v = json_object_get(image, "WorkingDir")))
		json_object_set(user, "WorkingDir", v);
	if (!json_object_size(json_object_get(user, "Volumes")) && (v = json_object_get(image, "Volumes")))
		json_object_set(user, "Volumes", v);
	if ((!gojson_get_string(user, "StopSignal") || !*gojson_get_string(user, "StopSignal")) &&
	    (v = json_object_get(image, "StopSignal")))
		json_object_set(user, "StopSignal", v);
	if (!json_object_get(user, "OnBuild") || json_is_null(json_object_get(user, "OnBuild")))
		json_object_set_new(user, "OnBuild", json_null());
}

static void sort_maps(json_t *config)
{
	static const char *const maps[] = { "Labels", "Volumes", "ExposedPorts" };

	for (size_t i = 0; i < sizeof(maps) / sizeof(*maps); i++) {
		json_t *m = json_object_get(config, maps[i]);

		if (json_is_object(m))
			json_object_set_new(config, maps[i], gojson_sorted_copy(m));
	}
}

static json_t *state_new(void)
{
	return json_pack("{sbsbsbsbsbsbsisisssssssn}", "Running", 0, "Paused", 0, "Restarting", 0, "OOMKilled", 0,
			 "RemovalInProgress", 0, "Dead", 0, "Pid", 0, "ExitCode", 0, "Error", "", "StartedAt",
			 ZERO_TIME, "FinishedAt", ZERO_TIME, "Health");
}

static json_t *network_settings_new(const char *network)
{
	json_t *ep = json_pack("{snsnsnssssssssisssssisssnsb}", "IPAMConfig", "Links", "Aliases", "NetworkID", "",
			       "EndpointID", "", "Gateway", "", "IPAddress", "", "IPPrefixLen", 0, "IPv6Gateway", "",
			       "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "MacAddress", "", "DriverOpts",
			       "IPAMOperational", 0);
	json_t *nets = json_object();

	json_object_set_new(nets, network, ep);
	return json_pack("{sssssbsssisosnsnsssnsnsbsb}", "Bridge", "", "SandboxID", "", "HairpinMode", 0,
			 "LinkLocalIPv6Address", "", "LinkLocalIPv6PrefixLen", 0, "Networks", nets, "Service", "Ports",
			 "SandboxKey", "", "SecondaryIPAddresses", "SecondaryIPv6Addresses", "IsAnonymousEndpoint", 0,
			 "HasSwarmEndpoint", 0);
}

/* hostconfig.json as dockerd 20.10 writes it for docker create/run without resource flags */
static json_t *hostconfig_new(const struct container_create_opts *o, const char *network)
{
	static const char *const null_keys[] = { "VolumesFrom", "CapAdd", "CapDrop" };
	json_t *h = json_object(), *binds = json_null();

	if (o->nr_binds) {
		binds = json_array();
		for (size_t i = 0; i < o->nr_binds; i++)
			json_array_append_new(binds, json_sprintf("%s:%s%s", o->binds[i].source, o->binds[i].destination,
								  o->binds[i].readonly ? ":ro" : ""));
	}
	json_object_set_new(h, "Binds", binds);
	json_object_set_new(h, "ContainerIDFile", json_string(""));
	json_object_set_new(h, "LogConfig", json_pack("{sss{}}", "Type", "json-file", "Config"));
	json_object_set_new(h, "NetworkMode", json_string(network));
	json_object_set_new(h, "PortBindings", json_object());
	json_object_set_new(h, "RestartPolicy", json_pack("{sssi}", "Name", "no", "MaximumRetryCount", 0));
	json_object_set_new(h, "AutoRemove", json_boolean(o->auto_remove));
	json_object_set_new(h, "VolumeDriver", json_string(""));
	for (size_t i = 0; i < 3; i++)
		json_object_set_new(h, null_keys[i], json_null());
	json_object_set_new(h, "CgroupnsMode", json_string("host"));
	json_object_set_new(h, "Dns", json_array());
	json_object_set_new(h, "DnsOptions", json_array());
	json_object_set_new(h, "DnsSearch", json_array());
	json_object_set_new(h, "ExtraHosts", json_null());
	json_object_set_new(h, "GroupAdd", json_null());
	json_object_set_new(h, "IpcMode", json_string("private"));
	json_object_set_new(h, "Cgroup", json_string(""));
	json_object_set_new(h, "Links", json_null());
	json_object_set_new(h, "OomScoreAdj", json_integer(0));
	json_object_set_new(h, "PidMode", json_string(""));
	json_object_set_new(h, "Privileged", json_false());
	json_object_set_new(h, "PublishAllPorts", json_false());
	json_object_set_new(h, "ReadonlyRootfs", json_boolean(o->read_only));
	json_object_set_new(h, "SecurityOpt", json_null());
	json_object_set_new(h, "UTSMode", json_string(""));
	json_object_set_new(h, "UsernsMode", json_string(""));
	json_object_set_new(h, "ShmSize", json_integer(67108864));
	json_object_set_new(h, "Runtime", json_string("runc"));
	json_object_set_new(h, "ConsoleSize", json_pack("[ii]", 0, 0));
	json_object_set_new(h, "Isolation", json_string(""));
	{
		static const char *const res[] = {
			"CpuShares", "Memory", "NanoCpus", "CgroupParent", "BlkioWeight", "BlkioWeightDevice",
			"BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps",
			"CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems",
			"Devices", "DeviceCgroupRules", "DeviceRequests", "KernelMemory", "KernelMemoryTCP",
			"MemoryReservation", "MemorySwap", "MemorySwappiness", "OomKillDisable", "PidsLimit", "Ulimits",
			"CpuCount", "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth",
		};
		for (size_t i = 0; i < sizeof(res) / sizeof(*res); i++) {
			const char *k = res[i];
			json_t *v;

			if (!strcmp(k, "CgroupParent") || !strcmp(k, "CpusetCpus") || !strcmp(k, "CpusetMems"))
				v = json_string("");
			else if (!strcmp(k, "BlkioWeightDevice") || !strcmp(k, "Devices"))
				v = json_array();
			else if (!strncmp(k, "BlkioDevice", 11) || !strcmp(k, "DeviceCgroupRules") ||
				 !strcmp(k, "DeviceRequests") || !strcmp(k, "MemorySwappiness") ||
				 !strcmp(k, "PidsLimit") || !strcmp(k, "Ulimits"))
				v = json_null();
			else if (!strcmp(k, "OomKillDisable"))
				v = json_false();
			else
				v = json_integer(0);
			json_object_set_new(h, k, v);
		}
	}
	json_object_set_new(h, "MaskedPaths",
			    json_pack("[ssssssssss]", "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
				      "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
				      "/proc/scsi", "/sys/firmware"));
	json_object_set_new(h, "ReadonlyPaths",
			    json_pack("[sssss]", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"));
	return h;
}

/* config.v2.json of a container never started, keys in moby's struct order */
static json_t *config_v2_new(const char *id, const char *created, const char *name, json_t *config,
			     const char *image_id, const char *network, const char *driver)
{
	json_t *cfg = json_object(), *cmd, *ep, *args = json_array();
	const char *path = "";
	size_t i;
	json_t *v;

	/* Path and Args: the entrypoint followed by the command */
	ep = json_object_get(config, "Entrypoint");
	cmd = json_object_get(config, "Cmd");
	json_array_foreach(ep, i, v) {
		if (!*path && !json_array_size(args) && i == 0)
			path = json_string_value(v) ? json_string_value(v) : "";
		else
			json_array_append(args, v);
	}
	json_array_foreach(cmd, i, v) {
		if (!json_array_size(ep) && i == 0)
			path = json_string_value(v) ? json_string_value(v) : "";
		else
			json_array_append(args, v);
	}
	json_object_set_new(cfg, "StreamConfig", json_object());
	json_object_set_new(cfg, "State", state_new());
	json_object_set_new(cfg, "ID", json_string(id));
	json_object_set_new(cfg, "Created", json_string(created));
	json_object_set_new(cfg, "Managed", json_false());
	json_object_set_new(cfg, "Path", json_string(path));
	json_object_set_new(cfg, "Args", args);
	json_object_set(cfg, "Config", config);
	json_object_set_new(cfg, "Image", json_string(image_id));
	json_object_set_new(cfg, "NetworkSettings", network_settings_new(network));
	json_object_set_new(cfg, "LogPath", json_string(""));
	json_object_set_new(cfg, "Name", json_sprintf("/%s", name));
	json_object_set_new(cfg, "Driver", json_string(driver));
	json_object_set_new(cfg, "OS", json_string("linux"));
	json_object_set_new(cfg, "MountLabel", json_string(""));
	json_object_set_new(cfg, "ProcessLabel", json_string(""));
	json_object_set_new(cfg, "RestartCount", json_integer(0));
	json_object_set_new(cfg, "HasBeenStartedBefore", json_false());
	json_object_set_new(cfg, "HasBeenManuallyStopped", json_false());
	json_object_set_new(cfg, "MountPoints", json_object());
	json_object_set_new(cfg, "SecretReferences", json_null());
	json_object_set_new(cfg, "ConfigReferences", json_null());
	json_object_set_new(cfg, "AppArmorProfile", json_string(""));
	json_object_set_new(cfg, "HostnamePath", json_string(""));
	json_object_set_new(cfg, "HostsPath", json_string(""));
	json_object_set_new(cfg, "ShmPath", json_string(""));
	json_object_set_new(cfg, "ResolvConfPath", json_string(""));
	json_object_set_new(cfg, "SeccompProfile", json_string(""));
	json_object_set_new(cfg, "NoNewPrivileges", json_false());
	json_object_set_new(cfg, "LocalLogCacheMeta", json_pack("{sb}", "HaveNotifyEnabled", 0));
	return cfg;
}

/* layerdb/mounts/<id>/ and the two driver folders; undone by remove_layers */
static int create_layers(struct strata_store *store, struct graph_driver *d, const char *id, const char *mount_id,
			 const char *parent_chain, const char *parent_cache, struct strata_error **err)
{
	_cleanup_free_ char *init_id = xasprintf("%s-init", mount_id);
	_cleanup_strbuf_ struct strbuf dir = STRBUF_INIT;
	_cleanup_close_ int mfd = -1, ifd = -1;
	int ret;

	ret = layout_mkdir(store->image_fd, LAYOUT_LAYERDB_MOUNTS, err);
	if (ret < 0)
		return ret;
	strbuf_addf(&dir, LAYOUT_LAYERDB_MOUNTS "/%s", id);
	ret = fs_mkdir_at(store->image_fd, dir.buf, 0755, err);
	if (ret < 0)
		return ret;
	mfd = fs_open_dir_at(store->image_fd, dir.buf, err);
	if (mfd < 0)
		return mfd;
	/* the ids first: a crash after this point leaves something recovery can name */
	if ((ret = fs_write_file_atomic_at(mfd, LAYOUT_MOUNT_MOUNT_ID, mount_id, 64, 0644, err)) < 0 ||
	    (ret = fs_write_file_atomic_at(mfd, LAYOUT_MOUNT_INIT_ID, init_id, strlen(init_id), 0644, err)) < 0)
		return ret;
	if (*parent_chain &&
	    (ret = fs_write_file_atomic_at(mfd, LAYOUT_MOUNT_PARENT, parent_chain, strlen(parent_chain), 0644, err)) < 0)
		return ret;
	ret = graph_driver_create(d, init_id, *parent_cache ? parent_cache : NULL, err);
	if (ret < 0)
		return ret;
	ifd = graph_driver_diff_fd(d, init_id, err);
	if (ifd < 0)
		return ifd;
	ret = container_init_layer_populate(ifd, err);
	if (ret < 0)
		return ret;
	return graph_driver_create(d, mount_id, init_id, err);
}

int container_remove_layers(struct strata_store *store, const char *id, const char *mount_id,
			    struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf dir = STRBUF_INIT;
	struct graph_driver *d;
	int ret = store_driver(store, &d, err);

	if (ret < 0)
		return ret;
	if (mount_id && *mount_id) {
		_cleanup_free_ char *init_id = xasprintf("%s-init", mount_id);

		if ((ret = graph_driver_put(d, mount_id, NULL)) < 0)
			ret = 0; /* a folder already gone has nothing mounted */
		if ((ret = graph_driver_remove(d, mount_id, err)) < 0 ||
		    (ret = graph_driver_remove(d, init_id, err)) < 0)
			return ret;
	}
	strbuf_addf(&dir, LAYOUT_LAYERDB_MOUNTS "/%s", id);
	return fs_remove_tree_at(store->image_fd, dir.buf, err);
}

static int create_dir(struct strata_store *store, const char *id, struct strata_error **err)
{
	_cleanup_close_ int cfd = -1, dfd = -1;
	int ret = fs_mkdir_at(store->root_fd, LAYOUT_CONTAINERS, 0710, err);

	if (ret < 0)
		return ret;
	cfd = fs_open_dir_at(store->root_fd, LAYOUT_CONTAINERS, err);
	if (cfd < 0)
		return cfd;
	if (mkdirat(cfd, id, 0710) < 0)
		return strata_error_set(err, errno == EEXIST ? STRATA_ERR_CONFLICT : fs_errcode(errno), errno,
					"create container folder %s", id);
	if (fchmodat(cfd, id, 0710, 0) < 0)
		return strata_error_set(err, fs_errcode(errno), errno, "chmod container folder %s", id);
	dfd = fs_open_dir_at(cfd, id, err);
	if (dfd < 0)
		return dfd;
	return fs_mkdir_at(dfd, "checkpoints", 0700, err);
}

static void remove_dir(struct strata_store *store, const char *id)
{
	_cleanup_close_ int cfd = -1;

	cfd = openat(store->root_fd, LAYOUT_CONTAINERS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd >= 0)
		fs_remove_tree_at(cfd, id, NULL);
}

static bool has_command(const json_t *config)
{
	return json_array_size(json_object_get(config, "Cmd")) || json_array_size(json_object_get(config, "Entrypoint"));
}

int container_create(struct strata_image_index *idx, const struct strata_image *img,
		     const struct container_create_opts *o, struct container **out, struct strata_error **err)
{
	struct strata_store *store = idx->store;
	const char *network = o->network ? o->network : "none";
	const json_t *iconfig = img ? json_object_get(image_config(img), "config") : NULL;
	const char *image_id = img ? img->id : "";
	_cleanup_json_ json_t *user = NULL, *config = NULL;
	_cleanup_free_ char *name = NULL;
	_cleanup_strbuf_ struct strbuf created = STRBUF_INIT;
	struct layer_record top = { 0 };
	struct graph_driver *d;
	struct container *c;
	char id[65], mount_id[65];
	int ret;

	if (strcmp(network, "none") && strcmp(network, "host"))
		return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
					"network %s not found (strata runs containers with --network none or host)",
					network);
	if (o->id) {
		if (strlen(o->id) != 64 || !digest_hex_valid(o->id))
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid container ID '%s'", o->id);
		memcpy(id, o->id, 65);
	} else if ((ret = random_hex(id, err)) < 0) {
		return ret;
	}
	/* the rw layer's folder: derived from the ID, so a reproducible build names it alike */
	{
		_cleanup_free_ char *seed = xasprintf("mount-id:%s", id);

		sha256_hex(seed, strlen(seed), mount_id);
	}
	user = o->config ? json_deep_copy(o->config) : json_object();
	if (!json_is_object(user))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "container config is not an object");
	merge_config(user, iconfig);
	if (!has_command(user))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "No command specified");
	if (!gojson_get_string(user, "Hostname") || !*gojson_get_string(user, "Hostname")) {
		char host[13];

		memcpy(host, id, 12);
		host[12] = '\0';
		json_object_set_new(user, "Hostname", json_string(host));
	}
	json_object_set_new(user, "Image", json_string(o->image_ref ? o->image_ref : image_id));
	sort_maps(user);
	config = config_container_ordered(user);
	ret = pick_name(store, id, o->name, &name, err);
	if (ret < 0)
		return ret;
	if (img && img->nr_layers)
		top = img->layers[img->nr_layers - 1].rec;
	ret = store_driver(store, &d, err);
	if (ret < 0)
		return ret;
	ret = create_layers(store, d, id, mount_id, top.chain_id, top.cache_id, err);
	if (ret >= 0)
		ret = create_dir(store, id, err);
	if (ret < 0) {
		remove_dir(store, id);
		container_remove_layers(store, id, mount_id, NULL);
		return strata_error_wrap(err, "create container");
	}
	store_format_now(store, &created);
	c = xcalloc(1, sizeof(*c));
	c->store = store;
	memcpy(c->id, id, 65);
	memcpy(c->mount_id, mount_id, 65);
	c->parent_chain = xstrdup(top.chain_id);
	c->cfg = config_v2_new(id, created.buf, name, config, image_id, network, store->driver_name);
	c->host = hostconfig_new(o, network);
	ret = container_save(c, err);
	if (ret < 0) {
		remove_dir(store, id);
		container_remove_layers(store, id, mount_id, NULL);
		container_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

int container_remove(struct container *c, bool force, struct strata_error **err)
{
	_cleanup_close_ int cfd = -1;
	int ret;

	if (container_running(c)) {
		if (!force)
			return strata_error_set(err, STRATA_ERR_CONFLICT, 0,
						"You cannot remove a running container %s. Stop the container before attempting removal or force remove",
						c->id);
		struct strata_error *e = NULL;

		/* a failed kill is a process that just exited: its monitor still records that */
		container_kill(c, 9, &e);
		strata_error_free(e);
		e = NULL;
		ret = container_wait(c, &e);
		if (ret == -STRATA_ERR_NOT_FOUND) {
			strata_error_free(e);
			return 0; /* its monitor removed it (run --rm) */
		}
		if (ret < 0)
			return strata_error_propagate(err, e);
		if (container_running(c))
			return strata_error_set(err, STRATA_ERR_BUSY, 0, "Could not kill running container %s, cannot remove",
						c->id);
	} else {
		struct strata_error *e = NULL;

		/*
		 * Its exit is recorded, but the process that held it may still be
		 * letting go (unmounting, removing its bundle): removing the
		 * folder under it fails or loses the race. A dead monitor's bundle
		 * is recovery's to remove.
		 */
		ret = container_wait(c, &e);
		strata_error_free(e);
		if (ret == -STRATA_ERR_NOT_FOUND)
			return 0; /* its monitor removed it (AutoRemove) */
	}
	ret = container_unmount(c, err);
	if (ret < 0)
		return ret;
	/* the config first: a crash leaves a folder and layers without one, which recovery drops */
	cfd = fs_open_dir_at(c->store->root_fd, LAYOUT_CONTAINERS, err);
	if (cfd < 0)
		return strata_error_wrap(err, "remove container %s", c->id);
	{
		_cleanup_strbuf_ struct strbuf cfg = STRBUF_INIT;

		strbuf_addf(&cfg, "%s/config.v2.json", c->id);
		ret = unlinkat(cfd, cfg.buf, 0) < 0 && errno != ENOENT
			      ? strata_error_set(err, fs_errcode(errno), errno, "remove %s", cfg.buf)
			      : 0;
	}
	if (ret >= 0)
		ret = fs_remove_tree_at(cfd, c->id, err);
	if (ret >= 0)
		ret = container_remove_layers(c->store, c->id, c->mount_id, err);
	if (ret < 0)
		return strata_error_wrap(err, "remove container %s", c->id);
	return 0;
}
