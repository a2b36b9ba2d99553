/* SPDX-License-Identifier: MIT */
/*
 * QPs across two apirds (test_fabric_fixture.h: two real endpoints over
 * the loopback device): data placement for every opcode, eager and bulk,
 * completions in order through a window overrun, SEND never overtaking the
 * WRITEs before it, RNR NAK with go-back-N and its retry limit, remote
 * protection errors, a vanished peer QP, a peer apird that is gone, a peer
 * that cannot be reached holding up no other, UD, and hostile messages
 * injected by a peer apird.
 */
#include "fabric.h"
#include "test_fabric_fixture.h"

#define BIG (1u << 20)

struct pair {
	struct apird_pd *pd_a, *pd_b;
	struct apird_cq *cq_a, *cq_b;
	struct apird_qp *a, *b;          /* a on apird A, b on apird B */
	struct apird_mr *src, *dst;      /* src on A, dst on B */
};

static void pair_make(struct pair *p, enum ibv_qp_type type, uint32_t dst_access)
{
	p->pd_a = fx_pd(0);
	p->pd_b = fx_pd(FAB_GUEST_B);
	p->cq_a = fx_cq(0, 256);
	p->cq_b = fx_cq(FAB_GUEST_B, 256);
	p->a = fx_qp(p->pd_a, type, p->cq_a, p->cq_a, NULL);
	p->b = fx_qp(p->pd_b, type, p->cq_b, p->cq_b, NULL);
	p->src = fx_mr(p->pd_a, 4 * BIG, FX_ALL_ACCESS, 0);
	p->dst = fx_mr(p->pd_b, 4 * BIG, dst_access, 0);
	for (uint32_t i = 0; i < 4 * BIG; i++)
		p->src->base[i] = (uint8_t)(i * 7 + 3);
	fab_connect(p->a, p->b);
}

static struct apir_send_wqe write_wqe(const struct pair *p, uint64_t id, uint64_t off, uint32_t len)
{
	struct apir_send_wqe w = fx_wqe(id, IBV_WR_RDMA_WRITE);

	fx_wqe_sge(&w, p->src, off, len);
	fx_wqe_remote(&w, p->dst, off);
	return w;
}

static void expect_ok(struct apird_cq *cq, uint64_t wr_id, enum ibv_wc_opcode opcode)
{
	struct apir_cqe c = fab_poll1(cq);

	CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(c.wr_id, wr_id);
	CU_ASSERT_EQUAL(c.opcode, opcode);
}

static void test_write_eager_and_bulk(void)
{
	struct pair p;
	struct apir_send_wqe w;

	fab_setup();
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	w = write_wqe(&p, 1, 10, 100);
	fx_post_send(p.a, &w);
	w = write_wqe(&p, 2, 4096, BIG);
	w.num_sge = 0;                                   /* three SGEs gathered */
	fx_wqe_sge(&w, p.src, 4096, 1000);
	fx_wqe_sge(&w, p.src, 4096 + 1000, BIG - 2000);
	fx_wqe_sge(&w, p.src, 4096 + BIG - 1000, 1000);
	fx_post_send(p.a, &w);
	expect_ok(p.cq_a, 1, IBV_WC_RDMA_WRITE);
	expect_ok(p.cq_a, 2, IBV_WC_RDMA_WRITE);
	CU_ASSERT_EQUAL(memcmp(p.dst->base + 10, p.src->base + 10, 100), 0);
	CU_ASSERT_EQUAL(p.dst->base[9], 0);
	CU_ASSERT_EQUAL(p.dst->base[110], 0);
	CU_ASSERT_EQUAL(memcmp(p.dst->base + 4096, p.src->base + 4096, BIG), 0);
	CU_ASSERT_EQUAL(p.dst->base[4096 + BIG], 0);
	CU_ASSERT_EQUAL(p.b->bytes_received, 100 + BIG);
	CU_ASSERT_EQUAL(p.a->bytes_sent, 100 + BIG);
	fab_teardown();
}

static void test_read_and_atomics(void)
{
	struct pair p;
	struct apir_send_wqe w;
	uint64_t *target;

	fab_setup();
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	for (uint32_t i = 0; i < BIG; i++)
		p.dst->base[i] = (uint8_t)(i ^ 0x5a);
	w = fx_wqe(1, IBV_WR_RDMA_READ);                 /* remote 0..BIG into two SGEs */
	fx_wqe_sge(&w, p.src, 3 * BIG, 5000);
	fx_wqe_sge(&w, p.src, 2 * BIG, BIG - 5000);
	fx_wqe_remote(&w, p.dst, 0);
	fx_post_send(p.a, &w);
	expect_ok(p.cq_a, 1, IBV_WC_RDMA_READ);
	CU_ASSERT_EQUAL(memcmp(p.src->base + 3 * BIG, p.dst->base, 5000), 0);
	CU_ASSERT_EQUAL(memcmp(p.src->base + 2 * BIG, p.dst->base + 5000, BIG - 5000), 0);

	target = (uint64_t *)(p.dst->base + 2 * BIG);
	*target = 40;
	w = fx_wqe(2, IBV_WR_ATOMIC_FETCH_AND_ADD);
	fx_wqe_sge(&w, p.src, 0, 8);
	fx_wqe_remote(&w, p.dst, 2 * BIG);
	w.compare_add = 2;
	fx_post_send(p.a, &w);
	w = fx_wqe(3, IBV_WR_ATOMIC_CMP_AND_SWP);
	fx_wqe_sge(&w, p.src, 8, 8);
	fx_wqe_remote(&w, p.dst, 2 * BIG);
	w.compare_add = 42;
	w.swap = 7;
	fx_post_send(p.a, &w);
	expect_ok(p.cq_a, 2, IBV_WC_FETCH_ADD);
	expect_ok(p.cq_a, 3, IBV_WC_COMP_SWAP);
	CU_ASSERT_EQUAL(*(uint64_t *)p.src->base, 40);
	CU_ASSERT_EQUAL(*(uint64_t *)(p.src->base + 8), 42);
	CU_ASSERT_EQUAL(*target, 7);
	fab_teardown();
}

/* More WRITEs than the window, then a SEND with immediate: the receive
 * completion comes only after every byte of every WRITE is in place, and
 * the requester's completions come in posting order. */
static void test_send_after_writes(void)
{
	struct apir_recv_wqe r;
	struct apir_send_wqe w;
	struct apir_cqe c;
	struct pair p;
	const uint32_t n = FAB_WINDOW + 8, len = 32768;

	fab_setup();
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	r = fx_recv_wqe(77, p.dst, 3 * BIG, 8192);
	fx_post_recv(p.b, &r);
	for (uint32_t i = 0; i < n; i++) {
		w = write_wqe(&p, i, (uint64_t)i * len, len);
		fx_post_send(p.a, &w);
	}
	w = fx_wqe(n, IBV_WR_SEND_WITH_IMM);
	fx_wqe_sge(&w, p.src, 3 * BIG + 100, 6000);      /* bulk: pulled by the responder */
	w.imm_data = htonl(0xabcd);
	fx_post_send(p.a, &w);
	c = fab_poll1(p.cq_b);
	CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(c.wr_id, 77);
	CU_ASSERT_EQUAL(c.opcode, IBV_WC_RECV);
	CU_ASSERT_EQUAL(c.byte_len, 6000);
	CU_ASSERT_EQUAL(c.src_qp, p.a->qp_num);
	CU_ASSERT_EQUAL(c.imm_data, htonl(0xabcd));
	CU_ASSERT(c.wc_flags & IBV_WC_WITH_IMM);
	CU_ASSERT_EQUAL(memcmp(p.dst->base, p.src->base, (size_t)n * len), 0);
	CU_ASSERT_EQUAL(memcmp(p.dst->base + 3 * BIG, p.src->base + 3 * BIG + 100, 6000), 0);
	for (uint32_t i = 0; i <= n; i++)
		expect_ok(p.cq_a, i, i < n ? IBV_WC_RDMA_WRITE : IBV_WC_SEND);
	fab_teardown();
}

static void test_write_with_imm(void)
{
	struct apir_recv_wqe r = { .wr_id = 5 };
	struct apir_send_wqe w;
	struct apir_cqe c;
	struct pair p;

	fab_setup();
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	fx_post_recv(p.b, &r);
	w = write_wqe(&p, 1, 0, 20000);
	w.opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
	w.imm_data = htonl(9);
	fx_post_send(p.a, &w);
	c = fab_poll1(p.cq_b);
	CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(c.opcode, IBV_WC_RECV_RDMA_WITH_IMM);
	CU_ASSERT_EQUAL(c.byte_len, 20000);
	CU_ASSERT_EQUAL(c.imm_data, htonl(9));
	CU_ASSERT_EQUAL(c.wr_id, 5);
	expect_ok(p.cq_a, 1, IBV_WC_RDMA_WRITE);
	CU_ASSERT_EQUAL(memcmp(p.dst->base, p.src->base, 20000), 0);
	fab_teardown();
}

static bool got_rnr_nak(void *qp)
{
	return ((struct apird_qp *)qp)->remote.rnr_naks > 0;
}

static bool responder_holds_receive(void *qp)
{
	const struct fab_qp *fq = ((struct apird_qp *)qp)->link_priv;

	return fq && fq->resp.count && fq->resp.exec[fq->resp.head].has_recv;
}

/* The responder QP goes to ERR while the SEND's payload is being pulled:
 * the receive WQE it took completes once, with WR_FLUSH_ERR, and the pull
 * that ends later completes nothing more. */
static void test_receive_flushed_during_pull(void)
{
	struct apir_recv_wqe r;
	struct apir_send_wqe w;
	struct apir_cqe c;
	struct pair p;
	uint64_t end;

	fab_setup();
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	r = fx_recv_wqe(4, p.dst, 0, BIG);
	fx_post_recv(p.b, &r);
	w = fx_wqe(1, IBV_WR_SEND);
	fx_wqe_sge(&w, p.src, 0, BIG);
	fx_post_send(p.a, &w);
	/* A's progress is manual: while only B runs, B's fi_read is not served. */
	end = apird_now_ns() + FAB_PUMP_TIMEOUT_NS;
	sw_engine_poll(fx.v);
	while (!responder_holds_receive(p.b) && apird_now_ns() < end) {
		apird_fabric_poll(fx.v);
		sw_engine_poll(fab_vb);
		apird_fabric_poll(fab_vb);
	}
	CU_ASSERT_FATAL(responder_holds_receive(p.b));
	fx_state(p.b, IBV_QPS_ERR);
	c = fx_poll1(p.cq_b);
	CU_ASSERT_EQUAL(c.wr_id, 4);
	CU_ASSERT_EQUAL(c.status, IBV_WC_WR_FLUSH_ERR);
	fab_pump_for(50 * 1000 * 1000);
	CU_ASSERT_EQUAL(fx_poll(p.cq_b, &c), 0);
	CU_ASSERT_EQUAL(((struct fab_qp *)p.b->link_priv)->resp.count, 0);
	fab_teardown();
}

/* SQD with requests in flight: IBV_EVENT_SQ_DRAINED once their ACKs came,
 * not before; WQEs posted meanwhile wait for RTS. */
static void test_sqd_drains_in_flight(void)
{
	struct apir_async_event_rec ev;
	struct apir_send_wqe w;
	struct apir_cqe c;
	struct pair p;

	fab_setup();
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	for (uint32_t i = 0; i < 3; i++) {
		w = write_wqe(&p, i, i * 100000u, 100000);
		fx_post_send(p.a, &w);
	}
	sw_engine_poll(fx.v);                           /* issued, not answered */
	CU_ASSERT(apird_fabric_in_flight(p.a));
	p.a->attr.en_sqd_async_notify = 1;
	fx_state(p.a, IBV_QPS_SQD);
	CU_ASSERT_EQUAL(read(unix_conn_of(fx.s[0])->async_read_fd, &ev, sizeof(ev)), -1);
	w = write_wqe(&p, 9, 0, 64);
	fx_post_send(p.a, &w);
	for (uint32_t i = 0; i < 3; i++)
		expect_ok(p.cq_a, i, IBV_WC_RDMA_WRITE);
	CU_ASSERT_EQUAL(read(unix_conn_of(fx.s[0])->async_read_fd, &ev, sizeof(ev)), (ssize_t)sizeof(ev));
	CU_ASSERT_EQUAL(ev.event_type, IBV_EVENT_SQ_DRAINED);
	fab_pump_for(10 * 1000 * 1000);
	CU_ASSERT_EQUAL(fx_poll(p.cq_a, &c), 0);
	fx_state(p.a, IBV_QPS_RTS);
	expect_ok(p.cq_a, 9, IBV_WC_RDMA_WRITE);
	fab_teardown();
}

/* No receive: RNR NAKs (counted, nothing completes, the WRITE behind the
 * SEND waits); once a receive is posted both complete, in order. */
static void test_rnr_then_receive(void)
{
	struct apir_recv_wqe r;
	struct apir_send_wqe w;
	struct apir_cqe c;
	struct pair p;

	fab_setup();
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	w = fx_wqe(1, IBV_WR_SEND);
	fx_wqe_sge(&w, p.src, 0, 64);
	fx_post_send(p.a, &w);
	w = write_wqe(&p, 2, 8192, 64);
	fx_post_send(p.a, &w);
	CU_ASSERT(fab_pump_until(got_rnr_nak, p.a, FAB_PUMP_TIMEOUT_NS));
	fab_pump_for(20 * 1000 * 1000);
	CU_ASSERT(p.a->remote.rnr_naks >= 2);
	CU_ASSERT(p.b->remote.naks_sent >= 2);
	CU_ASSERT_EQUAL(fx_poll(p.cq_a, &c), 0);
	CU_ASSERT_EQUAL(p.dst->base[8192], 0);           /* dropped behind the NAK */
	CU_ASSERT_EQUAL(p.b->state, IBV_QPS_RTS);
	r = fx_recv_wqe(9, p.dst, 0, 64);
	fx_post_recv(p.b, &r);
	expect_ok(p.cq_b, 9, IBV_WC_RECV);
	expect_ok(p.cq_a, 1, IBV_WC_SEND);
	expect_ok(p.cq_a, 2, IBV_WC_RDMA_WRITE);
	CU_ASSERT_EQUAL(memcmp(p.dst->base + 8192, p.src->base + 8192, 64), 0);
	fab_teardown();
}

static void test_rnr_retries_exhausted(void)
{
	struct apir_send_wqe w;
	struct apir_cqe c;
	struct pair p;

	fab_setup();
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	p.a->attr.rnr_retry = 2;
	w = fx_wqe(1, IBV_WR_SEND);
	fx_wqe_sge(&w, p.src, 0, 64);
	fx_post_send(p.a, &w);
	w = write_wqe(&p, 2, 0, 64);
	fx_post_send(p.a, &w);
	c = fab_poll1(p.cq_a);
	CU_ASSERT_EQUAL(c.wr_id, 1);
	CU_ASSERT_EQUAL(c.status, IBV_WC_RNR_RETRY_EXC_ERR);
	c = fab_poll1(p.cq_a);
	CU_ASSERT_EQUAL(c.wr_id, 2);
	CU_ASSERT_EQUAL(c.status, IBV_WC_WR_FLUSH_ERR);
	CU_ASSERT_EQUAL(p.a->state, IBV_QPS_ERR);
	CU_ASSERT_EQUAL(p.a->remote.rnr_naks, 3);       /* the first try and 2 retries */
	fab_teardown();
}

/* A forged rkey and a region without remote write: REM_ACCESS_ERR at the
 * requester, the responder QP in ERR with IBV_EVENT_QP_ACCESS_ERR, and not
 * a byte written. */
static void test_remote_access_errors(void)
{
	struct apir_async_event_rec ev;
	struct apir_send_wqe w;
	struct apir_cqe c;
	struct pair p;

	fab_setup();
	pair_make(&p, IBV_QPT_RC, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ);
	w = write_wqe(&p, 1, 0, 64);
	fx_post_send(p.a, &w);
	c = fab_poll1(p.cq_a);
	CU_ASSERT_EQUAL(c.status, IBV_WC_REM_ACCESS_ERR);
	CU_ASSERT_EQUAL(p.a->state, IBV_QPS_ERR);
	CU_ASSERT_EQUAL(p.b->state, IBV_QPS_ERR);
	CU_ASSERT_EQUAL(read(unix_conn_of(fx.s[FAB_GUEST_B])->async_read_fd, &ev, sizeof(ev)), (ssize_t)sizeof(ev));
	CU_ASSERT_EQUAL(ev.event_type, IBV_EVENT_QP_ACCESS_ERR);
	CU_ASSERT_EQUAL(p.dst->base[0], 0);
	fab_teardown();

	fab_setup();
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	w = write_wqe(&p, 1, 0, BIG);
	w.rkey ^= 0x1000;                                /* forged */
	fx_post_send(p.a, &w);
	CU_ASSERT_EQUAL(fab_poll1(p.cq_a).status, IBV_WC_REM_ACCESS_ERR);
	fab_teardown();

	fab_setup();
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	w = fx_wqe(2, IBV_WR_RDMA_READ);
	fx_wqe_sge(&w, p.src, 0, 4096);
	fx_wqe_remote(&w, p.dst, 4 * BIG - 100);
	fx_post_send(p.a, &w);
	CU_ASSERT_EQUAL(fab_poll1(p.cq_a).status, IBV_WC_REM_ACCESS_ERR);
	fab_teardown();
}

/* The peer QP is not connected back (its destination is another QP):
 * nobody there answers for it; as on a real transport the requester tries
 * until its timeout, then RETRY_EXC_ERR, and the peer is not touched. */
static void test_peer_qp_not_connected(void)
{
	struct apir_send_wqe w;
	struct pair p;
	uint64_t start;

	fab_setup();
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	p.a->attr.timeout = 12;                          /* 16.8 ms, once */
	p.a->attr.retry_cnt = 0;
	p.b->remote.qpn ^= 1;
	w = write_wqe(&p, 1, 0, 64);
	start = apird_now_ns();
	fx_post_send(p.a, &w);
	CU_ASSERT_EQUAL(fab_poll1(p.cq_a).status, IBV_WC_RETRY_EXC_ERR);
	CU_ASSERT(apird_now_ns() - start >= 16 * 1000 * 1000);
	CU_ASSERT_EQUAL(p.b->state, IBV_QPS_RTS);
	CU_ASSERT_EQUAL(p.dst->base[0], 0);
	fab_teardown();
}

/* The requester sends before the responder QP reached RTR (the two sides
 * of an application get there at their own pace): its requests go again
 * until the responder is there. */
static void test_peer_reaches_rtr_late(void)
{
	struct apir_send_wqe w;
	struct pair p;

	fab_setup();
	p.pd_a = fx_pd(0);
	p.pd_b = fx_pd(FAB_GUEST_B);
	p.cq_a = fx_cq(0, 64);
	p.cq_b = fx_cq(FAB_GUEST_B, 64);
	p.a = fx_qp(p.pd_a, IBV_QPT_RC, p.cq_a, p.cq_a, NULL);
	p.b = fx_qp(p.pd_b, IBV_QPT_RC, p.cq_b, p.cq_b, NULL);
	p.src = fx_mr(p.pd_a, 4096, FX_ALL_ACCESS, 0x3c);
	p.dst = fx_mr(p.pd_b, 4096, FX_ALL_ACCESS, 0);
	fab_connect_side(p.a, p.b, 0x100);
	fab_connect_side(p.b, p.a, 0x200);
	fx_to_rts(p.a);
	fx_state(p.b, IBV_QPS_INIT);
	for (uint32_t i = 0; i < 3; i++) {
		w = write_wqe(&p, i, i * 1000u, 1000);
		fx_post_send(p.a, &w);
	}
	fab_pump_for(30 * 1000 * 1000);
	CU_ASSERT_EQUAL(p.dst->base[0], 0);
	fx_state(p.b, IBV_QPS_RTR);
	for (uint32_t i = 0; i < 3; i++)
		expect_ok(p.cq_a, i, IBV_WC_RDMA_WRITE);
	CU_ASSERT_EQUAL(p.dst->base[2999], 0x3c);
	fab_teardown();
}

/* The peer apird does not answer at all (B's engine is never run): the
 * request times out after 4.096 us x 2^timeout x (retry_cnt + 1). */
static void test_ack_timeout(void)
{
	struct apir_send_wqe w;
	struct apir_cqe c = { .status = IBV_WC_SUCCESS };
	struct pair p;
	uint64_t start, end = 0;

	fab_setup();
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	p.a->attr.timeout = 12;                          /* 16.8 ms x 2 */
	p.a->attr.retry_cnt = 1;
	w = write_wqe(&p, 1, 0, 64);
	fx_post_send(p.a, &w);
	start = apird_now_ns();
	while (!fx_poll(p.cq_a, &c) && apird_now_ns() - start < FAB_PUMP_TIMEOUT_NS) {
		sw_engine_poll(fx.v);
		apird_fabric_poll(fx.v);
		end = apird_now_ns();
	}
	CU_ASSERT_EQUAL(c.status, IBV_WC_RETRY_EXC_ERR);
	CU_ASSERT(end - start >= 33 * 1000 * 1000);
	CU_ASSERT(end - start < 500 * 1000 * 1000);
	CU_ASSERT_EQUAL(p.a->state, IBV_QPS_ERR);
	fab_teardown();
}

/* What a crash of apird B leaves: its endpoint closed. */
static void crash_b(void)
{
	for (unsigned int i = 0; i < fx.nqps; i++)
		if (verbs_dev_of(fx.qps[i]->session) == fab_vb)
			apird_fabric_qp_disconnect(fab_vb, fx.qps[i]);
	for (unsigned int i = 0; i < fx.nmrs; i++)
		if (verbs_dev_of(fx.mrs[i]->session) == fab_vb)
			apird_fabric_mr_unregister(fab_vb, fx.mrs[i]);
	apird_fabric_link.stop(fab_vb);
}

/* B's apird is gone: the QP with requests in flight fails with
 * RETRY_EXC_ERR (a connection error, at the latest its timeout), an idle
 * QP to the same peer stays as it is. */
static void test_peer_apird_gone(void)
{
	struct apir_send_wqe w;
	struct apir_cqe c = { .status = IBV_WC_SUCCESS };
	struct pair p, idle;
	uint64_t end;

	fab_setup();
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	pair_make(&idle, IBV_QPT_RC, FX_ALL_ACCESS);
	w = write_wqe(&p, 1, 0, 64);
	fx_post_send(p.a, &w);
	expect_ok(p.cq_a, 1, IBV_WC_RDMA_WRITE);
	crash_b();
	w = write_wqe(&p, 2, 0, BIG);
	fx_post_send(p.a, &w);
	end = apird_now_ns() + FAB_PUMP_TIMEOUT_NS;
	do {
		sw_engine_poll(fx.v);
		apird_fabric_poll(fx.v);
	} while (!fx_poll(p.cq_a, &c) && apird_now_ns() < end);
	CU_ASSERT_EQUAL(c.wr_id, 2);
	CU_ASSERT_EQUAL(c.status, IBV_WC_RETRY_EXC_ERR);
	CU_ASSERT_EQUAL(p.a->state, IBV_QPS_ERR);
	CU_ASSERT_EQUAL(idle.a->state, IBV_QPS_RTS);
	fab_teardown();
}

/* What a crash of apird A leaves: its endpoint closed. */
static void crash_a(void)
{
	for (unsigned int i = 0; i < fx.nqps; i++)
		if (verbs_dev_of(fx.qps[i]->session) == fx.v)
			apird_fabric_qp_disconnect(fx.v, fx.qps[i]);
	for (unsigned int i = 0; i < fx.nmrs; i++)
		if (verbs_dev_of(fx.mrs[i]->session) == fx.v)
			apird_fabric_mr_unregister(fx.v, fx.mrs[i]);
	apird_fabric_link.stop(fx.v);
}

static bool responder_idle(void *qp)
{
	const struct fab_qp *fq = ((struct apird_qp *)qp)->link_priv;

	return !fq || !fq->resp.count;
}

/* The requester's apird dies while the responder pulls its payload: the
 * pull ends (in error), the responder releases the request and its QP
 * stays usable. */
static void test_requester_gone_during_pull(void)
{
	struct apir_recv_wqe r;
	struct apir_send_wqe w;
	struct pair p;
	uint64_t end;

	fab_setup();
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	r = fx_recv_wqe(4, p.dst, 0, BIG);
	fx_post_recv(p.b, &r);
	w = fx_wqe(1, IBV_WR_SEND);
	fx_wqe_sge(&w, p.src, 0, BIG);
	fx_post_send(p.a, &w);
	end = apird_now_ns() + FAB_PUMP_TIMEOUT_NS;
	sw_engine_poll(fx.v);
	while (!responder_holds_receive(p.b) && apird_now_ns() < end) {
		apird_fabric_poll(fx.v);
		sw_engine_poll(fab_vb);
		apird_fabric_poll(fab_vb);
	}
	CU_ASSERT_FATAL(responder_holds_receive(p.b));
	crash_a();
	end = apird_now_ns() + 3 * FAB_PUMP_TIMEOUT_NS;
	while (!responder_idle(p.b) && apird_now_ns() < end) {
		sw_engine_poll(fab_vb);
		apird_fabric_poll(fab_vb);
	}
	CU_ASSERT(responder_idle(p.b));
	fab_teardown();
}

/* The requester's apird stops answering while its payload is pulled (a cut
 * link looks like that): after the responder QP's timeout the responder
 * gives the peer up, the pull ends, the receive completes in error. */
static void test_pull_stalls(void)
{
	struct apir_recv_wqe r;
	struct apir_send_wqe w;
	struct fab_peer *peer;
	uint32_t generation;
	struct apir_cqe c;
	struct pair p;
	uint64_t end;

	fab_setup();
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	p.b->attr.timeout = 12;                          /* 16.8 ms, once */
	p.b->attr.retry_cnt = 0;
	r = fx_recv_wqe(4, p.dst, 0, BIG);
	fx_post_recv(p.b, &r);
	w = fx_wqe(1, IBV_WR_SEND);
	fx_wqe_sge(&w, p.src, 0, BIG);
	fx_post_send(p.a, &w);
	end = apird_now_ns() + FAB_PUMP_TIMEOUT_NS;
	sw_engine_poll(fx.v);
	while (!responder_holds_receive(p.b) && apird_now_ns() < end) {
		apird_fabric_poll(fx.v);
		sw_engine_poll(fab_vb);
		apird_fabric_poll(fab_vb);
	}
	CU_ASSERT_FATAL(responder_holds_receive(p.b));
	peer = ((struct fab_qp *)p.b->link_priv)->peer;
	generation = peer->generation;
	end = apird_now_ns() + FAB_PUMP_TIMEOUT_NS;
	while (!responder_idle(p.b) && apird_now_ns() < end) {
		sw_engine_poll(fab_vb);
		apird_fabric_poll(fab_vb);
	}
	CU_ASSERT(responder_idle(p.b));
	CU_ASSERT_EQUAL(peer->generation, generation + 1);  /* given up, not ended */
	c = fx_poll1(p.cq_b);
	CU_ASSERT_EQUAL(c.wr_id, 4);
	CU_ASSERT_NOT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(p.b->state, IBV_QPS_ERR);
	fab_teardown();
}

/* ---- a peer that cannot be reached ----------------------------------------------- */

/* A TCP socket at 127.0.0.3, named in A's "peer" lines, standing for a peer
 * apird whose messages cannot leave: listening but never accepting, its
 * connection never forms; only bound, connections are refused (its apird
 * is gone). Either way the provider answers A's sends with -FI_EAGAIN. */
static int unreachable_open(bool listening, union ibv_gid *gid)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	char line[32], err[128];
	int s = socket(AF_INET, SOCK_STREAM, 0);

	CU_ASSERT_FATAL(s >= 0);
	CU_ASSERT_FATAL(inet_pton(AF_INET, "127.0.0.3", &sin.sin_addr) == 1);
	CU_ASSERT_FATAL(bind(s, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CU_ASSERT_FATAL(!listening || listen(s, 8) == 0);
	CU_ASSERT_FATAL(getsockname(s, (struct sockaddr *)&sin, &len) == 0);
	snprintf(line, sizeof(line), "127.0.0.3:%u", ntohs(sin.sin_port));
	CU_ASSERT_FATAL(apird_config_set(&fab_of(fx.v)->cfg, "peer", line, err, sizeof(err)) == 0);
	memset(gid, 0, sizeof(*gid));
	gid->raw[10] = gid->raw[11] = 0xff;
	memcpy(&gid->raw[12], &sin.sin_addr.s_addr, 4);
	return s;
}

/* A QP of A connected to a QP of the apird of gid, in RTS, its requests
 * timing out after 16.8 ms. */
static struct apird_qp *qp_towards(struct apird_pd *pd, struct apird_cq *cq,
				   const union ibv_gid *gid)
{
	struct apird_qp *qp = fx_qp(pd, IBV_QPT_RC, cq, cq, NULL);
	struct ibv_ah_attr *av = &qp->attr.ah_attr;
	char err[160];

	memset(av, 0, sizeof(*av));
	av->is_global = 1;
	av->port_num = 1;
	av->grh.dgid = *gid;
	qp->attr.dest_qp_num = 1;
	qp->attr.timeout = 12;
	qp->attr.retry_cnt = 0;
	CU_ASSERT_FATAL(apird_fabric_qp_connect(fx.v, qp, av, 1, err, sizeof(err)) == 0);
	fx_to_rts(qp);
	return qp;
}

static bool all_tx_free(void *f)
{
	return fab_tx_available(f) == FAB_TX_BUFS;
}

/* A's messages to a peer that cannot take them (its hello, a request) wait
 * for that peer alone: A and B keep moving data both ways, A's requests and
 * its answers leave at once. The stuck QP times out on its own rules, and
 * once its peer has kept messages waiting longer than that peer's QPs
 * allow, A drops them and forgets the peer's address (a fresh connection
 * next time). */
static void unreachable_peer_blocks_nobody(bool listening)
{
	struct apird_qp *stuck;
	struct apird_cq *cq_s;
	struct apir_send_wqe w;
	struct fab_peer *peer;
	union ibv_gid gid;
	struct pair p;
	uint32_t generation;
	int s;

	fab_setup();
	s = unreachable_open(listening, &gid);
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	cq_s = fx_cq(0, 16);
	stuck = qp_towards(p.pd_a, cq_s, &gid);
	peer = ((struct fab_qp *)stuck->link_priv)->peer;
	generation = peer->generation;
	w = write_wqe(&p, 1, 0, 64);
	fx_post_send(stuck, &w);
	fab_pump_for(5 * 1000 * 1000);

	w = write_wqe(&p, 2, 0, BIG);
	fx_post_send(p.a, &w);
	expect_ok(p.cq_a, 2, IBV_WC_RDMA_WRITE);
	CU_ASSERT_EQUAL(memcmp(p.dst->base, p.src->base, BIG), 0);
	w = fx_wqe(3, IBV_WR_RDMA_WRITE);
	fx_wqe_sge(&w, p.dst, 0, 64);
	fx_wqe_remote(&w, p.src, 2 * BIG);
	fx_post_send(p.b, &w);
	expect_ok(p.cq_b, 3, IBV_WC_RDMA_WRITE);
	CU_ASSERT_EQUAL(fab_poll1(cq_s).status, IBV_WC_RETRY_EXC_ERR);

	CU_ASSERT(fab_pump_until(all_tx_free, fab_of(fx.v),
				 FAB_PEER_PATIENCE_MIN_NS + FAB_PUMP_TIMEOUT_NS));
	CU_ASSERT_EQUAL(peer->generation, generation + 1);
	CU_ASSERT_EQUAL(peer->fi_addr, FI_ADDR_UNSPEC);
	w = write_wqe(&p, 4, 0, 64);
	fx_post_send(p.a, &w);
	expect_ok(p.cq_a, 4, IBV_WC_RDMA_WRITE);
	close(s);
	fab_teardown();
}

static void test_connection_never_forms(void)
{
	unreachable_peer_blocks_nobody(true);
}

static void test_connection_refused(void)
{
	unreachable_peer_blocks_nobody(false);
}

static void test_ud_across(void)
{
	struct apird_pd *pa, *pb;
	struct apird_cq *ca, *cb;
	struct apird_qp *a, *b;
	struct apird_mr *ma, *mb;
	struct apird_ah *ah;
	struct apir_recv_wqe r;
	struct apir_send_wqe w;
	struct ibv_grh *grh;
	struct apir_cqe c;

	fab_setup();
	pa = fx_pd(0);
	pb = fx_pd(FAB_GUEST_B);
	ca = fx_cq(0, 64);
	cb = fx_cq(FAB_GUEST_B, 64);
	a = fx_qp(pa, IBV_QPT_UD, ca, ca, NULL);
	b = fx_qp(pb, IBV_QPT_UD, cb, cb, NULL);
	a->attr.qkey = b->attr.qkey = 0x1111;
	fx_to_rts(a);
	fx_to_rts(b);
	ma = fx_mr(pa, 8192, FX_ALL_ACCESS, 0x61);
	mb = fx_mr(pb, 8192, FX_ALL_ACCESS, 0);
	ah = fx_ah(pa, true, apird_local_gid(fab_vb));
	r = fx_recv_wqe(3, mb, 0, 4096 + 40);
	fx_post_recv(b, &r);
	w = fx_wqe(1, IBV_WR_SEND_WITH_IMM);
	fx_wqe_sge(&w, ma, 0, 4096);
	w.ah_handle = ah->handle;
	w.remote_qpn = b->qp_num;
	w.remote_qkey = 0x80000000;                      /* the sender QP's own Q_Key */
	w.imm_data = htonl(4);
	fx_post_send(a, &w);
	expect_ok(ca, 1, IBV_WC_SEND);
	c = fab_poll1(cb);
	CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(c.byte_len, 4096 + 40);
	CU_ASSERT_EQUAL(c.src_qp, a->qp_num);
	CU_ASSERT_EQUAL(c.wc_flags, IBV_WC_GRH | IBV_WC_WITH_IMM);
	CU_ASSERT_EQUAL(c.imm_data, htonl(4));
	CU_ASSERT_EQUAL(c.sl, 3);
	grh = (struct ibv_grh *)mb->base;
	CU_ASSERT_EQUAL(memcmp(&grh->sgid, apird_local_gid(fx.v), 16), 0);
	CU_ASSERT_EQUAL(memcmp(&grh->dgid, apird_local_gid(fab_vb), 16), 0);
	CU_ASSERT_EQUAL(mb->base[40], 0x61);
	CU_ASSERT_EQUAL(mb->base[40 + 4095], 0x61);

	/* Wrong Q_Key: dropped, the sender's WQE still succeeds. */
	fx_post_recv(b, &r);
	w.wr_id = 2;
	w.remote_qkey = 0x2222;
	fx_post_send(a, &w);
	expect_ok(ca, 2, IBV_WC_SEND);
	fab_pump_for(10 * 1000 * 1000);
	CU_ASSERT_EQUAL(fx_poll(cb, &c), 0);
	fab_teardown();
}

/* ---- hostile peer ------------------------------------------------------------------- */

/* Sends raw bytes from apird B's endpoint to apird A, as a peer apird would. */
static void inject(const void *msg, size_t len)
{
	struct apird_fabric *fb = fab_of(fab_vb);
	struct fab_tx *tx = fab_tx_get(fb);
	int err;
	struct fab_peer *to = fab_peer_get(fb, apird_local_gid(fx.v), &err);

	CU_ASSERT_FATAL(tx != NULL && to != NULL);
	memcpy(tx->buf, msg, len);
	fab_tx_send(fb, tx, to, len);
}

static struct apir_fab_req hostile_write(const struct pair *p, uint32_t seq)
{
	struct apir_fab_req r;

	memset(&r, 0, sizeof(r));
	fab_hdr_init(&r.hdr, APIR_FAB_REQ, sizeof(r), apird_local_gid(fab_vb), p->b->qp_num,
		     p->a->qp_num, seq);
	r.opcode = IBV_WR_RDMA_WRITE;
	r.qp_type = IBV_QPT_RC;
	r.flags = APIR_FAB_REQ_EAGER;
	return r;
}

/* Garbage, requests out of sequence, answers to nothing, and a request
 * claiming another apird's GID: all dropped; the QPs keep working. */
static void test_hostile_messages(void)
{
	uint8_t junk[300];
	struct apir_fab_req r;
	struct apir_fab_ack ack;
	struct apir_send_wqe w;
	struct pair p;
	union ibv_gid other;

	fab_setup();
	other = *apird_local_gid(fab_vb);
	pair_make(&p, IBV_QPT_RC, FX_ALL_ACCESS);
	memset(junk, 0xa5, sizeof(junk));
	inject(junk, sizeof(junk));
	r = hostile_write(&p, 0x200 + 5);                /* A expects 0x200 from b */
	inject(&r, sizeof(r));
	memset(&ack, 0, sizeof(ack));
	fab_hdr_init(&ack.hdr, APIR_FAB_ACK, sizeof(ack), apird_local_gid(fab_vb), p.b->qp_num,
		     p.a->qp_num, 0x100);
	inject(&ack, sizeof(ack));                       /* nothing is in flight */
	other.raw[15] ^= 0x40;
	r = hostile_write(&p, 0x200);
	memcpy(r.hdr.src_gid, other.raw, 16);
	inject(&r, sizeof(r));
	fab_pump_for(20 * 1000 * 1000);
	CU_ASSERT_EQUAL(p.a->state, IBV_QPS_RTS);
	CU_ASSERT_EQUAL(p.a->ops_received, 0);

	w = write_wqe(&p, 1, 0, 64);                     /* both ways still work */
	fx_post_send(p.a, &w);
	expect_ok(p.cq_a, 1, IBV_WC_RDMA_WRITE);
	w = fx_wqe(2, IBV_WR_RDMA_WRITE);
	fx_wqe_sge(&w, p.dst, 0, 64);
	fx_wqe_remote(&w, p.src, 0);
	fx_post_send(p.b, &w);
	expect_ok(p.cq_b, 2, IBV_WC_RDMA_WRITE);
	fab_teardown();
}

static CU_TestInfo tests[] = {
	{ "write eager and bulk", test_write_eager_and_bulk },
	{ "read and atomics", test_read_and_atomics },
	{ "send after writes", test_send_after_writes },
	{ "write with imm", test_write_with_imm },
	{ "receive flushed during a pull", test_receive_flushed_during_pull },
	{ "sqd drains in flight", test_sqd_drains_in_flight },
	{ "rnr then receive", test_rnr_then_receive },
	{ "rnr retries exhausted", test_rnr_retries_exhausted },
	{ "remote access errors", test_remote_access_errors },
	{ "peer qp not connected", test_peer_qp_not_connected },
	{ "peer reaches rtr late", test_peer_reaches_rtr_late },
	{ "ack timeout", test_ack_timeout },
	{ "peer apird gone", test_peer_apird_gone },
	{ "requester gone during a pull", test_requester_gone_during_pull },
	{ "pull stalls", test_pull_stalls },
	{ "connection never forms", test_connection_never_forms },
	{ "connection refused", test_connection_refused },
	{ "ud across", test_ud_across },
	{ "hostile messages", test_hostile_messages },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "fabric qp", tests })
