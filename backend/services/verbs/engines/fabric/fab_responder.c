/* SPDX-License-Identifier: MIT */
/*
 * The responder: requests from peer apirds for QPs of this apird. A
 * request is accepted only for a QP connected back to its sender (same
 * peer apird, same QPN, same type) in a receiving state, and only with the
 * next sequence number. Every remote access is checked by engine_sw's own
 * code (sw_remote_resolve: rkey, PD, access, bounds; sw_recv_*: receive
 * WQEs and their buffers; sw_atomic_respond), and a violation fails the
 * responder QP as the local engine fails it. UC has no answers to give: a
 * request UC cannot place is dropped and the requester's WQE succeeds, as
 * on a real UC QP.
 *
 * Order. A QP's requests execute one after the other: the next starts once
 * the previous one's bytes are in place, so a SEND after a WRITE never
 * overtakes it. The one exception keeps that guarantee: with a provider
 * that places RMA data in issue order, bulk RDMA WRITEs that follow bulk
 * WRITEs start while the earlier pulls are in flight (their pieces queue
 * behind the earlier ones on the same stream), which keeps the link busy
 * between large WRITEs. Whatever executes, answers (and receive
 * completions) go out strictly in request order.
 */
#include "apir/log.h"
#include "fabric.h"

static void send_answer(struct apird_fabric *f, struct fab_peer *p, const struct apir_fab_hdr *req,
			enum apir_fab_status status, uint8_t rnr_timer, uint64_t orig)
{
	struct fab_tx *tx = fab_tx_get(f);
	struct apir_fab_ack *a;

	/* Executing requests reserve their buffers; only a NAK for an unknown
	 * QP can find none, and its requester then times out. */
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
	struct fab_qp *fq = qp ? qp->link_priv : NULL;

	if (!fq || !qp->remote.active || fq->peer != p || qp->remote.qpn != m->hdr->src_qpn ||
	    qp->qp_type != m->req->qp_type || !sw_qp_receives(qp))
		return NULL;
	return fq;
}

static struct fab_exec *exec_at(struct fab_resp *r, uint32_t i)
{
	return &r->exec[(r->head + i) % FAB_RESP_DEPTH];
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

bool fab_responder_busy(const struct fab_qp *fq)
{
	return fq->queue || fq->resp.count;
}

/* ---- verdicts and answers ---------------------------------------------------- */

static void done(struct fab_exec *e, enum apir_fab_status status, uint8_t rnr_timer, uint64_t orig)
{
	e->done = true;
	e->status = status;
	e->rnr_timer = rnr_timer;
	e->orig = orig;
}

/* Answers the oldest request (unless its QP is gone) and releases it. An
 * RNR NAK makes the responder drop what follows until the NAKed request
 * comes again (requests that may RNR never execute behind others). */
static void answer(struct apird_fabric *f, struct fab_qp *fq)
{
	struct fab_resp *r = &fq->resp;
	struct fab_exec *e = exec_at(r, 0);
	struct fab_rx *rx = e->rx;
	const struct apir_fab_hdr *h = rx->msg.hdr;
	enum apir_fab_status status = e->status;

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
		send_answer(f, rx->peer, h, status, e->rnr_timer, e->orig);
	}
	fab_pins_release(f, &e->pins);
	e->rx = NULL;
	r->head = (r->head + 1) % FAB_RESP_DEPTH;
	r->count--;
	fab_rx_release(f, rx);
}

/* RC: the responder QP goes to ERR with event, the requester gets status. */
static void violation(struct apird_fabric *f, struct fab_qp *fq, struct fab_exec *e,
		      enum ibv_wc_status status, enum ibv_event_type event)
{
	if (fq->qp->qp_type == IBV_QPT_RC)
		sw_responder_failed(f->d, fq->qp, event);
	done(e, fab_status_from_wc(status), 0, 0);
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

/* ---- receive WQEs ------------------------------------------------------------------ */

/* Finds the QP's next receive WQE (into e->recv). Without one the request
 * ends here (RNR, or the receive queue is broken). */
static bool peek_receive(struct apird_fabric *f, struct fab_qp *fq, struct fab_exec *e)
{
	switch (sw_recv_peek(f->d, fq->qp, &e->recv)) {
	case SW_RECV_READY:
		return true;
	case SW_RECV_EMPTY:
		apir_dbg("qp %u: receiver not ready for qp %u at %s", fq->qp->qp_num,
			 fq->qp->remote.qpn, e->rx->peer->addr);
		done(e, APIR_FAB_RNR, fq->qp->attr.min_rnr_timer, 0);
		return false;
	case SW_RECV_BROKEN:
		done(e, APIR_FAB_REM_OP, 0, 0);
		return false;
	}
	return false;
}

/* Takes the WQE before RMA fills its buffers, so that no other QP of its
 * SRQ takes it meanwhile; it completes once the bytes are in place. */
static void hold_receive(struct fab_exec *e)
{
	sw_recv_consume(&e->recv);
	e->has_recv = true;
}

/* A receive WQE flushed meanwhile (the QP went to ERR) completed already. */
static void complete_receive(struct apird_fabric *f, struct fab_exec *e, enum ibv_wc_opcode opcode)
{
	const struct apir_fab_req *q = e->rx->msg.req;
	struct apir_cqe c = recv_template(q, opcode);

	if (!e->has_recv)
		return;
	e->has_recv = false;
	sw_recv_finish(f->d, &e->recv, &c, q->flags & APIR_FAB_REQ_SOLICITED);
}

/* ---- execution ------------------------------------------------------------------------ */

static void start_rma(struct apird_fabric *f, struct fab_qp *fq, struct fab_exec *e, bool push)
{
	e->rma = true;
	e->push = push;
	e->left = e->rx->msg.req->length;
	e->rma_timeout_ns = sw_transport_timeout_ns(fq->qp);
	e->rma_deadline_ns = f->d->now_ns + e->rma_timeout_ns;
	e->mem_i = e->mem_off = e->seg_i = e->seg_off = 0;
	fab_pins_take(&e->pins, &e->mem);
	fab_rma_issue(f, fq);
}

static void eager_payload(const struct fab_msg *m, struct sw_sgl *l)
{
	sw_sgl_single(l, (void *)m->payload, m->payload_len);
}

static void write_placed(struct apird_fabric *f, struct fab_qp *fq, struct fab_exec *e)
{
	const struct apir_fab_req *q = e->rx->msg.req;

	apird_qp_count_received(fq->qp, q->length);
	if (q->opcode == IBV_WR_RDMA_WRITE_WITH_IMM)
		complete_receive(f, e, IBV_WC_RECV_RDMA_WITH_IMM);
	done(e, APIR_FAB_OK, 0, 0);
}

static void send_placed(struct apird_fabric *f, struct fab_qp *fq, struct fab_exec *e)
{
	apird_qp_count_received(fq->qp, e->rx->msg.req->length);
	complete_receive(f, e, IBV_WC_RECV);
	done(e, APIR_FAB_OK, 0, 0);
}

static void exec_write(struct apird_fabric *f, struct fab_qp *fq, struct fab_exec *e)
{
	const struct fab_msg *m = &e->rx->msg;
	struct sw_sgl payload;

	if (sw_remote_resolve(f->d, fq->qp, m->req->rkey, m->req->remote_addr, m->req->length,
			      IBV_ACCESS_REMOTE_WRITE, &e->mem) != IBV_WC_SUCCESS) {
		violation(f, fq, e, IBV_WC_REM_ACCESS_ERR, IBV_EVENT_QP_ACCESS_ERR);
		return;
	}
	/* The immediate needs a receive WQE: without one, nothing is written. */
	if (m->req->opcode == IBV_WR_RDMA_WRITE_WITH_IMM) {
		if (!peek_receive(f, fq, e))
			return;
		hold_receive(e);
	}
	if (m->req->flags & APIR_FAB_REQ_EAGER) {
		eager_payload(m, &payload);
		sw_copy(&e->mem, &payload, payload.len);
		write_placed(f, fq, e);
		return;
	}
	start_rma(f, fq, e, false);
}

static void exec_send(struct apird_fabric *f, struct fab_qp *fq, struct fab_exec *e)
{
	const struct fab_msg *m = &e->rx->msg;
	struct apir_cqe tmpl = recv_template(m->req, IBV_WC_RECV);
	enum ibv_wc_status st;
	struct sw_sgl payload;

	if (!peek_receive(f, fq, e))
		return;
	st = sw_recv_accept(f->d, &e->recv, m->req->length, &tmpl);
	if (st != IBV_WC_SUCCESS) {
		done(e, fab_status_from_wc(sw_remote_status(st)), 0, 0);
		return;
	}
	hold_receive(e);
	if (m->req->flags & APIR_FAB_REQ_EAGER) {
		eager_payload(m, &payload);
		sw_copy(&e->recv.sgl, &payload, payload.len);
		send_placed(f, fq, e);
		return;
	}
	e->mem = e->recv.sgl;
	start_rma(f, fq, e, false);
}

static void exec_read(struct apird_fabric *f, struct fab_qp *fq, struct fab_exec *e)
{
	const struct apir_fab_req *q = e->rx->msg.req;

	if (sw_remote_resolve(f->d, fq->qp, q->rkey, q->remote_addr, q->length,
			      IBV_ACCESS_REMOTE_READ, &e->mem) != IBV_WC_SUCCESS) {
		violation(f, fq, e, IBV_WC_REM_ACCESS_ERR, IBV_EVENT_QP_ACCESS_ERR);
		return;
	}
	start_rma(f, fq, e, true);
}

static void exec_atomic(struct apird_fabric *f, struct fab_qp *fq, struct fab_exec *e)
{
	const struct apir_fab_req *q = e->rx->msg.req;
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
		violation(f, fq, e, st, event);
		return;
	}
	apird_qp_count_received(fq->qp, sizeof(old));
	done(e, APIR_FAB_OK, 0, old);
}

static void execute(struct apird_fabric *f, struct fab_qp *fq, struct fab_exec *e)
{
	switch (e->rx->msg.req->opcode) {
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		exec_write(f, fq, e);
		break;
	case IBV_WR_SEND:
	case IBV_WR_SEND_WITH_IMM:
		exec_send(f, fq, e);
		break;
	case IBV_WR_RDMA_READ:
		exec_read(f, fq, e);
		break;
	default:
		exec_atomic(f, fq, e);
		break;
	}
}

/* e's RMA ended: its bytes are in place, or a piece failed (the
 * requester's registration revoked, the peer gone) and the request fails;
 * a receive WQE it held then completes in error. */
static void rma_ended(struct apird_fabric *f, struct fab_qp *fq, struct fab_exec *e)
{
	uint32_t opcode = e->rx->msg.req->opcode;

	if (!fq->qp) {
		done(e, APIR_FAB_OK, 0, 0);
		return;
	}
	if (e->failed) {
		if (e->has_recv) {
			struct apir_cqe c = sw_cqe(0, IBV_WC_GENERAL_ERR, IBV_WC_RECV, 0);

			e->has_recv = false;
			sw_qp_fail(f->d, fq->qp);
			sw_recv_finish(f->d, &e->recv, &c, false);
		}
		done(e, APIR_FAB_REM_OP, 0, 0);
	} else if (opcode == IBV_WR_SEND || opcode == IBV_WR_SEND_WITH_IMM) {
		send_placed(f, fq, e);
	} else if (opcode == IBV_WR_RDMA_READ) {
		apird_qp_count_received(fq->qp, e->rx->msg.req->length);
		done(e, APIR_FAB_OK, 0, 0);
	} else {
		write_placed(f, fq, e);
	}
}

/* ---- scheduling ----------------------------------------------------------------------- */

/* Whether rx may start while the requests in execution still move bytes:
 * a bulk WRITE behind bulk WRITEs, on a provider that places RMA data in
 * issue order, and sure to pass its checks (a request that fails or RNRs
 * must wait for its turn, its answer and the QP's state depend on it). */
static bool may_overlap(struct apird_fabric *f, struct fab_qp *fq, const struct fab_rx *rx)
{
	const struct apir_fab_req *q = rx->msg.req;
	struct sw_sgl target;

	if (!f->ordered_placement || (q->flags & APIR_FAB_REQ_EAGER) ||
	    (q->opcode != IBV_WR_RDMA_WRITE && q->opcode != IBV_WR_RDMA_WRITE_WITH_IMM))
		return false;
	for (uint32_t i = 0; i < fq->resp.count; i++) {
		const struct fab_exec *e = exec_at(&fq->resp, i);

		if (!e->rma || e->push)
			return false;
	}
	if (q->opcode == IBV_WR_RDMA_WRITE_WITH_IMM && !sw_recv_posted(fq->qp))
		return false;
	return sw_remote_resolve(f->d, fq->qp, q->rkey, q->remote_addr, q->length,
				 IBV_ACCESS_REMOTE_WRITE, &target) == IBV_WC_SUCCESS;
}

/* Starts the next queued request if it may start now (each request in
 * execution holds a message buffer for its answer). */
static bool start_next(struct apird_fabric *f, struct fab_qp *fq)
{
	struct fab_resp *r = &fq->resp;
	struct fab_rx *rx = fq->queue;
	struct fab_exec *e;

	if (!rx || !fq->qp || r->count == FAB_RESP_DEPTH || fab_tx_available(f) <= r->count)
		return false;
	if (r->count && !may_overlap(f, fq, rx))
		return false;
	fq->queue = rx->next;
	if (!fq->queue)
		fq->queue_tail = NULL;
	fq->queued--;
	e = exec_at(r, r->count++);
	memset(e, 0, sizeof(*e));
	e->rx = rx;
	execute(f, fq, e);
	return true;
}

unsigned int fab_responder_progress(struct apird_fabric *f, struct fab_qp *fq)
{
	struct fab_resp *r = &fq->resp;
	unsigned int n = 0;

	for (;;) {
		if (r->count) {
			struct fab_exec *e = exec_at(r, 0);

			if (!e->done && e->rma && fab_rma_ended(e))
				rma_ended(f, fq, e);
			if (e->done) {
				answer(f, fq);
				n++;
				continue;
			}
		}
		if (!start_next(f, fq))
			break;
		n++;
	}
	fab_qp_maybe_free(f, fq);
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
		/* Requests that followed one this responder NAKed (RNR, or its QP
		 * not there yet) are dropped on purpose: they come again. Others
		 * mean the peer broke the protocol. */
		if (!fq->rnr_nakked && ((m->hdr->seq - fq->expected_seq) & FAB_SEQ_MASK) >= FAB_WINDOW)
			fab_peer_malformed(f, p, "request out of sequence");
		return false;
	}
	if (fq->queued + fq->resp.count >= FAB_WINDOW) {
		fab_peer_malformed(f, p, "more requests in flight than the window");
		return false;
	}
	fq->rnr_nakked = false;
	fq->expected_seq = fab_seq_add(fq->expected_seq, 1);
	rx->msg = *m;
	rx->peer = p;
	enqueue(fq, rx);
	fab_responder_progress(f, fq);
	return true;
}

void fab_responder_abandon(struct apird_fabric *f, struct fab_qp *fq, bool flush_recv)
{
	struct fab_resp *r = &fq->resp;

	queue_drop(f, fq);
	for (uint32_t i = 0; i < r->count; i++) {
		struct fab_exec *e = exec_at(r, i);

		if (e->has_recv && flush_recv && fq->qp) {
			struct apir_cqe c = sw_cqe(0, IBV_WC_WR_FLUSH_ERR, IBV_WC_RECV, 0);

			sw_recv_finish(f->d, &e->recv, &c, false);
		}
		e->has_recv = false;
	}
}
