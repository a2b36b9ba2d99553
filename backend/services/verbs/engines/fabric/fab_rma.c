/* SPDX-License-Identifier: MIT */
/*
 * The responder's bulk data movement: fi_read from the requester's
 * segments into this apird's pages (WRITE and SEND payloads), or fi_write
 * from this apird's pages into the requester's segments (READ). The bytes
 * are cut into pieces at segment boundaries and FAB_RMA_CHUNK; pieces are
 * issued in request order, up to FAB_RMA_PER_QP of a QP in flight.
 *
 * Applications may wait for a buffer's last byte to change (ib_write_lat),
 * and for one request's data before they look at the next one's, so bytes
 * must land in order. Providers that carry everything between two
 * endpoints on one stream place pieces in issue order; with any other, the
 * piece holding a request's last byte is issued alone (after every other
 * piece completed), and requests never overlap (fab_responder.c).
 */
#include "apir/log.h"
#include "fabric.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

bool fab_rma_ended(const struct fab_exec *e)
{
	return !e->inflight && (!e->left || e->failed);
}

/* Bytes of e's next piece, from its cursor. */
static uint64_t piece_len(const struct apird_fabric *f, const struct fab_exec *e)
{
	const struct sw_seg *mem = &e->mem.seg[e->mem_i];
	const struct apir_fab_seg *seg = &e->rx->msg.segs[e->seg_i];
	uint64_t n = min_u64(mem->len - e->mem_off, seg->length - e->seg_off);

	n = min_u64(n, FAB_RMA_CHUNK);
	return min_u64(n, f->max_rma);
}

static void advance(struct fab_exec *e, uint64_t n)
{
	e->mem_off += (uint32_t)n;
	e->seg_off += (uint32_t)n;
	e->left -= n;
	if (e->mem_off == e->mem.seg[e->mem_i].len) {
		e->mem_i++;
		e->mem_off = 0;
	}
	if (e->seg_off == e->rx->msg.segs[e->seg_i].length) {
		e->seg_i++;
		e->seg_off = 0;
	}
}

static ssize_t post_piece(struct apird_fabric *f, struct fab_exec *e, struct fab_rma *op,
			  uint64_t n, fi_addr_t peer)
{
	const struct apir_fab_seg *seg = &e->rx->msg.segs[e->seg_i];
	struct iovec iov = { .iov_base = e->mem.seg[e->mem_i].p + e->mem_off, .iov_len = n };
	struct fi_rma_iov rma = { .addr = seg->addr + e->seg_off, .len = n, .key = seg->key };
	void *desc = e->pins.r[e->mem_i]->desc;
	struct fi_msg_rma msg = {
		.msg_iov = &iov,
		.desc = &desc,
		.iov_count = 1,
		.addr = peer,
		.rma_iov = &rma,
		.rma_iov_count = 1,
		.context = &op->ctx,
	};

	if (!e->push)
		return fi_readmsg(f->ep, &msg, FI_COMPLETION);
	return fi_writemsg(f->ep, &msg, FI_COMPLETION | (f->delivery_complete ? FI_DELIVERY_COMPLETE : 0));
}

/* A region deregistered meanwhile is not touched again. */
static bool region_revoked(const struct fab_exec *e)
{
	const struct fab_region *region = e->pins.r[e->mem_i];

	return !region || !region->mr;
}

/* Issues e's pieces while the QP's budget lasts. Returns false when the
 * pieces of the requests after e must wait. */
static bool issue_exec(struct apird_fabric *f, struct fab_qp *fq, struct fab_exec *e,
		       uint32_t *budget)
{
	fi_addr_t peer = fab_peer_addr(f, e->rx->peer);

	if (peer == FI_ADDR_UNSPEC)
		e->failed = true;
	while (e->left && !e->failed && *budget) {
		uint64_t n = piece_len(f, e);
		struct fab_rma *op;
		ssize_t ret;

		if (region_revoked(e)) {
			e->failed = true;
			break;
		}
		if (!f->ordered_placement && n == e->left && e->inflight)
			return false;
		op = fab_rma_get(f);
		if (!op)
			return false;
		ret = post_piece(f, e, op, n, peer);
		if (ret) {
			fab_rma_put(f, op);
			if (ret == -FI_EAGAIN)
				return false;
			apir_dbg("fabric: RMA with %s: %s", e->rx->peer->addr, fi_strerror((int)-ret));
			e->failed = true;
			break;
		}
		op->fq = fq;
		op->exec = e;
		op->region = e->pins.r[e->mem_i];
		fab_region_get(op->region);
		e->inflight++;
		(*budget)--;
		advance(e, n);
	}
	return !e->left || e->failed;
}

void fab_rma_issue(struct apird_fabric *f, struct fab_qp *fq)
{
	struct fab_resp *r = &fq->resp;
	uint32_t budget = FAB_RMA_PER_QP;

	for (uint32_t i = 0; i < r->count; i++)
		budget -= r->exec[(r->head + i) % FAB_RESP_DEPTH].inflight;
	for (uint32_t i = 0; i < r->count; i++) {
		struct fab_exec *e = &r->exec[(r->head + i) % FAB_RESP_DEPTH];

		if (e->rma && !issue_exec(f, fq, e, &budget))
			break;
	}
}

/* Nothing in flight would issue the rest: the poll loop has to. */
bool fab_rma_stalled(const struct fab_qp *fq)
{
	const struct fab_resp *r = &fq->resp;
	bool waiting = false;

	for (uint32_t i = 0; i < r->count; i++) {
		const struct fab_exec *e = &r->exec[(r->head + i) % FAB_RESP_DEPTH];

		if (e->inflight)
			return false;
		waiting |= e->rma && e->left && !e->failed;
	}
	return waiting;
}

void fab_rma_done(struct apird_fabric *f, struct fab_rma *op, bool ok)
{
	struct fab_qp *fq = op->fq;
	struct fab_exec *e = op->exec;

	fab_rma_put(f, op);
	if (!fq)
		return;
	e->inflight--;
	e->rma_deadline_ns = f->d->now_ns + e->rma_timeout_ns;
	if (!ok)
		e->failed = true;
	fab_rma_issue(f, fq);
	fab_responder_progress(f, fq);
}

/*
 * A peer that stops answering (a cut link: no error, TCP retransmits for
 * many minutes) would hold the request, its buffers and pins forever; the
 * provider may not end the pieces even once the peer leaves the AV. Pieces
 * get the QP's own ACK timeout to progress. Past it the peer is declared
 * failed and the pieces are abandoned: the request fails at once, and each
 * piece keeps only its context and its region pinned until the provider
 * ends it, if it ever does.
 */
static void abandon_pieces(struct apird_fabric *f, struct fab_qp *fq)
{
	for (uint32_t i = 0; i < FAB_RMA_OPS; i++) {
		struct fab_rma *op = &f->rma[i];

		if (op->fq == fq) {
			op->exec->inflight--;
			op->exec->failed = true;
			op->fq = NULL;
			op->exec = NULL;
		}
	}
}

unsigned int fab_rma_timeouts(struct apird_fabric *f)
{
	unsigned int n = 0;

	for (struct fab_qp *fq = f->qps, *next; fq; fq = next) {
		uint64_t deadline = fab_rma_deadline(fq);
		struct fab_peer *p;

		next = fq->next;
		if (!deadline || f->d->now_ns < deadline)
			continue;
		p = fq->resp.exec[fq->resp.head].rx->peer;
		apir_info("fabric: RMA with %s made no progress within the QP's timeout", p->addr);
		abandon_pieces(f, fq);
		fab_peer_failed(f, p, FI_ETIMEDOUT);
		fab_responder_progress(f, fq);
		n++;
	}
	return n;
}

uint64_t fab_rma_deadline(const struct fab_qp *fq)
{
	const struct fab_resp *r = &fq->resp;
	uint64_t next = 0;

	for (uint32_t i = 0; i < r->count; i++) {
		const struct fab_exec *e = &r->exec[(r->head + i) % FAB_RESP_DEPTH];

		if (e->inflight && (!next || e->rma_deadline_ns < next))
			next = e->rma_deadline_ns;
	}
	return next;
}
