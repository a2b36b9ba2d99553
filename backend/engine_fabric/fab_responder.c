/* SPDX-License-Identifier: MIT */
/*
 * The responder: requests from peer apirds for QPs of this apird. A
 * request is accepted only for a QP connected back to its sender (same
 * peer apird, same QPN, same type) in a receiving state, and only with the
 * next sequence number; accepted requests of a QP execute strictly one
 * after the other, each answered by one ACK or NAK. Every remote access is
 * checked by engine_sw's own code (sw_remote_resolve: rkey, PD, access,
 * bounds; sw_recv_*: receive WQEs and their buffers; sw_atomic_respond),
 * and a violation fails the responder QP as the local engine fails it.
 * UC has no answers to give: a request UC cannot place is dropped and the
 * requester's WQE succeeds, as on a real UC QP.
 */
#include "apir/log.h"
#include "fabric.h"

static void send_answer(struct apird_fabric *f, struct fab_peer *p, const struct apir_fab_hdr *req,
			enum apir_fab_status status, uint8_t rnr_timer, uint64_t orig)
{
	struct fab_tx *tx = fab_tx_get(f);
	struct apir_fab_ack *a;

	/* The responder reserves a buffer before executing; only a NAK for an
	 * unknown QP can find none, and its requester then times out. */
	if (!tx)
		return;
	a = (struct apir_fab_ack *)tx->buf;
	memset(a, 0, sizeof(*a));
	a->status = status;
	a->rnr_timer = rnr_timer;
	a->atomic_orig = orig;
	fab_hdr_init(&a->hdr, APIR_FAB_ACK, sizeof(*a), &f->gid, req->dst_qpn, req->src_qpn, req->seq);
	fab_tx_send(f, tx, p, sizeof(*a));
}

/* The QP the request is for, if it may accept it. */
static struct fab_qp *responder_of(struct apird_fabric *f, const struct fab_msg *m,
				   const struct fab_peer *p)
{
	struct apird_qp *qp = apird_qp_lookup(f->d, m->hdr->dst_qpn);
	struct fab_qp *fq = qp ? qp->remote.engine : NULL;

	if (!fq || !qp->remote.active || fq->peer != p || qp->remote.qpn != m->hdr->src_qpn ||
	    qp->qp_type != m->req->qp_type || !sw_qp_receives(qp))
		return NULL;
	return fq;
}

static void queue_drop(struct apird_fabric *f, struct fab_qp *fq)
{
	while (fq->queue) {
		struct fab_rx *rx = fq->queue;

		fq->queue = rx->next;
		fab_rx_release(f, rx);
	}
	fq->queue_tail = NULL;
	fq->queued = 0;
}

/* ---- ending a request ------------------------------------------------------------ */

/* Answers the request in execution (unless its QP is gone) and releases it.
 * An RNR NAK makes the responder drop what follows until the NAKed
 * request comes again. */
static void finish(struct apird_fabric *f, struct fab_qp *fq, enum apir_fab_status status,
		   uint8_t rnr_timer, uint64_t orig)
{
	struct fab_resp *r = &fq->resp;
	struct fab_rx *rx = r->rx;
	const struct apir_fab_hdr *h = rx->msg.hdr;

	if (fq->qp) {
		if (fq->qp->qp_type == IBV_QPT_UC)
			status = APIR_FAB_OK;
		if (status == APIR_FAB_RNR) {
			fq->expected_seq = h->seq;
			fq->rnr_nakked = true;
			queue_drop(f, fq);
		}
		if (status != APIR_FAB_OK)
			fq->qp->remote.naks_sent++;
		send_answer(f, rx->peer, h, status, rnr_timer, orig);
	}
	fab_pins_release(f, &r->pins);
	r->rx = NULL;
	r->has_recv = false;
	r->left = 0;
	fab_rx_release(f, rx);
	fab_qp_maybe_free(f, fq);
}

/* RC: the responder QP goes to ERR with event, the requester gets status. */
static void violation(struct apird_fabric *f, struct fab_qp *fq, enum ibv_wc_status status,
		      enum ibv_event_type event)
{
	if (fq->qp->qp_type == IBV_QPT_RC)
		sw_responder_failed(f->d, fq->qp, event);
	finish(f, fq, fab_status_from_wc(status), 0, 0);
}

static void finish_rnr(struct apird_fabric *f, struct fab_qp *fq)
{
	apir_dbg("qp %u: receiver not ready for qp %u at %s", fq->qp->qp_num, fq->qp->remote.qpn,
		 fq->resp.rx->peer->addr);
	finish(f, fq, APIR_FAB_RNR, fq->qp->attr.min_rnr_timer, 0);
}

static struct apir_cqe recv_template(const struct apir_fab_req *q, enum ibv_wc_opcode opcode)
{
	struct apir_cqe c = sw_cqe(0, IBV_WC_SUCCESS, opcode, 0);

	c.src_qp = q->hdr.src_qpn;
	c.byte_len = q->length;
	if (q->opcode == IBV_WR_SEND_WITH_IMM || q->opcode == IBV_WR_RDMA_WRITE_WITH_IMM) {
		c.imm_data = q->imm_data;
		c.wc_flags = IBV_WC_WITH_IMM;
	}
	return c;
}

static bool solicited(const struct apir_fab_req *q)
{
	return q->flags & APIR_FAB_REQ_SOLICITED;
}

/* ---- receive WQEs ------------------------------------------------------------------ */

/* Finds the QP's next receive WQE (into resp.recv). Without one the
 * request ends here (RNR, or the receive queue is broken). */
static bool peek_receive(struct apird_fabric *f, struct fab_qp *fq)
{
	switch (sw_recv_peek(f->d, fq->qp, &fq->resp.recv)) {
	case SW_RECV_READY:
		return true;
	case SW_RECV_EMPTY:
		finish_rnr(f, fq);
		return false;
	case SW_RECV_BROKEN:
		finish(f, fq, APIR_FAB_REM_OP, 0, 0);
		return false;
	}
	return false;
}

/* Takes the WQE before RMA fills its buffers, so that no other QP of its
 * SRQ takes it meanwhile; it completes once the bytes are in place. */
static void hold_receive(struct fab_resp *r)
{
	sw_recv_consume(&r->recv);
	r->has_recv = true;
}

/* A receive WQE flushed meanwhile (the QP went to ERR) completed already. */
static void complete_receive(struct apird_fabric *f, struct fab_qp *fq, enum ibv_wc_opcode opcode)
{
	const struct apir_fab_req *q = fq->resp.rx->msg.req;
	struct apir_cqe c = recv_template(q, opcode);

	if (!fq->resp.has_recv)
		return;
	fq->resp.has_recv = false;
	sw_recv_finish(f->d, &fq->resp.recv, &c, solicited(q));
}

/* ---- execution ------------------------------------------------------------------------ */

static void start_rma(struct apird_fabric *f, struct fab_qp *fq, bool push)
{
	struct fab_resp *r = &fq->resp;

	r->push = push;
	r->left = r->rx->msg.req->length;
	r->mem_i = r->mem_off = r->seg_i = r->seg_off = 0;
	r->inflight = 0;
	r->failed = false;
	fab_pins_take(&r->pins, &r->mem);
	fab_rma_issue(f, fq);
}

static void eager_payload(const struct fab_msg *m, struct sw_sgl *l)
{
	sw_sgl_single(l, (void *)m->payload, m->payload_len);
}

static void write_placed(struct apird_fabric *f, struct fab_qp *fq)
{
	const struct apir_fab_req *q = fq->resp.rx->msg.req;

	apird_qp_count_received(fq->qp, q->length);
	if (q->opcode == IBV_WR_RDMA_WRITE_WITH_IMM)
		complete_receive(f, fq, IBV_WC_RECV_RDMA_WITH_IMM);
	finish(f, fq, APIR_FAB_OK, 0, 0);
}

static void exec_write(struct apird_fabric *f, struct fab_qp *fq)
{
	struct fab_resp *r = &fq->resp;
	const struct fab_msg *m = &r->rx->msg;
	struct sw_sgl payload;

	if (sw_remote_resolve(f->d, fq->qp, m->req->rkey, m->req->remote_addr, m->req->length,
			      IBV_ACCESS_REMOTE_WRITE, &r->mem) != IBV_WC_SUCCESS) {
		violation(f, fq, IBV_WC_REM_ACCESS_ERR, IBV_EVENT_QP_ACCESS_ERR);
		return;
	}
	/* The immediate needs a receive WQE: without one, nothing is written. */
	if (m->req->opcode == IBV_WR_RDMA_WRITE_WITH_IMM) {
		if (!peek_receive(f, fq))
			return;
		hold_receive(r);
	}
	if (m->req->flags & APIR_FAB_REQ_EAGER) {
		eager_payload(m, &payload);
		sw_copy(&r->mem, &payload, payload.len);
		write_placed(f, fq);
		return;
	}
	start_rma(f, fq, false);
}

static void send_placed(struct apird_fabric *f, struct fab_qp *fq)
{
	apird_qp_count_received(fq->qp, fq->resp.rx->msg.req->length);
	complete_receive(f, fq, IBV_WC_RECV);
	finish(f, fq, APIR_FAB_OK, 0, 0);
}

static void exec_send(struct apird_fabric *f, struct fab_qp *fq)
{
	struct fab_resp *r = &fq->resp;
	const struct fab_msg *m = &r->rx->msg;
	struct apir_cqe tmpl = recv_template(m->req, IBV_WC_RECV);
	enum ibv_wc_status st;
	struct sw_sgl payload;

	if (!peek_receive(f, fq))
		return;
	st = sw_recv_accept(f->d, &r->recv, m->req->length, &tmpl);
	if (st != IBV_WC_SUCCESS) {
		finish(f, fq, fab_status_from_wc(sw_remote_status(st)), 0, 0);
		return;
	}
	hold_receive(r);
	if (m->req->flags & APIR_FAB_REQ_EAGER) {
		eager_payload(m, &payload);
		sw_copy(&r->recv.sgl, &payload, payload.len);
		send_placed(f, fq);
		return;
	}
	r->mem = r->recv.sgl;
	start_rma(f, fq, false);
}

static void exec_read(struct apird_fabric *f, struct fab_qp *fq)
{
	struct fab_resp *r = &fq->resp;
	const struct apir_fab_req *q = r->rx->msg.req;

	if (sw_remote_resolve(f->d, fq->qp, q->rkey, q->remote_addr, q->length,
			      IBV_ACCESS_REMOTE_READ, &r->mem) != IBV_WC_SUCCESS) {
		violation(f, fq, IBV_WC_REM_ACCESS_ERR, IBV_EVENT_QP_ACCESS_ERR);
		return;
	}
	start_rma(f, fq, true);
}

static void exec_atomic(struct apird_fabric *f, struct fab_qp *fq)
{
	const struct apir_fab_req *q = fq->resp.rx->msg.req;
	struct apir_send_wqe w = {
		.opcode = q->opcode,
		.remote_addr = q->remote_addr,
		.rkey = q->rkey,
		.compare_add = q->compare_add,
		.swap = q->swap,
	};
	enum ibv_event_type event;
	enum ibv_wc_status st;
	uint64_t old = 0;

	st = sw_atomic_respond(f->d, fq->qp, &w, &old, &event);
	if (st != IBV_WC_SUCCESS) {
		violation(f, fq, st, event);
		return;
	}
	apird_qp_count_received(fq->qp, sizeof(old));
	finish(f, fq, APIR_FAB_OK, 0, old);
}

static void execute(struct apird_fabric *f, struct fab_qp *fq, struct fab_rx *rx)
{
	fq->resp.rx = rx;
	fq->resp.has_recv = false;
	fq->resp.pins.num = 0;
	switch (rx->msg.req->opcode) {
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		exec_write(f, fq);
		break;
	case IBV_WR_SEND:
	case IBV_WR_SEND_WITH_IMM:
		exec_send(f, fq);
		break;
	case IBV_WR_RDMA_READ:
		exec_read(f, fq);
		break;
	default:
		exec_atomic(f, fq);
		break;
	}
}

/* Its RMA ended: a failed piece (the requester's registration revoked, the
 * peer gone) fails the request; a receive WQE it held completes in error. */
void fab_responder_rma_finished(struct apird_fabric *f, struct fab_qp *fq)
{
	struct fab_resp *r = &fq->resp;
	uint32_t opcode = r->rx->msg.req->opcode;

	if (!fq->qp) {
		finish(f, fq, APIR_FAB_OK, 0, 0);
		return;
	}
	if (r->failed) {
		if (r->has_recv) {
			struct apir_cqe c = sw_cqe(0, IBV_WC_GENERAL_ERR, IBV_WC_RECV, 0);

			r->has_recv = false;
			sw_qp_fail(f->d, fq->qp);
			sw_recv_finish(f->d, &r->recv, &c, false);
		}
		finish(f, fq, APIR_FAB_REM_OP, 0, 0);
		return;
	}
	if (opcode == IBV_WR_SEND || opcode == IBV_WR_SEND_WITH_IMM) {
		send_placed(f, fq);
		return;
	}
	if (opcode == IBV_WR_RDMA_READ) {
		apird_qp_count_received(fq->qp, r->rx->msg.req->length);
		finish(f, fq, APIR_FAB_OK, 0, 0);
		return;
	}
	write_placed(f, fq);
}

unsigned int fab_responder_run(struct apird_fabric *f, struct fab_qp *fq)
{
	unsigned int n = 0;

	while (fq->queue && !fq->resp.rx && fq->qp && fab_tx_available(f)) {
		struct fab_rx *rx = fq->queue;

		fq->queue = rx->next;
		if (!fq->queue)
			fq->queue_tail = NULL;
		fq->queued--;
		execute(f, fq, rx);
		n++;
	}
	return n;
}

/* ---- arrival ------------------------------------------------------------------------- */

static void enqueue(struct fab_qp *fq, struct fab_rx *rx)
{
	rx->next = NULL;
	if (fq->queue_tail)
		fq->queue_tail->next = rx;
	else
		fq->queue = rx;
	fq->queue_tail = rx;
	fq->queued++;
}

bool fab_req_arrived(struct apird_fabric *f, struct fab_rx *rx, const struct fab_msg *m,
		     struct fab_peer *p)
{
	struct fab_qp *fq = responder_of(f, m, p);

	if (!fq) {
		/* As a real RC responder would, minus the timeout: the requester
		 * learns at once that nobody is connected to it here. */
		if (m->req->qp_type == IBV_QPT_RC)
			send_answer(f, p, m->hdr, APIR_FAB_NO_QP, 0, 0);
		return false;
	}
	if (m->hdr->seq != fq->expected_seq) {
		/* After an RNR NAK the requests that followed are dropped on
		 * purpose; otherwise the peer broke the protocol. */
		if (!fq->rnr_nakked)
			fab_peer_malformed(f, p, "request out of sequence");
		return false;
	}
	if (fq->queued + (fq->resp.rx ? 1 : 0) >= FAB_WINDOW) {
		fab_peer_malformed(f, p, "more requests in flight than the window");
		return false;
	}
	fq->rnr_nakked = false;
	fq->expected_seq = fab_seq_add(fq->expected_seq, 1);
	rx->msg = *m;
	rx->peer = p;
	enqueue(fq, rx);
	fab_responder_run(f, fq);
	return true;
}

void fab_responder_abandon(struct apird_fabric *f, struct fab_qp *fq, bool flush_recv)
{
	struct fab_resp *r = &fq->resp;

	queue_drop(f, fq);
	if (r->has_recv && flush_recv && fq->qp) {
		struct apir_cqe c = sw_cqe(0, IBV_WC_WR_FLUSH_ERR, IBV_WC_RECV, 0);

		sw_recv_finish(f->d, &r->recv, &c, false);
	}
	r->has_recv = false;
}
