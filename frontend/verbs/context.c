/* SPDX-License-Identifier: MIT */
/*
 * Opening and closing a device: one apird session per context
 * (frontend/lib: connection, Hello, session page, doorbell, async event
 * pipe); then the device, port and GID attributes are fetched once and
 * answered locally from then on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Hello, offering every feature of the verbs service; the application
 * reads async events from the session's pipe. */
static int context_hello(struct apir_context *actx)
{
	int rc = apir_session_hello(&actx->session, APIR_FEAT_ALL);

	actx->vctx.context.async_fd = actx->session.async_fd;
	return rc;
}

static bool profile_is_mlx5(void)
{
	const char *p = getenv("APIR_DEVICE_PROFILE");

	if (p && *p && strcmp(p, "mlx5") != 0 && strcmp(p, "default") != 0)
		apir_warn("APIR_DEVICE_PROFILE=%s unknown (mlx5 or default): using default", p);
	return p && strcmp(p, "mlx5") == 0;
}

static void context_init_fields(struct apir_context *actx, struct ibv_device *dev)
{
	struct verbs_context *vctx = &actx->vctx;
	struct ibv_context *ctx = &vctx->context;

	ctx->device = dev;
	ctx->cmd_fd = actx->session.conn.sock;
	ctx->async_fd = -1;
	ctx->num_comp_vectors = 1;
	ctx->abi_compat = __VERBS_ABI_IS_EXTENDED;
	pthread_mutex_init(&ctx->mutex, NULL);
	vctx->sz = sizeof(*vctx);
	vctx->query_port = apir_query_port_op;
	vctx->query_device_ex = apir_query_device_ex_op;
	actx->emulate_mlx5 = profile_is_mlx5();
	apir_queue_ops_init(vctx);
}

static void context_free(struct apir_context *actx)
{
	apir_session_close(&actx->session);
	apir_obj_map_destroy(actx);
	pthread_mutex_destroy(&actx->vctx.context.mutex);
	free(actx);
}

APIR_EXPORT struct ibv_context *ibv_open_device(struct ibv_device *device)
{
	struct apir_device *dev = apir_device_of(device);
	struct apir_context *actx;
	int rc;

	if (!dev) {
		errno = ENODEV;
		return NULL;
	}
	actx = calloc(1, sizeof(*actx));
	if (!actx) {
		errno = ENOMEM;
		return NULL;
	}
	rc = apir_session_connect(&actx->session, dev->transport, dev->socket_path);
	if (rc) {
		free(actx);
		errno = rc == ENOENT || rc == ECONNREFUSED ? ENODEV : rc;
		return NULL;
	}
	context_init_fields(actx, device);
	rc = apir_obj_map_create(actx);
	if (!rc)
		rc = context_hello(actx);
	if (!rc)
		rc = apir_query_load(actx);
	if (rc) {
		apir_warn("cannot open %s through apird at %s: %s", device->name,
			  dev->socket_path, strerror(rc));
		context_free(actx);
		errno = rc;
		return NULL;
	}
	apir_device_note_attr(&actx->dev_attr.orig_attr);
	return &actx->vctx.context;
}

/* Objects the application did not destroy die with the session on apird's
 * side when the socket closes. */
APIR_EXPORT int ibv_close_device(struct ibv_context *context)
{
	context_free(to_actx(context));
	return 0;
}
