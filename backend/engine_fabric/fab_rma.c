/* SPDX-License-Identifier: MIT */
/*
 * The responder's bulk data movement: fi_read from the requester's
 * segments into this apird's pages (WRITE and SEND payloads), or fi_write
 * from this apird's pages into the requester's segments (READ). The bytes
 * are cut into pieces at segment boundaries and FAB_RMA_CHUNK, with up to
 * FAB_RMA_PER_REQUEST pieces in flight.
 *
 * Applications may wait for a buffer's last byte to change (ib_write_lat),
 * so the last byte must land last. Providers that carry everything
 * between two endpoints on one stream place pieces in issue order; with
 * any other, the piece holding the last byte waits until every other
 * piece completed.
 */
#include "apir/log.h"
#include "fabric.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Bytes of the next piece, from the cursor. */
static uint64_t piece_len(const struct apird_fabric *f, const struct fab_resp *r)
{
	const struct sw_seg *mem = &r->mem.seg[r->mem_i];
	const struct apir_fab_seg *seg = &r->rx->msg.segs[r->seg_i];
	uint64_t n = min_u64(mem->len - r->mem_off, seg->length - r->seg_off);

	n = min_u64(n, FAB_RMA_CHUNK);
	return min_u64(n, f->max_rma);
}

static void advance(struct fab_resp *r, uint64_t n)
{
	r->mem_off += (uint32_t)n;
	r->seg_off += (uint32_t)n;
	r->left -= n;
	if (r->mem_off == r->mem.seg[r->mem_i].len) {
		r->mem_i++;
		r->mem_off = 0;
	}
	if (r->seg_off == r->rx->msg.segs[r->seg_i].length) {
		r->seg_i++;
		r->seg_off = 0;
	}
}

static ssize_t post_piece(struct apird_fabric *f, struct fab_resp *r, struct fab_rma *op,
			  uint64_t n, fi_addr_t peer)
{
	const struct fab_region *region = r->pins.r[r->mem_i];
	const struct apir_fab_seg *seg = &r->rx->msg.segs[r->seg_i];
	struct iovec iov = { .iov_base = r->mem.seg[r->mem_i].p + r->mem_off, .iov_len = n };
	struct fi_rma_iov rma = { .addr = seg->addr + r->seg_off, .len = n, .key = seg->key };
	void *desc = region->desc;
	struct fi_msg_rma msg = {
		.msg_iov = &iov,
		.desc = &desc,
		.iov_count = 1,
		.addr = peer,
		.rma_iov = &rma,
		.rma_iov_count = 1,
		.context = &op->ctx,
	};

	if (!r->push)
		return fi_readmsg(f->ep, &msg, FI_COMPLETION);
	return fi_writemsg(f->ep, &msg, FI_COMPLETION | (f->delivery_complete ? FI_DELIVERY_COMPLETE : 0));
}

/* Whether the next piece (n bytes) may go now: the last one only alone,
 * unless the provider places pieces in order. */
static bool piece_may_go(const struct apird_fabric *f, const struct fab_resp *r, uint64_t n)
{
	if (r->inflight >= FAB_RMA_PER_REQUEST)
		return false;
	return f->ordered_placement || n < r->left || !r->inflight;
}

/* A region deregistered meanwhile is not touched again. */
static bool region_revoked(const struct fab_resp *r)
{
	const struct fab_region *region = r->pins.r[r->mem_i];

	return !region || !region->mr;
}

void fab_rma_issue(struct apird_fabric *f, struct fab_qp *fq)
{
	struct fab_resp *r = &fq->resp;
	fi_addr_t peer = fab_peer_addr(f, r->rx->peer);

	if (peer == FI_ADDR_UNSPEC)
		r->failed = true;
	while (r->left && !r->failed) {
		uint64_t n = piece_len(f, r);
		struct fab_rma *op;
		ssize_t ret;

		if (region_revoked(r)) {
			r->failed = true;
			break;
		}
		if (!piece_may_go(f, r, n))
			break;
		op = fab_rma_get(f);
		if (!op)
			break;
		ret = post_piece(f, r, op, n, peer);
		if (ret) {
			fab_rma_put(f, op);
			if (ret != -FI_EAGAIN) {
				apir_dbg("fabric: RMA to %s: %s", r->rx->peer->addr, fi_strerror((int)-ret));
				r->failed = true;
			}
			break;
		}
		op->fq = fq;
		r->inflight++;
		advance(r, n);
	}
	if (!r->inflight && (!r->left || r->failed))
		fab_responder_rma_finished(f, fq);
}

void fab_rma_done(struct apird_fabric *f, struct fab_rma *op, bool ok)
{
	struct fab_qp *fq = op->fq;

	fab_rma_put(f, op);
	if (!fq)
		return;
	fq->resp.inflight--;
	if (!ok)
		fq->resp.failed = true;
	fab_rma_issue(f, fq);
}
