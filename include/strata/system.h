/* strata info: what docker info reports about the store and the registries. */
#ifndef STRATA_SYSTEM_H
#define STRATA_SYSTEM_H

#include "strata/error.h"
#include "strata/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct strata_image_index;

/*
 * The fields of docker 20.10's `docker info` (types.Info) that describe the
 * store and the registry configuration, as a JSON object text with docker's
 * names: Containers, ContainersRunning, ContainersPaused, ContainersStopped,
 * Images, Driver, DriverStatus ([[name, value]...]), DockerRootDir,
 * IndexServerAddress and RegistryConfig (InsecureRegistryCIDRs,
 * IndexConfigs, Mirrors, ...).  config_path is strata's config file (NULL:
 * the default); *out is freed with free().
 */
STRATA_PUBLIC int strata_system_info(const struct strata_image_index *idx, const char *config_path,
				     char **out, struct strata_error **err);

#ifdef __cplusplus
}
#endif

#endif
