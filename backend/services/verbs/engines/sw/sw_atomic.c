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

enum ibv_wc_status sw_atomic_respond(struct verbs_dev *d, const struct apird_qp *responder,
				     const struct apir_send_wqe *w, uint64_t *old,
				     enum ibv_event_type *event)
{
	struct sw_sgl remote;

	*event = IBV_EVENT_QP_REQ_ERR;
	if (w->remote_addr % sizeof(uint64_t))
		return IBV_WC_REM_INV_REQ_ERR;
	if (sw_remote_resolve(d, responder, w->rkey, w->remote_addr, sizeof(uint64_t),
			      IBV_ACCESS_REMOTE_ATOMIC, &remote) != IBV_WC_SUCCESS) {
		*event = IBV_EVENT_QP_ACCESS_ERR;
		return IBV_WC_REM_ACCESS_ERR;
	}
	/* A region registered at an iova of another alignment than its pages
	 * would need a split-lock atomic; refuse it like a misaligned address. */
	if ((uintptr_t)remote.seg[0].p % sizeof(uint64_t))
		return IBV_WC_REM_INV_REQ_ERR;
	*old = atomic_execute(w->opcode, (uint64_t *)remote.seg[0].p, w->compare_add, w->swap);
	return IBV_WC_SUCCESS;
}

/* sw_op_prepare checked that the local buffer holds the 8-byte result. */
void sw_atomic(struct sw_op *op)
{
	struct apird_qp *peer = sw_connected_peer(op);
	enum ibv_event_type event;
	enum ibv_wc_status st;
	struct sw_sgl result;
	uint64_t old;

	if (!peer)
		return;
	st = sw_atomic_respond(op->d, peer, op->w, &old, &event);
	if (st != IBV_WC_SUCCESS) {
		sw_responder_violation(op, peer, st, event);
		return;
	}
	apird_qp_count_received(peer, sizeof(old));
	sw_sgl_single(&result, &old, sizeof(old));
	sw_copy(&op->local, &result, sizeof(old));
}
