/* SPDX-License-Identifier: MIT */
/*
 * RDMA WRITE (with immediate) and RDMA READ between a requester's buffers
 * and the peer's registered memory. Every check happens before a byte moves.
 *
 * max_rd_atomic / max_dest_rd_atomic: a READ or atomic executes to its end
 * before the next WQE is looked at, so at most one is ever outstanding per
 * QP, which meets any limit. A value of 0 is treated as 1, as mlx5 does.
 */
#include "sw.h"

void sw_rdma_write(struct sw_op *op)
{
	const struct apir_send_wqe *w = op->w;
	bool with_imm = w->opcode == IBV_WR_RDMA_WRITE_WITH_IMM;
	struct apird_qp *peer = sw_connected_peer(op);
	struct sw_sgl remote;
	struct sw_recv r;
	struct apir_cqe c;

	if (!peer)
		return;
	if (sw_remote_resolve(op->d, peer, w->rkey, w->remote_addr, op->local.len,
			      IBV_ACCESS_REMOTE_WRITE, &remote) != IBV_WC_SUCCESS) {
		sw_responder_violation(op, peer, IBV_WC_REM_ACCESS_ERR, IBV_EVENT_QP_ACCESS_ERR);
		return;
	}
	/* The immediate needs a receive WQE: without one, nothing is written. */
	if (with_imm && !sw_take_receive(op, peer, &r))
		return;
	sw_copy(&remote, &op->local, op->local.len);
	apird_qp_count_received(peer, op->local.len);
	if (!with_imm)
		return;
	c = sw_cqe(0, IBV_WC_SUCCESS, IBV_WC_RECV_RDMA_WITH_IMM, 0);
	c.byte_len = (uint32_t)op->local.len;
	c.imm_data = w->imm_data;
	c.wc_flags = IBV_WC_WITH_IMM;
	c.src_qp = op->qp->qp_num;
	sw_recv_complete(op->d, &r, &c, w->send_flags & IBV_SEND_SOLICITED);
}

void sw_rdma_read(struct sw_op *op)
{
	const struct apir_send_wqe *w = op->w;
	struct apird_qp *peer = sw_connected_peer(op);
	struct sw_sgl remote;

	if (!peer)
		return;
	if (sw_remote_resolve(op->d, peer, w->rkey, w->remote_addr, op->local.len,
			      IBV_ACCESS_REMOTE_READ, &remote) != IBV_WC_SUCCESS) {
		sw_responder_violation(op, peer, IBV_WC_REM_ACCESS_ERR, IBV_EVENT_QP_ACCESS_ERR);
		return;
	}
	sw_copy(&op->local, &remote, op->local.len);
	apird_qp_count_received(peer, op->local.len);
}
