/*
 * A small libcurl wrapper bound to one registry host.
 *
 * Policy (RELIABILITY.md §1.7):
 *  - HTTPS with the system CAs plus /etc/docker/certs.d/HOST[:PORT]/ (*.crt
 *    CAs, client.cert/client.key); plain HTTP only for loopback hosts and
 *    configured insecure registries, where HTTPS is tried first (certificate
 *    not verified, as dockerd does) and HTTP used when HTTPS cannot connect.
 *  - Redirects are followed by hand (only when asked): never from https to
 *    http, never to plain http on a host that is not loopback/insecure, and
 *    the Authorization header is only ever sent to the registry's own
 *    host:port.  URLs carrying user info are refused.
 *  - Buffered bodies are capped; streamed bodies go to a callback and are
 *    resumed with "Range: bytes=N-" after a broken connection.
 *  - Bounded retries with exponential backoff on connection errors, 429 and
 *    5xx for requests whose body can be replayed.
 *  - One CURL easy handle per object: connections are reused between
 *    requests.  An object is used by one thread at a time; parallel workers
 *    each make their own.  libcurl's global init is lib/http's
 *    (http_curl_init), before the first handle.
 *
 * Secrets: the Authorization value is never logged or copied into errors;
 * URLs in errors are printed without their query string.
 */
#ifndef STRATA_REGISTRY_HTTP_H
#define STRATA_REGISTRY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "registry/config.h"
#include "strata/error.h"
#include "util/stream.h"
#include "util/strbuf.h"

#define REGISTRY_MAX_TOKEN (1u * 1024 * 1024)
#define REGISTRY_MAX_ERROR_BODY (64u * 1024)
#define REGISTRY_MAX_REDIRECTS 10
#define REGISTRY_DEFAULT_CERTS_DIR "/etc/docker/certs.d"


struct registry_http_options {
	const struct registry_config *config; /* NULL: no insecure registries */
	const char *certs_dir;         /* NULL: /etc/docker/certs.d */
	const char *scheme;            /* "https" or "http" (a mirror URL's); NULL: decide */
	const char *user_agent;        /* NULL: "strata" */
	long connect_timeout_ms;       /* 0: 30 s */
	long stall_timeout_s;          /* 0: 60 s below 1 byte/s aborts */
	long request_timeout_s;        /* 0: 300 s for buffered requests */
	int max_retries;               /* < 0: none; 0: 3 */
	long retry_delay_ms;           /* 0: 250 ms, doubled each retry */
};

struct registry_http;

struct registry_request {
	const char *method;             /* GET HEAD POST PUT PATCH DELETE */
	const char *url;                /* "/v2/..." on the registry, or absolute */
	const char *authorization;      /* header value; only sent to the registry */
	bool auth_to_url_host;          /* ...or to the host of url (token realm) */
	const char *const *headers;     /* NULL-terminated "Name: value" list */
	const void *body;               /* buffered body (replayable) */
	size_t body_len;
	stream_read_fn read_fn;         /* or a streamed (chunked) body; its error fails the request */
	void *read_cookie;
	size_t max_response;            /* cap for a buffered 2xx body */
	stream_write_fn write_fn;       /* stream a 2xx body here instead; its error fails the request */
	void *write_cookie;
	uint64_t range_start;           /* with write_fn: start at this offset */
	bool follow_redirects;
	bool no_retry;
};

struct registry_response {
	long status;
	struct strbuf body;             /* buffered body; error bodies are truncated */
	char *content_type;
	char *digest;                   /* Docker-Content-Digest */
	char *location;                 /* absolute URL */
	char *link;
	char *content_range;
	char *retry_after;
	char **www_authenticate;        /* every WWW-Authenticate header */
	size_t n_www_authenticate;
	int64_t content_length;         /* -1 when unknown */
	char *url;                      /* URL that gave this response */
	uint64_t streamed;              /* bytes handed to write_fn */
};

void registry_response_init(struct registry_response *resp);
void registry_response_release(struct registry_response *resp);

/* host: "name", "name:port", "[v6]:port" (no scheme, no path). */
int registry_http_new(const char *host, const struct registry_http_options *opts,
		      struct registry_http **out, struct strata_error **err);
void registry_http_free(struct registry_http *h);

/* "https://host" or "http://host" (the scheme in use or to be tried first). */
const char *registry_http_base(const struct registry_http *h);
const char *registry_http_host(const struct registry_http *h);

/*
 * Send req and fill resp (init'ed by the caller; reset here).  Any HTTP
 * status is a success (0); transport failures after the retries, policy
 * refusals, an oversized body or a write_fn abort are errors.
 */
int registry_http_do(struct registry_http *h, const struct registry_request *req,
		     struct registry_response *resp, struct strata_error **err);

/*
 * Resolve ref (absolute or relative) against base into a new absolute URL;
 * NULL when malformed or not http(s).
 */
char *registry_url_resolve(const char *base, const char *ref);

/* True when url points at host:port of h (the credentials boundary). */
bool registry_http_same_host(const struct registry_http *h, const char *url);

/* True when url may be fetched (https, or http to a loopback/insecure host). */
bool registry_http_url_allowed(const struct registry_http *h, const char *url);

/* URL without query and fragment, for messages (new string). */
char *registry_url_redact(const char *url);

#endif
