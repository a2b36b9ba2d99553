/* SPDX-License-Identifier: MIT */
/*
 * ibv_modify_qp and ibv_query_qp: ibv_qp_attr <-> apir.QpAttr. Only the
 * fields attr_mask selects are sent; apird validates every transition.
 */
#include <errno.h>
#include <string.h>

#include "queues.h"

void apir_ah_attr_from_msg(const Apir__AhAttr *m, struct ibv_ah_attr *ah)
{
	memset(ah, 0, sizeof(*ah));
	if (!m)
		return;
	ah->dlid = (uint16_t)m->dlid;
	ah->sl = (uint8_t)m->sl;
	ah->src_path_bits = (uint8_t)m->src_path_bits;
	ah->static_rate = (uint8_t)m->static_rate;
	ah->is_global = m->is_global;
	ah->port_num = (uint8_t)m->port_num;
	if (m->dgid.len == sizeof(ah->grh.dgid.raw))
		memcpy(ah->grh.dgid.raw, m->dgid.data, sizeof(ah->grh.dgid.raw));
	ah->grh.flow_label = m->flow_label;
	ah->grh.sgid_index = (uint8_t)m->sgid_index;
	ah->grh.hop_limit = (uint8_t)m->hop_limit;
	ah->grh.traffic_class = (uint8_t)m->traffic_class;
}

static void apir_qp_cap_to_msg(const struct ibv_qp_cap *cap, Apir__QpCap *m)
{
	m->max_send_wr = cap->max_send_wr;
	m->max_recv_wr = cap->max_recv_wr;
	m->max_send_sge = cap->max_send_sge;
	m->max_recv_sge = cap->max_recv_sge;
	m->max_inline_data = cap->max_inline_data;
}

static void apir_qp_cap_from_msg(const Apir__QpCap *m, struct ibv_qp_cap *cap)
{
	memset(cap, 0, sizeof(*cap));
	if (!m)
		return;
	cap->max_send_wr = m->max_send_wr;
	cap->max_recv_wr = m->max_recv_wr;
	cap->max_send_sge = m->max_send_sge;
	cap->max_recv_sge = m->max_recv_sge;
	cap->max_inline_data = m->max_inline_data;
}

/* The message parts modify_qp may point into; they live on the caller's
 * stack for the duration of the call. */
struct apir_qp_attr_msg {
	Apir__QpAttr attr;
	Apir__AhAttr ah;
	Apir__AhAttr alt_ah;
	Apir__QpCap cap;
};

static void apir_qp_attr_path_to_msg(const struct ibv_qp_attr *a, int mask,
				     struct apir_qp_attr_msg *m)
{
	if (mask & IBV_QP_AV) {
		apir_ah_attr_to_msg(&a->ah_attr, &m->ah);
		m->attr.ah_attr = &m->ah;
	}
	if (mask & IBV_QP_ALT_PATH) {
		apir_ah_attr_to_msg(&a->alt_ah_attr, &m->alt_ah);
		m->attr.alt_ah_attr = &m->alt_ah;
		m->attr.alt_pkey_index = a->alt_pkey_index;
		m->attr.alt_port_num = a->alt_port_num;
		m->attr.alt_timeout = a->alt_timeout;
	}
	if (mask & IBV_QP_PATH_MTU)
		m->attr.path_mtu = a->path_mtu;
	if (mask & IBV_QP_PATH_MIG_STATE)
		m->attr.path_mig_state = a->path_mig_state;
	if (mask & IBV_QP_PKEY_INDEX)
		m->attr.pkey_index = a->pkey_index;
	if (mask & IBV_QP_PORT)
		m->attr.port_num = a->port_num;
	if (mask & IBV_QP_DEST_QPN)
		m->attr.dest_qp_num = a->dest_qp_num;
	if (mask & IBV_QP_QKEY)
		m->attr.qkey = a->qkey;
}

static void apir_qp_attr_flow_to_msg(const struct ibv_qp_attr *a, int mask,
				     struct apir_qp_attr_msg *m)
{
	if (mask & IBV_QP_STATE)
		m->attr.qp_state = a->qp_state;
	if (mask & IBV_QP_CUR_STATE)
		m->attr.cur_qp_state = a->cur_qp_state;
	if (mask & IBV_QP_EN_SQD_ASYNC_NOTIFY)
		m->attr.en_sqd_async_notify = a->en_sqd_async_notify;
	if (mask & IBV_QP_ACCESS_FLAGS)
		m->attr.qp_access_flags = (uint32_t)a->qp_access_flags;
	if (mask & IBV_QP_RQ_PSN)
		m->attr.rq_psn = a->rq_psn;
	if (mask & IBV_QP_SQ_PSN)
		m->attr.sq_psn = a->sq_psn;
	if (mask & IBV_QP_MAX_QP_RD_ATOMIC)
		m->attr.max_rd_atomic = a->max_rd_atomic;
	if (mask & IBV_QP_MAX_DEST_RD_ATOMIC)
		m->attr.max_dest_rd_atomic = a->max_dest_rd_atomic;
	if (mask & IBV_QP_MIN_RNR_TIMER)
		m->attr.min_rnr_timer = a->min_rnr_timer;
	if (mask & IBV_QP_TIMEOUT)
		m->attr.timeout = a->timeout;
	if (mask & IBV_QP_RETRY_CNT)
		m->attr.retry_cnt = a->retry_cnt;
	if (mask & IBV_QP_RNR_RETRY)
		m->attr.rnr_retry = a->rnr_retry;
	if (mask & IBV_QP_RATE_LIMIT)
		m->attr.rate_limit = a->rate_limit;
	if (mask & IBV_QP_CAP) {
		apir_qp_cap_to_msg(&a->cap, &m->cap);
		m->attr.cap = &m->cap;
	}
}

static void apir_qp_attr_from_msg(const Apir__QpAttr *m, struct ibv_qp_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->qp_state = (enum ibv_qp_state)m->qp_state;
	a->cur_qp_state = (enum ibv_qp_state)m->cur_qp_state;
	a->path_mtu = (enum ibv_mtu)m->path_mtu;
	a->path_mig_state = (enum ibv_mig_state)m->path_mig_state;
	a->qkey = m->qkey;
	a->rq_psn = m->rq_psn;
	a->sq_psn = m->sq_psn;
	a->dest_qp_num = m->dest_qp_num;
	a->qp_access_flags = (unsigned int)m->qp_access_flags;
	apir_qp_cap_from_msg(m->cap, &a->cap);
	apir_ah_attr_from_msg(m->ah_attr, &a->ah_attr);
	apir_ah_attr_from_msg(m->alt_ah_attr, &a->alt_ah_attr);
	a->pkey_index = (uint16_t)m->pkey_index;
	a->alt_pkey_index = (uint16_t)m->alt_pkey_index;
	a->en_sqd_async_notify = (uint8_t)m->en_sqd_async_notify;
	a->sq_draining = (uint8_t)m->sq_draining;
	a->max_rd_atomic = (uint8_t)m->max_rd_atomic;
	a->max_dest_rd_atomic = (uint8_t)m->max_dest_rd_atomic;
	a->min_rnr_timer = (uint8_t)m->min_rnr_timer;
	a->port_num = (uint8_t)m->port_num;
	a->timeout = (uint8_t)m->timeout;
	a->retry_cnt = (uint8_t)m->retry_cnt;
	a->rnr_retry = (uint8_t)m->rnr_retry;
	a->alt_port_num = (uint8_t)m->alt_port_num;
	a->alt_timeout = (uint8_t)m->alt_timeout;
	a->rate_limit = m->rate_limit;
}

/* In RESET a queue holds no work: unconsumed WQEs are dropped by moving our
 * producer index back to apird's consumer index (apird publishes it before
 * it answers the transition). */
static void apir_qp_rings_reset(struct apir_qp *qp)
{
	struct apir_qp_ctrl *ctrl = qp->ctrl;

	pthread_spin_lock(&qp->sq_lock);
	qp->sq_prod = qp->sq_cons_seen = atomic_load_explicit(&ctrl->sq.cons.value, memory_order_acquire);
	atomic_store_explicit(&ctrl->sq.prod.value, qp->sq_prod, memory_order_release);
	pthread_spin_unlock(&qp->sq_lock);
	pthread_spin_lock(&qp->rq_lock);
	qp->rq_prod = qp->rq_cons_seen = atomic_load_explicit(&ctrl->rq.cons.value, memory_order_acquire);
	atomic_store_explicit(&ctrl->rq.prod.value, qp->rq_prod, memory_order_release);
	pthread_spin_unlock(&qp->rq_lock);
}

APIR_EXPORT int ibv_modify_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr, int attr_mask)
{
	struct apir_qp *qp = to_aqp(ibqp);
	struct apir_qp_attr_msg m = {
		.attr = APIR__QP_ATTR__INIT,
		.ah = APIR__AH_ATTR__INIT,
		.alt_ah = APIR__AH_ATTR__INIT,
		.cap = APIR__QP_CAP__INIT,
	};
	Apir__ModifyQp body = APIR__MODIFY_QP__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	int rc;

	apir_qp_attr_path_to_msg(attr, attr_mask, &m);
	apir_qp_attr_flow_to_msg(attr, attr_mask, &m);
	body.qp = qp->handle;
	body.attr_mask = (uint32_t)attr_mask;
	body.attr = &m.attr;
	req.body_case = APIR__REQUEST__BODY_MODIFY_QP;
	req.modify_qp = &body;
	rc = apir_rpc_simple(to_session(ibqp->context), &req, APIR__RESPONSE__BODY__NOT_SET, NULL);
	if (rc || !(attr_mask & IBV_QP_STATE))
		return rc;
	if (attr->qp_state == IBV_QPS_RESET)
		apir_qp_rings_reset(qp);
	ibqp->state = attr->qp_state;
	return 0;
}

APIR_EXPORT int ibv_query_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr, int attr_mask,
			     struct ibv_qp_init_attr *init_attr)
{
	struct apir_qp *qp = to_aqp(ibqp);
	Apir__QueryQp body = APIR__QUERY_QP__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	Apir__Response *resp;
	int rc;

	body.qp = qp->handle;
	body.attr_mask = (uint32_t)attr_mask;
	req.body_case = APIR__REQUEST__BODY_QUERY_QP;
	req.query_qp = &body;
	rc = apir_rpc_simple(to_session(ibqp->context), &req, APIR__RESPONSE__BODY_QUERY_QP, &resp);
	if (rc)
		return rc;
	if (!resp->query_qp->attr) {
		apir__response__free_unpacked(resp, NULL);
		return EPROTO;
	}
	apir_qp_attr_from_msg(resp->query_qp->attr, attr);
	if (resp->query_qp->cap)
		apir_qp_cap_from_msg(resp->query_qp->cap, &attr->cap);
	else
		attr->cap = qp->cap;
	apir__response__free_unpacked(resp, NULL);

	memset(init_attr, 0, sizeof(*init_attr));
	init_attr->qp_context = ibqp->qp_context;
	init_attr->send_cq = ibqp->send_cq;
	init_attr->recv_cq = ibqp->recv_cq;
	init_attr->srq = ibqp->srq;
	init_attr->cap = attr->cap;
	init_attr->qp_type = ibqp->qp_type;
	init_attr->sq_sig_all = qp->sq_sig_all;
	if (attr_mask & IBV_QP_STATE)
		ibqp->state = attr->qp_state;
	return 0;
}
