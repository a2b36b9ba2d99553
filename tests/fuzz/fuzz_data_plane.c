/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the data plane a hostile frontend controls. Each input
 * gets a fresh session of a real apird with two RC QPs connected to each
 * other at RTS, one CQ and one MR (the middle 64 KiB of a 192 KiB memory
 * file), then writes what the input says into the shared rings — send and
 * receive WQEs, producer indices that lie — and runs the software engine.
 * apird may fail work requests, QPs or the session; it may never crash,
 * read or write out of bounds (ASan), leak (LSan), or touch a byte of the
 * memory file outside the registered region (checked after every input).
 *
 * Keys and addresses are hard to guess, so small values in the input stand
 * for real ones (fuzz_data_plane.h): an lkey or rkey below FUZZ_KEY_CHOICES
 * picks the MR's lkey, its rkey, 0 or a stale key; an address below
 * 2 x MR_LEN is an offset from the MR's start (past its end too, to reach
 * the bounds checks).
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "apir/ring.h"
#include "fuzz_data_plane.h"
#include "fuzz_session.h"

#define MR_LEN FUZZ_MR_LEN
#define FILE_LEN (3u * MR_LEN)      /* guard, MR, guard */
#define MR_VA 0x7f0000000000ull
#define GUARD 0xee
#define QP_WR 64u
#define CQ_ENTRIES 256u
#define STALE_KEY 0x12345678u
#define MAX_POLLS 16u

struct fuzz_qp {
	uint32_t handle, qpn;
	uint8_t *area;
	size_t area_len;
	struct apir_qp_ctrl *ctrl;
	struct apir_send_wqe *sq;
	struct apir_recv_wqe *rq;
	uint32_t sq_entries, rq_entries, sq_prod, rq_prod;
};

struct world {
	struct fuzz_client c;
	int file_fd;
	uint8_t *file;
	uint32_t pd, lkey, rkey, cq;
	struct apir_cq_ctrl *cq_ctrl;
	size_t cq_len;
	struct fuzz_qp qp[2];
};

/* A call that must succeed for the set-up; returns the response (the
 * caller frees it) and maps the one fd it may carry. */
static Apir__Response *must(struct world *w, Apir__Request *r, const int *fds, unsigned int n,
			    void **map, size_t *map_len)
{
	int out[APIR_MAX_FDS];
	unsigned int num_out;
	Apir__Response *resp = fuzz_call(&w->c, r, fds, n, out, &num_out);

	if (!resp || resp->status)
		abort();
	if (map && num_out == 1) {
		off_t len = lseek(out[0], 0, SEEK_END);

		*map = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, out[0], 0);
		if (*map == MAP_FAILED)
			abort();
		*map_len = (size_t)len;
	}
	for (unsigned int i = 0; i < num_out; i++)
		close(out[i]);
	return resp;
}

static void set_up_memory(struct world *w)
{
	Apir__AllocPd pd = APIR__ALLOC_PD__INIT;
	Apir__RegMr mr = APIR__REG_MR__INIT;
	Apir__Request r = APIR__REQUEST__INIT;
	Apir__Response *resp;

	w->file_fd = memfd_create("fuzz-mr", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (w->file_fd < 0 || ftruncate(w->file_fd, FILE_LEN) ||
	    fcntl(w->file_fd, F_ADD_SEALS, F_SEAL_SHRINK))
		abort();
	w->file = mmap(NULL, FILE_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, w->file_fd, 0);
	if (w->file == MAP_FAILED)
		abort();
	memset(w->file, GUARD, FILE_LEN);
	r.body_case = APIR__REQUEST__BODY_ALLOC_PD;
	r.alloc_pd = &pd;
	resp = must(w, &r, NULL, 0, NULL, NULL);
	w->pd = resp->handle->handle;
	apir__response__free_unpacked(resp, NULL);
	mr.pd = w->pd;
	mr.addr = MR_VA;
	mr.length = MR_LEN;
	mr.iova = MR_VA;
	mr.fd_offset = MR_LEN;
	mr.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
		    IBV_ACCESS_REMOTE_ATOMIC;
	r.body_case = APIR__REQUEST__BODY_REG_MR;
	r.reg_mr = &mr;
	resp = must(w, &r, &w->file_fd, 1, NULL, NULL);
	w->lkey = resp->reg_mr->lkey;
	w->rkey = resp->reg_mr->rkey;
	apir__response__free_unpacked(resp, NULL);
}

static void set_up_cq(struct world *w)
{
	Apir__CreateCq cq = APIR__CREATE_CQ__INIT;
	Apir__Request r = APIR__REQUEST__INIT;
	Apir__Response *resp;
	void *map = NULL;

	cq.cqe = CQ_ENTRIES;
	r.body_case = APIR__REQUEST__BODY_CREATE_CQ;
	r.create_cq = &cq;
	resp = must(w, &r, NULL, 0, &map, &w->cq_len);
	w->cq = resp->create_cq->cq;
	w->cq_ctrl = map;
	apir__response__free_unpacked(resp, NULL);
}

static void create_qp(struct world *w, struct fuzz_qp *q)
{
	Apir__CreateQp b = APIR__CREATE_QP__INIT;
	Apir__QpCap cap = APIR__QP_CAP__INIT;
	Apir__Request r = APIR__REQUEST__INIT;
	Apir__Response *resp;
	size_t sq_off, rq_off;
	void *map = NULL;

	cap.max_send_wr = cap.max_recv_wr = QP_WR;
	cap.max_send_sge = cap.max_recv_sge = APIR_MAX_SGE;
	cap.max_inline_data = 64;
	b.pd = w->pd;
	b.send_cq = b.recv_cq = w->cq;
	b.qp_type = IBV_QPT_RC;
	b.cap = &cap;
	r.body_case = APIR__REQUEST__BODY_CREATE_QP;
	r.create_qp = &b;
	resp = must(w, &r, NULL, 0, &map, &q->area_len);
	q->handle = resp->create_qp->qp;
	q->qpn = resp->create_qp->qp_num;
	q->sq_entries = resp->create_qp->sq_entries;
	q->rq_entries = resp->create_qp->rq_entries;
	apir__response__free_unpacked(resp, NULL);
	q->area = map;
	q->ctrl = map;
	apir_qp_layout(q->sq_entries, q->rq_entries, &sq_off, &rq_off);
	q->sq = (struct apir_send_wqe *)(q->area + sq_off);
	q->rq = (struct apir_recv_wqe *)(q->area + rq_off);
}

static void modify(struct world *w, const struct fuzz_qp *q, uint32_t mask, Apir__QpAttr *a)
{
	Apir__ModifyQp m = APIR__MODIFY_QP__INIT;
	Apir__Request r = APIR__REQUEST__INIT;

	m.qp = q->handle;
	m.attr_mask = mask;
	m.attr = a;
	r.body_case = APIR__REQUEST__BODY_MODIFY_QP;
	r.modify_qp = &m;
	apir__response__free_unpacked(must(w, &r, NULL, 0, NULL, NULL), NULL);
}

/* INIT, RTR (to peer), RTS, as ibv_rc_pingpong does. */
static void connect_qp(struct world *w, const struct fuzz_qp *q, uint32_t peer_qpn)
{
	Apir__QpAttr a = APIR__QP_ATTR__INIT;
	Apir__AhAttr ah = APIR__AH_ATTR__INIT;

	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
			    IBV_ACCESS_REMOTE_ATOMIC;
	modify(w, q, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS, &a);
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = peer_qpn;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 1;
	ah.port_num = 1;
	a.ah_attr = &ah;
	modify(w, q, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			     IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER, &a);
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 1;
	a.retry_cnt = 1;
	a.rnr_retry = 1;
	a.max_rd_atomic = 1;
	modify(w, q, IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			     IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC, &a);
}

static void set_up(struct world *w)
{
	memset(w, 0, sizeof(*w));
	if (!fuzz_client_open(&w->c, &fuzz_apird))
		abort();
	set_up_memory(w);
	set_up_cq(w);
	create_qp(w, &w->qp[0]);
	create_qp(w, &w->qp[1]);
	connect_qp(w, &w->qp[0], w->qp[1].qpn);
	connect_qp(w, &w->qp[1], w->qp[0].qpn);
}

/* ---- what the input does ----------------------------------------------------- */

static uint32_t real_key(const struct world *w, uint32_t v)
{
	static const uint32_t none[] = { 0, STALE_KEY };

	if (v >= FUZZ_KEY_CHOICES)
		return v;
	return v == FUZZ_LKEY ? w->lkey : v == FUZZ_RKEY ? w->rkey : none[v - 2];
}

static uint64_t real_addr(uint64_t v)
{
	return v < 2ull * MR_LEN ? MR_VA + v : v;
}

static void fix_sges(const struct world *w, struct apir_sge *sge, uint32_t n)
{
	for (uint32_t i = 0; i < n && i < APIR_MAX_SGE; i++) {
		sge[i].lkey = real_key(w, sge[i].lkey);
		sge[i].addr = real_addr(sge[i].addr);
	}
}

/* Takes n bytes of input into dst (zero-filled past its end). */
static void take(const uint8_t **data, size_t *size, void *dst, size_t n)
{
	size_t got = *size < n ? *size : n;

	memset(dst, 0, n);
	memcpy(dst, *data, got);
	*data += got;
	*size -= got;
}

static void post_send(struct world *w, struct fuzz_qp *q, const uint8_t **data, size_t *size)
{
	struct apir_send_wqe wqe;

	take(data, size, &wqe, sizeof(wqe));
	if (!(wqe.send_flags & APIR_WQE_INLINE))
		fix_sges(w, wqe.sge, wqe.num_sge);
	wqe.rkey = real_key(w, wqe.rkey);
	wqe.remote_addr = real_addr(wqe.remote_addr);
	q->sq[q->sq_prod % q->sq_entries] = wqe;
	atomic_store_explicit(&q->ctrl->sq.prod.value, ++q->sq_prod, memory_order_release);
}

static void post_recv(struct world *w, struct fuzz_qp *q, const uint8_t **data, size_t *size)
{
	struct apir_recv_wqe wqe;

	take(data, size, &wqe, sizeof(wqe));
	fix_sges(w, wqe.sge, wqe.num_sge);
	q->rq[q->rq_prod % q->rq_entries] = wqe;
	atomic_store_explicit(&q->ctrl->rq.prod.value, ++q->rq_prod, memory_order_release);
}

/* A producer index that lies (ahead by more than the ring, or behind). */
static void lie(struct fuzz_qp *q, const uint8_t **data, size_t *size)
{
	uint32_t v;

	take(data, size, &v, sizeof(v));
	atomic_store_explicit(&q->ctrl->sq.prod.value, v, memory_order_release);
}

/* The engine runs; the frontend takes every completion. */
static void run(struct world *w, unsigned int turns)
{
	for (unsigned int i = 0; i < turns; i++)
		sw_engine_poll(test_verbs_dev(&fuzz_apird));
	atomic_store_explicit(&w->cq_ctrl->ring.cons.value,
			      atomic_load_explicit(&w->cq_ctrl->ring.prod.value, memory_order_acquire),
			      memory_order_release);
}

static void check_guards(const struct world *w)
{
	for (size_t i = 0; i < FILE_LEN; i++)
		if ((i < MR_LEN || i >= 2 * MR_LEN) && w->file[i] != GUARD)
			abort();   /* apird wrote outside the registered region */
}

static void tear_down(struct world *w)
{
	fuzz_client_close(&w->c);
	for (int i = 0; i < 2; i++)
		munmap(w->qp[i].area, w->qp[i].area_len);
	munmap(w->cq_ctrl, w->cq_len);
	munmap(w->file, FILE_LEN);
	close(w->file_fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct world w;

	set_up(&w);
	while (size) {
		uint8_t op = *data++;
		struct fuzz_qp *q = &w.qp[(op >> 2) & 1];

		size--;
		switch ((enum fuzz_op)(op & 3)) {
		case FUZZ_OP_SEND:
			post_send(&w, q, &data, &size);
			break;
		case FUZZ_OP_RECV:
			post_recv(&w, q, &data, &size);
			break;
		case FUZZ_OP_LIE:
			lie(q, &data, &size);
			break;
		case FUZZ_OP_RUN:
			run(&w, 1 + (op >> 3) % MAX_POLLS);
			break;
		}
	}
	run(&w, MAX_POLLS);
	check_guards(&w);
	tear_down(&w);
	return 0;
}
