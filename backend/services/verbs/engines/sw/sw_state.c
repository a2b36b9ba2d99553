/* SPDX-License-Identifier: MIT */
/*
 * QP state as the engine sees it: which QPs the sweep visits, what entering
 * a state means for queued work, and the transitions the engine makes on
 * its own (errors). The control plane validates user transitions and calls
 * sw_qp_state_changed afterwards.
 *
 * Events follow the IBA: an error that a completion reports raises no
 * async event on the requester; an error that no completion can report (a
 * corrupt ring, a lost completion) raises IBV_EVENT_QP_FATAL; a responder
 * that rejects a request raises IBV_EVENT_QP_ACCESS_ERR / QP_REQ_ERR.
 */
#include "apir/log.h"
#include "sw.h"

static bool state_sweeps(enum ibv_qp_state s)
{
	return s == IBV_QPS_RTS || s == IBV_QPS_SQD || s == IBV_QPS_SQE || s == IBV_QPS_ERR;
}

bool sw_qp_receives(const struct apird_qp *qp)
{
	return qp->state == IBV_QPS_RTR || qp->state == IBV_QPS_RTS ||
	       qp->state == IBV_QPS_SQD || qp->state == IBV_QPS_SQE;
}

static bool sweep_contains(const struct verbs_dev *d, const struct apird_qp *qp)
{
	for (const struct apird_qp *q = d->active_qps; q; q = q->next_active)
		if (q == qp)
			return true;
	return false;
}

/* New QPs go to the head: a sweep in progress only visits them next time. */
static void sweep_add(struct verbs_dev *d, struct apird_qp *qp)
{
	if (sweep_contains(d, qp))
		return;
	qp->next_active = d->active_qps;
	d->active_qps = qp;
}

static void sweep_remove(struct verbs_dev *d, struct apird_qp *qp)
{
	for (struct apird_qp **pp = &d->active_qps; *pp; pp = &(*pp)->next_active) {
		if (*pp == qp) {
			*pp = qp->next_active;
			qp->next_active = NULL;
			return;
		}
	}
}

/* RESET empties both queues: apird's consumer indices catch up with the
 * producers (any value is consistent then, even a corrupt one). */
static void discard_queued(struct apird_qp *qp)
{
	qp->sq_cons = atomic_load_explicit(&qp->ctrl->sq.prod.value, memory_order_acquire);
	sw_ring_publish_cons(&qp->ctrl->sq, qp->sq_cons);
	if (qp->rq_entries) {
		qp->rq_cons = atomic_load_explicit(&qp->ctrl->rq.prod.value, memory_order_acquire);
		sw_ring_publish_cons(&qp->ctrl->rq, qp->rq_cons);
	}
	qp->rnr.waiting = false;
	qp->sq_error_logged = false;
}

/* sq_error_logged covers every ring of the QP: one line is enough to name
 * a misbehaving frontend. */
void sw_ring_broken(struct apird_qp *qp, const char *which)
{
	if (qp->sq_error_logged)
		return;
	qp->sq_error_logged = true;
	apir_warn("qp %u: impossible %s producer index", qp->qp_num, which);
}

static void qp_event(struct apird_qp *qp, enum ibv_event_type type)
{
	apird_session_async_event(qp->session, type, APIR_OBJ_QP, qp->handle);
}

/* Local execution is synchronous, so nothing is in flight once the sweep
 * stops taking WQEs; only an RNR-stalled WQE still has to finish (and the
 * requests a remote QP has in flight: the fabric engine calls this when
 * their last ACK arrives). */
void sw_sq_drained(struct apird_qp *qp)
{
	if (qp->attr.en_sqd_async_notify)
		qp_event(qp, IBV_EVENT_SQ_DRAINED);
}

void sw_qp_state_changed(struct verbs_dev *d, struct apird_qp *qp, enum ibv_qp_state old_state)
{
	bool was = state_sweeps(old_state), is = state_sweeps(qp->state);

	if (was && !is)
		sweep_remove(d, qp);
	else if (!was && is)
		sweep_add(d, qp);
	if (old_state == qp->state)
		return;
	if (qp->link)
		qp->link->state_changed(d, qp, old_state);
	switch (qp->state) {
	case IBV_QPS_RESET:
		discard_queued(qp);
		break;
	case IBV_QPS_ERR:
		qp->rnr.waiting = false;  /* the stalled WQE is flushed */
		if (qp->srq)
			qp_event(qp, IBV_EVENT_QP_LAST_WQE_REACHED);
		break;
	case IBV_QPS_SQD:
		if (!qp->rnr.waiting && !(qp->link && qp->link->in_flight(qp)))
			sw_sq_drained(qp);
		break;
	default:
		break;
	}
}

void sw_qp_detach(struct verbs_dev *d, struct apird_qp *qp)
{
	sweep_remove(d, qp);
}

void sw_qp_set_state(struct verbs_dev *d, struct apird_qp *qp, enum ibv_qp_state state)
{
	enum ibv_qp_state old = qp->state;

	if (old == state)
		return;
	qp->state = state;
	atomic_store_explicit(&qp->ctrl->state, state, memory_order_release);
	sw_qp_state_changed(d, qp, old);
}

void sw_qp_fail(struct verbs_dev *d, struct apird_qp *qp)
{
	sw_qp_set_state(d, qp, IBV_QPS_ERR);
}

void sw_qp_to_error(struct verbs_dev *d, struct apird_qp *qp)
{
	if (qp->state == IBV_QPS_ERR)
		return;
	sw_qp_fail(d, qp);
	qp_event(qp, IBV_EVENT_QP_FATAL);
}

void sw_requester_failed(struct verbs_dev *d, struct apird_qp *qp)
{
	if (qp->qp_type == IBV_QPT_RC)
		sw_qp_fail(d, qp);
	else if (qp->state != IBV_QPS_ERR)
		sw_qp_set_state(d, qp, IBV_QPS_SQE);
}

void sw_responder_failed(struct verbs_dev *d, struct apird_qp *qp, enum ibv_event_type event)
{
	if (qp->state == IBV_QPS_ERR)
		return;
	sw_qp_fail(d, qp);
	qp_event(qp, event);
}
