/* SPDX-License-Identifier: MIT */
/*
 * Responder side: taking receive WQEs from a QP's RQ or its SRQ, placing a
 * message into them, completing them. A WQE is copied out of shared memory
 * first and consumed only once the engine decided what happens to it.
 */
#include "sw.h"

static void rq_of(struct apird_qp *qp, struct sw_rq *q)
{
	struct apird_srq *srq = qp->srq;

	if (srq) {
		*q = (struct sw_rq){
			.ring = &srq->ctrl->ring, .wqes = srq->wqes, .entries = srq->num_entries,
			.cons = &srq->cons, .max_sge = srq->max_sge,
			.session = srq->session, .pd = srq->pd, .srq = srq,
		};
		return;
	}
	*q = (struct sw_rq){
		.ring = &qp->ctrl->rq, .wqes = qp->rq, .entries = qp->rq_entries,
		.cons = &qp->rq_cons, .max_sge = qp->cap.max_recv_sge,
		.session = qp->session, .pd = qp->pd,
	};
}

static void copy_recv_wqe(const struct apir_recv_wqe *src, struct apir_recv_wqe *w)
{
	uint32_t n;

	sw_copy_in(w, src, offsetof(struct apir_recv_wqe, sge));
	n = w->num_sge < APIR_MAX_SGE ? w->num_sge : APIR_MAX_SGE;
	sw_copy_in(w->sge, src->sge, n * sizeof(w->sge[0]));
}

enum sw_peek sw_recv_peek(struct verbs_dev *d, struct apird_qp *responder, struct sw_recv *r)
{
	int64_t pending;

	r->qp = responder;
	rq_of(responder, &r->q);
	if (!r->q.entries)
		return SW_RECV_EMPTY;
	pending = sw_ring_pending(r->q.ring, *r->q.cons, r->q.entries);
	if (pending < 0) {
		sw_ring_broken(responder, r->q.srq ? "shared receive queue" : "receive queue");
		sw_qp_to_error(d, responder);
		return SW_RECV_BROKEN;
	}
	if (!pending)
		return SW_RECV_EMPTY;
	copy_recv_wqe(&r->q.wqes[*r->q.cons & (r->q.entries - 1)], &r->wqe);
	return SW_RECV_READY;
}

bool sw_recv_posted(const struct apird_qp *qp)
{
	const struct apird_srq *srq = qp->srq;

	if (srq)
		return sw_ring_pending(&srq->ctrl->ring, srq->cons, srq->num_entries) > 0;
	return qp->rq_entries && sw_ring_pending(&qp->ctrl->rq, qp->rq_cons, qp->rq_entries) > 0;
}

/* IBV_EVENT_SRQ_LIMIT_REACHED fires once when the SRQ drops below its
 * armed limit; the frontend re-arms through modify_srq. */
static void srq_check_limit(struct apird_srq *srq)
{
	int64_t left;

	if (!srq->srq_limit)
		return;
	left = sw_ring_pending(&srq->ctrl->ring, srq->cons, srq->num_entries);
	if (left >= 0 && left < srq->srq_limit) {
		srq->srq_limit = 0;
		apird_session_async_event(srq->session, IBV_EVENT_SRQ_LIMIT_REACHED,
					  APIR_OBJ_SRQ, srq->handle);
	}
}

void sw_recv_consume(struct sw_recv *r)
{
	(*r->q.cons)++;
	sw_ring_publish_cons(r->q.ring, *r->q.cons);
	if (r->q.srq)
		srq_check_limit(r->q.srq);
}

void sw_recv_finish(struct verbs_dev *d, struct sw_recv *r, struct apir_cqe *c, bool solicited)
{
	c->wr_id = r->wqe.wr_id;
	c->qp_num = r->qp->qp_num;
	c->pkey_index = r->qp->attr.pkey_index;
	sw_complete(d, r->qp, r->qp->recv_cq, c, solicited);
}

void sw_recv_complete(struct verbs_dev *d, struct sw_recv *r, struct apir_cqe *c, bool solicited)
{
	sw_recv_consume(r);
	sw_recv_finish(d, r, c, solicited);
}

/* The responder's own error: its WQE completes in error (the QP is in ERR
 * before the completion is visible). */
static void recv_fail(struct verbs_dev *d, struct sw_recv *r, const struct apir_cqe *tmpl,
		      enum ibv_wc_status status)
{
	struct apir_cqe c = sw_cqe(0, status, tmpl->opcode, 0);

	sw_qp_fail(d, r->qp);
	sw_recv_complete(d, r, &c, false);
}

static enum ibv_wc_status recv_buffers(struct verbs_dev *d, struct sw_recv *r, uint64_t need)
{
	enum ibv_wc_status st;

	if (r->wqe.num_sge > r->q.max_sge || r->wqe.num_sge > APIR_MAX_SGE)
		return IBV_WC_LOC_QP_OP_ERR;
	st = sw_sgl_resolve(d, r->q.session, r->q.pd, r->wqe.sge, r->wqe.num_sge, true,
			    UINT64_MAX, &r->sgl);
	if (st == IBV_WC_SUCCESS && r->sgl.len < need)
		st = IBV_WC_LOC_LEN_ERR;
	return st;
}

enum ibv_wc_status sw_recv_accept(struct verbs_dev *d, struct sw_recv *r, uint64_t need,
				  const struct apir_cqe *tmpl)
{
	enum ibv_wc_status st = recv_buffers(d, r, need);

	if (st != IBV_WC_SUCCESS)
		recv_fail(d, r, tmpl, st);
	return st;
}

enum ibv_wc_status sw_recv_deliver(struct verbs_dev *d, struct sw_recv *r, const struct sw_sgl *msg,
				   const struct apir_cqe *tmpl, bool solicited)
{
	enum ibv_wc_status st = sw_recv_accept(d, r, msg->len, tmpl);
	struct apir_cqe c = *tmpl;

	if (st != IBV_WC_SUCCESS)
		return st;
	sw_copy(&r->sgl, msg, msg->len);
	apird_qp_count_received(r->qp, msg->len);
	c.status = IBV_WC_SUCCESS;
	c.byte_len = (uint32_t)msg->len;
	sw_recv_complete(d, r, &c, solicited);
	return IBV_WC_SUCCESS;
}
