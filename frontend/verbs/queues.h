/* SPDX-License-Identifier: MIT */
/*
 * Internal interface between the queue files of the frontend (CQ, QP, SRQ
 * and their data paths). Private to frontend/verbs.
 */
#ifndef APIR_QUEUES_H
#define APIR_QUEUES_H

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "apir/ah_attr.h"
#include "apir_verbs.h"

_Static_assert(APIR_WQE_INLINE == IBV_SEND_INLINE, "inline flag travels as IBV_SEND_INLINE");
/* Scatter lists are copied into the rings as they are. */
_Static_assert(sizeof(struct ibv_sge) == sizeof(struct apir_sge) &&
	       offsetof(struct ibv_sge, addr) == offsetof(struct apir_sge, addr) &&
	       offsetof(struct ibv_sge, length) == offsetof(struct apir_sge, length) &&
	       offsetof(struct ibv_sge, lkey) == offsetof(struct apir_sge, lkey),
	       "struct ibv_sge and struct apir_sge share a layout");

static inline struct apir_cq *to_acq(struct ibv_cq *cq)
{
	return (struct apir_cq *)cq;   /* ibv_cq is the head of ibv_cq_ex, the head of apir_cq */
}

static inline struct apir_cq *to_acq_ex(struct ibv_cq_ex *cq)
{
	return (struct apir_cq *)cq;
}

static inline struct apir_qp *to_aqp(struct ibv_qp *qp)
{
	return (struct apir_qp *)qp;
}

static inline struct apir_qp *to_aqp_ex(struct ibv_qp_ex *qp)
{
	return (struct apir_qp *)qp;
}

static inline struct apir_srq *to_asrq(struct ibv_srq *srq)
{
	return (struct apir_srq *)srq;
}

/* ---- CQ (cq.c, cq_ex.c, poll_cq.c) -------------------------------------- */

struct apir_cq *apir_cq_create(struct ibv_context *ctx,
			       const struct ibv_cq_init_attr_ex *attr);
void apir_cq_ex_ops_init(struct apir_cq *cq);
struct ibv_cq_ex *apir_create_cq_ex(struct ibv_context *ctx,
				    struct ibv_cq_init_attr_ex *attr);
int apir_poll_cq(struct ibv_cq *ibcq, int num_entries, struct ibv_wc *wc);
int apir_req_notify_cq(struct ibv_cq *ibcq, int solicited_only);
int apir_modify_cq(struct ibv_cq *ibcq, struct ibv_modify_cq_attr *attr);

/* CQEs published by apird and not yet consumed (acquire), or -EIO when the
 * producer index is impossible. */
int apir_cq_ready(struct apir_cq *cq);

/* Called on an empty poll: now and then yields the core (apird may be
 * waiting for one), every few thousand calls checks that apird is alive.
 * Returns 0, or -EIO when apird is gone. */
int apir_cq_idle(struct apir_cq *cq);

/* ---- QP (qp.c, qp_attr.c, qp_ex.c, post_send.c, post_recv.c) ------------ */

struct ibv_qp *apir_create_qp_ex(struct ibv_context *ctx,
				 struct ibv_qp_init_attr_ex *attr);
void apir_qp_ex_ops_init(struct apir_qp *qp);
int apir_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
		   struct ibv_send_wr **bad_wr);
int apir_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
		   struct ibv_recv_wr **bad_wr);

/* apir.AhAttr -> ibv_ah_attr (the other way: apir/ah_attr.h). */
void apir_ah_attr_from_msg(const Apir__AhAttr *m, struct ibv_ah_attr *ah);

/* Send ops (IBV_QP_EX_WITH_*) a QP type accepts. */
uint64_t apir_qp_send_ops(enum ibv_qp_type type);

/* The QP may post to its send queue in its current state. */
static inline bool apir_sq_state_ok(const struct apir_qp *qp)
{
	switch (qp->ibqp.state) {
	case IBV_QPS_RESET:
	case IBV_QPS_INIT:
	case IBV_QPS_RTR:
		return false;
	default:
		return true;
	}
}

/* Checks opcode and QP state, then takes the next free SQ slot (sq_lock
 * held) and fills the fields every WQE has. Advances qp->sq_prod locally;
 * nothing is visible to apird until apir_sq_publish(). Returns NULL with
 * *err set (EINVAL, ENOMEM). */
struct apir_send_wqe *apir_sq_begin(struct apir_qp *qp, enum ibv_wr_opcode op,
				    uint64_t wr_id, unsigned int send_flags,
				    int *err);

/* Switches wqe to inline data (empty so far); EINVAL for an opcode that
 * carries no payload of its own (RDMA READ, atomics). */
int apir_sq_inline_begin(struct apir_send_wqe *wqe);

/* Appends len bytes at addr to wqe's inline data, within the QP's
 * max_inline_data. The data is captured now: the caller may reuse it. */
static inline int apir_sq_inline_add(const struct apir_qp *qp, struct apir_send_wqe *wqe,
				     const void *addr, size_t len)
{
	if (len > qp->cap.max_inline_data - wqe->inline_len)
		return EINVAL;
	memcpy(wqe->inline_data + wqe->inline_len, addr, len);
	wqe->inline_len += (uint32_t)len;
	return 0;
}

/* Copies a scatter/gather list into wqe. */
int apir_sq_set_sges(struct apir_qp *qp, struct apir_send_wqe *wqe,
		     const struct ibv_sge *sges, size_t num_sge);

/* UD destination of wqe. */
int apir_sq_set_ud(struct apir_qp *qp, struct apir_send_wqe *wqe,
		   struct ibv_ah *ah, uint32_t remote_qpn, uint32_t remote_qkey);

/* Makes every WQE up to qp->sq_prod visible to apird and wakes it. */
void apir_sq_publish(struct apir_qp *qp);

/* A receive ring (a QP's RQ or an SRQ) and the poster's indices of it. */
struct apir_recv_ring {
	struct apir_ring_ctrl *ctrl;
	struct apir_recv_wqe *wqes;
	uint32_t entries;
	uint32_t max_sge;
	uint32_t *prod;
	uint32_t *cons_seen;
};

/* Posts a chain of receive WRs into ring (the caller holds the ring's
 * lock). Returns 0 or an errno with *bad_wr set; WRs before *bad_wr are
 * posted. Publishes and rings the doorbell. */
int apir_recv_ring_post(struct apir_session *s, const struct apir_recv_ring *ring,
			struct ibv_recv_wr *wr, struct ibv_recv_wr **bad_wr);

/* ---- SRQ (srq.c) ------------------------------------------------------- */

struct ibv_srq *apir_create_srq_ex(struct ibv_context *ctx,
				   struct ibv_srq_init_attr_ex *attr);
int apir_get_srq_num(struct ibv_srq *srq, uint32_t *srq_num);
int apir_post_srq_recv(struct ibv_srq *ibsrq, struct ibv_recv_wr *wr,
		       struct ibv_recv_wr **bad_wr);

#endif /* APIR_QUEUES_H */
