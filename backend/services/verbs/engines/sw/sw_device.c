/* SPDX-License-Identifier: MIT */
/*
 * The sw engine as the verbs service sees it (engine.h): apird itself
 * executes every QP, sweeping rings from its loop; a QP whose peer is in
 * another apird goes through the device's remote link (link.h), if it has
 * one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "sw.h"

static unsigned int sw_poller_poll(void *arg)
{
	return sw_engine_poll(arg);
}

static bool sw_poller_may_sleep(void *arg)
{
	return !sw_engine_has_work(arg);
}

static uint64_t sw_poller_next_deadline(void *arg)
{
	return sw_engine_next_deadline(arg);
}

static const struct apird_poller_ops sw_poller = {
	.name = "sw",
	.poll = sw_poller_poll,
	.may_sleep = sw_poller_may_sleep,
	.next_deadline = sw_poller_next_deadline,
};

static int sw_start(struct verbs_dev *d, const struct apird_config *cfg)
{
	int rc = apird_poller_add(d->apird, &sw_poller, d);

	if (!rc && d->remote_link)
		rc = d->remote_link->start(d, cfg);
	if (rc)
		apird_poller_del(d->apird, d);
	return rc;
}

static void sw_stop(struct verbs_dev *d)
{
	if (d->remote_link)
		d->remote_link->stop(d);
	apird_poller_del(d->apird, d);
}

static bool sw_gid_reachable(const struct verbs_dev *d, const union ibv_gid *gid)
{
	if (memcmp(gid, &d->gid, sizeof(*gid)) == 0)
		return true;
	return d->remote_link && d->remote_link->gid_reachable(d, gid);
}

static int sw_reg_mr(struct verbs_dev *d, struct apird_mr *mr)
{
	return d->remote_link ? d->remote_link->mr_register(d, mr) : 0;
}

static void sw_dereg_mr(struct verbs_dev *d, struct apird_mr *mr)
{
	if (d->remote_link)
		d->remote_link->mr_unregister(d, mr);
}

/* An RC/UC address vector naming another apird hands the QP's traffic to
 * the remote link; one naming this apird takes it back. */
static int sw_modify_qp(struct verbs_dev *d, struct apird_qp *qp, const struct ibv_qp_attr *attr,
			uint32_t mask, char *err, size_t err_len)
{
	uint32_t dest = (mask & IBV_QP_DEST_QPN) ? attr->dest_qp_num : qp->attr.dest_qp_num;

	if (!(mask & IBV_QP_AV) || qp->qp_type == IBV_QPT_UD)
		return 0;
	if (apird_av_is_local(d, &attr->ah_attr)) {
		if (qp->link)
			qp->link->qp_disconnect(d, qp);
		return 0;
	}
	if (!d->remote_link) {
		snprintf(err, err_len, "the destination is another apird's and this one has no "
			 "fabric (apird --fabric-addr)");
		return -EHOSTUNREACH;
	}
	return d->remote_link->qp_connect(d, qp, &attr->ah_attr, dest, err, err_len);
}

static void sw_destroy_qp(struct verbs_dev *d, struct apird_qp *qp)
{
	sw_qp_detach(d, qp);
	if (qp->link)
		qp->link->qp_disconnect(d, qp);
}

const struct verbs_engine_ops apird_sw_engine = {
	.name = "sw",
	.start = sw_start,
	.stop = sw_stop,
	.gid_reachable = sw_gid_reachable,
	.reg_mr = sw_reg_mr,
	.dereg_mr = sw_dereg_mr,
	.modify_qp = sw_modify_qp,
	.set_qp_state = sw_qp_set_state,
	.destroy_qp = sw_destroy_qp,
};
