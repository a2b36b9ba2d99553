/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of the fabric engine: QPs of this apird connected to
 * QPs of other apirds through one libfabric endpoint. The design is told at
 * the top of fab_engine.c; the wire is proto/include/apir/fabric_wire.h.
 *
 * Ownership: the engine owns its peers, per-QP state (struct fab_qp),
 * buffers and fabric registrations (struct fab_region). A destroyed QP or
 * MR whose pages an operation in flight still uses is kept by the engine
 * (fab_qp.qp = NULL, fab_region retired) until that operation completes,
 * so the provider never touches memory apird gave back.
 */
#ifndef APIRD_FABRIC_ENGINE_H
#define APIRD_FABRIC_ENGINE_H

#include <netinet/in.h>
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>

#include "apir/fabric_wire.h"
#include "verbs.h"
#include "config.h"
#include "sw.h"

#define FAB_WINDOW 32u                 /* requests in flight per QP */
#define FAB_SEQ_MASK 0xffffffu         /* sequence numbers are PSNs: 24 bits */
#define FAB_RX_BUFS 256u               /* receive buffers kept posted */
#define FAB_TX_BUFS 512u               /* message buffers */
#define FAB_RMA_OPS 512u               /* RMA pieces in flight, all QPs together */
#define FAB_RMA_PER_QP 8u              /* RMA pieces in flight for one QP */
#define FAB_RESP_DEPTH 8u              /* requests of one QP in execution at once */
/* Bytes of one RMA piece. tcp;ofi_rxm moves 128 KiB pieces more than twice
 * as fast as 1 MiB ones between two namespaces (ib_write_bw 1 MiB: 3.3 to
 * 4.9 GiB/s against 1.3 to 1.6 with 1 MiB pieces; 64 KiB pieces 3.0 to 3.3),
 * and 8 of them in flight keep the stream full. */
#define FAB_RMA_CHUNK (1u << 17)
#define FAB_BUF_SIZE 4608u             /* >= APIR_FAB_MSG_MAX, multiple of 64 */
#define FAB_PEERS_MAX 1024u
#define FAB_CQ_BATCH 32
#define FAB_NO_QP_RETRY_NS 1000000ull            /* resend to a peer QP not there (yet) */
#define FAB_NO_WAIT_FD_POLL_NS 1000000ull         /* sleep bound without a wait fd */
#define FAB_IDLE_POLL_NS 20000ull                 /* CQ look interval with nothing in flight */
#define FAB_CONNECT_SPIN_NS 50000000ull           /* no sleep while a connection forms, this long */
#define FAB_PEER_PATIENCE_MIN_NS 1000000000ull    /* a peer's backlog is given up after no less */
#define FAB_WARM_UP_NS 1000000000ull              /* start-up message to itself, at most this long */

_Static_assert(FAB_BUF_SIZE >= APIR_FAB_MSG_MAX, "a buffer holds the largest message");

/* ---- what the provider hands back ---------------------------------------- */

enum fab_ctx_kind {
	FAB_CTX_RX,
	FAB_CTX_TX,
	FAB_CTX_RMA,
};

/* The first member of everything posted to the endpoint: the provider's
 * scratch space (FI_CONTEXT2 mode), then what the completion is about. */
struct fab_ctx {
	struct fi_context2 fi;
	enum fab_ctx_kind kind;
};

/* ---- peers: the address vector cache --------------------------------------- */

struct fab_peer {
	union ibv_gid gid;               /* the peer apird's GID (IPv4-mapped) */
	struct sockaddr_in sin;          /* its fabric address */
	char addr[APIRD_FABRIC_ADDR_MAX];  /* "IP:PORT" */
	fi_addr_t fi_addr;               /* FI_ADDR_UNSPEC: not in the AV (forgotten after a failure) */
	uint32_t generation;             /* bumped when forgotten: errors of older operations are stale */
	bool malformed_logged;           /* a malformed message from it was logged */
	bool failure_logged;
	bool greeted;                    /* a hello went (since it was last forgotten) */
	/* Messages the provider did not take yet (-FI_EAGAIN: a connection
	 * forming, a full queue), in order; each peer has its own, so that a
	 * peer that cannot be reached holds up no other. */
	struct fab_tx *backlog, *backlog_tail;
	uint64_t backlog_moved_ns;       /* when it started, or a message of it last left */
};

/* ---- buffers ---------------------------------------------------------------- */

/* A message as validated by fab_msg_parse(): every pointer is inside the
 * buffer and every count and length is consistent. */
struct fab_msg {
	const struct apir_fab_hdr *hdr;
	const struct apir_fab_req *req;  /* APIR_FAB_REQ */
	const struct apir_fab_ack *ack;  /* APIR_FAB_ACK */
	const struct apir_fab_ud *ud;    /* APIR_FAB_UD */
	const struct apir_fab_seg *segs; /* REQ: num_segs of them */
	const uint8_t *payload;          /* eager REQ, UD */
	uint32_t payload_len;
};

struct fab_rx {
	struct fab_ctx ctx;
	struct fab_rx *next;             /* a responder's queue, or the repost list */
	uint8_t *buf;                    /* FAB_BUF_SIZE bytes */
	size_t len;                      /* bytes received */
	fi_addr_t src;                   /* FI_SOURCE: the sender, else FI_ADDR_NOTAVAIL */
	struct fab_msg msg;              /* a request held by a responder: parsed */
	struct fab_peer *peer;           /* and its sender */
};

struct fab_tx {
	struct fab_ctx ctx;
	struct fab_tx *next;             /* free list or backlog */
	struct fab_peer *peer;
	uint32_t generation;             /* of peer when sent */
	size_t len;
	uint8_t *buf;                    /* FAB_BUF_SIZE bytes */
};

/* One RMA piece of a responder's request (fq, exec NULL: abandoned, its
 * completion only gives back the context and the region pin). */
struct fab_rma {
	struct fab_ctx ctx;
	struct fab_rma *next;            /* free list */
	struct fab_qp *fq;
	struct fab_exec *exec;
	struct fab_region *region;       /* the pages it moves, pinned until it completes */
};

/* ---- registrations ------------------------------------------------------------ */

/* An apird MR registered with the fabric domain. */
struct fab_region {
	struct fid_mr *mr;
	uint64_t key;                    /* fabric key, known only to apirds */
	void *desc;                      /* fi_mr_desc() */
	uint8_t *base;                   /* apird's mapping of the region's first byte */
	uint32_t refs;                   /* fabric operations using its pages */
	void *map;                       /* after the MR was destroyed: its mapping, unmapped at refs 0 */
	size_t map_len;
	struct fab_region *next;         /* the retired list */
};

/* The regions an operation's pages lie in, pinned while it is in flight
 * (by region: an MR may be destroyed meanwhile). r[i] is segment i's
 * region (NULL: apird's own memory); a region whose mr is NULL was revoked. */
struct fab_pins {
	struct fab_region *r[APIR_MAX_SGE + 1];
	uint32_t num;
};

/* ---- per-QP state ---------------------------------------------------------------- */

/* A requester's request in flight. */
struct fab_slot {
	uint64_t wr_id;
	uint32_t opcode;
	uint32_t send_flags;
	uint32_t byte_len;
	struct sw_sgl local;             /* its local buffers (READ and atomic results land here) */
	struct fab_pins pins;            /* bulk, READ, atomic: local's regions */
};

/* A request the responder executes. Answers go out in request order: an
 * executed request waits for the ones before it (done, status). */
struct fab_exec {
	struct fab_rx *rx;               /* the request (rx->msg), held until answered */
	bool push;                       /* RDMA READ: fi_write to the requester; else fi_read */
	bool rma;                        /* its bytes move by RMA (the cursor below) */
	struct sw_sgl mem;               /* the responder's memory the RMA moves */
	struct fab_pins pins;            /* mem's regions */
	struct sw_recv recv;             /* SEND, WRITE_WITH_IMM: the receive WQE taken */
	bool has_recv;
	uint32_t mem_i, mem_off;         /* RMA cursor: next byte of mem */
	uint32_t seg_i, seg_off;         /* and of the requester's segments */
	uint64_t left;                   /* bytes not issued yet */
	uint32_t inflight;               /* pieces in flight */
	bool failed;                     /* a piece failed */
	uint64_t rma_timeout_ns;         /* no piece completing for that long: the peer is gone */
	uint64_t rma_deadline_ns;
	bool done;                       /* executed; the answer: */
	enum apir_fab_status status;
	uint8_t rnr_timer;
	uint64_t orig;
};

/* Requests of one QP in execution: exec[head .. head + count). Several at
 * once only for bulk RDMA WRITEs in a row, whose pulls may overlap when the
 * provider places RMA data in issue order. */
struct fab_resp {
	struct fab_exec exec[FAB_RESP_DEPTH];
	uint32_t head;
	uint32_t count;
};

struct fab_qp {
	struct apird_qp *qp;             /* NULL once destroyed: freed when nothing is in flight */
	struct fab_peer *peer;
	struct fab_qp *next;             /* the engine's list */
	/* requester */
	uint32_t next_seq;               /* of the next request */
	uint32_t sent;                   /* in flight: WQEs sq_cons .. sq_cons + sent - 1 */
	uint32_t resend;                 /* rewound by a NAK: may be sent again in SQD */
	uint64_t resend_at_ns;           /* a rewound window goes again then (0: not waiting) */
	uint64_t ack_deadline_ns;        /* no ACK by then: RETRY_EXC_ERR (0: none) */
	struct fab_slot slot[FAB_WINDOW];
	/* responder */
	uint32_t expected_seq;           /* of the next request to accept */
	bool rnr_nakked;                 /* go-back-N: drop until expected_seq comes again */
	struct fab_rx *queue, *queue_tail;  /* accepted requests not executed yet */
	uint32_t queued;
	struct fab_resp resp;
};

/* ---- the engine ---------------------------------------------------------------------- */

struct apird_fabric {
	struct verbs_dev *d;
	struct apird_config cfg;         /* copy: provider, address, peer ports */
	union ibv_gid gid;
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_av *av;
	struct fid_cq *cq;
	struct fid_ep *ep;
	int wait_fd;                     /* -1: the CQ cannot wake apird */
	bool has_source;                 /* completions name the sender (FI_SOURCE) */
	bool local_mr;                   /* FI_MR_LOCAL: local buffers need descriptors */
	bool virt_addr;                  /* FI_MR_VIRT_ADDR: RMA addresses are virtual */
	bool prov_key;                   /* FI_MR_PROV_KEY: the provider picks keys */
	bool ordered_placement;          /* RMA data lands in issue order (one stream per peer) */
	bool delivery_complete;          /* a write completes only once placed (no FI_ORDER_SAW) */
	uint64_t key_mask;               /* keys fit mr_key_size */
	size_t inject_size;
	uint64_t max_rma;                /* bytes of one RMA operation */

	struct fab_peer *peers[FAB_PEERS_MAX];
	uint32_t num_peers;
	struct fab_qp *qps;              /* every fab_qp, orphans included */
	struct fab_region *retired;      /* regions of destroyed MRs still in use */

	uint8_t *slab;                   /* rx and tx buffers */
	size_t slab_len;
	struct fid_mr *slab_mr;
	void *slab_desc;
	struct fab_rx rx[FAB_RX_BUFS];
	struct fab_rx *repost;           /* received buffers not posted again yet */
	struct fab_tx tx[FAB_TX_BUFS];
	struct fab_tx *tx_free;
	uint32_t tx_free_count;
	uint32_t backlogged;             /* peers whose backlog is not empty */
	struct fab_rma rma[FAB_RMA_OPS];
	struct fab_rma *rma_free;
	bool cq_error_logged;
	bool unknown_malformed_logged;   /* from a sender that is no peer */
	uint64_t last_poll_ns;           /* of the CQ (0: poll on the next turn) */
};

static inline struct apird_fabric *fab_of(const struct verbs_dev *d)
{
	return d->remote_link_priv;
}

static inline uint32_t fab_seq_add(uint32_t seq, uint32_t n)
{
	return (seq + n) & FAB_SEQ_MASK;
}

/* The fabric engine as the sw engine's remote link (fab_link.c). */
extern const struct sw_link_ops apird_fabric_link;

/* ---- the link's entry points (fab_link.c puts them in apird_fabric_link) ---- */

/* Opens the endpoint cfg->fabric_ip:fabric_port with cfg->fabric_provider.
 * Returns 0 or -errno (the reason is logged). */
int apird_fabric_start(struct verbs_dev *d, const struct apird_config *cfg);
/* Closes everything; outstanding fabric work is abandoned. */
void apird_fabric_stop(struct verbs_dev *d);
/* Registers mr with the fabric domain (nothing while the fabric is off).
 * Returns 0 or -errno. */
int apird_fabric_mr_register(struct verbs_dev *d, struct apird_mr *mr);
/* Revokes mr's fabric registration: no peer can reach it afterwards. If
 * fabric operations still use its pages, the engine takes over the mapping
 * (mr->map becomes NULL) and unmaps it once they finished. */
void apird_fabric_mr_unregister(struct verbs_dev *d, struct apird_mr *mr);
/* Whether an address vector may name gid: this apird's GID, or with the
 * fabric on, an IPv4-mapped GID (the GID of another apird). */
bool apird_fabric_gid_reachable(const struct verbs_dev *d, const union ibv_gid *gid);
/* An RC/UC QP's RTR address vector names another apird: resolves (and
 * caches) its fabric address and connects qp->remote to dest_qpn there.
 * Returns 0 or -errno with a reason in err. */
int apird_fabric_qp_connect(struct verbs_dev *d, struct apird_qp *qp, const struct ibv_ah_attr *av,
			    uint32_t dest_qpn, char *err, size_t err_len);
/* Forgets qp's peer (RESET, a local address vector, destruction). */
void apird_fabric_qp_disconnect(struct verbs_dev *d, struct apird_qp *qp);
/* Polls the fabric CQ and runs everything it unblocks (responders, ACKs,
 * timeouts). Returns the number of events handled (0: nothing). */
unsigned int apird_fabric_poll(struct verbs_dev *d);
/* Whether apird may sleep now: false when the provider has unread events
 * (fi_trywait) or fabric work needs polling without a wake-up fd. */
bool apird_fabric_can_sleep(struct verbs_dev *d);
/* Earliest fabric deadline (ACK timeout, retry, poll interval) in
 * CLOCK_MONOTONIC ns, or 0 if none. */
uint64_t apird_fabric_next_deadline(const struct verbs_dev *d);
/* The fd that becomes readable when the fabric has events, or -1. */
int apird_fabric_wait_fd(const struct verbs_dev *d);

/* Hooks of a QP with remote.active, called by the sw engine through its link. */
/* Runs a remote QP's send queue (RTS, SQD): issues requests, completes
 * acknowledged ones. Returns the number of WQEs issued or completed. */
unsigned int apird_fabric_sq_run(struct verbs_dev *d, struct apird_qp *qp);
bool apird_fabric_sq_has_work(const struct verbs_dev *d, const struct apird_qp *qp);
/* Whether requests of a remote QP are in flight (SQD is drained without). */
bool apird_fabric_in_flight(const struct apird_qp *qp);
/* After qp->state changed (leaving RTS/SQD forgets requests in flight). */
void apird_fabric_qp_state_changed(struct verbs_dev *d, struct apird_qp *qp,
				   enum ibv_qp_state old_state);
/* A UD send whose address handle names another apird. */
void apird_fabric_ud_send(struct sw_op *op, const struct apird_ah *ah);

/* fab_engine.c */
void fab_log_fi(const char *what, int ret);

/* fab_peer.c */
/* The peer with this GID, resolving and inserting it into the AV on first
 * use (and again after it was forgotten). NULL with *err: EHOSTUNREACH (not
 * an IPv4-mapped GID, or our own), ENOSPC (too many peers), or the AV's
 * error. */
struct fab_peer *fab_peer_get(struct apird_fabric *f, const union ibv_gid *gid, int *err);
/* Its AV address, inserting it again if it was forgotten; FI_ADDR_UNSPEC
 * when the AV refuses it. */
fi_addr_t fab_peer_addr(struct apird_fabric *f, struct fab_peer *p);
/* The peer apird failed (connection refused or reset): its QPs with
 * requests in flight fail with RETRY_EXC_ERR, and its AV entry is removed
 * so that a restarted apird at that address is reached afresh. */
void fab_peer_failed(struct apird_fabric *f, struct fab_peer *p, int err);
/* Removes p from the AV (the provider drops its connection, formed or not;
 * the next message to p connects afresh); errors of what was sent to it
 * before are stale from now on. */
void fab_peer_forget(struct apird_fabric *f, struct fab_peer *p);
/* A malformed message arrived from p (or an unknown sender): logged once. */
void fab_peer_malformed(struct apird_fabric *f, struct fab_peer *p, const char *why);
void fab_peers_free(struct apird_fabric *f);
/* Sends p a hello unless one went already: the connection forms early. */
void fab_peer_greet(struct apird_fabric *f, struct fab_peer *p);
/* The peer whose AV address is a (FI_SOURCE), or NULL. */
struct fab_peer *fab_peer_by_addr(struct apird_fabric *f, fi_addr_t a);
/* The peer with this GID if it is known, without inserting it. */
struct fab_peer *fab_peer_find(struct apird_fabric *f, const union ibv_gid *gid);
/* Whether gid is an IPv4-mapped GID (::ffff:a.b.c.d); *ip gets a.b.c.d. */
bool fab_gid_ipv4(const union ibv_gid *gid, struct in_addr *ip);

/* fab_region.c */
/* fi_mr_reg under a fresh random key (or the provider's). */
int fab_mr_reg(struct apird_fabric *f, void *buf, size_t len, uint64_t access,
	       struct fid_mr **mr);
/* Pins every region l's segments lie in (into p, which must be empty). */
void fab_pins_take(struct fab_pins *p, const struct sw_sgl *l);
/* Unpins them; a retired region is unmapped with its last pin. */
void fab_pins_release(struct apird_fabric *f, struct fab_pins *p);
/* One pin of r (NULL: none) taken or given back. */
void fab_region_get(struct fab_region *r);
void fab_region_put(struct apird_fabric *f, struct fab_region *r);
/* A segment as the peer's RMA names it. */
void fab_seg_describe(const struct apird_fabric *f, const struct sw_seg *s,
		      struct apir_fab_seg *out);
void fab_regions_free(struct apird_fabric *f);

/* fab_wire.c */
/* Validates a received message of len bytes. Returns 0 with m filled, or
 * -EBADMSG with *why saying what is wrong. */
int fab_msg_parse(const void *buf, size_t len, struct fab_msg *m, const char **why);
void fab_hdr_init(struct apir_fab_hdr *h, enum apir_fab_type type, uint32_t length,
		  const union ibv_gid *src_gid, uint32_t src_qpn, uint32_t dst_qpn, uint32_t seq);
/* The requester's completion status for a responder's answer, and the
 * answer for a responder's verdict. */
enum ibv_wc_status fab_status_to_wc(uint32_t status);
enum apir_fab_status fab_status_from_wc(enum ibv_wc_status status);

/* fab_xfer.c */
int fab_buffers_init(struct apird_fabric *f);
void fab_buffers_fini(struct apird_fabric *f);
struct fab_tx *fab_tx_get(struct apird_fabric *f);
void fab_tx_put(struct apird_fabric *f, struct fab_tx *tx);
/* Sends tx (len bytes) to p; on -FI_EAGAIN it waits in p's backlog, on
 * another error p failed. Takes tx either way. */
void fab_tx_send(struct apird_fabric *f, struct fab_tx *tx, struct fab_peer *p, size_t len);
uint32_t fab_tx_available(const struct apird_fabric *f);
/* Whether a peer's backlog started or moved within the last FAB_CONNECT_SPIN_NS. */
bool fab_backlog_fresh(const struct apird_fabric *f);
/* Gives a received buffer back to the provider. */
void fab_rx_release(struct apird_fabric *f, struct fab_rx *rx);
struct fab_rma *fab_rma_get(struct apird_fabric *f);
void fab_rma_put(struct apird_fabric *f, struct fab_rma *op);
/* Reads the CQ and dispatches completions; retries the peers' backlogs
 * (giving up those stuck too long) and reposts receive buffers. Returns the
 * number of events handled. */
unsigned int fab_cq_poll(struct apird_fabric *f);

/* fab_qp.c */
/* Frees fq if its QP is gone and nothing of it is in flight. */
void fab_qp_maybe_free(struct apird_fabric *f, struct fab_qp *fq);

/* fab_requester.c */
void fab_ack_arrived(struct apird_fabric *f, const struct fab_msg *m, struct fab_peer *p);
/* Fails the request at the head of fq's window with status (the QP goes
 * to ERR, the rest is flushed). */
void fab_requester_fail(struct apird_fabric *f, struct fab_qp *fq, enum ibv_wc_status status);
/* Forgets every request in flight (unpins their buffers). */
void fab_requester_abandon(struct apird_fabric *f, struct fab_qp *fq);
/* Fails QPs whose ACK is overdue. Returns how many failed. */
unsigned int fab_requester_timeouts(struct apird_fabric *f);

/* fab_responder.c */
/* A request arrived in rx; returns true if the responder keeps rx. */
bool fab_req_arrived(struct apird_fabric *f, struct fab_rx *rx, const struct fab_msg *m,
		     struct fab_peer *p);
/* Answers executed requests in order and starts queued ones while it can.
 * Returns how many requests it answered or started. May free fq (a QP
 * destroyed meanwhile). */
unsigned int fab_responder_progress(struct apird_fabric *f, struct fab_qp *fq);
/* The QP left the receiving states, or went away: queued requests are
 * dropped, those in execution finish (flush_recv: receive WQEs they took
 * complete with WR_FLUSH_ERR now). */
void fab_responder_abandon(struct apird_fabric *f, struct fab_qp *fq, bool flush_recv);
/* Whether fq has requests executing or queued. */
bool fab_responder_busy(const struct fab_qp *fq);

/* fab_rma.c */
/* Issues RMA pieces of fq's requests in execution, in request order. */
void fab_rma_issue(struct apird_fabric *f, struct fab_qp *fq);
/* A piece completed (ok false: failed). */
void fab_rma_done(struct apird_fabric *f, struct fab_rma *op, bool ok);
/* Whether e's RMA has ended: every byte moved, or a piece failed and none
 * is in flight. */
bool fab_rma_ended(const struct fab_exec *e);
/* Whether pieces wait for a context or the provider (retried by polling). */
bool fab_rma_stalled(const struct fab_qp *fq);
/* Declares the peers of RMA that stopped progressing failed (their AV
 * entries go, so the provider ends those operations). Returns how many. */
unsigned int fab_rma_timeouts(struct apird_fabric *f);
/* Earliest such deadline of fq (0: none). */
uint64_t fab_rma_deadline(const struct fab_qp *fq);

/* fab_ud.c */
void fab_ud_arrived(struct apird_fabric *f, const struct fab_msg *m);

#endif /* APIRD_FABRIC_ENGINE_H */
