/* SPDX-License-Identifier: MIT */
/*
 * Internal header of the drop-in libibverbs.so.1 (frontend/verbs). Private to
 * this folder: nothing here is exported (the version script hides it).
 */
#ifndef APIR_VERBS_H
#define APIR_VERBS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "apir.pb-c.h"
#include "apir/client.h"
#include "apir/log.h"
#include "apir/ring.h"
#include "apir/wire.h"

#define APIR_EXPORT __attribute__((visibility("default")))

/* ---- device and context --------------------------------------------------- */

/* rdma-core's verbs_device is larger than ibv_device; mlx5dv/efadv read past
 * ibv_device, so the allocation is padded and zeroed. */
#define APIR_DEVICE_ALLOC 4096u

struct apir_device {
	struct ibv_device ibdev;     /* must be first */
	char socket_path[108];       /* the transport's path: socket or port */
	const struct apir_transport *transport;
	uint8_t pad[APIR_DEVICE_ALLOC - sizeof(struct ibv_device) - 108 -
		    sizeof(const struct apir_transport *)];
};

struct apir_context {
	struct verbs_context vctx;   /* must be first; ibv_context is its last member */
	/* apird's session; vctx.context.async_fd is a copy of its async_fd */
	struct apir_session session;
	struct ibv_device_attr_ex dev_attr;   /* cached at open */
	struct ibv_port_attr port_attr;       /* cached at open, port 1 */
	union ibv_gid gid[8];
	enum ibv_gid_type gid_type[8];
	int gid_count;
	bool async_fatal_reported;   /* DEVICE_FATAL delivered once */
	bool emulate_mlx5;           /* APIR_DEVICE_PROFILE=mlx5 */
	struct apir_obj_map *obj_map; /* handle -> object, see apir_obj_register() */
};

static inline struct apir_context *to_actx(struct ibv_context *ctx)
{
	return (struct apir_context *)((uint8_t *)ctx - __builtin_offsetof(struct verbs_context, context));
}

/* The session of the context an object belongs to. */
static inline struct apir_session *to_session(struct ibv_context *ctx)
{
	return &to_actx(ctx)->session;
}

/* Per-context map from apird handles to frontend objects, so async events
 * and completion-channel events (which name objects by handle) find the
 * ibv_qp / ibv_cq / ibv_srq. Thread-safe. kind: enum apir_obj_kind. */
int apir_obj_register(struct apir_context *actx, enum apir_obj_kind kind,
		      uint32_t handle, void *obj);
void apir_obj_unregister(struct apir_context *actx, enum apir_obj_kind kind,
			 uint32_t handle);
void *apir_obj_find(struct apir_context *actx, enum apir_obj_kind kind,
		    uint32_t handle);

/* Installs the queue ops (poll_cq, req_notify_cq, post_send, post_recv,
 * post_srq_recv, create_qp_ex, create_cq_ex, create_srq_ex, get_srq_num,
 * ...) into a new context. Implemented with the queue code (cq.c, qp.c). */
void apir_queue_ops_init(struct verbs_context *vctx);

/* ---- objects ------------------------------------------------------------------ */

struct apir_pd {
	struct ibv_pd ibpd;
	uint32_t handle;
};

struct apir_mr {
	struct ibv_mr ibmr;
	uint32_t handle;
};

struct apir_comp_channel_priv {
	uint32_t handle;
};

/* What ibv_create_comp_channel allocates: the channel, then its priv. */
struct apir_comp_channel {
	struct ibv_comp_channel ibch;
	struct apir_comp_channel_priv priv;
};

static inline uint32_t apir_comp_channel_handle(struct ibv_comp_channel *ch)
{
	return ((struct apir_comp_channel *)ch)->priv.handle;
}

struct apir_cq {
	struct ibv_cq_ex cq_ex;      /* struct ibv_cq is its first member */
	uint32_t handle;
	struct apir_cq_ctrl *ctrl;
	struct apir_cqe *cqes;
	uint32_t num_entries;
	uint32_t cons;               /* our consumer index */
	void *area;
	size_t area_len;
	pthread_spinlock_t lock;
	struct apir_cqe *cur;        /* ibv_cq_ex poll cursor */
	uint64_t wc_flags_ex;        /* requested IBV_WC_EX_WITH_* */
	uint32_t empty_polls;        /* liveness check cadence */
	/* completion events ibv_get_cq_event delivered (under cq_ex.mutex);
	 * cq_ex.comp_events_completed counts the acked ones */
	uint32_t comp_events_reported;
};

struct apir_srq {
	struct ibv_srq ibsrq;
	uint32_t handle;
	struct apir_srq_ctrl *ctrl;
	struct apir_recv_wqe *wqes;
	uint32_t num_entries;
	uint32_t max_sge;
	uint32_t srq_num;
	uint32_t prod;
	uint32_t cons_seen;          /* apird's cons, re-read only when the ring looks full */
	void *area;
	size_t area_len;
	pthread_spinlock_t lock;
};

struct apir_qp {
	union {                      /* ibv_qp_ex starts with its ibv_qp */
		struct ibv_qp ibqp;
		struct ibv_qp_ex qp_ex;
	};
	uint32_t handle;
	struct apir_qp_ctrl *ctrl;
	struct apir_send_wqe *sq;
	struct apir_recv_wqe *rq;
	uint32_t sq_entries;
	uint32_t rq_entries;
	uint32_t sq_prod;
	uint32_t rq_prod;
	uint32_t sq_cons_seen;       /* apird's cons, re-read only when a ring looks full */
	uint32_t rq_cons_seen;
	struct ibv_qp_cap cap;
	bool sq_sig_all;
	void *area;
	size_t area_len;
	pthread_spinlock_t sq_lock;
	pthread_spinlock_t rq_lock;
	/* ibv_wr_* batch state (between wr_start and wr_complete) */
	struct apir_send_wqe *wr_cur;
	uint32_t wr_start_prod;
	int wr_err;
};

struct apir_ah {
	struct ibv_ah ibah;
	uint32_t handle;
};

#endif /* APIR_VERBS_H */
