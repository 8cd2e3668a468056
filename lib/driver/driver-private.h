/* The drivers' ops tables, seen only by the driver front (driver.c) through graph_drivers. */
#ifndef STRATA_DRIVER_PRIVATE_H
#define STRATA_DRIVER_PRIVATE_H

#include "driver/driver.h"

extern const struct graph_driver_ops graph_driver_overlay2_ops;
extern const struct graph_driver_ops graph_driver_vfs_ops;

#endif
