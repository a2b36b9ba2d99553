/* SPDX-License-Identifier: MIT */
/*
 * Flushing: in ERR every queued and later-posted WQE of the QP's SQ and RQ
 * completes with IBV_WC_WR_FLUSH_ERR (in SQE, the SQ's only). WQEs of an
 * SRQ belong to the SRQ and are never flushed by one of its QPs.
 */
#include "sw.h"

unsigned int sw_flush_sq(struct verbs_dev *d, struct apird_qp *qp)
{
	int64_t pending = sw_ring_pending(&qp->ctrl->sq, qp->sq_cons, qp->sq_entries);
	unsigned int n = 0;

	if (pending < 0) {
		sw_ring_broken(qp, "send queue");
		return 0;
	}
	for (; n < pending; n++) {
		struct apir_send_wqe w;
		struct apir_cqe c;

		sw_copy_in(&w, &qp->sq[qp->sq_cons & (qp->sq_entries - 1)],
			   offsetof(struct apir_send_wqe, sge));
		c = sw_cqe(w.wr_id, IBV_WC_WR_FLUSH_ERR, sw_wc_opcode(w.opcode), qp->qp_num);

		qp->sq_cons++;
		sw_ring_publish_cons(&qp->ctrl->sq, qp->sq_cons);
		sw_complete(d, qp, qp->send_cq, &c, false);
	}
	return n;
}

unsigned int sw_flush_rq(struct verbs_dev *d, struct apird_qp *qp)
{
	int64_t pending;
	unsigned int n = 0;

	if (qp->srq || !qp->rq_entries)
		return 0;
	pending = sw_ring_pending(&qp->ctrl->rq, qp->rq_cons, qp->rq_entries);
	if (pending < 0) {
		sw_ring_broken(qp, "receive queue");
		return 0;
	}
	for (; n < pending; n++) {
		uint64_t wr_id;
		struct apir_cqe c;

		sw_copy_in(&wr_id, &qp->rq[qp->rq_cons & (qp->rq_entries - 1)].wr_id, sizeof(wr_id));
		c = sw_cqe(wr_id, IBV_WC_WR_FLUSH_ERR, IBV_WC_RECV, qp->qp_num);

		qp->rq_cons++;
		sw_ring_publish_cons(&qp->ctrl->rq, qp->rq_cons);
		sw_complete(d, qp, qp->recv_cq, &c, false);
	}
	return n;
}
