/* SPDX-License-Identifier: MIT */
/* sw engine UD: address handles, Q_Keys, the GRH in front of every
 * receive, datagram loss semantics, MTU, SQE. */
#include "test_sw_fixture.h"

#define QKEY 0x11111111u

struct ud_world {
	struct fx_pair p;
	struct apird_ah *ah;             /* guest 0's AH towards b */
	struct apir_recv_wqe r;          /* b's receive: 4096 + 40 bytes at 0 */
};

static struct ud_world ud_world(bool global)
{
	struct ud_world u;

	u.p = fx_pair(IBV_QPT_UD);
	u.p.a->attr.qkey = QKEY;
	u.p.b->attr.qkey = QKEY;
	fx_to_rts(u.p.a);
	fx_to_rts(u.p.b);
	u.ah = fx_ah(u.p.pa, global, apird_local_gid(fx.v));
	u.r = fx_recv_wqe(50, u.p.mb, 0, SW_UD_MTU + APIR_UD_GRH_BYTES);
	fx_post_recv(u.p.b, &u.r);
	return u;
}

static struct apir_send_wqe ud_send(const struct ud_world *u, uint32_t len)
{
	struct apir_send_wqe w = fx_wqe(1, IBV_WR_SEND);

	fx_wqe_sge(&w, u->p.ma, 0, len);
	w.ah_handle = u->ah->handle;
	w.remote_qpn = u->p.b->qp_num;
	w.remote_qkey = QKEY;
	return w;
}

/* Runs w and expects the sender to succeed and nothing to arrive. */
static void expect_dropped(struct ud_world *u, const struct apir_send_wqe *w)
{
	fx_post_send(u->p.a, w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(u->p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT(fx_cq_empty(u->p.cqb));
	CU_ASSERT_EQUAL(u->p.b->rq_cons, 0);
	CU_ASSERT(fx_all_bytes(u->p.mb->base, 65536, 0xbb));
	CU_ASSERT_EQUAL(u->p.a->state, IBV_QPS_RTS);
}

static void check_delivery(bool global)
{
	struct ud_world u;
	struct apir_send_wqe w;
	struct apir_cqe c;
	const struct ibv_grh *grh;

	fx_setup();
	u = ud_world(global);
	fx_pattern(u.p.ma->base, 100, 5);
	w = ud_send(&u, 100);
	w.opcode = IBV_WR_SEND_WITH_IMM;
	w.imm_data = htonl(7);
	fx_post_send(u.p.a, &w);
	sw_engine_poll(fx.v);
	c = fx_poll1(u.p.cqa);
	CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(c.opcode, IBV_WC_SEND);
	c = fx_poll1(u.p.cqb);
	CU_ASSERT_EQUAL(c.wr_id, 50);
	CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(c.opcode, IBV_WC_RECV);
	CU_ASSERT_EQUAL(c.byte_len, 100 + APIR_UD_GRH_BYTES);
	CU_ASSERT_EQUAL(c.wc_flags, IBV_WC_GRH | IBV_WC_WITH_IMM);
	CU_ASSERT_EQUAL(c.imm_data, htonl(7));
	CU_ASSERT_EQUAL(c.src_qp, u.p.a->qp_num);
	CU_ASSERT_EQUAL(c.qp_num, u.p.b->qp_num);
	CU_ASSERT_EQUAL(c.sl, 3);
	grh = (const struct ibv_grh *)u.p.mb->base;
	CU_ASSERT_EQUAL(ntohl(grh->version_tclass_flow) >> 28, 6);
	CU_ASSERT_EQUAL(grh->hop_limit, 64);
	CU_ASSERT(memcmp(&grh->sgid, apird_local_gid(fx.v), 16) == 0);
	CU_ASSERT(memcmp(&grh->dgid, apird_local_gid(fx.v), 16) == 0);
	CU_ASSERT(memcmp(u.p.mb->base + APIR_UD_GRH_BYTES, u.p.ma->base, 100) == 0);
	CU_ASSERT(fx_all_bytes(u.p.mb->base + 140, 1000, 0xbb));
	fx_teardown();
}

static void test_delivery_global(void) { check_delivery(true); }
static void test_delivery_non_global(void) { check_delivery(false); }

static void test_qkey_mismatch(void)
{
	struct ud_world u;
	struct apir_send_wqe w;

	fx_setup();
	u = ud_world(true);
	w = ud_send(&u, 10);
	w.remote_qkey = QKEY + 1;
	expect_dropped(&u, &w);
	fx_teardown();
}

/* A Q_Key with the high bit set means "use the sending QP's own". */
static void test_qkey_from_qp(void)
{
	struct ud_world u;
	struct apir_send_wqe w;

	fx_setup();
	u = ud_world(true);
	w = ud_send(&u, 10);
	w.remote_qkey = 0x80000000u;
	fx_post_send(u.p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqb).status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(u.p.b->rq_cons, 1);
	/* The QP's Q_Key no longer matches: the same WQE is lost. */
	u.p.a->attr.qkey = 5;
	fx_post_recv(u.p.b, &u.r);
	fx_post_send(u.p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT(fx_cq_empty(u.p.cqb));
	CU_ASSERT_EQUAL(u.p.b->rq_cons, 1);
	fx_teardown();
}

static void test_foreign_gid(void)
{
	struct ud_world u;
	struct apir_send_wqe w;
	union ibv_gid other;

	fx_setup();
	u = ud_world(true);
	other = *apird_local_gid(fx.v);
	other.raw[15] ^= 1;
	u.ah->attr.grh.dgid = other;
	w = ud_send(&u, 10);
	expect_dropped(&u, &w);
	fx_teardown();
}

static void test_unknown_or_wrong_destination(void)
{
	struct ud_world u;
	struct apird_qp *rc;
	struct apir_send_wqe w;

	fx_setup();
	u = ud_world(true);
	w = ud_send(&u, 10);
	w.remote_qpn = 0xffffff;
	expect_dropped(&u, &w);
	rc = fx_qp(u.p.pb, IBV_QPT_RC, u.p.cqb, u.p.cqb, NULL);
	fx_to_rts(rc);
	w.remote_qpn = rc->qp_num;
	expect_dropped(&u, &w);
	fx_teardown();
}

static void test_no_receive_posted(void)
{
	struct ud_world u;
	struct apir_send_wqe w;

	fx_setup();
	u = ud_world(true);
	w = ud_send(&u, 10);
	fx_post_send(u.p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqb).status, IBV_WC_SUCCESS);
	/* The only receive is used up: the next datagram is lost, no RNR. */
	fx_post_send(u.p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT(fx_cq_empty(u.p.cqb));
	CU_ASSERT_FALSE(u.p.a->rnr.waiting);
	fx_teardown();
}

/* Too long for the MTU: the sender's error, its QP to SQE; later sends are
 * flushed until the QP returns to RTS; its receive side keeps working. */
static void test_mtu_and_sqe(void)
{
	struct ud_world u;
	struct apir_send_wqe w;
	struct apir_recv_wqe r;
	struct apir_cqe c;

	fx_setup();
	u = ud_world(true);
	w = ud_send(&u, SW_UD_MTU + 1);
	fx_post_send(u.p.a, &w);
	w = ud_send(&u, 8);
	w.wr_id = 2;
	fx_post_send(u.p.a, &w);
	sw_engine_poll(fx.v);
	sw_engine_poll(fx.v);
	c = fx_poll1(u.p.cqa);
	CU_ASSERT_EQUAL(c.status, IBV_WC_LOC_LEN_ERR);
	CU_ASSERT_EQUAL(u.p.a->state, IBV_QPS_SQE);
	CU_ASSERT_EQUAL(atomic_load(&u.p.a->ctrl->state), IBV_QPS_SQE);
	c = fx_poll1(u.p.cqa);
	CU_ASSERT_EQUAL(c.wr_id, 2);
	CU_ASSERT_EQUAL(c.status, IBV_WC_WR_FLUSH_ERR);
	CU_ASSERT(fx_cq_empty(u.p.cqb));
	CU_ASSERT(fx_async_none(0));

	/* b sends to a, which is in SQE: a still receives. */
	r = fx_recv_wqe(60, u.p.ma, 8192, 256);
	fx_post_recv(u.p.a, &r);
	w = fx_wqe(3, IBV_WR_SEND);
	fx_wqe_sge(&w, u.p.mb, 0, 8);
	w.ah_handle = fx_ah(u.p.pb, false, NULL)->handle;
	w.remote_qpn = u.p.a->qp_num;
	w.remote_qkey = QKEY;
	fx_post_send(u.p.b, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqa).wr_id, 60);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqb).wr_id, 3);

	fx_state(u.p.a, IBV_QPS_RTS);
	w = ud_send(&u, SW_UD_MTU);
	fx_post_send(u.p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqb).byte_len, SW_UD_MTU + APIR_UD_GRH_BYTES);
	fx_teardown();
}

/* A receive too small for GRH + message is the receiver's error alone. */
static void test_receive_too_small(void)
{
	struct ud_world u;
	struct apir_send_wqe w;
	struct apir_recv_wqe r;
	struct apir_cqe c;

	fx_setup();
	u = ud_world(true);
	r = fx_recv_wqe(51, u.p.mb, 8192, 100 + APIR_UD_GRH_BYTES - 1);
	/* Consume the big receive first. */
	w = ud_send(&u, 1);
	fx_post_send(u.p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqb).wr_id, 50);
	fx_post_recv(u.p.b, &r);
	w = ud_send(&u, 100);
	fx_post_send(u.p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqa).status, IBV_WC_SUCCESS);
	c = fx_poll1(u.p.cqb);
	CU_ASSERT_EQUAL(c.wr_id, 51);
	CU_ASSERT_EQUAL(c.status, IBV_WC_LOC_LEN_ERR);
	CU_ASSERT_EQUAL(u.p.b->state, IBV_QPS_ERR);
	CU_ASSERT_EQUAL(u.p.a->state, IBV_QPS_RTS);
	CU_ASSERT(fx_all_bytes(u.p.mb->base + 8192, 200, 0xbb));
	fx_teardown();
}

static void test_bad_ah(void)
{
	struct ud_world u;
	struct apir_send_wqe w;

	fx_setup();
	u = ud_world(true);
	w = ud_send(&u, 10);
	w.ah_handle = 999;
	fx_post_send(u.p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqa).status, IBV_WC_LOC_QP_OP_ERR);
	CU_ASSERT_EQUAL(u.p.a->state, IBV_QPS_SQE);
	/* An AH of another PD of the same session is not this QP's either. */
	fx_state(u.p.a, IBV_QPS_RTS);
	w.ah_handle = fx_ah(fx_pd(0), true, apird_local_gid(fx.v))->handle;
	fx_post_send(u.p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqa).status, IBV_WC_LOC_QP_OP_ERR);
	/* Guest 1's AH handle 3 means nothing in guest 0 (which has 1 and 2). */
	fx_state(u.p.a, IBV_QPS_RTS);
	for (int i = 0; i < 3; i++)
		w.ah_handle = fx_ah(u.p.pb, true, apird_local_gid(fx.v))->handle;
	CU_ASSERT_EQUAL(w.ah_handle, 3);
	fx_post_send(u.p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqa).status, IBV_WC_LOC_QP_OP_ERR);
	CU_ASSERT(fx_cq_empty(u.p.cqb));
	fx_teardown();
}

static void test_ud_opcodes(void)
{
	struct ud_world u;
	struct apir_send_wqe w;

	fx_setup();
	u = ud_world(true);
	w = ud_send(&u, 10);
	w.opcode = IBV_WR_RDMA_WRITE;
	fx_wqe_remote(&w, u.p.mb, 0);
	fx_post_send(u.p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(u.p.cqa).status, IBV_WC_LOC_QP_OP_ERR);
	CU_ASSERT(fx_all_bytes(u.p.mb->base, 65536, 0xbb));
	fx_teardown();
}

static CU_TestInfo ud_tests[] = {
	{ "delivery, global AH", test_delivery_global },
	{ "delivery, non-global AH", test_delivery_non_global },
	{ "qkey mismatch", test_qkey_mismatch },
	{ "qkey from the QP", test_qkey_from_qp },
	{ "foreign gid", test_foreign_gid },
	{ "unknown or wrong destination", test_unknown_or_wrong_destination },
	{ "no receive posted", test_no_receive_posted },
	{ "mtu and SQE", test_mtu_and_sqe },
	{ "receive too small", test_receive_too_small },
	{ "bad address handle", test_bad_ah },
	{ "opcodes", test_ud_opcodes },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "sw_ud", ud_tests })
