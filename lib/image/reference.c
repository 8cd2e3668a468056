#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "digest/digest.h"
#include "strata/reference.h"
#include "util/alloc.h"
#include "util/cleanup.h"

#define NAME_TOTAL_MAX 255
#define TAG_MAX 128

static bool is_lower_alnum(int c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool is_alnum(int c) { return isascii(c) && isalnum(c); }
static bool is_word(int c) { return is_alnum(c) || c == '_'; }

/* domain-component ("." domain-component)* (":" port)?, as the grammar. */
static bool valid_domain(const char *s, size_t n)
{
	size_t i = 0, comp;
	bool any = false;

	while (i < n && s[i] != ':') {
		comp = i;
		while (i < n && (is_alnum(s[i]) || s[i] == '-'))
			i++;
		if (i == comp || s[comp] == '-' || s[i - 1] == '-')
			return false;
		any = true;
		if (i < n && s[i] == '.') {
			i++;
			if (i >= n || s[i] == ':')
				return false;
		} else if (i < n && s[i] != ':') {
			return false;
		}
	}
	if (!any)
		return false;
	if (i < n) {
		size_t port = ++i;

		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		if (i == port || i != n)
			return false;
	}
	return true;
}

/* path-component: alnum+ (separator alnum+)*, separator = [_.] | __ | -+ */
static bool valid_component(const char *s, size_t n)
{
	size_t i = 0;

	if (!n || !is_lower_alnum(s[0]))
		return false;
	while (i < n) {
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		if (s[i] == '.' || (s[i] == '_' && (i + 1 >= n || s[i + 1] != '_'))) {
			i++;
		} else if (s[i] == '_') {
			i += 2;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i >= n || !is_lower_alnum(s[i]))
			return false;
	}
	return true;
}

bool strata_ref_path_valid(const char *s)
{
	size_t start = 0, n = strlen(s);

	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '/') {
			if (!valid_component(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

bool strata_ref_tag_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > TAG_MAX || !is_word(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

/* The grammar's digest: algorithm ":" hex{32,}; only sha256 is usable. */
static int check_digest(const char *d, struct strata_error **err)
{
	const char *colon = strchr(d, ':');
	size_t i;

	if (!colon || colon == d)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid reference format");
	for (i = 0; d + i < colon; i++)
		if (!is_alnum(d[i]) && !strchr("+.-_", d[i]))
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid reference format");
	if (strlen(colon + 1) < 32)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid reference format");
	for (i = 1; colon[i]; i++)
		if (!isxdigit((unsigned char)colon[i]))
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid reference format");
	if (strncmp(d, "sha256:", 7))
		return strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0, "unsupported digest algorithm");
	if (!digest_valid(d))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid checksum digest format");
	return 0;
}

bool strata_ref_is_full_id(const char *s)
{
	return digest_hex_valid(s);
}

int strata_ref_parse(const char *s, struct strata_ref *out, struct strata_error **err)
{
	_cleanup_free_ char *name = NULL;
	const char *at, *slash, *remainder;
	char *colon;
	struct strata_ref ref = { 0 };
	size_t dlen;
	int ret;

	if (!*s)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid reference format");
	if (strata_ref_is_full_id(s))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s);
	name = xstrdup(s);
	at = strchr(name, '@');
	if (at) {
		ret = check_digest(at + 1, err);
		if (ret < 0)
			return ret;
		ref.digest = xstrdup(at + 1);
		name[at - name] = '\0';
	}
	/* A tag is after the last ':' that follows the last '/'. */
	slash = strrchr(name, '/');
	colon = strrchr(slash ? slash : name, ':');
	if (colon) {
		*colon = '\0';
		if (!strata_ref_tag_valid(colon + 1)) {
			strata_ref_release(&ref);
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid reference format");
		}
		ref.tag = xstrdup(colon + 1);
	}
	if (strlen(name) > NAME_TOTAL_MAX) {
		strata_ref_release(&ref);
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"invalid reference format: repository name must not be more than %d characters",
					NAME_TOTAL_MAX);
	}
	/* splitDockerDomain */
	slash = strchr(name, '/');
	dlen = slash ? (size_t)(slash - name) : 0;
	if (slash && (memchr(name, '.', dlen) || memchr(name, ':', dlen) ||
		      (dlen == 9 && !strncmp(name, "localhost", 9)))) {
		if (!valid_domain(name, dlen)) {
			strata_ref_release(&ref);
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid reference format");
		}
		ref.domain = xstrndup(name, dlen);
		remainder = slash + 1;
		if (!strcmp(ref.domain, "index.docker.io")) {
			free(ref.domain);
			ref.domain = xstrdup("docker.io");
		}
	} else {
		ref.domain = xstrdup("docker.io");
		remainder = name;
	}
	for (const char *p = remainder; *p; p++) {
		if (isupper((unsigned char)*p)) {
			strata_ref_release(&ref);
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"invalid reference format: repository name must be lowercase");
		}
	}
	if (!strata_ref_path_valid(remainder)) {
		strata_ref_release(&ref);
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid reference format");
	}
	if (!strcmp(ref.domain, "docker.io") && !strchr(remainder, '/'))
		ref.path = xasprintf("library/%s", remainder);
	else
		ref.path = xstrdup(remainder);
	*out = ref;
	return 0;
}

void strata_ref_release(struct strata_ref *ref)
{
	free(ref->domain);
	free(ref->path);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof(*ref));
}

int strata_ref_parse_tag(const char *s, struct strata_ref *out, struct strata_error **err)
{
	int ret = strata_ref_parse(s, out, err);

	if (ret < 0)
		return ret;
	if (out->digest) {
		strata_ref_release(out);
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "refusing to create a tag with a digest reference");
	}
	strata_ref_default_tag(out);
	return 0;
}

void strata_ref_default_tag(struct strata_ref *ref)
{
	if (!ref->tag && !ref->digest)
		ref->tag = xstrdup("latest");
}

char *strata_ref_full_name(const struct strata_ref *ref)
{
	return xasprintf("%s/%s", ref->domain, ref->path);
}

char *strata_ref_familiar_name(const struct strata_ref *ref)
{
	if (strcmp(ref->domain, "docker.io"))
		return strata_ref_full_name(ref);
	if (!strncmp(ref->path, "library/", 8) && !strchr(ref->path + 8, '/'))
		return xstrdup(ref->path + 8);
	return xstrdup(ref->path);
}

char *strata_ref_familiar_string(const struct strata_ref *ref)
{
	_cleanup_free_ char *name = strata_ref_familiar_name(ref);

	return xasprintf("%s%s%s%s%s", name, ref->tag ? ":" : "", ref->tag ? ref->tag : "",
			 ref->digest ? "@" : "", ref->digest ? ref->digest : "");
}

bool strata_ref_familiar_match(const char *pattern, const struct strata_ref *ref)
{
	_cleanup_free_ char *str = strata_ref_familiar_string(ref);
	_cleanup_free_ char *name = strata_ref_familiar_name(ref);

	/* Go's path.Match: '*' does not cross '/'. */
	if (fnmatch(pattern, str, FNM_PATHNAME) == 0)
		return true;
	return fnmatch(pattern, name, FNM_PATHNAME) == 0;
}
