/* A GET into a file over libcurl, with dockerd's errors (remotecontext.GetWithStatusError). */
#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/http.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"

/* what of an error answer's body goes into the message */
#define MAX_ERROR_BODY (64u * 1024)

/*
 * libcurl's global state, set up once per process however many threads
 * start requests at once: the one piece of process state the library
 * keeps, because libcurl keeps it.  Never cleaned up: the program may use
 * libcurl itself.
 */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int http_curl_init(struct strata_error **err)
{
	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK)
		return strata_error_set(err, STRATA_ERR_NET, 0, "cannot initialise libcurl: %s",
					curl_easy_strerror(curl_init_result));
	return 0;
}

struct get {
	CURL *curl;
	int fd;
	const struct http_get_options *opts;
	long status;
	char *reason;         /* the status line's text ("File not found") */
	char *disposition;    /* Content-Disposition's filename */
	struct strbuf body;   /* an error answer's body */
	uint64_t written;
	int64_t total;
	bool started;         /* the success's start was reported */
	uint64_t last_update; /* progress.Reader's lastUpdate */
	uint64_t reported;    /* what the last line said */
	bool any;             /* a line was reported */
	struct timespec last; /* when */
	struct strata_error *write_err;
};

bool http_is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

/* mime.ParseMediaType's "filename" parameter: a token or a quoted string; NULL when absent. */
static char *disposition_filename(const char *v, size_t len)
{
	_cleanup_free_ char *s = xstrndup(v, len);
	char *p = strchr(s, ';');

	while (p) {
		char *name = p + 1;
		struct strbuf out = STRBUF_INIT;

		while (*name == ' ' || *name == '\t')
			name++;
		p = name + strcspn(name, "=;");
		if (*p != '=') {
			p = strchr(p, ';');
			continue;
		}
		p++;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				strbuf_addch(&out, *p);
			}
			if (*p == '"')
				p++;
		} else {
			size_t n = strcspn(p, " \t;");

			strbuf_add(&out, p, n);
			p += n;
		}
		if ((size_t)(strcspn(name, "=")) == 8 && !strncasecmp(name, "filename", 8))
			return strbuf_detach(&out, NULL);
		strbuf_release(&out);
		p = strchr(p, ';');
	}
	return NULL;
}

static size_t on_header(char *data, size_t size, size_t n, void *cookie)
{
	struct get *g = cookie;
	size_t len = size * n, l = len;

	while (l && (data[l - 1] == '\n' || data[l - 1] == '\r'))
		l--;
	if (l >= 5 && !strncmp(data, "HTTP/", 5)) {
		/* a new answer (after a redirect or a 100): its own headers only */
		const char *sp = memchr(data, ' ', l), *sp2;

		free(g->reason);
		free(g->disposition);
		g->reason = g->disposition = NULL;
		g->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		sp2 = sp ? memchr(sp + 1, ' ', l - (size_t)(sp + 1 - data)) : NULL;
		if (sp2)
			g->reason = xstrndup(sp2 + 1, l - (size_t)(sp2 + 1 - data));
	} else if (l > 20 && !strncasecmp(data, "Content-Disposition:", 20)) {
		free(g->disposition);
		g->disposition = disposition_filename(data + 20, l - 20);
	}
	return len;
}

static void report_start(struct get *g)
{
	g->started = true;
	if (g->opts && g->opts->start)
		g->opts->start(g->opts->cookie, g->total);
}

static void report_line(struct get *g)
{
	g->reported = g->written;
	g->any = true;
	clock_gettime(CLOCK_MONOTONIC, &g->last);
	if (g->opts && g->opts->progress)
		g->opts->progress(g->opts->cookie, g->written, g->total);
}

/*
 * progress.Reader's cadence: past each 1% of the size (at most 512 KiB),
 * a line when it is the first, the whole or 100 ms after the last one.
 */
static void tick(struct get *g)
{
	uint64_t every = 512 * 1024;
	struct timespec now;

	if (g->total > 0 && (uint64_t)g->total / 100 < every)
		every = (uint64_t)g->total / 100;
	if (g->written - g->last_update <= every)
		return;
	g->last_update = g->written;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!g->any || (g->total >= 0 && g->written == (uint64_t)g->total) ||
	    (now.tv_sec - g->last.tv_sec) * 1000 + (now.tv_nsec - g->last.tv_nsec) / 1000000 >= 100)
		report_line(g);
}

static size_t on_body(char *data, size_t size, size_t n, void *cookie)
{
	struct get *g = cookie;
	size_t len = size * n;

	if (g->status >= 400) {
		if (g->body.len < MAX_ERROR_BODY)
			strbuf_add(&g->body, data, len < MAX_ERROR_BODY - g->body.len ? len : MAX_ERROR_BODY - g->body.len);
		return len;
	}
	if (!g->started) {
		curl_off_t cl = -1;

		curl_easy_getinfo(g->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		g->total = cl;
		report_start(g);
	}
	if (fs_write_all(g->fd, data, len, "write the download", &g->write_err) < 0)
		return 0;
	g->written += len;
	tick(g);
	return len;
}

static int on_xfer(void *cookie, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct get *g = cookie;

	return g->opts && strata_cancel_requested(g->opts->cancel);
}

/*
 * The last element of a path as a file name (new string), NULL when there
 * is none: empty, ending in '/', or "." and ".." (which name no file of a
 * folder, whatever a hostile server sends).
 */
static char *last_element(const char *p)
{
	const char *slash;

	if (!p || !*p || p[strlen(p) - 1] == '/')
		return NULL;
	slash = strrchr(p, '/');
	p = slash ? slash + 1 : p;
	return strcmp(p, ".") && strcmp(p, "..") ? xstrdup(p) : NULL;
}

/* getFilenameForDownload: the last element of the URL's path, else Content-Disposition's filename's. */
static char *download_filename(const char *url, const char *disposition)
{
	CURLU *u = curl_url();
	char *path = NULL, *res = NULL;

	if (!u)
		xalloc_die();
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) == CURLUE_OK)
		res = last_element(path);
	curl_free(path);
	curl_url_cleanup(u);
	if (!res)
		res = last_element(disposition);
	return res ? res : xstrdup("");
}

static int status_error(struct get *g, const char *url, struct strata_error **err)
{
	enum strata_errcode code = g->status == 404 ? STRATA_ERR_NOT_FOUND :
				   g->status == 401 || g->status == 403 ? STRATA_ERR_AUTH :
				   g->status == 400 ? STRATA_ERR_INVALID : STRATA_ERR_NET;
	size_t start = 0, end = g->body.len;

	/* bytes.TrimSpace */
	while (start < end && isspace((unsigned char)g->body.buf[start]))
		start++;
	while (end > start && isspace((unsigned char)g->body.buf[end - 1]))
		end--;
	return strata_error_set(err, code, 0, "failed to GET %s with status %ld%s%s: %.*s", url, g->status,
				g->reason ? " " : "", g->reason ? g->reason : "", (int)(end - start),
				g->body.buf ? g->body.buf + start : "");
}

int http_get_to_fd(const char *url, int fd, const struct http_get_options *opts, struct http_get_info *info,
		   struct strata_error **err)
{
	struct get g = { .fd = fd, .opts = opts, .total = -1, .body = STRBUF_INIT };
	char errbuf[CURL_ERROR_SIZE];
	curl_off_t mtime = -1;
	CURLcode rc;
	int ret = 0;

	/* Go's http.Get: a transport error (dockerd answers it with a 500) */
	if (!http_is_url(url)) {
		const char *sep = strstr(url, "://");

		return strata_error_set(err, STRATA_ERR_NET, 0, "Get \"%s\": unsupported protocol scheme \"%.*s\"", url,
					sep ? (int)(sep - url) : 0, url);
	}
	ret = http_curl_init(err);
	if (ret < 0)
		return ret;
	g.curl = curl_easy_init();
	if (!g.curl)
		xalloc_die();
	errbuf[0] = '\0';
	curl_easy_setopt(g.curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(g.curl, CURLOPT_URL, url);
	curl_easy_setopt(g.curl, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(g.curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(g.curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(g.curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(g.curl, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* Go's http.Get: at most 10 redirects */
	curl_easy_setopt(g.curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(g.curl, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(g.curl, CURLOPT_USERAGENT, "strata");
	curl_easy_setopt(g.curl, CURLOPT_CONNECTTIMEOUT, 30L);
	/* a stalled server: below 1 byte/s for a minute */
	curl_easy_setopt(g.curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(g.curl, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(g.curl, CURLOPT_FILETIME, 1L);
	curl_easy_setopt(g.curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(g.curl, CURLOPT_HEADERDATA, &g);
	curl_easy_setopt(g.curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(g.curl, CURLOPT_WRITEDATA, &g);
	curl_easy_setopt(g.curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(g.curl, CURLOPT_XFERINFOFUNCTION, on_xfer);
	curl_easy_setopt(g.curl, CURLOPT_XFERINFODATA, &g);
	rc = curl_easy_perform(g.curl);
	if (g.write_err) {
		ret = strata_error_propagate(err, g.write_err);
	} else if (rc == CURLE_ABORTED_BY_CALLBACK) {
		ret = strata_error_set(err, STRATA_ERR_INTERRUPTED, 0, "download of %s cancelled", url);
	} else if (rc != CURLE_OK) {
		ret = strata_error_set(err, STRATA_ERR_NET, 0, "Get \"%s\": %s", url,
				       errbuf[0] ? errbuf : curl_easy_strerror(rc));
	} else if (g.status >= 400) {
		ret = status_error(&g, url, err);
	} else {
		if (!g.started) {
			/* an empty body: still started */
			g.total = 0;
			report_start(&g);
		}
		/* and the end's line, unless the last one said it */
		if (!g.any || g.reported != g.written)
			report_line(&g);
		curl_easy_getinfo(g.curl, CURLINFO_FILETIME_T, &mtime);
		if (info) {
			info->content_length = g.total;
			info->last_modified = mtime;
			info->filename = download_filename(url, g.disposition);
		}
	}
	curl_easy_cleanup(g.curl);
	free(g.reason);
	free(g.disposition);
	strbuf_release(&g.body);
	return ret;
}

void http_get_info_release(struct http_get_info *info)
{
	free(info->filename);
	info->filename = NULL;
}
