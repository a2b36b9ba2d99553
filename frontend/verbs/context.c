/* SPDX-License-Identifier: MIT */
/*
 * Opening and closing a device: one control connection and one apird
 * session per context. The handshake (Hello) sets up the session page, the
 * doorbell and the async event pipe (each transport its own way); then the
 * device, port and GID attributes are fetched once and answered locally
 * from then on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

static int hello_check(const Apir__Response *resp)
{
	if (resp->body_case != APIR__RESPONSE__BODY_HELLO) {
		apir_warn("malformed handshake reply from apird");
		return EPROTO;
	}
	if (resp->hello->protocol_version != APIR_PROTOCOL_VERSION) {
		apir_warn("apird speaks protocol %u, this library %u",
			  resp->hello->protocol_version, APIR_PROTOCOL_VERSION);
		return EPROTONOSUPPORT;
	}
	return 0;
}

static void close_all(const int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]);
}

/* Hello -> HelloReply; the transport sets up page, doorbell and async_fd. */
static int apir_handshake(struct apir_context *actx)
{
	const struct apir_transport *t = actx->conn.t;
	Apir__Hello hello = APIR__HELLO__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	Apir__Response *resp = NULL;
	int fds[APIR_HELLO_FDS];
	unsigned int nfds = 0;
	int rc;

	hello.protocol_version = APIR_PROTOCOL_VERSION;
	hello.features = APIR_FEAT_ALL;
	hello.client_name = program_invocation_short_name;
	hello.pid = (uint32_t)getpid();
	req.body_case = APIR__REQUEST__BODY_HELLO;
	req.hello = &hello;
	rc = t->hello_prepare(actx, &hello);
	if (!rc)
		rc = apir_rpc(actx, &req, NULL, 0, &resp, fds, &nfds, APIR_HELLO_FDS);
	if (!rc)
		rc = hello_check(resp);
	if (!rc)
		apir_dbg("session %llu with %s over %s", (unsigned long long)resp->hello->session_id,
			 resp->hello->server_name, t->name);
	if (resp)
		apir__response__free_unpacked(resp, NULL);
	if (rc) {
		close_all(fds, nfds);
		nfds = 0;
	}
	return t->hello_finish(actx, &hello, rc, fds, nfds);
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
	ctx->cmd_fd = actx->conn.sock;
	ctx->async_fd = -1;
	ctx->num_comp_vectors = 1;
	ctx->abi_compat = __VERBS_ABI_IS_EXTENDED;
	pthread_mutex_init(&ctx->mutex, NULL);
	vctx->sz = sizeof(*vctx);
	vctx->query_port = apir_query_port_op;
	vctx->query_device_ex = apir_query_device_ex_op;
	actx->doorbell_fd = -1;
	actx->emulate_mlx5 = profile_is_mlx5();
	apir_queue_ops_init(vctx);
}

static void context_free(struct apir_context *actx)
{
	if (actx->conn.t)
		actx->conn.t->session_end(actx);
	apir_conn_close(&actx->conn);
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
	rc = apir_conn_connect(&actx->conn, dev->transport, dev->socket_path);
	if (rc) {
		free(actx);
		errno = rc == ENOENT || rc == ECONNREFUSED ? ENODEV : rc;
		return NULL;
	}
	context_init_fields(actx, device);
	rc = apir_obj_map_create(actx);
	if (!rc)
		rc = apir_handshake(actx);
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
