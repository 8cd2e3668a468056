#include <stdatomic.h>
#include <stdlib.h>

#include "util/alloc.h"
#include "util/cancel.h"

/* A lock-free flag: requesting is safe from a signal handler too. */
struct strata_cancel {
	atomic_bool requested;
};

struct strata_cancel *strata_cancel_new(void)
{
	struct strata_cancel *c = xmalloc(sizeof(*c));

	atomic_init(&c->requested, false);
	return c;
}

void strata_cancel_free(struct strata_cancel *cancel)
{
	free(cancel);
}

void strata_cancel_request(struct strata_cancel *cancel)
{
	atomic_store(&cancel->requested, true);
}

bool strata_cancel_requested(const struct strata_cancel *cancel)
{
	return cancel && atomic_load(&cancel->requested);
}

int cancel_check(const struct strata_cancel *cancel, struct strata_error **err)
{
	if (!strata_cancel_requested(cancel))
		return 0;
	return strata_error_set(err, STRATA_ERR_INTERRUPTED, 0, "operation cancelled");
}
