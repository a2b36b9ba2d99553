/* SPDX-License-Identifier: MIT */
/*
 * 8-byte atomics executed with the CPU's own atomic instructions on the
 * target mapping, so they are atomic with respect to each other and to the
 * CPUs of every process that maps the region (IBV_ATOMIC_GLOB semantics;
 * operands and memory are in host byte order).
 */
#include "sw.h"

static uint64_t atomic_execute(uint32_t opcode, uint64_t *target, uint64_t compare_add,
			       uint64_t swap)
{
	uint64_t old = compare_add;

	if (opcode == IBV_WR_ATOMIC_FETCH_AND_ADD)
		return __atomic_fetch_add(target, compare_add, __ATOMIC_SEQ_CST);
	/* On failure old receives the current value; on success it already is. */
	__atomic_compare_exchange_n(target, &old, swap, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return old;
}

void sw_atomic(struct sw_op *op)
{
	const struct apir_send_wqe *w = op->w;
	struct apird_qp *peer;
	struct sw_sgl remote, result;
	uint64_t old;

	if (op->local.len != sizeof(uint64_t)) {
		op->status = IBV_WC_LOC_LEN_ERR;
		return;
	}
	peer = sw_connected_peer(op);
	if (!peer)
		return;
	if (w->remote_addr % sizeof(uint64_t)) {
		sw_responder_violation(op, peer, IBV_WC_REM_INV_REQ_ERR, IBV_EVENT_QP_REQ_ERR);
		return;
	}
	if (sw_remote_resolve(op->d, peer, w->rkey, w->remote_addr, sizeof(uint64_t),
			      IBV_ACCESS_REMOTE_ATOMIC, &remote) != IBV_WC_SUCCESS) {
		sw_responder_violation(op, peer, IBV_WC_REM_ACCESS_ERR, IBV_EVENT_QP_ACCESS_ERR);
		return;
	}
	/* A region registered at an iova of another alignment than its pages
	 * would need a split-lock atomic; refuse it like a misaligned address. */
	if ((uintptr_t)remote.seg[0].p % sizeof(uint64_t)) {
		sw_responder_violation(op, peer, IBV_WC_REM_INV_REQ_ERR, IBV_EVENT_QP_REQ_ERR);
		return;
	}
	old = atomic_execute(w->opcode, (uint64_t *)remote.seg[0].p, w->compare_add, w->swap);
	apird_qp_count_received(peer, sizeof(old));
	sw_sgl_single(&result, &old, sizeof(old));
	sw_copy(&op->local, &result, sizeof(old));
}
