/* SPDX-License-Identifier: MIT */
/*
 * Frontend data path (frontend/verbs): post_send, post_recv, the ibv_wr_*
 * builders, poll_cq and the ibv_cq_ex iterator, run against rings in local
 * memory with the test playing apird's side of each ring. The control
 * plane is not involved.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "queues.h"
#include "unit.h"

#define SQ_ENTRIES 8u
#define RQ_ENTRIES 4u
#define CQ_ENTRIES 8u
#define LIVENESS_POLLS 4096u   /* poll_cq.c checks apird every this many empty polls */

static struct apir_context actx;
static struct apir_session_page page;
static struct apir_qp qp;
static struct apir_cq cq;
static uint32_t apird_sq_cons;   /* apird's side of the SQ */

static void *area_alloc(size_t len)
{
	void *p = aligned_alloc(APIR_PAGE_SIZE, len);

	CU_ASSERT_FATAL(p != NULL);
	memset(p, 0, len);
	return p;
}

static void ring_init(struct apir_ring_ctrl *r, uint32_t entries, uint32_t size)
{
	r->num_entries = entries;
	r->entry_size = size;
}

static void setup(enum ibv_qp_type type, enum ibv_qp_state state)
{
	size_t sq_off, rq_off, cqe_off;

	memset(&actx, 0, sizeof(actx));
	memset(&page, 0, sizeof(page));
	actx.session.page = &page;
	actx.session.doorbell_fd = -1;
	actx.session.conn.t = &apir_transport_unix;   /* doorbells are eventfd writes */
	apird_sq_cons = 0;

	memset(&qp, 0, sizeof(qp));
	qp.area_len = apir_qp_layout(SQ_ENTRIES, RQ_ENTRIES, &sq_off, &rq_off);
	qp.area = area_alloc(qp.area_len);
	qp.ctrl = qp.area;
	ring_init(&qp.ctrl->sq, SQ_ENTRIES, sizeof(struct apir_send_wqe));
	ring_init(&qp.ctrl->rq, RQ_ENTRIES, sizeof(struct apir_recv_wqe));
	qp.sq = (struct apir_send_wqe *)((uint8_t *)qp.area + sq_off);
	qp.rq = (struct apir_recv_wqe *)((uint8_t *)qp.area + rq_off);
	qp.sq_entries = SQ_ENTRIES;
	qp.rq_entries = RQ_ENTRIES;
	qp.cap = (struct ibv_qp_cap){ .max_send_wr = SQ_ENTRIES, .max_recv_wr = RQ_ENTRIES,
				      .max_send_sge = 2, .max_recv_sge = 2, .max_inline_data = 64 };
	qp.ibqp.context = &actx.vctx.context;
	qp.ibqp.qp_type = type;
	qp.ibqp.state = state;
	pthread_spin_init(&qp.sq_lock, PTHREAD_PROCESS_PRIVATE);
	pthread_spin_init(&qp.rq_lock, PTHREAD_PROCESS_PRIVATE);
	apir_qp_ex_ops_init(&qp);

	memset(&cq, 0, sizeof(cq));
	cq.area_len = apir_cq_layout(CQ_ENTRIES, &cqe_off);
	cq.area = area_alloc(cq.area_len);
	cq.ctrl = cq.area;
	ring_init(&cq.ctrl->ring, CQ_ENTRIES, sizeof(struct apir_cqe));
	cq.cqes = (struct apir_cqe *)((uint8_t *)cq.area + cqe_off);
	cq.num_entries = CQ_ENTRIES;
	cq.cq_ex.context = &actx.vctx.context;
	pthread_spin_init(&cq.lock, PTHREAD_PROCESS_PRIVATE);
	apir_cq_ex_ops_init(&cq);
}

static void teardown(void)
{
	free(qp.area);
	free(cq.area);
}

static uint32_t sq_prod(void)
{
	return atomic_load(&qp.ctrl->sq.prod.value);
}

/* apird consumes n WQEs of the SQ. */
static void apird_take_sq(uint32_t n)
{
	apird_sq_cons += n;
	atomic_store(&qp.ctrl->sq.cons.value, apird_sq_cons);
}

/* apird writes a completion. */
static void apird_complete(uint64_t wr_id, enum ibv_wc_opcode op, uint32_t byte_len)
{
	uint32_t prod = atomic_load(&cq.ctrl->ring.prod.value);
	struct apir_cqe *e = &cq.cqes[prod & (CQ_ENTRIES - 1)];

	memset(e, 0, sizeof(*e));
	e->wr_id = wr_id;
	e->status = IBV_WC_SUCCESS;
	e->opcode = op;
	e->byte_len = byte_len;
	e->qp_num = 77;
	e->timestamp_ns = 1234;
	atomic_store(&cq.ctrl->ring.prod.value, prod + 1);
}

/* ---- post_send ------------------------------------------------------------ */

static void test_send_state(void)
{
	struct ibv_sge sge = { .addr = 0x1000, .length = 8, .lkey = 5 };
	struct ibv_send_wr wr = { .wr_id = 1, .sg_list = &sge, .num_sge = 1, .opcode = IBV_WR_SEND };
	struct ibv_send_wr *bad = NULL;
	const enum ibv_qp_state refused[] = { IBV_QPS_RESET, IBV_QPS_INIT, IBV_QPS_RTR };

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		setup(IBV_QPT_RC, refused[i]);
		CU_ASSERT_EQUAL(apir_post_send(&qp.ibqp, &wr, &bad), EINVAL);
		CU_ASSERT_PTR_EQUAL(bad, &wr);
		CU_ASSERT_EQUAL(sq_prod(), 0);
		teardown();
	}
}

static void test_send_chain(void)
{
	uint64_t buf = 0x1122334455667788ull;
	char payload[16] = "inline payload";
	struct ibv_sge sges[2] = { { 0x1000, 100, 7 }, { 0x2000, 200, 8 } };
	struct ibv_sge in = { .addr = (uintptr_t)payload, .length = sizeof(payload) };
	struct ibv_sge at = { .addr = (uintptr_t)&buf, .length = 8, .lkey = 9 };
	struct ibv_send_wr w3 = { .wr_id = 3, .sg_list = &at, .num_sge = 1,
				  .opcode = IBV_WR_ATOMIC_FETCH_AND_ADD, .send_flags = IBV_SEND_SIGNALED };
	struct ibv_send_wr w2 = { .wr_id = 2, .next = &w3, .sg_list = &in, .num_sge = 1,
				  .opcode = IBV_WR_RDMA_WRITE_WITH_IMM, .send_flags = IBV_SEND_INLINE,
				  .imm_data = 0xabcd };
	struct ibv_send_wr w1 = { .wr_id = 1, .next = &w2, .sg_list = sges, .num_sge = 2,
				  .opcode = IBV_WR_SEND };
	struct ibv_send_wr *bad = NULL;

	setup(IBV_QPT_RC, IBV_QPS_RTS);
	w2.wr.rdma.remote_addr = 0xdead000;
	w2.wr.rdma.rkey = 0x42;
	w3.wr.atomic.remote_addr = 0xbeef000;
	w3.wr.atomic.rkey = 0x43;
	w3.wr.atomic.compare_add = 5;
	CU_ASSERT_EQUAL_FATAL(apir_post_send(&qp.ibqp, &w1, &bad), 0);
	memset(payload, 0, sizeof(payload));   /* inline data was captured at post time */
	CU_ASSERT_EQUAL(sq_prod(), 3);

	CU_ASSERT_EQUAL(qp.sq[0].wr_id, 1);
	CU_ASSERT_EQUAL(qp.sq[0].opcode, IBV_WR_SEND);
	CU_ASSERT_EQUAL(qp.sq[0].num_sge, 2);
	CU_ASSERT_EQUAL(qp.sq[0].sge[1].addr, 0x2000);
	CU_ASSERT_EQUAL(qp.sq[0].sge[1].length, 200);
	CU_ASSERT_EQUAL(qp.sq[0].sge[1].lkey, 8);
	CU_ASSERT_EQUAL(qp.sq[0].send_flags & APIR_WQE_INLINE, 0);

	CU_ASSERT_EQUAL(qp.sq[1].opcode, IBV_WR_RDMA_WRITE_WITH_IMM);
	CU_ASSERT(qp.sq[1].send_flags & APIR_WQE_INLINE);
	CU_ASSERT_EQUAL(qp.sq[1].inline_len, 16);
	CU_ASSERT_EQUAL(memcmp(qp.sq[1].inline_data, "inline payload", 15), 0);
	CU_ASSERT_EQUAL(qp.sq[1].remote_addr, 0xdead000);
	CU_ASSERT_EQUAL(qp.sq[1].rkey, 0x42);
	CU_ASSERT_EQUAL(qp.sq[1].imm_data, 0xabcd);

	CU_ASSERT_EQUAL(qp.sq[2].opcode, IBV_WR_ATOMIC_FETCH_AND_ADD);
	CU_ASSERT_EQUAL(qp.sq[2].remote_addr, 0xbeef000);
	CU_ASSERT_EQUAL(qp.sq[2].rkey, 0x43);
	CU_ASSERT_EQUAL(qp.sq[2].compare_add, 5);
	CU_ASSERT(qp.sq[2].send_flags & IBV_SEND_SIGNALED);
	teardown();
}

static void test_send_invalid(void)
{
	char big[65] = { 0 };
	struct ibv_sge sges[3] = { { 0x1000, 1, 1 }, { 0x1000, 1, 1 }, { 0x1000, 1, 1 } };
	struct ibv_sge in = { .addr = (uintptr_t)big, .length = sizeof(big) };
	struct ibv_send_wr too_many = { .sg_list = sges, .num_sge = 3, .opcode = IBV_WR_SEND };
	struct ibv_send_wr too_big = { .sg_list = &in, .num_sge = 1, .opcode = IBV_WR_SEND,
				       .send_flags = IBV_SEND_INLINE };
	struct ibv_send_wr bad_op = { .sg_list = sges, .num_sge = 1, .opcode = IBV_WR_BIND_MW };
	struct ibv_send_wr *bad = NULL;

	setup(IBV_QPT_RC, IBV_QPS_RTS);
	CU_ASSERT_EQUAL(apir_post_send(&qp.ibqp, &too_many, &bad), EINVAL);
	CU_ASSERT_EQUAL(apir_post_send(&qp.ibqp, &too_big, &bad), EINVAL);
	CU_ASSERT_EQUAL(apir_post_send(&qp.ibqp, &bad_op, &bad), EINVAL);
	CU_ASSERT_EQUAL(sq_prod(), 0);
	CU_ASSERT_EQUAL(qp.sq_prod, 0);
	teardown();

	/* UC: no READ; UD: no WRITE, and a destination is required. */
	setup(IBV_QPT_UC, IBV_QPS_RTS);
	bad_op.opcode = IBV_WR_RDMA_READ;
	CU_ASSERT_EQUAL(apir_post_send(&qp.ibqp, &bad_op, &bad), EINVAL);
	teardown();
	setup(IBV_QPT_UD, IBV_QPS_RTS);
	bad_op.opcode = IBV_WR_RDMA_WRITE;
	CU_ASSERT_EQUAL(apir_post_send(&qp.ibqp, &bad_op, &bad), EINVAL);
	bad_op.opcode = IBV_WR_SEND;
	bad_op.wr.ud.ah = NULL;
	CU_ASSERT_EQUAL(apir_post_send(&qp.ibqp, &bad_op, &bad), EINVAL);
	CU_ASSERT_EQUAL(sq_prod(), 0);
	teardown();
}

static void test_send_inline_read(void)
{
	struct ibv_sge sge = { 0x1000, 8, 4 };
	struct ibv_send_wr rd = { .wr_id = 4, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_RDMA_READ, .send_flags = IBV_SEND_INLINE };
	struct ibv_send_wr *bad = NULL;

	setup(IBV_QPT_RC, IBV_QPS_RTS);
	CU_ASSERT_EQUAL_FATAL(apir_post_send(&qp.ibqp, &rd, &bad), 0);
	CU_ASSERT_EQUAL(qp.sq[0].send_flags & APIR_WQE_INLINE, 0);
	CU_ASSERT_EQUAL(qp.sq[0].num_sge, 1);
	CU_ASSERT_EQUAL(qp.sq[0].sge[0].lkey, 4);
	teardown();
}

static void test_send_ud(void)
{
	struct apir_ah ah = { .handle = 31 };
	struct ibv_sge sge = { 0x1000, 10, 1 };
	struct ibv_send_wr wr = { .wr_id = 9, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND_WITH_IMM, .imm_data = 0x55 };
	struct ibv_send_wr *bad = NULL;

	setup(IBV_QPT_UD, IBV_QPS_RTS);
	wr.wr.ud.ah = &ah.ibah;
	wr.wr.ud.remote_qpn = 0x123;
	wr.wr.ud.remote_qkey = 0x11111111;
	CU_ASSERT_EQUAL_FATAL(apir_post_send(&qp.ibqp, &wr, &bad), 0);
	CU_ASSERT_EQUAL(qp.sq[0].ah_handle, 31);
	CU_ASSERT_EQUAL(qp.sq[0].remote_qpn, 0x123);
	CU_ASSERT_EQUAL(qp.sq[0].remote_qkey, 0x11111111);
	CU_ASSERT_EQUAL(qp.sq[0].imm_data, 0x55);
	teardown();
}

static void test_send_full(void)
{
	struct ibv_sge sge = { 0x1000, 10, 1 };
	struct ibv_send_wr wrs[SQ_ENTRIES + 2];
	struct ibv_send_wr *bad = NULL;

	setup(IBV_QPT_RC, IBV_QPS_RTS);
	for (unsigned int i = 0; i < SQ_ENTRIES + 2; i++) {
		wrs[i] = (struct ibv_send_wr){ .wr_id = i, .sg_list = &sge, .num_sge = 1,
					       .opcode = IBV_WR_SEND,
					       .next = i + 1 < SQ_ENTRIES + 2 ? &wrs[i + 1] : NULL };
	}
	CU_ASSERT_EQUAL(apir_post_send(&qp.ibqp, wrs, &bad), ENOMEM);
	CU_ASSERT_PTR_EQUAL(bad, &wrs[SQ_ENTRIES]);
	CU_ASSERT_EQUAL(sq_prod(), SQ_ENTRIES);

	apird_take_sq(2);   /* two slots come free */
	CU_ASSERT_EQUAL(apir_post_send(&qp.ibqp, &wrs[SQ_ENTRIES], &bad), 0);
	CU_ASSERT_EQUAL(sq_prod(), SQ_ENTRIES + 2);
	CU_ASSERT_EQUAL(qp.sq[0].wr_id, SQ_ENTRIES);
	CU_ASSERT_EQUAL(qp.sq[1].wr_id, SQ_ENTRIES + 1);
	teardown();
}

static void test_send_doorbell(void)
{
	struct ibv_sge sge = { 0x1000, 10, 1 };
	struct ibv_send_wr wr = { .sg_list = &sge, .num_sge = 1, .opcode = IBV_WR_SEND };
	struct ibv_send_wr *bad = NULL;
	uint64_t count = 0;

	setup(IBV_QPT_RC, IBV_QPS_RTS);
	actx.session.doorbell_fd = eventfd(0, EFD_NONBLOCK);
	CU_ASSERT_FATAL(actx.session.doorbell_fd >= 0);
	CU_ASSERT_EQUAL(apir_post_send(&qp.ibqp, &wr, &bad), 0);
	CU_ASSERT_EQUAL(read(actx.session.doorbell_fd, &count, sizeof(count)), -1);  /* apird awake: silent */
	atomic_store(&page.engine_sleeping, 1);
	CU_ASSERT_EQUAL(apir_post_send(&qp.ibqp, &wr, &bad), 0);
	CU_ASSERT_EQUAL(read(actx.session.doorbell_fd, &count, sizeof(count)), (ssize_t)sizeof(count));
	CU_ASSERT_EQUAL(count, 1);
	close(actx.session.doorbell_fd);
	teardown();
}

/* ---- ibv_wr_* --------------------------------------------------------------- */

static void test_wr_batch(void)
{
	struct ibv_qp_ex *x = &qp.qp_ex;
	char data[8] = "abcdefg";

	setup(IBV_QPT_RC, IBV_QPS_RTS);
	ibv_wr_start(x);
	x->wr_id = 10;
	x->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_rdma_write(x, 0x77, 0x5000);
	ibv_wr_set_sge(x, 3, 0x1000, 64);
	x->wr_id = 11;
	x->wr_flags = 0;
	ibv_wr_send(x);
	ibv_wr_set_inline_data(x, data, sizeof(data));
	CU_ASSERT_EQUAL(sq_prod(), 0);   /* nothing visible before wr_complete */
	CU_ASSERT_EQUAL(ibv_wr_complete(x), 0);
	CU_ASSERT_EQUAL(sq_prod(), 2);
	CU_ASSERT_EQUAL(qp.sq[0].wr_id, 10);
	CU_ASSERT_EQUAL(qp.sq[0].opcode, IBV_WR_RDMA_WRITE);
	CU_ASSERT(qp.sq[0].send_flags & IBV_SEND_SIGNALED);
	CU_ASSERT_EQUAL(qp.sq[0].rkey, 0x77);
	CU_ASSERT_EQUAL(qp.sq[0].remote_addr, 0x5000);
	CU_ASSERT_EQUAL(qp.sq[0].num_sge, 1);
	CU_ASSERT_EQUAL(qp.sq[0].sge[0].length, 64);
	CU_ASSERT_EQUAL(qp.sq[1].wr_id, 11);
	CU_ASSERT_EQUAL(qp.sq[1].send_flags & IBV_SEND_SIGNALED, 0);
	CU_ASSERT(qp.sq[1].send_flags & APIR_WQE_INLINE);
	CU_ASSERT_EQUAL(qp.sq[1].inline_len, sizeof(data));
	teardown();
}

static void test_wr_errors(void)
{
	struct ibv_qp_ex *x = &qp.qp_ex;
	struct ibv_sge sges[3] = { { 0x1000, 1, 1 }, { 0x1000, 1, 1 }, { 0x1000, 1, 1 } };

	setup(IBV_QPT_RC, IBV_QPS_RTS);
	ibv_wr_start(x);
	ibv_wr_send(x);
	ibv_wr_set_sge(x, 1, 0x1000, 4);
	ibv_wr_send(x);
	ibv_wr_set_sge_list(x, 3, sges);   /* more SGEs than granted */
	CU_ASSERT_EQUAL(ibv_wr_complete(x), EINVAL);
	CU_ASSERT_EQUAL(sq_prod(), 0);
	CU_ASSERT_EQUAL(qp.sq_prod, 0);

	ibv_wr_start(x);
	ibv_wr_set_sge(x, 1, 0x1000, 4);   /* a setter before any builder */
	CU_ASSERT_EQUAL(ibv_wr_complete(x), EINVAL);

	ibv_wr_start(x);
	ibv_wr_atomic_cmp_swp(x, 1, 0x8000, 1, 2);
	ibv_wr_set_sge(x, 1, 0x1000, 8);
	ibv_wr_abort(x);
	CU_ASSERT_EQUAL(qp.sq_prod, 0);

	ibv_wr_start(x);
	for (unsigned int i = 0; i <= SQ_ENTRIES; i++) {
		ibv_wr_send(x);
		ibv_wr_set_sge(x, 1, 0x1000, 4);
	}
	CU_ASSERT_EQUAL(ibv_wr_complete(x), ENOMEM);
	CU_ASSERT_EQUAL(sq_prod(), 0);
	teardown();
}

/* ---- post_recv ---------------------------------------------------------------- */

static void test_recv(void)
{
	struct ibv_sge sge = { 0x3000, 4096, 2 };
	struct ibv_recv_wr wrs[RQ_ENTRIES + 1];
	struct ibv_recv_wr *bad = NULL;

	setup(IBV_QPT_RC, IBV_QPS_RESET);
	for (unsigned int i = 0; i <= RQ_ENTRIES; i++)
		wrs[i] = (struct ibv_recv_wr){ .wr_id = 100 + i, .sg_list = &sge, .num_sge = 1,
					       .next = i < RQ_ENTRIES ? &wrs[i + 1] : NULL };
	CU_ASSERT_EQUAL(apir_post_recv(&qp.ibqp, wrs, &bad), EINVAL);
	qp.ibqp.state = IBV_QPS_INIT;
	CU_ASSERT_EQUAL(apir_post_recv(&qp.ibqp, wrs, &bad), ENOMEM);
	CU_ASSERT_PTR_EQUAL(bad, &wrs[RQ_ENTRIES]);
	CU_ASSERT_EQUAL(atomic_load(&qp.ctrl->rq.prod.value), RQ_ENTRIES);
	CU_ASSERT_EQUAL(qp.rq[3].wr_id, 103);
	CU_ASSERT_EQUAL(qp.rq[3].num_sge, 1);
	CU_ASSERT_EQUAL(qp.rq[3].sge[0].length, 4096);

	wrs[0].num_sge = 3;
	wrs[0].next = NULL;
	atomic_store(&qp.ctrl->rq.cons.value, 1);
	CU_ASSERT_EQUAL(apir_post_recv(&qp.ibqp, wrs, &bad), EINVAL);
	teardown();
}

/* ---- poll_cq ---------------------------------------------------------------- */

static void test_poll(void)
{
	struct ibv_wc wc[4];

	setup(IBV_QPT_RC, IBV_QPS_RTS);
	CU_ASSERT_EQUAL(apir_poll_cq(ibv_cq_ex_to_cq(&cq.cq_ex), 4, wc), 0);
	apird_complete(1, IBV_WC_SEND, 0);
	apird_complete(2, IBV_WC_RDMA_WRITE, 0);
	apird_complete(3, IBV_WC_RECV, 4096);
	CU_ASSERT_EQUAL(apir_poll_cq(ibv_cq_ex_to_cq(&cq.cq_ex), 2, wc), 2);
	CU_ASSERT_EQUAL(wc[0].wr_id, 1);
	CU_ASSERT_EQUAL(wc[1].opcode, IBV_WC_RDMA_WRITE);
	CU_ASSERT_EQUAL(atomic_load(&cq.ctrl->ring.cons.value), 2);
	CU_ASSERT_EQUAL(apir_poll_cq(ibv_cq_ex_to_cq(&cq.cq_ex), 4, wc), 1);
	CU_ASSERT_EQUAL(wc[0].wr_id, 3);
	CU_ASSERT_EQUAL(wc[0].byte_len, 4096);
	CU_ASSERT_EQUAL(wc[0].qp_num, 77);
	CU_ASSERT_EQUAL(wc[0].status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(atomic_load(&cq.ctrl->ring.cons.value), 3);

	/* An impossible producer index is an error, not garbage completions. */
	atomic_store(&cq.ctrl->ring.prod.value, 3 + CQ_ENTRIES + 1);
	CU_ASSERT(apir_poll_cq(ibv_cq_ex_to_cq(&cq.cq_ex), 4, wc) < 0);
	teardown();
}

static void test_poll_liveness(void)
{
	struct ibv_wc wc;
	int rc = 0;

	setup(IBV_QPT_RC, IBV_QPS_RTS);
	atomic_store(&actx.session.conn.dead, true);   /* apird went away */
	for (unsigned int i = 0; i < 2 * LIVENESS_POLLS && rc == 0; i++)
		rc = apir_poll_cq(ibv_cq_ex_to_cq(&cq.cq_ex), 1, &wc);
	CU_ASSERT(rc < 0);
	teardown();
}

static void test_cq_ex(void)
{
	struct ibv_cq_ex *ex = &cq.cq_ex;
	struct ibv_poll_cq_attr attr = { 0 };

	setup(IBV_QPT_RC, IBV_QPS_RTS);
	CU_ASSERT_EQUAL(ibv_start_poll(ex, &attr), ENOENT);
	apird_complete(5, IBV_WC_RECV, 10);
	apird_complete(6, IBV_WC_SEND, 0);
	CU_ASSERT_EQUAL_FATAL(ibv_start_poll(ex, &attr), 0);
	CU_ASSERT_EQUAL(ex->wr_id, 5);
	CU_ASSERT_EQUAL(ex->status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(ibv_wc_read_opcode(ex), IBV_WC_RECV);
	CU_ASSERT_EQUAL(ibv_wc_read_byte_len(ex), 10);
	CU_ASSERT_EQUAL(ibv_wc_read_completion_ts(ex), 1234);
	CU_ASSERT_EQUAL(ibv_next_poll(ex), 0);
	CU_ASSERT_EQUAL(ex->wr_id, 6);
	CU_ASSERT_EQUAL(ibv_next_poll(ex), ENOENT);
	CU_ASSERT_EQUAL(atomic_load(&cq.ctrl->ring.cons.value), 0);  /* published at end_poll */
	ibv_end_poll(ex);
	CU_ASSERT_EQUAL(atomic_load(&cq.ctrl->ring.cons.value), 2);
	CU_ASSERT_EQUAL(ibv_start_poll(ex, &attr), ENOENT);
	teardown();
}

static CU_TestInfo send_tests[] = {
	{ "post in RESET/INIT/RTR is refused", test_send_state },
	{ "a chain of SEND, inline WRITE_IMM, FETCH_ADD", test_send_chain },
	{ "invalid work requests post nothing", test_send_invalid },
	{ "IBV_SEND_INLINE is ignored on RDMA READ", test_send_inline_read },
	{ "UD destination", test_send_ud },
	{ "full ring: ENOMEM at the first WR that does not fit", test_send_full },
	{ "doorbell only when apird sleeps", test_send_doorbell },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo wr_tests[] = {
	{ "a batch is published at wr_complete", test_wr_batch },
	{ "a failed builder or setter fails the batch", test_wr_errors },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo recv_tests[] = {
	{ "post_recv state, full ring, SGE limit", test_recv },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo poll_tests[] = {
	{ "poll_cq reads and consumes CQEs", test_poll },
	{ "poll_cq notices a dead apird", test_poll_liveness },
	{ "ibv_cq_ex iterator", test_cq_ex },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "post_send", send_tests }, { "ibv_wr", wr_tests },
	       { "post_recv", recv_tests }, { "poll_cq", poll_tests })
