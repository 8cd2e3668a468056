/* "strata system SUBCOMMAND": df, prune and info, as docker 20.10's management command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "format/template.h"
#include "format/units.h"
#include "strata/container.h"
#include "strata/image.h"
#include "strata/store.h"
#include "strata/system.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/gotime.h"
#include "util/strbuf.h"

/* ---- system df ---- */

static const struct command_usage df_usage = {
	"system df", "strata system df [OPTIONS]", "Show docker disk usage", 0, 0,
};

#define DF_TABLE "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
#define DF_IMAGES "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.VirtualSize}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}"
#define DF_CONTAINERS "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}"
#define DF_VOLUMES "table {{.Name}}\t{{.Links}}\t{{.Size}}"
#define DF_CACHE "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}"

static const char *const df_titles[][2] = {
	{ "Active", "ACTIVE" }, { "Reclaimable", "RECLAIMABLE" }, { "Size", "SIZE" },
	{ "TotalCount", "TOTAL" }, { "Type", "TYPE" },
};
static const char *const image_titles[][2] = {
	{ "Containers", "CONTAINERS" }, { "CreatedAt", "CREATED AT" }, { "CreatedSince", "CREATED" },
	{ "Digest", "DIGEST" }, { "ID", "IMAGE ID" }, { "Repository", "REPOSITORY" },
	{ "SharedSize", "SHARED SIZE" }, { "Size", "SIZE" }, { "Tag", "TAG" },
	{ "UniqueSize", "UNIQUE SIZE" }, { "VirtualSize", "SIZE" },
};
static const char *const container_titles[][2] = {
	{ "Command", "COMMAND" }, { "CreatedAt", "CREATED AT" }, { "ID", "CONTAINER ID" }, { "Image", "IMAGE" },
	{ "Labels", "LABELS" }, { "LocalVolumes", "LOCAL VOLUMES" }, { "Mounts", "MOUNTS" }, { "Names", "NAMES" },
	{ "Networks", "NETWORKS" }, { "Ports", "PORTS" }, { "RunningFor", "CREATED" }, { "Size", "SIZE" },
	{ "State", "STATE" }, { "Status", "STATUS" },
};
static const char *const volume_titles[][2] = {
	{ "Driver", "DRIVER" }, { "Labels", "LABELS" }, { "Links", "LINKS" }, { "Mountpoint", "MOUNTPOINT" },
	{ "Name", "VOLUME NAME" }, { "Scope", "SCOPE" }, { "Size", "SIZE" },
};
static const char *const cache_titles[][2] = {
	{ "CacheType", "CACHE TYPE" }, { "CreatedSince", "CREATED" }, { "Description", "DESCRIPTION" },
	{ "ID", "CACHE ID" }, { "InUse", "IN USE" }, { "LastUsedSince", "LAST USED" }, { "Parent", "PARENT" },
	{ "Shared", "SHARED" }, { "Size", "SIZE" }, { "UsageCount", "USAGE" },
};

#define NTITLES(t) (sizeof(t) / sizeof((t)[0]))

static json_int_t jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* "SIZE (P%)" with docker's integer percentage, or just SIZE when total is 0. */
static json_t *reclaimable(int64_t reclaim, int64_t total)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	units_human_size_prec(&sb, (double)reclaim, 4);
	if (total > 0)
		strbuf_addf(&sb, " (%lld%%)", (long long)(reclaim * 100 / total));
	return json_string(sb.buf);
}

/* docker's summary rows: the images' reclaimable part is what no container's image needs. */
static json_t *df_summary(const json_t *du)
{
	const json_t *images = json_object_get(du, "Images"), *containers = json_object_get(du, "Containers");
	int64_t layers = jint(du, "LayersSize"), used = 0, rw = 0, rw_stopped = 0;
	size_t active_images = 0, running = 0, i;
	const json_t *v;
	json_t *rows = json_array(), *row;

	json_array_foreach (images, i, v) {
		if (jint(v, "Containers")) {
			active_images++;
			used += jint(v, "Size") - jint(v, "SharedSize");
		}
	}
	json_array_foreach (containers, i, v) {
		rw += jint(v, "SizeRw");
		if (json_is_true(json_object_get(v, "Running")))
			running++;
		else
			rw_stopped += jint(v, "SizeRw");
	}
	struct {
		const char *type;
		size_t total, active;
		int64_t size;
		json_t *reclaim;
	} r[] = {
		{ "Images", json_array_size(images), active_images, layers, reclaimable(layers - used, layers) },
		{ "Containers", json_array_size(containers), running, rw, reclaimable(rw_stopped, rw) },
		{ "Local Volumes", 0, 0, 0, reclaimable(0, 0) },
		{ "Build Cache", 0, 0, 0, reclaimable(0, 0) },
	};
	for (size_t k = 0; k < sizeof(r) / sizeof(r[0]); k++) {
		_cleanup_strbuf_ struct strbuf size = STRBUF_INIT;

		units_human_size_prec(&size, (double)r[k].size, 4);
		/* keys sorted: {{json .}} prints them in order, as Go marshals the context */
		row = json_pack("{s:o,s:o,s:s,s:o,s:s}", "Active", json_sprintf("%zu", r[k].active), "Reclaimable",
				r[k].reclaim, "Size", size.buf, "TotalCount", json_sprintf("%zu", r[k].total), "Type",
				r[k].type);
		json_array_append_new(rows, row);
	}
	return rows;
}

/* go-units HumanSizeWithPrecision: docker's df -v prints images with 4 digits, containers with 3. */
static json_t *human(int64_t bytes, int precision)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	units_human_size_prec(&sb, (double)bytes, precision);
	return json_string(sb.buf);
}

/*
 * -v's image rows (docker's imageContext, keys sorted): the first tag only,
 * "<none>" for a dangling image; the table's SIZE is VirtualSize, 4 digits,
 * while .Size has 3.  trunc: a table, where the ID is cut to 12 digits.
 */
static json_t *image_rows(const json_t *du, bool trunc)
{
	json_t *rows = json_array();
	const json_t *v;
	size_t i;

	json_array_foreach (json_object_get(du, "Images"), i, v) {
		const char *id = json_string_value(json_object_get(v, "Id"));
		const char *tag = json_string_value(json_array_get(json_object_get(v, "RepoTags"), 0));
		_cleanup_strbuf_ struct strbuf repo = STRBUF_INIT, since = STRBUF_INIT, at = STRBUF_INIT;
		const char *colon = tag ? strrchr(tag, ':') : NULL;
		const char *t = "<none>";
		int64_t size = jint(v, "Size"), shared = jint(v, "SharedSize");

		if (colon && !strchr(colon, '/')) {
			strbuf_add(&repo, tag, (size_t)(colon - tag));
			t = colon + 1;
		} else {
			strbuf_addstr(&repo, "<none>");
		}
		cli_created_since(&since, jint(v, "Created"));
		gotime_format_go_time(&at, jint(v, "Created"), 0, true);
		json_array_append_new(
			rows, json_pack("{s:o,s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:s,s:o,s:o}", "Containers",
					json_sprintf("%lld", (long long)jint(v, "Containers")), "CreatedAt", at.buf,
					"CreatedSince", since.buf, "Digest", "", "ID",
					trunc ? json_sprintf("%.12s", id + 7) : json_string(id), "Repository", repo.buf,
					"SharedSize", human(shared, 4), "Size", human(size, 3), "Tag", t, "UniqueSize",
					human(size - shared, 4), "VirtualSize", human(size, 4)));
	}
	return rows;
}

/* -v's container rows: docker ps's, the size without the virtual part (as docker's df). */
static int container_rows(struct strata_store *store, const json_t *du, bool trunc, json_t *rows,
			  struct strata_error **err)
{
	struct strata_container **cs = NULL;
	size_t nr = 0, i;
	const json_t *v;

	if (strata_container_list(store, &cs, &nr, err) < 0)
		return -1;
	json_array_foreach (json_object_get(du, "Containers"), i, v) {
		const char *id = json_string_value(json_object_get(v, "Id"));

		for (size_t k = 0; k < nr; k++) {
			struct strata_container_state st;
			json_t *row;

			if (strcmp(strata_container_id(cs[k]), id))
				continue;
			strata_container_state(cs[k], &st);
			row = cli_ps_row(cs[k], &st, trunc, false);
			json_object_set_new(row, "Size", human(jint(v, "SizeRw"), 3));
			json_array_append_new(rows, row);
			break;
		}
	}
	strata_container_list_free(cs, nr);
	return 0;
}

static int render(const char *format, const char *type, const char *const (*titles)[2], size_t n,
		  const json_t *rows, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	_cleanup_json_ json_t *head = cli_table_header(titles, n);

	if (format_render(&out, format, type, head, rows, err) < 0)
		return -1;
	fwrite(out.buf, 1, out.len, stdout);
	return 0;
}

/* docker's verboseWrite for a template: executed once over all four lists, no newline added. */
static int df_verbose_template(const char *format, json_t *images, json_t *containers,
			       struct strata_error **err)
{
	_cleanup_free_ char *text = format_prepare(format);
	_cleanup_json_ json_t *dot = json_pack("{s:O,s:O,s:[],s:[]}", "Images", images, "Containers", containers,
					       "Volumes", "BuildCache");
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	struct template *t = NULL;
	int ret = template_parse(text, &t, err);

	/* docker wraps the parse error only: the execution runs straight to the output */
	if (ret < 0)
		strata_error_wrap(err, "template parsing error");
	else
		ret = template_execute_typed(t, dot, "*formatter.diskUsageContext", 0, &out, err);
	template_free(t);
	if (ret < 0)
		return ret;
	fwrite(out.buf, 1, out.len, stdout);
	return 0;
}

static int df_verbose(struct strata_store *store, const json_t *du, const char *format, struct strata_error **err)
{
	bool table = !format || !*format || format_is_table(format);
	_cleanup_json_ json_t *images = image_rows(du, table), *containers = json_array(), *none = json_array();

	if (container_rows(store, du, table, containers, err) < 0)
		return -1;
	if (!table)
		return df_verbose_template(format, images, containers, err);
	fputs("Images space usage:\n\n", stdout);
	if (render(DF_IMAGES, "*formatter.imageContext", image_titles, NTITLES(image_titles), images, err) < 0)
		return -1;
	fputs("\nContainers space usage:\n\n", stdout);
	if (render(DF_CONTAINERS, "*formatter.ContainerContext", container_titles, NTITLES(container_titles),
		   containers, err) < 0)
		return -1;
	fputs("\nLocal Volumes space usage:\n\n", stdout);
	if (render(DF_VOLUMES, "*formatter.volumeContext", volume_titles, NTITLES(volume_titles), none, err) < 0)
		return -1;
	fputs("\nBuild cache usage: 0B\n\n", stdout);
	return render(DF_CACHE, "*formatter.buildCacheContext", cache_titles, NTITLES(cache_titles), none, err);
}

/* docker has no row for them: one line on stderr, so that the table stays docker's. */
static void df_partials(const json_t *du)
{
	const json_t *v, *partials = json_object_get(du, "PartialDownloads");
	_cleanup_strbuf_ struct strbuf size = STRBUF_INIT;
	int64_t total = 0;
	size_t i;

	if (!json_array_size(partials))
		return;
	json_array_foreach (partials, i, v)
		total += jint(v, "Size");
	units_human_size_prec(&size, (double)total, 4);
	fprintf(stderr, "Partial pull downloads: %zu, %s (resumed by the next pull; strata system prune removes them)\n",
		json_array_size(partials), size.buf);
}

static int system_df(int argc, char **argv, struct cli_ctx *ctx)
{
	bool verbose = false;
	const char *format = NULL;
	const struct flag flags[] = {
		{ "format", 0, FLAG_STRING, &format, "Pretty-print images using a Go template" },
		{ "verbose", 'v', FLAG_BOOL, &verbose, "Show detailed information on space usage" },
		{ 0 },
	};
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	_cleanup_json_ json_t *du = NULL, *rows = NULL;
	char *text = NULL, **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &df_usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	free(args);
	ret = cli_open_images(ctx, false, &store, &idx);
	if (ret)
		return ret;
	if (strata_system_df(idx, &text, &err) < 0 || !(du = json_loads(text, 0, NULL))) {
		ret = err ? cli_fail_daemon(err) : (fputs("Error: bad disk usage data\n", stderr), 1);
	} else if (verbose) {
		if (df_verbose(store, du, format, &err) < 0)
			ret = cli_fail_bare(err);
	} else {
		rows = df_summary(du);
		if (render(format && *format ? format : DF_TABLE, "*formatter.diskUsageImagesContext", df_titles,
			   NTITLES(df_titles), rows, &err) < 0)
			ret = cli_fail_bare(err);
	}
	if (!ret && du)
		df_partials(du);
	free(text);
	strata_image_index_free(idx);
	strata_store_free(store);
	return ret;
}

/* ---- system prune ---- */

static const struct command_usage prune_usage = {
	"system prune", "strata system prune [OPTIONS]", "Remove unused data", 0, 0,
};

/* docker's confirmationTemplate (without filters) and PromptForConfirmation. */
static bool prune_confirm(bool all, bool volumes)
{
	char line[64];

	fputs("WARNING! This will remove:\n  - all stopped containers\n"
	      "  - all networks not used by at least one container\n",
	      stdout);
	if (volumes)
		fputs("  - all volumes not used by at least one container\n", stdout);
	printf("  - %s\n  - %s\n", all ? "all images without at least one container associated to them" : "all dangling images",
	       all ? "all build cache" : "all dangling build cache");
	fputs("\nAre you sure you want to continue? [y/N] ", stdout);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

static void collect_image(void *cookie, enum strata_removal what, const char *value)
{
	struct strbuf *sb = cookie;

	if (!sb->len)
		strbuf_addstr(sb, "Deleted Images:\n");
	strbuf_addf(sb, "%s: %s\n", what == STRATA_UNTAGGED ? "untagged" : "deleted", value);
}

static void collect_partial(void *cookie, const char *name, int64_t size)
{
	struct strbuf *sb = cookie;

	if (!sb->len)
		strbuf_addstr(sb, "Deleted partial pull downloads:\n");
	strbuf_addf(sb, "%s\n", name);
}

static int system_prune(int argc, char **argv, struct cli_ctx *ctx)
{
	bool all = false, force = false, volumes = false;
	const struct flag flags[] = {
		{ "all", 'a', FLAG_BOOL, &all, "Remove all unused images not just dangling ones" },
		{ "force", 'f', FLAG_BOOL, &force, "Do not prompt for confirmation" },
		{ "volumes", 0, FLAG_BOOL, &volumes, "Prune volumes" },
		{ 0 },
	};
	struct strata_image_index *idx = NULL;
	struct strata_store *store = NULL;
	struct strata_error *err = NULL;
	_cleanup_strbuf_ struct strbuf containers = STRBUF_INIT, images = STRBUF_INIT, partials = STRBUF_INIT,
				       size = STRBUF_INIT;
	uint64_t total = 0, part = 0;
	char **args;
	int nargs, ret;

	ret = flags_parse(argc, argv, flags, &prune_usage, &args, &nargs);
	if (ret)
		return ret < 0 ? 0 : ret;
	free(args);
	if (!force && !prune_confirm(all, volumes))
		return 0;
	/* containers first, so that -a sees the images they held as unused (docker's order) */
	if (cli_open_store(ctx, true, &store, &err) < 0 || strata_container_prune(store, cli_add_deleted_container, &containers, &total, &err) < 0) {
		ret = cli_fail_daemon(err);
		goto out;
	}
	if (containers.len)
		printf("%s\n", containers.buf);
	if (strata_image_index_load(store, &idx, &err) < 0 ||
	    strata_image_prune(idx, all, collect_image, &images, &part, &err) < 0) {
		ret = cli_fail_daemon(err);
		goto out;
	}
	total += part;
	if (images.len)
		printf("%s\n", images.buf);
	/* strata's own: docker has no partial downloads; listed like the other sections */
	if (strata_system_prune_partials(store, collect_partial, &partials, &part, &err) < 0) {
		ret = cli_fail_daemon(err);
		goto out;
	}
	total += part;
	if (partials.len)
		printf("%s\n", partials.buf);
	units_human_size_prec(&size, (double)total, 4);
	printf("Total reclaimed space: %s\n", size.buf);
out:
	strata_image_index_free(idx);
	strata_store_free(store);
	return ret;
}

int cmd_system(int argc, char **argv, struct cli_ctx *ctx)
{
	static const struct cli_subcommand subs[] = {
		{ "df", system_df, "Show docker disk usage" },
		{ "info", cmd_info, "Display system-wide information" },
		{ "prune", system_prune, "Remove unused data" },
	};

	return cli_dispatch("system", "Manage Docker", subs, sizeof(subs) / sizeof(subs[0]), argc, argv, ctx);
}
