/* SPDX-License-Identifier: MIT */
/*
 * Receiver Not Ready: an RC SEND or WRITE_WITH_IMM found no receive WQE.
 * The send queue stalls on that WQE (head of line). A counted retry happens
 * once the responder's min_rnr_timer has passed; the sweep also re-attempts
 * the WQE earlier (a receive may have been posted meanwhile), which costs
 * no retry when it fails again.
 */
#include "apir/log.h"
#include "sw.h"

/* The IBA encoding of the RNR NAK timer field, in units of 10 us. */
static const uint32_t rnr_timer_10us[32] = {
	65536, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192,
	256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384, 24576, 32768, 49152,
};

uint64_t sw_rnr_timer_ns(uint8_t min_rnr_timer)
{
	return (uint64_t)rnr_timer_10us[min_rnr_timer & 31] * 10000u;
}

uint64_t sw_transport_timeout_ns(const struct apird_qp *qp)
{
	uint64_t once = qp->attr.timeout ? 4096ull << qp->attr.timeout : 1000000000ull;

	return once * (qp->attr.retry_cnt + 1u);
}

bool sw_peer_wait(struct verbs_dev *d, struct apird_qp *qp)
{
	struct apird_rnr *r = &qp->rnr;

	if (!r->waiting || !r->peer_missing) {
		r->waiting = true;
		r->peer_missing = true;
		r->retry_at_ns = d->now_ns + sw_transport_timeout_ns(qp);
		apir_dbg("qp %u: no connected peer qp %u, retrying until the transport timeout",
			 qp->qp_num, qp->attr.dest_qp_num);
	}
	return d->now_ns < r->retry_at_ns;
}

bool sw_rnr_stall(struct verbs_dev *d, struct apird_qp *qp, uint8_t min_rnr_timer,
		  uint32_t responder_qpn)
{
	struct apird_rnr *r = &qp->rnr;

	if (r->peer_missing) {   /* the peer showed up but has no receive */
		r->waiting = false;
		r->peer_missing = false;
	}

	if (r->waiting && d->now_ns < r->retry_at_ns)
		return true;
	if (!r->waiting) {
		r->retries_left = qp->attr.rnr_retry & 7;
		if (!r->retries_left)
			return false;
		r->waiting = true;
		apir_dbg("qp %u: receiver not ready (qp %u), retrying after %u x 10 us",
			 qp->qp_num, responder_qpn, rnr_timer_10us[min_rnr_timer & 31]);
	} else if (r->retries_left != SW_RNR_INFINITE && --r->retries_left == 0) {
		r->waiting = false;
		return false;
	}
	r->retry_at_ns = d->now_ns + sw_rnr_timer_ns(min_rnr_timer);
	return true;
}
