/* SPDX-License-Identifier: MIT */
/*
 * Two apirds with the fabric on, in this process: A (fx.d, guests 0 and 1)
 * at 127.0.0.1 and B (fab_b, guest 2) at 127.0.0.2, both on the loopback
 * device with ports derived from the pid (each names the other's port in a
 * "peer" line), talking tcp;ofi_rxm for real. Objects come from the sw
 * fixture; fab_pump() runs both daemons' engines as their loops would.
 */
#ifndef TEST_FABRIC_FIXTURE_H
#define TEST_FABRIC_FIXTURE_H

#include <stdio.h>
#include <time.h>

#include "test_sw_fixture.h"
#include "unit.h"

#define FAB_GUEST_B 2
#define FAB_PUMP_TIMEOUT_NS (5ull * 1000000000ull * apir_unit_time_factor())

static struct apird fab_b;
static struct verbs_dev *fab_vb;   /* fab_b's verbs device */

static inline uint16_t fab_test_port(int which)
{
	return (uint16_t)(20000 + (getpid() % 10000) * 2 + which);
}

/* Settings of apird number which (0: A, 1: B). */
static inline void fab_test_config(struct apird_config *cfg, int which)
{
	char err[128], v[32];

	apird_config_defaults(cfg);
	cfg->log_level = APIR_LOG_ERROR;
	snprintf(v, sizeof(v), "127.0.0.%d:%u", which + 1, fab_test_port(which));
	CU_ASSERT_FATAL(apird_config_set(cfg, "fabric_addr", v, err, sizeof(err)) == 0);
	snprintf(v, sizeof(v), "127.0.0.%d:%u", 2 - which, fab_test_port(1 - which));
	CU_ASSERT_FATAL(apird_config_set(cfg, "peer", v, err, sizeof(err)) == 0);
}

static inline void fab_setup(void)
{
	struct apird_config cfg;

	fab_test_config(&cfg, 0);
	fx_setup_with(&cfg);
	fab_test_config(&cfg, 1);
	memset(&fab_b, 0, sizeof(fab_b));
	CU_ASSERT_FATAL(test_daemon_init(&fab_b, &cfg) == 0);
	fab_vb = test_verbs_dev(&fab_b);
	CU_ASSERT_FATAL(fx_session(&fab_b) == FAB_GUEST_B);
}

static inline void fab_teardown(void)
{
	fx_teardown();
	apird_daemon_fini(&fab_b);
}

/* One turn of both apirds' loops. Returns the work done. */
static inline unsigned int fab_pump_once(void)
{
	return sw_engine_poll(fx.v) + apird_fabric_poll(fx.v) + sw_engine_poll(fab_vb) +
	       apird_fabric_poll(fab_vb);
}

/* Runs both loops until done(arg) or the timeout; returns done(arg). */
static inline bool fab_pump_until(bool (*done)(void *), void *arg, uint64_t timeout_ns)
{
	uint64_t end = apird_now_ns() + timeout_ns;

	while (!done(arg) && apird_now_ns() < end)
		fab_pump_once();
	return done(arg);
}

/* Runs both loops for ns nanoseconds. */
static inline void fab_pump_for(uint64_t ns)
{
	uint64_t end = apird_now_ns() + ns;

	while (apird_now_ns() < end)
		fab_pump_once();
}

static inline bool fab_cq_nonempty(void *arg)
{
	struct apird_cq *cq = arg;

	return atomic_load(&cq->ctrl->ring.prod.value) != atomic_load(&cq->ctrl->ring.cons.value);
}

/* Polls one completion, running the loops until it comes. */
static inline struct apir_cqe fab_poll1(struct apird_cq *cq)
{
	CU_ASSERT(fab_pump_until(fab_cq_nonempty, cq, FAB_PUMP_TIMEOUT_NS));
	return fx_poll1(cq);
}

/* What modify_qp(RTR) does for qp on one apird, towards peer on the
 * other: an address vector naming the peer's GID, PSNs (qp sends from
 * psn, peer expects it), timeouts. */
static inline void fab_connect_side(struct apird_qp *qp, struct apird_qp *peer, uint32_t psn)
{
	struct ibv_ah_attr *av = &qp->attr.ah_attr;
	char err[160];

	memset(av, 0, sizeof(*av));
	av->is_global = 1;
	av->port_num = 1;
	av->grh.dgid = *apird_local_gid(verbs_dev_of(peer->session));
	qp->attr.dest_qp_num = peer->qp_num;
	qp->attr.sq_psn = psn;
	peer->attr.rq_psn = psn;
	qp->attr.timeout = 14;
	qp->attr.retry_cnt = 7;
	CU_ASSERT_FATAL(apird_fabric_qp_connect(verbs_dev_of(qp->session), qp, av, peer->qp_num, err,
						sizeof(err)) == 0);
}

/* Connects a (on one apird) and b (on the other) and brings both to RTS. */
static inline void fab_connect(struct apird_qp *a, struct apird_qp *b)
{
	fab_connect_side(a, b, 0x100);
	fab_connect_side(b, a, 0x200);
	fx_to_rts(a);
	fx_to_rts(b);
}

#endif /* TEST_FABRIC_FIXTURE_H */
