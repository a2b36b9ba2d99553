/* SPDX-License-Identifier: MIT */
/*
 * UD sends: the destination is an address handle (this apird's GID, or no
 * GRH at all) plus a QPN and Q_Key. Like a real unreliable datagram, a
 * message that cannot be delivered (foreign GID, unknown QP, wrong Q_Key,
 * no receive posted) is dropped and the sender's WQE still succeeds.
 * Every delivered message is preceded by a 40-byte GRH in the receive
 * buffer (IBV_WC_GRH), as on RoCE.
 */
#include <arpa/inet.h>
#include <string.h>

#include "sw.h"

#define UD_QKEY_USE_QP 0x80000000u  /* high bit: send with the QP's own Q_Key */
#define UD_NEXT_HDR_UDP 17u          /* RoCE v2 carries BTH in UDP */
#define UD_HDR_BYTES (8u + 12u + 8u + 4u)  /* UDP + BTH + DETH + ICRC */

_Static_assert(sizeof(struct ibv_grh) == APIR_UD_GRH_BYTES, "GRH is 40 bytes");

static bool ah_is_local(const struct apird *d, const struct ibv_ah_attr *a)
{
	return !a->is_global || memcmp(&a->grh.dgid, apird_local_gid(d), sizeof(a->grh.dgid)) == 0;
}

static struct apird_qp *ud_destination(struct sw_op *op, const struct apird_ah *ah)
{
	const struct apir_send_wqe *w = op->w;
	struct apird_qp *dst;
	uint32_t qkey;

	if (!ah_is_local(op->d, &ah->attr))
		return NULL;
	dst = apird_qp_lookup(op->d, w->remote_qpn);
	if (!dst || dst->qp_type != IBV_QPT_UD || !sw_qp_receives(dst))
		return NULL;
	qkey = (w->remote_qkey & UD_QKEY_USE_QP) ? op->qp->attr.qkey : w->remote_qkey;
	return qkey == dst->attr.qkey ? dst : NULL;
}

static void grh_build(struct ibv_grh *g, const struct apird *d, const struct ibv_ah_attr *a,
		      uint32_t len)
{
	memset(g, 0, sizeof(*g));
	g->version_tclass_flow = htonl(6u << 28 | (uint32_t)a->grh.traffic_class << 20 |
				       (a->grh.flow_label & 0xfffffu));
	g->paylen = htons((uint16_t)(len + UD_HDR_BYTES));
	g->next_hdr = UD_NEXT_HDR_UDP;
	g->hop_limit = a->grh.hop_limit;
	g->sgid = *apird_local_gid(d);
	g->dgid = a->is_global ? a->grh.dgid : *apird_local_gid(d);
}

static void ud_deliver(struct sw_op *op, const struct apird_ah *ah, struct apird_qp *dst)
{
	const struct apir_send_wqe *w = op->w;
	struct apir_cqe tmpl = sw_cqe(0, IBV_WC_SUCCESS, IBV_WC_RECV, 0);
	struct sw_recv r;
	struct ibv_grh grh;
	struct sw_sgl msg;

	if (sw_recv_peek(op->d, dst, &r) != SW_RECV_READY)
		return;
	grh_build(&grh, op->d, &ah->attr, (uint32_t)op->local.len);
	sw_sgl_single(&msg, &grh, sizeof(grh));
	for (uint32_t i = 0; i < op->local.num; i++)
		msg.seg[msg.num++] = op->local.seg[i];
	msg.len += op->local.len;
	tmpl.src_qp = op->qp->qp_num;
	tmpl.sl = ah->attr.sl;
	tmpl.wc_flags = IBV_WC_GRH;
	if (w->opcode == IBV_WR_SEND_WITH_IMM) {
		tmpl.imm_data = w->imm_data;
		tmpl.wc_flags |= IBV_WC_WITH_IMM;
	}
	/* A receive error is the receiver's alone: the sender never learns. */
	sw_recv_deliver(op->d, &r, &msg, &tmpl, w->send_flags & IBV_SEND_SOLICITED);
}

void sw_ud_send(struct sw_op *op)
{
	const struct apird_ah *ah = apird_ah_lookup(op->qp->session, op->w->ah_handle);
	struct apird_qp *dst;

	if (!ah || ah->pd != op->qp->pd) {
		op->status = IBV_WC_LOC_QP_OP_ERR;
		return;
	}
	if (op->local.len > SW_UD_MTU) {
		op->status = IBV_WC_LOC_LEN_ERR;
		return;
	}
	dst = ud_destination(op, ah);
	if (dst)
		ud_deliver(op, ah, dst);
}
