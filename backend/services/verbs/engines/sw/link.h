/* SPDX-License-Identifier: MIT */
/*
 * How a QP's requests reach a peer that is not in this apird: a link of
 * the sw engine (Linux rxe's loopback-or-send split). A QP whose peer is
 * local needs none: the sw engine copies bytes itself. The fabric engine
 * (engines/fabric) is such a link; the sw engine never names it, it only
 * calls through this table. The verbs service picks the link a device
 * gets (service.c).
 */
#ifndef APIRD_SW_LINK_H
#define APIRD_SW_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "verbs.h"

struct sw_op;

struct sw_link_ops {
	const char *name;
	/* The device's side: open the link (registers its poller with
	 * d->apird) into d->remote_link_priv, close it. */
	int (*start)(struct verbs_dev *d, const struct apird_config *cfg);
	void (*stop)(struct verbs_dev *d);
	/* Whether gid names an apird the link can reach. */
	bool (*gid_reachable)(const struct verbs_dev *d, const union ibv_gid *gid);
	/* Makes a region reachable by peers / revokes it (may take over
	 * mr->map while its own operations still use the pages). */
	int (*mr_register)(struct verbs_dev *d, struct apird_mr *mr);
	void (*mr_unregister)(struct verbs_dev *d, struct apird_mr *mr);
	/* Connects an RC/UC QP to dest_qpn at the apird av names (sets
	 * qp->remote, qp->link, qp->link_priv) / forgets its peer. */
	int (*qp_connect)(struct verbs_dev *d, struct apird_qp *qp, const struct ibv_ah_attr *av,
			  uint32_t dest_qpn, char *err, size_t err_len);
	void (*qp_disconnect)(struct verbs_dev *d, struct apird_qp *qp);
	/* A connected QP's send queue (RTS, SQD): issues requests, completes
	 * acknowledged ones. Returns the number of WQEs issued or completed. */
	unsigned int (*sq_run)(struct verbs_dev *d, struct apird_qp *qp);
	bool (*sq_has_work)(const struct verbs_dev *d, const struct apird_qp *qp);
	/* Whether requests of qp are in flight (SQD is drained without). */
	bool (*in_flight)(const struct apird_qp *qp);
	/* After qp->state changed (leaving RTS/SQD forgets requests in flight). */
	void (*state_changed)(struct verbs_dev *d, struct apird_qp *qp, enum ibv_qp_state old);
	/* A UD send whose address handle names another apird. */
	void (*ud_send)(struct sw_op *op, const struct apird_ah *ah);
};

#endif /* APIRD_SW_LINK_H */
