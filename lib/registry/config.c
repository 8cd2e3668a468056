/*
 * Registry settings: parse strata's config file and answer "may this host be
 * spoken to over plain HTTP".  The rules follow dockerd: loopback registries
 * are always insecure, others only when listed (by name or CIDR).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "json/gojson.h"
#include "registry/config.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"

void registry_config_init(struct registry_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_downloads = REGISTRY_DEFAULT_DOWNLOADS;
	cfg->max_uploads = REGISTRY_DEFAULT_UPLOADS;
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void registry_config_release(struct registry_config *cfg)
{
	free_list(cfg->insecure, cfg->n_insecure);
	free_list(cfg->mirrors, cfg->n_mirrors);
	registry_config_init(cfg);
}

static int parse_string_list(const json_t *v, const char *key, const char *what,
			     char ***out, size_t *n, struct strata_error **err)
{
	size_t i;
	json_t *item;
	char **list;

	if (!json_is_array(v))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"%s: '%s' must be an array of strings", what, key);
	list = xcalloc(json_array_size(v) + 1, sizeof(*list));
	json_array_foreach(v, i, item) {
		if (!json_is_string(item) || !*json_string_value(item)) {
			free_list(list, i);
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"%s: '%s' entry %zu must be a non-empty string",
						what, key, i);
		}
		list[i] = xstrdup(json_string_value(item));
	}
	*out = list;
	*n = json_array_size(v);
	return 0;
}

static int parse_count(const json_t *v, const char *key, const char *what, int *out,
		       struct strata_error **err)
{
	json_int_t x;

	if (!json_is_integer(v))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"%s: '%s' must be an integer", what, key);
	x = json_integer_value(v);
	if (x < 1 || x > 1024)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"%s: '%s' must be between 1 and 1024, not %lld", what,
					key, (long long)x);
	*out = (int)x;
	return 0;
}

/* "http(s)://host[:port]" with nothing after but slashes (dockerd's ValidateMirror). */
static int validate_mirror(const char *url, const char *what, struct strata_error **err)
{
	_cleanup_free_ char *hp = NULL, *name = NULL;
	const char *host, *slash;
	int port;

	if (strncmp(url, "https://", 8) && strncmp(url, "http://", 7))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"%s: registry mirror '%s' must be an http:// or https:// URL",
					what, url);
	if (strchr(url, '?') || strchr(url, '#') || strchr(url, '@'))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"%s: invalid registry mirror '%s'", what, url);
	host = strstr(url, "://") + 3;
	slash = strchr(host, '/');
	if (slash && slash[strspn(slash, "/")])
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"%s: registry mirror '%s' must not have a path", what, url);
	hp = slash ? xstrndup(host, (size_t)(slash - host)) : xstrdup(host);
	if (registry_host_split(hp, &name, &port) < 0 || strpbrk(hp, "% \t\r\n"))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"%s: invalid registry mirror '%s'", what, url);
	return 0;
}

static bool parse_cidr(const char *s, int *family, unsigned char addr[16], int *bits);

int registry_config_parse(struct registry_config *cfg, const char *buf, size_t len,
			  const char *what, struct strata_error **err)
{
	_cleanup_json_ json_t *root = NULL;
	struct registry_config tmp;
	json_error_t jerr;
	json_t *v;
	int ret;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"%s is not valid JSON: %s (line %d, column %d)", what,
					jerr.text, jerr.line, jerr.column);
	if (!json_is_object(root))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"%s must hold a JSON object", what);
	registry_config_init(&tmp);
	if ((v = json_object_get(root, "insecure-registries"))) {
		ret = parse_string_list(v, "insecure-registries", what, &tmp.insecure,
					&tmp.n_insecure, err);
		if (ret < 0)
			goto fail;
		for (size_t i = 0; i < tmp.n_insecure; i++) {
			const char *e = tmp.insecure[i];
			int fam, bits;
			unsigned char a[16];

			if (strstr(e, "://")) {
				ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
						       "%s: insecure registry '%s' should not contain '://'",
						       what, e);
				goto fail;
			}
			if (strchr(e, '/') && !parse_cidr(e, &fam, a, &bits)) {
				ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
						       "%s: insecure registry '%s' is not a valid host or CIDR",
						       what, e);
				goto fail;
			}
		}
	}
	if ((v = json_object_get(root, "registry-mirrors"))) {
		ret = parse_string_list(v, "registry-mirrors", what, &tmp.mirrors,
					&tmp.n_mirrors, err);
		if (ret < 0)
			goto fail;
		for (size_t i = 0; i < tmp.n_mirrors; i++) {
			size_t l;

			ret = validate_mirror(tmp.mirrors[i], what, err);
			if (ret < 0)
				goto fail;
			l = strlen(tmp.mirrors[i]);
			while (l > 8 && tmp.mirrors[i][l - 1] == '/')
				tmp.mirrors[i][--l] = '\0';
		}
	}
	if ((v = json_object_get(root, "max-concurrent-downloads"))) {
		ret = parse_count(v, "max-concurrent-downloads", what, &tmp.max_downloads, err);
		if (ret < 0)
			goto fail;
	}
	if ((v = json_object_get(root, "max-concurrent-uploads"))) {
		ret = parse_count(v, "max-concurrent-uploads", what, &tmp.max_uploads, err);
		if (ret < 0)
			goto fail;
	}
	registry_config_release(cfg);
	*cfg = tmp;
	return 0;
fail:
	registry_config_release(&tmp);
	return ret;
}

int registry_config_load(struct registry_config *cfg, const char *path,
			 struct strata_error **err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_error_ struct strata_error *e = NULL;
	size_t len;

	if (!path)
		path = REGISTRY_CONFIG_DEFAULT_PATH;
	if (fs_read_file_at(AT_FDCWD, path, REGISTRY_CONFIG_MAX_SIZE, &buf, &len, &e) < 0) {
		if (e->code == STRATA_ERR_NOT_FOUND)
			return 0;
		return strata_error_set(err, e->code, 0, "reading config file: %s", e->msg);
	}
	return registry_config_parse(cfg, buf, len, path, err);
}

int registry_host_split(const char *host, char **name, int *port)
{
	const char *colon, *end;
	char *p;
	long v;

	*name = NULL;
	*port = 0;
	if (!host || !*host)
		return -STRATA_ERR_INVALID;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end || end == host + 1)
			return -STRATA_ERR_INVALID;
		*name = xstrndup(host + 1, (size_t)(end - host - 1));
		colon = end[1] == ':' ? end + 1 : NULL;
		if (!colon && end[1]) {
			free(*name);
			*name = NULL;
			return -STRATA_ERR_INVALID;
		}
	} else {
		colon = strchr(host, ':');
		if (colon && strchr(colon + 1, ':')) {
			/* bare IPv6 literal without port */
			*name = xstrdup(host);
			return 0;
		}
		*name = colon ? xstrndup(host, (size_t)(colon - host)) : xstrdup(host);
		if (!**name) {
			free(*name);
			*name = NULL;
			return -STRATA_ERR_INVALID;
		}
	}
	if (colon) {
		errno = 0;
		v = strtol(colon + 1, &p, 10);
		if (errno || *p || p == colon + 1 || v < 1 || v > 65535) {
			free(*name);
			*name = NULL;
			return -STRATA_ERR_INVALID;
		}
		*port = (int)v;
	}
	return 0;
}

static bool parse_cidr(const char *s, int *family, unsigned char addr[16], int *bits)
{
	_cleanup_free_ char *ip = NULL;
	const char *slash = strchr(s, '/');
	char *end;
	long b;

	if (!slash)
		return false;
	ip = xstrndup(s, (size_t)(slash - s));
	errno = 0;
	b = strtol(slash + 1, &end, 10);
	if (errno || *end || end == slash + 1)
		return false;
	if (inet_pton(AF_INET, ip, addr) == 1) {
		if (b < 0 || b > 32)
			return false;
		*family = AF_INET;
	} else if (inet_pton(AF_INET6, ip, addr) == 1) {
		if (b < 0 || b > 128)
			return false;
		*family = AF_INET6;
	} else {
		return false;
	}
	*bits = (int)b;
	return true;
}

static bool prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)full))
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));

		if ((a[full] & mask) != (b[full] & mask))
			return false;
	}
	return true;
}

bool registry_host_is_loopback(const char *host)
{
	_cleanup_free_ char *name = NULL;
	unsigned char a[16];
	int port;

	if (registry_host_split(host, &name, &port) < 0)
		return false;
	if (!strcasecmp(name, "localhost"))
		return true;
	if (inet_pton(AF_INET, name, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, name, a) == 1) {
		static const unsigned char one[16] = { [15] = 1 };

		return !memcmp(a, one, 16);
	}
	return false;
}

/* Addresses of name: a literal, or what the resolver answers (bounded). */
static size_t host_addresses(const char *name, int fam[8], unsigned char addr[8][16])
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	size_t n = 0;

	if (inet_pton(AF_INET, name, addr[0]) == 1) {
		fam[0] = AF_INET;
		return 1;
	}
	if (inet_pton(AF_INET6, name, addr[0]) == 1) {
		fam[0] = AF_INET6;
		return 1;
	}
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai && n < 8; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			memcpy(addr[n], &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
			fam[n++] = AF_INET;
		} else if (ai->ai_family == AF_INET6) {
			memcpy(addr[n], &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
			fam[n++] = AF_INET6;
		}
	}
	freeaddrinfo(res);
	return n;
}

bool registry_config_is_insecure(const struct registry_config *cfg, const char *host)
{
	_cleanup_free_ char *name = NULL;
	int port, fam[8];
	unsigned char addr[8][16];
	size_t naddr = 0;
	bool resolved = false;

	if (registry_host_is_loopback(host))
		return true;
	if (!cfg)
		return false;
	if (registry_host_split(host, &name, &port) < 0)
		return false;
	for (size_t i = 0; i < cfg->n_insecure; i++) {
		const char *e = cfg->insecure[i];
		unsigned char net[16];
		int nfam, bits;

		if (!strcasecmp(e, host))
			return true;
		if (!parse_cidr(e, &nfam, net, &bits))
			continue;
		if (!resolved) {
			naddr = host_addresses(name, fam, addr);
			resolved = true;
		}
		for (size_t j = 0; j < naddr; j++)
			if (fam[j] == nfam && prefix_match(addr[j], net, bits))
				return true;
	}
	return false;
}
