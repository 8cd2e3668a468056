/* containers/<id>/{hostname,hosts}: the files dockerd 20.10 bind-mounts into a container. */
#ifndef STRATA_CONTAINER_ETCFILES_H
#define STRATA_CONTAINER_ETCFILES_H

#include "strata/error.h"

/*
 * Write dirfd/hostname ("<hostname>\n") and dirfd/hosts (dockerd's default
 * entries; with ip non-NULL also "<ip>\t<hostname>", which --network none
 * and host never have), mode 0644, atomically.
 */
int container_write_etc_files(int dirfd, const char *hostname, const char *ip,
			      struct strata_error **err);

#endif
