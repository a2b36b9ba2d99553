/* SPDX-License-Identifier: MIT */
/*
 * Internal interface between the core files of the frontend (device,
 * context, queries, memory, events). Private to frontend/verbs.
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

/* ---- mr_share.c ----------------------------------------------------------- */

/*
 * Makes the pages covering [addr, addr + len) memfd-backed (MAP_SHARED at
 * the same address, contents preserved, memfd sealed against shrinking and
 * growing) so that apird can map them, or reuses the live range that
 * already covers them. On 0: *fd (borrowed, valid until the release) holds
 * byte addr at *fd_offset, and *range is the reference to release.
 * Errors: EINVAL (empty or wrapping range, or one that overlaps a live range
 * without lying inside it), EFAULT (pages not mapped or not readable),
 * EOPNOTSUPP (pages of a shared mapping apir did not create), or the errno
 * of a failed system call.
 */
int apir_shared_range_acquire(void *addr, size_t len, int *fd, uint64_t *fd_offset,
			      struct apir_shared_range **range);
void apir_shared_range_release(struct apir_shared_range *range);

#endif /* APIR_CORE_H */
