#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image/config.h"
#include "json/gojson.h"
#include "util/alloc.h"
#include "util/cleanup.h"

/* container.Config field order; kind tells the zero value or omitempty. */
static const struct {
	const char *key;
	enum { STR, BOOL, NUL, OMIT } zero;
} fields[] = {
	{ "Hostname", STR }, { "Domainname", STR }, { "User", STR }, { "AttachStdin", BOOL },
	{ "AttachStdout", BOOL }, { "AttachStderr", BOOL }, { "ExposedPorts", OMIT }, { "Tty", BOOL },
	{ "OpenStdin", BOOL }, { "StdinOnce", BOOL }, { "Env", NUL }, { "Cmd", NUL },
	{ "Healthcheck", OMIT }, { "ArgsEscaped", OMIT }, { "Image", STR }, { "Volumes", NUL },
	{ "WorkingDir", STR }, { "Entrypoint", NUL }, { "NetworkDisabled", OMIT }, { "MacAddress", OMIT },
	{ "OnBuild", NUL }, { "Labels", NUL }, { "StopSignal", OMIT }, { "StopTimeout", OMIT },
	{ "Shell", OMIT },
};

static bool omit(const json_t *v)
{
	return !v || json_is_null(v) || json_is_false(v) || (json_is_string(v) && !json_string_length(v)) ||
	       (json_is_array(v) && !json_array_size(v)) || (json_is_object(v) && !json_object_size(v)) ||
	       (json_is_integer(v) && !json_integer_value(v));
}

/* container.HealthConfig field order, all omitempty. */
static json_t *healthcheck_ordered(const json_t *hc)
{
	static const char *const keys[] = { "Test", "Interval", "Timeout", "StartPeriod", "Retries" };
	json_t *out = json_object();

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(hc, keys[i]);

		if (!omit(v))
			json_object_set(out, keys[i], v);
	}
	return out;
}

json_t *config_container_ordered(const json_t *config)
{
	json_t *out = json_object();

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		json_t *v = json_object_get(config, fields[i].key);

		if (fields[i].zero == OMIT) {
			if (omit(v))
				continue;
			if (!strcmp(fields[i].key, "Healthcheck"))
				json_object_set_new(out, fields[i].key, healthcheck_ordered(v));
			else
				json_object_set(out, fields[i].key, v);
		} else if (v && !json_is_null(v)) {
			json_object_set(out, fields[i].key, v);
		} else {
			json_object_set_new(out, fields[i].key,
					    fields[i].zero == STR ? json_string("") :
					    fields[i].zero == BOOL ? json_false() : json_null());
		}
	}
	return out;
}

json_t *config_container_new(void)
{
	_cleanup_json_ json_t *empty = json_object();

	return config_container_ordered(empty);
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A Go map inside a config (Labels, Volumes, ExposedPorts): keys sorted. */
static void sort_map(json_t *config, const char *key)
{
	json_t *m = json_object_get(config, key), *sorted;
	const char **keys, *k;
	json_t *v;
	size_t n = 0;

	if (!json_is_object(m) || json_object_size(m) < 2)
		return;
	keys = xcalloc(json_object_size(m), sizeof(*keys));
	json_object_foreach(m, k, v)
		keys[n++] = k;
	qsort(keys, n, sizeof(*keys), cmp_keys);
	sorted = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set(sorted, keys[i], json_object_get(m, keys[i]));
	free(keys);
	json_object_set_new(config, key, sorted);
}

void config_encode(struct strbuf *out, const json_t *image)
{
	const char **keys, *k;
	json_t *v, *top = json_object();
	size_t n = 0;

	keys = xcalloc(json_object_size(image) + 1, sizeof(*keys));
	json_object_foreach((json_t *)image, k, v)
		keys[n++] = k;
	qsort(keys, n, sizeof(*keys), cmp_keys);
	for (size_t i = 0; i < n; i++) {
		v = json_object_get(image, keys[i]);
		if (!strcmp(keys[i], "config") || !strcmp(keys[i], "container_config")) {
			json_t *c = config_container_ordered(v);

			sort_map(c, "Labels");
			sort_map(c, "Volumes");
			sort_map(c, "ExposedPorts");
			json_object_set_new(top, keys[i], c);
		} else {
			json_object_set(top, keys[i], v);
		}
	}
	free(keys);
	gojson_encode(out, top, 0);
	json_decref(top);
}

/* Words of a shell-form or the strings of a JSON-form (["a","b"]) argument. */
static json_t *args_of(const char *rest, bool shell_wrap)
{
	json_t *parsed = NULL;
	json_t *out;

	if (*rest == '[') {
		parsed = json_loads(rest, 0, NULL);
		if (json_is_array(parsed)) {
			size_t i;
			json_t *v;
			bool ok = true;

			json_array_foreach(parsed, i, v)
				ok &= json_is_string(v);
			if (ok)
				return parsed;
		}
		json_decref(parsed);
	}
	out = json_array();
	if (shell_wrap) {
		json_array_append_new(out, json_string("/bin/sh"));
		json_array_append_new(out, json_string("-c"));
		json_array_append_new(out, json_string(rest));
		return out;
	}
	return out;
}

static void strip_quotes(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && ((s[0] == '"' && s[n - 1] == '"') || (s[0] == '\'' && s[n - 1] == '\''))) {
		memmove(s, s + 1, n - 2);
		s[n - 2] = '\0';
	}
}

/* KEY=VALUE pairs separated by blanks (quotes keep blanks), or the old "KEY VALUE" form. */
static int pairs(const char *rest, const char *what, int (*add)(json_t *, const char *, const char *),
		 json_t *config, struct strata_error **err)
{
	const char *p = rest;

	if (!strchr(rest, '=')) {
		const char *sp = strpbrk(rest, " \t");
		_cleanup_free_ char *k = NULL, *v = NULL;

		if (!sp)
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s requires at least one argument", what);
		k = xstrndup(rest, (size_t)(sp - rest));
		while (*sp == ' ' || *sp == '\t')
			sp++;
		v = xstrdup(sp);
		return add(config, k, v);
	}
	while (*p) {
		_cleanup_free_ char *word = NULL;
		const char *start;
		char quote = 0, *eq;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && (quote || (*p != ' ' && *p != '\t'))) {
			if (*p == '"' || *p == '\'')
				quote = quote == *p ? 0 : quote ? quote : *p;
			p++;
		}
		word = xstrndup(start, (size_t)(p - start));
		eq = strchr(word, '=');
		if (!eq)
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s names can not be blank or miss '=': '%s'", what, word);
		*eq = '\0';
		strip_quotes(eq + 1);
		if (add(config, word, eq + 1) < 0)
			return -STRATA_ERR_INVALID;
	}
	return 0;
}

static int add_env(json_t *config, const char *k, const char *v)
{
	json_t *env = json_object_get(config, "Env");
	size_t klen = strlen(k), i;
	json_t *e;

	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(config, "Env", env);
	}
	json_array_foreach(env, i, e) {
		const char *s = json_string_value(e);

		if (s && !strncmp(s, k, klen) && s[klen] == '=') {
			json_array_set_new(env, i, json_sprintf("%s=%s", k, v));
			return 0;
		}
	}
	json_array_append_new(env, json_sprintf("%s=%s", k, v));
	return 0;
}

static int add_label(json_t *config, const char *k, const char *v)
{
	json_t *labels = json_object_get(config, "Labels");

	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(config, "Labels", labels);
	}
	json_object_set_new(labels, k, json_string(v));
	return 0;
}

static void add_to_map(json_t *config, const char *key, const char *item)
{
	json_t *m = json_object_get(config, key);

	if (!json_is_object(m)) {
		m = json_object();
		json_object_set_new(config, key, m);
	}
	json_object_set_new(m, item, json_object());
}

int config_apply_change(json_t *config, const char *change, struct strata_error **err)
{
	_cleanup_free_ char *verb = NULL;
	const char *rest = change;
	size_t n;

	while (isspace((unsigned char)*rest))
		rest++;
	n = strcspn(rest, " \t");
	verb = xstrndup(rest, n);
	for (char *p = verb; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	rest += n;
	while (isspace((unsigned char)*rest))
		rest++;
	if (!strcmp(verb, "CMD")) {
		json_object_set_new(config, "Cmd", args_of(rest, true));
	} else if (!strcmp(verb, "ENTRYPOINT")) {
		json_object_set_new(config, "Entrypoint", args_of(rest, true));
	} else if (!strcmp(verb, "ENV")) {
		return pairs(rest, "ENV", add_env, config, err);
	} else if (!strcmp(verb, "LABEL")) {
		return pairs(rest, "LABEL", add_label, config, err);
	} else if (!strcmp(verb, "EXPOSE") || !strcmp(verb, "VOLUME")) {
		json_t *items = args_of(rest, false);
		size_t i;
		json_t *v;

		if (!json_array_size(items)) {
			/* Shell form: blank-separated words. */
			for (const char *p = rest + strspn(rest, " \t"); *p; p += strspn(p, " \t")) {
				size_t len = strcspn(p, " \t");

				json_array_append_new(items, json_stringn(p, len));
				p += len;
			}
		}
		json_array_foreach(items, i, v) {
			const char *s = json_string_value(v);

			if (verb[0] == 'E' && !strchr(s, '/')) {
				_cleanup_free_ char *port = xasprintf("%s/tcp", s);

				add_to_map(config, "ExposedPorts", port);
			} else {
				add_to_map(config, verb[0] == 'E' ? "ExposedPorts" : "Volumes", s);
			}
		}
		json_decref(items);
	} else if (!strcmp(verb, "USER")) {
		json_object_set_new(config, "User", json_string(rest));
	} else if (!strcmp(verb, "WORKDIR")) {
		json_object_set_new(config, "WorkingDir", json_string(rest));
	} else if (!strcmp(verb, "STOPSIGNAL")) {
		json_object_set_new(config, "StopSignal", json_string(rest));
	} else {
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s is not a valid change command", verb);
	}
	return 0;
}
