/* SPDX-License-Identifier: MIT */
/*
 * Receive queues: ibv_post_recv on a QP's own RQ and ibv_post_srq_recv on
 * an SRQ share one ring writer. Like sends, a post is a few stores and a
 * release; the doorbell is rung only if apird sleeps.
 */
#include <errno.h>
#include <string.h>

#include "queues.h"

static inline struct apir_recv_wqe *apir_recv_slot(const struct apir_recv_ring *ring)
{
	uint32_t prod = *ring->prod;

	if (prod - *ring->cons_seen >= ring->entries) {
		*ring->cons_seen = atomic_load_explicit(&ring->ctrl->cons.value, memory_order_acquire);
		if (prod - *ring->cons_seen >= ring->entries)
			return NULL;
	}
	return &ring->wqes[prod & (ring->entries - 1)];
}

int apir_recv_ring_post(struct apir_session *s, const struct apir_recv_ring *ring,
			struct ibv_recv_wr *wr, struct ibv_recv_wr **bad_wr)
{
	uint32_t start = *ring->prod;
	int err = 0;

	for (; wr; wr = wr->next) {
		struct apir_recv_wqe *wqe = NULL;

		if (wr->num_sge < 0 || (uint32_t)wr->num_sge > ring->max_sge)
			err = EINVAL;
		else if (!(wqe = apir_recv_slot(ring)))
			err = ENOMEM;
		if (err) {
			*bad_wr = wr;
			break;
		}
		wqe->wr_id = wr->wr_id;
		wqe->num_sge = (uint32_t)wr->num_sge;
		wqe->pad = 0;
		if (wr->num_sge) /* sg_list may be NULL when there is nothing to scatter */
			memcpy(wqe->sge, wr->sg_list, (size_t)wr->num_sge * sizeof(*wr->sg_list));
		(*ring->prod)++;
	}
	if (*ring->prod != start) {
		atomic_store_explicit(&ring->ctrl->prod.value, *ring->prod, memory_order_release);
		apir_doorbell(s);
	}
	return err;
}

int apir_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr, struct ibv_recv_wr **bad_wr)
{
	struct apir_qp *qp = to_aqp(ibqp);
	struct apir_recv_ring ring = {
		.ctrl = &qp->ctrl->rq,
		.wqes = qp->rq,
		.entries = qp->rq_entries,
		.max_sge = qp->cap.max_recv_sge,
		.prod = &qp->rq_prod,
		.cons_seen = &qp->rq_cons_seen,
	};
	int err;

	/* A QP on an SRQ has no RQ; a QP in RESET accepts no work. */
	if (ibqp->srq || ibqp->state == IBV_QPS_RESET) {
		*bad_wr = wr;
		return EINVAL;
	}
	pthread_spin_lock(&qp->rq_lock);
	err = apir_recv_ring_post(to_session(ibqp->context), &ring, wr, bad_wr);
	pthread_spin_unlock(&qp->rq_lock);
	return err;
}
