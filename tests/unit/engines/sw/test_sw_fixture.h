/* SPDX-License-Identifier: MIT */
/*
 * Fixture for the sw engine tests: a real apird (daemon state, sessions,
 * QPN registry, MR key table from apird_core) with PDs, MRs, CQs, SRQs, QPs
 * and AHs built in anonymous memory, laid out exactly as apird lays out
 * its shared areas, and a frontend's side of the rings (post, poll, arm).
 * Objects are created directly rather than through control calls so that a
 * test names every field the engine depends on.
 */
#ifndef TEST_SW_FIXTURE_H
#define TEST_SW_FIXTURE_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "session.h"
#include "sw.h"
#include "test_daemon.h"
#include "unit.h"

#define FX_MAX_OBJS 64
#define FX_MAX_SESSIONS 4
#define FX_ALL_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		       IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)

struct fx_area {
	void *p;
	size_t len;
};

static struct {
	struct apird d;
	struct verbs_dev *v;         /* d's verbs device */
	struct apird_session *s[FX_MAX_SESSIONS];  /* guests: 0 and 1 on d, more on other daemons */
	int peer_sock[FX_MAX_SESSIONS];
	unsigned int nsessions;
	struct apird_qp *qps[FX_MAX_OBJS];
	unsigned int nqps;
	struct apird_mr *mrs[FX_MAX_OBJS];
	unsigned int nmrs;
	struct apird_srq *srqs[FX_MAX_OBJS];
	unsigned int nsrqs;
	struct apird_ah *ahs[FX_MAX_OBJS];
	unsigned int nahs;
	void *heap[4 * FX_MAX_OBJS];     /* PDs, CQs, channels */
	unsigned int nheap;
	struct fx_area areas[4 * FX_MAX_OBJS];
	unsigned int nareas;
	int fds[2 * FX_MAX_OBJS];
	unsigned int nfds;
	uint64_t next_iova;
} fx;

static inline void *fx_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CU_ASSERT_FATAL(p != MAP_FAILED);
	fx.areas[fx.nareas++] = (struct fx_area){ p, len };
	return p;
}

static inline void *fx_alloc(size_t len)
{
	void *p = calloc(1, len);

	CU_ASSERT_FATAL(p != NULL);
	fx.heap[fx.nheap++] = p;
	return p;
}

/* A verbs guest of daemon d; returns its index in fx.s. */
static inline int fx_session(struct apird *d)
{
	int sp[2], i = (int)fx.nsessions++;

	CU_ASSERT_FATAL(i < FX_MAX_SESSIONS);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	fx.s[i] = test_verbs_session(d, sp[0]);
	fx.peer_sock[i] = sp[1];
	/* The tests read async events where a frontend would. */
	CU_ASSERT_FATAL(fcntl(unix_conn_of(fx.s[i])->async_read_fd, F_SETFL, O_NONBLOCK) == 0);
	return i;
}

/* fx.d from cfg, with guests 0 and 1. */
static inline void fx_setup_with(const struct apird_config *cfg)
{
	memset(&fx, 0, sizeof(fx));
	apir_log_init("test_sw", cfg->log_level);
	CU_ASSERT_FATAL(test_daemon_init(&fx.d, cfg) == 0);
	fx.v = test_verbs_dev(&fx.d);
	fx_session(&fx.d);
	fx_session(&fx.d);
	fx.next_iova = 0x100000000ull;
}

static inline void fx_setup(void)
{
	struct apird_config cfg;

	apird_config_defaults(&cfg);
	cfg.log_level = APIR_LOG_ERROR;
	fx_setup_with(&cfg);
}

/* Objects belong to the daemon of their session (fx.d, or another one a
 * test made with fx_session()). */
static inline void fx_teardown(void)
{
	for (unsigned int i = 0; i < fx.nqps; i++) {
		struct verbs_dev *d = verbs_dev_of(fx.qps[i]->session);

		d->engine->destroy_qp(d, fx.qps[i]);
		apird_qpn_release(d, fx.qps[i]);
		free(fx.qps[i]);
	}
	for (unsigned int i = 0; i < fx.nmrs; i++) {
		struct verbs_dev *d = verbs_dev_of(fx.mrs[i]->session);

		apird_mr_keys_release(d, fx.mrs[i]);
		d->engine->dereg_mr(d, fx.mrs[i]);
		free(fx.mrs[i]);
	}
	for (unsigned int i = 0; i < fx.nsrqs; i++) {
		apird_srqn_release(verbs_dev_of(fx.srqs[i]->session), fx.srqs[i]);
		free(fx.srqs[i]);
	}
	for (unsigned int i = 0; i < fx.nahs; i++) {
		apird_table_remove(&verbs_session(fx.ahs[i]->session)->ahs, fx.ahs[i]->handle);
		free(fx.ahs[i]);
	}
	CU_ASSERT(fx.v->active_qps == NULL);
	apird_daemon_fini(&fx.d);
	for (unsigned int i = 0; i < fx.nheap; i++)
		free(fx.heap[i]);
	for (unsigned int i = 0; i < fx.nareas; i++)
		munmap(fx.areas[i].p, fx.areas[i].len);
	for (unsigned int i = 0; i < fx.nfds; i++)
		close(fx.fds[i]);
	for (unsigned int i = 0; i < fx.nsessions; i++)
		close(fx.peer_sock[i]);
}

/* ---- objects --------------------------------------------------------------- */

static inline struct apird_pd *fx_pd(int guest)
{
	struct apird_pd *pd = fx_alloc(sizeof(*pd));

	pd->session = fx.s[guest];
	return pd;
}

/* A region of len bytes at a fresh iova (unrelated to apird's mapping, as
 * ibv_reg_mr_iova2 allows), filled with fill. */
static inline struct apird_mr *fx_mr(struct apird_pd *pd, size_t len, uint32_t access, uint8_t fill)
{
	struct apird_mr *mr = calloc(1, sizeof(*mr));

	CU_ASSERT_FATAL(mr != NULL);
	mr->session = pd->session;
	mr->pd = pd;
	mr->access = access;
	mr->length = len;
	mr->map_len = apir_align_up(len ? len : 1, APIR_PAGE_SIZE);
	mr->map = fx_map(mr->map_len);
	mr->base = mr->map;
	mr->iova = fx.next_iova;
	fx.next_iova += mr->map_len + (1ull << 20);
	memset(mr->base, fill, len);
	CU_ASSERT_FATAL(apird_mr_keys_assign(verbs_dev_of(pd->session), mr) == 0);
	CU_ASSERT_FATAL(verbs_dev_of(pd->session)->engine->reg_mr(verbs_dev_of(pd->session), mr) == 0);
	fx.mrs[fx.nmrs++] = mr;
	return mr;
}

static inline struct apird_cq *fx_cq(int guest, uint32_t entries)
{
	struct apird_cq *cq = fx_alloc(sizeof(*cq));
	size_t off, len = apir_cq_layout(entries, &off);

	cq->session = fx.s[guest];
	cq->handle = 100 + fx.nheap;
	cq->area = fx_map(len);
	cq->area_len = len;
	cq->ctrl = cq->area;
	cq->cqes = (struct apir_cqe *)((uint8_t *)cq->area + off);
	cq->num_entries = entries;
	cq->ctrl->ring.num_entries = entries;
	cq->ctrl->ring.entry_size = sizeof(struct apir_cqe);
	return cq;
}

/* A completion channel whose read end the test keeps (returned in *rfd). */
static inline struct apird_comp_channel *fx_channel(int guest, int *rfd)
{
	struct apird_comp_channel *ch = fx_alloc(sizeof(*ch));
	int p[2];

	CU_ASSERT_FATAL(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	ch->session = fx.s[guest];
	ch->handle = 7;
	ch->sink = (uint32_t)p[1] + 1;   /* the unix transport's sink for a pipe */
	*rfd = p[0];
	fx.fds[fx.nfds++] = p[0];
	fx.fds[fx.nfds++] = p[1];
	return ch;
}

static inline struct apird_srq *fx_srq(struct apird_pd *pd, uint32_t entries)
{
	struct apird_srq *srq = calloc(1, sizeof(*srq));
	size_t off, len = apir_srq_layout(entries, &off);

	CU_ASSERT_FATAL(srq != NULL);
	srq->session = pd->session;
	srq->pd = pd;
	srq->handle = 30 + fx.nsrqs;
	srq->area = fx_map(len);
	srq->area_len = len;
	srq->ctrl = srq->area;
	srq->wqes = (struct apir_recv_wqe *)((uint8_t *)srq->area + off);
	srq->num_entries = entries;
	srq->max_wr = entries;
	srq->max_sge = APIR_MAX_SGE;
	srq->ctrl->ring.num_entries = entries;
	CU_ASSERT_FATAL(apird_srqn_assign(verbs_dev_of(pd->session), srq) == 0);
	fx.srqs[fx.nsrqs++] = srq;
	return srq;
}

/* A QP in RESET with generous caps; srq NULL: its own RQ. */
static inline struct apird_qp *fx_qp(struct apird_pd *pd, enum ibv_qp_type type,
				     struct apird_cq *scq, struct apird_cq *rcq,
				     struct apird_srq *srq)
{
	struct apird_qp *qp = calloc(1, sizeof(*qp));
	uint32_t sqe = 64, rqe = srq ? 0 : 64;
	size_t sq_off, rq_off, len = apir_qp_layout(sqe, rqe, &sq_off, &rq_off);

	CU_ASSERT_FATAL(qp != NULL);
	qp->session = pd->session;
	qp->handle = 10 + fx.nqps;
	qp->pd = pd;
	qp->send_cq = scq;
	qp->recv_cq = rcq;
	qp->srq = srq;
	qp->qp_type = type;
	qp->state = IBV_QPS_RESET;
	qp->cap = (struct ibv_qp_cap){ .max_send_wr = sqe, .max_recv_wr = rqe,
				       .max_send_sge = APIR_MAX_SGE, .max_recv_sge = APIR_MAX_SGE,
				       .max_inline_data = APIR_MAX_INLINE };
	qp->area = fx_map(len);
	qp->area_len = len;
	qp->ctrl = qp->area;
	qp->sq = (struct apir_send_wqe *)((uint8_t *)qp->area + sq_off);
	qp->rq = (struct apir_recv_wqe *)((uint8_t *)qp->area + rq_off);
	qp->sq_entries = sqe;
	qp->rq_entries = rqe;
	qp->ctrl->sq.num_entries = sqe;
	qp->ctrl->rq.num_entries = rqe;
	qp->attr.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
				   IBV_ACCESS_REMOTE_ATOMIC;
	qp->attr.max_rd_atomic = 1;
	qp->attr.max_dest_rd_atomic = 1;
	qp->attr.rnr_retry = 7;
	qp->attr.min_rnr_timer = 1;
	CU_ASSERT_FATAL(apird_qpn_assign(verbs_dev_of(pd->session), qp) == 0);
	fx.qps[fx.nqps++] = qp;
	return qp;
}

static inline struct apird_ah *fx_ah(struct apird_pd *pd, bool global, const union ibv_gid *dgid)
{
	struct apird_ah *ah = calloc(1, sizeof(*ah));

	CU_ASSERT_FATAL(ah != NULL);
	ah->session = pd->session;
	ah->pd = pd;
	ah->attr.is_global = global;
	if (dgid)
		ah->attr.grh.dgid = *dgid;
	ah->attr.grh.hop_limit = 64;
	ah->attr.sl = 3;
	ah->attr.port_num = 1;
	ah->handle = apird_table_insert(&verbs_session(pd->session)->ahs, ah);
	CU_ASSERT_FATAL(ah->handle != 0);
	fx.ahs[fx.nahs++] = ah;
	return ah;
}

/* What the control plane does after a validated modify_qp. */
static inline void fx_state(struct apird_qp *qp, enum ibv_qp_state state)
{
	enum ibv_qp_state old = qp->state;

	qp->state = state;
	atomic_store(&qp->ctrl->state, state);
	sw_qp_state_changed(verbs_dev_of(qp->session), qp, old);
}

static inline void fx_to_rts(struct apird_qp *qp)
{
	fx_state(qp, IBV_QPS_INIT);
	fx_state(qp, IBV_QPS_RTR);
	fx_state(qp, IBV_QPS_RTS);
}

/* Connects a and b (RC or UC) to each other and brings both to RTS. */
static inline void fx_connect(struct apird_qp *a, struct apird_qp *b)
{
	a->attr.dest_qp_num = b->qp_num;
	b->attr.dest_qp_num = a->qp_num;
	fx_to_rts(a);
	if (b != a)
		fx_to_rts(b);
}

/* ---- the frontend's side of the rings -------------------------------------------- */

static inline struct apir_send_wqe fx_wqe(uint64_t wr_id, enum ibv_wr_opcode opcode)
{
	struct apir_send_wqe w;

	memset(&w, 0, sizeof(w));
	w.wr_id = wr_id;
	w.opcode = opcode;
	w.send_flags = IBV_SEND_SIGNALED;
	return w;
}

static inline uint64_t fx_addr(const struct apird_mr *mr, uint64_t off)
{
	return mr->iova + off;
}

static inline void fx_sge(struct apir_sge *sge, uint32_t *num, const struct apird_mr *mr,
			  uint64_t off, uint32_t len)
{
	sge[*num] = (struct apir_sge){ .addr = fx_addr(mr, off), .length = len, .lkey = mr->lkey };
	(*num)++;
}

static inline void fx_wqe_sge(struct apir_send_wqe *w, const struct apird_mr *mr, uint64_t off,
			      uint32_t len)
{
	fx_sge(w->sge, &w->num_sge, mr, off, len);
}

static inline void fx_wqe_remote(struct apir_send_wqe *w, const struct apird_mr *mr, uint64_t off)
{
	w->remote_addr = fx_addr(mr, off);
	w->rkey = mr->rkey;
}

static inline void fx_post_send(struct apird_qp *qp, const struct apir_send_wqe *w)
{
	uint32_t prod = atomic_load(&qp->ctrl->sq.prod.value);

	qp->sq[prod & (qp->sq_entries - 1)] = *w;
	atomic_store_explicit(&qp->ctrl->sq.prod.value, prod + 1, memory_order_release);
}

static inline void fx_post_ring_recv(struct apir_ring_ctrl *ring, struct apir_recv_wqe *wqes,
				     uint32_t entries, const struct apir_recv_wqe *w)
{
	uint32_t prod = atomic_load(&ring->prod.value);

	wqes[prod & (entries - 1)] = *w;
	atomic_store_explicit(&ring->prod.value, prod + 1, memory_order_release);
}

/* A receive of one SGE (len 0: no SGE at all). */
static inline struct apir_recv_wqe fx_recv_wqe(uint64_t wr_id, const struct apird_mr *mr,
					       uint64_t off, uint32_t len)
{
	struct apir_recv_wqe w;

	memset(&w, 0, sizeof(w));
	w.wr_id = wr_id;
	if (len)
		fx_sge(w.sge, &w.num_sge, mr, off, len);
	return w;
}

static inline void fx_post_recv(struct apird_qp *qp, const struct apir_recv_wqe *w)
{
	fx_post_ring_recv(&qp->ctrl->rq, qp->rq, qp->rq_entries, w);
}

static inline void fx_post_srq_recv(struct apird_srq *srq, const struct apir_recv_wqe *w)
{
	fx_post_ring_recv(&srq->ctrl->ring, srq->wqes, srq->num_entries, w);
}

/* Polls one completion. Returns 1 or 0 (empty). */
static inline int fx_poll(struct apird_cq *cq, struct apir_cqe *c)
{
	uint32_t prod = atomic_load_explicit(&cq->ctrl->ring.prod.value, memory_order_acquire);
	uint32_t cons = atomic_load(&cq->ctrl->ring.cons.value);

	if (prod == cons)
		return 0;
	*c = cq->cqes[cons & (cq->num_entries - 1)];
	atomic_store_explicit(&cq->ctrl->ring.cons.value, cons + 1, memory_order_release);
	return 1;
}

/* Polls exactly one completion, failing the test if there is none. */
static inline struct apir_cqe fx_poll1(struct apird_cq *cq)
{
	struct apir_cqe c;

	memset(&c, 0xee, sizeof(c));
	CU_ASSERT_EQUAL(fx_poll(cq, &c), 1);
	return c;
}

static inline bool fx_cq_empty(struct apird_cq *cq)
{
	struct apir_cqe c;

	return fx_poll(cq, &c) == 0;
}

/* Reads the next async event of a guest. Returns false when there is none. */
static inline bool fx_async(int guest, struct apir_async_event_rec *rec)
{
	return read(unix_conn_of(fx.s[guest])->async_read_fd, rec, sizeof(*rec)) == (ssize_t)sizeof(*rec);
}

static inline bool fx_async_none(int guest)
{
	struct apir_async_event_rec rec;

	return !fx_async(guest, &rec);
}

static inline void fx_expect_async(int guest, enum ibv_event_type type, enum apir_obj_kind kind,
				   uint32_t handle)
{
	struct apir_async_event_rec rec;

	CU_ASSERT_FATAL(fx_async(guest, &rec));
	CU_ASSERT_EQUAL(rec.event_type, type);
	CU_ASSERT_EQUAL(rec.obj_kind, kind);
	CU_ASSERT_EQUAL(rec.obj_handle, handle);
}

static inline bool fx_all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static inline void fx_pattern(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* ---- a standard world: guest 0 owns qp a, guest 1 owns qp b, connected ---------- */

struct fx_pair {
	struct apird_pd *pa, *pb;
	struct apird_cq *cqa, *cqb;
	struct apird_qp *a, *b;
	struct apird_mr *ma, *mb;        /* 64 KiB each, every access */
};

static inline struct fx_pair fx_pair(enum ibv_qp_type type)
{
	struct fx_pair p;

	p.pa = fx_pd(0);
	p.pb = fx_pd(1);
	p.cqa = fx_cq(0, 64);
	p.cqb = fx_cq(1, 64);
	p.a = fx_qp(p.pa, type, p.cqa, p.cqa, NULL);
	p.b = fx_qp(p.pb, type, p.cqb, p.cqb, NULL);
	p.ma = fx_mr(p.pa, 65536, FX_ALL_ACCESS, 0xaa);
	p.mb = fx_mr(p.pb, 65536, FX_ALL_ACCESS, 0xbb);
	if (type != IBV_QPT_UD)
		fx_connect(p.a, p.b);
	return p;
}

#endif /* TEST_SW_FIXTURE_H */
