/* SPDX-License-Identifier: MIT */
/*
 * Requester side: validates a send WQE (opcode for the QP type, its local
 * buffers), then hands it to the opcode's executor. Also what every RC/UC
 * executor shares: finding the connected peer and rejecting a request.
 */
#include "sw.h"

static bool opcode_allowed(enum ibv_qp_type type, uint32_t opcode)
{
	switch (opcode) {
	case IBV_WR_SEND:
	case IBV_WR_SEND_WITH_IMM:
		return type == IBV_QPT_RC || type == IBV_QPT_UC || type == IBV_QPT_UD;
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		return type == IBV_QPT_RC || type == IBV_QPT_UC;
	case IBV_WR_RDMA_READ:
	case IBV_WR_ATOMIC_CMP_AND_SWP:
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		return type == IBV_QPT_RC;
	default:
		/* SEND_WITH_INV, LOCAL_INV, BIND_MW, TSO, ...: not supported. */
		return false;
	}
}

static bool opcode_is_atomic(uint32_t opcode)
{
	return opcode == IBV_WR_ATOMIC_CMP_AND_SWP || opcode == IBV_WR_ATOMIC_FETCH_AND_ADD;
}

/* READ and atomics write into the requester's buffers. */
static bool opcode_writes_local(uint32_t opcode)
{
	return opcode == IBV_WR_RDMA_READ || opcode_is_atomic(opcode);
}

static enum ibv_wc_status local_buffers(struct sw_op *op)
{
	struct apird_qp *qp = op->qp;
	struct apir_send_wqe *w = op->w;

	if (sw_wqe_inline(w)) {
		if (w->inline_len > APIR_MAX_INLINE || w->inline_len > qp->cap.max_inline_data)
			return IBV_WC_LOC_LEN_ERR;
		sw_sgl_single(&op->local, w->inline_data, w->inline_len);
		return IBV_WC_SUCCESS;
	}
	if (w->num_sge > APIR_MAX_SGE || w->num_sge > qp->cap.max_send_sge)
		return IBV_WC_LOC_QP_OP_ERR;
	return sw_sgl_resolve(op->d, qp->session, qp->pd, w->sge, w->num_sge,
			      opcode_writes_local(w->opcode), APIRD_MAX_MSG_SZ, &op->local);
}

bool sw_op_prepare(struct sw_op *op)
{
	op->status = IBV_WC_SUCCESS;
	op->rnr = false;
	op->responder = NULL;
	op->byte_len = 0;
	if (!opcode_allowed(op->qp->qp_type, op->w->opcode)) {
		op->status = IBV_WC_LOC_QP_OP_ERR;
		return false;
	}
	op->status = local_buffers(op);
	if (op->status != IBV_WC_SUCCESS)
		return false;
	if (opcode_is_atomic(op->w->opcode) && op->local.len != sizeof(uint64_t)) {
		op->status = IBV_WC_LOC_LEN_ERR;
		return false;
	}
	op->byte_len = (uint32_t)op->local.len;
	return true;
}

void sw_execute(struct sw_op *op)
{
	if (!sw_op_prepare(op))
		return;
	if (op->qp->qp_type == IBV_QPT_UD) {
		sw_ud_send(op);
		return;
	}
	switch (op->w->opcode) {
	case IBV_WR_SEND:
	case IBV_WR_SEND_WITH_IMM:
		sw_send_message(op);
		break;
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		sw_rdma_write(op);
		break;
	case IBV_WR_RDMA_READ:
		sw_rdma_read(op);
		break;
	default:
		sw_atomic(op);
		break;
	}
}

/*
 * The peer of an RC/UC QP: the QP named by dest_qp_num, of the same type,
 * able to receive, and connected back to this QP (so a guest cannot aim a
 * QP at someone else's QP). Missing, an RC requester times out as a real
 * transport would (RETRY_EXC_ERR); a UC message is silently lost.
 */
struct apird_qp *sw_connected_peer(struct sw_op *op)
{
	struct apird_qp *peer = apird_qp_lookup(op->d, op->qp->attr.dest_qp_num);

	if (peer && peer->qp_type == op->qp->qp_type && sw_qp_receives(peer) &&
	    peer->attr.dest_qp_num == op->qp->qp_num)
		return peer;
	if (op->qp->qp_type == IBV_QPT_RC)
		op->no_peer = true;
	return NULL;
}

/* RC: the responder NAKs and goes to ERR with an async event. UC has no
 * NAK: the responder silently drops the message and the requester's WQE
 * succeeds. */
void sw_responder_violation(struct sw_op *op, struct apird_qp *peer,
			    enum ibv_wc_status status, enum ibv_event_type event)
{
	if (op->qp->qp_type != IBV_QPT_RC)
		return;
	sw_responder_failed(op->d, peer, event);
	op->status = status;
}

enum ibv_wc_status sw_remote_status(enum ibv_wc_status responder_status)
{
	return responder_status == IBV_WC_LOC_LEN_ERR ? IBV_WC_REM_INV_REQ_ERR : IBV_WC_REM_OP_ERR;
}

/* Finds the peer's next receive WQE (consumed only once the message is
 * placed). Without one, RC stalls on RNR and UC drops the message. Returns
 * true with r filled when one is ready. */
bool sw_take_receive(struct sw_op *op, struct apird_qp *peer, struct sw_recv *r)
{
	switch (sw_recv_peek(op->d, peer, r)) {
	case SW_RECV_READY:
		return true;
	case SW_RECV_EMPTY:
		if (op->qp->qp_type == IBV_QPT_RC) {
			op->rnr = true;
			op->responder = peer;
		}
		return false;
	case SW_RECV_BROKEN:
		if (op->qp->qp_type == IBV_QPT_RC)
			op->status = IBV_WC_REM_OP_ERR;
		return false;
	}
	return false;
}

void sw_send_message(struct sw_op *op)
{
	const struct apir_send_wqe *w = op->w;
	struct apird_qp *peer = sw_connected_peer(op);
	struct apir_cqe tmpl = sw_cqe(0, IBV_WC_SUCCESS, IBV_WC_RECV, 0);
	struct sw_recv r;
	enum ibv_wc_status st;

	if (!peer || !sw_take_receive(op, peer, &r))
		return;
	tmpl.src_qp = op->qp->qp_num;
	if (w->opcode == IBV_WR_SEND_WITH_IMM) {
		tmpl.imm_data = w->imm_data;
		tmpl.wc_flags = IBV_WC_WITH_IMM;
	}
	st = sw_recv_deliver(op->d, &r, &op->local, &tmpl, w->send_flags & IBV_SEND_SOLICITED);
	if (st != IBV_WC_SUCCESS && op->qp->qp_type == IBV_QPT_RC)
		op->status = sw_remote_status(st);
}
