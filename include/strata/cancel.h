/*
 * Cancelling a long operation (pull, push, load) from another thread.
 *
 * The caller creates a token, passes it in the operation's options and
 * requests cancellation whenever it likes; the library checks the token
 * between chunks of data and between layers, and the operation then fails
 * with STRATA_ERR_INTERRUPTED, cleaning up as after any other failure.
 */
#ifndef STRATA_CANCEL_H
#define STRATA_CANCEL_H

#include <stdbool.h>

#include "strata/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct strata_cancel;

/* A new token, not cancelled yet. */
STRATA_PUBLIC struct strata_cancel *strata_cancel_new(void);
STRATA_PUBLIC void strata_cancel_free(struct strata_cancel *cancel);

/*
 * Ask every operation using the token to stop.  Safe from any thread and
 * from a signal handler; a token stays cancelled.
 */
STRATA_PUBLIC void strata_cancel_request(struct strata_cancel *cancel);
/* True once cancellation was requested; false for NULL (no token). */
STRATA_PUBLIC bool strata_cancel_requested(const struct strata_cancel *cancel);

#ifdef __cplusplus
}
#endif

#endif
