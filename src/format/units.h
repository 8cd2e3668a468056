/* Human-readable sizes and durations as docker/go-units prints them. */
#ifndef STRATA_CLI_FORMAT_UNITS_H
#define STRATA_CLI_FORMAT_UNITS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/strbuf.h"

/* go-units HumanSizeWithPrecision(bytes, 3): "%.3g" + B/kB/MB/... (base 1000). */
void units_human_size(struct strbuf *sb, double bytes);
/* Same with another precision (go-units HumanSize uses 4). */
void units_human_size_prec(struct strbuf *sb, double bytes, int precision);

/*
 * go-units HumanDuration of a Go time.Duration (nanoseconds):
 * "Less than a second", "1 second", "N seconds", "About a minute",
 * "N minutes", "About an hour", "N hours", "N days", "N weeks",
 * "N months", "N years".  docker appends " ago" itself.
 */
void units_human_duration(struct strbuf *sb, int64_t ns);

#endif
