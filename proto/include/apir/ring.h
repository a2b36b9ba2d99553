/* SPDX-License-Identifier: MIT */
/*
 * apir data-plane ring ABI.
 *
 * Everything in this header is shared memory between a frontend (untrusted)
 * and apird. Layouts are fixed: every size and offset is pinned by a static
 * assert so that a frontend and an apird built apart agree byte for byte.
 *
 * Rules both sides follow:
 *  - Indices are free-running uint32_t; slot = index & (num_entries - 1);
 *    num_entries is a power of two.
 *  - The producer writes an entry, then publishes prod with a release store.
 *    The consumer reads prod with an acquire load, reads the entry, then
 *    publishes cons with a release store.
 *  - apird never trusts anything it reads from shared memory: it keeps its own
 *    copy of num_entries and of the index it owns, validates the peer's index
 *    (0 <= prod - cons <= num_entries) and copies an entry out before using it.
 */
#ifndef APIR_RING_H
#define APIR_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define APIR_RING_ABI_VERSION 1u
#define APIR_CACHELINE 64u
#define APIR_PAGE_SIZE 4096u

#define APIR_MAX_SGE 15u          /* per send or receive work request */
#define APIR_MAX_INLINE 448u      /* bytes of inline data in one send WQE */
#define APIR_MAX_RING_ENTRIES 32768u
#define APIR_UD_GRH_BYTES 40u     /* GRH placed in front of every UD receive */

/* One side's index, alone on its cache line so producer and consumer never
 * share a line. */
struct apir_ring_index {
	alignas(APIR_CACHELINE) _Atomic uint32_t value;
	uint8_t pad[APIR_CACHELINE - sizeof(uint32_t)];
};

/* Header of every ring. Written by apird at creation: num_entries and
 * entry_size are a copy for the frontend; apird keeps its own. */
struct apir_ring_ctrl {
	struct apir_ring_index prod;
	struct apir_ring_index cons;
	alignas(APIR_CACHELINE) uint32_t num_entries;
	uint32_t entry_size;
	uint8_t pad[APIR_CACHELINE - 2 * sizeof(uint32_t)];
};

struct apir_sge {
	uint64_t addr;
	uint32_t length;
	uint32_t lkey;
};

/* send_flags bit saying the payload is inline_data[0..inline_len), not
 * sge[]: the value of IBV_SEND_INLINE, which the frontend copies through. */
#define APIR_WQE_INLINE 8u

/* Send work request. opcode and send_flags use enum ibv_wr_opcode and
 * enum ibv_send_flags values. */
struct apir_send_wqe {
	uint64_t wr_id;
	uint32_t opcode;
	uint32_t send_flags;
	uint32_t num_sge;      /* ignored when APIR_WQE_INLINE is set */
	uint32_t imm_data;     /* network byte order, or rkey to invalidate */
	uint64_t remote_addr;  /* RDMA and atomic target */
	uint32_t rkey;
	uint32_t inline_len;   /* bytes valid in inline_data */
	uint64_t compare_add;  /* atomics */
	uint64_t swap;
	uint32_t ah_handle;    /* UD: address handle created on apird */
	uint32_t remote_qpn;   /* UD */
	uint32_t remote_qkey;  /* UD */
	uint32_t pad;
	union {
		struct apir_sge sge[APIR_MAX_SGE];
		uint8_t inline_data[APIR_MAX_INLINE];
	};
};

struct apir_recv_wqe {
	uint64_t wr_id;
	uint32_t num_sge;
	uint32_t pad;
	struct apir_sge sge[APIR_MAX_SGE];
};

/* Completion. Fields mirror struct ibv_wc (status: enum ibv_wc_status,
 * opcode: enum ibv_wc_opcode, wc_flags: enum ibv_wc_flags). */
struct apir_cqe {
	uint64_t wr_id;
	uint32_t status;
	uint32_t opcode;
	uint32_t vendor_err;
	uint32_t byte_len;
	uint32_t imm_data;     /* network byte order, or invalidated rkey */
	uint32_t qp_num;
	uint32_t src_qp;
	uint32_t wc_flags;
	uint16_t pkey_index;
	uint16_t slid;
	uint8_t sl;
	uint8_t dlid_path_bits;
	uint8_t pad[2];
	uint64_t timestamp_ns; /* CLOCK_MONOTONIC when apird wrote it */
	uint8_t reserved[8];
};

/* CQ notification arming, written by the frontend (ibv_req_notify_cq) and
 * consumed by apird with an atomic exchange. */
enum apir_cq_arm {
	APIR_CQ_ARM_NONE = 0,
	APIR_CQ_ARM_NEXT = 1,
	APIR_CQ_ARM_SOLICITED = 2,
};

/* A CQ's shared area: ctrl, then notify line, then entries. */
struct apir_cq_ctrl {
	struct apir_ring_ctrl ring;
	alignas(APIR_CACHELINE) _Atomic uint32_t armed;
	_Atomic uint32_t overflow;  /* set by apird when the ring was full */
	uint8_t pad[APIR_CACHELINE - 2 * sizeof(uint32_t)];
};

/* A QP's shared area: SQ ctrl, RQ ctrl, state line, then SQ entries, then RQ
 * entries (both offsets page aligned, see apir_qp_layout()). A QP that uses
 * an SRQ has rq num_entries 0. */
struct apir_qp_ctrl {
	struct apir_ring_ctrl sq;
	struct apir_ring_ctrl rq;
	alignas(APIR_CACHELINE) _Atomic uint32_t state; /* enum ibv_qp_state, written by apird */
	uint8_t pad[APIR_CACHELINE - sizeof(uint32_t)];
};

/* An SRQ's shared area: ctrl then entries. limit_armed is written by the
 * frontend's ibv_modify_srq(IBV_SRQ_LIMIT) path through the control plane,
 * never read back from here. */
struct apir_srq_ctrl {
	struct apir_ring_ctrl ring;
};

/* One page per session, written only by apird. */
struct apir_session_page {
	alignas(APIR_CACHELINE) _Atomic uint32_t engine_sleeping; /* ring the doorbell when set */
	uint8_t pad0[APIR_CACHELINE - sizeof(uint32_t)];
	alignas(APIR_CACHELINE) _Atomic uint32_t device_fatal;    /* apird is going away */
	uint8_t pad1[APIR_CACHELINE - sizeof(uint32_t)];
};

/* A record apird writes to a completion channel: which CQ fired. */
struct apir_cq_event_rec {
	uint64_t cq_handle;
};

/* A record apird writes to a context's async event pipe. EOF on that pipe
 * means apird is gone (IBV_EVENT_DEVICE_FATAL). */
struct apir_async_event_rec {
	uint32_t event_type;   /* enum ibv_event_type */
	uint32_t obj_kind;     /* enum apir_obj_kind */
	uint64_t obj_handle;
};

enum apir_obj_kind {
	APIR_OBJ_NONE = 0,
	APIR_OBJ_QP = 1,
	APIR_OBJ_CQ = 2,
	APIR_OBJ_SRQ = 3,
	APIR_OBJ_PORT = 4,
};

static inline size_t apir_align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static inline int apir_is_pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* Layout of a QP's shared area. Returns the total size in bytes. */
static inline size_t apir_qp_layout(uint32_t sq_entries, uint32_t rq_entries,
				    size_t *sq_off, size_t *rq_off)
{
	size_t off = apir_align_up(sizeof(struct apir_qp_ctrl), APIR_PAGE_SIZE);

	*sq_off = off;
	off = apir_align_up(off + (size_t)sq_entries * sizeof(struct apir_send_wqe), APIR_PAGE_SIZE);
	*rq_off = off;
	off = apir_align_up(off + (size_t)rq_entries * sizeof(struct apir_recv_wqe), APIR_PAGE_SIZE);
	return off;
}

static inline size_t apir_cq_layout(uint32_t entries, size_t *cqe_off)
{
	*cqe_off = apir_align_up(sizeof(struct apir_cq_ctrl), APIR_PAGE_SIZE);
	return apir_align_up(*cqe_off + (size_t)entries * sizeof(struct apir_cqe), APIR_PAGE_SIZE);
}

static inline size_t apir_srq_layout(uint32_t entries, size_t *wqe_off)
{
	*wqe_off = apir_align_up(sizeof(struct apir_srq_ctrl), APIR_PAGE_SIZE);
	return apir_align_up(*wqe_off + (size_t)entries * sizeof(struct apir_recv_wqe), APIR_PAGE_SIZE);
}

_Static_assert(sizeof(struct apir_ring_index) == 64, "ring index is one cache line");
_Static_assert(sizeof(struct apir_ring_ctrl) == 192, "ring ctrl is three cache lines");
_Static_assert(offsetof(struct apir_ring_ctrl, prod) == 0, "prod offset");
_Static_assert(offsetof(struct apir_ring_ctrl, cons) == 64, "cons offset");
_Static_assert(offsetof(struct apir_ring_ctrl, num_entries) == 128, "num_entries offset");
_Static_assert(offsetof(struct apir_ring_ctrl, entry_size) == 132, "entry_size offset");
_Static_assert(sizeof(struct apir_sge) == 16, "sge size");
_Static_assert(offsetof(struct apir_send_wqe, opcode) == 8, "wqe opcode offset");
_Static_assert(offsetof(struct apir_send_wqe, send_flags) == 12, "wqe flags offset");
_Static_assert(offsetof(struct apir_send_wqe, num_sge) == 16, "wqe num_sge offset");
_Static_assert(offsetof(struct apir_send_wqe, imm_data) == 20, "wqe imm offset");
_Static_assert(offsetof(struct apir_send_wqe, remote_addr) == 24, "wqe raddr offset");
_Static_assert(offsetof(struct apir_send_wqe, rkey) == 32, "wqe rkey offset");
_Static_assert(offsetof(struct apir_send_wqe, inline_len) == 36, "wqe inline_len offset");
_Static_assert(offsetof(struct apir_send_wqe, compare_add) == 40, "wqe compare_add offset");
_Static_assert(offsetof(struct apir_send_wqe, swap) == 48, "wqe swap offset");
_Static_assert(offsetof(struct apir_send_wqe, ah_handle) == 56, "wqe ah offset");
_Static_assert(offsetof(struct apir_send_wqe, remote_qpn) == 60, "wqe rqpn offset");
_Static_assert(offsetof(struct apir_send_wqe, remote_qkey) == 64, "wqe qkey offset");
_Static_assert(offsetof(struct apir_send_wqe, sge) == 72, "wqe sge offset");
_Static_assert(sizeof(struct apir_send_wqe) == 520, "send wqe size");
_Static_assert(sizeof(struct apir_recv_wqe) == 256, "recv wqe size");
_Static_assert(offsetof(struct apir_recv_wqe, sge) == 16, "recv sge offset");
_Static_assert(sizeof(struct apir_cqe) == 64, "cqe size");
_Static_assert(offsetof(struct apir_cqe, status) == 8, "cqe status offset");
_Static_assert(offsetof(struct apir_cqe, byte_len) == 20, "cqe byte_len offset");
_Static_assert(offsetof(struct apir_cqe, wc_flags) == 36, "cqe wc_flags offset");
_Static_assert(offsetof(struct apir_cqe, timestamp_ns) == 48, "cqe timestamp offset");
_Static_assert(sizeof(struct apir_cq_ctrl) == 256, "cq ctrl size");
_Static_assert(offsetof(struct apir_cq_ctrl, armed) == 192, "cq armed offset");
_Static_assert(sizeof(struct apir_qp_ctrl) == 448, "qp ctrl size");
_Static_assert(offsetof(struct apir_qp_ctrl, rq) == 192, "qp rq ctrl offset");
_Static_assert(offsetof(struct apir_qp_ctrl, state) == 384, "qp state offset");
_Static_assert(sizeof(struct apir_session_page) == 128, "session page size");
_Static_assert(sizeof(struct apir_cq_event_rec) == 8, "cq event record size");
_Static_assert(sizeof(struct apir_async_event_rec) == 16, "async event record size");
_Static_assert(sizeof(_Atomic uint32_t) == 4 && alignof(_Atomic uint32_t) == 4, "lock-free 32-bit atomics");

#endif /* APIR_RING_H */
