/* The server's side of a request: what endpoint files do not see. */
#ifndef STRATA_SERVE_INTERNAL_H
#define STRATA_SERVE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <microhttpd.h>

#include "serve/api.h"
#include "util/strbuf.h"

struct api_server {
	struct cli_ctx *cli;
	atomic_int workers; /* API_STREAM handlers running */
	struct api_events *events;
	struct api_containers *containers; /* ep-containers.c's */
	struct strata_image_cache *images; /* what every request's store loads images through */
};

/* The server-wide state of events.c and ep-containers.c. */
void api_events_init(struct api_server *srv);
void api_events_release(struct api_server *srv);
void api_containers_init(struct api_server *srv);
void api_containers_release(struct api_server *srv);

enum reply_kind { REPLY_NONE, REPLY_DATA, REPLY_STREAM, REPLY_UPGRADE };

struct reply_header {
	char *name, *value;
};

struct request_state {
	struct api_request req;
	struct api_server *server;
	struct MHD_Connection *conn;
	const struct api_route *route; /* NULL: answered already (404, version) */
	atomic_int refs;               /* the connection, a worker, a streaming response */
	struct strbuf body;            /* API_BODY */
	bool too_large, queued;
	int body_write;                /* API_STREAM: the pipe's end the body is written to */
	char *path_buf, *method_buf, *url_buf;

	pthread_mutex_t lock;
	pthread_cond_t cond;           /* the reply is ready; stream bytes or room */
	enum reply_kind kind;
	bool finished;                 /* the handler returned */
	bool gone;                     /* the client went away */
	unsigned status;
	struct reply_header *headers;
	size_t nr_headers, alloc_headers;
	char *content_type;
	struct strbuf data;            /* REPLY_DATA: the body; REPLY_STREAM: bytes not yet sent */
	size_t sent;                   /* REPLY_STREAM: of data */
	struct progress_start {        /* when each id's progress began, for its time left */
		char *id;
		int64_t ns;
	} *starts;
	size_t nr_starts, alloc_starts;
	api_upgrade_fn upgrade;
	void *upgrade_cookie;
	void (*upgrade_free)(void *cookie);
};

/* A request as it arrives: routed, its version checked (else answered). */
struct api_request *api_request_new(struct api_server *srv, struct MHD_Connection *conn, const char *method,
				    const char *url);
void api_request_release(struct api_request *req);

/* The handler returned: a handler that answered nothing gets a 500. */
void reply_finish(struct api_request *req);
/* Hand the reply to libmicrohttpd (waits for a streaming handler to begin its answer). */
enum MHD_Result reply_queue(struct api_request *req, struct MHD_Connection *conn);
/* The client is gone: streams stop, the operation is cancelled. */
void reply_gone(struct api_request *req);

#endif
