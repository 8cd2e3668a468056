/*
 * The rules of a dive-style .dive-ci file (YAML, read with libyaml):
 *
 *   rules:
 *     lowestEfficiency: 0.95          # or lowest-efficiency
 *     highestWastedBytes: 20MB        # or highest-wasted-bytes
 *     highestUserWastedPercent: 0.20  # or highest-user-wasted-percent
 *
 * Values stay text ("disabled" included): the front end judges them, as
 * dive does, so that a bad value fails its rule with dive's message.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "strata/analyze.h"
#include "util/alloc.h"
#include "util/cleanup.h"

#define CI_MAX_FILE (1u << 20)

static char **rule_slot(struct strata_ci_rules *r, const char *key)
{
	if (!strcmp(key, "lowestEfficiency") || !strcmp(key, "lowest-efficiency"))
		return &r->lowest_efficiency;
	if (!strcmp(key, "highestWastedBytes") || !strcmp(key, "highest-wasted-bytes"))
		return &r->highest_wasted_bytes;
	if (!strcmp(key, "highestUserWastedPercent") || !strcmp(key, "highest-user-wasted-percent"))
		return &r->highest_user_wasted_percent;
	return NULL;
}

static const char *scalar(yaml_document_t *doc, yaml_node_t *n)
{
	(void)doc;
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int load_rules(yaml_document_t *doc, const char *path, struct strata_ci_rules *rules,
		      struct strata_error **err)
{
	yaml_node_t *root = yaml_document_get_root_node(doc), *map = NULL;

	if (!root)
		return 0; /* an empty file: the defaults */
	if (root->type != YAML_MAPPING_NODE)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s: not a YAML mapping", path);
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		const char *k = scalar(doc, yaml_document_get_node(doc, p->key));
		if (k && !strcmp(k, "rules"))
			map = yaml_document_get_node(doc, p->value);
	}
	if (!map || (map->type == YAML_SCALAR_NODE && !*map->data.scalar.value))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s: rules is not a mapping", path);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = scalar(doc, yaml_document_get_node(doc, p->key));
		const char *v = scalar(doc, yaml_document_get_node(doc, p->value));
		char **slot = k ? rule_slot(rules, k) : NULL;

		if (!slot)
			continue; /* dive ignores keys it does not know */
		if (!v)
			return strata_error_set(err, STRATA_ERR_INVALID, 0, "%s: rules.%s is not a value", path, k);
		if (!*slot)
			*slot = xstrdup(v);
	}
	return 0;
}

int strata_ci_rules_load(const char *path, struct strata_ci_rules *rules, struct strata_error **err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_free_ char *buf = NULL;
	yaml_parser_t parser;
	yaml_document_t doc;
	size_t len;
	int rc;

	if (!f)
		return strata_error_set(err, errno == ENOENT ? STRATA_ERR_NOT_FOUND : STRATA_ERR_IO, errno,
					"open %s", path);
	buf = xmalloc(CI_MAX_FILE + 1);
	len = fread(buf, 1, CI_MAX_FILE + 1, f);
	if (ferror(f))
		return strata_error_set(err, STRATA_ERR_IO, errno, "read %s", path);
	if (len > CI_MAX_FILE)
		return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "%s: larger than %u bytes", path, CI_MAX_FILE);
	if (!yaml_parser_initialize(&parser))
		return strata_error_set(err, STRATA_ERR_IO, 0, "%s: cannot start the YAML parser", path);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = strata_error_set(err, STRATA_ERR_INVALID, 0, "%s: line %zu: %s", path,
				      parser.problem_mark.line + 1, parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		return rc;
	}
	rc = load_rules(&doc, path, rules, err);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

void strata_ci_rules_release(struct strata_ci_rules *rules)
{
	free(rules->lowest_efficiency);
	free(rules->highest_wasted_bytes);
	free(rules->highest_user_wasted_percent);
	*rules = (struct strata_ci_rules){ 0 };
}
