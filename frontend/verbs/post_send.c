/* SPDX-License-Identifier: MIT */
/*
 * The send queue: ibv_post_send, and the WQE building blocks it shares with
 * the ibv_wr_* interface (qp_ex.c). A post writes WQEs into the SQ ring,
 * publishes the producer index and rings the doorbell only if apird sleeps:
 * no syscall, no allocation, no control call.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "queues.h"

_Static_assert(sizeof(struct ibv_sge) == sizeof(struct apir_sge) &&
	       offsetof(struct ibv_sge, addr) == offsetof(struct apir_sge, addr) &&
	       offsetof(struct ibv_sge, length) == offsetof(struct apir_sge, length) &&
	       offsetof(struct ibv_sge, lkey) == offsetof(struct apir_sge, lkey),
	       "an ibv_sge list is copied into the ring as is");

#define APIR_SEND_OPS_UD ((uint64_t)(IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_SEND_WITH_IMM))
#define APIR_SEND_OPS_UC (APIR_SEND_OPS_UD | IBV_QP_EX_WITH_RDMA_WRITE | \
			  IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM)
#define APIR_SEND_OPS_RC (APIR_SEND_OPS_UC | IBV_QP_EX_WITH_RDMA_READ | \
			  IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP | IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD)

/* Flags a WQE carries to apird; INLINE is set by apir_sq_inline_begin(). */
#define APIR_SEND_FLAGS_PASSED ((unsigned int)(IBV_SEND_FENCE | IBV_SEND_SIGNALED | \
					       IBV_SEND_SOLICITED))

uint64_t apir_qp_send_ops(enum ibv_qp_type type)
{
	switch (type) {
	case IBV_QPT_RC:
		return APIR_SEND_OPS_RC;
	case IBV_QPT_UC:
		return APIR_SEND_OPS_UC;
	case IBV_QPT_UD:
		return APIR_SEND_OPS_UD;
	default:
		return 0;
	}
}

static inline uint64_t apir_wr_opcode_op(enum ibv_wr_opcode op)
{
	switch (op) {
	case IBV_WR_RDMA_WRITE:
		return IBV_QP_EX_WITH_RDMA_WRITE;
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		return IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM;
	case IBV_WR_SEND:
		return IBV_QP_EX_WITH_SEND;
	case IBV_WR_SEND_WITH_IMM:
		return IBV_QP_EX_WITH_SEND_WITH_IMM;
	case IBV_WR_RDMA_READ:
		return IBV_QP_EX_WITH_RDMA_READ;
	case IBV_WR_ATOMIC_CMP_AND_SWP:
		return IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP;
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		return IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD;
	default:
		return 0;
	}
}

/* The next free SQ slot, or NULL when the ring is full. apird's consumer
 * index is re-read (acquire: apird has copied the slot out) only when the
 * cached one says full, so a post usually touches no line apird writes. */
static inline struct apir_send_wqe *apir_sq_slot(struct apir_qp *qp)
{
	if (qp->sq_prod - qp->sq_cons_seen >= qp->sq_entries) {
		qp->sq_cons_seen = atomic_load_explicit(&qp->ctrl->sq.cons.value,
							memory_order_acquire);
		if (qp->sq_prod - qp->sq_cons_seen >= qp->sq_entries)
			return NULL;
	}
	return &qp->sq[qp->sq_prod & (qp->sq_entries - 1)];
}

struct apir_send_wqe *apir_sq_begin(struct apir_qp *qp, enum ibv_wr_opcode op,
				    uint64_t wr_id, unsigned int send_flags, int *err)
{
	struct apir_send_wqe *wqe;

	if (!(apir_qp_send_ops(qp->ibqp.qp_type) & apir_wr_opcode_op(op)) ||
	    !apir_sq_state_ok(qp)) {
		*err = EINVAL;
		return NULL;
	}
	wqe = apir_sq_slot(qp);
	if (!wqe) {
		*err = ENOMEM;
		return NULL;
	}
	send_flags &= APIR_SEND_FLAGS_PASSED;
	if (qp->sq_sig_all)
		send_flags |= IBV_SEND_SIGNALED;
	wqe->wr_id = wr_id;
	wqe->opcode = op;
	wqe->send_flags = send_flags;
	wqe->num_sge = 0;
	wqe->imm_data = 0;
	wqe->remote_addr = 0;
	wqe->rkey = 0;
	wqe->inline_len = 0;
	wqe->compare_add = 0;
	wqe->swap = 0;
	wqe->ah_handle = 0;
	wqe->remote_qpn = 0;
	wqe->remote_qkey = 0;
	wqe->pad = 0;
	qp->sq_prod++;
	return wqe;
}

/* Opcodes whose local buffers are sent out, so may be inline. */
static inline bool apir_opcode_sends_data(uint32_t op)
{
	return op == IBV_WR_SEND || op == IBV_WR_SEND_WITH_IMM ||
	       op == IBV_WR_RDMA_WRITE || op == IBV_WR_RDMA_WRITE_WITH_IMM;
}

int apir_sq_inline_begin(struct apir_send_wqe *wqe)
{
	if (!apir_opcode_sends_data(wqe->opcode))
		return EINVAL;
	wqe->send_flags |= APIR_WQE_INLINE;
	wqe->num_sge = 0;
	wqe->inline_len = 0;
	return 0;
}

int apir_sq_set_sges(struct apir_qp *qp, struct apir_send_wqe *wqe,
		     const struct ibv_sge *sges, size_t num_sge)
{
	if (num_sge > qp->cap.max_send_sge)
		return EINVAL;
	wqe->send_flags &= ~APIR_WQE_INLINE;
	wqe->inline_len = 0;
	wqe->num_sge = (uint32_t)num_sge;
	memcpy(wqe->sge, sges, num_sge * sizeof(*sges));
	return 0;
}

int apir_sq_set_ud(struct apir_qp *qp, struct apir_send_wqe *wqe,
		   struct ibv_ah *ah, uint32_t remote_qpn, uint32_t remote_qkey)
{
	if (qp->ibqp.qp_type != IBV_QPT_UD || !ah)
		return EINVAL;
	wqe->ah_handle = ((struct apir_ah *)ah)->handle;
	wqe->remote_qpn = remote_qpn;
	wqe->remote_qkey = remote_qkey;
	return 0;
}

void apir_sq_publish(struct apir_qp *qp)
{
	atomic_store_explicit(&qp->ctrl->sq.prod.value, qp->sq_prod, memory_order_release);
	apir_doorbell(to_session(qp->ibqp.context));
}

static int apir_send_wr_payload(struct apir_qp *qp, struct apir_send_wqe *wqe,
				const struct ibv_send_wr *wr)
{
	int err;

	if (wr->num_sge < 0)
		return EINVAL;
	/* Like mlx5, IBV_SEND_INLINE means nothing for READ and atomics, whose
	 * local buffer is written, not sent. */
	if (!(wr->send_flags & IBV_SEND_INLINE) || !apir_opcode_sends_data(wr->opcode))
		return apir_sq_set_sges(qp, wqe, wr->sg_list, (size_t)wr->num_sge);
	err = apir_sq_inline_begin(wqe);
	for (int i = 0; !err && i < wr->num_sge; i++)
		err = apir_sq_inline_add(qp, wqe, (const void *)(uintptr_t)wr->sg_list[i].addr,
					 wr->sg_list[i].length);
	return err;
}

static int apir_send_wr_remote(struct apir_qp *qp, struct apir_send_wqe *wqe,
			       const struct ibv_send_wr *wr)
{
	switch (wr->opcode) {
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		wqe->imm_data = wr->imm_data;
		/* fall through */
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_READ:
		wqe->remote_addr = wr->wr.rdma.remote_addr;
		wqe->rkey = wr->wr.rdma.rkey;
		return 0;
	case IBV_WR_ATOMIC_CMP_AND_SWP:
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		wqe->remote_addr = wr->wr.atomic.remote_addr;
		wqe->rkey = wr->wr.atomic.rkey;
		wqe->compare_add = wr->wr.atomic.compare_add;
		wqe->swap = wr->wr.atomic.swap;
		return 0;
	case IBV_WR_SEND_WITH_IMM:
		wqe->imm_data = wr->imm_data;
		/* fall through */
	default:
		if (qp->ibqp.qp_type == IBV_QPT_UD)
			return apir_sq_set_ud(qp, wqe, wr->wr.ud.ah, wr->wr.ud.remote_qpn,
					      wr->wr.ud.remote_qkey);
		return 0;
	}
}

static int apir_post_one(struct apir_qp *qp, const struct ibv_send_wr *wr)
{
	int err;
	struct apir_send_wqe *wqe = apir_sq_begin(qp, wr->opcode, wr->wr_id, wr->send_flags, &err);

	if (!wqe)
		return err;
	err = apir_send_wr_payload(qp, wqe, wr);
	if (!err)
		err = apir_send_wr_remote(qp, wqe, wr);
	if (err)
		qp->sq_prod--;   /* not published yet: the slot is simply reused */
	return err;
}

int apir_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr, struct ibv_send_wr **bad_wr)
{
	struct apir_qp *qp = to_aqp(ibqp);
	uint32_t start;
	int err = 0;

	pthread_spin_lock(&qp->sq_lock);
	start = qp->sq_prod;
	for (; wr; wr = wr->next) {
		err = apir_post_one(qp, wr);
		if (err) {
			*bad_wr = wr;
			break;
		}
	}
	if (qp->sq_prod != start)
		apir_sq_publish(qp);
	pthread_spin_unlock(&qp->sq_lock);
	return err;
}
