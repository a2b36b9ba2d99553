/* SPDX-License-Identifier: MIT */
/*
 * The apird-to-apird wire of the fabric engine: the messages two apirds
 * exchange over their libfabric endpoints to run RC, UC and UD queue pairs
 * across hosts. Bulk data never travels in these messages (beyond the
 * eager limit): the responder moves it with RMA (fi_read / fi_write)
 * between the two apirds' registrations of the regions.
 *
 * Layouts are fixed (static asserts below); every field is little-endian,
 * so both apirds must run on little-endian hosts (asserted). A receiver
 * validates every field before using any: a peer apird is infrastructure,
 * but a malformed message is dropped, never trusted.
 *
 * Per QP, requests carry a sequence number; the responder executes them
 * strictly in order and answers each RC/UC request with one ACK (or NAK)
 * in the same order. UD datagrams are never acknowledged.
 */
#ifndef APIR_FABRIC_WIRE_H
#define APIR_FABRIC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define APIR_FAB_MAGIC 0x62667061u        /* "apfb" in memory order */
#define APIR_FAB_WIRE_VERSION 1u
#define APIR_FAB_DEFAULT_PORT 7471u
#define APIR_FAB_MAX_SEGS 15u             /* one per SGE of a work request */
#define APIR_FAB_EAGER_MAX 4096u          /* payload bytes a request may carry */
#define APIR_FAB_UD_MTU 4096u             /* payload bytes of a UD datagram */
#define APIR_FAB_MAX_LENGTH (1u << 31)    /* bytes one request may move */

enum apir_fab_type {
	APIR_FAB_REQ = 1,                 /* RC/UC request (struct apir_fab_req) */
	APIR_FAB_ACK = 2,                 /* its answer (struct apir_fab_ack) */
	APIR_FAB_UD = 3,                  /* UD datagram (struct apir_fab_ud) */
	APIR_FAB_HELLO = 4,               /* sent when a QP connects (struct apir_fab_hello) */
};

/* Every message starts with this header. */
struct apir_fab_hdr {
	uint32_t magic;                   /* APIR_FAB_MAGIC */
	uint16_t version;                 /* APIR_FAB_WIRE_VERSION */
	uint16_t type;                    /* enum apir_fab_type */
	uint32_t length;                  /* bytes of the whole message, header included */
	uint32_t src_qpn;                 /* the sending QP (on the sending apird) */
	uint32_t dst_qpn;                 /* the receiving QP */
	uint32_t seq;                     /* REQ, ACK: the request's per-QP sequence number; UD: 0 */
	uint8_t src_gid[16];              /* the sending apird's GID (its port 1, index 0) */
};

/* flags of a request */
#define APIR_FAB_REQ_SOLICITED 0x1u       /* IBV_SEND_SOLICITED */
#define APIR_FAB_REQ_EAGER 0x2u           /* the payload follows; num_segs is 0 */
#define APIR_FAB_REQ_FLAGS (APIR_FAB_REQ_SOLICITED | APIR_FAB_REQ_EAGER)

/*
 * One work request of an RC or UC QP. Followed by num_segs segments, then
 * (EAGER) length payload bytes.
 *  - SEND, SEND_WITH_IMM, RDMA_WRITE, RDMA_WRITE_WITH_IMM: the payload is
 *    either eager (length <= APIR_FAB_EAGER_MAX) or named by the segments:
 *    the requester's source buffers, which the responder reads with RMA.
 *  - RDMA_READ: the segments are the requester's destination buffers, which
 *    the responder writes with RMA.
 *  - ATOMIC_CMP_AND_SWP, ATOMIC_FETCH_AND_ADD: length 8, no segment; the
 *    original value comes back in the ACK.
 * For a bulk request the segment lengths add up to length exactly.
 */
struct apir_fab_req {
	struct apir_fab_hdr hdr;
	uint32_t opcode;                  /* enum ibv_wr_opcode */
	uint32_t flags;                   /* APIR_FAB_REQ_* */
	uint32_t imm_data;                /* as in the work request (network byte order) */
	uint32_t rkey;                    /* the responder's guest-visible key */
	uint64_t remote_addr;
	uint64_t compare_add;
	uint64_t swap;
	uint32_t length;                  /* bytes the request moves, <= APIR_FAB_MAX_LENGTH */
	uint16_t qp_type;                 /* IBV_QPT_RC or IBV_QPT_UC */
	uint16_t num_segs;                /* <= APIR_FAB_MAX_SEGS */
};

/* A piece of the requester's memory, as the responder's RMA names it. */
struct apir_fab_seg {
	uint64_t key;                     /* the requester apird's fabric key (never a guest key) */
	uint64_t addr;                    /* RMA address in that registration */
	uint32_t length;                  /* > 0 */
	uint32_t reserved;                /* 0 */
};

enum apir_fab_status {
	APIR_FAB_OK = 0,
	APIR_FAB_RNR = 1,                 /* no receive WQE: retry after rnr_timer */
	APIR_FAB_REM_ACCESS = 2,          /* rkey, bounds, access: IBV_WC_REM_ACCESS_ERR */
	APIR_FAB_REM_INV_REQ = 3,         /* IBV_WC_REM_INV_REQ_ERR */
	APIR_FAB_REM_OP = 4,              /* IBV_WC_REM_OP_ERR */
	APIR_FAB_NO_QP = 5,               /* no QP connected to the sender: IBV_WC_RETRY_EXC_ERR */
	APIR_FAB_STATUS_COUNT
};

/* The answer to one request; hdr.seq names it, hdr.src_qpn is the
 * responder QP, hdr.dst_qpn the requester QP. */
struct apir_fab_ack {
	struct apir_fab_hdr hdr;
	uint32_t status;                  /* enum apir_fab_status */
	uint32_t rnr_timer;               /* RNR: the responder's min_rnr_timer (0..31) */
	uint64_t atomic_orig;             /* atomics: the target's value before the operation */
};

/* flags of a datagram */
#define APIR_FAB_UD_WITH_IMM 0x1u
#define APIR_FAB_UD_SOLICITED 0x2u
#define APIR_FAB_UD_FLAGS (APIR_FAB_UD_WITH_IMM | APIR_FAB_UD_SOLICITED)

/* A UD datagram, followed by length payload bytes. The receiver builds the
 * GRH from src_gid, its own GID and the fields below. */
struct apir_fab_ud {
	struct apir_fab_hdr hdr;
	uint32_t qkey;                    /* the Q_Key the sender used */
	uint32_t imm_data;
	uint32_t flags;                   /* APIR_FAB_UD_* */
	uint32_t length;                  /* <= APIR_FAB_UD_MTU */
	uint32_t flow_label;              /* <= 0xfffff */
	uint8_t sl;                       /* <= 15 */
	uint8_t traffic_class;
	uint8_t hop_limit;
	uint8_t reserved;                 /* 0 */
};

/* Sent to a peer apird when a QP connects to one of its QPs, and ignored
 * by the receiver: the fabric connection then forms, and the provider sets
 * up what its messages need, while the application still sets up, not on
 * its first request. As long as a request (providers may send small
 * messages another way); QPNs and seq 0, reserved bytes 0. */
struct apir_fab_hello {
	struct apir_fab_hdr hdr;
	uint8_t reserved[48];
};

/* The largest message: a request with every segment, or an eager one. */
#define APIR_FAB_MSG_MAX (sizeof(struct apir_fab_req) + APIR_FAB_MAX_SEGS * sizeof(struct apir_fab_seg) \
			  + APIR_FAB_EAGER_MAX)

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the fabric wire is little-endian");
_Static_assert(sizeof(struct apir_fab_hdr) == 40, "fabric header size");
_Static_assert(offsetof(struct apir_fab_hdr, seq) == 20, "fabric header seq offset");
_Static_assert(offsetof(struct apir_fab_hdr, src_gid) == 24, "fabric header gid offset");
_Static_assert(sizeof(struct apir_fab_req) == 88, "fabric request size");
_Static_assert(offsetof(struct apir_fab_req, remote_addr) == 56, "fabric request addr offset");
_Static_assert(offsetof(struct apir_fab_req, num_segs) == 86, "fabric request segs offset");
_Static_assert(sizeof(struct apir_fab_seg) == 24, "fabric segment size");
_Static_assert(sizeof(struct apir_fab_ack) == 56, "fabric ack size");
_Static_assert(sizeof(struct apir_fab_ud) == 64, "fabric datagram size");
_Static_assert(sizeof(struct apir_fab_hello) == sizeof(struct apir_fab_req), "fabric hello size");
_Static_assert(APIR_FAB_MSG_MAX == 4544, "largest fabric message");

#endif /* APIR_FABRIC_WIRE_H */
