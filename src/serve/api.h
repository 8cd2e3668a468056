/*
 * strata serve: the Docker Engine API front end over libstrata.  This header
 * is what an endpoint file (src/serve/ep-*.c) sees: the request, its query,
 * headers and body, and the ways to answer (a JSON body, an error, or a
 * stream written while the operation runs).
 *
 * Threads: libmicrohttpd runs one thread per connection.  A plain handler
 * runs in it and answers once.  A route marked API_STREAM runs its handler
 * in a thread of its own, so that its output reaches the client while it is
 * written (pull progress as it happens) and a request body can be read from
 * req->body_fd while the client still sends it.
 */
#ifndef STRATA_SERVE_API_H
#define STRATA_SERVE_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "cli.h"
#include "strata/cancel.h"
#include "strata/error.h"

/* The API versions served: 1.24 .. 1.41, as major * 100 + minor. */
#define API_VERSION_MIN 124
#define API_VERSION_MAX 141

struct api_server;
struct api_request;

enum api_route_flags {
	API_BODY = 1 << 0,   /* buffer the request body (JSON, at most API_BODY_MAX) */
	API_STREAM = 1 << 1, /* run the handler in its own thread; the body arrives on body_fd */
};

#define API_BODY_MAX (4 << 20)

struct api_route {
	const char *method;  /* "GET"; GET routes answer HEAD too */
	const char *pattern; /* "/images/{name}/json": {name} matches one or more bytes, '/' included */
	void (*handler)(struct api_request *req);
	unsigned flags;
};

/* Each endpoint file's table, ended by an entry whose method is NULL. */
extern const struct api_route api_system_routes[];
extern const struct api_route api_event_routes[];
extern const struct api_route api_container_routes[];
extern const struct api_route api_image_routes[];
extern const struct api_route api_transfer_routes[];
extern const struct api_route api_build_routes[];

struct api_request {
	struct api_server *server;
	struct cli_ctx *cli;     /* data root, driver, config: shared, read only */
	const char *method;
	const char *path;        /* without the /vX.Y prefix: "/images/json" */
	const char *url;         /* as the client sent it, for messages */
	int version;             /* the negotiated API version, e.g. 141 */
	char *param;             /* what {name} matched, URL-decoded; NULL when none */
	const char *body;        /* API_BODY: the request body (NUL-terminated), body_len bytes */
	size_t body_len;
	int body_fd;             /* API_STREAM: the request body as it arrives; -1 otherwise */
	struct strata_cancel *cancel; /* requested when the client goes away */
	void *priv;              /* the server's */
};

/* A query parameter, NULL when absent. */
const char *api_query(struct api_request *req, const char *key);
/* Every value of a repeated query parameter ("t=a&t=b"), in order: a NULL-ended array to free (NULL when none). */
const char **api_query_all(struct api_request *req, const char *key, size_t *nr);
/* A header, NULL when absent (case-insensitive name). */
const char *api_header(struct api_request *req, const char *key);
/* docker's httputils.BoolValue: absent, "", "0", "no", "false", "none" are false. */
bool api_query_bool(struct api_request *req, const char *key);
/*
 * An integer query parameter (absent: def).  Not a number: answers 400 as
 * dockerd's strconv errors do and returns false.
 */
bool api_query_int(struct api_request *req, const char *key, long long def, long long *out);
/*
 * The "filters" parameter (a JSON object of string arrays, or the old form
 * of an object of objects {"k":{"v":true}}), as {key: [values]}; NULL with a
 * 400 answer sent when it is malformed.  An absent parameter gives {}.
 */
json_t *api_query_filters(struct api_request *req);

/*
 * The API_BODY request body as a JSON object, or NULL with a 400 answered
 * (not JSON, not an object, or one of the string fields named in strings —
 * a NULL-ended list — holding another type), worded as Go's decoder into
 * go_type ("types.AuthConfig").  An empty body is {}.
 */
json_t *api_body_object(struct api_request *req, const char *go_type, const char *const *strings);

/* Answer status with a JSON body (the value is consumed; compact, Go's escaping, and a newline as dockerd's). */
void api_reply_json(struct api_request *req, unsigned status, json_t *body);
/* Answer with bytes of a content type; the buffer is copied. */
void api_reply_data(struct api_request *req, unsigned status, const char *content_type, const void *data,
		    size_t len);
/* Answer with no body (204 No Content, 201 Created, 200 OK). */
void api_reply_empty(struct api_request *req, unsigned status);
/* {"message": "..."} with status, as dockerd's errors. */
void api_reply_error(struct api_request *req, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A library error: the status its code means in dockerd (404 not found, 409 conflict, ...); frees err. */
void api_reply_strata_error(struct api_request *req, struct strata_error *err);
/* The HTTP status dockerd would give an error of this code. */
unsigned api_status_of(enum strata_errcode code);
/* Add a header to the reply about to be sent (before api_reply_* or api_stream_begin). */
void api_reply_header(struct api_request *req, const char *name, const char *value);

/*
 * Streaming answers, from an API_STREAM handler: begin once, then write;
 * the bytes go out as they are written (chunked).  A write returns false
 * once the client has gone (req->cancel is then requested too); the
 * handler then stops and returns.
 */
void api_stream_begin(struct api_request *req, unsigned status, const char *content_type);
/* Whether the request has an answer (a reply, or a stream that began). */
bool api_answered(struct api_request *req);
/*
 * Stream what writer writes into a descriptor (a library call that writes
 * an archive to an fd: save, export) as content_type, begun at its first
 * byte: writer runs in a thread of its own on a pipe's write end, and a
 * client gone stops the copy (the writer's next write fails).  Returns the
 * writer's result, or the error of starting it; nothing is answered when it
 * failed before its first byte.
 */
typedef int (*api_fd_writer)(void *cookie, int fd, struct strata_error **err);
int api_stream_from_writer(struct api_request *req, const char *content_type, api_fd_writer writer, void *cookie,
			   struct strata_error **err);
bool api_stream_write(struct api_request *req, const void *data, size_t len);
/* One message of dockerd's JSON stream: the value, compact, and "\r\n" (consumed). */
bool api_stream_json(struct api_request *req, json_t *msg);
/*
 * The jsonmessage shapes: {"status","id"}, {"status","progressDetail","progress","id"},
 * {"stream"}, {"errorDetail":{"message"},"error"}, {"aux"}.  Begin with
 * api_stream_begin(req, 200, "application/json") first.
 */
bool api_stream_status(struct api_request *req, const char *id, const char *status);
bool api_stream_progress(struct api_request *req, const char *id, const char *action, int64_t current,
			 int64_t total);
bool api_stream_text(struct api_request *req, const char *text, size_t len);
bool api_stream_error(struct api_request *req, const char *message);
bool api_stream_aux(struct api_request *req, json_t *aux);

/*
 * Take over the connection (attach's "101 UPGRADED" hijack): after the
 * handler returns, the status line and headers go out and fn runs in the
 * connection's thread with the raw socket; fn must not close it.
 */
typedef void (*api_upgrade_fn)(void *cookie, int sock, const char *extra, size_t extra_len);
void api_reply_upgrade(struct api_request *req, const char *content_type, api_upgrade_fn fn, void *cookie,
		       void (*free_cookie)(void *cookie));

/*
 * Tell /events subscribers what this request did: type "image" or
 * "container", action ("pull", "tag", "delete", "create", "start", "die",
 * ...), the actor's ID (an image's reference or ID, a container's ID), its
 * attributes (consumed; NULL: none; a container's "image" and "name").
 */
void api_event(struct api_request *req, const char *type, const char *action, const char *actor,
	       json_t *attributes);

/*
 * /containers/json's rows (dockerd's Container summaries; with size,
 * SizeRw and SizeRootFs): all, or only running ones, limit (<= 0: none),
 * filters as api_query_filters gives them (NULL: none).  NULL on error.
 */
struct strata_store;
json_t *api_container_summaries(struct strata_store *store, const json_t *filters, bool all, long long limit,
				bool size, struct strata_error **err);

/* The "tag" event of image_id getting ref (named in the familiar form, as dockerd does). */
void api_event_tag(struct api_request *req, const char *image_id, const char *ref);

/* Open the store (and its image index) for this request; on failure the error is answered. */
bool api_open_store(struct api_request *req, bool write, struct strata_store **store);
bool api_open_images(struct api_request *req, bool write, struct strata_store **store,
		     struct strata_image_index **idx);

#endif
