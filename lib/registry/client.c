/*
 * Registry client: authentication flow and the distribution API calls
 * (see registry.h).  Request sequences follow what dockerd 20.10 sends
 * (reference/docker-20.10/registry/requests-*.txt).
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "digest/digest.h"
#include "json/gojson.h"
#include "image/manifest.h"
#include "registry/registry.h"
#include "strata/reference.h"
#include "util/limits.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

#define MAX_TAG_PAGES 1000
#define MAX_TAGS 100000
#define MAX_CACHED_TOKENS 32

enum auth_scheme { AUTH_UNKNOWN, AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

struct token {
	char *scope;  /* space-joined scopes */
	char *value;
	time_t expires;
};

struct registry_client {
	struct registry_http *http;
	char *host;           /* as given */
	char *key;            /* credentials key */
	char *docker_config_dir; /* where they are stored, NULL: nowhere */
	bool hub;
	bool push;
	bool anonymous;
	bool creds_loaded;
	struct registry_credentials creds;
	enum auth_scheme scheme;
	char *realm;
	char *service;
	struct token tokens[MAX_CACHED_TOKENS];
	size_t n_tokens;
};

static void token_clear(struct token *t)
{
	free(t->scope);
	if (t->value) {
		explicit_bzero(t->value, strlen(t->value));
		free(t->value);
	}
	memset(t, 0, sizeof(*t));
}

int registry_client_new(const char *host, const struct registry_client_options *opts,
			struct registry_client **out, struct strata_error **err)
{
	static const struct registry_client_options defaults;
	struct registry_http_options hopts = { 0 };
	struct registry_client *c;
	const char *url_host;
	int ret;

	if (!opts)
		opts = &defaults;
	if (!host || !*host)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "empty registry host");
	c = xcalloc(1, sizeof(*c));
	c->host = xstrdup(host);
	c->hub = registry_host_is_hub(host);
	c->key = registry_auth_key(host);
	c->docker_config_dir = opts->docker_config_dir ? xstrdup(opts->docker_config_dir) : NULL;
	c->push = opts->push;
	c->anonymous = opts->anonymous;
	url_host = c->hub ? REGISTRY_HUB_HOST : host;
	hopts.config = opts->config;
	hopts.certs_dir = opts->certs_dir;
	hopts.scheme = opts->scheme;
	hopts.user_agent = opts->user_agent;
	hopts.max_retries = opts->max_retries;
	hopts.retry_delay_ms = opts->retry_delay_ms;
	ret = registry_http_new(url_host, &hopts, &c->http, err);
	if (ret < 0) {
		registry_client_free(c);
		return ret;
	}
	if (opts->credentials) {
		const struct registry_credentials *s = opts->credentials;

		c->creds.username = s->username ? xstrdup(s->username) : NULL;
		c->creds.password = s->password ? xstrdup(s->password) : NULL;
		c->creds.identity_token = s->identity_token ? xstrdup(s->identity_token) : NULL;
		c->creds_loaded = true;
	} else if (opts->anonymous) {
		c->creds_loaded = true;
	}
	*out = c;
	return 0;
}

void registry_client_free(struct registry_client *c)
{
	if (!c)
		return;
	registry_http_free(c->http);
	registry_credentials_release(&c->creds);
	for (size_t i = 0; i < c->n_tokens; i++)
		token_clear(&c->tokens[i]);
	free(c->host);
	free(c->key);
	free(c->docker_config_dir);
	free(c->realm);
	free(c->service);
	free(c);
}

const char *registry_client_host(const struct registry_client *c)
{
	return registry_http_host(c->http);
}

/* ---- errors ---- */

static int code_for_status(long status)
{
	switch (status) {
	case 401:
	case 403:
		return STRATA_ERR_AUTH;
	case 404:
		return STRATA_ERR_NOT_FOUND;
	case 400:
		return STRATA_ERR_INVALID;
	default:
		return STRATA_ERR_NET;
	}
}

/* "UNAUTHORIZED" -> "unauthorized", "MANIFEST_UNKNOWN" -> "manifest unknown" */
static void add_code(struct strbuf *sb, const char *code)
{
	for (const char *p = code; *p; p++) {
		char ch = *p == '_' ? ' ' : *p;

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		strbuf_addch(sb, ch);
	}
}

static void add_printable(struct strbuf *sb, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && i < max; i++)
		strbuf_addch(sb, (unsigned char)s[i] < 0x20 ? ' ' : s[i]);
}

int registry_error_from_response(const struct registry_response *resp, const char *what,
				 struct strata_error **err)
{
	_cleanup_json_ json_t *j = NULL;
	_cleanup_strbuf_ struct strbuf msg = STRBUF_INIT;
	int code = code_for_status(resp->status);
	json_t *errs;

	if (resp->body.len)
		j = json_loadb(resp->body.buf, resp->body.len, 0, NULL);
	errs = json_object_get(j, "errors");
	if (json_is_array(errs) && json_array_size(errs) > 0) {
		size_t i;
		json_t *e;

		json_array_foreach(errs, i, e) {
			const char *c = gojson_get_string(e, "code");
			const char *m = gojson_get_string(e, "message");

			if (i >= 4)
				break;
			if (i)
				strbuf_addstr(&msg, ", ");
			if (c) {
				add_code(&msg, c);
				if (m && *m) {
					strbuf_addstr(&msg, ": ");
					add_printable(&msg, m, 300);
				}
			} else if (m) {
				add_printable(&msg, m, 300);
			}
		}
	} else if (j && gojson_get_string(j, "details")) {
		add_printable(&msg, gojson_get_string(j, "details"), 300);
	}
	if (!msg.len) {
		switch (resp->status) {
		case 401:
			strbuf_addstr(&msg, "unauthorized: authentication required");
			break;
		case 403:
			strbuf_addstr(&msg, "denied: requested access to the resource is denied");
			break;
		case 429:
			strbuf_addstr(&msg, "toomanyrequests: too many requests");
			break;
		default:
			strbuf_addf(&msg, "unexpected HTTP status %ld", resp->status);
		}
	}
	if (what)
		return strata_error_set(err, code, 0, "%s: %s", what, msg.buf);
	return strata_error_set(err, code, 0, "%s", msg.buf);
}

/* ---- names ---- */

static int check_repo(const char *repo, struct strata_error **err)
{
	if (repo && strlen(repo) <= 255 && strata_ref_path_valid(repo))
		return 0;
	return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid repository name '%s'",
				repo ? repo : "");
}

static int check_reference(const char *ref, struct strata_error **err)
{
	if (ref && (digest_valid(ref) || strata_ref_tag_valid(ref)))
		return 0;
	return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid reference '%s'",
				ref ? ref : "");
}

/* Wire path of repo: Docker Hub's official images live under library/. */
static char *repo_path(const struct registry_client *c, const char *repo)
{
	if (c->hub && !strchr(repo, '/'))
		return xasprintf("library/%s", repo);
	return xstrdup(repo);
}

static char *escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *r;

	if (!e)
		xalloc_die();
	r = xstrdup(e);
	curl_free(e);
	return r;
}

/* ---- authentication ---- */

static int load_creds(struct registry_client *c, struct strata_error **err)
{
	int ret;

	if (c->creds_loaded)
		return 0;
	ret = registry_credentials_get(c->docker_config_dir, c->key, &c->creds, err);
	if (ret < 0)
		return ret;
	c->creds_loaded = true;
	return 0;
}

static bool have_basic(const struct registry_client *c)
{
	return c->creds.username && *c->creds.username && c->creds.password;
}

static char *basic_header(const struct registry_client *c)
{
	_cleanup_free_ char *plain = xasprintf("%s:%s", c->creds.username, c->creds.password);
	char *enc = registry_base64_encode(plain, strlen(plain));
	char *h = xasprintf("Basic %s", enc);

	explicit_bzero(plain, strlen(plain));
	explicit_bzero(enc, strlen(enc));
	free(enc);
	return h;
}

static void set_challenge(struct registry_client *c, const struct registry_response *resp)
{
	enum auth_scheme best = AUTH_UNKNOWN;

	for (size_t i = 0; i < resp->n_www_authenticate; i++) {
		struct registry_challenge *ch = NULL;
		size_t n = 0;

		if (registry_challenges_parse(resp->www_authenticate[i], &ch, &n, NULL) < 0)
			continue;
		for (size_t j = 0; j < n; j++) {
			const char *realm = registry_challenge_param(&ch[j], "realm");
			const char *service = registry_challenge_param(&ch[j], "service");

			if (!strcmp(ch[j].scheme, "bearer") && realm && *realm) {
				free(c->realm);
				free(c->service);
				c->realm = xstrdup(realm);
				c->service = service ? xstrdup(service) : NULL;
				best = AUTH_BEARER;
			} else if (!strcmp(ch[j].scheme, "basic") && best != AUTH_BEARER) {
				best = AUTH_BASIC;
			}
		}
		registry_challenges_free(ch, n);
	}
	c->scheme = best == AUTH_UNKNOWN ? AUTH_BASIC : best;
}

int registry_ping(struct registry_client *c, struct strata_error **err)
{
	struct registry_request req = { .method = "GET", .url = "/v2/", .max_response = 64 * 1024 };
	struct registry_response resp;
	int ret;

	if (c->scheme != AUTH_UNKNOWN)
		return 0;
	registry_response_init(&resp);
	ret = registry_http_do(c->http, &req, &resp, err);
	if (ret < 0)
		goto out;
	if (resp.status == 200) {
		c->scheme = AUTH_NONE;
	} else if (resp.status == 401) {
		set_challenge(c, &resp);
	} else if (resp.status == 404) {
		ret = strata_error_set(err, STRATA_ERR_UNSUPPORTED, 0,
				       "%s does not support the registry API v2", c->host);
	} else {
		ret = registry_error_from_response(&resp, NULL, err);
		strata_error_wrap(err, "ping %s", c->host);
	}
out:
	registry_response_release(&resp);
	return ret;
}

/* Domain = last two labels ("registry.gitlab.com" -> "gitlab.com"). */
static const char *domain_of(const char *host)
{
	const char *last = strrchr(host, '.'), *p;

	if (!last)
		return host;
	for (p = last - 1; p > host && *p != '.'; p--)
		;
	return *p == '.' ? p + 1 : p;
}

/* An IPv4 or IPv6 address literal (no domain to speak of). */
static bool is_ip_literal(const char *name)
{
	unsigned char a[16];

	return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

/*
 * May Basic credentials go to this realm?  Only to the registry's own host
 * (any port) or, for DNS names, its domain (Docker Hub: auth.docker.io);
 * plain HTTP only where registry_http_url_allowed() says so.  Another
 * loopback address is another host (127.0.0.2 is not 127.0.0.1), and
 * addresses have no domain ("127.1.0.1" and "10.0.0.1" share "0.1" only
 * textually).
 */
static bool realm_trusted(const struct registry_client *c, const char *realm)
{
	_cleanup_free_ char *rhost = NULL, *ghost = NULL, *rname = NULL, *gname = NULL;
	int rport, gport;
	CURLU *u = curl_url();
	char *h = NULL;
	bool ok = false;

	if (!u)
		xalloc_die();
	if (curl_url_set(u, CURLUPART_URL, realm, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK)
		rhost = xstrdup(h);
	curl_free(h);
	curl_url_cleanup(u);
	if (!rhost)
		return false;
	if (registry_host_split(registry_http_host(c->http), &gname, &gport) < 0)
		return false;
	rname = xstrdup(rhost[0] == '[' ? rhost + 1 : rhost);
	if (rname[0] && rname[strlen(rname) - 1] == ']')
		rname[strlen(rname) - 1] = '\0';
	(void)rport;
	if (!strcasecmp(rname, gname))
		ok = true;
	else if (!is_ip_literal(rname) && !is_ip_literal(gname) &&
		 strchr(domain_of(gname), '.') && !strcasecmp(domain_of(rname), domain_of(gname)))
		ok = true;
	return ok && registry_http_url_allowed(c->http, realm);
}

static char *scope_key(const char *const *scopes, size_t n)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addch(&sb, ' ');
		strbuf_addstr(&sb, scopes[i]);
	}
	return strbuf_detach(&sb, NULL);
}

int registry_token_parse(const char *body, size_t len, char **out, int *expires_in,
			 struct strata_error **err)
{
	_cleanup_json_ json_t *j = json_loadb(body, len, 0, NULL);
	const char *tok = gojson_get_string(j, "token");
	json_t *exp;

	if (!tok || !*tok)
		tok = gojson_get_string(j, "access_token");
	/* the token goes into a header line */
	if (!tok || !*tok || strpbrk(tok, "\r\n"))
		return strata_error_set(err, STRATA_ERR_AUTH, 0,
					"authorization server did not include a token in the response");
	*out = xstrdup(tok);
	exp = json_object_get(j, "expires_in");
	*expires_in = json_is_integer(exp) && json_integer_value(exp) > 60 &&
				      json_integer_value(exp) < 86400 * 7 ?
			      (int)json_integer_value(exp) :
			      60;
	return 0;
}

static int fetch_token(struct registry_client *c, const char *const *scopes, size_t n,
		       char **out, int *expires_in, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf url = STRBUF_INIT;
	_cleanup_strbuf_ struct strbuf form = STRBUF_INIT;
	_cleanup_free_ char *auth = NULL;
	struct registry_request req = { 0 };
	struct registry_response resp;
	bool trusted;
	int ret;

	if (!registry_http_url_allowed(c->http, c->realm))
		return strata_error_set(err, STRATA_ERR_AUTH, 0,
					"refusing token realm over plain HTTP for %s", c->host);
	trusted = realm_trusted(c, c->realm);
	req.max_response = REGISTRY_MAX_TOKEN;
	req.auth_to_url_host = true;
	if (trusted && c->creds.identity_token) {
		/* OAuth2 refresh-token grant, as docker does with identity tokens */
		_cleanup_free_ char *rt = escape(c->creds.identity_token);

		strbuf_addstr(&form, "grant_type=refresh_token&client_id=strata");
		if (c->service) {
			_cleanup_free_ char *s = escape(c->service);

			strbuf_addf(&form, "&service=%s", s);
		}
		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *s = escape(scopes[i]);

			strbuf_addf(&form, "&scope=%s", s);
		}
		strbuf_addf(&form, "&refresh_token=%s", rt);
		explicit_bzero(rt, strlen(rt));
		static const char *const hdrs[] = {
			"Content-Type: application/x-www-form-urlencoded", NULL
		};
		req.method = "POST";
		req.url = c->realm;
		req.headers = hdrs;
		req.body = form.buf;
		req.body_len = form.len;
	} else {
		char sep = strchr(c->realm, '?') ? '&' : '?';

		strbuf_addstr(&url, c->realm);
		if (c->service) {
			_cleanup_free_ char *s = escape(c->service);

			strbuf_addf(&url, "%cservice=%s", sep, s);
			sep = '&';
		}
		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *s = escape(scopes[i]);

			strbuf_addf(&url, "%cscope=%s", sep, s);
			sep = '&';
		}
		if (trusted && have_basic(c))
			auth = basic_header(c);
		req.method = "GET";
		req.url = url.buf;
		req.authorization = auth;
	}
	registry_response_init(&resp);
	ret = registry_http_do(c->http, &req, &resp, err);
	if (form.len)
		explicit_bzero(form.buf, form.len);
	if (auth)
		explicit_bzero(auth, strlen(auth));
	if (ret < 0)
		goto out;
	if (resp.status != 200) {
		if (resp.status == 401 && !resp.body.len) {
			ret = strata_error_set(err, STRATA_ERR_AUTH, 0,
					       "unauthorized: incorrect username or password");
		} else {
			ret = registry_error_from_response(&resp, NULL, err);
		}
		goto out;
	}
	ret = registry_token_parse(resp.body.buf, resp.body.len, out, expires_in, err);
out:
	if (resp.body.len)
		explicit_bzero(resp.body.buf, resp.body.len);
	registry_response_release(&resp);
	return ret;
}

/* Authorization header value for scopes (NULL when anonymous access). */
static int auth_header(struct registry_client *c, const char *const *scopes, size_t n,
		       bool fresh, char **out, struct strata_error **err)
{
	_cleanup_free_ char *key = NULL;
	char *tok = NULL;
	time_t now = time(NULL);
	int exp = 0, ret;
	size_t slot;

	*out = NULL;
	if (c->scheme == AUTH_NONE)
		return 0;
	ret = load_creds(c, err);
	if (ret < 0)
		return ret;
	if (c->scheme == AUTH_BASIC) {
		if (have_basic(c))
			*out = basic_header(c);
		return 0;
	}
	key = scope_key(scopes, n);
	for (size_t i = 0; i < c->n_tokens; i++) {
		if (strcmp(c->tokens[i].scope, key))
			continue;
		if (!fresh && c->tokens[i].expires > now) {
			*out = xasprintf("Bearer %s", c->tokens[i].value);
			return 0;
		}
		token_clear(&c->tokens[i]);
		c->tokens[i] = c->tokens[--c->n_tokens];
		break;
	}
	ret = fetch_token(c, scopes, n, &tok, &exp, err);
	if (ret < 0)
		return ret;
	if (c->n_tokens == MAX_CACHED_TOKENS) {
		token_clear(&c->tokens[0]);
		c->tokens[0] = c->tokens[--c->n_tokens];
	}
	slot = c->n_tokens++;
	c->tokens[slot].scope = steal_pointer(&key);
	c->tokens[slot].value = tok;
	c->tokens[slot].expires = now + exp - 10;
	*out = xasprintf("Bearer %s", tok);
	return 0;
}

int registry_login(struct registry_client *c, struct strata_error **err)
{
	_cleanup_free_ char *tok = NULL;
	int exp, ret;

	ret = registry_ping(c, err);
	if (ret < 0)
		return ret;
	ret = load_creds(c, err);
	if (ret < 0)
		return ret;
	if (c->scheme == AUTH_NONE)
		return 0;
	if (c->scheme == AUTH_BEARER) {
		if (!have_basic(c) && !c->creds.identity_token)
			return strata_error_set(err, STRATA_ERR_AUTH, 0,
						"unauthorized: no credentials");
		if (!realm_trusted(c, c->realm))
			return strata_error_set(err, STRATA_ERR_AUTH, 0,
						"refusing to send credentials to the token server of %s: it is on another host",
						c->host);
		ret = fetch_token(c, NULL, 0, &tok, &exp, err);
		if (tok)
			explicit_bzero(tok, strlen(tok));
		return ret;
	}
	{
		_cleanup_free_ char *auth = have_basic(c) ? basic_header(c) : NULL;
		struct registry_request req = { .method = "GET", .url = "/v2/",
						.authorization = auth, .max_response = 64 * 1024 };
		struct registry_response resp;

		registry_response_init(&resp);
		ret = registry_http_do(c->http, &req, &resp, err);
		if (ret == 0 && resp.status != 200)
			ret = registry_error_from_response(&resp, NULL, err);
		registry_response_release(&resp);
		if (auth)
			explicit_bzero(auth, strlen(auth));
		return ret;
	}
}

/*
 * Send req with authorization for scopes; on 401 learn the challenge again
 * and retry once with a fresh token (not for streamed bodies).
 */
static int client_do(struct registry_client *c, struct registry_request *req,
		     const char *const *scopes, size_t n, struct registry_response *resp,
		     struct strata_error **err)
{
	int ret;

	ret = registry_ping(c, err);
	if (ret < 0)
		return ret;
	for (int attempt = 0; attempt < 2; attempt++) {
		_cleanup_free_ char *auth = NULL;

		ret = auth_header(c, scopes, n, attempt > 0, &auth, err);
		if (ret < 0)
			return ret;
		req->authorization = auth;
		ret = registry_http_do(c->http, req, resp, err);
		req->authorization = NULL;
		if (auth)
			explicit_bzero(auth, strlen(auth));
		if (ret < 0)
			return ret;
		if (resp->status != 401 || req->read_fn || attempt > 0)
			break;
		/*
		 * A 401 from another host (storage a blob was redirected to) says
		 * nothing about how to authenticate to the registry: learning its
		 * realm would send a token request, perhaps with credentials, where
		 * that host wants (ContainerDrip, CVE-2020-15157).
		 */
		if (!resp->url || !registry_http_same_host(c->http, resp->url))
			break;
		if (c->scheme == AUTH_NONE || c->scheme == AUTH_BEARER)
			set_challenge(c, resp);
		if (c->scheme == AUTH_BASIC)
			break; /* the same credentials will not do better */
	}
	return 0;
}

static char *repo_scope(const struct registry_client *c, const char *path, bool push)
{
	return xasprintf("repository:%s:%s", path, push ? "pull,push" : "pull");
}

/* ---- manifests ---- */

static char *media_type_base(const char *ct)
{
	size_t n;

	if (!ct)
		return NULL;
	n = strcspn(ct, "; \t");
	return n ? xstrndup(ct, n) : NULL;
}

static char *accept_header(const char *const *accept)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "Accept: ");
	for (size_t i = 0; accept[i]; i++)
		strbuf_addf(&sb, "%s%s", i ? ", " : "", accept[i]);
	return strbuf_detach(&sb, NULL);
}

int registry_get_manifest(struct registry_client *c, const char *repo, const char *reference,
			  const char *const *accept, char **bytes, size_t *len, char **media_type,
			  char **digest, struct strata_error **err)
{
	_cleanup_free_ char *path = NULL, *scope = NULL, *acc = NULL, *url = NULL;
	_cleanup_free_ char *want = NULL;
	const char *hdrs[2];
	const char *scopes[1];
	struct registry_request req = { 0 };
	struct registry_response resp;
	struct strata_error *e = NULL;
	char hex[STRATA_HEX_LEN + 1];
	int ret;

	if ((ret = check_repo(repo, err)) < 0 || (ret = check_reference(reference, err)) < 0)
		return ret;
	path = repo_path(c, repo);
	scope = repo_scope(c, path, c->push);
	scopes[0] = scope;
	acc = accept_header(accept ? accept : registry_manifest_accept);
	hdrs[0] = acc;
	hdrs[1] = NULL;
	registry_response_init(&resp);
	if (digest_valid(reference)) {
		want = xstrdup(reference);
	} else {
		/* HEAD by tag to learn the digest, then GET by digest (dockerd) */
		url = xasprintf("/v2/%s/manifests/%s", path, reference);
		req.method = "HEAD";
		req.url = url;
		req.headers = hdrs;
		req.follow_redirects = true;
		ret = client_do(c, &req, scopes, 1, &resp, err);
		if (ret < 0)
			goto out;
		if (resp.status == 200 && resp.digest && digest_valid(resp.digest)) {
			want = xstrdup(resp.digest);
		} else if (resp.status != 200 && resp.status != 404) {
			ret = registry_error_from_response(&resp, NULL, err);
			goto out;
		}
		/* a HEAD's 404 has no body: the GET by tag below gets the
		 * registry's own error, which docker (a GET by tag) prints */
		free(url);
	}
	url = xasprintf("/v2/%s/manifests/%s", path, want ? want : reference);
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = url;
	req.headers = hdrs;
	req.follow_redirects = true;
	req.max_response = LIMIT_MANIFEST;
	ret = client_do(c, &req, scopes, 1, &resp, &e);
	if (ret == -STRATA_ERR_TOO_LARGE) {
		strata_error_free(e);
		ret = strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
				       "manifest %s:%s is larger than the %u MiB limit", repo,
				       reference, LIMIT_MANIFEST >> 20);
		goto out;
	}
	if (ret < 0) {
		strata_error_propagate(err, e);
		strata_error_wrap(err, "fetching manifest %s:%s", repo, reference);
		goto out;
	}
	if (resp.status != 200) {
		if (resp.status == 404 && !resp.body.len)
			ret = strata_error_set(err, STRATA_ERR_NOT_FOUND, 0,
					       "manifest unknown: manifest for %s:%s not found", repo,
					       reference);
		else
			ret = registry_error_from_response(&resp, NULL, err);
		goto out;
	}
	sha256_hex(resp.body.buf, resp.body.len, hex);
	{
		_cleanup_free_ char *got = xasprintf("sha256:%s", hex);

		if (want && strcmp(want, got)) {
			ret = strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
					       "manifest verification failed for digest %s", want);
			goto out;
		}
		if (!want && resp.digest && strcmp(resp.digest, got)) {
			ret = strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
					       "manifest digest %s does not match Docker-Content-Digest",
					       got);
			goto out;
		}
		if (media_type)
			*media_type = media_type_base(resp.content_type);
		if (digest)
			*digest = steal_pointer(&got);
	}
	*bytes = strbuf_detach(&resp.body, len);
out:
	registry_response_release(&resp);
	return ret;
}

int registry_put_manifest(struct registry_client *c, const char *repo, const char *reference,
			  const void *bytes, size_t len, const char *media_type, char **digest,
			  struct strata_error **err)
{
	_cleanup_free_ char *path = NULL, *scope = NULL, *url = NULL, *ct = NULL, *got = NULL;
	const char *hdrs[2];
	const char *scopes[1];
	struct registry_request req = { 0 };
	struct registry_response resp;
	char hex[STRATA_HEX_LEN + 1];
	int ret;

	if ((ret = check_repo(repo, err)) < 0 || (ret = check_reference(reference, err)) < 0)
		return ret;
	if (!media_type || strpbrk(media_type, "\r\n"))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid manifest media type");
	if (len > LIMIT_MANIFEST)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "manifest too large");
	sha256_hex(bytes, len, hex);
	got = xasprintf("sha256:%s", hex);
	if (digest_valid(reference) && strcmp(reference, got))
		return strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
					"manifest bytes do not match digest %s", reference);
	path = repo_path(c, repo);
	scope = repo_scope(c, path, true);
	scopes[0] = scope;
	ct = xasprintf("Content-Type: %s", media_type);
	hdrs[0] = ct;
	hdrs[1] = NULL;
	url = xasprintf("/v2/%s/manifests/%s", path, reference);
	req.method = "PUT";
	req.url = url;
	req.headers = hdrs;
	req.body = bytes;
	req.body_len = len;
	req.max_response = 64 * 1024;
	registry_response_init(&resp);
	ret = client_do(c, &req, scopes, 1, &resp, err);
	if (ret < 0)
		goto out;
	if (resp.status != 201 && resp.status != 200 && resp.status != 202) {
		ret = registry_error_from_response(&resp, NULL, err);
		goto out;
	}
	if (resp.digest && strcmp(resp.digest, got)) {
		ret = strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
				       "registry stored manifest as %s, expected %s", resp.digest, got);
		goto out;
	}
	if (digest)
		*digest = steal_pointer(&got);
out:
	registry_response_release(&resp);
	return ret;
}

/* ---- blobs ---- */

static int blob_prepare(struct registry_client *c, const char *repo, const char *digest,
			char **path, char **scope, struct strata_error **err)
{
	int ret;

	if ((ret = check_repo(repo, err)) < 0)
		return ret;
	if (!digest || !digest_valid(digest))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid digest '%s'",
					digest ? digest : "");
	*path = repo_path(c, repo);
	*scope = repo_scope(c, *path, c->push);
	return 0;
}

int registry_blob_get(struct registry_client *c, const char *repo, const char *digest,
		      uint64_t offset, stream_write_fn write_fn, void *cookie,
		      struct strata_error **err)
{
	_cleanup_free_ char *path = NULL, *scope = NULL, *url = NULL;
	struct registry_request req = { 0 };
	struct registry_response resp;
	const char *scopes[1];
	int ret;

	if ((ret = blob_prepare(c, repo, digest, &path, &scope, err)) < 0)
		return ret;
	scopes[0] = scope;
	url = xasprintf("/v2/%s/blobs/%s", path, digest);
	req.method = "GET";
	req.url = url;
	req.follow_redirects = true;
	req.write_fn = write_fn;
	req.write_cookie = cookie;
	req.range_start = offset;
	registry_response_init(&resp);
	ret = client_do(c, &req, scopes, 1, &resp, err);
	if (ret == 0 && resp.status != 200 && resp.status != 206)
		ret = registry_error_from_response(&resp, NULL, err);
	if (ret < 0)
		strata_error_wrap(err, "fetching blob %s", digest);
	registry_response_release(&resp);
	return ret;
}

struct membuf {
	struct strbuf sb;
	size_t max;
	bool over;
};

static int membuf_write(void *cookie, const void *data, size_t len, struct strata_error **err)
{
	struct membuf *m = cookie;

	(void)err; /* the caller tells an over-long blob by m->over */

	if (m->sb.len + len > m->max) {
		m->over = true;
		return -STRATA_ERR_TOO_LARGE;
	}
	strbuf_add(&m->sb, data, len);
	return 0;
}

int registry_blob_get_buf(struct registry_client *c, const char *repo, const char *digest,
			  size_t max, char **out, size_t *len, struct strata_error **err)
{
	struct membuf m = { STRBUF_INIT, max, false };
	struct strata_error *e = NULL;
	char hex[STRATA_HEX_LEN + 1];
	int ret;

	ret = registry_blob_get(c, repo, digest, 0, membuf_write, &m, &e);
	if (ret < 0) {
		if (m.over) {
			strata_error_free(e);
			ret = strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
					       "blob %s is larger than %zu bytes", digest, max);
		} else {
			strata_error_propagate(err, e);
		}
		strbuf_release(&m.sb);
		return ret;
	}
	sha256_hex(m.sb.buf, m.sb.len, hex);
	if (strcmp(hex, digest + 7)) {
		strbuf_release(&m.sb);
		return strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
					"blob %s: content does not match its digest", digest);
	}
	*out = strbuf_detach(&m.sb, len);
	return 0;
}

int registry_blob_exists(struct registry_client *c, const char *repo, const char *digest,
			 int64_t *size, struct strata_error **err)
{
	_cleanup_free_ char *path = NULL, *scope = NULL, *url = NULL;
	struct registry_request req = { 0 };
	struct registry_response resp;
	const char *scopes[1];
	int ret;

	if ((ret = blob_prepare(c, repo, digest, &path, &scope, err)) < 0)
		return ret;
	scopes[0] = scope;
	url = xasprintf("/v2/%s/blobs/%s", path, digest);
	req.method = "HEAD";
	req.url = url;
	req.follow_redirects = true;
	registry_response_init(&resp);
	ret = client_do(c, &req, scopes, 1, &resp, err);
	if (ret == 0) {
		if (resp.status == 200) {
			if (size)
				*size = resp.content_length;
			ret = 1;
		} else if (resp.status == 404) {
			ret = 0;
		} else {
			ret = registry_error_from_response(&resp, NULL, err);
		}
	}
	registry_response_release(&resp);
	return ret;
}

int registry_blob_mount(struct registry_client *c, const char *repo, const char *digest,
			const char *from_repo, char **location, struct strata_error **err)
{
	_cleanup_free_ char *path = NULL, *scope = NULL, *url = NULL, *from = NULL;
	_cleanup_free_ char *from_scope = NULL, *edig = NULL, *efrom = NULL;
	struct registry_request req = { 0 };
	struct registry_response resp;
	const char *scopes[2];
	int ret;

	if ((ret = blob_prepare(c, repo, digest, &path, &scope, err)) < 0 ||
	    (ret = check_repo(from_repo, err)) < 0)
		return ret;
	free(scope);
	scope = repo_scope(c, path, true);
	from = repo_path(c, from_repo);
	from_scope = repo_scope(c, from, false);
	scopes[0] = scope;
	scopes[1] = from_scope;
	edig = escape(digest);
	efrom = escape(from);
	url = xasprintf("/v2/%s/blobs/uploads/?from=%s&mount=%s", path, efrom, edig);
	req.method = "POST";
	req.url = url;
	req.max_response = 64 * 1024;
	registry_response_init(&resp);
	ret = client_do(c, &req, scopes, 2, &resp, err);
	if (ret == 0) {
		if (resp.status == 201) {
			ret = 1;
		} else if (resp.status == 202 && resp.location) {
			if (location)
				*location = steal_pointer(&resp.location);
			ret = 0;
		} else {
			ret = registry_error_from_response(&resp, NULL, err);
		}
	}
	registry_response_release(&resp);
	return ret;
}

static int start_upload(struct registry_client *c, const char *path, const char *const *scopes,
			char **location, struct strata_error **err)
{
	_cleanup_free_ char *url = xasprintf("/v2/%s/blobs/uploads/", path);
	struct registry_request req = { .method = "POST", .url = url, .max_response = 64 * 1024 };
	struct registry_response resp;
	int ret;

	registry_response_init(&resp);
	ret = client_do(c, &req, scopes, 1, &resp, err);
	if (ret == 0) {
		if (resp.status == 202 && resp.location)
			*location = steal_pointer(&resp.location);
		else
			ret = registry_error_from_response(&resp, NULL, err);
	}
	registry_response_release(&resp);
	return ret;
}

static char *with_query(const char *url, const char *kv)
{
	return xasprintf("%s%c%s", url, strchr(url, '?') ? '&' : '?', kv);
}

struct bufreader {
	const char *data;
	size_t len, off;
};

static ssize_t bufreader_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct bufreader *r = cookie;

	(void)err;
	size_t n = r->len - r->off < len ? r->len - r->off : len;

	memcpy(buf, r->data + r->off, n);
	r->off += n;
	return (ssize_t)n;
}

/* Hashes what the PATCH body sends, so the digest of a stream is known at the PUT. */
struct hashing_reader {
	stream_read_fn read_fn;
	void *cookie;
	struct sha256_ctx sha;
};

static ssize_t hashing_read(void *cookie, void *buf, size_t len, struct strata_error **err)
{
	struct hashing_reader *h = cookie;
	ssize_t n = h->read_fn(h->cookie, buf, len, err);

	if (n > 0)
		sha256_update(&h->sha, buf, (size_t)n);
	return n;
}

int registry_blob_upload(struct registry_client *c, const char *repo, const char *expected,
			 stream_read_fn read_fn, void *cookie, const char *location,
			 char digest_out[STRATA_DIGEST_LEN + 1], struct strata_error **err)
{
	_cleanup_free_ char *path = NULL, *scope = NULL, *loc = NULL, *put = NULL, *q = NULL;
	_cleanup_free_ char *edig = NULL;
	static const char *const patch_hdrs[] = { "Content-Type: application/octet-stream", NULL };
	struct hashing_reader hr = { read_fn, cookie, { NULL } };
	struct registry_request req = { 0 };
	struct registry_response resp;
	char digest[STRATA_DIGEST_LEN + 1];
	const char *scopes[1];
	const char *what = expected ? expected : "stream";
	int ret;

	if ((ret = check_repo(repo, err)) < 0)
		return ret;
	if (expected && !digest_valid(expected))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid digest '%s'", expected);
	path = repo_path(c, repo);
	scope = repo_scope(c, path, true);
	scopes[0] = scope;
	if (location) {
		loc = xstrdup(location);
	} else {
		ret = start_upload(c, path, scopes, &loc, err);
		if (ret < 0)
			return strata_error_wrap(err, "starting upload of %s", what);
	}
	registry_response_init(&resp);
	sha256_init(&hr.sha);
	req.method = "PATCH";
	req.url = loc;
	req.headers = patch_hdrs;
	req.read_fn = hashing_read;
	req.read_cookie = &hr;
	req.max_response = 64 * 1024;
	ret = client_do(c, &req, scopes, 1, &resp, err);
	memcpy(digest, "sha256:", 7);
	sha256_final_hex(&hr.sha, digest + 7);
	if (ret < 0)
		goto out;
	if (resp.status != 202 && resp.status != 204) {
		ret = registry_error_from_response(&resp, NULL, err);
		goto out;
	}
	if (expected && strcmp(expected, digest)) {
		ret = strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0, "the data sent hashes to %s", digest);
		goto out;
	}
	if (resp.location) {
		free(loc);
		loc = steal_pointer(&resp.location);
	}
	edig = escape(digest);
	q = xasprintf("digest=%s", edig);
	put = with_query(loc, q);
	memset(&req, 0, sizeof(req));
	req.method = "PUT";
	req.url = put;
	req.max_response = 64 * 1024;
	ret = client_do(c, &req, scopes, 1, &resp, err);
	if (ret < 0)
		goto out;
	if (resp.status != 201 && resp.status != 204) {
		ret = registry_error_from_response(&resp, NULL, err);
		goto out;
	}
	if (resp.digest && strcmp(resp.digest, digest))
		ret = strata_error_set(err, STRATA_ERR_DIGEST_MISMATCH, 0,
				       "registry stored blob as %s, expected %s", resp.digest, digest);
	if (ret >= 0 && digest_out)
		memcpy(digest_out, digest, sizeof(digest));
out:
	if (ret < 0)
		strata_error_wrap(err, "uploading blob %s", what);
	registry_response_release(&resp);
	return ret;
}

int registry_blob_upload_buf(struct registry_client *c, const char *repo, const char *digest,
			     const void *data, size_t len, struct strata_error **err)
{
	struct bufreader r = { data, len, 0 };

	return registry_blob_upload(c, repo, digest, bufreader_read, &r, NULL, NULL, err);
}

/* ---- tags ---- */

void registry_tags_free(char **tags, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(tags[i]);
	free(tags);
}

/* URL of rel="next" in a Link header ("<url>; rel=\"next\""), new string. */
static char *link_next(const char *link)
{
	const char *p = link;

	while (p && *p) {
		const char *lt = strchr(p, '<'), *gt;
		const char *end;

		if (!lt || !(gt = strchr(lt, '>')))
			return NULL;
		end = strchr(gt, ',');
		if (!end)
			end = gt + strlen(gt);
		{
			_cleanup_free_ char *params = xstrndup(gt + 1, (size_t)(end - gt - 1));

			if (strstr(params, "rel=\"next\"") || strstr(params, "rel=next"))
				return xstrndup(lt + 1, (size_t)(gt - lt - 1));
		}
		p = *end ? end + 1 : end;
	}
	return NULL;
}

int registry_list_tags(struct registry_client *c, const char *repo, char ***tags, size_t *n,
		       struct strata_error **err)
{
	_cleanup_free_ char *path = NULL, *scope = NULL, *url = NULL;
	const char *scopes[1];
	char **list = NULL;
	size_t count = 0, alloc = 0;
	int ret;

	if ((ret = check_repo(repo, err)) < 0)
		return ret;
	path = repo_path(c, repo);
	scope = repo_scope(c, path, c->push);
	scopes[0] = scope;
	url = xasprintf("/v2/%s/tags/list", path);
	for (int page = 0; url; page++) {
		struct registry_request req = { .method = "GET", .url = url,
						.max_response = LIMIT_MANIFEST,
						.follow_redirects = true };
		struct registry_response resp;
		_cleanup_json_ json_t *j = NULL;
		json_t *arr, *t;
		size_t i;

		if (page >= MAX_TAG_PAGES) {
			ret = strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
					       "too many pages of tags for %s", repo);
			break;
		}
		registry_response_init(&resp);
		ret = client_do(c, &req, scopes, 1, &resp, err);
		if (ret == 0 && resp.status != 200)
			ret = registry_error_from_response(&resp, NULL, err);
		if (ret == 0) {
			j = json_loadb(resp.body.buf, resp.body.len, JSON_REJECT_DUPLICATES, NULL);
			arr = json_object_get(j, "tags");
			if (!json_is_object(j) || (arr && !json_is_array(arr) && !json_is_null(arr)))
				ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
						       "invalid tag list from registry for %s", repo);
		}
		if (ret == 0 && json_is_array(arr)) {
			json_array_foreach(arr, i, t) {
				if (!json_is_string(t) || !strata_ref_tag_valid(json_string_value(t)))
					continue;
				if (count >= MAX_TAGS) {
					ret = strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
							       "too many tags for %s", repo);
					break;
				}
				ALLOC_GROW(list, count + 1, alloc);
				list[count++] = xstrdup(json_string_value(t));
			}
		}
		free(url);
		url = NULL;
		if (ret == 0 && resp.link) {
			_cleanup_free_ char *next = link_next(resp.link);

			if (next) {
				_cleanup_free_ char *abs = registry_url_resolve(resp.url, next);

				if (abs && registry_http_same_host(c->http, abs))
					url = steal_pointer(&abs);
			}
		}
		registry_response_release(&resp);
		if (ret < 0)
			break;
	}
	if (ret < 0) {
		registry_tags_free(list, count);
		return strata_error_wrap(err, "listing tags of %s", repo);
	}
	*tags = list;
	*n = count;
	return 0;
}
