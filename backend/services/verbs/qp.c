/* SPDX-License-Identifier: MIT */
/*
 * Queue pairs: CreateQp, ModifyQp, QueryQp, DestroyQp. apird creates the
 * QP's shared area (SQ and RQ rings), owns its state, and hands the engine
 * every validated state change.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "handlers.h"
#include "qp_state.h"

/* The objects a new QP uses, all of the calling session. */
struct qp_deps {
	struct apird_pd *pd;
	struct apird_cq *send_cq;
	struct apird_cq *recv_cq;
	struct apird_srq *srq;
};

static int check_type(struct apird_call *c, uint32_t type)
{
	if (type != IBV_QPT_RC && type != IBV_QPT_UC && type != IBV_QPT_UD)
		return apird_fail(c, EOPNOTSUPP, "QP type %u is not supported (RC, UC and UD are)",
				  type);
	return 0;
}

static int check_cap(struct apird_call *c, const Apir__QpCap *cap, bool has_srq)
{
	if (!cap)
		return apird_fail(c, EINVAL, "QP capabilities missing");
	if (cap->max_send_wr > APIRD_MAX_QP_WR || (!has_srq && cap->max_recv_wr > APIRD_MAX_QP_WR))
		return apird_fail(c, EINVAL, "max_send_wr %u / max_recv_wr %u: at most %u",
				  cap->max_send_wr, cap->max_recv_wr, APIRD_MAX_QP_WR);
	if (cap->max_send_sge > APIR_MAX_SGE || (!has_srq && cap->max_recv_sge > APIR_MAX_SGE))
		return apird_fail(c, EINVAL, "max_send_sge %u / max_recv_sge %u: at most %u",
				  cap->max_send_sge, cap->max_recv_sge, APIR_MAX_SGE);
	if (cap->max_inline_data > APIR_MAX_INLINE)
		return apird_fail(c, EINVAL, "max_inline_data %u: at most %u", cap->max_inline_data,
				  APIR_MAX_INLINE);
	return 0;
}

static int lookup_deps(struct apird_call *c, const Apir__CreateQp *m, struct qp_deps *deps)
{
	struct apird_session *s = c->s;

	deps->pd = apird_call_object(c, &verbs_session(s)->pds, m->pd, "PD");
	if (!deps->pd)
		return EINVAL;
	deps->send_cq = apird_call_object(c, &verbs_session(s)->cqs, m->send_cq, "send CQ");
	if (!deps->send_cq)
		return EINVAL;
	deps->recv_cq = apird_call_object(c, &verbs_session(s)->cqs, m->recv_cq, "receive CQ");
	if (!deps->recv_cq)
		return EINVAL;
	deps->srq = NULL;
	if (m->has_srq) {
		deps->srq = apird_call_object(c, &verbs_session(s)->srqs, m->srq, "SRQ");
		if (!deps->srq)
			return EINVAL;
	}
	return 0;
}

/* What the QP gets: at least what was asked, rings rounded up to powers of
 * two; a QP on an SRQ has no receive queue of its own. */
static void grant_cap(struct apird_qp *qp, const Apir__QpCap *want, bool has_srq)
{
	qp->sq_entries = apird_ring_entries(want->max_send_wr ? want->max_send_wr : 1);
	qp->rq_entries = has_srq ? 0 : apird_ring_entries(want->max_recv_wr ? want->max_recv_wr : 1);
	qp->cap.max_send_wr = qp->sq_entries;
	qp->cap.max_recv_wr = qp->rq_entries;
	qp->cap.max_send_sge = want->max_send_sge;
	qp->cap.max_recv_sge = has_srq ? 0 : want->max_recv_sge;
	qp->cap.max_inline_data = want->max_inline_data;
}

static int qp_area_create(struct apird_call *c, const Apir__CreateQp *m, struct apird_qp *qp)
{
	size_t sq_off, rq_off;
	uint8_t *base;
	int rc;

	qp->area_len = apir_qp_layout(qp->sq_entries, qp->rq_entries, &sq_off, &rq_off);
	rc = apird_ring_area_open(c, "apir-qp", qp->area_len, m->ring, m->n_ring, &qp->area);
	if (rc)
		return rc;
	base = qp->area;
	qp->ctrl = qp->area;
	qp->sq = (struct apir_send_wqe *)(base + sq_off);
	qp->rq = (struct apir_recv_wqe *)(base + rq_off);
	qp->ctrl->sq.num_entries = qp->sq_entries;
	qp->ctrl->sq.entry_size = sizeof(struct apir_send_wqe);
	qp->ctrl->rq.num_entries = qp->rq_entries;
	qp->ctrl->rq.entry_size = sizeof(struct apir_recv_wqe);
	atomic_store_explicit(&qp->ctrl->state, IBV_QPS_RESET, memory_order_release);
	return 0;
}

static void qp_refs_add(struct apird_qp *qp, int delta)
{
	qp->pd->refs += delta;
	qp->send_cq->refs += delta;
	qp->recv_cq->refs += delta;
	if (qp->srq)
		qp->srq->refs += delta;
}

static void reply_create_qp(struct apird_call *c, const struct apird_qp *qp)
{
	Apir__CreateQpReply *r = &verbs_reply(c)->create_qp.reply;

	apir__create_qp_reply__init(r);
	r->qp = qp->handle;
	r->qp_num = qp->qp_num;
	apird_qp_cap_to_msg(&qp->cap, &verbs_reply(c)->create_qp.cap);
	r->cap = &verbs_reply(c)->create_qp.cap;
	r->sq_entries = qp->sq_entries;
	r->rq_entries = qp->rq_entries;
	r->area_size = qp->area_len;
	c->resp.body_case = APIR__RESPONSE__BODY_CREATE_QP;
	c->resp.create_qp = r;
}

static struct apird_qp *qp_new(struct apird_call *c, const Apir__CreateQp *m,
			       const struct qp_deps *deps)
{
	struct apird_qp *qp = calloc(1, sizeof(*qp));

	if (!qp) {
		apird_fail(c, ENOMEM, "out of memory");
		return NULL;
	}
	qp->session = c->s;
	qp->pd = deps->pd;
	qp->send_cq = deps->send_cq;
	qp->recv_cq = deps->recv_cq;
	qp->srq = deps->srq;
	qp->qp_type = (enum ibv_qp_type)m->qp_type;
	qp->state = IBV_QPS_RESET;
	qp->sq_sig_all = m->sq_sig_all;
	grant_cap(qp, m->cap, deps->srq != NULL);
	return qp;
}

int apird_do_create_qp(struct apird_call *c)
{
	const Apir__CreateQp *m = c->req->create_qp;
	struct qp_deps deps;
	struct apird_qp *qp;
	int rc;

	rc = check_type(c, m->qp_type);
	if (!rc)
		rc = check_cap(c, m->cap, m->has_srq);
	if (!rc)
		rc = lookup_deps(c, m, &deps);
	if (rc)
		return rc;
	qp = qp_new(c, m, &deps);
	if (!qp)
		return ENOMEM;
	rc = qp_area_create(c, m, qp);
	if (rc)
		goto fail;
	if (apird_qpn_assign(call_dev(c), qp)) {
		rc = apird_fail(c, ENOMEM, "no QP number available");
		goto fail_area;
	}
	qp->handle = apird_table_insert(&call_session(c)->qps, qp);
	if (!qp->handle) {
		rc = apird_fail(c, ENOMEM, "at most %u QPs per context", APIRD_MAX_QP);
		goto fail_number;
	}
	qp_refs_add(qp, 1);
	reply_create_qp(c, qp);
	return 0;
fail_number:
	apird_qpn_release(call_dev(c), qp);
fail_area:
	apird_ring_area_close(c->s, qp->area, qp->area_len);
fail:
	free(qp);
	return rc;
}

static int check_transition(struct apird_call *c, const struct apird_qp *qp,
			    enum ibv_qp_state next, uint32_t mask)
{
	uint32_t missing, extra;
	char names[256];

	if (apird_qp_mask_ok(qp->qp_type, qp->state, next, mask, &missing, &extra))
		return 0;
	if (missing)
		return apird_fail(c, EINVAL, "QP %u %s -> %s requires attr_mask %s", qp->handle,
				  apird_qp_state_name(qp->state), apird_qp_state_name(next),
				  apird_qp_mask_names(missing, names, sizeof(names)));
	if (extra)
		return apird_fail(c, EINVAL, "QP %u %s -> %s does not allow attr_mask %s", qp->handle,
				  apird_qp_state_name(qp->state), apird_qp_state_name(next),
				  apird_qp_mask_names(extra, names, sizeof(names)));
	return apird_fail(c, EINVAL, "QP %u: %s -> %s is not a valid transition", qp->handle,
			  apird_qp_state_name(qp->state), apird_qp_state_name(next));
}

void apird_qp_set_state(struct verbs_dev *d, struct apird_qp *qp, enum ibv_qp_state state)
{
	d->engine->set_qp_state(d, qp, state);
}

/* The engine sees the attributes before they are stored: an address
 * vector may move the QP's peer (to another apird, or back). */
static int engine_modify(struct apird_call *c, struct apird_qp *qp,
			 const struct ibv_qp_attr *attr, uint32_t mask)
{
	struct verbs_dev *d = call_dev(c);
	char err[160];
	int rc = d->engine->modify_qp(d, qp, attr, mask, err, sizeof(err));

	return rc ? apird_fail(c, -rc, "%s", err) : 0;
}

int apird_do_modify_qp(struct apird_call *c)
{
	const Apir__ModifyQp *m = c->req->modify_qp;
	struct apird_qp *qp = apird_call_object(c, &call_session(c)->qps, m->qp, "QP");
	struct ibv_qp_attr attr;
	enum ibv_qp_state next;
	int rc;

	if (!qp)
		return EINVAL;
	rc = apird_qp_attr_from_msg(c, qp, m->attr, m->attr_mask, &attr);
	if (rc)
		return rc;
	next = (m->attr_mask & IBV_QP_STATE) ? attr.qp_state : qp->state;
	rc = check_transition(c, qp, next, m->attr_mask);
	if (!rc)
		rc = engine_modify(c, qp, &attr, m->attr_mask);
	if (rc)
		return rc;
	apird_qp_attr_store(qp, &attr, m->attr_mask);
	if (m->attr_mask & IBV_QP_STATE)
		apird_qp_set_state(call_dev(c), qp, next);
	return 0;
}

int apird_do_query_qp(struct apird_call *c)
{
	struct apird_qp *qp = apird_call_object(c, &call_session(c)->qps, c->req->query_qp->qp, "QP");
	typeof(verbs_reply(c)->query_qp) *q = &verbs_reply(c)->query_qp;

	if (!qp)
		return EINVAL;
	apir__query_qp_reply__init(&q->reply);
	apird_qp_attr_to_msg(qp, &q->attr, &q->attr_cap, &q->ah, &q->alt_ah);
	apird_qp_cap_to_msg(&qp->cap, &q->cap);
	q->reply.attr = &q->attr;
	q->reply.cap = &q->cap;
	q->reply.sq_sig_all = qp->sq_sig_all;
	q->reply.qp_type = qp->qp_type;
	c->resp.body_case = APIR__RESPONSE__BODY_QUERY_QP;
	c->resp.query_qp = &q->reply;
	return 0;
}

int apird_do_destroy_qp(struct apird_call *c)
{
	struct apird_qp *qp = apird_call_object(c, &call_session(c)->qps, c->req->destroy_qp->qp, "QP");

	if (!qp)
		return EINVAL;
	apird_qp_destroy(c->s, qp);
	return 0;
}

void apird_qp_destroy(struct apird_session *s, struct apird_qp *qp)
{
	verbs_dev_of(s)->engine->destroy_qp(verbs_dev_of(s), qp);
	apird_qpn_release(verbs_dev_of(s), qp);
	qp_refs_add(qp, -1);
	apird_ring_area_close(s, qp->area, qp->area_len);
	apird_table_remove(&verbs_session(s)->qps, qp->handle);
	free(qp);
}
