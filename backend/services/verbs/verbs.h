/* SPDX-License-Identifier: MIT */
/*
 * The verbs service's object model and device, shared by its handlers
 * (one file per object kind) and its engines (engines/). Private to
 * services/verbs.
 *
 * apird is single-threaded: one loop serves control sockets and executes
 * the data plane, so objects need no locks. Objects refer to objects of
 * *other* sessions only by number (QPN, rkey) looked up at execution time,
 * never by pointer, so destroying a session can never leave a dangling
 * pointer in another.
 */
#ifndef APIRD_VERBS_H
#define APIRD_VERBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include <infiniband/verbs.h>

#include "apir/ring.h"
#include "apird.h"
#include "num_map.h"
#include "object_table.h"
#include "session.h"

struct apird_session;
struct apird_ah;
struct apird_config;
struct sw_link_ops;
struct sw_op;
struct verbs_dev;

/* ---- device limits apird enforces (reported by query_device) ---------- */
#define APIRD_MAX_QP 4096u
#define APIRD_MAX_QP_WR 8192u        /* per send or receive queue */
#define APIRD_MAX_CQ 4096u
#define APIRD_MAX_CQE 65536u
#define APIRD_MAX_MR 65536u
#define APIRD_MAX_PD 4096u
#define APIRD_MAX_SRQ 1024u
#define APIRD_MAX_SRQ_WR 8192u
#define APIRD_MAX_AH 4096u
#define APIRD_MAX_MR_SIZE (1ull << 40)
#define APIRD_MAX_QP_RD_ATOM 16u
#define APIRD_MAX_MSG_SZ (1u << 31)
#define APIRD_PKEY_DEFAULT 0xffffu

/* ---- objects ------------------------------------------------------------ */

struct apird_pd {
	uint32_t handle;
	struct apird_session *session;
	uint32_t refs;               /* MRs, QPs, SRQs, AHs using it */
};

struct apird_mr {
	uint32_t handle;
	struct apird_session *session;
	struct apird_pd *pd;
	uint32_t lkey;
	uint32_t rkey;
	uint32_t access;             /* enum ibv_access_flags */
	uint64_t iova;               /* first byte peers and lkeys address */
	uint64_t length;
	uint8_t *base;               /* apird's mapping of byte iova */
	void *map;                   /* mmap() result to munmap (NULL: a link took it) */
	size_t map_len;
	void *link_priv;             /* its registration with the remote link, or NULL */
};

struct apird_comp_channel {
	uint32_t handle;
	struct apird_session *session;
	uint32_t sink;               /* where its events go (transport.h) */
	uint32_t refs;               /* CQs using it */
};

struct apird_cq {
	uint32_t handle;
	struct apird_session *session;
	struct apird_comp_channel *channel;  /* may be NULL */
	struct apir_cq_ctrl *ctrl;   /* shared with the frontend */
	struct apir_cqe *cqes;
	uint32_t num_entries;        /* apird's own copy, power of two */
	uint32_t prod;               /* apird's own producer index */
	void *area;
	size_t area_len;
	uint32_t refs;               /* QPs using it */
	bool overflowed;             /* async event already sent */
};

struct apird_srq {
	uint32_t handle;
	struct apird_session *session;
	struct apird_pd *pd;
	uint32_t srq_num;
	struct apir_srq_ctrl *ctrl;
	struct apir_recv_wqe *wqes;
	uint32_t num_entries;
	uint32_t cons;               /* apird's own consumer index */
	uint32_t max_wr;
	uint32_t max_sge;
	uint32_t srq_limit;          /* 0: not armed */
	void *area;
	size_t area_len;
	uint32_t refs;               /* QPs using it */
};

struct apird_ah {
	uint32_t handle;
	struct apird_session *session;
	struct apird_pd *pd;
	struct ibv_ah_attr attr;
};

#define APIRD_FABRIC_ADDR_MAX 32    /* "255.255.255.255:65535" */

/* The peer of a QP connected to a QP of another apird (through the sw
 * engine's remote link): set at RTR when the address vector names a
 * foreign GID, cleared in RESET. apirctl shows it. */
struct apird_qp_remote {
	bool active;                 /* the remote link carries this QP's traffic */
	union ibv_gid gid;           /* the peer apird's GID */
	uint32_t qpn;                /* the peer QP's number on that apird */
	char addr[APIRD_FABRIC_ADDR_MAX]; /* that apird's fabric address, "IP:PORT" */
	uint64_t requests_sent;      /* requests put on the wire, RNR retries included */
	uint64_t rnr_naks;           /* RNR NAKs received as requester */
	uint64_t naks_sent;          /* requests refused as responder (errors and RNR) */
};

/* A send queue stalled on an RNR NAK from the responder. */
struct apird_rnr {
	bool waiting;
	bool peer_missing;           /* RC peer absent: RETRY_EXC_ERR at retry_at_ns */
	uint64_t retry_at_ns;        /* CLOCK_MONOTONIC */
	uint32_t retries_left;       /* 7 in rnr_retry means infinite */
};

struct apird_qp {
	uint32_t handle;
	struct apird_session *session;
	struct apird_pd *pd;
	struct apird_cq *send_cq;
	struct apird_cq *recv_cq;
	struct apird_srq *srq;       /* NULL: own receive queue */
	uint32_t qp_num;
	enum ibv_qp_type qp_type;
	enum ibv_qp_state state;
	bool sq_sig_all;
	struct ibv_qp_cap cap;       /* what apird granted */

	/* Shared area (apir_qp_layout()). */
	struct apir_qp_ctrl *ctrl;
	struct apir_send_wqe *sq;
	struct apir_recv_wqe *rq;
	uint32_t sq_entries;         /* apird's own copies, powers of two */
	uint32_t rq_entries;
	uint32_t sq_cons;            /* apird's own consumer indices */
	uint32_t rq_cons;
	void *area;
	size_t area_len;

	/* Attributes set by modify_qp. */
	struct ibv_qp_attr attr;     /* every field last set (attr.qp_state is stale: use state) */
	bool sq_error_logged;        /* a bad ring index is logged once */

	struct apird_rnr rnr;
	uint64_t bytes_sent;         /* counters for apirctl */
	uint64_t ops_sent;
	uint64_t bytes_received;     /* as responder: apird_qp_count_received() */
	uint64_t ops_received;
	struct apird_qp_remote remote;
	const struct sw_link_ops *link;   /* the remote link that knows this QP, or NULL */
	void *link_priv;             /* that link's state of this QP */

	struct apird_qp *next_active; /* engine's sweep list (QPs in RTS/SQD/SQE/ERR) */
};

/* The QP, as responder, executed an incoming request (SEND, RDMA WRITE or
 * READ, atomic) of this many bytes (for a SEND: what the receive completion
 * reports in byte_len, the GRH included on UD). Counted for apirctl by
 * every engine's responder path. */
static inline void apird_qp_count_received(struct apird_qp *qp, uint64_t bytes)
{
	qp->bytes_received += bytes;
	qp->ops_received++;
}

/* ---- the device and the sessions of the verbs service ----------------------- */

/* One verbs session's objects (the service's s->priv). */
struct verbs_session {
	struct apird_table pds;
	struct apird_table mrs;
	struct apird_table channels;
	struct apird_table cqs;
	struct apird_table srqs;
	struct apird_table qps;
	struct apird_table ahs;
};

/* The verbs device apird exposes (the service's priv): its identity, its
 * daemon-wide number spaces, and its engine. */
struct verbs_dev {
	struct apird *apird;
	const struct verbs_engine_ops *engine;
	union ibv_gid gid;           /* port 1, index 0 */
	struct apird_num_map qps;    /* QPN -> struct apird_qp */
	struct apird_num_map srqs;   /* SRQ number -> struct apird_srq */
	struct apird_num_map mr_keys;  /* lkey and rkey -> struct apird_mr */
	uint32_t next_qpn;
	uint32_t next_srqn;
	/* The sw engine's sweep: QPs whose send queue may hold work, and the
	 * clock of the current sweep. */
	struct apird_qp *active_qps;
	uint64_t now_ns;
	/* The sw engine's link to QPs of other apirds (engines/sw/link.h), or
	 * NULL: the fabric engine when fabric_addr is set. */
	const struct sw_link_ops *remote_link;
	void *remote_link_priv;
};

static inline struct verbs_session *verbs_session(const struct apird_session *s)
{
	return s->priv;
}

static inline struct verbs_dev *verbs_dev_of(const struct apird_session *s)
{
	return s->service->priv;
}

/* qp_registry.c: a fresh 24-bit number for qp (or srq), never 0 or 1,
 * unique in the device. Returns 0 or -ENOMEM. */
int apird_qpn_assign(struct verbs_dev *d, struct apird_qp *qp);
void apird_qpn_release(struct verbs_dev *d, struct apird_qp *qp);
int apird_srqn_assign(struct verbs_dev *d, struct apird_srq *srq);
void apird_srqn_release(struct verbs_dev *d, struct apird_srq *srq);
/* mr_keys.c: sets mr->lkey and mr->rkey to random, non-zero, distinct keys
 * unused by any live MR of the device. Returns 0 or -errno. */
int apird_mr_keys_assign(struct verbs_dev *d, struct apird_mr *mr);
void apird_mr_keys_release(struct verbs_dev *d, struct apird_mr *mr);

/* Global lookup by number, across sessions (a peer's QPN, a peer's rkey).
 * Implemented by the service (qp_registry.c, mr_keys.c). */
struct apird_qp *apird_qp_lookup(struct verbs_dev *d, uint32_t qp_num);
struct apird_srq *apird_srq_lookup(struct verbs_dev *d, uint32_t srq_num);
/* Returns the live MR whose lkey or rkey equals key (the caller checks
 * which one matched, and PD, access and bounds), or NULL. */
struct apird_mr *apird_mr_lookup(struct verbs_dev *d, uint32_t key);
/* A session's own address handle by handle (a UD send WQE names one), or
 * NULL. */
struct apird_ah *apird_ah_lookup(struct apird_session *s, uint32_t handle);

/* Queue an async event for the session's frontend (never blocks; dropped
 * and logged once when it does not read). kind: enum apir_obj_kind. */
void apird_session_async_event(struct apird_session *s, enum ibv_event_type type,
			       enum apir_obj_kind kind, uint32_t handle);
/* A CQ event for a completion channel (never blocks). */
void apird_channel_notify(struct apird_comp_channel *ch, uint32_t cq_handle);

/* The GID every port of this apird reports at index 0 (RoCE v2,
 * IPv4-mapped address of the apird). */
const union ibv_gid *apird_local_gid(const struct verbs_dev *d);
/* ::ffff:a.b.c.d, the IPv4-mapped form RoCE v2 uses for an IPv4 address. */
void apird_gid_from_ipv4(union ibv_gid *gid, struct in_addr a);
/* Whether an address vector names a QP of this apird: this apird's GID, or
 * no GRH at all (else, with a remote link, a QP of another apird).
 * Implemented in address_vector.c. */
bool apird_av_is_local(const struct verbs_dev *d, const struct ibv_ah_attr *av);

#endif /* APIRD_VERBS_H */
