/* SPDX-License-Identifier: MIT */
/*
 * UD sends: the destination is an address handle (this apird's GID, or no
 * GRH at all) plus a QPN and Q_Key; another apird's GID goes to the fabric
 * engine. Like a real unreliable datagram, a message that cannot be
 * delivered (unreachable GID, unknown QP, wrong Q_Key, no receive posted)
 * is dropped and the sender's WQE still succeeds.
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

uint32_t sw_ud_qkey(uint32_t wqe_qkey, uint32_t own_qkey)
{
	return (wqe_qkey & UD_QKEY_USE_QP) ? own_qkey : wqe_qkey;
}

static struct apird_qp *ud_destination(struct sw_op *op)
{
	const struct apir_send_wqe *w = op->w;
	struct apird_qp *dst = apird_qp_lookup(op->d, w->remote_qpn);

	if (!dst || dst->qp_type != IBV_QPT_UD || !sw_qp_receives(dst))
		return NULL;
	return sw_ud_qkey(w->remote_qkey, op->qp->attr.qkey) == dst->attr.qkey ? dst : NULL;
}

static void grh_build(struct ibv_grh *g, const struct sw_ud_msg *m, uint32_t len)
{
	memset(g, 0, sizeof(*g));
	g->version_tclass_flow = htonl(6u << 28 | (uint32_t)m->traffic_class << 20 |
				       (m->flow_label & 0xfffffu));
	g->paylen = htons((uint16_t)(len + UD_HDR_BYTES));
	g->next_hdr = UD_NEXT_HDR_UDP;
	g->hop_limit = m->hop_limit;
	g->sgid = *m->sgid;
	g->dgid = *m->dgid;
}

void sw_ud_deliver(struct verbs_dev *d, struct apird_qp *dst, const struct sw_ud_msg *m)
{
	struct apir_cqe tmpl = sw_cqe(0, IBV_WC_SUCCESS, IBV_WC_RECV, 0);
	struct sw_recv r;
	struct ibv_grh grh;
	struct sw_sgl msg;

	if (sw_recv_peek(d, dst, &r) != SW_RECV_READY)
		return;
	grh_build(&grh, m, (uint32_t)m->payload->len);
	sw_sgl_single(&msg, &grh, sizeof(grh));
	for (uint32_t i = 0; i < m->payload->num; i++)
		msg.seg[msg.num++] = m->payload->seg[i];
	msg.len += m->payload->len;
	tmpl.src_qp = m->src_qp;
	tmpl.sl = m->sl;
	tmpl.wc_flags = IBV_WC_GRH;
	if (m->with_imm) {
		tmpl.imm_data = m->imm_data;
		tmpl.wc_flags |= IBV_WC_WITH_IMM;
	}
	/* A receive error is the receiver's alone: the sender never learns. */
	sw_recv_deliver(d, &r, &msg, &tmpl, m->solicited);
}

static void ud_deliver_local(struct sw_op *op, const struct apird_ah *ah, struct apird_qp *dst)
{
	const struct apir_send_wqe *w = op->w;
	const union ibv_gid *own = apird_local_gid(op->d);
	struct sw_ud_msg m = {
		.sgid = own,
		.dgid = ah->attr.is_global ? &ah->attr.grh.dgid : own,
		.traffic_class = ah->attr.grh.traffic_class,
		.flow_label = ah->attr.grh.flow_label,
		.hop_limit = ah->attr.grh.hop_limit,
		.sl = ah->attr.sl,
		.src_qp = op->qp->qp_num,
		.with_imm = w->opcode == IBV_WR_SEND_WITH_IMM,
		.imm_data = w->imm_data,
		.solicited = w->send_flags & IBV_SEND_SOLICITED,
		.payload = &op->local,
	};

	sw_ud_deliver(op->d, dst, &m);
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
	if (!apird_av_is_local(op->d, &ah->attr)) {
		/* Another apird's GID: only the remote link reaches it. */
		if (op->d->remote_link)
			op->d->remote_link->ud_send(op, ah);
		return;
	}
	dst = ud_destination(op);
	if (dst)
		ud_deliver_local(op, ah, dst);
}
