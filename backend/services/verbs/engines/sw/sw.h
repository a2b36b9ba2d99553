/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of the software RDMA engine. Everything here runs on
 * apird's single thread; shared memory is only ever read through a private
 * copy or an index validated against apird's own copy of the ring size.
 */
#ifndef SW_H
#define SW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "link.h"
#include "util.h"
#include "verbs.h"

#define SW_UD_MTU 4096u        /* a UD message must fit the path MTU */
/* Per QP per sweep, so that one QP can't starve the others: at most this
 * many WQEs, and no new WQE once this many bytes moved. */
#define SW_SQ_BUDGET 64u
#define SW_SQ_BYTE_BUDGET (1u << 20)
#define SW_RNR_INFINITE 7u     /* rnr_retry value meaning "retry forever" */

/* A piece of a message as apird maps it. */
struct sw_seg {
	uint8_t *p;
	uint32_t len;
	struct apird_mr *mr;             /* the region p lies in; NULL: apird's own memory */
};

/* A resolved scatter/gather list. One slot more than a WQE can name so a UD
 * delivery can put the GRH in front of the sender's SGEs. */
struct sw_sgl {
	struct sw_seg seg[APIR_MAX_SGE + 1];
	uint32_t num;
	uint64_t len;
};

/* One send work request being executed, and its outcome. */
struct sw_op {
	struct verbs_dev *d;
	struct apird_qp *qp;
	struct apir_send_wqe *w;         /* apird's private copy */
	struct sw_sgl local;             /* the requester's buffers */
	enum ibv_wc_status status;       /* the requester's completion status */
	bool rnr;                        /* the responder had no receive WQE */
	bool no_peer;                    /* RC: no connected responder (yet) */
	const struct apird_qp *responder; /* whose min_rnr_timer applies */
	uint32_t byte_len;
};

/* A receive queue as the responder sees it: a QP's own RQ or its SRQ. */
struct sw_rq {
	struct apir_ring_ctrl *ring;
	struct apir_recv_wqe *wqes;
	uint32_t entries;
	uint32_t *cons;
	uint32_t max_sge;
	struct apird_session *session;
	struct apird_pd *pd;
	struct apird_srq *srq;           /* NULL for a QP's own RQ */
};

/* A receive WQE the responder is about to consume. */
struct sw_recv {
	struct apird_qp *qp;            /* the responder */
	struct sw_rq q;
	struct apir_recv_wqe wqe;       /* private copy */
	struct sw_sgl sgl;
};

enum sw_peek {
	SW_RECV_READY,
	SW_RECV_EMPTY,
	SW_RECV_BROKEN,                 /* bad ring index: the responder went to ERR */
};

/* Copies from shared memory into apird's private copy. The compiler
 * barrier keeps the compiler from reading the shared source again where the
 * code reads the copy: a frontend may change it at any moment, and such a
 * double fetch could defeat the validation done on the copy. */
static inline void sw_copy_in(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
	atomic_signal_fence(memory_order_seq_cst);
}

/* Entries the producer published beyond cons, or -1 when the producer's
 * index is impossible (more than the ring holds). */
static inline int64_t sw_ring_pending(const struct apir_ring_ctrl *ring, uint32_t cons,
				      uint32_t entries)
{
	uint32_t prod = atomic_load_explicit(&ring->prod.value, memory_order_acquire);
	uint32_t n = prod - cons;

	return n > entries ? -1 : (int64_t)n;
}

static inline void sw_ring_publish_cons(struct apir_ring_ctrl *ring, uint32_t cons)
{
	atomic_store_explicit(&ring->cons.value, cons, memory_order_release);
}

/* Whether the WQE's payload is inline_data. The flag only means something
 * for opcodes that carry data out; mlx5 ignores it elsewhere, so do we. */
static inline bool sw_wqe_inline(const struct apir_send_wqe *w)
{
	if (!(w->send_flags & APIR_WQE_INLINE))
		return false;
	return w->opcode == IBV_WR_SEND || w->opcode == IBV_WR_SEND_WITH_IMM ||
	       w->opcode == IBV_WR_RDMA_WRITE || w->opcode == IBV_WR_RDMA_WRITE_WITH_IMM;
}

static inline struct apir_cqe sw_cqe(uint64_t wr_id, enum ibv_wc_status status,
				     enum ibv_wc_opcode opcode, uint32_t qp_num)
{
	struct apir_cqe c = {
		.wr_id = wr_id,
		.status = status,
		.opcode = opcode,
		.qp_num = qp_num,
	};
	return c;
}

/* ---- the engine's interface to the verbs service ------------------------------- */

/* One sweep over every active QP: executes posted work requests (sets
 * d->now_ns first). Returns the number of work requests completed or
 * failed (0: nothing to do). */
unsigned int sw_engine_poll(struct verbs_dev *d);
/* Earliest RNR retry deadline in CLOCK_MONOTONIC ns, or 0 if none. It may
 * already have passed: then sweep without sleeping. */
uint64_t sw_engine_next_deadline(const struct verbs_dev *d);
/* Whether any ring has work (checked after the sleeping flag is set). */
bool sw_engine_has_work(const struct verbs_dev *d);

/* Called after a validated transition (qp->state already updated,
 * ctrl->state published): adds or removes the QP from the sweep list;
 * entering ERR flushes every outstanding WQE with WR_FLUSH_ERR (in the
 * following sweeps; has_work reports them) and raises
 * IBV_EVENT_QP_LAST_WQE_REACHED for a QP of an SRQ; entering RESET discards
 * every queued WQE: apird's consumer indices catch up with the producers,
 * which the frontend keeps running (never resets); entering SQD raises
 * IBV_EVENT_SQ_DRAINED (if en_sqd_async_notify) once nothing is in flight. */
void sw_qp_state_changed(struct verbs_dev *d, struct apird_qp *qp, enum ibv_qp_state old_state);
/* Sets qp's state, publishes it in ctrl->state, then sw_qp_state_changed
 * (nothing when the state stays the same). */
void sw_qp_set_state(struct verbs_dev *d, struct apird_qp *qp, enum ibv_qp_state state);
/* Called before a QP is destroyed: removes it from every engine list. */
void sw_qp_detach(struct verbs_dev *d, struct apird_qp *qp);
/* Moves a QP to ERR on the engine's own initiative (fatal error: raises
 * IBV_EVENT_QP_FATAL; nothing if the QP already is in ERR). */
void sw_qp_to_error(struct verbs_dev *d, struct apird_qp *qp);
/* Writes one completion: handles overflow (async event IBV_EVENT_CQ_ERR) and
 * arming (completion channel event). solicited: the WR carried
 * IBV_SEND_SOLICITED. Returns 0 or -ENOSPC when the CQ overflowed. */
int sw_cq_push(struct apird_cq *cq, const struct apir_cqe *cqe, bool solicited);

/* sw_engine.c */
enum ibv_wc_opcode sw_wc_opcode(uint32_t wr_opcode);
/* Copies send WQE number idx out of the QP's send queue. */
void sw_sq_copy(const struct apird_qp *qp, uint32_t idx, struct apir_send_wqe *w);
/* The head WQE (op->w, executed with op->status, op->byte_len) is done:
 * releases its slot, counts it, completes it if signaled or failed, and
 * moves a QP whose WQE failed to ERR (RC) or SQE (UC, UD). */
void sw_sq_retire(struct verbs_dev *d, struct apird_qp *qp, const struct sw_op *op);

/* sw_state.c */
/* Logs, once per QP life, that the frontend published an impossible
 * producer index on one of the QP's rings (which: "send queue", ...). */
void sw_ring_broken(struct apird_qp *qp, const char *which);
bool sw_qp_receives(const struct apird_qp *qp);
/* ERR after an error that a completion reports (no async event). */
void sw_qp_fail(struct verbs_dev *d, struct apird_qp *qp);
/* A requester's WQE failed: RC goes to ERR, UC and UD to SQE. */
void sw_requester_failed(struct verbs_dev *d, struct apird_qp *qp);
/* A responder rejected a request: ERR and that async event. */
void sw_responder_failed(struct verbs_dev *d, struct apird_qp *qp, enum ibv_event_type event);
void sw_sq_drained(struct apird_qp *qp);

/* sw_mem.c */
enum ibv_wc_status sw_sgl_resolve(struct verbs_dev *d, const struct apird_session *s,
				  const struct apird_pd *pd, const struct apir_sge *sge,
				  uint32_t num, bool write, uint64_t max_len, struct sw_sgl *out);
enum ibv_wc_status sw_remote_resolve(struct verbs_dev *d, const struct apird_qp *responder,
				     uint32_t rkey, uint64_t addr, uint64_t len,
				     unsigned int access, struct sw_sgl *out);
void sw_sgl_single(struct sw_sgl *l, void *p, uint32_t len);
void sw_copy(const struct sw_sgl *dst, const struct sw_sgl *src, uint64_t len);

/* sw_send.c */
/* Requester checks of op->w: the opcode for the QP type, the local buffers
 * (resolved into op->local). Returns false with op->status set. */
bool sw_op_prepare(struct sw_op *op);
void sw_execute(struct sw_op *op);
/* The responder's own error while receiving, as the requester sees it. */
enum ibv_wc_status sw_remote_status(enum ibv_wc_status responder_status);
struct apird_qp *sw_connected_peer(struct sw_op *op);
void sw_responder_violation(struct sw_op *op, struct apird_qp *peer,
			    enum ibv_wc_status status, enum ibv_event_type event);
bool sw_take_receive(struct sw_op *op, struct apird_qp *peer, struct sw_recv *r);

/* sw_recv.c */
/* Whether the QP's RQ (or SRQ) holds a receive WQE (a bad index: no). */
bool sw_recv_posted(const struct apird_qp *qp);
enum sw_peek sw_recv_peek(struct verbs_dev *d, struct apird_qp *responder, struct sw_recv *r);
/* Validates the receive buffers (into r->sgl) for a message of need bytes.
 * Returns the responder's status; on error the receive WQE already
 * completed in error (opcode of tmpl) and the responder is in ERR. */
enum ibv_wc_status sw_recv_accept(struct verbs_dev *d, struct sw_recv *r, uint64_t need,
				  const struct apir_cqe *tmpl);
/* sw_recv_accept, copies msg, completes with tmpl's opcode, flags, imm and
 * src_qp. Returns the responder's status as sw_recv_accept does. */
enum ibv_wc_status sw_recv_deliver(struct verbs_dev *d, struct sw_recv *r, const struct sw_sgl *msg,
				   const struct apir_cqe *tmpl, bool solicited);
/* Consumes the WQE and completes it with c (wr_id and qp_num filled in). */
void sw_recv_complete(struct verbs_dev *d, struct sw_recv *r, struct apir_cqe *c, bool solicited);
/* The two halves of sw_recv_complete, for a message placed after the WQE
 * was taken (so that no other QP of its SRQ takes it meanwhile). */
void sw_recv_consume(struct sw_recv *r);
void sw_recv_finish(struct verbs_dev *d, struct sw_recv *r, struct apir_cqe *c, bool solicited);

/* sw_rdma.c, sw_atomic.c, sw_ud.c */
void sw_send_message(struct sw_op *op);
void sw_rdma_write(struct sw_op *op);
void sw_rdma_read(struct sw_op *op);
void sw_atomic(struct sw_op *op);
/* The responder's half of an atomic on its memory: checks (alignment,
 * rkey) and executes. Returns IBV_WC_SUCCESS with *old, or the requester's
 * status with *event the responder's async event. */
enum ibv_wc_status sw_atomic_respond(struct verbs_dev *d, const struct apird_qp *responder,
				     const struct apir_send_wqe *w, uint64_t *old,
				     enum ibv_event_type *event);
void sw_ud_send(struct sw_op *op);

/* A UD message as the receiver's GRH and completion describe it. */
struct sw_ud_msg {
	const union ibv_gid *sgid;       /* the sender apird's GID */
	const union ibv_gid *dgid;       /* the GID the sender addressed */
	uint8_t traffic_class;
	uint32_t flow_label;
	uint8_t hop_limit;
	uint8_t sl;
	uint32_t src_qp;
	bool with_imm;
	uint32_t imm_data;
	bool solicited;
	const struct sw_sgl *payload;
};
/* The Q_Key a UD send uses: the WQE's, or with its high bit set the
 * sending QP's own. */
uint32_t sw_ud_qkey(uint32_t wqe_qkey, uint32_t own_qkey);
/* Places m (GRH first) into dst's next receive; no receive: dropped. */
void sw_ud_deliver(struct verbs_dev *d, struct apird_qp *dst, const struct sw_ud_msg *m);

/* sw_cq.c */
/* Completes on cq for qp; a lost completion moves qp to ERR (fatal). */
void sw_complete(struct verbs_dev *d, struct apird_qp *qp, struct apird_cq *cq,
		 const struct apir_cqe *c, bool solicited);

/* sw_flush.c */
unsigned int sw_flush_sq(struct verbs_dev *d, struct apird_qp *qp);
unsigned int sw_flush_rq(struct verbs_dev *d, struct apird_qp *qp);

/* sw_rnr.c */
uint64_t sw_rnr_timer_ns(uint8_t min_rnr_timer);
/* An RC request found no connected responder: as a real transport retries
 * unanswered packets, the WQE stays at the head (re-executed every sweep, so
 * a peer that reaches RTR late is still reached) until the QP's local ACK
 * timeout x (retry_cnt + 1) has passed. Returns true while it should wait. */
bool sw_peer_wait(struct verbs_dev *d, struct apird_qp *qp);
/* Local ACK timeout x (retry_cnt + 1) of a QP (timeout 0, "infinite",
 * becomes one second: a vanished peer must not hang the requester). */
uint64_t sw_transport_timeout_ns(const struct apird_qp *qp);
/* The responder (QP responder_qpn, whose min_rnr_timer applies) had no
 * receive WQE. Returns true while the WQE should wait and be retried,
 * false when the retries are exhausted. */
bool sw_rnr_stall(struct verbs_dev *d, struct apird_qp *qp, uint8_t min_rnr_timer,
		  uint32_t responder_qpn);

#endif /* SW_H */
