/* SPDX-License-Identifier: MIT */
/*
 * The requester: a remote QP's send queue becomes requests on the wire.
 * Up to FAB_WINDOW WQEs are in flight (sq_cons .. sq_cons + sent - 1,
 * their sequence numbers next_seq - sent .. next_seq - 1); they stay in the
 * ring until their ACK arrives, then complete in order through engine_sw's
 * sq_retire. A WQE is validated locally exactly as the local engine does
 * (sw_op_prepare) before it is sent; one that fails completes in error
 * once every WQE ahead of it completed.
 *
 * An RNR NAK rewinds the window to the NAKed WQE, which is sent again
 * after the responder's min_rnr_timer (engine_sw's RNR accounting); the
 * responder drops the requests that followed it until then. A peer QP
 * that is not there (yet) is retried the same way until the transport
 * timeout.
 */
#include "apir/log.h"
#include "fabric.h"

static bool opcode_carries_data(uint32_t opcode)
{
	return opcode == IBV_WR_SEND || opcode == IBV_WR_SEND_WITH_IMM ||
	       opcode == IBV_WR_RDMA_WRITE || opcode == IBV_WR_RDMA_WRITE_WITH_IMM;
}

static bool opcode_is_atomic(uint32_t opcode)
{
	return opcode == IBV_WR_ATOMIC_CMP_AND_SWP || opcode == IBV_WR_ATOMIC_FETCH_AND_ADD;
}

static uint32_t head_seq(const struct fab_qp *fq)
{
	return (fq->next_seq - fq->sent) & FAB_SEQ_MASK;
}

static struct fab_slot *slot_of(struct fab_qp *fq, uint32_t seq)
{
	return &fq->slot[seq % FAB_WINDOW];
}

/* Segments naming the requester's buffers; false if one is not in a
 * fabric registration (cannot happen while every MR has one). */
static bool describe_local(struct apird_fabric *f, const struct sw_sgl *l,
			   struct apir_fab_seg *segs)
{
	for (uint32_t i = 0; i < l->num; i++) {
		if (!l->seg[i].mr || !l->seg[i].mr->link_priv)
			return false;
		fab_seg_describe(f, &l->seg[i], &segs[i]);
	}
	return true;
}

/* Builds the request for op into tx; returns its length, or 0 when the
 * local buffers cannot be named. */
static size_t build_request(struct apird_fabric *f, struct fab_qp *fq, const struct sw_op *op,
			    struct fab_tx *tx)
{
	const struct apir_send_wqe *w = op->w;
	struct apir_fab_req *r = (struct apir_fab_req *)tx->buf;
	uint8_t *body = tx->buf + sizeof(*r);
	size_t len = sizeof(*r);

	memset(r, 0, sizeof(*r));
	r->opcode = w->opcode;
	r->flags = (w->send_flags & IBV_SEND_SOLICITED) ? APIR_FAB_REQ_SOLICITED : 0;
	r->imm_data = w->imm_data;
	r->rkey = w->rkey;
	r->remote_addr = w->remote_addr;
	r->compare_add = w->compare_add;
	r->swap = w->swap;
	r->length = (uint32_t)op->local.len;
	r->qp_type = (uint16_t)fq->qp->qp_type;
	if (opcode_carries_data(w->opcode) && op->local.len <= APIR_FAB_EAGER_MAX) {
		struct sw_sgl dst;

		r->flags |= APIR_FAB_REQ_EAGER;
		sw_sgl_single(&dst, body, r->length);
		sw_copy(&dst, &op->local, r->length);
		len += r->length;
	} else if (!opcode_is_atomic(w->opcode)) {
		if (!describe_local(f, &op->local, (struct apir_fab_seg *)body))
			return 0;
		r->num_segs = (uint16_t)op->local.num;
		len += op->local.num * sizeof(struct apir_fab_seg);
	}
	fab_hdr_init(&r->hdr, APIR_FAB_REQ, (uint32_t)len, &f->gid, fq->qp->qp_num,
		     fq->qp->remote.qpn, fq->next_seq);
	return len;
}

static void slot_fill(struct fab_slot *s, const struct sw_op *op, bool eager)
{
	s->wr_id = op->w->wr_id;
	s->opcode = op->w->opcode;
	s->send_flags = op->w->send_flags;
	s->byte_len = op->byte_len;
	s->local = op->local;
	s->pins.num = 0;
	/* The peer's RMA reads or writes these pages until the ACK. */
	if (!eager)
		fab_pins_take(&s->pins, &s->local);
}

/* A WQE failed before anything was sent: it completes in error (and the
 * QP leaves RTS), but only once the WQEs ahead of it did. */
static void fail_local(struct apird_fabric *f, struct fab_qp *fq, struct sw_op *op)
{
	if (!fq->sent)
		sw_sq_retire(f->d, fq->qp, op);
}

/* Issues the next WQE. Returns false when nothing more can go now. */
static bool issue_one(struct apird_fabric *f, struct fab_qp *fq)
{
	struct apird_qp *qp = fq->qp;
	struct apir_send_wqe w;
	struct sw_op op = { .d = f->d, .qp = qp, .w = &w };
	struct fab_tx *tx;
	size_t len;

	if (!fab_tx_available(f))
		return false;
	sw_sq_copy(qp, qp->sq_cons + fq->sent, &w);
	if (!sw_op_prepare(&op)) {
		fail_local(f, fq, &op);
		return false;
	}
	tx = fab_tx_get(f);
	len = build_request(f, fq, &op, tx);
	if (!len) {
		fab_tx_put(f, tx);
		op.status = IBV_WC_LOC_PROT_ERR;
		fail_local(f, fq, &op);
		return false;
	}
	slot_fill(slot_of(fq, fq->next_seq), &op,
		  ((struct apir_fab_req *)tx->buf)->flags & APIR_FAB_REQ_EAGER);
	if (!fq->sent)
		fq->ack_deadline_ns = f->d->now_ns + sw_transport_timeout_ns(qp);
	fq->sent++;
	fq->next_seq = fab_seq_add(fq->next_seq, 1);
	if (fq->resend)
		fq->resend--;
	qp->remote.requests_sent++;
	fab_tx_send(f, tx, fq->peer, len);
	return true;
}

/* SQD lets WQEs in flight finish: only those a NAK rewound go again. */
static bool may_issue(const struct fab_qp *fq, int64_t pending)
{
	const struct apird_qp *qp = fq->qp;

	if (fq->sent >= FAB_WINDOW || fq->sent >= pending || fq->resend_at_ns)
		return false;
	return qp->state == IBV_QPS_RTS || (qp->state == IBV_QPS_SQD && fq->resend);
}

unsigned int apird_fabric_sq_run(struct verbs_dev *d, struct apird_qp *qp)
{
	struct apird_fabric *f = fab_of(d);
	struct fab_qp *fq = qp->link_priv;
	int64_t pending = sw_ring_pending(&qp->ctrl->sq, qp->sq_cons, qp->sq_entries);
	unsigned int n = 0;

	if (!f || !fq)
		return 0;
	if (pending < 0) {
		sw_ring_broken(qp, "send queue");
		sw_qp_to_error(d, qp);
		return 0;
	}
	if (fq->resend_at_ns && d->now_ns >= fq->resend_at_ns)
		fq->resend_at_ns = 0;
	while (qp->link_priv == fq && may_issue(fq, pending) && issue_one(f, fq)) {
		n++;
		pending = sw_ring_pending(&qp->ctrl->sq, qp->sq_cons, qp->sq_entries);
	}
	return n;
}

bool apird_fabric_in_flight(const struct apird_qp *qp)
{
	const struct fab_qp *fq = qp->link_priv;

	return fq && (fq->sent || fq->resend || fq->resend_at_ns || qp->rnr.waiting);
}

bool apird_fabric_sq_has_work(const struct verbs_dev *d, const struct apird_qp *qp)
{
	const struct fab_qp *fq = qp->link_priv;
	int64_t pending = sw_ring_pending(&qp->ctrl->sq, qp->sq_cons, qp->sq_entries);

	if (!fq || pending < 0)
		return pending < 0;
	if (fq->resend_at_ns)
		return d->now_ns >= fq->resend_at_ns;
	return may_issue(fq, pending);
}

/* ---- answers ------------------------------------------------------------------- */

static void release_window(struct apird_fabric *f, struct fab_qp *fq)
{
	for (uint32_t i = 0; i < fq->sent; i++)
		fab_pins_release(f, &slot_of(fq, fab_seq_add(head_seq(fq), i))->pins);
}

/* Completes the head WQE with status (an atomic's result is orig). */
static void complete_head(struct apird_fabric *f, struct fab_qp *fq, enum ibv_wc_status status,
			  uint64_t orig)
{
	struct apird_qp *qp = fq->qp;
	struct fab_slot *s = slot_of(fq, head_seq(fq));
	struct apir_send_wqe w = { .wr_id = s->wr_id, .opcode = s->opcode, .send_flags = s->send_flags };
	struct sw_op op = { .d = f->d, .qp = qp, .w = &w, .status = status, .byte_len = s->byte_len };

	if (status == IBV_WC_SUCCESS && opcode_is_atomic(s->opcode)) {
		struct sw_sgl result;

		sw_sgl_single(&result, &orig, sizeof(orig));
		sw_copy(&s->local, &result, sizeof(orig));
	}
	fab_pins_release(f, &s->pins);
	fq->sent--;
	fq->ack_deadline_ns = fq->sent ? f->d->now_ns + sw_transport_timeout_ns(qp) : 0;
	if (status == IBV_WC_SUCCESS) {
		qp->rnr.waiting = false;
		qp->rnr.peer_missing = false;
	}
	/* Last: a failure moves the QP to ERR, which abandons the window. */
	sw_sq_retire(f->d, qp, &op);
	if (qp->state == IBV_QPS_SQD && !apird_fabric_in_flight(qp))
		sw_sq_drained(qp);
}

/* The responder took nothing from the head on: everything in flight goes
 * again, from the head, at resend_at_ns. */
static void rewind_window(struct apird_fabric *f, struct fab_qp *fq, uint64_t resend_at_ns)
{
	release_window(f, fq);
	fq->resend = fq->sent;
	fq->next_seq = head_seq(fq);
	fq->sent = 0;
	fq->ack_deadline_ns = 0;
	fq->resend_at_ns = resend_at_ns;
}

static void rnr_nak(struct apird_fabric *f, struct fab_qp *fq, uint8_t rnr_timer)
{
	struct apird_qp *qp = fq->qp;

	qp->remote.rnr_naks++;
	if (!sw_rnr_stall(f->d, qp, rnr_timer, qp->remote.qpn)) {
		complete_head(f, fq, IBV_WC_RNR_RETRY_EXC_ERR, 0);
		return;
	}
	rewind_window(f, fq, qp->rnr.retry_at_ns);
}

/* Nobody answers for the peer QP there: it may not have reached RTR yet,
 * which a real transport cannot tell from lost packets either. The window
 * goes again every FAB_NO_QP_RETRY_NS until the transport timeout
 * (engine_sw's accounting), then the head fails with RETRY_EXC_ERR. */
static void peer_qp_missing(struct apird_fabric *f, struct fab_qp *fq)
{
	if (!sw_peer_wait(f->d, fq->qp)) {
		complete_head(f, fq, IBV_WC_RETRY_EXC_ERR, 0);
		return;
	}
	rewind_window(f, fq, f->d->now_ns + FAB_NO_QP_RETRY_NS);
}

void fab_ack_arrived(struct apird_fabric *f, const struct fab_msg *m, struct fab_peer *p)
{
	struct apird_qp *qp = apird_qp_lookup(f->d, m->hdr->dst_qpn);
	struct fab_qp *fq = qp ? qp->link_priv : NULL;

	/* Answers for a QP that was destroyed, reset, or that abandoned its
	 * window are expected after failures: dropped without a word. */
	if (!fq || !qp->remote.active || fq->peer != p || qp->remote.qpn != m->hdr->src_qpn ||
	    !fq->sent || m->hdr->seq != head_seq(fq)) {
		apir_dbg("fabric: stale answer for qp %u seq %u from %s", m->hdr->dst_qpn,
			 m->hdr->seq, p->addr);
		return;
	}
	if (m->ack->status == APIR_FAB_RNR)
		rnr_nak(f, fq, (uint8_t)m->ack->rnr_timer);
	else if (m->ack->status == APIR_FAB_NO_QP)
		peer_qp_missing(f, fq);
	else
		complete_head(f, fq, fab_status_to_wc(m->ack->status), m->ack->atomic_orig);
}

void fab_requester_fail(struct apird_fabric *f, struct fab_qp *fq, enum ibv_wc_status status)
{
	if (fq->qp && fq->sent)
		complete_head(f, fq, status, 0);
}

void fab_requester_abandon(struct apird_fabric *f, struct fab_qp *fq)
{
	release_window(f, fq);
	fq->sent = 0;
	fq->resend = 0;
	fq->ack_deadline_ns = 0;
	fq->resend_at_ns = 0;
}

unsigned int fab_requester_timeouts(struct apird_fabric *f)
{
	unsigned int n = 0;

	for (struct fab_qp *fq = f->qps; fq; fq = fq->next) {
		if (!fq->qp || !fq->sent || f->d->now_ns < fq->ack_deadline_ns)
			continue;
		apir_info("qp %u: no answer from qp %u at %s within its timeout: RETRY_EXC_ERR",
			  fq->qp->qp_num, fq->qp->remote.qpn, fq->peer->addr);
		fab_requester_fail(f, fq, IBV_WC_RETRY_EXC_ERR);
		n++;
	}
	return n;
}
