/*
 * The classic builder of docker 20.10 (moby builder/dockerfile) for the
 * metadata instructions: every instruction is "committed" as dockerd's
 * CommitBuildStep does it, one image per step whose parent is the previous
 * one, its container_config the step's run config with the "#(nop) "
 * comment command after the daemon's create-time merge with the parent's
 * config, a container ID and hostname, and a history entry marked
 * empty_layer (a metadata step's container diff is the empty tar, which
 * dockerd registers and releases again: nothing lands in layerdb).  No
 * container is started for these steps: nothing would run in it; with
 * --rm=false the one dockerd creates (and keeps, never started) is made
 * in the store beside the image, so that `ps -a` lists it as dockerd's.
 *
 * The cache is dockerd's: a step's candidates are the images whose
 * metadata parent is the current image (for FROM scratch: images without
 * parent), compared on the fields image/cache/compare.go compares; the
 * newest match wins; the first miss disables lookups until the next FROM.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <jansson.h>

#include "build/copy.h"
#include "container/container.h"
#include "build/dockerignore.h"
#include "build/instructions.h"
#include "build/lex.h"
#include "digest/digest.h"
#include "driver/driver.h"
#include "image/config.h"
#include "image/image-private.h"
#include "image/imagedb.h"
#include "image/manifest.h"
#include "json/gojson.h"
#include "layer/layerstore.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "strata/build.h"
#include "strata/image.h"
#include "util/cancel.h"
#include "strata/reference.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/safepath.h"
#include "util/strbuf.h"

#define DOCKER_VERSION "20.10.24+dfsg1"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* An argument's value: set says whether it has one (ARG X has none). */
struct arg {
	char *key, *value;
	bool set;
};

struct argmap {
	struct arg *v;
	size_t n, alloc;
};

/* moby's BuildArgs */
struct build_args {
	struct argmap options;   /* --build-arg */
	struct argmap meta;      /* ARGs before the first FROM */
	struct argmap allowed;   /* ARGs declared in the current stage */
	struct argmap referenced; /* names only */
};

static const char *const builtin_args[] = {
	"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
	"NO_PROXY", "no_proxy",
};

static struct arg *argmap_find(const struct argmap *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].key, key))
			return &m->v[i];
	return NULL;
}

static void argmap_set(struct argmap *m, const char *key, const char *value)
{
	struct arg *a = argmap_find(m, key);

	if (!a) {
		ALLOC_GROW(m->v, m->n + 1, m->alloc);
		a = &m->v[m->n++];
		a->key = xstrdup(key);
	} else {
		free(a->value);
	}
	a->value = value ? xstrdup(value) : NULL;
	a->set = value != NULL;
}

static void argmap_release(struct argmap *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].value);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static bool is_builtin_arg(const char *key)
{
	for (size_t i = 0; i < sizeof(builtin_args) / sizeof(builtin_args[0]); i++)
		if (!strcmp(builtin_args[i], key))
			return true;
	return false;
}

static void args_add(struct build_args *a, const char *key, const char *value)
{
	argmap_set(&a->allowed, key, value);
	argmap_set(&a->referenced, key, NULL);
}

/* getBuildArg: the option's value first, then the declared default, then the meta ARG's. */
static const char *args_get(const struct build_args *a, const char *key, const struct argmap *source)
{
	const struct arg *def = argmap_find(source, key), *opt = argmap_find(&a->options, key), *meta;

	if (opt && opt->set)
		return opt->value;
	if (!def || !def->set) {
		meta = argmap_find(&a->meta, key);
		return meta && meta->set ? meta->value : NULL;
	}
	return def->value;
}

/* getAllFromMapping as "K=V" strings (declared ones and the builtin proxies). */
static void args_all(const struct build_args *a, const struct argmap *source, struct argmap *out)
{
	for (size_t i = 0; i < source->n; i++) {
		const char *v = args_get(a, source->v[i].key, source);

		if (v)
			argmap_set(out, source->v[i].key, v);
	}
	for (size_t i = 0; i < sizeof(builtin_args) / sizeof(builtin_args[0]); i++) {
		const char *v = args_get(a, builtin_args[i], source);

		if (v && !argmap_find(out, builtin_args[i]))
			argmap_set(out, builtin_args[i], v);
	}
}

struct stage_result {
	char *name;     /* lower-cased, NULL when unnamed */
	char *image_id; /* "sha256:..." or "" */
};

struct builder {
	struct strata_image_index *idx;
	struct strata_store *store;
	const struct strata_build_options *opts;
	struct build_plan *plan;
	struct build_args args;
	/* the stage being built (moby's dispatchState) */
	json_t *run;          /* container.Config */
	char image_id[72];    /* "" for scratch */
	struct strata_image *base; /* the stage's FROM image, NULL for scratch */
	char *maintainer;
	bool cmd_set;
	bool cache_busted;
	struct stage_result *stages;
	size_t nstages, stages_alloc;
	size_t step, nsteps;
	unsigned long long container_seq; /* distinguishes derived container IDs */
	struct build_context *ctx; /* opened at the first COPY */
};

static void out_write(struct builder *b, const char *s, size_t len)
{
	if (b->opts->write && len)
		b->opts->write(b->opts->cookie, s, len);
}

static void out_printf(struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(struct builder *b, const char *fmt, ...)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	out_write(b, sb.buf, sb.len);
}

/* dockerd's stderr stream: the text between the ANSI red and reset codes */
static void out_stderr(struct builder *b, const char *text)
{
	out_printf(b, "\033[91m%s\033[0m", text);
}

static const char *short_id(const char *id)
{
	static const char empty[] = "";

	if (!strncmp(id, "sha256:", 7))
		id += 7;
	return *id ? id : empty;
}

/* ---- container.Config helpers ---- */

static json_t *strings_array(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *get_shell(const json_t *run)
{
	const json_t *shell = json_object_get(run, "Shell");
	json_t *a;

	if (json_is_array(shell) && json_array_size(shell))
		return json_deep_copy(shell);
	a = json_array();
	json_array_append_new(a, json_string("/bin/sh"));
	json_array_append_new(a, json_string("-c"));
	return a;
}

static size_t jlen(const json_t *v)
{
	return json_is_array(v) ? json_array_size(v) : json_is_object(v) ? json_object_size(v) : 0;
}

static const char *jstr(const json_t *obj, const char *key)
{
	const char *s = gojson_get_string(obj, key);

	return s ? s : "";
}

/* strings.Join(cmd, " ") */
static void join_strings(struct strbuf *sb, const json_t *arr, const char *sep)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		if (i)
			strbuf_addstr(sb, sep);
		strbuf_addstr(sb, json_string_value(v) ? json_string_value(v) : "");
	}
}

/* fmt's %q of a []string: ["a" "b"] */
static void quote_strings(struct strbuf *sb, const json_t *arr)
{
	size_t i;
	json_t *v;

	strbuf_addch(sb, '[');
	json_array_foreach(arr, i, v) {
		if (i)
			strbuf_addch(sb, ' ');
		build_go_quote(sb, json_string_value(v) ? json_string_value(v) : "");
	}
	strbuf_addch(sb, ']');
}

/* strconv.QuoteRune for a HealthConfig's Retries under %q */
static void quote_rune(struct strbuf *sb, long r)
{
	static const struct { long r; const char *s; } named[] = {
		{ 7, "\\a" }, { 8, "\\b" }, { 9, "\\t" }, { 10, "\\n" }, { 11, "\\v" }, { 12, "\\f" },
		{ 13, "\\r" }, { '\\', "\\\\" }, { '\'', "\\'" },
	};

	strbuf_addch(sb, '\'');
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		if (named[i].r == r) {
			strbuf_addstr(sb, named[i].s);
			strbuf_addch(sb, '\'');
			return;
		}
	}
	if (r >= 0x20 && r < 0x7f)
		strbuf_addch(sb, (int)r);
	else if (r >= 0 && r < 0x80)
		strbuf_addf(sb, "\\x%02lx", r);
	else if (r >= 0x80 && r <= 0xffff)
		strbuf_addf(sb, "\\u%04lx", r);
	else
		strbuf_addf(sb, "\\U%08lx", r & 0xffffffffL);
	strbuf_addch(sb, '\'');
}

static int64_t jint(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* fmt's %q of a *container.HealthConfig */
static void quote_health(struct strbuf *sb, const json_t *hc)
{
	const json_t *test = json_object_get(hc, "Test");
	_cleanup_json_ json_t *empty = json_array();

	strbuf_addstr(sb, "&{");
	quote_strings(sb, json_is_array(test) ? test : empty);
	strbuf_addstr(sb, " \"");
	build_go_duration(sb, jint(hc, "Interval"));
	strbuf_addstr(sb, "\" \"");
	build_go_duration(sb, jint(hc, "Timeout"));
	strbuf_addstr(sb, "\" \"");
	build_go_duration(sb, jint(hc, "StartPeriod"));
	strbuf_addstr(sb, "\" ");
	quote_rune(sb, (long)jint(hc, "Retries"));
	strbuf_addch(sb, '}');
}

/* fmt's %v of a []string: [a b] */
static void plain_strings(struct strbuf *sb, const json_t *arr)
{
	strbuf_addch(sb, '[');
	if (json_is_array(arr))
		join_strings(sb, arr, " ");
	strbuf_addch(sb, ']');
}

/* The daemon's merge of the image's config into a new container's (daemon/commit.go). */
static void merge_image_config(json_t *user, json_t *state_run, const json_t *image)
{
	json_t *v, *mine;
	const char *k;
	size_t i;

	if (!*jstr(user, "User") && json_object_get(image, "User"))
		json_object_set(user, "User", json_object_get(image, "User"));
	mine = json_object_get(user, "ExposedPorts");
	if (!jlen(mine)) {
		json_object_set(user, "ExposedPorts", json_object_get(image, "ExposedPorts") ?
				json_object_get(image, "ExposedPorts") : json_null());
	} else if (json_is_object(json_object_get(image, "ExposedPorts"))) {
		json_object_foreach(json_object_get(image, "ExposedPorts"), k, v)
			if (!json_object_get(mine, k))
				json_object_set_new(mine, k, json_object());
	}
	mine = json_object_get(user, "Env");
	if (!jlen(mine)) {
		json_object_set(user, "Env", json_object_get(image, "Env") ? json_object_get(image, "Env") : json_null());
	} else if (json_is_array(json_object_get(image, "Env"))) {
		json_t *add = json_array();

		json_array_foreach(json_object_get(image, "Env"), i, v) {
			const char *ie = json_string_value(v) ? json_string_value(v) : "";
			size_t klen = strcspn(ie, "="), j;
			json_t *u;
			bool found = false;

			json_array_foreach(mine, j, u) {
				const char *ue = json_string_value(u) ? json_string_value(u) : "";

				if (strcspn(ue, "=") == klen && !strncmp(ue, ie, klen))
					found = true;
			}
			if (!found)
				json_array_append(add, v);
		}
		json_array_extend(mine, add);
		json_decref(add);
	}
	mine = json_object_get(user, "Labels");
	if (!json_is_object(mine)) {
		mine = json_object();
		json_object_set_new(user, "Labels", mine);
	}
	if (json_is_object(json_object_get(image, "Labels")))
		json_object_foreach(json_object_get(image, "Labels"), k, v)
			if (!json_object_get(mine, k))
				json_object_set(mine, k, v);
	if (!jlen(json_object_get(user, "Entrypoint"))) {
		if (!jlen(json_object_get(user, "Cmd")))
			json_object_set(user, "Cmd", json_object_get(image, "Cmd") ? json_object_get(image, "Cmd") : json_null());
		if (!json_is_array(json_object_get(user, "Entrypoint")))
			json_object_set(user, "Entrypoint", json_object_get(image, "Entrypoint") ?
					json_object_get(image, "Entrypoint") : json_null());
	}
	if (json_is_object(json_object_get(image, "Healthcheck"))) {
		const json_t *ih = json_object_get(image, "Healthcheck");
		json_t *uh = json_object_get(user, "Healthcheck");

		if (!json_is_object(uh)) {
			json_object_set_new(user, "Healthcheck", json_deep_copy(ih));
		} else {
			/* the daemon fills the builder's own HealthConfig: its config sees it too */
			static const char *const keys[] = { "Test", "Interval", "Timeout", "StartPeriod", "Retries" };
			json_t *sh = json_object_get(state_run, "Healthcheck");

			for (size_t n = 0; n < sizeof(keys) / sizeof(keys[0]); n++) {
				const json_t *u = json_object_get(uh, keys[n]);
				bool zero = !u || json_is_null(u) || (json_is_array(u) && !json_array_size(u)) ||
					    (json_is_integer(u) && !json_integer_value(u));

				if (zero && json_object_get(ih, keys[n])) {
					json_object_set(uh, keys[n], json_object_get(ih, keys[n]));
					if (json_is_object(sh))
						json_object_set(sh, keys[n], json_object_get(ih, keys[n]));
				}
			}
		}
	}
	if (!*jstr(user, "WorkingDir") && json_object_get(image, "WorkingDir"))
		json_object_set(user, "WorkingDir", json_object_get(image, "WorkingDir"));
	mine = json_object_get(user, "Volumes");
	if (!jlen(mine)) {
		json_object_set(user, "Volumes", json_object_get(image, "Volumes") ? json_object_get(image, "Volumes") : json_null());
	} else if (json_is_object(json_object_get(image, "Volumes"))) {
		json_object_foreach(json_object_get(image, "Volumes"), k, v)
			json_object_set(mine, k, v);
	}
	if (!*jstr(user, "StopSignal") && json_object_get(image, "StopSignal"))
		json_object_set(user, "StopSignal", json_object_get(image, "StopSignal"));
}

/* image/cache/compare.go: which fields make two configs the same step */
static bool jbool(const json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

static bool same_strings(const json_t *a, const json_t *b)
{
	if (jlen(a) != jlen(b))
		return false;
	for (size_t i = 0; i < jlen(a); i++) {
		const char *x = json_string_value(json_array_get(a, i)), *y = json_string_value(json_array_get(b, i));

		if (strcmp(x ? x : "", y ? y : ""))
			return false;
	}
	return true;
}

static bool cache_compare(const json_t *a, const json_t *b)
{
	const json_t *la = json_object_get(a, "Labels"), *lb = json_object_get(b, "Labels"), *v;
	const char *k;

	if (!json_is_object(a) || !json_is_object(b) || jbool(a, "OpenStdin") || jbool(b, "OpenStdin"))
		return false;
	if (jbool(a, "AttachStdout") != jbool(b, "AttachStdout") ||
	    jbool(a, "AttachStderr") != jbool(b, "AttachStderr") || strcmp(jstr(a, "User"), jstr(b, "User")) ||
	    jbool(a, "Tty") != jbool(b, "Tty"))
		return false;
	if (jlen(json_object_get(a, "Labels")) != jlen(json_object_get(b, "Labels")) ||
	    jlen(json_object_get(a, "ExposedPorts")) != jlen(json_object_get(b, "ExposedPorts")) ||
	    jlen(json_object_get(a, "Volumes")) != jlen(json_object_get(b, "Volumes")))
		return false;
	if (!same_strings(json_object_get(a, "Cmd"), json_object_get(b, "Cmd")) ||
	    !same_strings(json_object_get(a, "Env"), json_object_get(b, "Env")) ||
	    !same_strings(json_object_get(a, "Entrypoint"), json_object_get(b, "Entrypoint")))
		return false;
	if (json_is_object(la))
		json_object_foreach((json_t *)la, k, v) {
			const char *x = json_string_value(v), *y = json_string_value(json_object_get(lb, k));

			if (strcmp(x ? x : "", y ? y : ""))
				return false;
		}
	if (json_is_object(json_object_get(a, "ExposedPorts")))
		json_object_foreach(json_object_get(a, "ExposedPorts"), k, v)
			if (!json_object_get(json_object_get(b, "ExposedPorts"), k))
				return false;
	if (json_is_object(json_object_get(a, "Volumes")))
		json_object_foreach(json_object_get(a, "Volumes"), k, v)
			if (!json_object_get(json_object_get(b, "Volumes"), k))
				return false;
	return true;
}

/* imageProber.Probe: the newest child of the current image made by the same step. */
static struct strata_image *probe_cache(struct builder *b, const json_t *probe)
{
	struct strata_image *match = NULL;

	if (b->opts->no_cache || b->cache_busted)
		return NULL;
	for (size_t i = 0; i < b->idx->nr; i++) {
		struct strata_image *img = b->idx->images[i];
		bool child = *b->image_id ? img->parent && !strcmp(img->parent, b->image_id) : !img->parent;

		if (!child || !cache_compare(json_object_get(image_config(img), "container_config"), probe))
			continue;
		if (!match || match->created_sec < img->created_sec ||
		    (match->created_sec == img->created_sec && match->created_nsec < img->created_nsec))
			match = img;
	}
	if (!match)
		b->cache_busted = true;
	return match;
}

/* A container's ID: random as dockerd's, derived from the step when times are fixed. */
static void container_id(struct builder *b, const json_t *cc, char hex[STRATA_HEX_LEN + 1])
{
	unsigned char raw[32];
	_cleanup_strbuf_ struct strbuf seed = STRBUF_INIT;

	if (!b->store->fixed_time && getrandom(raw, sizeof(raw), 0) == (ssize_t)sizeof(raw)) {
		for (size_t i = 0; i < sizeof(raw); i++)
			snprintf(hex + 2 * i, 3, "%02x", raw[i]);
		return;
	}
	/* reproducible builds: the same inputs give the same container (and image) IDs */
	strbuf_addf(&seed, "strata build container %llu %s ", ++b->container_seq, b->image_id);
	gojson_encode(&seed, cc, GOJSON_SORT_KEYS);
	sha256_hex(seed.buf, seed.len, hex);
}

/* One history entry in Go's field order (created, author, created_by, comment, empty_layer). */
static json_t *history_entry(const json_t *h)
{
	static const char *const keys[] = { "author", "created_by", "comment" };
	json_t *out = json_object();
	const json_t *created = json_object_get(h, "created");

	json_object_set_new(out, "created", created ? json_deep_copy(created) : json_string("0001-01-01T00:00:00Z"));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *s = gojson_get_string(h, keys[i]);

		if (s && *s)
			json_object_set_new(out, keys[i], json_string(s));
	}
	if (json_is_true(json_object_get(h, "empty_layer")))
		json_object_set_new(out, "empty_layer", json_true());
	return out;
}

/* image.NewChildImage + imageStore.Create + SetParent, for an empty-layer step. */
/*
 * container NULL: a COPY's image (exportImage), which names none; diff_id
 * NULL: the step's diff was the empty tar (empty_layer, no new layer).
 */
static int commit_image(struct builder *b, const char *container, const json_t *cc, const char *diff_id,
			struct strata_error **err)
{
	_cleanup_json_ json_t *image = json_object();
	_cleanup_strbuf_ struct strbuf bytes = STRBUF_INIT, created = STRBUF_INIT, created_by = STRBUF_INIT;
	struct strata_image *parent = *b->image_id ? strata_image_index_find(b->idx, b->image_id) : NULL;
	const json_t *pc = parent ? image_config(parent) : NULL;
	json_t *history = json_array(), *entry, *rootfs = json_object(), *v;
	const json_t *pdiffs = json_object_get(json_object_get(pc, "rootfs"), "diff_ids");
	const char *arch = gojson_get_string(pc, "architecture");
	struct strata_image *img;
	char hex[STRATA_HEX_LEN + 1];
	size_t i;
	int ret;

	if (*b->image_id && !parent)
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "No such image: %s", b->image_id);
	store_format_now(b->store, &created);
	join_strings(&created_by, json_object_get(cc, "Cmd"), " ");
	if (arch && *arch) {
		json_object_set_new(image, "architecture", json_string(arch));
	} else {
		struct registry_platform host;

		/* BaseImgArch: the daemon's own architecture for scratch */
		registry_platform_host(&host);
		json_object_set_new(image, "architecture", json_string(host.architecture));
		registry_platform_release(&host);
	}
	if (b->maintainer && *b->maintainer)
		json_object_set_new(image, "author", json_string(b->maintainer));
	json_object_set_new(image, "config", json_deep_copy(b->run));
	if (container)
		json_object_set_new(image, "container", json_string(container));
	json_object_set_new(image, "container_config", json_deep_copy(cc));
	json_object_set_new(image, "created", json_string(created.buf));
	json_object_set_new(image, "docker_version", json_string(DOCKER_VERSION));
	json_array_foreach(json_object_get(pc, "history"), i, v)
		json_array_append_new(history, history_entry(v));
	entry = json_object();
	json_object_set_new(entry, "created", json_string(created.buf));
	if (b->maintainer && *b->maintainer)
		json_object_set_new(entry, "author", json_string(b->maintainer));
	if (created_by.len)
		json_object_set_new(entry, "created_by", json_string(created_by.buf));
	if (!diff_id)
		json_object_set_new(entry, "empty_layer", json_true());
	json_array_append_new(history, entry);
	json_object_set_new(image, "history", history);
	json_object_set_new(image, "os", json_string(pc && *jstr(pc, "os") ? jstr(pc, "os") : "linux"));
	if (pc && json_is_array(json_object_get(pc, "os.features")) && json_array_size(json_object_get(pc, "os.features")))
		json_object_set(image, "os.features", json_object_get(pc, "os.features"));
	if (pc && *jstr(pc, "os.version"))
		json_object_set(image, "os.version", json_object_get(pc, "os.version"));
	json_object_set_new(rootfs, "type", json_string(pc && *jstr(json_object_get(pc, "rootfs"), "type") ?
						       jstr(json_object_get(pc, "rootfs"), "type") : "layers"));
	if (jlen(pdiffs) || diff_id) {
		json_t *d = jlen(pdiffs) ? json_deep_copy(pdiffs) : json_array();

		if (diff_id)
			json_array_append_new(d, json_string(diff_id));
		json_object_set_new(rootfs, "diff_ids", d);
	}
	json_object_set_new(image, "rootfs", rootfs);
	if (pc && *jstr(pc, "variant"))
		json_object_set(image, "variant", json_object_get(pc, "variant"));
	config_encode(&bytes, image);
	ret = imagedb_write_config(b->store, bytes.buf, bytes.len, hex, err);
	if (ret >= 0 && parent)
		ret = imagedb_set_parent(b->store, hex, b->image_id, err);
	if (ret >= 0)
		ret = image_index_add(b->idx, hex, &img, err);
	if (ret < 0)
		return ret;
	snprintf(b->image_id, sizeof(b->image_id), "sha256:%s", hex);
	return 0;
}

/*
 * Builder.commit for a metadata step: probe the cache with the run config
 * whose Cmd is the "#(nop) " comment, else "create" the step's container
 * (the daemon's merge, its hostname) and commit it.  one_arg: WORKDIR's
 * comment is one argument ("#(nop) WORKDIR /x"), the others' two.
 */
static int register_layer(struct builder *b, struct build_layer *layer, char diff_id[STRATA_DIGEST_LEN + 1],
			  struct strata_error **err);
static int workdir_commit(struct builder *b, const char *container, const json_t *cc, const char *path,
			  struct strata_error **err);

/* --rm=false without --force-rm: every step's container stays, as dockerd leaves them. */
static bool keep_containers(const struct builder *b)
{
	return b->opts->keep_containers && !b->opts->force_rm;
}

/*
 * The container dockerd creates for a metadata step (config: the step's
 * run config, merged at create), kept by --rm=false: created, never
 * started, with the folder WORKDIR made (mkdir) in its rw layer as
 * ContainerCreateWorkdir makes it.
 */
static int keep_step_container(struct builder *b, const struct strata_image *parent, const json_t *config,
			       const char *id, const char *mkdir, struct strata_error **err)
{
	struct container_create_opts co = { 0 };
	struct container *c = NULL;
	int ret;

	co.config = config;
	co.id = id;
	co.network = b->opts->network;
	ret = container_create(b->idx, parent, &co, &c, err);
	if (ret >= 0 && mkdir) {
		ret = container_mount(c, err);
		if (ret >= 0) {
			_cleanup_close_ int root = open(c->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			_cleanup_close_ int dir = -1;
			const char *last;

			if (root < 0)
				ret = strata_error_set(err, STRATA_ERR_IO, errno, "open '%s'", c->rootfs);
			else if ((dir = safepath_open_parent(root, mkdir + 1, 0755, &last, err)) < 0)
				ret = dir;
			else
				ret = fs_mkdir_at(dir, last, 0755, err);
			{
				int r = container_unmount(c, ret < 0 ? NULL : err);

				if (ret >= 0)
					ret = r;
			}
		}
	}
	if (ret < 0 && c)
		container_remove(c, true, NULL);
	container_free(c);
	return ret;
}

/* mkdir: the folder WORKDIR creates in the step's container (its layer), NULL for none. */
static int commit_step(struct builder *b, const char *comment, bool one_arg, const char *mkdir,
		       struct strata_error **err)
{
	_cleanup_json_ json_t *cc = json_deep_copy(b->run);
	json_t *cmd = get_shell(b->run);
	struct strata_image *hit, *parent;
	char id[STRATA_HEX_LEN + 1];
	int ret;

	if (one_arg) {
		_cleanup_free_ char *c = xasprintf("#(nop) %s", comment);

		json_array_append_new(cmd, json_string(c));
	} else {
		json_array_append_new(cmd, json_string("#(nop) "));
		json_array_append_new(cmd, json_string(comment));
	}
	json_object_set_new(cc, "Cmd", cmd);
	hit = probe_cache(b, cc);
	if (hit) {
		out_printf(b, " ---> Using cache\n");
		snprintf(b->image_id, sizeof(b->image_id), "%s", hit->id);
		return 0;
	}
	container_id(b, cc, id);
	parent = *b->image_id ? strata_image_index_find(b->idx, b->image_id) : NULL;
	if (keep_containers(b)) {
		ret = keep_step_container(b, parent, cc, id, mkdir, err);
		if (ret < 0)
			return ret;
	}
	out_printf(b, " ---> Running in %.12s\n", id);
	if (parent && json_is_object(json_object_get(image_config(parent), "config")))
		merge_image_config(cc, b->run, json_object_get(image_config(parent), "config"));
	{
		char host[13];

		snprintf(host, sizeof(host), "%.12s", id);
		if (!*jstr(cc, "Hostname"))
			json_object_set_new(cc, "Hostname", json_string(host));
	}
	ret = mkdir ? workdir_commit(b, id, cc, mkdir, err) : commit_image(b, id, cc, NULL, err);
	if (ret < 0)
		return ret;
	if (!keep_containers(b))
		out_printf(b, "Removing intermediate container %.12s\n", id);
	return 0;
}

/* ---- instructions ---- */

/* shell.EqualEnvKeys on Linux: the same name */
static void env_set(json_t *run, const char *key, const char *value)
{
	json_t *env = json_object_get(run, "Env");
	_cleanup_free_ char *kv = xasprintf("%s=%s", key, value);
	size_t klen = strlen(key), i;
	json_t *v;

	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(run, "Env", env);
	}
	json_array_foreach(env, i, v) {
		const char *e = json_string_value(v) ? json_string_value(v) : "";

		if (strcspn(e, "=") == klen && !strncmp(e, key, klen)) {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

static bool env_has(const json_t *run, const char *key)
{
	const json_t *env = json_object_get(run, "Env");
	size_t klen = strlen(key), i;
	json_t *v;

	json_array_foreach(env, i, v) {
		const char *e = json_string_value(v) ? json_string_value(v) : "";

		if (strcspn(e, "=") == klen && !strncmp(e, key, klen))
			return true;
	}
	return false;
}

struct strv_holder {
	char **v;
	size_t n, alloc;
};

static void holder_push(struct strv_holder *h, char *s)
{
	ALLOC_GROW(h->v, h->n + 1, h->alloc);
	h->v[h->n++] = s;
}

static void holder_release(struct strv_holder *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i]);
	free(h->v);
	memset(h, 0, sizeof(*h));
}

/* The substitution environment: the run config's Env, then the allowed args it does not set. */
static void substitution_env(struct builder *b, struct argmap *all, struct strv_holder *h)
{
	const json_t *env = json_object_get(b->run, "Env");
	size_t i;
	json_t *v;

	json_array_foreach(env, i, v)
		holder_push(h, xstrdup(json_string_value(v) ? json_string_value(v) : ""));
	args_all(&b->args, &b->args.allowed, all);
	for (i = 0; i < all->n; i++)
		if (!env_has(b->run, all->v[i].key))
			holder_push(h, xasprintf("%s=%s", all->v[i].key, all->v[i].value));
}

static const char *const signal_names[] = {
	"ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL",
	"PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP",
	"TTIN", "TTOU", "UNUSED", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN",
	"RTMIN+1", "RTMIN+2", "RTMIN+3", "RTMIN+4", "RTMIN+5", "RTMIN+6", "RTMIN+7", "RTMIN+8",
	"RTMIN+9", "RTMIN+10", "RTMIN+11", "RTMIN+12", "RTMIN+13", "RTMIN+14", "RTMIN+15", "RTMAX-14",
	"RTMAX-13", "RTMAX-12", "RTMAX-11", "RTMAX-10", "RTMAX-9", "RTMAX-8", "RTMAX-7", "RTMAX-6",
	"RTMAX-5", "RTMAX-4", "RTMAX-3", "RTMAX-2", "RTMAX-1", "RTMAX",
};

/* pkg/signal.ParseSignal */
static bool signal_valid(const char *raw)
{
	_cleanup_free_ char *up = xstrdup(raw);
	const char *name = up;
	char *end;
	long n;

	errno = 0;
	n = strtol(raw, &end, 10);
	if (*raw && !*end && !errno)
		return n != 0;
	for (char *c = up; *c; c++)
		*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
	if (!strncmp(name, "SIG", 3))
		name += 3;
	for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++)
		if (!strcmp(signal_names[i], name))
			return true;
	return false;
}

/* nat.ParsePortSpecs for EXPOSE: "port[-port][/proto]" -> "port/proto" keys. */
static int expose_ports(json_t *set, const char *spec, struct strata_error **err)
{
	_cleanup_free_ char *copy = xstrdup(spec);
	char *port = copy, *proto = strchr(copy, '/'), *colon, *dash, *end;
	unsigned long lo, hi;

	if (proto)
		*proto++ = '\0';
	if (!proto || !*proto)
		proto = "tcp";
	colon = strrchr(port, ':');
	if (colon)
		port = colon + 1;
	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "Invalid proto: %s", proto);
	dash = strchr(port, '-');
	errno = 0;
	lo = strtoul(port, &end, 10);
	if (end == port || (dash ? end != dash : *end) || errno || lo > 65535)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "Invalid containerPort: %s", port);
	hi = lo;
	if (dash) {
		hi = strtoul(dash + 1, &end, 10);
		if (end == dash + 1 || *end || errno || hi > 65535 || hi < lo)
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "Invalid containerPort: %s", port);
	}
	for (unsigned long p = lo; p <= hi; p++) {
		char key[32];

		snprintf(key, sizeof(key), "%lu/%s", p, proto);
		json_object_set_new(set, key, json_object());
	}
	return 0;
}

static json_t *object_of(json_t *run, const char *key)
{
	json_t *o = json_object_get(run, key);

	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(run, key, o);
	}
	return o;
}

/* resolveCmdLine: the shell form gets the SHELL (or /bin/sh -c) in front. */
static json_t *resolve_cmdline(struct builder *b, const struct build_instr *in)
{
	json_t *cmd;

	if (in->cmdline_nil)
		return json_null();
	cmd = in->prepend_shell ? get_shell(b->run) : json_array();
	for (size_t i = 0; i < in->ncmdline; i++)
		json_array_append_new(cmd, json_string(in->cmdline[i]));
	return cmd;
}

/* "Now" in seconds for file times: the store's fixed time when there is one. */
static int64_t store_now(const struct strata_store *store)
{
	return store->fixed_time ? store->fixed_sec : (int64_t)time(NULL);
}

/* The layer folders of image id ("" none), top first. */
static int open_layers(struct builder *b, const char *id, struct build_lower *lower, struct strata_error **err)
{
	struct strata_image *img = *id ? strata_image_index_find(b->idx, id) : NULL;
	struct graph_driver *d;
	int ret;

	memset(lower, 0, sizeof(*lower));
	lower->diff_only = store_parallel_apply(b->store);
	if (!img || !img->nr_layers)
		return 0;
	ret = store_driver(b->store, &d, err);
	if (ret < 0)
		return ret;
	lower->fds = xcalloc(img->nr_layers, sizeof(int));
	for (size_t i = img->nr_layers; i-- > 0;) {
		int fd = graph_driver_diff_fd(d, img->layers[i].rec.cache_id, err);

		if (fd < 0)
			return fd;
		lower->fds[lower->n++] = fd;
	}
	return 0;
}

/* The layer folders of the current image, top first, for build_lower_stat. */
static int open_lower(struct builder *b, struct build_lower *lower, struct strata_error **err)
{
	return open_layers(b, b->image_id, lower, err);
}

static void close_lower(struct build_lower *lower)
{
	for (size_t i = 0; i < lower->n; i++)
		close(lower->fds[i]);
	free(lower->fds);
	memset(lower, 0, sizeof(*lower));
}

/* Whether path is a folder in the current image's merged files (root always is). */
static int image_has_dir(struct builder *b, const char *path, bool *is_dir, struct strata_error **err)
{
	struct build_lower lower;
	struct stat st;
	int ret = open_lower(b, &lower, err);

	if (ret >= 0)
		*is_dir = build_lower_stat(&lower, path, &st) == BUILD_PATH_DIR;
	close_lower(&lower);
	return ret;
}

/* strconv.Atoi */
static bool go_atoi(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || errno)
		return false;
	*out = v;
	return true;
}

/* lookupUser / lookupGroup: a number as is, else the first entry of that name in the image's file. */
static int lookup_id(struct builder *b, const char *name, bool group, int64_t *out, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf data = STRBUF_INIT;
	struct build_lower lower;
	int ret;

	if (go_atoi(name, out))
		return 0;
	ret = open_lower(b, &lower, err);
	if (ret >= 0)
		ret = build_lower_read(&lower, group ? "etc/group" : "etc/passwd", &data, err);
	close_lower(&lower);
	if (ret < 0)
		return ret;
	for (char *line = data.buf; line && *line;) {
		char *nl = strchr(line, '\n'), *f1, *f2;

		if (nl)
			*nl = '\0';
		/* name:password:id:... */
		f1 = strchr(line, ':');
		f2 = f1 ? strchr(f1 + 1, ':') : NULL;
		if (f2 && (size_t)(f1 - line) == strlen(name) && !strncmp(line, name, strlen(name))) {
			char *e = strchr(f2 + 1, ':');

			if (e)
				*e = '\0';
			if (go_atoi(f2 + 1, out))
				return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "no such %s: %s", group ? "group" : "user", name);
}

/* parseChownFlag: "user[:group]" (names from the image's /etc/passwd and /etc/group), group defaulting to user. */
static int parse_chown(struct builder *b, const char *s, int64_t *uid, int64_t *gid, struct strata_error **err)
{
	_cleanup_free_ char *user = xstrdup(s);
	char *grp = strchr(user, ':');
	int ret;

	if (grp && strchr(grp + 1, ':'))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid chown string format: %s", s);
	if (grp)
		*grp++ = '\0';
	else
		grp = user;
	ret = lookup_id(b, user, false, uid, err);
	if (ret < 0)
		strata_error_wrap(err, "can't find uid for user %s", user);
	else if ((ret = lookup_id(b, grp, true, gid, err)) < 0)
		strata_error_wrap(err, "can't find gid for group %s", grp);
	if (ret < 0)
		return strata_error_wrap(err, "unable to convert uid/gid chown string to host mapping");
	return 0;
}

static void build_context_freep(struct build_context **ctx)
{
	build_context_free(*ctx);
}

/* getImageMount: --from names a stage (by name or index) or an image. */
static int from_source(struct builder *b, const char *from, struct build_context **out, struct strata_error **err)
{
	const char *id = NULL;
	struct strata_image *img;
	struct build_lower layers;
	char *end;
	long ix;
	int ret;

	for (size_t i = 0; i < b->nstages; i++)
		if (b->stages[i].name && !strcasecmp(b->stages[i].name, from))
			id = b->stages[i].image_id;
	if (!id) {
		errno = 0;
		ix = strtol(from, &end, 10);
		if (*from && !*end && !errno) {
			if (ix == (long)b->nstages)
				return strata_error_set(err, STRATA_ERR_INVALID, 0,
							"invalid from flag value %s: refers to current build stage", from);
			if (ix < 0 || ix > (long)b->nstages)
				return strata_error_set(err, STRATA_ERR_INVALID, 0,
							"invalid from flag value %s: index out of bounds", from);
			id = b->stages[ix].image_id;
		}
	}
	if (!id) {
		ret = strata_image_lookup(b->idx, from, &img, err);
		if (ret < 0)
			return strata_error_wrap(err, "invalid from flag value %s", from);
		id = img->id;
	}
	ret = open_layers(b, id, &layers, err);
	if (ret < 0) {
		close_lower(&layers);
		return ret;
	}
	return build_context_open_image(&layers, out);
}

static void on_download(void *cookie, uint64_t current, int64_t total)
{
	const struct strata_build_options *opts = cookie;

	opts->download_progress(opts->cookie, (int64_t)current, total);
}

static void build_copy_downloadsp(struct build_copy *c)
{
	build_copy_downloads_release(c);
}

/* dispatchCopy / dispatchAdd + performCopy: the probe on the comment, else the layer and exportImage. */
static int dispatch_copy(struct builder *b, struct build_instr *in, struct strata_error **err)
{
	_cleanup_json_ json_t *cc = NULL;
	_cleanup_free_ char *hash = NULL, *comment = NULL, *dest = NULL;
	_cleanup_(build_context_freep) struct build_context *from_ctx = NULL;
	_cleanup_close_ int spill = -1;
	struct build_layer *layer = NULL;
	_cleanup_(build_copy_downloadsp) struct build_copy c = { 0 };
	struct build_lower lower;
	struct strata_image *hit;
	struct build_context *src;
	const char *d = in->words[in->nwords - 1];
	size_t dl = strlen(d);
	int ret;

	if (*in->chmod)
		return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
					"the --chmod option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled");
	if (*in->from) {
		ret = from_source(b, in->from, &from_ctx, err);
		if (ret < 0)
			return ret;
		c.preserve = !*in->chown;
	} else if (!b->ctx) {
		ret = b->opts->archive ? build_context_open_archive(b->opts->archive, b->opts->dockerfile_name, &b->ctx, err) :
		      b->opts->context_dir ? build_context_open(b->opts->context_dir, b->opts->dockerfile_name, &b->ctx, err) :
		      build_context_open_empty(&b->ctx, err);
		if (ret < 0)
			return ret;
	}
	c.sources = in->words;
	c.nsources = in->nwords - 1;
	c.name = in->kind == BI_ADD ? "ADD" : "COPY";
	c.add = in->kind == BI_ADD;
	c.now = store_now(b->store);
	/* normalizeDest: relative to WORKDIR, a trailing slash kept */
	if (*d == '/')
		dest = xstrdup(d);
	else {
		_cleanup_free_ char *j = xasprintf("/%s/%s", jstr(b->run, "WorkingDir"), d);

		dest = build_path_clean(j);
		if (dl && d[dl - 1] == '/' && strcmp(dest, "/")) {
			char *t = xasprintf("%s/", dest);

			free(dest);
			dest = t;
		}
	}
	c.dest = dest;
	if (*in->chown) {
		ret = parse_chown(b, in->chown, &c.uid, &c.gid, err);
		if (ret < 0)
			return ret;
	}
	if (c.add) {
		ret = fs_mkdir_at(b->store->root_fd, LAYOUT_TMP, 0700, err);
		spill = ret < 0 ? ret : fs_open_dir_at(b->store->root_fd, LAYOUT_TMP, err);
		if (spill < 0)
			return spill;
		c.spill_dir = spill;
	}
	/* dispatchAdd's download, before the cache probe (it keys on the file's hash) */
	if (c.add) {
		size_t n_urls = 0;
		struct http_get_options hopts = { b->opts->cancel, NULL, b->opts->download_progress ? on_download : NULL,
						  (void *)b->opts };

		ret = build_copy_download(&c, &hopts, &n_urls, err);
		/* downloadSource's own blank line after each file */
		for (size_t i = 0; i < n_urls; i++)
			out_printf(b, "\n");
		if (ret < 0)
			return ret;
	}
	src = from_ctx ? from_ctx : b->ctx;
	ret = build_copy_layer(src, NULL, &c, &hash, NULL, err);
	if (ret < 0)
		return ret;
	/* the history names the destination as written */
	comment = xasprintf("#(nop) %s %s%s%s in %s ", c.name, *in->chown ? "--chown=" : "", in->chown, hash, d);
	cc = json_deep_copy(b->run);
	{
		json_t *cmd = get_shell(b->run);

		json_array_append_new(cmd, json_string(comment));
		json_object_set_new(cc, "Cmd", cmd);
	}
	hit = probe_cache(b, cc);
	if (hit) {
		out_printf(b, " ---> Using cache\n");
		snprintf(b->image_id, sizeof(b->image_id), "%s", hit->id);
		return 0;
	}
	{
		_cleanup_free_ char *again = NULL;
		char diff[STRATA_DIGEST_LEN + 1];

		ret = open_lower(b, &lower, err);
		if (ret >= 0)
			ret = build_copy_layer(src, &lower, &c, &again, &layer, err);
		/* written while the context and the lower layers are still open */
		if (ret >= 0 && layer)
			ret = register_layer(b, layer, diff, err);
		if (ret >= 0)
			ret = commit_image(b, NULL, cc, layer ? diff : NULL, err);
		build_layer_free(layer);
		close_lower(&lower);
		return ret;
	}
}

static int hash_write(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	sha256_update(cookie, data, len);
	return 0;
}

static int layer_produce(void *cookie, stream_write_fn write, void *write_cookie, struct strata_error **err)
{
	return build_layer_write(cookie, write, write_cookie, err);
}

/*
 * The step's layer on the current image's chain; diff_id receives its
 * diff ID.  The tar is written twice, never held: once hashed, for the
 * diff ID (which makes the cache-id derive from the content, and finds a
 * layer the store has already), then into the store, which checks it.
 */
static int register_layer(struct builder *b, struct build_layer *layer, char diff_id[STRATA_DIGEST_LEN + 1],
			  struct strata_error **err)
{
	struct strata_image *cur = *b->image_id ? strata_image_index_find(b->idx, b->image_id) : NULL;
	const char *parent = cur && cur->nr_layers ? cur->chain_ids[cur->nr_layers - 1] : NULL;
	struct layer_register_result res;
	struct sha256_ctx h;
	char hex[STRATA_HEX_LEN + 1];
	int ret;

	sha256_init(&h);
	ret = build_layer_write(layer, hash_write, &h, err);
	sha256_final_hex(&h, hex);
	sha256_release(&h);
	if (ret < 0)
		return ret;
	snprintf(diff_id, STRATA_DIGEST_LEN + 1, "sha256:%s", hex);
	ret = layerstore_register_produced(b->store, parent, layer_produce, layer, diff_id, &res, err);
	if (ret < 0)
		return strata_error_wrap(err, "failed to export image");
	return 0;
}

/* WORKDIR's step when the folder is new: its layer (ContainerCreateWorkdir) and the image. */
static int workdir_commit(struct builder *b, const char *container, const json_t *cc, const char *path,
			  struct strata_error **err)
{
	struct build_layer *layer = NULL;
	struct build_lower lower;
	char diff[STRATA_DIGEST_LEN + 1];
	int ret = open_lower(b, &lower, err);

	if (ret >= 0)
		ret = build_mkdir_layer(&lower, path, store_now(b->store), &layer, err);
	if (ret >= 0 && layer)
		ret = register_layer(b, layer, diff, err);
	if (ret >= 0)
		ret = commit_image(b, container, cc, layer ? diff : NULL, err);
	build_layer_free(layer);
	close_lower(&lower);
	return ret;
}

/* The output of a RUN step's process, relayed into the transcript (stderr in red, as dockerd streams it). */
struct relay {
	struct builder *b;
	int out_fd, err_fd; /* read ends */
};

static void *relay_run(void *arg)
{
	struct relay *r = arg;
	struct pollfd p[2] = { { r->out_fd, POLLIN, 0 }, { r->err_fd, POLLIN, 0 } };
	char buf[65536];

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				p[i].fd = -1;
				continue;
			}
			if (i == 0)
				out_write(r->b, buf, (size_t)n);
			else
				out_printf(r->b, "\033[91m%.*s\033[0m", (int)n, buf);
		}
	}
	return NULL;
}

/* Run c with its output in the transcript; *status its exit status. */
static int run_relayed(struct builder *b, struct container *c, int *status, struct strata_error **err)
{
	int out[2], errp[2];
	struct relay r;
	pthread_t t;
	struct container_run_opts o = { 0 };
	int ret;

	if (pipe2(out, O_CLOEXEC) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "pipe");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		return strata_error_set(err, STRATA_ERR_IO, errno, "pipe");
	}
	r.b = b;
	r.out_fd = out[0];
	r.err_fd = errp[0];
	if (pthread_create(&t, NULL, relay_run, &r) != 0) {
		close(out[0]);
		close(out[1]);
		close(errp[0]);
		close(errp[1]);
		return strata_error_set(err, STRATA_ERR_IO, 0, "start the output relay");
	}
	o.in_fd = -1;
	o.out_fd = out[1];
	o.err_fd = errp[1];
	o.runtime = b->opts->runtime;
	/* a kept container is no longer the build's own: recovery marks it exited instead */
	o.disposable = !keep_containers(b);
	ret = container_run(c, &o, status, err);
	close(out[1]);
	close(errp[1]);
	pthread_join(t, NULL);
	close(out[0]);
	close(errp[0]);
	return ret;
}

static int cmp_cstr(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/*
 * dispatchRun: the cache is probed with the command behind "|N K=V..."
 * (the build args the run sees, sorted) and no entrypoint; the container
 * runs the command with the build args in its Env, entrypoint [""] and no
 * healthcheck; the probe config is the image's container_config.
 */
static int dispatch_run(struct builder *b, struct build_instr *in, struct strata_error **err)
{
	_cleanup_json_ json_t *probe = json_deep_copy(b->run), *run = json_deep_copy(b->run);
	json_t *cmd = resolve_cmdline(b, in), *save = json_array(), *env, *hc;
	struct argmap all = { 0 };
	const char **args;
	size_t nargs = 0;
	struct strata_image *hit, *img;
	struct container *c = NULL;
	struct container_create_opts co = { 0 };
	char derived[STRATA_HEX_LEN + 1], id[72];
	int status = 0, ret;

	args_all(&b->args, &b->args.allowed, &all);
	args = xcalloc(all.n + 1, sizeof(*args));
	for (size_t i = 0; i < all.n; i++) {
		if (env_has(b->run, all.v[i].key))
			continue;
		/* IsReferencedOrNotBuiltin */
		if (argmap_find(&b->args.allowed, all.v[i].key) || !is_builtin_arg(all.v[i].key))
			args[nargs++] = xasprintf("%s=%s", all.v[i].key, all.v[i].value);
	}
	qsort(args, nargs, sizeof(*args), cmp_cstr);
	if (nargs) {
		_cleanup_free_ char *n = xasprintf("|%zu", nargs);

		json_array_append_new(save, json_string(n));
		for (size_t i = 0; i < nargs; i++)
			json_array_append_new(save, json_string(args[i]));
	}
	json_array_extend(save, cmd);
	json_object_set_new(probe, "Cmd", save);
	json_object_del(probe, "ArgsEscaped");
	if (jlen(save))
		json_object_set_new(probe, "Entrypoint", json_null());
	hit = probe_cache(b, probe);
	if (hit) {
		out_printf(b, " ---> Using cache\n");
		snprintf(b->image_id, sizeof(b->image_id), "%s", hit->id);
		ret = 0;
		goto out;
	}
	json_object_set(run, "Cmd", cmd);
	json_object_del(run, "ArgsEscaped");
	env = json_deep_copy(json_object_get(b->run, "Env"));
	if (!json_is_array(env)) {
		json_decref(env);
		env = json_array();
	}
	for (size_t i = 0; i < all.n; i++)
		if (!env_has(b->run, all.v[i].key)) {
			_cleanup_free_ char *kv = xasprintf("%s=%s", all.v[i].key, all.v[i].value);

			json_array_append_new(env, json_string(kv));
		}
	json_object_set_new(run, "Env", env);
	/*
	 * withEntrypointOverride: dockerd passes [""] so that the image's
	 * entrypoint is not merged in and runs the command alone; the
	 * container module reads an empty list the same way.
	 */
	if (jlen(save))
		json_object_set_new(run, "Entrypoint", json_array());
	hc = json_object();
	json_object_set_new(hc, "Test", json_array());
	json_array_append_new(json_object_get(hc, "Test"), json_string("NONE"));
	json_object_set_new(run, "Healthcheck", hc);
	img = *b->image_id ? strata_image_index_find(b->idx, b->image_id) : NULL;
	if (!img) {
		ret = strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0, "RUN on FROM scratch is not supported");
		goto out;
	}
	co.config = run;
	co.network = b->opts->network;
	if (b->store->fixed_time) {
		container_id(b, run, derived);
		co.id = derived;
	}
	ret = container_create(b->idx, img, &co, &c, err);
	if (ret < 0)
		goto out;
	out_printf(b, " ---> Running in %.12s\n", c->id);
	ret = run_relayed(b, c, &status, err);
	if (ret >= 0 && status != 0) {
		_cleanup_strbuf_ struct strbuf line = STRBUF_INIT;

		join_strings(&line, cmd, " ");
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "The command '%s' returned a non-zero code: %d",
				       line.buf, status);
	}
	if (ret < 0) {
		if (b->opts->run_status)
			*b->opts->run_status = status;
		/* dockerd keeps a failed step's container unless --force-rm */
		if (b->opts->force_rm) {
			out_printf(b, "Removing intermediate container %.12s\n", c->id);
			container_remove(c, true, NULL);
		}
		goto out;
	}
	{
		struct container_commit_opts cm = { 0 };

		cm.config = b->run;
		cm.container_config = probe;
		cm.author = b->maintainer && *b->maintainer ? b->maintainer : NULL;
		cm.mtime_clamp = b->store->fixed_time ? b->store->fixed_sec : -1;
		ret = container_commit(b->idx, c, &cm, id, err);
	}
	if (ret >= 0) {
		snprintf(b->image_id, sizeof(b->image_id), "%s", id);
		if (!keep_containers(b)) {
			out_printf(b, "Removing intermediate container %.12s\n", c->id);
			ret = container_remove(c, true, err);
		}
	}
out:
	container_free(c);
	for (size_t i = 0; i < nargs; i++)
		free((char *)args[i]);
	free(args);
	argmap_release(&all);
	json_decref(cmd);
	return ret;
}

static int workdir_normalize(const char *current, const char *requested, char **out,
			     struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf joined = STRBUF_INIT;

	if (!*requested)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "cannot normalize nothing");
	if (*requested == '/') {
		*out = xstrdup(requested);
		return 0;
	}
	strbuf_addf(&joined, "/%s/%s", current, requested);
	*out = build_path_clean(joined.buf);
	return 0;
}

static int dispatch(struct builder *b, struct build_instr *in, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf msg = STRBUF_INIT;
	struct argmap all = { 0 };
	struct strv_holder envh = { 0 };
	struct build_env env;
	int ret;

	substitution_env(b, &all, &envh);
	env.kv = (const char *const *)envh.v;
	env.n = envh.n;
	ret = build_instr_expand(in, b->plan->escape, &env, err);
	if (ret < 0)
		goto out;
	switch (in->kind) {
	case BI_ENV:
		strbuf_addstr(&msg, "ENV");
		for (size_t i = 0; i < in->nkvs; i++) {
			strbuf_addf(&msg, " %s=%s", in->kvs[i].key, in->kvs[i].value);
			env_set(b->run, in->kvs[i].key, in->kvs[i].value);
		}
		break;
	case BI_MAINTAINER:
		free(b->maintainer);
		b->maintainer = xstrdup(in->words[0]);
		strbuf_addf(&msg, "MAINTAINER %s", in->words[0]);
		break;
	case BI_LABEL: {
		json_t *labels = object_of(b->run, "Labels");

		strbuf_addstr(&msg, "LABEL");
		for (size_t i = 0; i < in->nkvs; i++) {
			json_object_set_new(labels, in->kvs[i].key, json_string(in->kvs[i].value));
			strbuf_addf(&msg, " %s=%s", in->kvs[i].key, in->kvs[i].value);
		}
		break;
	}
	case BI_ONBUILD: {
		json_t *ob = json_object_get(b->run, "OnBuild");

		if (!json_is_array(ob)) {
			ob = json_array();
			json_object_set_new(b->run, "OnBuild", ob);
		}
		json_array_append_new(ob, json_string(in->expression));
		strbuf_addf(&msg, "ONBUILD %s", in->expression);
		break;
	}
	case BI_WORKDIR: {
		char *wd = NULL;

		ret = workdir_normalize(jstr(b->run, "WorkingDir"), in->words[0], &wd, err);
		if (ret < 0)
			goto out;
		json_object_set_new(b->run, "WorkingDir", json_string(wd));
		strbuf_addf(&msg, "WORKDIR %s", wd);
		free(wd);
		{
			_cleanup_free_ char *clean = build_path_clean(jstr(b->run, "WorkingDir"));
			bool is_dir = false;

			ret = image_has_dir(b, clean, &is_dir, err);
			/* ContainerCreateWorkdir: a folder the image lacks becomes the step's layer */
			if (ret >= 0)
				ret = commit_step(b, msg.buf, true, is_dir ? NULL : clean, err);
		}
		goto out;
	}
	case BI_CMD:
		json_object_set_new(b->run, "Cmd", resolve_cmdline(b, in));
		json_object_del(b->run, "ArgsEscaped");
		strbuf_addstr(&msg, "CMD ");
		if (json_is_array(json_object_get(b->run, "Cmd")))
			quote_strings(&msg, json_object_get(b->run, "Cmd"));
		else
			strbuf_addstr(&msg, "[]");
		if (in->ncmdline)
			b->cmd_set = true;
		break;
	case BI_HEALTHCHECK: {
		json_t *hc = json_object_get(b->run, "Healthcheck"), *test;

		if (json_is_object(hc)) {
			test = json_object_get(hc, "Test");
			if (jlen(test) && strcmp(json_string_value(json_array_get(test, 0)) ?
						 json_string_value(json_array_get(test, 0)) : "", "NONE")) {
				_cleanup_strbuf_ struct strbuf note = STRBUF_INIT;

				strbuf_addstr(&note, "Note: overriding previous HEALTHCHECK: ");
				plain_strings(&note, test);
				strbuf_addch(&note, '\n');
				out_write(b, note.buf, note.len);
			}
		}
		hc = json_object();
		json_object_set_new(hc, "Test", strings_array(in->health.test, in->health.ntest));
		if (in->health.interval)
			json_object_set_new(hc, "Interval", json_integer(in->health.interval));
		if (in->health.timeout)
			json_object_set_new(hc, "Timeout", json_integer(in->health.timeout));
		if (in->health.start_period)
			json_object_set_new(hc, "StartPeriod", json_integer(in->health.start_period));
		if (in->health.retries)
			json_object_set_new(hc, "Retries", json_integer(in->health.retries));
		json_object_set_new(b->run, "Healthcheck", hc);
		break;
	}
	case BI_ENTRYPOINT:
		json_object_set_new(b->run, "Entrypoint", resolve_cmdline(b, in));
		json_object_del(b->run, "ArgsEscaped");
		if (!b->cmd_set)
			json_object_set_new(b->run, "Cmd", json_null());
		strbuf_addstr(&msg, "ENTRYPOINT ");
		if (json_is_array(json_object_get(b->run, "Entrypoint")))
			quote_strings(&msg, json_object_get(b->run, "Entrypoint"));
		else
			strbuf_addstr(&msg, "[]");
		break;
	case BI_EXPOSE: {
		struct strv_holder ports = { 0 };
		json_t *set;

		for (size_t i = 0; i < in->nwords; i++) {
			char **w = NULL;
			size_t n = 0;

			ret = build_lex_words(in->words[i], b->plan->escape, &env, &w, &n, err);
			if (ret < 0) {
				holder_release(&ports);
				goto out;
			}
			for (size_t k = 0; k < n; k++)
				holder_push(&ports, w[k]);
			free(w);
		}
		set = object_of(b->run, "ExposedPorts");
		strbuf_addstr(&msg, "EXPOSE");
		for (size_t i = 0; ret >= 0 && i < ports.n; i++) {
			ret = expose_ports(set, ports.v[i], err);
			strbuf_addf(&msg, "%s%s", i ? " " : " ", ports.v[i]);
		}
		holder_release(&ports);
		if (ret < 0)
			goto out;
		break;
	}
	case BI_USER:
		json_object_set_new(b->run, "User", json_string(in->words[0]));
		strbuf_addf(&msg, "USER %s", in->words[0]);
		break;
	case BI_VOLUME: {
		json_t *vols = object_of(b->run, "Volumes");

		for (size_t i = 0; i < in->nwords; i++) {
			if (!*in->words[i]) {
				ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
						       "VOLUME specified can not be an empty string");
				goto out;
			}
			json_object_set_new(vols, in->words[i], json_object());
		}
		strbuf_addstr(&msg, "VOLUME [");
		for (size_t i = 0; i < in->nwords; i++)
			strbuf_addf(&msg, "%s%s", i ? " " : "", in->words[i]);
		strbuf_addch(&msg, ']');
		break;
	}
	case BI_STOPSIGNAL:
		if (!signal_valid(in->words[0])) {
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "Invalid signal: %s", in->words[0]);
			goto out;
		}
		json_object_set_new(b->run, "StopSignal", json_string(in->words[0]));
		strbuf_addf(&msg, "STOPSIGNAL %s", in->words[0]);
		break;
	case BI_ARG:
		strbuf_addstr(&msg, "ARG ");
		for (size_t i = 0; i < in->nkvs; i++) {
			strbuf_addf(&msg, "%s%s", i ? " " : "", in->kvs[i].key);
			if (in->kvs[i].value)
				strbuf_addf(&msg, "=%s", in->kvs[i].value);
			args_add(&b->args, in->kvs[i].key, in->kvs[i].value);
		}
		break;
	case BI_SHELL:
		json_object_set_new(b->run, "Shell", strings_array(in->cmdline, in->ncmdline));
		strbuf_addstr(&msg, "SHELL ");
		plain_strings(&msg, json_object_get(b->run, "Shell"));
		break;
	case BI_COPY:
	case BI_ADD:
		ret = dispatch_copy(b, in, err);
		goto out;
	case BI_RUN:
		ret = dispatch_run(b, in, err);
		goto out;
	case BI_FROM:
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "unexpected FROM");
		goto out;
	}
	if (in->kind == BI_HEALTHCHECK) {
		strbuf_addstr(&msg, "HEALTHCHECK ");
		quote_health(&msg, json_object_get(b->run, "Healthcheck"));
	}
	ret = commit_step(b, msg.buf, false, NULL, err);
out:
	argmap_release(&all);
	holder_release(&envh);
	return ret;
}

/* updateRunConfig */
static void update_run_config(struct builder *b)
{
	json_object_set_new(b->run, "Image", json_string(b->image_id));
}

static int run_triggers(struct builder *b, json_t *triggers, struct strata_error **err)
{
	size_t n = json_array_size(triggers), i;
	json_t *t;

	out_printf(b, "# Executing %zu build trigger%s\n", n, n > 1 ? "s" : "");
	json_array_foreach(triggers, i, t) {
		struct build_instr in;
		int ret;

		update_run_config(b);
		ret = build_instr_parse_line(json_string_value(t) ? json_string_value(t) : "", &in, err);
		if (ret < 0)
			return ret;
		ret = dispatch(b, &in, err);
		build_instr_release(&in);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* initializeStage: the base image (or an earlier stage, or scratch), then its ONBUILD triggers. */
static int begin_stage(struct builder *b, struct build_instr *from, struct strata_error **err)
{
	struct argmap meta = { 0 };
	struct strv_holder h = { 0 };
	struct build_env env;
	_cleanup_free_ char *name = NULL;
	struct strata_image *img = NULL;
	const char *lookup;
	json_t *triggers;
	int ret;

	b->cache_busted = false;
	args_all(&b->args, &b->args.meta, &meta);
	for (size_t i = 0; i < meta.n; i++)
		holder_push(&h, xasprintf("%s=%s", meta.v[i].key, meta.v[i].value));
	env.kv = (const char *const *)h.v;
	env.n = h.n;
	ret = build_lex_word(from->words[0], b->plan->escape, &env, &name, err);
	if (ret >= 0 && *from->platform) {
		_cleanup_free_ char *platform = NULL;

		ret = build_lex_word(from->platform, b->plan->escape, &env, &platform, err);
		if (ret >= 0 && strcmp(platform, "linux") && strncmp(platform, "linux/", 6))
			ret = strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
					       "failed to parse platform %s: only linux platforms are supported", platform);
	}
	argmap_release(&meta);
	holder_release(&h);
	if (ret < 0)
		return ret;
	if (!*name)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "base name (%s) should not be blank",
					from->words[0]);
	lookup = name;
	for (size_t i = 0; i < b->nstages; i++)
		if (b->stages[i].name && !strcasecmp(b->stages[i].name, name))
			lookup = b->stages[i].image_id;
	json_decref(b->run);
	if (!strcmp(lookup, "scratch") || !*lookup) {
		b->run = json_object();
		*b->image_id = '\0';
	} else {
		ret = strata_image_lookup(b->idx, lookup, &img, err);
		if (ret < 0) {
			b->run = json_object();
			return ret;
		}
		snprintf(b->image_id, sizeof(b->image_id), "%s", img->id);
		b->run = json_is_object(json_object_get(image_config(img), "config")) ?
			 json_deep_copy(json_object_get(image_config(img), "config")) : json_object();
	}
	b->base = img;
	free(b->maintainer);
	b->maintainer = NULL;
	b->cmd_set = false;
	if (!env_has(b->run, "PATH")) {
		json_t *e = json_object_get(b->run, "Env");

		if (!json_is_array(e)) {
			e = json_array();
			json_object_set_new(b->run, "Env", e);
		}
		json_array_append_new(e, json_string("PATH=" DEFAULT_PATH));
	}
	json_object_set_new(b->run, "OpenStdin", json_false());
	json_object_set_new(b->run, "StdinOnce", json_false());
	triggers = json_object_get(b->run, "OnBuild");
	if (jlen(triggers)) {
		json_incref(triggers);
		json_object_set_new(b->run, "OnBuild", json_null());
		ret = run_triggers(b, triggers, err);
		json_decref(triggers);
	}
	return ret;
}

static int build_stages(struct builder *b, size_t nstages, struct strata_error **err)
{
	struct build_plan *plan = b->plan;
	int ret;

	for (size_t i = 0; i < plan->nmeta; i++) {
		struct argmap all = { 0 };
		struct strv_holder h = { 0 };
		struct build_env env;

		out_printf(b, "Step %zu/%zu : %s\n", ++b->step, b->nsteps, plan->meta[i].code);
		args_all(&b->args, &b->args.allowed, &all);
		for (size_t k = 0; k < all.n; k++)
			holder_push(&h, xasprintf("%s=%s", all.v[k].key, all.v[k].value));
		env.kv = (const char *const *)h.v;
		env.n = h.n;
		ret = build_instr_expand(&plan->meta[i], plan->escape, &env, err);
		argmap_release(&all);
		holder_release(&h);
		if (ret < 0)
			return ret;
		for (size_t k = 0; k < plan->meta[i].nkvs; k++) {
			args_add(&b->args, plan->meta[i].kvs[k].key, plan->meta[i].kvs[k].value);
			argmap_set(&b->args.meta, plan->meta[i].kvs[k].key, plan->meta[i].kvs[k].value);
		}
	}
	for (size_t s = 0; s < nstages; s++) {
		struct build_stage *st = &plan->stages[s];
		struct stage_result *res;

		for (size_t k = 0; st->from.name && k < b->nstages; k++)
			if (b->stages[k].name && !strcmp(b->stages[k].name, st->from.name))
				return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s stage name already used",
							st->from.name);
		/* newDispatchState: a stage starts with no declared ARGs */
		argmap_release(&b->args.allowed);
		out_printf(b, "Step %zu/%zu : %s\n", ++b->step, b->nsteps, st->from.code);
		ret = begin_stage(b, &st->from, err);
		if (ret < 0)
			return ret;
		update_run_config(b);
		out_printf(b, " ---> %.12s\n", short_id(b->image_id));
		for (size_t i = 0; i < st->n; i++) {
			ret = cancel_check(b->opts->cancel, err);
			if (ret < 0)
				return ret;
			out_printf(b, "Step %zu/%zu : %s\n", ++b->step, b->nsteps, st->cmds[i].code);
			ret = dispatch(b, &st->cmds[i], err);
			if (ret < 0)
				return ret;
			update_run_config(b);
			out_printf(b, " ---> %.12s\n", short_id(b->image_id));
		}
		ALLOC_GROW(b->stages, b->nstages + 1, b->stages_alloc);
		res = &b->stages[b->nstages++];
		res->name = st->from.name ? xstrdup(st->from.name) : NULL;
		res->image_id = xstrdup(b->image_id);
	}
	return 0;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* WarnOnUnusedBuildArgs (sorted: Go's map order is random) */
static void warn_unused_args(struct builder *b)
{
	const char **left = xcalloc(b->args.options.n + 1, sizeof(*left));
	size_t n = 0;

	for (size_t i = 0; i < b->args.options.n; i++) {
		const char *k = b->args.options.v[i].key;

		if (!is_builtin_arg(k) && !argmap_find(&b->args.referenced, k))
			left[n++] = k;
	}
	if (n) {
		_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

		qsort(left, n, sizeof(*left), cmp_str);
		strbuf_addstr(&sb, "[Warning] One or more build-args [");
		for (size_t i = 0; i < n; i++)
			strbuf_addf(&sb, "%s%s", i ? " " : "", left[i]);
		strbuf_addstr(&sb, "] were not consumed\n");
		out_write(b, sb.buf, sb.len);
	}
	free(left);
}

static int tag_result(struct builder *b, struct strata_ref *refs, size_t nrefs, struct strata_error **err)
{
	int ret = 0;

	for (size_t i = 0; ret >= 0 && i < nrefs; i++) {
		ret = refstore_add(&b->idx->refs, &refs[i], b->image_id, err);
		if (ret >= 0)
			ret = imagedb_touch_last_updated(b->store, b->image_id + 7, err);
	}
	if (ret >= 0 && nrefs)
		ret = refstore_save(b->store, &b->idx->refs, err);
	for (size_t i = 0; ret >= 0 && i < nrefs; i++) {
		_cleanup_free_ char *name = strata_ref_familiar_string(&refs[i]);

		out_printf(b, "Successfully tagged %s\n", name);
	}
	return ret;
}

int strata_build(struct strata_image_index *idx, const struct strata_build_options *opts, char id[72],
		 struct strata_error **err)
{
	struct builder b = { 0 };
	struct strata_ref *refs = xcalloc(opts->nr_tags + 1, sizeof(*refs));
	size_t nrefs = 0, nstages;
	int ret = 0;

	b.idx = idx;
	b.store = idx->store;
	b.opts = opts;
	/* sanitizeRepoAndTags: every name is checked before anything is built */
	for (size_t i = 0; ret >= 0 && i < opts->nr_tags; i++) {
		ret = strata_ref_parse(opts->tags[i], &refs[nrefs], err);
		if (ret < 0)
			break;
		nrefs++;
		strata_ref_default_tag(&refs[nrefs - 1]);
		if (refs[nrefs - 1].digest)
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid reference format");
	}
	if (ret >= 0 && !opts->dockerfile_len)
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "the Dockerfile (%s) cannot be empty",
				       opts->dockerfile_name ? opts->dockerfile_name : "Dockerfile");
	if (ret >= 0)
		ret = build_plan_parse(opts->dockerfile, opts->dockerfile_len,
				       opts->dockerfile_name ? opts->dockerfile_name : "Dockerfile", &b.plan, err);
	if (ret < 0)
		goto out;
	nstages = b.plan->nstages;
	if (opts->target && *opts->target) {
		size_t t;

		for (t = 0; t < b.plan->nstages; t++)
			if (b.plan->stages[t].from.name && !strcasecmp(b.plan->stages[t].from.name, opts->target))
				break;
		if (t == b.plan->nstages) {
			ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "failed to reach build target %s in Dockerfile",
					       opts->target);
			goto out;
		}
		nstages = t + 1;
	}
	if (nstages) {
		/* buildLabelOptions: each --label its own LABEL step, sorted, at the end of the last stage */
		const char **labels = xcalloc(opts->nr_labels + 1, sizeof(*labels));

		for (size_t i = 0; i < opts->nr_labels; i++)
			labels[i] = opts->labels[i];
		qsort(labels, opts->nr_labels, sizeof(*labels), cmp_str);
		for (size_t i = 0; i < opts->nr_labels; i++) {
			const char *eq = strchr(labels[i], '=');
			_cleanup_free_ char *k = eq ? xstrndup(labels[i], (size_t)(eq - labels[i])) : xstrdup(labels[i]);

			if (i && !strcmp(k, "") )
				continue;
			build_stage_add_label(&b.plan->stages[nstages - 1], k, eq ? eq + 1 : "");
		}
		free(labels);
	}
	if (b.plan->nwarnings) {
		/* PrintWarnings: one write of all, one per line */
		_cleanup_strbuf_ struct strbuf w = STRBUF_INIT;

		for (size_t i = 0; i < b.plan->nwarnings; i++)
			strbuf_addf(&w, "%s\n", b.plan->warnings[i]);
		out_stderr(&b, w.buf);
	}
	for (size_t i = 0; i < opts->nr_build_args; i++) {
		const char *eq = strchr(opts->build_args[i], '=');
		_cleanup_free_ char *k = eq ? xstrndup(opts->build_args[i], (size_t)(eq - opts->build_args[i])) :
				      xstrdup(opts->build_args[i]);

		argmap_set(&b.args.options, k, eq ? eq + 1 : NULL);
	}
	b.nsteps = b.plan->nmeta + nstages;
	for (size_t s = 0; s < nstages; s++)
		b.nsteps += b.plan->stages[s].n;
	b.run = json_object();
	ret = build_stages(&b, nstages, err);
	if (ret < 0)
		goto out;
	warn_unused_args(&b);
	if (!nstages || (!*b.image_id && !b.nstages)) {
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "No image was generated. Is your Dockerfile empty?");
		goto out;
	}
	if (!*b.image_id) {
		ret = strata_error_set(err, STRATA_ERR_INVALID, 0, "No image was generated. Is your Dockerfile empty?");
		goto out;
	}
	out_printf(&b, "Successfully built %.12s\n", short_id(b.image_id));
	ret = tag_result(&b, refs, nrefs, err);
	if (ret >= 0)
		snprintf(id, 72, "%s", b.image_id);
out:
	for (size_t i = 0; i < nrefs; i++)
		strata_ref_release(&refs[i]);
	free(refs);
	build_plan_free(b.plan);
	json_decref(b.run);
	free(b.maintainer);
	argmap_release(&b.args.options);
	argmap_release(&b.args.meta);
	argmap_release(&b.args.allowed);
	argmap_release(&b.args.referenced);
	for (size_t i = 0; i < b.nstages; i++) {
		free(b.stages[i].name);
		free(b.stages[i].image_id);
	}
	free(b.stages);
	build_context_free(b.ctx);
	return ret;
}
