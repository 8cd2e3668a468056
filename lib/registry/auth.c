/*
 * WWW-Authenticate parsing and Docker client credentials (see auth.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json/gojson.h"
#include "registry/auth.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"

extern char **environ;

#define MAX_DOCKER_CONFIG (8u * 1024 * 1024)
#define MAX_HELPER_OUTPUT (1u * 1024 * 1024)

/* ---- WWW-Authenticate ---------------------------------------------------- */

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

static char *lower_dup(const char *s, size_t n)
{
	char *r = xstrndup(s, n);

	for (char *c = r; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return r;
}

void registry_challenges_free(struct registry_challenge *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++) {
		free(c[i].scheme);
		for (size_t j = 0; j < c[i].n; j++) {
			free(c[i].names[j]);
			free(c[i].values[j]);
		}
		free(c[i].names);
		free(c[i].values);
	}
	free(c);
}

static void add_param(struct registry_challenge *c, char *name, char *value)
{
	c->names = xrealloc(c->names, (c->n + 1) * sizeof(char *));
	c->values = xrealloc(c->values, (c->n + 1) * sizeof(char *));
	c->names[c->n] = name;
	c->values[c->n] = value;
	c->n++;
}

int registry_challenges_parse(const char *header, struct registry_challenge **out,
			      size_t *nout, struct strata_error **err)
{
	struct registry_challenge *list = NULL;
	size_t n = 0;
	const char *p = header;

	for (;;) {
		const char *s;
		struct registry_challenge *c;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		s = p;
		while (is_tchar(*p))
			p++;
		if (p == s)
			goto bad;
		if (n >= 16)
			goto bad;
		list = xrealloc(list, (n + 1) * sizeof(*list));
		c = &list[n++];
		memset(c, 0, sizeof(*c));
		c->scheme = lower_dup(s, (size_t)(p - s));
		/* auth-params (or a token68 we keep under the name "") */
		for (;;) {
			const char *save = p, *name;
			size_t nlen;
			struct strbuf v = STRBUF_INIT;

			skip_ws(&p);
			name = p;
			while (is_tchar(*p))
				p++;
			nlen = (size_t)(p - name);
			skip_ws(&p);
			if (!nlen || *p != '=') {
				/* not "name=": the next challenge starts here */
				p = save;
				break;
			}
			p++; /* '=' */
			if (*p == '=' || *p == ',' || !*p) {
				/* token68 ending in '=' padding, or empty value */
				while (*p == '=')
					p++;
				add_param(c, xstrdup(""), xstrndup(name, (size_t)(p - name)));
			} else {
				skip_ws(&p);
				if (*p == '"') {
					p++;
					while (*p && *p != '"') {
						if (*p == '\\' && p[1])
							p++;
						strbuf_addch(&v, *p++);
					}
					if (*p != '"') {
						strbuf_release(&v);
						goto bad;
					}
					p++;
				} else {
					const char *vs = p;

					while (is_tchar(*p) || *p == '/' || *p == ':' || *p == '=')
						p++;
					strbuf_add(&v, vs, (size_t)(p - vs));
				}
				if (c->n >= 32) {
					strbuf_release(&v);
					goto bad;
				}
				add_param(c, lower_dup(name, nlen), strbuf_detach(&v, NULL));
			}
			skip_ws(&p);
			if (*p == ',') {
				p++;
				continue;
			}
			if (!*p)
				break;
			goto bad;
		}
	}
	*out = list;
	*nout = n;
	return 0;
bad:
	registry_challenges_free(list, n);
	return strata_error_set(err, STRATA_ERR_INVALID, 0, "malformed WWW-Authenticate header");
}

const char *registry_challenge_param(const struct registry_challenge *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->names[i], name))
			return c->values[i];
	return NULL;
}

/* ---- base64 -------------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *registry_base64_encode(const void *data, size_t len)
{
	const unsigned char *s = data;
	char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*o++ = b64[s[i] >> 2];
		*o++ = b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		*o++ = b64[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
		*o++ = b64[s[i + 2] & 63];
	}
	if (i < len) {
		*o++ = b64[s[i] >> 2];
		if (i + 1 < len) {
			*o++ = b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
			*o++ = b64[(s[i + 1] & 15) << 2];
		} else {
			*o++ = b64[(s[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

int registry_base64_decode(const char *s, char **out, size_t *len)
{
	size_t n = strlen(s), o = 0;
	unsigned char *buf;
	unsigned acc = 0;
	int bits = 0;
	size_t i;

	while (n && s[n - 1] == '=')
		n--;
	if (strlen(s) - n > 2)
		return -STRATA_ERR_INVALID;
	buf = xmalloc(n * 3 / 4 + 2);
	for (i = 0; i < n; i++) {
		int v = b64val(s[i]);

		if (v < 0) {
			free(buf);
			return -STRATA_ERR_INVALID;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (bits >= 6) {
		free(buf);
		return -STRATA_ERR_INVALID;
	}
	buf[o] = '\0';
	*out = (char *)buf;
	*len = o;
	return 0;
}

/* ---- keys ------------------------------------------------------------------ */

void registry_credentials_release(struct registry_credentials *c)
{
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	if (c->identity_token)
		explicit_bzero(c->identity_token, strlen(c->identity_token));
	free(c->username);
	free(c->password);
	free(c->identity_token);
	memset(c, 0, sizeof(*c));
}

char *registry_auth_key_host(const char *key)
{
	const char *s = key;
	size_t n;

	if (!strncmp(s, "http://", 7))
		s += 7;
	else if (!strncmp(s, "https://", 8))
		s += 8;
	n = strcspn(s, "/");
	return lower_dup(s, n);
}

bool registry_host_is_hub(const char *host)
{
	_cleanup_free_ char *h = registry_auth_key_host(host);

	return !strcmp(h, "docker.io") || !strcmp(h, "index.docker.io") ||
	       !strcmp(h, "registry-1.docker.io");
}

char *registry_auth_key(const char *server)
{
	if (!server || !*server || registry_host_is_hub(server))
		return xstrdup(REGISTRY_HUB_KEY);
	return registry_auth_key_host(server);
}

char *registry_docker_config_path(const char *dir)
{
	return xasprintf("%s/config.json", dir);
}

static int load_docker_config(const char *dir, json_t **out, struct strata_error **err)
{
	_cleanup_free_ char *path = registry_docker_config_path(dir);
	_cleanup_free_ char *buf = NULL;
	_cleanup_error_ struct strata_error *e = NULL;
	json_error_t jerr;
	size_t len;
	json_t *root;

	if (fs_read_file_at(AT_FDCWD, path, MAX_DOCKER_CONFIG, &buf, &len, &e) < 0) {
		if (e->code == STRATA_ERR_NOT_FOUND) {
			*out = json_object();
			return 0;
		}
		return strata_error_set(err, e->code, 0, "reading %s: %s", path, e->msg);
	}
	root = json_loadb(buf, len, 0, &jerr);
	explicit_bzero(buf, len);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		/* jerr.text may quote file content: do not include it */
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"%s is not a valid JSON object (line %d)", path, jerr.line);
	}
	*out = root;
	return 0;
}

/* Entry of "auths" for key: exact key first, then keys with the same host. */
static json_t *find_auth_entry(json_t *auths, const char *key, const char **found_key)
{
	_cleanup_free_ char *want = registry_auth_key_host(key);
	const char *k;
	json_t *v;

	if (!json_is_object(auths))
		return NULL;
	if ((v = json_object_get(auths, key)) && json_is_object(v)) {
		*found_key = key;
		return v;
	}
	json_object_foreach(auths, k, v) {
		_cleanup_free_ char *kh = NULL;

		if (!json_is_object(v))
			continue;
		if (!strcmp(key, REGISTRY_HUB_KEY)) {
			if (!registry_host_is_hub(k))
				continue;
		} else {
			kh = registry_auth_key_host(k);
			if (strcmp(kh, want))
				continue;
		}
		*found_key = k;
		return v;
	}
	return NULL;
}

static int creds_from_entry(json_t *entry, const char *key, struct registry_credentials *out,
			    struct strata_error **err)
{
	const char *auth = gojson_get_string(entry, "auth");
	const char *user = gojson_get_string(entry, "username");
	const char *pass = gojson_get_string(entry, "password");
	const char *tok = gojson_get_string(entry, "identitytoken");
	struct registry_credentials c = { 0 };

	if (auth && *auth) {
		char *dec = NULL, *colon;
		size_t len;

		if (registry_base64_decode(auth, &dec, &len) < 0 || memchr(dec, 0, len) ||
		    !(colon = strchr(dec, ':'))) {
			if (dec) {
				explicit_bzero(dec, len);
				free(dec);
			}
			return strata_error_set(err, STRATA_ERR_INVALID, 0,
						"invalid auth configuration for %s in docker config", key);
		}
		c.username = xstrndup(dec, (size_t)(colon - dec));
		c.password = xstrdup(colon + 1);
		explicit_bzero(dec, len);
		free(dec);
	} else if (user || pass) {
		c.username = user ? xstrdup(user) : NULL;
		c.password = pass ? xstrdup(pass) : NULL;
	}
	if (tok && *tok)
		c.identity_token = xstrdup(tok);
	if (registry_credentials_empty(&c))
		return 0;
	*out = c;
	return 1;
}

/* ---- credential helpers -------------------------------------------------- */

/*
 * Run docker-credential-NAME ACTION with input on stdin; collect stdout
 * (capped).  Returns the exit status (>= 0), or < 0 with *err set.
 */
static int run_helper(const char *name, const char *action, const char *input,
		      struct strbuf *output, struct strata_error **err)
{
	_cleanup_free_ char *prog = xasprintf("docker-credential-%s", name);
	posix_spawn_file_actions_t fa;
	int in[2] = { -1, -1 }, outp[2] = { -1, -1 }, devnull, status;
	char *argv[] = { prog, (char *)action, NULL };
	size_t in_len = strlen(input), in_off = 0;
	pid_t pid;
	int rc;

	if (!*name || strchr(name, '/'))
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"invalid credential helper name '%s'", name);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0) {
		int e = errno;

		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (outp[i] >= 0)
				close(outp[i]);
		}
		return strata_error_set(err, STRATA_ERR_IO, e, "creating pipes");
	}
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	if (devnull >= 0)
		posix_spawn_file_actions_adddup2(&fa, devnull, 2);
	rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(outp[1]);
	if (devnull >= 0)
		close(devnull);
	if (rc != 0) {
		close(in[1]);
		close(outp[0]);
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, rc,
					"cannot run credential helper %s", prog);
	}
	/* feed stdin while draining stdout (no deadlock on big outputs) */
	{
		struct pollfd pfd[2] = { { in[1], POLLOUT, 0 }, { outp[0], POLLIN, 0 } };
		bool overflow = false;
		char buf[4096];
		void (*old)(int) = signal(SIGPIPE, SIG_IGN);

		if (in_len == 0) {
			close(in[1]);
			pfd[0].fd = -1;
		}
		while (pfd[1].fd >= 0) {
			if (poll(pfd, 2, 30000) <= 0)
				break;
			if (pfd[0].fd >= 0 && (pfd[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
				ssize_t w = write(in[1], input + in_off, in_len - in_off);

				if (w > 0)
					in_off += (size_t)w;
				if (w < 0 || in_off == in_len) {
					close(in[1]);
					pfd[0].fd = -1;
				}
			}
			if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t r = read(outp[0], buf, sizeof(buf));

				if (r <= 0) {
					pfd[1].fd = -1;
					break;
				}
				if (output->len + (size_t)r > MAX_HELPER_OUTPUT)
					overflow = true;
				else
					strbuf_add(output, buf, (size_t)r);
			}
		}
		if (pfd[0].fd >= 0)
			close(in[1]);
		close(outp[0]);
		signal(SIGPIPE, old);
		if (overflow) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
						"credential helper %s: output too large", prog);
		}
	}
	if (waitpid(pid, &status, 0) < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "waiting for %s", prog);
	if (!WIFEXITED(status))
		return strata_error_set(err, STRATA_ERR_IO, 0, "credential helper %s was killed",
					prog);
	return WEXITSTATUS(status);
}

/* First line of helper output, shortened, for error messages. */
static char *helper_message(const struct strbuf *out)
{
	size_t n = strcspn(out->buf, "\r\n");

	return xstrndup(out->buf, n > 200 ? 200 : n);
}

static int helper_get(const char *helper, const char *key, struct registry_credentials *out,
		      struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf o = STRBUF_INIT;
	_cleanup_json_ json_t *j = NULL;
	const char *user, *secret;
	json_error_t jerr;
	int rc;

	rc = run_helper(helper, "get", key, &o, err);
	if (rc < 0)
		return rc;
	if (rc != 0) {
		_cleanup_free_ char *msg = helper_message(&o);

		if (strstr(o.buf, "credentials not found"))
			return 0;
		return strata_error_set(err, STRATA_ERR_AUTH, 0,
					"error getting credentials - credential helper %s: %s",
					helper, msg);
	}
	j = json_loadb(o.buf, o.len, 0, &jerr);
	explicit_bzero(o.buf, o.len);
	if (!j || !json_is_object(j))
		return strata_error_set(err, STRATA_ERR_AUTH, 0,
					"credential helper %s returned invalid JSON", helper);
	user = gojson_get_string(j, "Username");
	secret = gojson_get_string(j, "Secret");
	if ((!user || !*user) && (!secret || !*secret))
		return 0;
	memset(out, 0, sizeof(*out));
	if (user && !strcmp(user, "<token>")) {
		out->identity_token = xstrdup(secret ? secret : "");
	} else {
		out->username = xstrdup(user ? user : "");
		out->password = xstrdup(secret ? secret : "");
	}
	return 1;
}

static const char *helper_for(json_t *cfg, const char *key)
{
	json_t *helpers = json_object_get(cfg, "credHelpers");
	const char *h;
	_cleanup_free_ char *host = registry_auth_key_host(key);

	if (json_is_object(helpers)) {
		if ((h = gojson_get_string(helpers, key)) && *h)
			return h;
		if ((h = gojson_get_string(helpers, host)) && *h)
			return h;
	}
	h = gojson_get_string(cfg, "credsStore");
	return h && *h ? h : NULL;
}

int registry_credentials_get(const char *dir, const char *key, struct registry_credentials *out,
			     struct strata_error **err)
{
	_cleanup_json_ json_t *cfg = NULL;
	const char *helper, *found = NULL;
	json_t *entry;
	int ret;

	if (!dir)
		return 0;
	ret = load_docker_config(dir, &cfg, err);
	if (ret < 0)
		return ret;
	helper = helper_for(cfg, key);
	if (helper)
		return helper_get(helper, key, out, err);
	entry = find_auth_entry(json_object_get(cfg, "auths"), key, &found);
	if (!entry)
		return 0;
	return creds_from_entry(entry, found, out, err);
}

/* Write cfg back to the docker config file: atomic, 0600, tab indented. */
static int save_docker_config(const char *config_dir, json_t *cfg, struct strata_error **err)
{
	_cleanup_free_ char *path = registry_docker_config_path(config_dir);
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dfd = -1;
	struct strbuf js = STRBUF_INIT, out = STRBUF_INIT;
	const char *slash = strrchr(path, '/');
	int ret;

	dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return strata_error_set(err, STRATA_ERR_IO, errno, "creating %s", dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return strata_error_set(err, STRATA_ERR_IO, errno, "opening %s", dir);
	gojson_encode(&js, cfg, GOJSON_INDENT);
	/* docker writes MarshalIndent(.., "", "\t"): turn 4-space indents into tabs */
	for (size_t i = 0; i < js.len;) {
		size_t sp = 0;

		while (i + sp < js.len && js.buf[i + sp] == ' ')
			sp++;
		strbuf_addchars(&out, '\t', sp / 4);
		strbuf_addchars(&out, ' ', sp % 4);
		i += sp;
		while (i < js.len && js.buf[i] != '\n')
			strbuf_addch(&out, js.buf[i++]);
		if (i < js.len)
			strbuf_addch(&out, js.buf[i++]);
	}
	explicit_bzero(js.buf, js.len);
	strbuf_release(&js);
	ret = fs_write_file_atomic_at(dfd, slash ? slash + 1 : path, out.buf, out.len, 0600, err);
	explicit_bzero(out.buf, out.len);
	strbuf_release(&out);
	if (ret < 0)
		return strata_error_wrap(err, "saving %s", path);
	return 0;
}

int registry_credentials_store(const char *dir, const char *key, const struct registry_credentials *c,
			       struct strata_error **err)
{
	_cleanup_json_ json_t *cfg = NULL;
	const char *helper;
	json_t *auths, *entry;
	int ret;

	if (!dir)
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"no docker config folder to store the credentials in");
	ret = load_docker_config(dir, &cfg, err);
	if (ret < 0)
		return ret;
	helper = helper_for(cfg, key);
	auths = json_object_get(cfg, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(cfg, "auths", auths);
	}
	if (helper) {
		_cleanup_strbuf_ struct strbuf o = STRBUF_INIT;
		_cleanup_json_ json_t *msg = json_object();
		char *in;
		int rc;

		json_object_set_new(msg, "ServerURL", json_string(key));
		json_object_set_new(msg, "Username",
				    json_string(c->identity_token ? "<token>" :
						c->username ? c->username : ""));
		json_object_set_new(msg, "Secret",
				    json_string(c->identity_token ? c->identity_token :
						c->password ? c->password : ""));
		in = json_dumps(msg, JSON_COMPACT);
		rc = run_helper(helper, "store", in, &o, err);
		explicit_bzero(in, strlen(in));
		free(in);
		if (rc < 0)
			return rc;
		if (rc != 0) {
			_cleanup_free_ char *m = helper_message(&o);

			return strata_error_set(err, STRATA_ERR_AUTH, 0,
						"error storing credentials - credential helper %s: %s",
						helper, m);
		}
		/* docker keeps an empty entry so the key is listed */
		json_object_set_new(auths, key, json_object());
		return save_docker_config(dir, cfg, err);
	}
	entry = json_object();
	{
		_cleanup_free_ char *plain = xasprintf("%s:%s", c->username ? c->username : "",
						       c->password ? c->password : "");
		char *enc = registry_base64_encode(plain, strlen(plain));

		json_object_set_new(entry, "auth", json_string(enc));
		explicit_bzero(enc, strlen(enc));
		explicit_bzero(plain, strlen(plain));
		free(enc);
	}
	if (c->identity_token)
		json_object_set_new(entry, "identitytoken", json_string(c->identity_token));
	json_object_set_new(auths, key, entry);
	ret = save_docker_config(dir, cfg, err);
	return ret;
}

int registry_credentials_erase(const char *dir, const char *key, struct strata_error **err)
{
	_cleanup_json_ json_t *cfg = NULL;
	const char *helper, *found = NULL;
	json_t *auths;
	int ret, removed = 0;

	if (!dir)
		return 0;
	ret = load_docker_config(dir, &cfg, err);
	if (ret < 0)
		return ret;
	helper = helper_for(cfg, key);
	auths = json_object_get(cfg, "auths");
	if (helper) {
		_cleanup_strbuf_ struct strbuf o = STRBUF_INIT;
		int rc = run_helper(helper, "erase", key, &o, err);

		if (rc < 0)
			return rc;
		if (rc == 0)
			removed = 1;
	}
	while (json_is_object(auths) && find_auth_entry(auths, key, &found)) {
		_cleanup_free_ char *k = xstrdup(found);

		json_object_del(auths, k);
		removed = 1;
	}
	if (removed) {
		ret = save_docker_config(dir, cfg, err);
		if (ret < 0)
			return ret;
	}
	return removed;
}
