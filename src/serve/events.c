/*
 * /events: what this server did to images and containers, as dockerd's
 * events.Message.  Like dockerd, the last events are kept in memory so
 * that `since` can replay them; a subscriber waits for newer ones.
 * Changes other strata processes make are not events of this server.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json/gojson.h"
#include "serve/internal.h"
#include "strata/image.h"
#include "strata/reference.h"
#include "strata/store.h"
#include "util/alloc.h"
#include "util/cleanup.h"

#define KEPT_EVENTS 256 /* dockerd's eventsLimit */
#define WAIT_NS 200000000L

struct api_events {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	json_t *ring[KEPT_EVENTS];
	uint64_t next; /* sequence number of the next event; ring[seq % KEPT_EVENTS] */
};

void api_events_init(struct api_server *srv)
{
	struct api_events *ev = xcalloc(1, sizeof(*ev));

	pthread_mutex_init(&ev->lock, NULL);
	pthread_cond_init(&ev->cond, NULL);
	srv->events = ev;
}

void api_events_release(struct api_server *srv)
{
	struct api_events *ev = srv->events;

	if (!ev)
		return;
	for (size_t i = 0; i < KEPT_EVENTS; i++)
		json_decref(ev->ring[i]);
	pthread_cond_destroy(&ev->cond);
	pthread_mutex_destroy(&ev->lock);
	free(ev);
	srv->events = NULL;
}

/* dockerd's LogImageEvent: the labels of the image actor names among the attributes (its name wins) */
static void add_image_labels(struct api_request *req, const char *actor, json_t *attributes)
{
	struct strata_store *store = NULL;
	struct strata_image_index *idx = NULL;
	struct strata_image *img;
	_cleanup_free_ const char **keys = NULL;
	_cleanup_free_ const char **values = NULL;
	size_t n;

	/* an image just deleted (or none, as prune's actor) has no labels to give */
	if (!*actor || cli_open_store(req->cli, false, &store, NULL) < 0)
		return;
	strata_image_cache_use(store, req->server->images);
	if (strata_image_index_load_one(store, actor, &idx, &img, NULL) == 0) {
		n = strata_image_labels(img, &keys, &values, NULL);
		for (size_t i = 0; i < n; i++)
			if (!json_object_get(attributes, keys[i]))
				json_object_set_new(attributes, keys[i], json_string(values[i]));
	}
	strata_image_index_free(idx);
	strata_store_free(store);
}

void api_event(struct api_request *req, const char *type, const char *action, const char *actor, json_t *attributes)
{
	struct api_events *ev = req->server->events;
	struct timespec now;
	json_t *m, *sorted;

	clock_gettime(CLOCK_REALTIME, &now);
	if (!attributes)
		attributes = json_object();
	if (!strcmp(type, "image"))
		add_image_labels(req, actor, attributes);
	/* Attributes are a Go map: marshalled in key order */
	sorted = gojson_sorted_copy(attributes);
	json_decref(attributes);
	attributes = sorted;
	m = json_object();
	/* the pre-1.22 fields dockerd still sends for images and containers */
	json_object_set_new(m, "status", json_string(action));
	json_object_set_new(m, "id", json_string(actor));
	if (!strcmp(type, "container") && json_object_get(attributes, "image"))
		json_object_set(m, "from", json_object_get(attributes, "image"));
	json_object_set_new(m, "Type", json_string(type));
	json_object_set_new(m, "Action", json_string(action));
	json_object_set_new(m, "Actor", json_pack("{s:s,s:o}", "ID", actor, "Attributes", attributes));
	json_object_set_new(m, "scope", json_string("local"));
	json_object_set_new(m, "time", json_integer(now.tv_sec));
	json_object_set_new(m, "timeNano", json_integer((json_int_t)now.tv_sec * 1000000000LL + now.tv_nsec));
	pthread_mutex_lock(&ev->lock);
	json_decref(ev->ring[ev->next % KEPT_EVENTS]);
	ev->ring[ev->next % KEPT_EVENTS] = m;
	ev->next++;
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
}

void api_event_tag(struct api_request *req, const char *image_id, const char *ref)
{
	struct strata_ref r = { 0 };
	struct strata_error *err = NULL;

	if (strata_ref_parse_tag(ref, &r, &err) == 0) {
		char *familiar = strata_ref_familiar_string(&r);

		api_event(req, "image", "tag", image_id, json_pack("{s:s}", "name", familiar));
		free(familiar);
		strata_ref_release(&r);
	}
	strata_error_free(err);
}

/* "1700000000" or "1700000000.123456789" (what the CLI sends), in ns; 0 when absent */
static bool parse_time(struct api_request *req, const char *key, int64_t *out)
{
	const char *v = api_query(req, key);
	char *end;
	long long sec, ns = 0;

	*out = 0;
	if (!v || !*v)
		return true;
	sec = strtoll(v, &end, 10);
	if (*end == '.') {
		const char *frac = end + 1;
		int digits = 0;

		for (; *frac >= '0' && *frac <= '9'; frac++, digits++)
			if (digits < 9)
				ns = ns * 10 + (*frac - '0');
		for (; digits < 9; digits++)
			ns *= 10;
		end = (char *)frac;
	}
	if (*end || end == v) {
		api_reply_error(req, 400, "invalid value for %s: %s", key, v);
		return false;
	}
	*out = sec * 1000000000LL + ns;
	return true;
}

static bool in_list(const json_t *list, const char *s)
{
	const json_t *v;
	size_t i;

	if (!s)
		return false;
	json_array_foreach(list, i, v)
		if (!strcmp(json_string_value(v), s))
			return true;
	return false;
}

/* events.Filter: every key given must match (values of one key are alternatives) */
static bool wanted(const json_t *filters, const json_t *m)
{
	const json_t *actor = json_object_get(m, "Actor"), *attrs = json_object_get(actor, "Attributes");
	const char *type = json_string_value(json_object_get(m, "Type"));
	const char *id = json_string_value(json_object_get(actor, "ID"));
	const json_t *list;
	const char *key;

	json_object_foreach((json_t *)filters, key, list) {
		bool ok;

		if (!json_array_size(list))
			continue;
		if (!strcmp(key, "type"))
			ok = in_list(list, type);
		else if (!strcmp(key, "event"))
			ok = in_list(list, json_string_value(json_object_get(m, "Action")));
		else if (!strcmp(key, "image"))
			ok = (!strcmp(type, "image") && in_list(list, id)) ||
			     in_list(list, json_string_value(json_object_get(attrs, "image"))) ||
			     in_list(list, json_string_value(json_object_get(attrs, "name")));
		else if (!strcmp(key, "container"))
			ok = !strcmp(type, "container") &&
			     (in_list(list, id) || in_list(list, json_string_value(json_object_get(attrs, "name"))));
		else if (!strcmp(key, "label")) {
			const json_t *v;
			size_t i;

			ok = false;
			json_array_foreach(list, i, v) {
				const char *kv = json_string_value(v), *eq = strchr(kv, '=');
				_cleanup_free_ char *k = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
				const char *have = json_string_value(json_object_get(attrs, k));

				if (have && (!eq || !strcmp(have, eq + 1)))
					ok = true;
			}
		} else
			ok = true;
		if (!ok)
			return false;
	}
	return true;
}

static int64_t event_ns(const json_t *m)
{
	return json_integer_value(json_object_get(m, "timeNano"));
}

static void events(struct api_request *req)
{
	struct api_events *ev = req->server->events;
	_cleanup_json_ json_t *filters = NULL;
	int64_t since, until;
	uint64_t seq;

	if (!parse_time(req, "since", &since) || !parse_time(req, "until", &until))
		return;
	filters = api_query_filters(req);
	if (!filters)
		return;
	api_stream_begin(req, 200, "application/json");
	pthread_mutex_lock(&ev->lock);
	/* replay what is kept when since asks for it, else start from now */
	seq = ev->next;
	if (api_query(req, "since"))
		seq = ev->next > KEPT_EVENTS ? ev->next - KEPT_EVENTS : 0;
	for (;;) {
		struct timespec now, deadline;

		while (seq < ev->next) {
			json_t *m = json_incref(ev->ring[seq++ % KEPT_EVENTS]);
			bool send = event_ns(m) >= since && (!until || event_ns(m) <= until) && wanted(filters, m);

			pthread_mutex_unlock(&ev->lock);
			if (send && !api_stream_json(req, json_incref(m))) {
				json_decref(m);
				return;
			}
			json_decref(m);
			pthread_mutex_lock(&ev->lock);
		}
		clock_gettime(CLOCK_REALTIME, &now);
		if ((until && (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec > until) ||
		    strata_cancel_requested(req->cancel))
			break;
		deadline = now;
		deadline.tv_nsec += WAIT_NS;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ev->cond, &ev->lock, &deadline);
	}
	pthread_mutex_unlock(&ev->lock);
}

const struct api_route api_event_routes[] = {
	{ "GET", "/events", events, API_STREAM },
	{ NULL },
};
