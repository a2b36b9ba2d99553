/* SPDX-License-Identifier: MIT */
/*
 * UD across apirds: one datagram per send (at most the 4096-byte MTU), no
 * answer. The receiver checks the destination QP and Q_Key and places the
 * payload behind a GRH naming the sender apird's GID (engine_sw's
 * sw_ud_deliver); what it cannot place is dropped, as on a real UD fabric.
 */
#include "apir/log.h"
#include "fabric.h"

static void ud_fill(struct apird_fabric *f, const struct sw_op *op, const struct apird_ah *ah,
		    struct fab_tx *tx)
{
	const struct apir_send_wqe *w = op->w;
	struct apir_fab_ud *u = (struct apir_fab_ud *)tx->buf;
	struct sw_sgl payload;
	uint32_t len = (uint32_t)op->local.len;

	memset(u, 0, sizeof(*u));
	u->qkey = sw_ud_qkey(w->remote_qkey, op->qp->attr.qkey);
	u->imm_data = w->imm_data;
	u->flags = (w->opcode == IBV_WR_SEND_WITH_IMM ? APIR_FAB_UD_WITH_IMM : 0) |
		   (w->send_flags & IBV_SEND_SOLICITED ? APIR_FAB_UD_SOLICITED : 0);
	u->length = len;
	u->flow_label = ah->attr.grh.flow_label & 0xfffffu;
	u->sl = ah->attr.sl & 15;
	u->traffic_class = ah->attr.grh.traffic_class;
	u->hop_limit = ah->attr.grh.hop_limit;
	sw_sgl_single(&payload, tx->buf + sizeof(*u), len);
	sw_copy(&payload, &op->local, len);
	fab_hdr_init(&u->hdr, APIR_FAB_UD, (uint32_t)(sizeof(*u) + len), &f->gid, op->qp->qp_num,
		     w->remote_qpn & 0xffffffu, 0);
}

/* The WQE succeeds whatever happens to the datagram (sw_ud_send checked
 * the address handle and the MTU). */
void apird_fabric_ud_send(struct sw_op *op, const struct apird_ah *ah)
{
	struct apird_fabric *f = fab_of(op->d);
	struct fab_peer *p;
	struct fab_tx *tx;
	int err;

	p = fab_peer_get(f, &ah->attr.grh.dgid, &err);
	if (!p)
		return;
	tx = fab_tx_get(f);
	if (!tx) {
		apir_dbg("fabric: no message buffer: UD datagram to %s dropped", p->addr);
		return;
	}
	ud_fill(f, op, ah, tx);
	fab_tx_send(f, tx, p, sizeof(struct apir_fab_ud) + op->local.len);
}

void fab_ud_arrived(struct apird_fabric *f, const struct fab_msg *m)
{
	struct apird_qp *dst = apird_qp_lookup(f->d, m->hdr->dst_qpn);
	const struct apir_fab_ud *u = m->ud;
	union ibv_gid sgid;
	struct sw_sgl payload;
	struct sw_ud_msg msg = {
		.sgid = &sgid,
		.dgid = &f->gid,
		.traffic_class = u->traffic_class,
		.flow_label = u->flow_label,
		.hop_limit = u->hop_limit,
		.sl = u->sl,
		.src_qp = m->hdr->src_qpn,
		.with_imm = u->flags & APIR_FAB_UD_WITH_IMM,
		.imm_data = u->imm_data,
		.solicited = u->flags & APIR_FAB_UD_SOLICITED,
		.payload = &payload,
	};

	if (!dst || dst->qp_type != IBV_QPT_UD || !sw_qp_receives(dst) || u->qkey != dst->attr.qkey)
		return;
	memcpy(sgid.raw, m->hdr->src_gid, sizeof(sgid.raw));
	sw_sgl_single(&payload, (void *)m->payload, m->payload_len);
	sw_ud_deliver(f->d, dst, &msg);
}
