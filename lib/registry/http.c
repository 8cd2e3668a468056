/*
 * libcurl wrapper bound to one registry host; the policy is described in
 * http.h.  Each request starts from curl_easy_reset() so no option leaks
 * from one request to the next, while the handle keeps its connection cache.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/http.h"
#include "registry/http.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define MAX_CA_BUNDLE (16u * 1024 * 1024)

struct registry_http {
	CURL *curl;
	char *host;          /* as given: "name[:port]" */
	char *base;          /* "https://host" or "http://host" */
	bool insecure;       /* plain HTTP allowed, TLS not verified */
	bool scheme_decided; /* a response was received over base's scheme */
	const struct registry_config *config;
	char *ca_blob;       /* system CAs + certs.d *.crt, or NULL */
	size_t ca_blob_len;
	char *client_cert, *client_key;
	char *user_agent;
	long connect_timeout_ms, stall_timeout_s, request_timeout_s, retry_delay_ms;
	int max_retries;
};

void registry_response_init(struct registry_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	strbuf_init(&resp->body, 0);
	resp->content_length = -1;
}

void registry_response_release(struct registry_response *resp)
{
	strbuf_release(&resp->body);
	free(resp->content_type);
	free(resp->digest);
	free(resp->location);
	free(resp->link);
	free(resp->content_range);
	free(resp->retry_after);
	for (size_t i = 0; i < resp->n_www_authenticate; i++)
		free(resp->www_authenticate[i]);
	free(resp->www_authenticate);
	free(resp->url);
	registry_response_init(resp);
}

static void response_reset_headers(struct registry_response *resp)
{
	struct strbuf body = resp->body;

	resp->body = (struct strbuf)STRBUF_INIT;
	registry_response_release(resp);
	strbuf_release(&resp->body);
	resp->body = body;
	strbuf_reset(&resp->body);
}

char *registry_url_redact(const char *url)
{
	size_t n = strcspn(url, "?#");

	return xstrndup(url, n);
}

char *registry_url_resolve(const char *base, const char *ref)
{
	CURLU *u = curl_url();
	char *out = NULL, *scheme = NULL, *user = NULL, *res = NULL;

	if (!u)
		xalloc_die();
	if (base && curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK)
		goto done;
	if (curl_url_set(u, CURLUPART_URL, ref, 0) != CURLUE_OK)
		goto done;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		goto done;
	if (strcmp(scheme, "http") && strcmp(scheme, "https"))
		goto done;
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
		goto done; /* never carry credentials in URLs */
	if (curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK)
		goto done;
	res = xstrdup(out);
done:
	curl_free(out);
	curl_free(scheme);
	curl_free(user);
	curl_url_cleanup(u);
	return res;
}

/* "scheme", "host" (lowercase, no brackets) and port (default filled in); false when unparsable. */
static bool url_parts(const char *url, char **scheme, char **host, long *port)
{
	CURLU *u = curl_url();
	char *s = NULL, *h = NULL, *p = NULL;
	bool ok = false;

	if (!u)
		xalloc_die();
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto done;
	if (curl_url_get(u, CURLUPART_SCHEME, &s, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto done;
	*scheme = xstrdup(s);
	*host = xstrdup(h);
	for (char *c = *host; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	*port = strtol(p, NULL, 10);
	ok = true;
done:
	curl_free(s);
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return ok;
}

bool registry_http_same_host(const struct registry_http *h, const char *url)
{
	_cleanup_free_ char *s1 = NULL, *h1 = NULL, *s2 = NULL, *h2 = NULL;
	long p1, p2;

	if (!url_parts(h->base, &s1, &h1, &p1) || !url_parts(url, &s2, &h2, &p2))
		return false;
	return !strcmp(h1, h2) && p1 == p2;
}

static bool same_origin(const char *a, const char *b)
{
	_cleanup_free_ char *s1 = NULL, *h1 = NULL, *s2 = NULL, *h2 = NULL;
	long p1, p2;

	if (!url_parts(a, &s1, &h1, &p1) || !url_parts(b, &s2, &h2, &p2))
		return false;
	return !strcmp(h1, h2) && p1 == p2;
}

/*
 * Is the host of url insecure (plain HTTP allowed, TLS not verified)?  The
 * registry's own host as decided at creation; any other host (a redirect
 * target, a token realm) by its own entry: loopback or listed.
 */
static bool url_host_insecure(const struct registry_http *h, const char *url)
{
	_cleanup_free_ char *s = NULL, *host = NULL, *hp = NULL;
	long port;

	if (registry_http_same_host(h, url))
		return h->insecure;
	if (!url_parts(url, &s, &host, &port))
		return false;
	hp = strchr(host, ':') ? xasprintf("[%s]:%ld", host, port) : xasprintf("%s:%ld", host, port);
	return registry_config_is_insecure(h->config, hp) ||
	       registry_config_is_insecure(h->config, host);
}

bool registry_http_url_allowed(const struct registry_http *h, const char *url)
{
	_cleanup_free_ char *s = NULL, *host = NULL;
	long port;

	if (!url_parts(url, &s, &host, &port))
		return false;
	if (!strcmp(s, "https"))
		return true;
	return url_host_insecure(h, url);
}

static int load_certs_dir(struct registry_http *h, const char *certs_dir,
			  struct strata_error **err)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", certs_dir, h->host);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct strbuf extra = STRBUF_INIT;
	struct dirent *de;
	int ret = 0;

	if (!d)
		return 0; /* no per-registry configuration */
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		size_t l = strlen(name);

		if (l > 4 && !strcmp(name + l - 4, ".crt")) {
			_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
			_cleanup_free_ char *buf = NULL;
			_cleanup_error_ struct strata_error *e = NULL;
			size_t len;

			if (fs_read_file_at(AT_FDCWD, path, MAX_CA_BUNDLE, &buf, &len, &e) < 0) {
				ret = strata_error_set(err, STRATA_ERR_IO, 0, "reading CA certificate: %s",
						       e->msg);
				break;
			}
			strbuf_add(&extra, buf, len);
			strbuf_addch(&extra, '\n');
		} else if (l > 5 && !strcmp(name + l - 5, ".cert")) {
			_cleanup_free_ char *key = xasprintf("%s/%.*s.key", dir, (int)(l - 5), name);

			if (access(key, R_OK) < 0) {
				ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
						       "missing key %.*s.key for client certificate %s/%s",
						       (int)(l - 5), name, dir, name);
				break;
			}
			if (!h->client_cert) {
				h->client_cert = xasprintf("%s/%s", dir, name);
				h->client_key = steal_pointer(&key);
			}
		} else if (l > 4 && !strcmp(name + l - 4, ".key")) {
			_cleanup_free_ char *cert = xasprintf("%s/%.*s.cert", dir, (int)(l - 4), name);

			if (access(cert, R_OK) < 0) {
				ret = strata_error_set(err, STRATA_ERR_INVALID, 0,
						       "missing client certificate %.*s.cert for key %s/%s",
						       (int)(l - 4), name, dir, name);
				break;
			}
		}
	}
	if (ret == 0 && extra.len) {
		/* Add to, not replace, the system roots: prepend the default bundle. */
		struct strbuf all = STRBUF_INIT;
		char *sys_ca = NULL;

		curl_easy_getinfo(h->curl, CURLINFO_CAINFO, &sys_ca);
		if (sys_ca) {
			_cleanup_free_ char *buf = NULL;
			_cleanup_error_ struct strata_error *e = NULL;
			size_t len;

			if (fs_read_file_at(AT_FDCWD, sys_ca, MAX_CA_BUNDLE, &buf, &len, &e) == 0) {
				strbuf_add(&all, buf, len);
				strbuf_addch(&all, '\n');
			}
		}
		strbuf_add(&all, extra.buf, extra.len);
		h->ca_blob = strbuf_detach(&all, &h->ca_blob_len);
	}
	strbuf_release(&extra);
	return ret;
}

int registry_http_new(const char *host, const struct registry_http_options *opts,
		      struct registry_http **out, struct strata_error **err)
{
	static const struct registry_http_options defaults;
	struct registry_http *h;
	_cleanup_free_ char *name = NULL;
	int port, ret;

	if (!opts)
		opts = &defaults;
	if (registry_host_split(host, &name, &port) < 0 || strpbrk(host, "/@?#% \t\r\n"))
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid registry host '%s'",
					host ? host : "");
	ret = http_curl_init(err);
	if (ret < 0)
		return ret;
	h = xcalloc(1, sizeof(*h));
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		return strata_error_set(err, STRATA_ERR_NET, 0, "cannot initialise libcurl");
	}
	h->host = xstrdup(host);
	h->config = opts->config;
	h->insecure = registry_config_is_insecure(opts->config, host);
	if (opts->scheme && strcmp(opts->scheme, "http") && strcmp(opts->scheme, "https")) {
		registry_http_free(h);
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid URL scheme for %s",
					host);
	}
	if (opts->scheme && !strcmp(opts->scheme, "http") && !h->insecure) {
		registry_http_free(h);
		return strata_error_set(err, STRATA_ERR_INVALID, 0,
					"refusing plain HTTP to %s: not an insecure registry", host);
	}
	/* a given scheme is used as is: no switch from https to http */
	h->base = xasprintf("%s://%s", opts->scheme ? opts->scheme : "https", host);
	h->scheme_decided = opts->scheme != NULL;
	h->user_agent = xstrdup(opts->user_agent ? opts->user_agent : "strata");
	h->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 30000;
	h->stall_timeout_s = opts->stall_timeout_s > 0 ? opts->stall_timeout_s : 60;
	h->request_timeout_s = opts->request_timeout_s > 0 ? opts->request_timeout_s : 300;
	h->max_retries = opts->max_retries < 0 ? 0 : opts->max_retries ? opts->max_retries : 3;
	h->retry_delay_ms = opts->retry_delay_ms > 0 ? opts->retry_delay_ms : 250;
	ret = load_certs_dir(h, opts->certs_dir ? opts->certs_dir : REGISTRY_DEFAULT_CERTS_DIR, err);
	if (ret < 0) {
		registry_http_free(h);
		return ret;
	}
	*out = h;
	return 0;
}

void registry_http_free(struct registry_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h->host);
	free(h->base);
	free(h->ca_blob);
	free(h->client_cert);
	free(h->client_key);
	free(h->user_agent);
	free(h);
}

const char *registry_http_base(const struct registry_http *h) { return h->base; }
const char *registry_http_host(const struct registry_http *h) { return h->host; }

/* Per-transfer state shared with the curl callbacks. */
struct xfer {
	struct registry_http *h;
	const struct registry_request *req;
	struct registry_response *resp;
	uint64_t skip;      /* bytes of a 200 answer already delivered earlier */
	bool too_large;
	bool cb_failed;
	bool read_failed;
	struct strata_error *cb_err; /* what the body's reader or writer said */
	bool range_bad;
	bool checked_range;
};

static char *trim_dup(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	return xstrndup(s, n);
}

static void set_field(char **field, const char *v, size_t n)
{
	free(*field);
	*field = trim_dup(v, n);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	struct registry_response *r = x->resp;
	size_t n = size * nmemb;
	const char *colon;
	size_t klen;

	if (n >= 5 && !memcmp(data, "HTTP/", 5)) {
		/* a new response (after 100 Continue): forget earlier headers,
		 * not the count of body bytes already delivered (resume offset) */
		uint64_t streamed = r->streamed;

		response_reset_headers(r);
		r->streamed = streamed;
		return n;
	}
	colon = memchr(data, ':', n);
	if (!colon)
		return n;
	klen = (size_t)(colon - data);
	colon++;
#define IS(name) (klen == sizeof(name) - 1 && !strncasecmp(data, name, klen))
	if (IS("Content-Type"))
		set_field(&r->content_type, colon, n - klen - 1);
	else if (IS("Docker-Content-Digest"))
		set_field(&r->digest, colon, n - klen - 1);
	else if (IS("Location"))
		set_field(&r->location, colon, n - klen - 1);
	else if (IS("Link"))
		set_field(&r->link, colon, n - klen - 1);
	else if (IS("Content-Range"))
		set_field(&r->content_range, colon, n - klen - 1);
	else if (IS("Retry-After"))
		set_field(&r->retry_after, colon, n - klen - 1);
	else if (IS("Content-Length")) {
		_cleanup_free_ char *v = trim_dup(colon, n - klen - 1);
		char *end;
		long long cl = strtoll(v, &end, 10);

		r->content_length = (*v && !*end && cl >= 0) ? cl : -1;
	} else if (IS("WWW-Authenticate") && r->n_www_authenticate < 16) {
		r->www_authenticate = xrealloc(r->www_authenticate,
					       (r->n_www_authenticate + 1) * sizeof(char *));
		r->www_authenticate[r->n_www_authenticate++] = trim_dup(colon, n - klen - 1);
	}
#undef IS
	return n;
}

/* "bytes START-END/TOTAL": start must be what we asked for. */
static bool content_range_ok(const char *cr, uint64_t want)
{
	unsigned long long start;
	char *end;

	if (!cr || strncasecmp(cr, "bytes ", 6))
		return false;
	errno = 0;
	start = strtoull(cr + 6, &end, 10);
	return !errno && end != cr + 6 && *end == '-' && start == want;
}

static void xfer_release(struct xfer *x)
{
	strata_error_free(x->cb_err);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	struct registry_response *r = x->resp;
	size_t n = size * nmemb;
	long code = 0;

	curl_easy_getinfo(x->h->curl, CURLINFO_RESPONSE_CODE, &code);
	if (x->req->write_fn && (code == 200 || code == 206)) {
		if (!x->checked_range) {
			uint64_t want = x->req->range_start + r->streamed;

			x->checked_range = true;
			if (code == 206 && !content_range_ok(r->content_range, want)) {
				x->range_bad = true;
				return 0;
			}
			x->skip = code == 200 ? want : 0;
		}
		if (x->skip) {
			size_t s = x->skip < n ? (size_t)x->skip : n;

			x->skip -= s;
			data += s;
			if (s == n)
				return n;
			if (x->req->write_fn(x->req->write_cookie, data, n - s, &x->cb_err) < 0) {
				x->cb_failed = true;
				return 0;
			}
			r->streamed += n - s;
			return n;
		}
		if (x->req->write_fn(x->req->write_cookie, data, n, &x->cb_err) < 0) {
			x->cb_failed = true;
			return 0;
		}
		r->streamed += n;
		return n;
	}
	if (code >= 200 && code < 300) {
		if (r->body.len + n > x->req->max_response) {
			x->too_large = true;
			return 0;
		}
		strbuf_add(&r->body, data, n);
	} else if (r->body.len < REGISTRY_MAX_ERROR_BODY) {
		size_t room = REGISTRY_MAX_ERROR_BODY - r->body.len;

		strbuf_add(&r->body, data, n < room ? n : room);
	}
	return n;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	ssize_t n = x->req->read_fn(x->req->read_cookie, buf, size * nmemb, &x->cb_err);

	if (n < 0) {
		x->read_failed = true;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool is_redirect(long code)
{
	return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

/* One transfer to url (absolute) with method; fills resp. Returns the curl code. */
static CURLcode perform(struct registry_http *h, struct xfer *x, const char *url,
			const char *method, bool send_auth, bool with_body, char *errbuf)
{
	const struct registry_request *req = x->req;
	struct curl_slist *hdrs = NULL;
	_cleanup_free_ char *auth = NULL, *range = NULL;
	CURL *c = h->curl;
	CURLcode rc;

	curl_easy_reset(c);
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->stall_timeout_s);
	if (!req->write_fn && !req->read_fn)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, h->request_timeout_s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, NULL);
	if (registry_host_is_loopback(h->host))
		curl_easy_setopt(c, CURLOPT_PROXY, "");
	/* an insecure registry's redirect to storage elsewhere is verified */
	if (url_host_insecure(h, url)) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (h->ca_blob) {
		struct curl_blob blob = { h->ca_blob, h->ca_blob_len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (h->client_cert && send_auth) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, h->client_cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, h->client_key);
	}

	for (const char *const *p = req->headers; p && *p; p++)
		hdrs = curl_slist_append(hdrs, *p);
	if (send_auth && req->authorization) {
		auth = xasprintf("Authorization: %s", req->authorization);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (req->write_fn && (req->range_start + x->resp->streamed) > 0) {
		range = xasprintf("Range: bytes=%llu-",
				  (unsigned long long)(req->range_start + x->resp->streamed));
		hdrs = curl_slist_append(hdrs, range);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");

	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(method, "GET") && !with_body) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (with_body && req->read_fn) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, x);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)-1);
	} else {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, with_body && req->body ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(with_body ? req->body_len : 0));
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		/* no form content type unless the caller set one */
		bool has_ct = false;

		for (const char *const *p = req->headers; p && *p; p++)
			if (!strncasecmp(*p, "Content-Type:", 13))
				has_ct = true;
		if (!has_ct)
			hdrs = curl_slist_append(hdrs, "Content-Type:");
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	x->checked_range = false;
	x->skip = 0;
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->resp->status);
	curl_slist_free_all(hdrs);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	return rc;
}

/*
 * A failed connection as Go's net/http reports it to docker ("Get \"URL\":
 * dial tcp 127.0.0.1:1: connect: connection refused"), which is what users
 * and scripts know; NULL when curl's failure is of another kind.  Go names
 * the address it dialled; curl does not keep it after a failed connect, so
 * the URL's host and port stand in (the same for an IP address).
 */
static char *go_dial_error(CURL *c, CURLcode rc, const char *method, const char *url)
{
	_cleanup_free_ char *op = xstrdup(method), *host = NULL, *why = NULL;
	const char *b = strstr(url, "://"), *port;
	long os_errno = 0;
	size_t n;

	if (rc != CURLE_COULDNT_RESOLVE_HOST && rc != CURLE_COULDNT_CONNECT)
		return NULL;
	/* Go's url.Error names the method as "Get", "Post", "Head" */
	for (char *q = op + 1; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	b = b ? b + 3 : url;
	n = *b == '[' ? strcspn(b, "]") + (b[strcspn(b, "]")] ? 1 : 0) : strcspn(b, ":/?#");
	host = xstrndup(b, n);
	if (rc == CURLE_COULDNT_RESOLVE_HOST)
		return xasprintf("%s \"%s\": dial tcp: lookup %s: no such host", op, url, host);
	if (curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno) != CURLE_OK || os_errno <= 0)
		return NULL;
	port = b[n] == ':' ? b + n + 1 : !strncmp(url, "https:", 6) ? "443" : "80";
	why = fs_errno_text((int)os_errno);
	return xasprintf("%s \"%s\": dial tcp %s:%.*s: connect: %s", op, url, host,
			 (int)strcspn(port, "/?#"), port, why);
}

int registry_http_do(struct registry_http *h, const struct registry_request *req,
		     struct registry_response *resp, struct strata_error **err)
{
	_cleanup_free_ char *start_url = NULL;
	char errbuf[CURL_ERROR_SIZE];
	bool replayable = !req->read_fn && !req->no_retry;
	long delay = h->retry_delay_ms;
	int attempt = 0;

	registry_response_release(resp);
	if (req->url[0] == '/')
		start_url = xasprintf("%s%s", h->base, req->url);
	else
		start_url = registry_url_resolve(NULL, req->url);
	if (!start_url)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "invalid URL in request to %s",
					h->host);

	for (;;) {
		_cleanup_free_ char *url = xstrdup(start_url);
		const char *method = req->method;
		bool with_body = true;
		int redirects = 0;
		_cleanup_(xfer_release) struct xfer x = { .h = h, .req = req, .resp = resp };
		uint64_t streamed = resp->streamed;
		CURLcode rc;

		for (;;) {
			_cleanup_free_ char *shown = NULL;
			bool send_auth;

			if (!registry_http_url_allowed(h, url)) {
				shown = registry_url_redact(url);
				return strata_error_set(err, STRATA_ERR_NET, 0,
							"refusing plain HTTP to %s: not an insecure registry",
							shown);
			}
			send_auth = req->auth_to_url_host ? same_origin(start_url, url) :
							    registry_http_same_host(h, url);
			response_reset_headers(resp);
			resp->streamed = streamed;
			rc = perform(h, &x, url, method, send_auth, with_body, errbuf);
			streamed = resp->streamed;
			if (rc != CURLE_OK)
				break;
			if (!h->scheme_decided && send_auth)
				h->scheme_decided = true;
			if (!req->follow_redirects || !is_redirect(resp->status) || !resp->location)
				break;
			/* manual redirect with policy */
			_cleanup_free_ char *next = registry_url_resolve(url, resp->location);
			shown = registry_url_redact(url);
			if (!next)
				return strata_error_set(err, STRATA_ERR_NET, 0,
							"invalid redirect from %s", shown);
			if (++redirects > REGISTRY_MAX_REDIRECTS)
				return strata_error_set(err, STRATA_ERR_NET, 0,
							"too many redirects from %s", shown);
			if (!strncmp(url, "https:", 6) && !strncmp(next, "http:", 5))
				return strata_error_set(err, STRATA_ERR_NET, 0,
							"refusing redirect from https to http (%s)", shown);
			if (req->read_fn && resp->status != 303)
				return strata_error_set(err, STRATA_ERR_NET, 0,
							"cannot replay a streamed body after a redirect from %s",
							shown);
			if (resp->status == 303 && strcmp(method, "HEAD")) {
				method = "GET";
				with_body = false;
			}
			free(url);
			url = steal_pointer(&next);
		}
		free(resp->url);
		resp->url = xstrdup(url);

		if (rc != CURLE_OK) {
			_cleanup_free_ char *shown = registry_url_redact(url);

			if (x.too_large)
				return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0,
							"%s %s: response larger than %zu bytes",
							req->method, shown, req->max_response);
			if ((x.cb_failed || x.read_failed) && x.cb_err)
				return strata_error_propagate(err, steal_pointer(&x.cb_err));
			if (x.cb_failed)
				return strata_error_set(err, STRATA_ERR_IO, 0, "%s %s: aborted by receiver",
							req->method, shown);
			if (x.read_failed)
				return strata_error_set(err, STRATA_ERR_IO, 0,
							"%s %s: reading the request body failed",
							req->method, shown);
			if (x.range_bad)
				return strata_error_set(err, STRATA_ERR_NET, 0,
							"%s %s: server answered another byte range",
							req->method, shown);
			/* insecure registry: HTTPS failed to connect, use HTTP (dockerd's fallback) */
			if (!h->scheme_decided && h->insecure && !strncmp(h->base, "https:", 6) &&
			    req->url[0] == '/' && resp->status == 0) {
				free(h->base);
				h->base = xasprintf("http://%s", h->host);
				h->scheme_decided = true;
				free(start_url);
				start_url = xasprintf("%s%s", h->base, req->url);
				continue;
			}
			if ((replayable || (req->write_fn && !req->no_retry)) &&
			    attempt < h->max_retries) {
				attempt++;
				sleep_ms(delay);
				delay *= 2;
				continue;
			}
			{
				_cleanup_free_ char *dial = go_dial_error(h->curl, rc, method, shown);

				if (dial)
					return strata_error_set(err, STRATA_ERR_NET, 0, "%s", dial);
			}
			return strata_error_set(err, STRATA_ERR_NET, 0, "%s %s: %s", req->method, shown,
						errbuf[0] ? errbuf : curl_easy_strerror(rc));
		}
		if ((resp->status >= 500 || resp->status == 429) && replayable &&
		    attempt < h->max_retries && resp->streamed == 0) {
			long wait = delay;

			if (resp->retry_after) {
				long ra = strtol(resp->retry_after, NULL, 10);

				if (ra > 0)
					wait = (ra > 10 ? 10 : ra) * 1000;
			}
			attempt++;
			sleep_ms(wait);
			delay *= 2;
			continue;
		}
		if (resp->location) {
			char *abs = registry_url_resolve(url, resp->location);

			free(resp->location);
			resp->location = abs; /* NULL when unusable */
		}
		return 0;
	}
}
