/* SPDX-License-Identifier: MIT */
/* Which transport a process uses: a frontend chooses once (verbs: at
 * device discovery). */
#include <stdlib.h>
#include <string.h>

#include "apir/client.h"
#include "apir/log.h"

#define APIR_VIRTIO_PORT_PATH "/dev/virtio-ports/" APIR_VIRTIO_PORT_NAME

static const struct apir_transport *use(const struct apir_transport *t, const char **path)
{
	const char *sock = getenv("APIR_SOCKET");

	if (t == &apir_transport_virtio)
		*path = APIR_VIRTIO_PORT_PATH;
	else
		*path = sock && *sock ? sock : APIR_DEFAULT_SOCKET;
	return t;
}

const struct apir_transport *apir_transport_select(const char **path)
{
	const char *want = getenv("APIR_TRANSPORT");

	if (want && strcmp(want, apir_transport_unix.name) == 0)
		return use(&apir_transport_unix, path);
	if (want && strcmp(want, apir_transport_virtio.name) == 0)
		return use(&apir_transport_virtio, path);
	if (want && *want)
		apir_warn("APIR_TRANSPORT=%s unknown (unix or virtio-serial): choosing by the port", want);
	if (apir_transport_virtio.present(APIR_VIRTIO_PORT_PATH))
		return use(&apir_transport_virtio, path);
	return use(&apir_transport_unix, path);
}
