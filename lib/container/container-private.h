/* What the files of lib/container share. */
#ifndef STRATA_CONTAINER_PRIVATE_H
#define STRATA_CONTAINER_PRIVATE_H

#include "container/container.h"

/* containers/<id>/ opened (O_DIRECTORY). */
int container_dir_fd(struct strata_store *store, const char *id, struct strata_error **err);
/* Rewrite config.v2.json and hostconfig.json atomically. */
int container_save(struct container *c, struct strata_error **err);
/* Remove the rw and init layers (unmounted first) and layerdb/mounts/<id>/; missing parts are fine. */
int container_remove_layers(struct strata_store *store, const char *id, const char *mount_id,
			    struct strata_error **err);
/* Send signal sig to c's running process (through the runtime). */
int container_kill(struct container *c, int sig, struct strata_error **err);
/*
 * docker inspect's ContainerJSON of c (sizes: SizeRw and SizeRootFs, as
 * inspect --size adds them; NULL: left out).  Works on a read-only store.
 */
int container_inspect(struct container *c, const int64_t sizes[2], json_t **out, struct strata_error **err);

/* Re-read config.v2.json and hostconfig.json (another process may have changed State). */
int container_reload(struct container *c, struct strata_error **err);

/* Whether c's detached run lost its monitor (killed): its State says running until recovery. */
bool container_monitor_dead(struct container *c);
/* The error for that (always < 0). */
int container_monitor_died(struct container *c, struct strata_error **err);

#endif
