/* The handshake and the system endpoints: /_ping, /version, /info. */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "json/gojson.h"
#include "serve/api.h"
#include "strata/image.h"
#include "strata/store.h"
#include "strata/strata.h"
#include "strata/system.h"
#include "util/cleanup.h"

/* the client negotiates down from here: docker CLI and docker-py read API-Version */
static void ping(struct api_request *req)
{
	api_reply_header(req, "Builder-Version", "1");
	api_reply_header(req, "Cache-Control", "no-cache, no-store, must-revalidate");
	api_reply_header(req, "Pragma", "no-cache");
	api_reply_data(req, 200, "text/plain; charset=utf-8", "OK", 2);
}

static void version(struct api_request *req)
{
	struct utsname u;
	const char *arch = "unknown", *kernel = "";
	json_t *details;

	if (uname(&u) == 0) {
		arch = cli_go_arch(u.machine);
		kernel = u.release;
	}
	/* types.Version: the engine is the one component there is */
	details = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "ApiVersion", "1.41", "Arch", arch, "KernelVersion", kernel,
			    "MinAPIVersion", "1.24", "Os", "linux", "Experimental", "false");
	api_reply_json(req, 200,
		       json_pack("{s:{s:s},s:[{s:s,s:s,s:o}],s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
				 "Platform", "Name", "strata",
				 "Components", "Name", "Engine", "Version", strata_version(), "Details", details,
				 "Version", strata_version(), "ApiVersion", "1.41", "MinAPIVersion", "1.24",
				 "GitCommit", "", "GoVersion", "", "Os", "linux", "Arch", arch, "KernelVersion", kernel));
}

static void info(struct api_request *req)
{
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	_cleanup_free_ char *text = NULL;
	json_t *out = NULL;

	if (!api_open_images(req, false, &store, &idx))
		return;
	if (strata_system_info(idx, req->cli->config_path, &text, &err) < 0 ||
	    gojson_parse(text, strlen(text), "system info", &out, &err) < 0)
		api_reply_strata_error(req, err);
	else
		api_reply_json(req, 200, out);
	strata_image_index_free(idx);
	strata_store_free(store);
}

const struct api_route api_system_routes[] = {
	{ "GET", "/_ping", ping, 0 },
	{ "GET", "/version", version, 0 },
	{ "GET", "/info", info, 0 },
	{ NULL },
};
