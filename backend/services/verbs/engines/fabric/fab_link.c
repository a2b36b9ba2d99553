/* SPDX-License-Identifier: MIT */
/*
 * The fabric engine as what it is to the sw engine: its remote link. The
 * sw engine executes every QP; for a QP whose peer is another apird it
 * calls these instead of copying bytes itself, and the fabric's poller
 * runs in apird's loop next to the sw engine's.
 */
#include "fabric.h"

static unsigned int fab_poller_poll(void *arg)
{
	return apird_fabric_poll(((struct apird_fabric *)arg)->d);
}

static bool fab_poller_may_sleep(void *arg)
{
	return apird_fabric_can_sleep(((struct apird_fabric *)arg)->d);
}

static uint64_t fab_poller_next_deadline(void *arg)
{
	return apird_fabric_next_deadline(((struct apird_fabric *)arg)->d);
}

static int fab_poller_wait_fd(void *arg)
{
	return apird_fabric_wait_fd(((struct apird_fabric *)arg)->d);
}

static const struct apird_poller_ops fab_poller = {
	.name = "fabric",
	.poll = fab_poller_poll,
	.may_sleep = fab_poller_may_sleep,
	.next_deadline = fab_poller_next_deadline,
	.wait_fd = fab_poller_wait_fd,
};

static int fab_link_start(struct verbs_dev *d, const struct apird_config *cfg)
{
	int rc = apird_fabric_start(d, cfg);

	if (rc)
		return rc;
	rc = apird_poller_add(d->apird, &fab_poller, fab_of(d));
	if (rc)
		apird_fabric_stop(d);
	return rc;
}

static void fab_link_stop(struct verbs_dev *d)
{
	if (fab_of(d))
		apird_poller_del(d->apird, fab_of(d));
	apird_fabric_stop(d);
}

const struct sw_link_ops apird_fabric_link = {
	.name = "fabric",
	.start = fab_link_start,
	.stop = fab_link_stop,
	.gid_reachable = apird_fabric_gid_reachable,
	.mr_register = apird_fabric_mr_register,
	.mr_unregister = apird_fabric_mr_unregister,
	.qp_connect = apird_fabric_qp_connect,
	.qp_disconnect = apird_fabric_qp_disconnect,
	.sq_run = apird_fabric_sq_run,
	.sq_has_work = apird_fabric_sq_has_work,
	.in_flight = apird_fabric_in_flight,
	.state_changed = apird_fabric_qp_state_changed,
	.ud_send = apird_fabric_ud_send,
};
