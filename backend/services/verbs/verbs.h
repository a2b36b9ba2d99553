/* SPDX-License-Identifier: MIT */
/*
 * apird internal object model, shared by the control plane (session,
 * dispatch, verb handlers) and the sw engine. Private to backend/.
 *
 * apird is single-threaded: one loop serves control sockets and executes
 * the data plane, so objects need no locks. Objects refer to objects of
 * *other* sessions only by number (QPN, rkey) looked up at execution time,
 * never by pointer, so destroying a session can never leave a dangling
 * pointer in another.
 */
#ifndef APIRD_H
#define APIRD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#include "apir/ring.h"

struct apird;
struct apird_session;
struct apird_ah;
struct apird_config;
struct fab_qp;
struct fab_region;
struct sw_op;

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
	void *map;                   /* mmap() result to munmap (NULL: the fabric engine took it) */
	size_t map_len;
	struct fab_region *fabric;   /* its registration with the fabric domain, or NULL */
};

struct apird_comp_channel {
	uint32_t handle;
	struct apird_session *session;
	int fd;                      /* write end, O_NONBLOCK */
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

/* The peer of a QP connected to a QP of another apird (fabric engine):
 * set at RTR when the address vector names a foreign GID, cleared in RESET. */
struct apird_qp_remote {
	bool active;                 /* the fabric engine carries this QP's traffic */
	union ibv_gid gid;           /* the peer apird's GID */
	uint32_t qpn;                /* the peer QP's number on that apird */
	char addr[APIRD_FABRIC_ADDR_MAX]; /* that apird's fabric address, "IP:PORT" */
	uint64_t requests_sent;      /* requests put on the wire, RNR retries included */
	uint64_t rnr_naks;           /* RNR NAKs received as requester */
	uint64_t naks_sent;          /* requests refused as responder (errors and RNR) */
	struct fab_qp *engine;       /* the fabric engine's state of this QP */
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

/* ---- per-session object tables ------------------------------------------- */

/* A handle table: handle -> object pointer. Handles are 1-based, never 0,
 * and are not reused until the table wraps around. */
struct apird_table {
	void **slots;
	uint32_t cap;
	uint32_t count;
	uint32_t next_hint;
	uint32_t limit;              /* maximum live objects */
};

int apird_table_init(struct apird_table *t, uint32_t limit);
void apird_table_fini(struct apird_table *t);
/* Returns a new handle (> 0) or 0 when full / out of memory. */
uint32_t apird_table_insert(struct apird_table *t, void *obj);
void *apird_table_get(const struct apird_table *t, uint32_t handle);
void *apird_table_remove(struct apird_table *t, uint32_t handle);
/* Iterate: returns the next live handle > after, or 0 at the end. */
uint32_t apird_table_next(const struct apird_table *t, uint32_t after);

/* ---- the daemon ------------------------------------------------------------- */

/* Global lookup by number, across sessions (a peer's QPN, a peer's rkey).
 * Implemented by the control plane (qp_registry.c, mr_keys.c). */
struct apird_qp *apird_qp_lookup(struct apird *d, uint32_t qp_num);
struct apird_srq *apird_srq_lookup(struct apird *d, uint32_t srq_num);
/* Returns the live MR whose lkey or rkey equals key (the caller checks
 * which one matched, and PD, access and bounds), or NULL. */
struct apird_mr *apird_mr_lookup(struct apird *d, uint32_t key);
/* A session's own address handle by handle (a UD send WQE names one), or
 * NULL. Implemented by the control plane with the session's AH table. */
struct apird_ah *apird_ah_lookup(struct apird_session *s, uint32_t handle);

/* Queue an async event on the session's async pipe (never blocks; a full
 * pipe drops the event and logs once). kind: enum apir_obj_kind. */
void apird_session_async_event(struct apird_session *s, enum ibv_event_type type,
			       enum apir_obj_kind kind, uint32_t handle);
/* Write a CQ event record to a completion channel (never blocks). */
void apird_channel_notify(struct apird_comp_channel *ch, uint32_t cq_handle);

/* The GID every port of this apird reports at index 0 (RoCE v2,
 * IPv4-mapped address of the apird). */
const union ibv_gid *apird_local_gid(const struct apird *d);
/* Whether an address vector names a QP of this apird: this apird's GID, or
 * no GRH at all (else, with the fabric on, a QP of another apird).
 * Implemented in address_vector.c. */
bool apird_av_is_local(const struct apird *d, const struct ibv_ah_attr *av);

struct apird {
	/* Engine's sweep list: QPs whose send queue may hold work. */
	struct apird_qp *active_qps;
	/* Set while the engine sleeps; mirrored into every session page. */
	bool sleeping;
	uint64_t now_ns;             /* CLOCK_MONOTONIC at the start of the sweep */
	struct apird_control *ctl;   /* control-plane state (server.c) */
	struct apird_fabric *fabric; /* the fabric engine, NULL while the fabric is off */
};

/* ---- sw engine (engine_sw/) --------------------------------------------------- */

/* One sweep over every active QP: executes posted work requests (sets
 * d->now_ns first). Returns the number of work requests completed or
 * failed (0: nothing to do). */
unsigned int sw_engine_poll(struct apird *d);
/* Earliest RNR retry deadline in CLOCK_MONOTONIC ns, or 0 if none. It may
 * already have passed: then sweep without sleeping. */
uint64_t sw_engine_next_deadline(const struct apird *d);
/* Whether any ring has work (checked after the sleeping flag is set). */
bool sw_engine_has_work(const struct apird *d);

/* Called by modify_qp after a validated transition (qp->state already
 * updated, ctrl->state published): adds or removes the QP from the sweep
 * list; entering ERR flushes every outstanding WQE with WR_FLUSH_ERR (in
 * the following sweeps; has_work reports them) and raises
 * IBV_EVENT_QP_LAST_WQE_REACHED for a QP of an SRQ; entering RESET discards
 * every queued WQE: apird's consumer indices catch up with the producers,
 * which the frontend keeps running (never resets); entering SQD raises
 * IBV_EVENT_SQ_DRAINED (if en_sqd_async_notify) once nothing is in flight. */
void sw_qp_state_changed(struct apird *d, struct apird_qp *qp, enum ibv_qp_state old_state);
/* Sets qp's state, publishes it in ctrl->state, then sw_qp_state_changed
 * (nothing when the state stays the same). */
void sw_qp_set_state(struct apird *d, struct apird_qp *qp, enum ibv_qp_state state);
/* Called before a QP is destroyed: removes it from every engine list. */
void sw_qp_detach(struct apird *d, struct apird_qp *qp);
/* Moves a QP to ERR on the engine's own initiative (fatal error: raises
 * IBV_EVENT_QP_FATAL; nothing if the QP already is in ERR). */
void sw_qp_to_error(struct apird *d, struct apird_qp *qp);
/* Writes one completion: handles overflow (async event IBV_EVENT_CQ_ERR) and
 * arming (completion channel event). solicited: the WR carried
 * IBV_SEND_SOLICITED. Returns 0 or -ENOSPC when the CQ overflowed. */
int sw_cq_push(struct apird_cq *cq, const struct apir_cqe *cqe, bool solicited);

/* ---- fabric engine (engine_fabric/): QPs of other apirds through libfabric -- */

/* Opens the endpoint cfg->fabric_ip:fabric_port with cfg->fabric_provider.
 * Returns 0 or -errno (the reason is logged). */
int apird_fabric_start(struct apird *d, const struct apird_config *cfg);
/* Closes everything; outstanding fabric work is abandoned. */
void apird_fabric_stop(struct apird *d);
/* Registers mr with the fabric domain (nothing while the fabric is off).
 * Returns 0 or -errno. */
int apird_fabric_mr_register(struct apird *d, struct apird_mr *mr);
/* Revokes mr's fabric registration: no peer can reach it afterwards. If
 * fabric operations still use its pages, the engine takes over the mapping
 * (mr->map becomes NULL) and unmaps it once they finished. */
void apird_fabric_mr_unregister(struct apird *d, struct apird_mr *mr);
/* Whether an address vector may name gid: this apird's GID, or with the
 * fabric on, an IPv4-mapped GID (the GID of another apird). */
bool apird_fabric_gid_reachable(const struct apird *d, const union ibv_gid *gid);
/* An RC/UC QP's RTR address vector names another apird: resolves (and
 * caches) its fabric address and connects qp->remote to dest_qpn there.
 * Returns 0 or -errno with a reason in err. */
int apird_fabric_qp_connect(struct apird *d, struct apird_qp *qp, const struct ibv_ah_attr *av,
			    uint32_t dest_qpn, char *err, size_t err_len);
/* Forgets qp's peer (RESET, a local address vector, destruction). */
void apird_fabric_qp_disconnect(struct apird *d, struct apird_qp *qp);
/* Polls the fabric CQ and runs everything it unblocks (responders, ACKs,
 * timeouts). Returns the number of events handled (0: nothing). */
unsigned int apird_fabric_poll(struct apird *d);
/* Whether apird may sleep now: false when the provider has unread events
 * (fi_trywait) or fabric work needs polling without a wake-up fd. */
bool apird_fabric_can_sleep(struct apird *d);
/* Earliest fabric deadline (ACK timeout, retry, poll interval) in
 * CLOCK_MONOTONIC ns, or 0 if none. */
uint64_t apird_fabric_next_deadline(const struct apird *d);
/* The fd that becomes readable when the fabric has events, or -1. */
int apird_fabric_wait_fd(const struct apird *d);

/* Engine hooks, called by engine_sw for a QP with remote.active. */
/* Runs a remote QP's send queue (RTS, SQD): issues requests, completes
 * acknowledged ones. Returns the number of WQEs issued or completed. */
unsigned int apird_fabric_sq_run(struct apird *d, struct apird_qp *qp);
bool apird_fabric_sq_has_work(const struct apird *d, const struct apird_qp *qp);
/* Whether requests of a remote QP are in flight (SQD is drained without). */
bool apird_fabric_in_flight(const struct apird_qp *qp);
/* After qp->state changed (leaving RTS/SQD forgets requests in flight). */
void apird_fabric_qp_state_changed(struct apird *d, struct apird_qp *qp,
				   enum ibv_qp_state old_state);
/* A UD send whose address handle names another apird. */
void apird_fabric_ud_send(struct sw_op *op, const struct apird_ah *ah);

#endif /* APIRD_H */
