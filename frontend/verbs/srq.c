/* SPDX-License-Identifier: MIT */
/*
 * Shared receive queues: control calls for create/modify/query/destroy and
 * ibv_post_srq_recv on the SRQ ring (basic SRQs only: no XRC, no tag
 * matching).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "queues.h"

static int apir_srq_request(struct apir_context *actx, struct ibv_pd *pd,
			    const struct ibv_srq_attr *attr, Apir__Response **resp,
			    struct apir_area *area)
{
	Apir__CreateSrq body = APIR__CREATE_SRQ__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	size_t wqe_off;

	body.pd = ((struct apir_pd *)pd)->handle;
	body.max_wr = apir_ring_pow2(attr->max_wr);
	area->len = apir_srq_layout(body.max_wr, &wqe_off);
	body.max_sge = attr->max_sge;
	body.srq_limit = attr->srq_limit;
	req.body_case = APIR__REQUEST__BODY_CREATE_SRQ;
	req.create_srq = &body;
	return apir_rpc_create(&actx->session, &req, APIR__RESPONSE__BODY_CREATE_SRQ, resp, area,
			       &body.ring, &body.n_ring);
}

static int apir_srq_destroy_remote(struct apir_context *actx, uint32_t handle)
{
	Apir__DestroySrq body = APIR__DESTROY_SRQ__INIT;
	Apir__Request req = APIR__REQUEST__INIT;

	body.srq = handle;
	req.body_case = APIR__REQUEST__BODY_DESTROY_SRQ;
	req.destroy_srq = &body;
	return apir_rpc_destroy(&actx->session, &req);
}

static bool apir_srq_reply_ok(const Apir__CreateSrqReply *r, const struct ibv_srq_attr *asked)
{
	if (apir_ring_entries_ok(r->num_entries, r->max_wr) && r->max_wr >= asked->max_wr &&
	    r->max_sge >= asked->max_sge && r->max_sge <= APIR_MAX_SGE)
		return true;
	apir_warn("apird granted an SRQ of %u WRs x %u SGEs in %u entries for %u x %u",
		  r->max_wr, r->max_sge, r->num_entries, asked->max_wr, asked->max_sge);
	return false;
}

static int apir_srq_map(struct apir_context *actx, struct apir_srq *srq,
			const Apir__CreateSrqReply *reply, const struct ibv_srq_attr *asked,
			struct apir_area *area)
{
	size_t wqe_off, len;
	struct apir_srq_ctrl *ctrl;

	if (!apir_srq_reply_ok(reply, asked)) {
		apir_area_drop(&actx->session, area);
		return EPROTO;
	}
	len = apir_srq_layout(reply->num_entries, &wqe_off);
	srq->area = apir_area_map(&actx->session, area, reply->area_size, len);
	if (!srq->area)
		return errno;
	srq->area_len = len;
	ctrl = srq->area;
	if (!apir_ring_ctrl_ok(&ctrl->ring, reply->num_entries, sizeof(struct apir_recv_wqe))) {
		apir_area_unmap(srq->area, len);
		return EPROTO;
	}
	srq->ctrl = ctrl;
	srq->wqes = (struct apir_recv_wqe *)((uint8_t *)srq->area + wqe_off);
	srq->num_entries = reply->num_entries;
	srq->max_sge = reply->max_sge;
	srq->srq_num = reply->srq_num;
	srq->prod = atomic_load_explicit(&ctrl->ring.prod.value, memory_order_relaxed);
	srq->cons_seen = atomic_load_explicit(&ctrl->ring.cons.value, memory_order_relaxed);
	return 0;
}

static void apir_srq_fill(struct apir_srq *srq, struct ibv_pd *pd, void *srq_context)
{
	srq->ibsrq.context = pd->context;
	srq->ibsrq.srq_context = srq_context;
	srq->ibsrq.pd = pd;
	srq->ibsrq.handle = srq->handle;
	pthread_mutex_init(&srq->ibsrq.mutex, NULL);
	pthread_cond_init(&srq->ibsrq.cond, NULL);
	pthread_spin_init(&srq->lock, PTHREAD_PROCESS_PRIVATE);
}

static void apir_srq_free(struct apir_srq *srq)
{
	apir_area_unmap(srq->area, srq->area_len);
	pthread_spin_destroy(&srq->lock);
	pthread_cond_destroy(&srq->ibsrq.cond);
	pthread_mutex_destroy(&srq->ibsrq.mutex);
	free(srq);
}

/* Creates a basic SRQ; on success attr holds the granted max_wr/max_sge. */
static struct ibv_srq *apir_srq_create(struct ibv_pd *pd, void *srq_context,
				       struct ibv_srq_attr *attr)
{
	struct apir_context *actx = to_actx(pd->context);
	struct apir_area area = { 0 };
	Apir__Response *resp;
	struct apir_srq *srq = calloc(1, sizeof(*srq));
	int rc;

	if (!srq)
		return NULL;
	rc = apir_srq_request(actx, pd, attr, &resp, &area);
	if (rc)
		goto fail_free;
	srq->handle = resp->create_srq->srq;
	rc = apir_srq_map(actx, srq, resp->create_srq, attr, &area);
	if (!rc) {
		attr->max_wr = resp->create_srq->max_wr;
		attr->max_sge = resp->create_srq->max_sge;
	}
	apir__response__free_unpacked(resp, NULL);
	if (rc)
		goto fail_remote;
	apir_srq_fill(srq, pd, srq_context);
	rc = apir_obj_register(actx, APIR_OBJ_SRQ, srq->handle, &srq->ibsrq);
	if (rc) {
		apir_srq_destroy_remote(actx, srq->handle);
		apir_srq_free(srq);
		errno = rc;
		return NULL;
	}
	return &srq->ibsrq;

fail_remote:
	apir_srq_destroy_remote(actx, srq->handle);
fail_free:
	free(srq);
	errno = rc;
	return NULL;
}

APIR_EXPORT struct ibv_srq *ibv_create_srq(struct ibv_pd *pd, struct ibv_srq_init_attr *init_attr)
{
	return apir_srq_create(pd, init_attr->srq_context, &init_attr->attr);
}

struct ibv_srq *apir_create_srq_ex(struct ibv_context *ctx, struct ibv_srq_init_attr_ex *attr)
{
	const uint32_t known = IBV_SRQ_INIT_ATTR_PD | IBV_SRQ_INIT_ATTR_TYPE | IBV_SRQ_INIT_ATTR_CQ;

	/* XRC and tag-matching SRQs are not offered. The CQ of an XRC SRQ is
	 * meaningless for a basic one and is ignored. */
	if ((attr->comp_mask & ~known) ||
	    ((attr->comp_mask & IBV_SRQ_INIT_ATTR_TYPE) && attr->srq_type != IBV_SRQT_BASIC)) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (!(attr->comp_mask & IBV_SRQ_INIT_ATTR_PD) || !attr->pd || attr->pd->context != ctx) {
		errno = EINVAL;
		return NULL;
	}
	return apir_srq_create(attr->pd, attr->srq_context, &attr->attr);
}

APIR_EXPORT int ibv_modify_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr, int attr_mask)
{
	Apir__ModifySrq body = APIR__MODIFY_SRQ__INIT;
	Apir__Request req = APIR__REQUEST__INIT;

	body.srq = to_asrq(ibsrq)->handle;
	body.attr_mask = (uint32_t)attr_mask;
	if (attr_mask & IBV_SRQ_MAX_WR)
		body.max_wr = attr->max_wr;
	if (attr_mask & IBV_SRQ_LIMIT)
		body.srq_limit = attr->srq_limit;
	req.body_case = APIR__REQUEST__BODY_MODIFY_SRQ;
	req.modify_srq = &body;
	return apir_rpc_simple(to_session(ibsrq->context), &req, APIR__RESPONSE__BODY__NOT_SET, NULL);
}

APIR_EXPORT int ibv_query_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr)
{
	Apir__QuerySrq body = APIR__QUERY_SRQ__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	Apir__Response *resp;
	int rc;

	body.srq = to_asrq(ibsrq)->handle;
	req.body_case = APIR__REQUEST__BODY_QUERY_SRQ;
	req.query_srq = &body;
	rc = apir_rpc_simple(to_session(ibsrq->context), &req, APIR__RESPONSE__BODY_SRQ_ATTR, &resp);
	if (rc)
		return rc;
	attr->max_wr = resp->srq_attr->max_wr;
	attr->max_sge = resp->srq_attr->max_sge;
	attr->srq_limit = resp->srq_attr->srq_limit;
	apir__response__free_unpacked(resp, NULL);
	return 0;
}

APIR_EXPORT int ibv_destroy_srq(struct ibv_srq *ibsrq)
{
	struct apir_srq *srq = to_asrq(ibsrq);
	struct apir_context *actx = to_actx(ibsrq->context);
	int rc = apir_srq_destroy_remote(actx, srq->handle);

	if (rc)
		return rc;   /* EBUSY while a QP still uses it */
	apir_obj_unregister(actx, APIR_OBJ_SRQ, srq->handle);
	apir_srq_free(srq);
	return 0;
}

int apir_get_srq_num(struct ibv_srq *ibsrq, uint32_t *srq_num)
{
	*srq_num = to_asrq(ibsrq)->srq_num;
	return 0;
}

int apir_post_srq_recv(struct ibv_srq *ibsrq, struct ibv_recv_wr *wr, struct ibv_recv_wr **bad_wr)
{
	struct apir_srq *srq = to_asrq(ibsrq);
	struct apir_recv_ring ring = {
		.ctrl = &srq->ctrl->ring,
		.wqes = srq->wqes,
		.entries = srq->num_entries,
		.max_sge = srq->max_sge,
		.prod = &srq->prod,
		.cons_seen = &srq->cons_seen,
	};
	int err;

	pthread_spin_lock(&srq->lock);
	err = apir_recv_ring_post(to_session(ibsrq->context), &ring, wr, bad_wr);
	pthread_spin_unlock(&srq->lock);
	return err;
}
