/* SPDX-License-Identifier: MIT */
/* sw engine protection: every bad key, address, access right, length and
 * destination fails its work request with the exact status and leaves every
 * byte of the target untouched. */
#include <unistd.h>

#include "test_sw_fixture.h"

/* Memory of both sides is exactly as fx_pair() filled it. */
static void expect_untouched(const struct fx_pair *p)
{
	CU_ASSERT(fx_all_bytes(p->ma->base, 65536, 0xaa));
	CU_ASSERT(fx_all_bytes(p->mb->base, 65536, 0xbb));
}

/* Posts w on a, runs the engine, expects one completion of status on a's
 * CQ, a in ERR and w's successor flushed. */
static void check_requester_error(struct fx_pair *p, struct apir_send_wqe *w,
				  enum ibv_wc_status status);

static void expect_requester_error(struct fx_pair *p, struct apir_send_wqe *w,
				   enum ibv_wc_status status)
{
	struct apir_send_wqe next = fx_wqe(1000, IBV_WR_RDMA_WRITE);

	fx_post_send(p->a, w);
	fx_post_send(p->a, &next);
	sw_engine_poll(fx.v);
	sw_engine_poll(fx.v);
	check_requester_error(p, w, status);
}

/* The completions expect_requester_error() checks, once the engine ran. */
static void check_requester_error(struct fx_pair *p, struct apir_send_wqe *w,
				  enum ibv_wc_status status)
{
	struct apir_cqe c;

	c = fx_poll1(p->cqa);
	CU_ASSERT_EQUAL(c.wr_id, w->wr_id);
	CU_ASSERT_EQUAL(c.status, status);
	CU_ASSERT_EQUAL(c.qp_num, p->a->qp_num);
	CU_ASSERT_EQUAL(p->a->state, IBV_QPS_ERR);
	CU_ASSERT_EQUAL(atomic_load(&p->a->ctrl->state), IBV_QPS_ERR);
	c = fx_poll1(p->cqa);
	CU_ASSERT_EQUAL(c.wr_id, 1000);
	CU_ASSERT_EQUAL(c.status, IBV_WC_WR_FLUSH_ERR);
	CU_ASSERT(fx_cq_empty(p->cqa));
}

static struct apir_send_wqe write_wqe(const struct fx_pair *p, uint32_t len)
{
	struct apir_send_wqe w = fx_wqe(7, IBV_WR_RDMA_WRITE);

	fx_wqe_sge(&w, p->ma, 0, len);
	fx_wqe_remote(&w, p->mb, 0);
	return w;
}

/* ---- local keys ----------------------------------------------------------------- */

static void local_key_case(void (*spoil)(struct fx_pair *p, struct apir_send_wqe *w))
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_recv_wqe r;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	r = fx_recv_wqe(1, p.mb, 0, 64);
	fx_post_recv(p.b, &r);
	w = fx_wqe(7, IBV_WR_SEND);
	fx_wqe_sge(&w, p.ma, 0, 32);
	spoil(&p, &w);
	expect_requester_error(&p, &w, IBV_WC_LOC_PROT_ERR);
	expect_untouched(&p);
	/* Nothing reached the responder: its receive is still posted. */
	CU_ASSERT_EQUAL(p.b->rq_cons, 0);
	CU_ASSERT(fx_cq_empty(p.cqb));
	CU_ASSERT_EQUAL(p.b->state, IBV_QPS_RTS);
	fx_teardown();
}

static void spoil_unknown_lkey(struct fx_pair *p, struct apir_send_wqe *w)
{
	(void)p;
	w->sge[0].lkey ^= 0x5a5a5a5a;
}

static void spoil_rkey_as_lkey(struct fx_pair *p, struct apir_send_wqe *w)
{
	w->sge[0].lkey = p->ma->rkey;
}

static void spoil_other_session(struct fx_pair *p, struct apir_send_wqe *w)
{
	/* Guest 1's region, named by guest 0 with guest 1's valid lkey. */
	w->sge[0].lkey = p->mb->lkey;
	w->sge[0].addr = fx_addr(p->mb, 0);
}

static void spoil_other_pd(struct fx_pair *p, struct apir_send_wqe *w)
{
	struct apird_mr *mr = fx_mr(fx_pd(0), 4096, FX_ALL_ACCESS, 0xaa);

	(void)p;
	w->sge[0] = (struct apir_sge){ .addr = fx_addr(mr, 0), .length = 32, .lkey = mr->lkey };
}

static void spoil_below_iova(struct fx_pair *p, struct apir_send_wqe *w)
{
	w->sge[0].addr = p->ma->iova - 1;
}

static void spoil_past_end(struct fx_pair *p, struct apir_send_wqe *w)
{
	w->sge[0].addr = fx_addr(p->ma, 65536 - 31);
}

static void spoil_wrapping_addr(struct fx_pair *p, struct apir_send_wqe *w)
{
	(void)p;
	w->sge[0].addr = UINT64_MAX - 8;
}

static void spoil_second_sge(struct fx_pair *p, struct apir_send_wqe *w)
{
	fx_wqe_sge(w, p->ma, 65536, 1);
}

static void test_lkey_unknown(void) { local_key_case(spoil_unknown_lkey); }
static void test_lkey_is_rkey(void) { local_key_case(spoil_rkey_as_lkey); }
static void test_lkey_other_session(void) { local_key_case(spoil_other_session); }
static void test_lkey_other_pd(void) { local_key_case(spoil_other_pd); }
static void test_lkey_below_iova(void) { local_key_case(spoil_below_iova); }
static void test_lkey_past_end(void) { local_key_case(spoil_past_end); }
static void test_lkey_wrapping(void) { local_key_case(spoil_wrapping_addr); }
static void test_lkey_second_sge(void) { local_key_case(spoil_second_sge); }

static void test_read_needs_local_write(void)
{
	struct fx_pair p;
	struct apird_mr *ro;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	ro = fx_mr(p.pa, 4096, IBV_ACCESS_REMOTE_READ, 0xcc);
	w = fx_wqe(7, IBV_WR_RDMA_READ);
	fx_wqe_sge(&w, ro, 0, 64);
	fx_wqe_remote(&w, p.mb, 0);
	expect_requester_error(&p, &w, IBV_WC_LOC_PROT_ERR);
	CU_ASSERT(fx_all_bytes(ro->base, 4096, 0xcc));
	fx_teardown();
}

static void test_message_too_long(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	w = fx_wqe(7, IBV_WR_RDMA_WRITE);
	for (int i = 0; i < 9; i++)
		fx_wqe_sge(&w, p.ma, 0, 0x10000000);  /* 9 x 256 MiB > 2 GiB */
	fx_wqe_remote(&w, p.mb, 0);
	expect_requester_error(&p, &w, IBV_WC_LOC_LEN_ERR);
	expect_untouched(&p);
	fx_teardown();
}

static void test_inline_too_long(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	p.a->cap.max_inline_data = 64;
	w = write_wqe(&p, 0);
	w.num_sge = 0;
	w.send_flags |= APIR_WQE_INLINE;
	w.inline_len = 65;
	expect_requester_error(&p, &w, IBV_WC_LOC_LEN_ERR);
	expect_untouched(&p);
	fx_teardown();
}

static void test_too_many_sges(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	p.a->cap.max_send_sge = 2;
	w = write_wqe(&p, 8);
	fx_wqe_sge(&w, p.ma, 8, 8);
	fx_wqe_sge(&w, p.ma, 16, 8);
	expect_requester_error(&p, &w, IBV_WC_LOC_QP_OP_ERR);
	expect_untouched(&p);
	fx_teardown();
}

static void opcode_case(uint32_t opcode)
{
	struct fx_pair p;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	w = write_wqe(&p, 8);
	w.opcode = opcode;
	w.imm_data = p.mb->rkey;
	expect_requester_error(&p, &w, IBV_WC_LOC_QP_OP_ERR);
	expect_untouched(&p);
	fx_teardown();
}

static void test_opcode_send_with_inv(void) { opcode_case(IBV_WR_SEND_WITH_INV); }
static void test_opcode_local_inv(void) { opcode_case(IBV_WR_LOCAL_INV); }
static void test_opcode_bind_mw(void) { opcode_case(IBV_WR_BIND_MW); }
static void test_opcode_garbage(void) { opcode_case(0xdead); }

/* ---- remote keys ------------------------------------------------------------------ */

/* The request is rejected by the responder: REM_ACCESS_ERR at the
 * requester, the responder in ERR with IBV_EVENT_QP_ACCESS_ERR. */
static void remote_case(enum ibv_wr_opcode opcode,
			void (*spoil)(struct fx_pair *p, struct apir_send_wqe *w))
{
	struct fx_pair p;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	w = write_wqe(&p, opcode == IBV_WR_RDMA_WRITE || opcode == IBV_WR_RDMA_READ ? 64 : 8);
	w.opcode = opcode;
	if (spoil)
		spoil(&p, &w);
	expect_requester_error(&p, &w, IBV_WC_REM_ACCESS_ERR);
	expect_untouched(&p);
	CU_ASSERT_EQUAL(p.b->state, IBV_QPS_ERR);
	fx_expect_async(1, IBV_EVENT_QP_ACCESS_ERR, APIR_OBJ_QP, p.b->handle);
	CU_ASSERT(fx_async_none(0));
	fx_teardown();
}

static void rspoil_unknown(struct fx_pair *p, struct apir_send_wqe *w)
{
	w->rkey = p->mb->rkey ^ 0x10101;
}

static void rspoil_lkey(struct fx_pair *p, struct apir_send_wqe *w)
{
	w->rkey = p->mb->lkey;
}

static void rspoil_past_end(struct fx_pair *p, struct apir_send_wqe *w)
{
	w->remote_addr = fx_addr(p->mb, 65536 - 8);
}

static void rspoil_below(struct fx_pair *p, struct apir_send_wqe *w)
{
	w->remote_addr = p->mb->iova - 8;
}

static void rspoil_no_access(struct fx_pair *p, struct apir_send_wqe *w)
{
	(void)w;
	p->mb->access = IBV_ACCESS_LOCAL_WRITE;
}

static void rspoil_qp_access(struct fx_pair *p, struct apir_send_wqe *w)
{
	(void)w;
	p->b->attr.qp_access_flags = 0;
}

/* A region of the responder's session but another PD than the QP's. */
static void rspoil_other_pd(struct fx_pair *p, struct apir_send_wqe *w)
{
	struct apird_mr *mr = fx_mr(fx_pd(1), 4096, FX_ALL_ACCESS, 0xbb);

	(void)p;
	w->remote_addr = fx_addr(mr, 0);
	w->rkey = mr->rkey;
}

/* The requester's own region used as the target of its peer. */
static void rspoil_requester_mr(struct fx_pair *p, struct apir_send_wqe *w)
{
	w->remote_addr = fx_addr(p->ma, 4096);
	w->rkey = p->ma->rkey;
}

static void test_rkey_unknown(void) { remote_case(IBV_WR_RDMA_WRITE, rspoil_unknown); }
static void test_rkey_is_lkey(void) { remote_case(IBV_WR_RDMA_WRITE, rspoil_lkey); }
static void test_rkey_past_end(void) { remote_case(IBV_WR_RDMA_WRITE, rspoil_past_end); }
static void test_rkey_below(void) { remote_case(IBV_WR_RDMA_READ, rspoil_below); }
static void test_rkey_other_pd(void) { remote_case(IBV_WR_RDMA_WRITE, rspoil_other_pd); }
static void test_rkey_requester_mr(void) { remote_case(IBV_WR_RDMA_WRITE, rspoil_requester_mr); }
static void test_write_no_mr_access(void) { remote_case(IBV_WR_RDMA_WRITE, rspoil_no_access); }
static void test_write_no_qp_access(void) { remote_case(IBV_WR_RDMA_WRITE, rspoil_qp_access); }
static void test_read_no_mr_access(void) { remote_case(IBV_WR_RDMA_READ, rspoil_no_access); }
static void test_read_no_qp_access(void) { remote_case(IBV_WR_RDMA_READ, rspoil_qp_access); }
static void test_atomic_no_mr_access(void) { remote_case(IBV_WR_ATOMIC_FETCH_AND_ADD, rspoil_no_access); }
static void test_atomic_no_qp_access(void) { remote_case(IBV_WR_ATOMIC_CMP_AND_SWP, rspoil_qp_access); }

/* Only REMOTE_READ granted: a write is refused, a read is fine. */
static void test_access_is_per_right(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	p.mb->access = IBV_ACCESS_REMOTE_READ;
	w = write_wqe(&p, 64);
	w.opcode = IBV_WR_RDMA_READ;
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT(fx_all_bytes(p.ma->base, 64, 0xbb));
	fx_teardown();
}

/* ---- the responder's receive ----------------------------------------------------- */

static void recv_case(struct apir_recv_wqe (*make)(struct fx_pair *p), uint32_t len,
		      enum ibv_wc_status responder, enum ibv_wc_status requester)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_recv_wqe r, r2;
	struct apir_cqe c;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	r = make(&p);
	fx_post_recv(p.b, &r);
	r2 = fx_recv_wqe(2, p.mb, 1024, 1024);
	fx_post_recv(p.b, &r2);
	w = fx_wqe(7, IBV_WR_SEND);
	fx_wqe_sge(&w, p.ma, 0, len);
	expect_requester_error(&p, &w, requester);
	expect_untouched(&p);
	c = fx_poll1(p.cqb);
	CU_ASSERT_EQUAL(c.wr_id, 1);
	CU_ASSERT_EQUAL(c.status, responder);
	CU_ASSERT_EQUAL(c.qp_num, p.b->qp_num);
	CU_ASSERT_EQUAL(p.b->state, IBV_QPS_ERR);
	c = fx_poll1(p.cqb);   /* the responder's next receive is flushed */
	CU_ASSERT_EQUAL(c.wr_id, 2);
	CU_ASSERT_EQUAL(c.status, IBV_WC_WR_FLUSH_ERR);
	CU_ASSERT_EQUAL(c.opcode, IBV_WC_RECV);
	CU_ASSERT(fx_async_none(1));   /* its completion says it all */
	fx_teardown();
}

static struct apir_recv_wqe recv_small(struct fx_pair *p)
{
	return fx_recv_wqe(1, p->mb, 0, 63);
}

static struct apir_recv_wqe recv_bad_lkey(struct fx_pair *p)
{
	struct apir_recv_wqe r = fx_recv_wqe(1, p->mb, 0, 64);

	r.sge[0].lkey = p->mb->rkey;
	return r;
}

static struct apir_recv_wqe recv_read_only(struct fx_pair *p)
{
	struct apird_mr *ro = fx_mr(p->pb, 4096, IBV_ACCESS_REMOTE_READ, 0xbb);

	return fx_recv_wqe(1, ro, 0, 64);
}

static struct apir_recv_wqe recv_other_session(struct fx_pair *p)
{
	return fx_recv_wqe(1, p->ma, 0, 64);
}

static struct apir_recv_wqe recv_too_many_sges(struct fx_pair *p)
{
	struct apir_recv_wqe r = fx_recv_wqe(1, p->mb, 0, 64);

	r.num_sge = APIR_MAX_SGE + 1;
	return r;
}

static void test_recv_too_small(void)
{
	recv_case(recv_small, 64, IBV_WC_LOC_LEN_ERR, IBV_WC_REM_INV_REQ_ERR);
}

static void test_recv_bad_lkey(void)
{
	recv_case(recv_bad_lkey, 64, IBV_WC_LOC_PROT_ERR, IBV_WC_REM_OP_ERR);
}

static void test_recv_no_local_write(void)
{
	recv_case(recv_read_only, 64, IBV_WC_LOC_PROT_ERR, IBV_WC_REM_OP_ERR);
}

static void test_recv_other_session(void)
{
	recv_case(recv_other_session, 64, IBV_WC_LOC_PROT_ERR, IBV_WC_REM_OP_ERR);
}

static void test_recv_too_many_sges(void)
{
	recv_case(recv_too_many_sges, 64, IBV_WC_LOC_QP_OP_ERR, IBV_WC_REM_OP_ERR);
}

/* ---- the destination --------------------------------------------------------------- */

static void destination_case(void (*spoil)(struct fx_pair *p))
{
	struct fx_pair p;
	struct apir_send_wqe w;

	struct apir_send_wqe next = fx_wqe(1000, IBV_WR_RDMA_WRITE);

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	p.a->attr.timeout = 1;     /* 8.192 us x (retry_cnt + 1) */
	p.a->attr.retry_cnt = 1;
	spoil(&p);
	w = write_wqe(&p, 64);
	fx_post_send(p.a, &w);
	fx_post_send(p.a, &next);
	sw_engine_poll(fx.v);
	/* Like a transport retrying unanswered packets: no error before the
	 * timeout, RETRY_EXC_ERR after it. */
	CU_ASSERT(fx_cq_empty(p.cqa));
	CU_ASSERT_EQUAL(p.a->state, IBV_QPS_RTS);
	usleep((useconds_t)(sw_transport_timeout_ns(p.a) / 1000u) + 1000u);
	sw_engine_poll(fx.v);
	sw_engine_poll(fx.v);
	check_requester_error(&p, &w, IBV_WC_RETRY_EXC_ERR);
	expect_untouched(&p);
	fx_teardown();
}

static void dest_in_init_late(struct fx_pair *p);

/* A responder that reaches RTR after the requester sent is still reached
 * within the transport timeout (the race of two processes connecting). */
static void test_dest_late(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	dest_in_init_late(&p);
	w = write_wqe(&p, 64);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT(fx_cq_empty(p.cqa));
	fx_state(p.b, IBV_QPS_RTR);
	CU_ASSERT(sw_engine_has_work(fx.v));
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT(fx_all_bytes(p.mb->base, 64, 0xaa));
	fx_teardown();
}

static void dest_missing(struct fx_pair *p)
{
	p->a->attr.dest_qp_num = 0xfffff0;
}

static void dest_not_connected_back(struct fx_pair *p)
{
	p->b->attr.dest_qp_num = p->b->qp_num;
}

static void dest_in_init(struct fx_pair *p)
{
	fx_state(p->b, IBV_QPS_RESET);
	fx_state(p->b, IBV_QPS_INIT);
}

static void dest_in_init_late(struct fx_pair *p)
{
	fx_state(p->b, IBV_QPS_RESET);
	fx_state(p->b, IBV_QPS_INIT);
	p->a->attr.timeout = 20;   /* about 4 s: the test finishes well before */
}

static void dest_in_err(struct fx_pair *p)
{
	fx_state(p->b, IBV_QPS_ERR);
}

static void dest_other_type(struct fx_pair *p)
{
	p->b->qp_type = IBV_QPT_UC;
}

/* A QP of a third guest-visible session that did not connect to a. */
static void dest_stranger(struct fx_pair *p)
{
	struct apird_qp *q = fx_qp(p->pb, IBV_QPT_RC, p->cqb, p->cqb, NULL);

	q->attr.dest_qp_num = 0;
	fx_to_rts(q);
	p->a->attr.dest_qp_num = q->qp_num;
}

static void test_dest_missing(void) { destination_case(dest_missing); }
static void test_dest_not_connected_back(void) { destination_case(dest_not_connected_back); }
static void test_dest_in_init(void) { destination_case(dest_in_init); }
static void test_dest_in_err(void) { destination_case(dest_in_err); }
static void test_dest_other_type(void) { destination_case(dest_other_type); }
static void test_dest_stranger(void) { destination_case(dest_stranger); }

/* A responder in RTR (a bandwidth server) receives; so do SQD and SQE. */
static void test_dest_rtr(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	fx_state(p.b, IBV_QPS_RESET);
	fx_state(p.b, IBV_QPS_INIT);
	fx_state(p.b, IBV_QPS_RTR);
	w = write_wqe(&p, 64);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT(fx_all_bytes(p.mb->base, 64, 0xaa));
	fx_teardown();
}

static CU_TestInfo local_tests[] = {
	{ "lkey unknown", test_lkey_unknown },
	{ "lkey is an rkey", test_lkey_is_rkey },
	{ "lkey of another session", test_lkey_other_session },
	{ "lkey of another pd", test_lkey_other_pd },
	{ "sge below iova", test_lkey_below_iova },
	{ "sge past end", test_lkey_past_end },
	{ "sge address wraps", test_lkey_wrapping },
	{ "second sge out of bounds", test_lkey_second_sge },
	{ "read needs local write", test_read_needs_local_write },
	{ "message too long", test_message_too_long },
	{ "inline too long", test_inline_too_long },
	{ "too many sges", test_too_many_sges },
	{ "send with invalidate", test_opcode_send_with_inv },
	{ "local invalidate", test_opcode_local_inv },
	{ "bind mw", test_opcode_bind_mw },
	{ "garbage opcode", test_opcode_garbage },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo remote_tests[] = {
	{ "rkey unknown", test_rkey_unknown },
	{ "rkey is an lkey", test_rkey_is_lkey },
	{ "remote past end", test_rkey_past_end },
	{ "remote below iova", test_rkey_below },
	{ "rkey of another pd", test_rkey_other_pd },
	{ "rkey of the requester", test_rkey_requester_mr },
	{ "write without mr access", test_write_no_mr_access },
	{ "write without qp access", test_write_no_qp_access },
	{ "read without mr access", test_read_no_mr_access },
	{ "read without qp access", test_read_no_qp_access },
	{ "atomic without mr access", test_atomic_no_mr_access },
	{ "atomic without qp access", test_atomic_no_qp_access },
	{ "access is per right", test_access_is_per_right },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo responder_tests[] = {
	{ "receive too small", test_recv_too_small },
	{ "receive bad lkey", test_recv_bad_lkey },
	{ "receive without local write", test_recv_no_local_write },
	{ "receive of another session", test_recv_other_session },
	{ "receive too many sges", test_recv_too_many_sges },
	{ "destination missing", test_dest_missing },
	{ "destination not connected back", test_dest_not_connected_back },
	{ "destination in INIT", test_dest_in_init },
	{ "destination in ERR", test_dest_in_err },
	{ "destination of another type", test_dest_other_type },
	{ "destination connected elsewhere", test_dest_stranger },
	{ "destination in RTR", test_dest_rtr },
	{ "destination reaching RTR late", test_dest_late },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "sw_local_protection", local_tests }, { "sw_remote_protection", remote_tests },
	       { "sw_responder", responder_tests })
