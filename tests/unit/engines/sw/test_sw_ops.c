/* SPDX-License-Identifier: MIT */
/* sw engine: every RC/UC opcode moves exactly the right bytes and completes
 * with the right fields. */
#include <pthread.h>

#include "test_sw_fixture.h"

static void test_send_scatter_gather(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_recv_wqe r;
	struct apir_cqe c;
	uint8_t expect[1000];

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	fx_pattern(p.ma->base, 1000, 1);
	memcpy(expect, p.ma->base, 1000);
	/* 3 send SGEs (300 + 0 + 700 bytes) into 2 receive SGEs (600 + 1000). */
	w = fx_wqe(11, IBV_WR_SEND);
	fx_wqe_sge(&w, p.ma, 0, 300);
	fx_wqe_sge(&w, p.ma, 5000, 0);
	fx_wqe_sge(&w, p.ma, 300, 700);
	r = fx_recv_wqe(22, p.mb, 100, 600);
	fx_sge(r.sge, &r.num_sge, p.mb, 4000, 1000);
	fx_post_recv(p.b, &r);
	fx_post_send(p.a, &w);
	CU_ASSERT_EQUAL(sw_engine_poll(fx.v), 1);

	c = fx_poll1(p.cqa);
	CU_ASSERT_EQUAL(c.wr_id, 11);
	CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(c.opcode, IBV_WC_SEND);
	CU_ASSERT_EQUAL(c.qp_num, p.a->qp_num);
	CU_ASSERT(c.timestamp_ns != 0);
	c = fx_poll1(p.cqb);
	CU_ASSERT_EQUAL(c.wr_id, 22);
	CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(c.opcode, IBV_WC_RECV);
	CU_ASSERT_EQUAL(c.byte_len, 1000);
	CU_ASSERT_EQUAL(c.qp_num, p.b->qp_num);
	CU_ASSERT_EQUAL(c.src_qp, p.a->qp_num);
	CU_ASSERT_EQUAL(c.wc_flags, 0);
	CU_ASSERT(memcmp(p.mb->base + 100, expect, 600) == 0);
	CU_ASSERT(memcmp(p.mb->base + 4000, expect + 600, 400) == 0);
	CU_ASSERT(fx_all_bytes(p.mb->base + 4400, 600, 0xbb));
	CU_ASSERT(fx_all_bytes(p.mb->base, 100, 0xbb));
	CU_ASSERT_EQUAL(atomic_load(&p.a->ctrl->sq.cons.value), 1);
	CU_ASSERT_EQUAL(atomic_load(&p.b->ctrl->rq.cons.value), 1);
	CU_ASSERT_EQUAL(p.a->ops_sent, 1);
	CU_ASSERT_EQUAL(p.a->bytes_sent, 1000);
	CU_ASSERT_EQUAL(p.b->ops_received, 1);
	CU_ASSERT_EQUAL(p.b->bytes_received, 1000);
	CU_ASSERT_EQUAL(p.a->ops_received + p.b->ops_sent, 0);
	CU_ASSERT(fx_cq_empty(p.cqa) && fx_cq_empty(p.cqb));
	fx_teardown();
}

static void test_send_with_imm_and_inline(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_recv_wqe r;
	struct apir_cqe c;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	r = fx_recv_wqe(1, p.mb, 0, 64);
	fx_post_recv(p.b, &r);
	w = fx_wqe(2, IBV_WR_SEND_WITH_IMM);
	w.send_flags |= APIR_WQE_INLINE;
	w.imm_data = htonl(0x12345678);
	w.inline_len = 5;
	memcpy(w.inline_data, "hello", 5);
	w.num_sge = 99;   /* ignored: the payload is inline */
	fx_post_send(p.a, &w);
	/* The frontend reusing the slot after posting can't change what went out. */
	sw_engine_poll(fx.v);
	c = fx_poll1(p.cqb);
	CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(c.byte_len, 5);
	CU_ASSERT_EQUAL(c.wc_flags, IBV_WC_WITH_IMM);
	CU_ASSERT_EQUAL(c.imm_data, htonl(0x12345678));
	CU_ASSERT(memcmp(p.mb->base, "hello", 5) == 0);
	CU_ASSERT_EQUAL(p.mb->base[5], 0xbb);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_SUCCESS);
	fx_teardown();
}

static void test_write_and_write_imm(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_recv_wqe r;
	struct apir_cqe c;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	fx_pattern(p.ma->base, 65536, 3);
	w = fx_wqe(5, IBV_WR_RDMA_WRITE);
	fx_wqe_sge(&w, p.ma, 0, 65536 - 128);
	fx_wqe_remote(&w, p.mb, 64);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	c = fx_poll1(p.cqa);
	CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(c.opcode, IBV_WC_RDMA_WRITE);
	CU_ASSERT(memcmp(p.mb->base + 64, p.ma->base, 65536 - 128) == 0);
	CU_ASSERT(fx_all_bytes(p.mb->base, 64, 0xbb));
	CU_ASSERT(fx_all_bytes(p.mb->base + 65536 - 64, 64, 0xbb));
	CU_ASSERT(fx_cq_empty(p.cqb));   /* a plain write consumes no receive */

	/* WRITE_WITH_IMM: data lands, a receive WQE (without SGEs) completes. */
	r = fx_recv_wqe(77, NULL, 0, 0);
	fx_post_recv(p.b, &r);
	w = fx_wqe(6, IBV_WR_RDMA_WRITE_WITH_IMM);
	w.imm_data = htonl(42);
	fx_wqe_sge(&w, p.ma, 1, 10);
	fx_wqe_remote(&w, p.mb, 0);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT(memcmp(p.mb->base, p.ma->base + 1, 10) == 0);
	c = fx_poll1(p.cqb);
	CU_ASSERT_EQUAL(c.wr_id, 77);
	CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(c.opcode, IBV_WC_RECV_RDMA_WITH_IMM);
	CU_ASSERT_EQUAL(c.byte_len, 10);
	CU_ASSERT_EQUAL(c.imm_data, htonl(42));
	CU_ASSERT_EQUAL(c.wc_flags, IBV_WC_WITH_IMM);
	CU_ASSERT_EQUAL(c.src_qp, p.a->qp_num);
	c = fx_poll1(p.cqa);
	CU_ASSERT_EQUAL(c.opcode, IBV_WC_RDMA_WRITE);
	CU_ASSERT_EQUAL(p.a->ops_sent, 2);
	CU_ASSERT_EQUAL(p.b->ops_received, 2);
	CU_ASSERT_EQUAL(p.b->bytes_received, 65536 - 128 + 10);
	fx_teardown();
}

static void test_read(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_cqe c;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	fx_pattern(p.mb->base, 65536, 9);
	w = fx_wqe(8, IBV_WR_RDMA_READ);
	fx_wqe_sge(&w, p.ma, 16, 1000);
	fx_wqe_sge(&w, p.ma, 2000, 24);
	fx_wqe_remote(&w, p.mb, 500);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	c = fx_poll1(p.cqa);
	CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(c.opcode, IBV_WC_RDMA_READ);
	CU_ASSERT_EQUAL(c.byte_len, 1024);
	CU_ASSERT(memcmp(p.ma->base + 16, p.mb->base + 500, 1000) == 0);
	CU_ASSERT(memcmp(p.ma->base + 2000, p.mb->base + 1500, 24) == 0);
	CU_ASSERT(fx_all_bytes(p.ma->base, 16, 0xaa));
	CU_ASSERT(fx_all_bytes(p.ma->base + 1016, 984, 0xaa));
	CU_ASSERT_EQUAL(p.b->ops_received, 1);
	CU_ASSERT_EQUAL(p.b->bytes_received, 1024);
	fx_teardown();
}

static void atomic_post(struct fx_pair *p, enum ibv_wr_opcode op, uint64_t roff, uint64_t cmp_add,
			uint64_t swap)
{
	struct apir_send_wqe w = fx_wqe(op, op);

	fx_wqe_sge(&w, p->ma, 8, 8);
	fx_wqe_remote(&w, p->mb, roff);
	w.compare_add = cmp_add;
	w.swap = swap;
	fx_post_send(p->a, &w);
	sw_engine_poll(fx.v);
}

static void test_atomics(void)
{
	struct fx_pair p;
	uint64_t *target, *result;
	struct apir_cqe c;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	target = (uint64_t *)(p.mb->base + 64);
	result = (uint64_t *)(p.ma->base + 8);
	*target = 100;

	atomic_post(&p, IBV_WR_ATOMIC_FETCH_AND_ADD, 64, 5, 0);
	c = fx_poll1(p.cqa);
	CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(c.opcode, IBV_WC_FETCH_ADD);
	CU_ASSERT_EQUAL(c.byte_len, 8);
	CU_ASSERT_EQUAL(*result, 100);
	CU_ASSERT_EQUAL(*target, 105);

	/* A compare that fails leaves memory alone and returns what is there. */
	atomic_post(&p, IBV_WR_ATOMIC_CMP_AND_SWP, 64, 1, 999);
	c = fx_poll1(p.cqa);
	CU_ASSERT_EQUAL(c.opcode, IBV_WC_COMP_SWAP);
	CU_ASSERT_EQUAL(*result, 105);
	CU_ASSERT_EQUAL(*target, 105);

	atomic_post(&p, IBV_WR_ATOMIC_CMP_AND_SWP, 64, 105, 999);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(*result, 105);
	CU_ASSERT_EQUAL(*target, 999);
	CU_ASSERT_EQUAL(p.b->ops_received, 3);
	CU_ASSERT_EQUAL(p.b->bytes_received, 24);
	fx_teardown();
}

static void test_atomic_misaligned(void)
{
	struct fx_pair p;
	struct apir_cqe c;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	atomic_post(&p, IBV_WR_ATOMIC_FETCH_AND_ADD, 68, 1, 0);
	c = fx_poll1(p.cqa);
	CU_ASSERT_EQUAL(c.status, IBV_WC_REM_INV_REQ_ERR);
	CU_ASSERT(fx_all_bytes(p.mb->base, 128, 0xbb));
	CU_ASSERT(fx_all_bytes(p.ma->base, 128, 0xaa));
	CU_ASSERT_EQUAL(p.a->state, IBV_QPS_ERR);
	CU_ASSERT_EQUAL(atomic_load(&p.a->ctrl->state), IBV_QPS_ERR);
	CU_ASSERT_EQUAL(p.b->state, IBV_QPS_ERR);
	fx_expect_async(1, IBV_EVENT_QP_REQ_ERR, APIR_OBJ_QP, p.b->handle);
	CU_ASSERT(fx_async_none(0));   /* the requester's error is its completion */
	fx_teardown();
}

static void test_atomic_wrong_local_length(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	w = fx_wqe(1, IBV_WR_ATOMIC_FETCH_AND_ADD);
	fx_wqe_sge(&w, p.ma, 8, 4);
	fx_wqe_remote(&w, p.mb, 64);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_LOC_LEN_ERR);
	CU_ASSERT(fx_all_bytes(p.mb->base, 128, 0xbb));
	fx_teardown();
}

static void test_unsignaled_and_sig_all(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	w = fx_wqe(1, IBV_WR_RDMA_WRITE);
	w.send_flags = 0;
	fx_wqe_sge(&w, p.ma, 0, 8);
	fx_wqe_remote(&w, p.mb, 0);
	fx_post_send(p.a, &w);
	CU_ASSERT_EQUAL(sw_engine_poll(fx.v), 1);
	CU_ASSERT(fx_cq_empty(p.cqa));
	CU_ASSERT_EQUAL(atomic_load(&p.a->ctrl->sq.cons.value), 1);
	CU_ASSERT(fx_all_bytes(p.mb->base, 8, 0xaa));

	p.a->sq_sig_all = true;
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).wr_id, 1);
	fx_teardown();
}

static void test_zero_length(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_recv_wqe r;
	struct apir_cqe c;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	/* A zero-length RDMA names no byte: its rkey is not checked. */
	w = fx_wqe(1, IBV_WR_RDMA_WRITE);
	w.rkey = 0xdeadbeef;
	fx_post_send(p.a, &w);
	r = fx_recv_wqe(2, p.mb, 0, 16);
	fx_post_recv(p.b, &r);
	w = fx_wqe(3, IBV_WR_SEND);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_SUCCESS);
	c = fx_poll1(p.cqb);
	CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(c.byte_len, 0);
	CU_ASSERT(fx_all_bytes(p.mb->base, 16, 0xbb));
	fx_teardown();
}

static void test_loopback_overlap(void)
{
	struct apird_pd *pd;
	struct apird_cq *cq;
	struct apird_qp *qp;
	struct apird_mr *mr;
	struct apir_send_wqe w;

	fx_setup();
	pd = fx_pd(0);
	cq = fx_cq(0, 16);
	qp = fx_qp(pd, IBV_QPT_RC, cq, cq, NULL);
	mr = fx_mr(pd, 4096, FX_ALL_ACCESS, 0);
	fx_connect(qp, qp);
	fx_pattern(mr->base, 4096, 0);
	/* Source and target overlap inside one region: defined (memmove). */
	w = fx_wqe(1, IBV_WR_RDMA_WRITE);
	fx_wqe_sge(&w, mr, 0, 2048);
	fx_wqe_remote(&w, mr, 1024);
	fx_post_send(qp, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(cq).status, IBV_WC_SUCCESS);
	for (int i = 0; i < 2048; i++)
		if (mr->base[1024 + i] != (uint8_t)(i * 7))
			CU_FAIL("overlapping copy");
	fx_teardown();
}

static void test_srq(void)
{
	struct apird_pd *pa, *pb;
	struct apird_cq *cqa, *cqb;
	struct apird_srq *srq;
	struct apird_qp *a1, *a2, *b1, *b2;
	struct apird_mr *ma, *mb;
	struct apir_send_wqe w;
	struct apir_recv_wqe r;
	struct apir_cqe c;
	uint32_t qpns;

	fx_setup();
	pa = fx_pd(0);
	pb = fx_pd(1);
	cqa = fx_cq(0, 16);
	cqb = fx_cq(1, 16);
	srq = fx_srq(pb, 8);
	a1 = fx_qp(pa, IBV_QPT_RC, cqa, cqa, NULL);
	a2 = fx_qp(pa, IBV_QPT_RC, cqa, cqa, NULL);
	b1 = fx_qp(pb, IBV_QPT_RC, cqb, cqb, srq);
	b2 = fx_qp(pb, IBV_QPT_RC, cqb, cqb, srq);
	ma = fx_mr(pa, 4096, FX_ALL_ACCESS, 0x11);
	mb = fx_mr(pb, 4096, FX_ALL_ACCESS, 0);
	fx_connect(a1, b1);
	fx_connect(a2, b2);
	for (int i = 0; i < 3; i++) {
		r = fx_recv_wqe(100 + i, mb, 64 * i, 64);
		fx_post_srq_recv(srq, &r);
	}
	srq->srq_limit = 2;
	w = fx_wqe(1, IBV_WR_SEND);
	fx_wqe_sge(&w, ma, 0, 10);
	fx_post_send(a1, &w);
	fx_post_send(a2, &w);
	sw_engine_poll(fx.v);
	/* Both QPs took the SRQ's WQEs in order, whichever was swept first. */
	c = fx_poll1(cqb);
	CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(c.wr_id, 100);
	qpns = c.qp_num;
	c = fx_poll1(cqb);
	CU_ASSERT_EQUAL(c.wr_id, 101);
	qpns ^= c.qp_num;
	CU_ASSERT_EQUAL(qpns, b1->qp_num ^ b2->qp_num);
	CU_ASSERT_EQUAL(srq->cons, 2);
	CU_ASSERT_EQUAL(atomic_load(&srq->ctrl->ring.cons.value), 2);
	CU_ASSERT(fx_all_bytes(mb->base, 10, 0x11));
	CU_ASSERT(fx_all_bytes(mb->base + 64, 10, 0x11));
	/* One WQE left, below the limit of 2: one event, then disarmed. */
	fx_expect_async(1, IBV_EVENT_SRQ_LIMIT_REACHED, APIR_OBJ_SRQ, srq->handle);
	CU_ASSERT(fx_async_none(1));
	CU_ASSERT_EQUAL(srq->srq_limit, 0);

	/* A QP of an SRQ going to ERR flushes nothing of the SRQ's. */
	fx_state(b1, IBV_QPS_ERR);
	sw_engine_poll(fx.v);
	CU_ASSERT(fx_cq_empty(cqb));
	CU_ASSERT_EQUAL(srq->cons, 2);
	fx_expect_async(1, IBV_EVENT_QP_LAST_WQE_REACHED, APIR_OBJ_QP, b1->handle);
	fx_teardown();
}

static void test_uc(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_recv_wqe r;

	fx_setup();
	p = fx_pair(IBV_QPT_UC);
	/* No receive posted: UC drops the message, the sender succeeds. */
	w = fx_wqe(1, IBV_WR_SEND);
	fx_wqe_sge(&w, p.ma, 0, 16);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT_FALSE(p.a->rnr.waiting);

	/* A bad rkey: dropped silently, nobody goes to ERR. */
	w = fx_wqe(2, IBV_WR_RDMA_WRITE);
	fx_wqe_sge(&w, p.ma, 0, 16);
	w.remote_addr = fx_addr(p.mb, 0);
	w.rkey = p.mb->rkey + 1;
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT(fx_all_bytes(p.mb->base, 64, 0xbb));
	CU_ASSERT_EQUAL(p.b->state, IBV_QPS_RTS);

	/* A good write with immediate works as on RC. */
	r = fx_recv_wqe(9, NULL, 0, 0);
	fx_post_recv(p.b, &r);
	w = fx_wqe(3, IBV_WR_RDMA_WRITE_WITH_IMM);
	fx_wqe_sge(&w, p.ma, 0, 16);
	fx_wqe_remote(&w, p.mb, 0);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(fx_poll1(p.cqb).opcode, IBV_WC_RECV_RDMA_WITH_IMM);
	CU_ASSERT(fx_all_bytes(p.mb->base, 16, 0xaa));

	/* READ is not a UC operation. */
	w = fx_wqe(4, IBV_WR_RDMA_READ);
	fx_wqe_sge(&w, p.ma, 0, 16);
	fx_wqe_remote(&w, p.mb, 0);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_LOC_QP_OP_ERR);
	CU_ASSERT_EQUAL(p.a->state, IBV_QPS_SQE);
	fx_teardown();
}

/* ib_write_lat's way of waiting: spin on the last byte of the buffer, then
 * read the rest. Whenever the last byte shows round k, every byte must. */
#define VIS_LEN 65536u
#define VIS_ROUNDS 200

struct vis_reader {
	const volatile uint8_t *buf;
	_Atomic int acked;               /* last round the reader checked */
	int torn;                        /* rounds where a byte was older */
};

static void *vis_read(void *arg)
{
	struct vis_reader *v = arg;

	for (int k = 1; k <= VIS_ROUNDS; k++) {
		while (v->buf[VIS_LEN - 1] != (uint8_t)k)
			;
		atomic_thread_fence(memory_order_acquire);
		for (uint32_t i = 0; i < VIS_LEN - 1; i++) {
			if (v->buf[i] != (uint8_t)k) {
				v->torn++;
				break;
			}
		}
		atomic_store(&v->acked, k);
	}
	return NULL;
}

static void test_write_visibility_order(void)
{
	struct fx_pair p;
	struct vis_reader v = { 0 };
	pthread_t t;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	memset(p.mb->base, 0, VIS_LEN);
	v.buf = p.mb->base;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, vis_read, &v) == 0);
	for (int k = 1; k <= VIS_ROUNDS; k++) {
		struct apir_send_wqe w = fx_wqe(k, IBV_WR_RDMA_WRITE);

		/* Two SGEs so that the copy crosses segments. */
		memset(p.ma->base, k, VIS_LEN);
		fx_wqe_sge(&w, p.ma, 0, 1000);
		fx_wqe_sge(&w, p.ma, 1000, VIS_LEN - 1000);
		fx_wqe_remote(&w, p.mb, 0);
		w.send_flags = 0;
		fx_post_send(p.a, &w);
		sw_engine_poll(fx.v);
		while (atomic_load(&v.acked) != k)
			;
	}
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(v.torn, 0);
	fx_teardown();
}

static CU_TestInfo ops_tests[] = {
	{ "send scatter/gather", test_send_scatter_gather },
	{ "send with imm, inline", test_send_with_imm_and_inline },
	{ "rdma write, write with imm", test_write_and_write_imm },
	{ "rdma read", test_read },
	{ "atomics", test_atomics },
	{ "atomic misaligned", test_atomic_misaligned },
	{ "atomic local length", test_atomic_wrong_local_length },
	{ "unsignaled, sq_sig_all", test_unsignaled_and_sig_all },
	{ "zero length", test_zero_length },
	{ "loopback overlap", test_loopback_overlap },
	{ "srq", test_srq },
	{ "uc", test_uc },
	{ "write visibility order", test_write_visibility_order },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "sw_ops", ops_tests })
