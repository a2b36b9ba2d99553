/* SPDX-License-Identifier: MIT */
/* sw engine queues: ring index validation, CQ overflow, arming, RNR, flush
 * on ERR, SQD, RESET, deadlines and has_work. */
#include <time.h>

#include "test_sw_fixture.h"

static struct apir_send_wqe send_wqe(const struct fx_pair *p, uint64_t wr_id)
{
	struct apir_send_wqe w = fx_wqe(wr_id, IBV_WR_SEND);

	fx_wqe_sge(&w, p->ma, 0, 16);
	return w;
}

static struct apir_send_wqe write_wqe(const struct fx_pair *p, uint64_t wr_id)
{
	struct apir_send_wqe w = fx_wqe(wr_id, IBV_WR_RDMA_WRITE);

	fx_wqe_sge(&w, p->ma, 0, 16);
	fx_wqe_remote(&w, p->mb, 0);
	return w;
}

static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = us * 1000 };

	nanosleep(&ts, NULL);
}

/* ---- ring indices --------------------------------------------------------------- */

static void test_bad_sq_index(void)
{
	struct fx_pair p;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	atomic_store(&p.a->ctrl->sq.prod.value, p.a->sq_entries + 1);
	CU_ASSERT_FALSE(sw_engine_has_work(fx.v));
	CU_ASSERT_EQUAL(sw_engine_poll(fx.v), 0);
	CU_ASSERT_EQUAL(p.a->state, IBV_QPS_ERR);
	CU_ASSERT_EQUAL(atomic_load(&p.a->ctrl->state), IBV_QPS_ERR);
	fx_expect_async(0, IBV_EVENT_QP_FATAL, APIR_OBJ_QP, p.a->handle);
	CU_ASSERT(fx_async_none(0));
	/* Still impossible in ERR: nothing is flushed, nothing crashes, no spin. */
	CU_ASSERT_EQUAL(sw_engine_poll(fx.v), 0);
	CU_ASSERT_FALSE(sw_engine_has_work(fx.v));
	CU_ASSERT(fx_cq_empty(p.cqa));
	CU_ASSERT(fx.v->active_qps != NULL);
	/* RESET gives the QP a new life: apird's index catches up. */
	fx_state(p.a, IBV_QPS_RESET);
	CU_ASSERT_EQUAL(p.a->sq_cons, p.a->sq_entries + 1);
	fx_teardown();
}

/* A producer index behind the consumer is just as impossible. */
static void test_bad_sq_index_backwards(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	w = write_wqe(&p, 1);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_SUCCESS);
	atomic_store(&p.a->ctrl->sq.prod.value, 0);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(p.a->state, IBV_QPS_ERR);
	fx_teardown();
}

static void test_bad_rq_index(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	atomic_store(&p.b->ctrl->rq.prod.value, 1000);
	w = send_wqe(&p, 1);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_REM_OP_ERR);
	CU_ASSERT_EQUAL(p.a->state, IBV_QPS_ERR);
	CU_ASSERT_EQUAL(p.b->state, IBV_QPS_ERR);
	fx_expect_async(1, IBV_EVENT_QP_FATAL, APIR_OBJ_QP, p.b->handle);
	CU_ASSERT(fx_all_bytes(p.mb->base, 65536, 0xbb));
	sw_engine_poll(fx.v);
	CU_ASSERT(fx_cq_empty(p.cqb));
	fx_teardown();
}

/* A WQE whose counts are garbage is clamped when copied and then refused. */
static void test_garbage_wqe(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	memset(&w, 0xff, sizeof(w));
	w.opcode = IBV_WR_RDMA_WRITE;
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_LOC_LEN_ERR);  /* inline_len too big */
	CU_ASSERT(fx_all_bytes(p.mb->base, 65536, 0xbb));
	fx_teardown();
}

/* ---- completion queue ------------------------------------------------------------- */

static void test_cq_overflow(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_cqe c;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	p.a->send_cq = fx_cq(0, 4);
	for (int i = 0; i < 6; i++) {
		w = write_wqe(&p, i);
		fx_post_send(p.a, &w);
	}
	sw_engine_poll(fx.v);
	/* The fifth completion is lost: CQ error once, the QP to ERR. */
	CU_ASSERT_EQUAL(atomic_load(&p.a->send_cq->ctrl->overflow), 1);
	CU_ASSERT(p.a->send_cq->overflowed);
	CU_ASSERT_EQUAL(p.a->state, IBV_QPS_ERR);
	fx_expect_async(0, IBV_EVENT_CQ_ERR, APIR_OBJ_CQ, p.a->send_cq->handle);
	fx_expect_async(0, IBV_EVENT_QP_FATAL, APIR_OBJ_QP, p.a->handle);
	CU_ASSERT(fx_async_none(0));
	for (int i = 0; i < 4; i++) {
		c = fx_poll1(p.a->send_cq);
		CU_ASSERT_EQUAL(c.wr_id, i);
		CU_ASSERT_EQUAL(c.status, IBV_WC_SUCCESS);
	}
	/* The sixth is flushed into the room the poll made. */
	sw_engine_poll(fx.v);
	c = fx_poll1(p.a->send_cq);
	CU_ASSERT_EQUAL(c.wr_id, 5);
	CU_ASSERT_EQUAL(c.status, IBV_WC_WR_FLUSH_ERR);
	CU_ASSERT(fx_async_none(0));
	fx_teardown();
}

static void test_cq_push_direct(void)
{
	struct apird_cq *cq;
	struct apir_cqe c = sw_cqe(5, IBV_WC_SUCCESS, IBV_WC_SEND, 9);

	fx_setup();
	cq = fx_cq(0, 2);
	CU_ASSERT_EQUAL(sw_cq_push(cq, &c, false), 0);
	CU_ASSERT_EQUAL(sw_cq_push(cq, &c, false), 0);
	CU_ASSERT_EQUAL(sw_cq_push(cq, &c, false), -ENOSPC);
	CU_ASSERT_EQUAL(sw_cq_push(cq, &c, false), -ENOSPC);
	fx_expect_async(0, IBV_EVENT_CQ_ERR, APIR_OBJ_CQ, cq->handle);
	CU_ASSERT(fx_async_none(0));   /* once */
	CU_ASSERT_EQUAL(atomic_load(&cq->ctrl->ring.prod.value), 2);
	/* A consumer index ahead of the producer is impossible: nothing written. */
	atomic_store(&cq->ctrl->ring.cons.value, 3);
	CU_ASSERT_EQUAL(sw_cq_push(cq, &c, false), -ENOSPC);
	CU_ASSERT_EQUAL(atomic_load(&cq->ctrl->ring.prod.value), 2);
	atomic_store(&cq->ctrl->ring.cons.value, 2);
	CU_ASSERT_EQUAL(sw_cq_push(cq, &c, false), 0);
	CU_ASSERT_EQUAL(cq->cqes[0].wr_id, 5);
	CU_ASSERT_EQUAL(cq->cqes[0].qp_num, 9);
	fx_teardown();
}

static int channel_events(int rfd, uint64_t *last)
{
	struct apir_cq_event_rec rec;
	int n = 0;

	while (read(rfd, &rec, sizeof(rec)) == (ssize_t)sizeof(rec)) {
		*last = rec.cq_handle;
		n++;
	}
	return n;
}

static void test_arming(void)
{
	struct apird_cq *cq;
	struct apir_cqe ok = sw_cqe(1, IBV_WC_SUCCESS, IBV_WC_RECV, 9);
	struct apir_cqe bad = sw_cqe(2, IBV_WC_LOC_PROT_ERR, IBV_WC_RECV, 9);
	uint64_t h = 0;
	int rfd;

	fx_setup();
	cq = fx_cq(0, 64);
	cq->channel = fx_channel(0, &rfd);

	/* Not armed: no event. */
	sw_cq_push(cq, &ok, true);
	CU_ASSERT_EQUAL(channel_events(rfd, &h), 0);

	/* ARM_NEXT: one event for the next completion, then disarmed. */
	atomic_store(&cq->ctrl->armed, APIR_CQ_ARM_NEXT);
	sw_cq_push(cq, &ok, false);
	CU_ASSERT_EQUAL(channel_events(rfd, &h), 1);
	CU_ASSERT_EQUAL(h, cq->handle);
	CU_ASSERT_EQUAL(atomic_load(&cq->ctrl->armed), APIR_CQ_ARM_NONE);
	sw_cq_push(cq, &ok, false);
	CU_ASSERT_EQUAL(channel_events(rfd, &h), 0);

	/* ARM_SOLICITED: an unsolicited success keeps the arm. */
	atomic_store(&cq->ctrl->armed, APIR_CQ_ARM_SOLICITED);
	sw_cq_push(cq, &ok, false);
	CU_ASSERT_EQUAL(channel_events(rfd, &h), 0);
	CU_ASSERT_EQUAL(atomic_load(&cq->ctrl->armed), APIR_CQ_ARM_SOLICITED);
	sw_cq_push(cq, &ok, true);
	CU_ASSERT_EQUAL(channel_events(rfd, &h), 1);
	CU_ASSERT_EQUAL(atomic_load(&cq->ctrl->armed), APIR_CQ_ARM_NONE);

	/* ... and an error fires it too. */
	atomic_store(&cq->ctrl->armed, APIR_CQ_ARM_SOLICITED);
	sw_cq_push(cq, &bad, false);
	CU_ASSERT_EQUAL(channel_events(rfd, &h), 1);

	/* Garbage in armed is no arm. */
	atomic_store(&cq->ctrl->armed, 77);
	sw_cq_push(cq, &ok, true);
	CU_ASSERT_EQUAL(channel_events(rfd, &h), 0);

	/* Armed without a channel: disarmed, nothing to write to. */
	cq->channel = NULL;
	atomic_store(&cq->ctrl->armed, APIR_CQ_ARM_NEXT);
	sw_cq_push(cq, &ok, false);
	CU_ASSERT_EQUAL(atomic_load(&cq->ctrl->armed), APIR_CQ_ARM_NONE);
	fx_teardown();
}

/* The solicited bit travels with SEND: the responder's CQ fires. */
static void test_solicited_send(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_recv_wqe r;
	uint64_t h = 0;
	int rfd;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	p.cqb->channel = fx_channel(1, &rfd);
	atomic_store(&p.cqb->ctrl->armed, APIR_CQ_ARM_SOLICITED);
	for (int i = 0; i < 2; i++) {
		r = fx_recv_wqe(i, p.mb, 0, 64);
		fx_post_recv(p.b, &r);
	}
	w = send_wqe(&p, 1);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(channel_events(rfd, &h), 0);
	w.send_flags |= IBV_SEND_SOLICITED;
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(channel_events(rfd, &h), 1);
	CU_ASSERT_EQUAL(h, p.cqb->handle);
	fx_teardown();
}

/* ---- RNR -------------------------------------------------------------------------------- */

static void test_rnr_timer_table(void)
{
	CU_ASSERT_EQUAL(sw_rnr_timer_ns(0), 655360000ull);
	CU_ASSERT_EQUAL(sw_rnr_timer_ns(1), 10000ull);
	CU_ASSERT_EQUAL(sw_rnr_timer_ns(5), 60000ull);
	CU_ASSERT_EQUAL(sw_rnr_timer_ns(14), 1280000ull);
	CU_ASSERT_EQUAL(sw_rnr_timer_ns(31), 491520000ull);
}

/* rnr_retry = 2: the first attempt and two retries, then the error. */
static void test_rnr_retry_count(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_cqe c;
	int polls = 0;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	p.a->attr.rnr_retry = 2;
	p.b->attr.min_rnr_timer = 1;    /* 10 us */
	w = send_wqe(&p, 1);
	fx_post_send(p.a, &w);
	for (;;) {
		polls++;
		sw_engine_poll(fx.v);
		if (fx_poll(p.cqa, &c) || polls > 10)
			break;
		CU_ASSERT(p.a->rnr.waiting);
		CU_ASSERT(sw_engine_next_deadline(fx.v) == p.a->rnr.retry_at_ns);
		CU_ASSERT_FALSE(sw_engine_has_work(fx.v));
		sleep_us(30);
	}
	CU_ASSERT_EQUAL(polls, 3);
	CU_ASSERT_EQUAL(c.status, IBV_WC_RNR_RETRY_EXC_ERR);
	CU_ASSERT_EQUAL(p.a->state, IBV_QPS_ERR);
	CU_ASSERT_EQUAL(p.b->state, IBV_QPS_RTS);
	CU_ASSERT_EQUAL(sw_engine_next_deadline(fx.v), 0);
	fx_teardown();
}

static void test_rnr_retry_zero(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	p.a->attr.rnr_retry = 0;
	w = send_wqe(&p, 1);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_RNR_RETRY_EXC_ERR);
	fx_teardown();
}

/* Attempts before the deadline cost no retry; a receive posted meanwhile
 * lets the stalled WQE through at the next sweep; the queue behind it
 * waited its turn (head of line). */
static void test_rnr_early_retry_and_order(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_recv_wqe r;
	uint64_t deadline;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	p.a->attr.rnr_retry = 1;
	p.b->attr.min_rnr_timer = 0;    /* 655 ms */
	w = send_wqe(&p, 1);
	fx_post_send(p.a, &w);
	w = write_wqe(&p, 2);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	deadline = sw_engine_next_deadline(fx.v);
	CU_ASSERT(deadline >= fx.v->now_ns + 600000000ull);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(sw_engine_poll(fx.v), 0);
	CU_ASSERT_EQUAL(p.a->rnr.retries_left, 1);
	CU_ASSERT_EQUAL(sw_engine_next_deadline(fx.v), deadline);
	CU_ASSERT(fx_all_bytes(p.mb->base, 65536, 0xbb));  /* the write waits */
	CU_ASSERT(fx_cq_empty(p.cqa));

	CU_ASSERT_FALSE(sw_engine_has_work(fx.v));
	r = fx_recv_wqe(9, p.mb, 1024, 64);
	fx_post_recv(p.b, &r);
	/* A receive posted without a doorbell still keeps apird awake. */
	CU_ASSERT(sw_engine_has_work(fx.v));
	CU_ASSERT_EQUAL(sw_engine_poll(fx.v), 2);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).wr_id, 1);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).wr_id, 2);
	CU_ASSERT_EQUAL(fx_poll1(p.cqb).wr_id, 9);
	CU_ASSERT_FALSE(p.a->rnr.waiting);
	CU_ASSERT_EQUAL(sw_engine_next_deadline(fx.v), 0);
	fx_teardown();
}

/* rnr_retry = 7 retries forever. WRITE_WITH_IMM stalls the same way. */
static void test_rnr_infinite(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_recv_wqe r;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	p.a->attr.rnr_retry = 7;
	p.b->attr.min_rnr_timer = 1;
	w = write_wqe(&p, 1);
	w.opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
	fx_post_send(p.a, &w);
	for (int i = 0; i < 20; i++) {
		sw_engine_poll(fx.v);
		sleep_us(20);
	}
	CU_ASSERT(fx_cq_empty(p.cqa));
	CU_ASSERT(p.a->rnr.waiting);
	CU_ASSERT(fx_all_bytes(p.mb->base, 65536, 0xbb));  /* nothing written yet */
	r = fx_recv_wqe(3, NULL, 0, 0);
	fx_post_recv(p.b, &r);
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(fx_poll1(p.cqb).opcode, IBV_WC_RECV_RDMA_WITH_IMM);
	CU_ASSERT(fx_all_bytes(p.mb->base, 16, 0xaa));
	fx_teardown();
}

/* ---- ERR, SQD, RESET ------------------------------------------------------------------ */

static void test_flush_on_err(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_recv_wqe r;
	struct apir_cqe c;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	p.a->recv_cq = fx_cq(0, 16);
	fx_state(p.a, IBV_QPS_SQD);      /* queue work that can't run yet */
	w = write_wqe(&p, 1);
	w.send_flags = 0;                /* unsignaled: flushed all the same */
	fx_post_send(p.a, &w);
	w = fx_wqe(2, IBV_WR_RDMA_READ);
	fx_post_send(p.a, &w);
	for (int i = 0; i < 2; i++) {
		r = fx_recv_wqe(10 + i, p.ma, 0, 64);
		fx_post_recv(p.a, &r);
	}
	CU_ASSERT_EQUAL(sw_engine_poll(fx.v), 0);
	fx_state(p.a, IBV_QPS_ERR);
	CU_ASSERT(sw_engine_has_work(fx.v));
	CU_ASSERT_EQUAL(sw_engine_poll(fx.v), 4);
	c = fx_poll1(p.cqa);
	CU_ASSERT_EQUAL(c.wr_id, 1);
	CU_ASSERT_EQUAL(c.status, IBV_WC_WR_FLUSH_ERR);
	CU_ASSERT_EQUAL(c.opcode, IBV_WC_RDMA_WRITE);
	CU_ASSERT_EQUAL(c.qp_num, p.a->qp_num);
	c = fx_poll1(p.cqa);
	CU_ASSERT_EQUAL(c.wr_id, 2);
	CU_ASSERT_EQUAL(c.opcode, IBV_WC_RDMA_READ);
	CU_ASSERT(fx_cq_empty(p.cqa));
	for (int i = 0; i < 2; i++) {
		c = fx_poll1(p.a->recv_cq);
		CU_ASSERT_EQUAL(c.wr_id, 10 + i);
		CU_ASSERT_EQUAL(c.status, IBV_WC_WR_FLUSH_ERR);
		CU_ASSERT_EQUAL(c.opcode, IBV_WC_RECV);
	}
	CU_ASSERT(fx_all_bytes(p.mb->base, 65536, 0xbb));
	CU_ASSERT(fx_async_none(0));     /* a user's move to ERR raises nothing */
	CU_ASSERT_FALSE(sw_engine_has_work(fx.v));

	/* Work posted in ERR is flushed too. */
	w = write_wqe(&p, 3);
	fx_post_send(p.a, &w);
	r = fx_recv_wqe(13, p.ma, 0, 64);
	fx_post_recv(p.a, &r);
	CU_ASSERT(sw_engine_has_work(fx.v));
	sw_engine_poll(fx.v);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).wr_id, 3);
	CU_ASSERT_EQUAL(fx_poll1(p.a->recv_cq).wr_id, 13);
	fx_teardown();
}

static void test_sqd(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	p.a->attr.en_sqd_async_notify = 1;
	fx_state(p.a, IBV_QPS_SQD);
	fx_expect_async(0, IBV_EVENT_SQ_DRAINED, APIR_OBJ_QP, p.a->handle);
	w = write_wqe(&p, 1);
	fx_post_send(p.a, &w);
	CU_ASSERT_FALSE(sw_engine_has_work(fx.v));
	CU_ASSERT_EQUAL(sw_engine_poll(fx.v), 0);
	CU_ASSERT(fx_all_bytes(p.mb->base, 65536, 0xbb));
	fx_state(p.a, IBV_QPS_RTS);
	CU_ASSERT(sw_engine_has_work(fx.v));
	CU_ASSERT_EQUAL(sw_engine_poll(fx.v), 1);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).status, IBV_WC_SUCCESS);
	fx_teardown();
}

/* A WQE stalled on RNR when SQD is entered still finishes; the drained
 * event comes after it. */
static void test_sqd_with_stalled_wqe(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_recv_wqe r;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	p.a->attr.en_sqd_async_notify = 1;
	w = send_wqe(&p, 1);
	fx_post_send(p.a, &w);
	w = write_wqe(&p, 2);
	fx_post_send(p.a, &w);
	sw_engine_poll(fx.v);
	CU_ASSERT(p.a->rnr.waiting);
	fx_state(p.a, IBV_QPS_SQD);
	CU_ASSERT(fx_async_none(0));
	r = fx_recv_wqe(9, p.mb, 1024, 64);
	fx_post_recv(p.b, &r);
	CU_ASSERT_EQUAL(sw_engine_poll(fx.v), 1);
	CU_ASSERT_EQUAL(fx_poll1(p.cqa).wr_id, 1);
	fx_expect_async(0, IBV_EVENT_SQ_DRAINED, APIR_OBJ_QP, p.a->handle);
	CU_ASSERT_EQUAL(sw_engine_poll(fx.v), 0);   /* the write waits for RTS */
	CU_ASSERT(fx_cq_empty(p.cqa));
	fx_teardown();
}

static void test_reset_discards(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	struct apir_recv_wqe r;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	fx_state(p.a, IBV_QPS_SQD);
	w = write_wqe(&p, 1);
	fx_post_send(p.a, &w);
	r = fx_recv_wqe(2, p.ma, 0, 64);
	fx_post_recv(p.a, &r);
	fx_state(p.a, IBV_QPS_RESET);
	CU_ASSERT_EQUAL(atomic_load(&p.a->ctrl->sq.cons.value), 1);
	CU_ASSERT_EQUAL(atomic_load(&p.a->ctrl->rq.cons.value), 1);
	CU_ASSERT(fx.v->active_qps == p.b && p.b->next_active == NULL);
	fx_to_rts(p.a);
	sw_engine_poll(fx.v);
	CU_ASSERT(fx_cq_empty(p.cqa));
	CU_ASSERT(fx_all_bytes(p.mb->base, 65536, 0xbb));
	fx_teardown();
}

/* The sweep list holds exactly the QPs in RTS, SQD, SQE and ERR, whatever
 * the order and repetition of notifications. */
static void test_sweep_membership(void)
{
	struct apird_pd *pd;
	struct apird_cq *cq;
	struct apird_qp *qp;

	fx_setup();
	pd = fx_pd(0);
	cq = fx_cq(0, 16);
	qp = fx_qp(pd, IBV_QPT_RC, cq, cq, NULL);
	fx_state(qp, IBV_QPS_INIT);
	fx_state(qp, IBV_QPS_RTR);
	CU_ASSERT(fx.v->active_qps == NULL);
	fx_state(qp, IBV_QPS_RTS);
	CU_ASSERT(fx.v->active_qps == qp);
	sw_qp_state_changed(fx.v, qp, IBV_QPS_RTR);   /* a repeated notification */
	CU_ASSERT(fx.v->active_qps == qp && qp->next_active == NULL);
	fx_state(qp, IBV_QPS_SQD);
	fx_state(qp, IBV_QPS_ERR);
	CU_ASSERT(fx.v->active_qps == qp && qp->next_active == NULL);
	fx_state(qp, IBV_QPS_RESET);
	CU_ASSERT(fx.v->active_qps == NULL);
	fx_to_rts(qp);
	sw_qp_detach(fx.v, qp);
	CU_ASSERT(fx.v->active_qps == NULL);
	fx_teardown();
}

/* One QP moves at most about SW_SQ_BYTE_BUDGET per sweep. */
static void test_sweep_byte_budget(void)
{
	struct fx_pair p;
	struct apir_send_wqe w;
	unsigned int per_sweep = SW_SQ_BYTE_BUDGET / 65536;

	fx_setup();
	p = fx_pair(IBV_QPT_RC);
	w = fx_wqe(1, IBV_WR_RDMA_WRITE);
	w.send_flags = 0;
	fx_wqe_sge(&w, p.ma, 0, 65536);
	fx_wqe_remote(&w, p.mb, 0);
	for (unsigned int i = 0; i < per_sweep + 3; i++)
		fx_post_send(p.a, &w);
	CU_ASSERT_EQUAL(sw_engine_poll(fx.v), per_sweep);
	CU_ASSERT(sw_engine_has_work(fx.v));
	CU_ASSERT_EQUAL(sw_engine_poll(fx.v), 3);
	CU_ASSERT_FALSE(sw_engine_has_work(fx.v));
	fx_teardown();
}

static CU_TestInfo ring_tests[] = {
	{ "bad sq index", test_bad_sq_index },
	{ "bad sq index backwards", test_bad_sq_index_backwards },
	{ "bad rq index", test_bad_rq_index },
	{ "garbage wqe", test_garbage_wqe },
	{ "sweep byte budget", test_sweep_byte_budget },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo cq_tests[] = {
	{ "overflow through the engine", test_cq_overflow },
	{ "sw_cq_push", test_cq_push_direct },
	{ "arming", test_arming },
	{ "solicited send", test_solicited_send },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo rnr_tests[] = {
	{ "timer table", test_rnr_timer_table },
	{ "retry count", test_rnr_retry_count },
	{ "retry zero", test_rnr_retry_zero },
	{ "early retry, head of line", test_rnr_early_retry_and_order },
	{ "infinite", test_rnr_infinite },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo state_tests[] = {
	{ "flush on ERR", test_flush_on_err },
	{ "SQD", test_sqd },
	{ "SQD with a stalled WQE", test_sqd_with_stalled_wqe },
	{ "RESET discards", test_reset_discards },
	{ "sweep membership", test_sweep_membership },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "sw_rings", ring_tests }, { "sw_cq", cq_tests }, { "sw_rnr", rnr_tests },
	       { "sw_states", state_tests })
