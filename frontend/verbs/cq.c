/* SPDX-License-Identifier: MIT */
/*
 * Completion queues, plain and extended: creation and destruction (a
 * control call each), and arming for completion events (a store to shared
 * memory, no round trip).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "queues.h"

/* CQE fields an extended CQ can report. */
#define APIR_CQ_EX_WC_FLAGS ((uint64_t)(IBV_WC_STANDARD_FLAGS | IBV_WC_EX_WITH_COMPLETION_TIMESTAMP))

static int apir_cq_request(struct apir_context *actx, const struct ibv_cq_init_attr_ex *attr,
			   Apir__Response **resp, struct apir_area *area)
{
	Apir__CreateCq body = APIR__CREATE_CQ__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	size_t cqe_off;

	body.cqe = apir_ring_pow2(attr->cqe);
	area->len = apir_cq_layout(body.cqe, &cqe_off);
	body.comp_vector = attr->comp_vector;
	if (attr->channel) {
		body.has_channel = 1;
		body.channel = apir_comp_channel_handle(attr->channel);
	}
	req.body_case = APIR__REQUEST__BODY_CREATE_CQ;
	req.create_cq = &body;
	return apir_rpc_create(&actx->session, &req, APIR__RESPONSE__BODY_CREATE_CQ, resp, area,
			       &body.ring, &body.n_ring);
}

static int apir_cq_destroy_remote(struct apir_context *actx, uint32_t handle)
{
	Apir__DestroyCq body = APIR__DESTROY_CQ__INIT;
	Apir__Request req = APIR__REQUEST__INIT;

	body.cq = handle;
	req.body_case = APIR__REQUEST__BODY_DESTROY_CQ;
	req.destroy_cq = &body;
	return apir_rpc_destroy(&actx->session, &req);
}

static int apir_cq_map(struct apir_context *actx, struct apir_cq *cq,
		       const Apir__CreateCqReply *reply, uint32_t asked, struct apir_area *area)
{
	size_t cqe_off, len;

	if (!apir_ring_entries_ok(reply->num_entries, asked)) {
		apir_area_drop(&actx->session, area);
		return EPROTO;
	}
	len = apir_cq_layout(reply->num_entries, &cqe_off);
	cq->area = apir_area_map(&actx->session, area, reply->area_size, len);
	if (!cq->area)
		return errno;
	cq->area_len = len;
	cq->ctrl = cq->area;
	if (!apir_ring_ctrl_ok(&cq->ctrl->ring, reply->num_entries, sizeof(struct apir_cqe))) {
		apir_area_unmap(cq->area, len);
		return EPROTO;
	}
	cq->cqes = (struct apir_cqe *)((uint8_t *)cq->area + cqe_off);
	cq->num_entries = reply->num_entries;
	cq->cons = atomic_load_explicit(&cq->ctrl->ring.cons.value, memory_order_relaxed);
	return 0;
}

static void apir_cq_fill(struct apir_cq *cq, struct ibv_context *ctx,
			 const struct ibv_cq_init_attr_ex *attr)
{
	struct ibv_cq_ex *ex = &cq->cq_ex;

	ex->context = ctx;
	ex->channel = attr->channel;
	ex->cq_context = attr->cq_context;
	ex->handle = cq->handle;
	ex->cqe = (int)cq->num_entries;
	pthread_mutex_init(&ex->mutex, NULL);
	pthread_cond_init(&ex->cond, NULL);
	pthread_spin_init(&cq->lock, PTHREAD_PROCESS_PRIVATE);
	cq->wc_flags_ex = attr->wc_flags;
	apir_cq_ex_ops_init(cq);
	if (attr->channel)
		__atomic_add_fetch(&attr->channel->refcnt, 1, __ATOMIC_RELAXED);
}

static void apir_cq_free(struct apir_cq *cq)
{
	struct ibv_cq_ex *ex = &cq->cq_ex;

	if (ex->channel)
		__atomic_sub_fetch(&ex->channel->refcnt, 1, __ATOMIC_RELAXED);
	apir_area_unmap(cq->area, cq->area_len);
	pthread_spin_destroy(&cq->lock);
	pthread_cond_destroy(&ex->cond);
	pthread_mutex_destroy(&ex->mutex);
	free(cq);
}

static int apir_cq_attr_check(struct ibv_context *ctx, const struct ibv_cq_init_attr_ex *attr)
{
	if (attr->cqe < 1)
		return EINVAL;   /* the upper bounds are apird's to enforce */
	if (attr->channel && attr->channel->context != ctx)
		return EINVAL;
	return 0;
}

struct apir_cq *apir_cq_create(struct ibv_context *ctx, const struct ibv_cq_init_attr_ex *attr)
{
	struct apir_context *actx = to_actx(ctx);
	struct apir_area area = { 0 };
	Apir__Response *resp;
	struct apir_cq *cq;
	int rc;

	rc = apir_cq_attr_check(ctx, attr);
	if (rc)
		goto fail;
	cq = calloc(1, sizeof(*cq));
	if (!cq) {
		rc = ENOMEM;
		goto fail;
	}
	rc = apir_cq_request(actx, attr, &resp, &area);
	if (rc)
		goto fail_free;
	cq->handle = resp->create_cq->cq;
	rc = apir_cq_map(actx, cq, resp->create_cq, attr->cqe, &area);
	apir__response__free_unpacked(resp, NULL);
	if (rc)
		goto fail_remote;
	apir_cq_fill(cq, ctx, attr);
	rc = apir_obj_register(actx, APIR_OBJ_CQ, cq->handle, cq);
	if (rc) {
		apir_cq_destroy_remote(actx, cq->handle);
		apir_cq_free(cq);
		goto fail;
	}
	return cq;

fail_remote:
	apir_cq_destroy_remote(actx, cq->handle);
fail_free:
	free(cq);
fail:
	errno = rc;
	return NULL;
}

struct ibv_cq_ex *apir_create_cq_ex(struct ibv_context *ctx, struct ibv_cq_init_attr_ex *attr)
{
	struct apir_cq *cq;

	/* No parent domains, no overrun-ignoring CQs, no VLAN/flow-tag/TM/
	 * wall-clock fields in CQEs. A single-threaded CQ is served by the
	 * normal (uncontended, so cheap) locking. */
	if ((attr->comp_mask & ~(uint32_t)IBV_CQ_INIT_ATTR_MASK_FLAGS) ||
	    ((attr->comp_mask & IBV_CQ_INIT_ATTR_MASK_FLAGS) &&
	     (attr->flags & ~(uint32_t)IBV_CREATE_CQ_ATTR_SINGLE_THREADED)) ||
	    (attr->wc_flags & ~APIR_CQ_EX_WC_FLAGS)) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	cq = apir_cq_create(ctx, attr);
	return cq ? &cq->cq_ex : NULL;
}

APIR_EXPORT struct ibv_cq *ibv_create_cq(struct ibv_context *context, int cqe, void *cq_context,
					 struct ibv_comp_channel *channel, int comp_vector)
{
	struct ibv_cq_init_attr_ex attr = {
		.cqe = cqe > 0 ? (uint32_t)cqe : 0,
		.cq_context = cq_context,
		.channel = channel,
		.comp_vector = comp_vector >= 0 ? (uint32_t)comp_vector : UINT32_MAX,
		.wc_flags = IBV_WC_STANDARD_FLAGS,
	};
	struct apir_cq *cq = apir_cq_create(context, &attr);

	return cq ? ibv_cq_ex_to_cq(&cq->cq_ex) : NULL;
}

/* Like rdma-core, destruction waits until every completion event
 * ibv_get_cq_event delivered for the CQ has been acknowledged. */
static void apir_cq_wait_events_acked(struct apir_cq *cq)
{
	struct ibv_cq_ex *ex = &cq->cq_ex;

	pthread_mutex_lock(&ex->mutex);
	while (ex->comp_events_completed != cq->comp_events_reported)
		pthread_cond_wait(&ex->cond, &ex->mutex);
	pthread_mutex_unlock(&ex->mutex);
}

APIR_EXPORT int ibv_destroy_cq(struct ibv_cq *ibcq)
{
	struct apir_cq *cq = to_acq(ibcq);
	struct apir_context *actx = to_actx(ibcq->context);
	int rc = apir_cq_destroy_remote(actx, cq->handle);

	if (rc)
		return rc;   /* EBUSY while a QP still uses it */
	apir_obj_unregister(actx, APIR_OBJ_CQ, cq->handle);
	apir_cq_wait_events_acked(cq);
	apir_cq_free(cq);
	return 0;
}

APIR_EXPORT int ibv_resize_cq(struct ibv_cq *cq, int cqe)
{
	(void)cq;
	(void)cqe;
	return EOPNOTSUPP;
}

int apir_req_notify_cq(struct ibv_cq *ibcq, int solicited_only)
{
	struct apir_cq *cq = to_acq(ibcq);

	atomic_store_explicit(&cq->ctrl->armed,
			      solicited_only ? APIR_CQ_ARM_SOLICITED : APIR_CQ_ARM_NEXT,
			      memory_order_seq_cst);
	return 0;
}

int apir_modify_cq(struct ibv_cq *ibcq, struct ibv_modify_cq_attr *attr)
{
	(void)ibcq;
	(void)attr;
	return EOPNOTSUPP;   /* no completion moderation: every CQE is visible at once */
}
