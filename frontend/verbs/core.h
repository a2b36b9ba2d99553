/* SPDX-License-Identifier: MIT */
/*
 * Internal interface between the core files of the frontend (device,
 * context, queries, events). Private to frontend/verbs.
 */
#ifndef APIR_CORE_H
#define APIR_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "apir_verbs.h"

/* ---- device.c ------------------------------------------------------------- */

#define APIR_DEVICE_NAME "apir0"
#define APIR_DEV_NAME "uverbs_apir0"
/* Where ibdev_path points: not a real sysfs directory; ibv_read_sysfs_file
 * answers for it (sysfs.c). */
#define APIR_IBDEV_PATH "/sys/class/infiniband/" APIR_DEVICE_NAME

/* The apir device if dev is it, else NULL. */
struct apir_device *apir_device_of(struct ibv_device *dev);

/* Remembers attributes an open context got from apird, for the calls that
 * take a device rather than a context (GUID, sysfs files). */
void apir_device_note_attr(const struct ibv_device_attr *attr);

/* The device attributes: remembered ones, else from a short-lived context.
 * Returns 0 or an errno. */
int apir_device_attr(struct ibv_device *dev, struct ibv_device_attr *attr);

/* ---- query.c -------------------------------------------------------------- */

/* Fetches device, port 1 and GID table from apird into the context. */
int apir_query_load(struct apir_context *actx);

int apir_query_port_op(struct ibv_context *ctx, uint8_t port_num,
		       struct ibv_port_attr *attr, size_t attr_len);
int apir_query_device_ex_op(struct ibv_context *ctx,
			    const struct ibv_query_device_ex_input *input,
			    struct ibv_device_attr_ex *attr, size_t attr_size);

/* ---- obj_map.c ------------------------------------------------------------ */

int apir_obj_map_create(struct apir_context *actx);
void apir_obj_map_destroy(struct apir_context *actx);

#endif /* APIR_CORE_H */
