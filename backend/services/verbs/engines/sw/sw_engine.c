/* SPDX-License-Identifier: MIT */
/*
 * The sweep: every QP on the active list gets its send queue executed (RTS,
 * and SQD while an RNR-stalled WQE finishes) or flushed (SQE, ERR). Work is
 * synchronous: a WQE is fully executed, its slot released and its
 * completion written before the next one is looked at.
 */
#include "sw.h"

enum ibv_wc_opcode sw_wc_opcode(uint32_t wr_opcode)
{
	switch (wr_opcode) {
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		return IBV_WC_RDMA_WRITE;
	case IBV_WR_RDMA_READ:
		return IBV_WC_RDMA_READ;
	case IBV_WR_ATOMIC_CMP_AND_SWP:
		return IBV_WC_COMP_SWAP;
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		return IBV_WC_FETCH_ADD;
	default:
		return IBV_WC_SEND;
	}
}

/* Only the bytes the WQE's opcode, flags and counts say are used are
 * copied, each count clamped to the WQE. */
void sw_sq_copy(const struct apird_qp *qp, uint32_t idx, struct apir_send_wqe *w)
{
	const struct apir_send_wqe *src = &qp->sq[idx & (qp->sq_entries - 1)];

	sw_copy_in(w, src, offsetof(struct apir_send_wqe, sge));
	if (sw_wqe_inline(w)) {
		uint32_t n = w->inline_len < APIR_MAX_INLINE ? w->inline_len : APIR_MAX_INLINE;

		sw_copy_in(w->inline_data, src->inline_data, n);
	} else {
		uint32_t n = w->num_sge < APIR_MAX_SGE ? w->num_sge : APIR_MAX_SGE;

		sw_copy_in(w->sge, src->sge, n * sizeof(w->sge[0]));
	}
}

/* Releases the WQE's slot before its completion is visible, so a frontend
 * that polled the completion can always post again. */
void sw_sq_retire(struct verbs_dev *d, struct apird_qp *qp, const struct sw_op *op)
{
	bool failed = op->status != IBV_WC_SUCCESS;

	qp->sq_cons++;
	sw_ring_publish_cons(&qp->ctrl->sq, qp->sq_cons);
	if (failed) {
		sw_requester_failed(d, qp);
	} else {
		qp->bytes_sent += op->byte_len;
		qp->ops_sent++;
	}
	if (failed || qp->sq_sig_all || (op->w->send_flags & IBV_SEND_SIGNALED)) {
		struct apir_cqe c = sw_cqe(op->w->wr_id, op->status, sw_wc_opcode(op->w->opcode),
					   qp->qp_num);

		c.byte_len = op->byte_len;
		sw_complete(d, qp, qp->send_cq, &c, false);
	}
}

/* Executes the head WQE, adding the bytes it moved to *bytes. Returns
 * false when it stays queued (RNR wait). */
static bool sq_step(struct verbs_dev *d, struct apird_qp *qp, uint64_t *bytes)
{
	struct apir_send_wqe w;
	struct sw_op op = { .d = d, .qp = qp, .w = &w };

	sw_sq_copy(qp, qp->sq_cons, &w);
	sw_execute(&op);
	if (op.no_peer) {
		if (sw_peer_wait(d, qp))
			return false;
		op.status = IBV_WC_RETRY_EXC_ERR;
	} else if (op.rnr) {
		if (sw_rnr_stall(d, qp, op.responder->attr.min_rnr_timer, op.responder->qp_num))
			return false;
		op.status = IBV_WC_RNR_RETRY_EXC_ERR;
	}
	qp->rnr.waiting = false;
	qp->rnr.peer_missing = false;
	sw_sq_retire(d, qp, &op);
	*bytes += op.byte_len;
	return true;
}

static unsigned int sq_run(struct verbs_dev *d, struct apird_qp *qp)
{
	int64_t pending = sw_ring_pending(&qp->ctrl->sq, qp->sq_cons, qp->sq_entries);
	unsigned int done = 0;
	uint64_t bytes = 0;

	if (pending < 0) {
		sw_ring_broken(qp, "send queue");
		sw_qp_to_error(d, qp);
		return 0;
	}
	if (qp->state == IBV_QPS_SQD && !qp->rnr.waiting)
		return 0;
	while (done < pending && done < SW_SQ_BUDGET && bytes < SW_SQ_BYTE_BUDGET) {
		if (!sq_step(d, qp, &bytes))
			break;
		done++;
		if (qp->state == IBV_QPS_SQD)
			sw_sq_drained(qp);
		if (qp->state != IBV_QPS_RTS)
			break;
	}
	return done;
}

static unsigned int qp_poll(struct verbs_dev *d, struct apird_qp *qp)
{
	switch (qp->state) {
	case IBV_QPS_RTS:
	case IBV_QPS_SQD:
		/* A QP connected to another apird: its link's requester. */
		if (qp->remote.active)
			return qp->link->sq_run(d, qp);
		return sq_run(d, qp);
	case IBV_QPS_SQE:
		return sw_flush_sq(d, qp);
	case IBV_QPS_ERR:
		return sw_flush_sq(d, qp) + sw_flush_rq(d, qp);
	default:
		return 0;
	}
}

unsigned int sw_engine_poll(struct verbs_dev *d)
{
	unsigned int n = 0;

	d->now_ns = apird_now_ns();
	for (struct apird_qp *qp = d->active_qps; qp; qp = qp->next_active)
		n += qp_poll(d, qp);
	return n;
}

/* An RNR-stalled QP has work once its responder has a receive posted: the
 * receiver may have posted it after apird's last sweep but before apird set
 * its sleeping flag, so without ringing. Otherwise its deadline wakes apird. */
static bool rnr_unblocked(const struct verbs_dev *d, const struct apird_qp *qp)
{
	/* The lookup only reads; its prototype just isn't const. */
	const struct apird_qp *peer = apird_qp_lookup((struct verbs_dev *)d, qp->attr.dest_qp_num);

	if (qp->rnr.peer_missing)
		return peer && sw_qp_receives(peer) && peer->attr.dest_qp_num == qp->qp_num;
	return peer && sw_recv_posted(peer);
}

static bool qp_has_work(const struct verbs_dev *d, const struct apird_qp *qp)
{
	bool sq = sw_ring_pending(&qp->ctrl->sq, qp->sq_cons, qp->sq_entries) > 0;

	switch (qp->state) {
	case IBV_QPS_RTS:
	case IBV_QPS_SQD:
		if (qp->remote.active)
			return qp->link->sq_has_work(d, qp);
		if (qp->rnr.waiting)
			return rnr_unblocked(d, qp);
		return sq && qp->state == IBV_QPS_RTS;
	case IBV_QPS_SQE:
		return sq;
	case IBV_QPS_ERR:
		return sq || (!qp->srq && sw_recv_posted(qp));
	default:
		return false;
	}
}

bool sw_engine_has_work(const struct verbs_dev *d)
{
	for (const struct apird_qp *qp = d->active_qps; qp; qp = qp->next_active)
		if (qp_has_work(d, qp))
			return true;
	return false;
}

uint64_t sw_engine_next_deadline(const struct verbs_dev *d)
{
	uint64_t next = 0;

	/* A remote QP's RNR retry is its link's deadline. */
	for (const struct apird_qp *qp = d->active_qps; qp; qp = qp->next_active)
		if (qp->rnr.waiting && !qp->remote.active && (!next || qp->rnr.retry_at_ns < next))
			next = qp->rnr.retry_at_ns;
	return next;
}
