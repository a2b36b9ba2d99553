/* SPDX-License-Identifier: MIT */
/*
 * A QP's life as the fabric engine sees it: connected to a peer at RTR
 * (qp->remote), sequence numbers starting at the PSNs the application
 * exchanged (rq_psn for what it receives, sq_psn for what it sends), work
 * in flight abandoned when the QP leaves the working states, and the
 * engine's state kept past the QP's destruction while RMA still uses it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apir/log.h"
#include "fabric.h"

static struct fab_qp *fq_new(struct apird_fabric *f, struct apird_qp *qp)
{
	struct fab_qp *fq = calloc(1, sizeof(*fq));

	if (!fq)
		return NULL;
	fq->qp = qp;
	fq->next = f->qps;
	f->qps = fq;
	qp->link = &apird_fabric_link;
	qp->link_priv = fq;
	return fq;
}

static void fq_unlink(struct apird_fabric *f, struct fab_qp *fq)
{
	for (struct fab_qp **pp = &f->qps; *pp; pp = &(*pp)->next) {
		if (*pp == fq) {
			*pp = fq->next;
			return;
		}
	}
}

void fab_qp_maybe_free(struct apird_fabric *f, struct fab_qp *fq)
{
	if (fq->qp || fab_responder_busy(fq))
		return;
	fq_unlink(f, fq);
	free(fq);
}

int apird_fabric_qp_connect(struct verbs_dev *d, struct apird_qp *qp, const struct ibv_ah_attr *av,
			    uint32_t dest_qpn, char *err, size_t err_len)
{
	struct apird_fabric *f = fab_of(d);
	char gid[INET6_ADDRSTRLEN];
	struct fab_qp *fq;
	struct fab_peer *p;
	int e;

	inet_ntop(AF_INET6, av->grh.dgid.raw, gid, sizeof(gid));
	if (!f) {
		snprintf(err, err_len, "GID %s is another apird's and the fabric is off", gid);
		return -EHOSTUNREACH;
	}
	p = fab_peer_get(f, &av->grh.dgid, &e);
	if (!p) {
		snprintf(err, err_len, "cannot reach the apird of GID %s: %s", gid, strerror(e));
		return -e;
	}
	fq = qp->link_priv;
	if (fq) {
		fab_requester_abandon(f, fq);
		fab_responder_abandon(f, fq, false);
	} else {
		fq = fq_new(f, qp);
		if (!fq) {
			snprintf(err, err_len, "out of memory");
			return -ENOMEM;
		}
	}
	fq->peer = p;
	fab_peer_greet(f, p);
	qp->remote.active = true;
	qp->remote.gid = av->grh.dgid;
	qp->remote.qpn = dest_qpn;
	snprintf(qp->remote.addr, sizeof(qp->remote.addr), "%s", p->addr);
	apir_dbg("qp %u: connected to qp %u of %s", qp->qp_num, dest_qpn, p->addr);
	return 0;
}

void apird_fabric_qp_disconnect(struct verbs_dev *d, struct apird_qp *qp)
{
	struct apird_fabric *f = fab_of(d);
	struct fab_qp *fq = qp->link_priv;

	qp->remote.active = false;
	memset(&qp->remote.gid, 0, sizeof(qp->remote.gid));
	qp->remote.qpn = 0;
	qp->remote.addr[0] = '\0';
	qp->link = NULL;
	qp->link_priv = NULL;
	if (!f || !fq)
		return;
	fab_requester_abandon(f, fq);
	fab_responder_abandon(f, fq, false);
	fq->qp = NULL;
	fab_qp_maybe_free(f, fq);
}

void apird_fabric_qp_state_changed(struct verbs_dev *d, struct apird_qp *qp,
				   enum ibv_qp_state old_state)
{
	struct apird_fabric *f = fab_of(d);
	struct fab_qp *fq = qp->link_priv;

	if (!f || !fq)
		return;
	switch (qp->state) {
	case IBV_QPS_RTR:
		fq->expected_seq = qp->attr.rq_psn & FAB_SEQ_MASK;
		fq->rnr_nakked = false;
		break;
	case IBV_QPS_RTS:
		if (old_state == IBV_QPS_RTR)
			fq->next_seq = qp->attr.sq_psn & FAB_SEQ_MASK;
		break;
	case IBV_QPS_SQE:
		fab_requester_abandon(f, fq);
		break;
	case IBV_QPS_ERR:
		fab_requester_abandon(f, fq);
		fab_responder_abandon(f, fq, true);
		break;
	case IBV_QPS_RESET:
		apird_fabric_qp_disconnect(d, qp);
		break;
	default:
		break;
	}
}
