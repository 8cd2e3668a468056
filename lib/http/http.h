/*
 * One HTTP(S) GET of a URL into a file: what ADD URL, import URL and the
 * API's fromSrc download (dockerd's remotecontext.GetWithStatusError and a
 * copy of the body).  Redirects are followed (http and https only), as Go's
 * http.Get does; no credentials are sent.
 */
#ifndef STRATA_HTTP_HTTP_H
#define STRATA_HTTP_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "strata/cancel.h"
#include "strata/error.h"

struct http_get_options {
	struct strata_cancel *cancel; /* NULL: not cancellable */
	/* the answer is a success, of total bytes (-1 unknown); NULL: not told */
	void (*start)(void *cookie, int64_t total);
	/* the body's bytes so far, each time dockerd's progress.Reader would write a line, the end's last */
	void (*progress)(void *cookie, uint64_t current, int64_t total);
	void *cookie;
};

struct http_get_info {
	int64_t content_length; /* -1: unknown */
	int64_t last_modified;  /* Unix seconds; -1: no (parsable) Last-Modified */
	/* getFilenameForDownload: the URL path's last element, else Content-Disposition's filename; "" neither */
	char *filename;
};

/* libcurl's global init, once per process (any thread, any module using libcurl, first). */
int http_curl_init(struct strata_error **err);

/* True for an http:// or https:// address (urlutil.IsURL). */
bool http_is_url(const char *s);

/*
 * GET url and write its body at fd's offset.  A status of 400 or more is
 * an error "failed to GET URL with status CODE TEXT: BODY" (NOT_FOUND for
 * 404, AUTH for 401/403, NET otherwise); a transport failure is curl's
 * message wrapped with the URL.  info (may be NULL) is filled on success;
 * release it with http_get_info_release.
 */
int http_get_to_fd(const char *url, int fd, const struct http_get_options *opts, struct http_get_info *info,
		   struct strata_error **err);
void http_get_info_release(struct http_get_info *info);

#endif
