/* SPDX-License-Identifier: MIT */
/*
 * Device discovery. There is one device, "apir0", and it exists while
 * apird's control socket (APIR_SOCKET, default /run/apir/apird.sock) does,
 * or in a guest the virtio-serial port to apird (frontend/lib chooses):
 * no kernel, sysfs or /dev/infiniband is involved. The device object lives
 * for the whole process, as rdma-core's do once listed.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static struct apir_device apir_dev;
static pthread_once_t apir_dev_once = PTHREAD_ONCE_INIT;

/* Attributes seen by the last context opened, for device-level queries. */
static struct {
	pthread_mutex_t lock;
	bool valid;
	struct ibv_device_attr attr;
} identity = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void apir_device_init(void)
{
	struct ibv_device *d = &apir_dev.ibdev;
	const char *path;

	apir_dev.transport = apir_transport_select(&path);
	if (strlen(path) >= sizeof(apir_dev.socket_path))
		apir_warn("%s is longer than %zu bytes: ignored", path, sizeof(apir_dev.socket_path) - 1);
	else
		strcpy(apir_dev.socket_path, path);
	d->node_type = IBV_NODE_CA;
	d->transport_type = IBV_TRANSPORT_IB;
	strcpy(d->name, APIR_DEVICE_NAME);
	strcpy(d->dev_name, APIR_DEV_NAME);
	strcpy(d->dev_path, "/sys/class/infiniband_verbs/" APIR_DEV_NAME);
	strcpy(d->ibdev_path, APIR_IBDEV_PATH);
}

struct apir_device *apir_device_of(struct ibv_device *dev)
{
	return dev == &apir_dev.ibdev ? &apir_dev : NULL;
}

APIR_EXPORT struct ibv_device **ibv_get_device_list(int *num_devices)
{
	struct ibv_device **list = calloc(2, sizeof(*list));
	int n = 0;

	if (!list) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_once(&apir_dev_once, apir_device_init);
	if (apir_dev.transport->present(apir_dev.socket_path))
		list[n++] = &apir_dev.ibdev;
	else
		apir_dbg("no apird %s at %s: no device", apir_dev.transport->name,
			 apir_dev.socket_path);
	if (num_devices)
		*num_devices = n;
	return list;
}

APIR_EXPORT void ibv_free_device_list(struct ibv_device **list)
{
	free(list);
}

APIR_EXPORT const char *ibv_get_device_name(struct ibv_device *device)
{
	return device->name;
}

APIR_EXPORT int ibv_get_device_index(struct ibv_device *device)
{
	return apir_device_of(device) ? 0 : -1;
}

void apir_device_note_attr(const struct ibv_device_attr *attr)
{
	pthread_mutex_lock(&identity.lock);
	identity.attr = *attr;
	identity.valid = true;
	pthread_mutex_unlock(&identity.lock);
}

static bool apir_device_cached_attr(struct ibv_device_attr *attr)
{
	bool valid;

	pthread_mutex_lock(&identity.lock);
	valid = identity.valid;
	if (valid)
		*attr = identity.attr;
	pthread_mutex_unlock(&identity.lock);
	return valid;
}

int apir_device_attr(struct ibv_device *dev, struct ibv_device_attr *attr)
{
	struct ibv_context *ctx;

	if (!apir_device_of(dev))
		return ENODEV;
	if (apir_device_cached_attr(attr))
		return 0;
	ctx = ibv_open_device(dev);   /* caches the attributes */
	if (!ctx)
		return errno;
	ibv_close_device(ctx);
	return apir_device_cached_attr(attr) ? 0 : EIO;
}

APIR_EXPORT __be64 ibv_get_device_guid(struct ibv_device *device)
{
	struct ibv_device_attr attr;
	int rc = apir_device_attr(device, &attr);

	if (rc) {
		errno = rc;
		return 0;
	}
	return attr.node_guid;
}
