/* SPDX-License-Identifier: MIT */
/*
 * Queue pairs: creation (plain and extended) and destruction. apird grants
 * the capabilities and creates the shared SQ/RQ area; the frontend checks
 * the reply against the ring layout before mapping it.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "queues.h"

static int apir_qp_request(struct apir_context *actx, const struct ibv_qp_init_attr_ex *attr,
			   Apir__Response **resp, struct apir_area *area)
{
	Apir__CreateQp body = APIR__CREATE_QP__INIT;
	Apir__QpCap cap = APIR__QP_CAP__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	size_t sq_off, rq_off;

	cap.max_send_wr = apir_ring_pow2(attr->cap.max_send_wr);
	cap.max_recv_wr = attr->srq ? 0 : apir_ring_pow2(attr->cap.max_recv_wr);
	area->len = apir_qp_layout(cap.max_send_wr, cap.max_recv_wr, &sq_off, &rq_off);
	cap.max_send_sge = attr->cap.max_send_sge;
	cap.max_recv_sge = attr->cap.max_recv_sge;
	cap.max_inline_data = attr->cap.max_inline_data;
	body.pd = ((struct apir_pd *)attr->pd)->handle;
	body.send_cq = to_acq(attr->send_cq)->handle;
	body.recv_cq = to_acq(attr->recv_cq)->handle;
	if (attr->srq) {
		body.has_srq = 1;
		body.srq = to_asrq(attr->srq)->handle;
	}
	body.qp_type = attr->qp_type;
	body.cap = &cap;
	body.sq_sig_all = attr->sq_sig_all != 0;
	req.body_case = APIR__REQUEST__BODY_CREATE_QP;
	req.create_qp = &body;
	return apir_rpc_create(&actx->session, &req, APIR__RESPONSE__BODY_CREATE_QP, resp, area,
			       &body.ring, &body.n_ring);
}

static int apir_qp_destroy_remote(struct apir_context *actx, uint32_t handle)
{
	Apir__DestroyQp body = APIR__DESTROY_QP__INIT;
	Apir__Request req = APIR__REQUEST__INIT;

	body.qp = handle;
	req.body_case = APIR__REQUEST__BODY_DESTROY_QP;
	req.destroy_qp = &body;
	return apir_rpc_destroy(&actx->session, &req);
}

/* apird grants at least what was asked (or fails the call), within what
 * one WQE of the ring ABI can hold, and rings large enough for it. */
static bool apir_qp_reply_ok(const Apir__CreateQpReply *r, const struct ibv_qp_init_attr_ex *attr)
{
	const Apir__QpCap *c = r->cap;
	const struct ibv_qp_cap *a = &attr->cap;
	bool own_rq = attr->srq == NULL;

	if (c && apir_ring_entries_ok(r->sq_entries, c->max_send_wr) &&
	    apir_ring_entries_ok(r->rq_entries, own_rq ? c->max_recv_wr : 0) &&
	    c->max_send_wr >= a->max_send_wr && c->max_send_sge >= a->max_send_sge &&
	    c->max_inline_data >= a->max_inline_data &&
	    (!own_rq || (c->max_recv_wr >= a->max_recv_wr && c->max_recv_sge >= a->max_recv_sge)) &&
	    c->max_send_sge <= APIR_MAX_SGE && c->max_recv_sge <= APIR_MAX_SGE &&
	    c->max_inline_data <= APIR_MAX_INLINE)
		return true;
	apir_warn("apird's CreateQp reply does not fit the request or the ring ABI");
	return false;
}

static int apir_qp_map(struct apir_context *actx, struct apir_qp *qp,
		       const Apir__CreateQpReply *r, const struct ibv_qp_init_attr_ex *attr,
		       struct apir_area *area)
{
	size_t sq_off, rq_off, len;
	struct apir_qp_ctrl *ctrl;

	if (!apir_qp_reply_ok(r, attr)) {
		apir_area_drop(&actx->session, area);
		return EPROTO;
	}
	len = apir_qp_layout(r->sq_entries, r->rq_entries, &sq_off, &rq_off);
	qp->area = apir_area_map(&actx->session, area, r->area_size, len);
	if (!qp->area)
		return errno;
	qp->area_len = len;
	ctrl = qp->area;
	if (!apir_ring_ctrl_ok(&ctrl->sq, r->sq_entries, sizeof(struct apir_send_wqe)) ||
	    !apir_ring_ctrl_ok(&ctrl->rq, r->rq_entries, sizeof(struct apir_recv_wqe))) {
		apir_area_unmap(qp->area, len);
		return EPROTO;
	}
	qp->ctrl = ctrl;
	qp->sq = (struct apir_send_wqe *)((uint8_t *)qp->area + sq_off);
	qp->rq = (struct apir_recv_wqe *)((uint8_t *)qp->area + rq_off);
	qp->sq_entries = r->sq_entries;
	qp->rq_entries = r->rq_entries;
	qp->sq_prod = atomic_load_explicit(&ctrl->sq.prod.value, memory_order_relaxed);
	qp->sq_cons_seen = atomic_load_explicit(&ctrl->sq.cons.value, memory_order_relaxed);
	qp->rq_prod = atomic_load_explicit(&ctrl->rq.prod.value, memory_order_relaxed);
	qp->rq_cons_seen = atomic_load_explicit(&ctrl->rq.cons.value, memory_order_relaxed);
	qp->cap = (struct ibv_qp_cap){
		.max_send_wr = r->cap->max_send_wr,
		.max_recv_wr = r->cap->max_recv_wr,
		.max_send_sge = r->cap->max_send_sge,
		.max_recv_sge = r->cap->max_recv_sge,
		.max_inline_data = r->cap->max_inline_data,
	};
	return 0;
}

static void apir_qp_fill(struct apir_qp *qp, struct ibv_context *ctx,
			 const struct ibv_qp_init_attr_ex *attr, uint32_t qp_num)
{
	struct ibv_qp *q = &qp->ibqp;

	q->context = ctx;
	q->qp_context = attr->qp_context;
	q->pd = attr->pd;
	q->send_cq = attr->send_cq;
	q->recv_cq = attr->recv_cq;
	q->srq = attr->srq;
	q->handle = qp->handle;
	q->qp_num = qp_num;
	q->state = IBV_QPS_RESET;
	q->qp_type = attr->qp_type;
	pthread_mutex_init(&q->mutex, NULL);
	pthread_cond_init(&q->cond, NULL);
	pthread_spin_init(&qp->sq_lock, PTHREAD_PROCESS_PRIVATE);
	pthread_spin_init(&qp->rq_lock, PTHREAD_PROCESS_PRIVATE);
	qp->sq_sig_all = attr->sq_sig_all != 0;
	if (attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS)
		apir_qp_ex_ops_init(qp);
}

static void apir_qp_free(struct apir_qp *qp)
{
	apir_area_unmap(qp->area, qp->area_len);
	pthread_spin_destroy(&qp->sq_lock);
	pthread_spin_destroy(&qp->rq_lock);
	pthread_cond_destroy(&qp->ibqp.cond);
	pthread_mutex_destroy(&qp->ibqp.mutex);
	free(qp);
}

static bool apir_same_context(struct ibv_context *ctx, const struct ibv_qp_init_attr_ex *attr)
{
	return attr->pd->context == ctx && attr->send_cq->context == ctx &&
	       attr->recv_cq->context == ctx && (!attr->srq || attr->srq->context == ctx);
}

static int apir_qp_attr_check(struct ibv_context *ctx, const struct ibv_qp_init_attr_ex *attr)
{
	const uint32_t known = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_CREATE_FLAGS |
			       IBV_QP_INIT_ATTR_SEND_OPS_FLAGS;
	uint64_t ops = apir_qp_send_ops(attr->qp_type);

	/* RC, UC and UD only; no creation flags, XRC, RSS or TSO. */
	if (!ops || (attr->comp_mask & ~known) ||
	    ((attr->comp_mask & IBV_QP_INIT_ATTR_CREATE_FLAGS) && attr->create_flags) ||
	    ((attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS) && (attr->send_ops_flags & ~ops)))
		return EOPNOTSUPP;
	if (!(attr->comp_mask & IBV_QP_INIT_ATTR_PD) || !attr->pd || !attr->send_cq ||
	    !attr->recv_cq || !apir_same_context(ctx, attr))
		return EINVAL;
	return 0;
}

struct ibv_qp *apir_create_qp_ex(struct ibv_context *ctx, struct ibv_qp_init_attr_ex *attr)
{
	struct apir_context *actx = to_actx(ctx);
	struct apir_area area = { 0 };
	Apir__Response *resp;
	struct apir_qp *qp;
	int rc;

	rc = apir_qp_attr_check(ctx, attr);
	if (rc)
		goto fail;
	qp = calloc(1, sizeof(*qp));
	if (!qp) {
		rc = ENOMEM;
		goto fail;
	}
	rc = apir_qp_request(actx, attr, &resp, &area);
	if (rc)
		goto fail_free;
	qp->handle = resp->create_qp->qp;
	rc = apir_qp_map(actx, qp, resp->create_qp, attr, &area);
	if (!rc)
		apir_qp_fill(qp, ctx, attr, resp->create_qp->qp_num);
	apir__response__free_unpacked(resp, NULL);
	if (rc)
		goto fail_remote;
	rc = apir_obj_register(actx, APIR_OBJ_QP, qp->handle, &qp->ibqp);
	if (rc) {
		apir_qp_destroy_remote(actx, qp->handle);
		apir_qp_free(qp);
		goto fail;
	}
	attr->cap = qp->cap;
	return &qp->ibqp;

fail_remote:
	apir_qp_destroy_remote(actx, qp->handle);
fail_free:
	free(qp);
fail:
	errno = rc;
	return NULL;
}

APIR_EXPORT struct ibv_qp *ibv_create_qp(struct ibv_pd *pd, struct ibv_qp_init_attr *init_attr)
{
	struct ibv_qp_init_attr_ex attr = {
		.qp_context = init_attr->qp_context,
		.send_cq = init_attr->send_cq,
		.recv_cq = init_attr->recv_cq,
		.srq = init_attr->srq,
		.cap = init_attr->cap,
		.qp_type = init_attr->qp_type,
		.sq_sig_all = init_attr->sq_sig_all,
		.comp_mask = IBV_QP_INIT_ATTR_PD,
		.pd = pd,
	};
	struct ibv_qp *qp = apir_create_qp_ex(pd->context, &attr);

	if (qp)
		init_attr->cap = attr.cap;
	return qp;
}

APIR_EXPORT int ibv_destroy_qp(struct ibv_qp *ibqp)
{
	struct apir_qp *qp = to_aqp(ibqp);
	struct apir_context *actx = to_actx(ibqp->context);
	int rc = apir_qp_destroy_remote(actx, qp->handle);

	if (rc)
		return rc;
	apir_obj_unregister(actx, APIR_OBJ_QP, qp->handle);
	apir_qp_free(qp);
	return 0;
}

APIR_EXPORT struct ibv_qp_ex *ibv_qp_to_qp_ex(struct ibv_qp *ibqp)
{
	struct apir_qp *qp = to_aqp(ibqp);

	/* Only QPs created with IBV_QP_INIT_ATTR_SEND_OPS_FLAGS have builders. */
	return qp->qp_ex.wr_start ? &qp->qp_ex : NULL;
}

/* apird copies a message with memcpy, whose store order is unspecified;
 * only the completion orders it. */
APIR_EXPORT int ibv_query_qp_data_in_order(struct ibv_qp *qp, enum ibv_wr_opcode op, uint32_t flags)
{
	(void)qp;
	(void)op;
	(void)flags;
	return 0;
}

/* Enhanced Connection Establishment is an rdma_cm/mlx5 negotiation; there is
 * nothing to negotiate with apird. */
APIR_EXPORT int ibv_set_ece(struct ibv_qp *qp, struct ibv_ece *ece)
{
	(void)qp;
	(void)ece;
	return EOPNOTSUPP;
}

APIR_EXPORT int ibv_query_ece(struct ibv_qp *qp, struct ibv_ece *ece)
{
	(void)qp;
	(void)ece;
	return EOPNOTSUPP;
}
