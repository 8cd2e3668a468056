/* strata info: what docker info reports about the store and the registries. */
#ifndef STRATA_SYSTEM_H
#define STRATA_SYSTEM_H

#include <stdint.h>

#include "strata/error.h"
#include "strata/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct strata_image_index;
struct strata_store;

/*
 * The fields of docker 20.10's `docker info` (types.Info) that describe the
 * store and the registry configuration, as a JSON object text with docker's
 * names: Containers, ContainersRunning, ContainersPaused, ContainersStopped,
 * Images, Driver, DriverStatus ([[name, value]...]), DockerRootDir,
 * IndexServerAddress and RegistryConfig (InsecureRegistryCIDRs,
 * IndexConfigs, Mirrors, ...), and the host's: ServerVersion, OSType,
 * KernelVersion, Architecture, Name, NCPU, MemTotal.  config_path is strata's config file (NULL:
 * the default); *out is freed with free().
 */
STRATA_PUBLIC int strata_system_info(const struct strata_image_index *idx, const char *config_path,
				     char **out, struct strata_error **err);

/*
 * docker system df's data as dockerd 20.10's SystemDiskUsage computes it, as
 * a JSON object text: LayersSize (the size files of every layer in layerdb),
 * Images (what docker images lists without -a, newest first: Id, RepoTags,
 * Created, Size, SharedSize = the sizes of its layers that another listed
 * image uses too, Containers = how many containers were made from it),
 * Containers (in strata_container_list's order: Id, Running, SizeRw = the rw
 * layer's size, 0 when it cannot be read, as dockerd), Volumes and
 * BuildCache (strata has neither: []), and strata's own PartialDownloads
 * ([{Name, Size}]: the resumable pull downloads in layerdb/tmp, which docker
 * has no row for).  *out is freed with free().
 */
STRATA_PUBLIC int strata_system_df(const struct strata_image_index *idx, char **out, struct strata_error **err);

/* One removed partial download: its name in layerdb/tmp and its size. */
typedef void (*strata_partial_fn)(void *cookie, const char *name, int64_t size);
/*
 * system prune's part docker has no counterpart for: remove the partial pull
 * downloads (a later pull starts those blobs again); *reclaimed gets their
 * summed size.  The store must be opened with STRATA_STORE_WRITE, so that no
 * pull is writing them.
 */
STRATA_PUBLIC int strata_system_prune_partials(struct strata_store *store, strata_partial_fn report, void *cookie,
					       uint64_t *reclaimed, struct strata_error **err);

#ifdef __cplusplus
}
#endif

#endif
