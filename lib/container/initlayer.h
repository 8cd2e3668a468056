/* The <mount-id>-init layer: the files dockerd 20.10 puts below every container. */
#ifndef STRATA_CONTAINER_INITLAYER_H
#define STRATA_CONTAINER_INITLAYER_H

#include "strata/error.h"

/*
 * Fill the folder dirfd (the init layer's diff/) with dockerd's init layer
 * (daemon/initlayer): dev/pts, dev/shm, proc, sys (0755 folders), the empty
 * 0755 files .dockerenv, etc/resolv.conf, etc/hosts, etc/hostname,
 * dev/console, and etc/mtab -> /proc/mounts; owned by root. An entry that
 * already exists is kept, as dockerd does.
 */
int container_init_layer_populate(int dirfd, struct strata_error **err);

#endif
