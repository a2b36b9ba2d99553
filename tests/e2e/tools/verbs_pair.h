/* SPDX-License-Identifier: MIT */
/*
 * Two connected RC endpoints: the requester posts work requests, the
 * responder owns the target memory. Both live in this process (two device
 * contexts, i.e. two apird sessions), or the responder lives in another
 * process, possibly on another host, reached over TCP (responder.h). Only
 * the public verbs API is used: this is an ordinary verbs application.
 */
#ifndef VERBS_PAIR_H
#define VERBS_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#define VP_REGION_LEN (2u << 20)     /* registered bytes per endpoint */
#define VP_GUARD_LEN 4096u           /* unregistered bytes on each side */
#define VP_ARENA_LEN (VP_REGION_LEN + 2 * VP_GUARD_LEN)
#define VP_QUEUE_DEPTH 128u
#define VP_MAX_SGE 4u
#define VP_INLINE 64u
#define VP_WAIT_SECONDS 10           /* times vp_time_factor() */

struct vp_endpoint {
	const char *name;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	uint8_t *arena;          /* guard | region | guard */
	uint8_t *region;         /* VP_REGION_LEN registered bytes */
	struct ibv_mr *mr;
	union ibv_gid gid;
	enum ibv_mtu mtu;
	uint32_t max_inline;     /* what the QP granted */
	struct ibv_device_attr dev_attr;
};

/* What a peer needs to reach an endpoint (sent over TCP as is: both sides
 * run this same program). */
struct vp_addr {
	uint64_t region;         /* address of the registered region */
	uint32_t rkey;
	uint32_t lkey;           /* lets a test forge keys unlike every real one */
	uint32_t qp_num;
	uint32_t mtu;            /* enum ibv_mtu */
	uint8_t gid[16];
};

/* RC transport parameters of both QPs (ibv_modify_qp to RTS). */
struct vp_qp_params {
	uint8_t timeout;         /* 4.096 us * 2^timeout per attempt */
	uint8_t retry_cnt;
	uint8_t rnr_retry;
};

#define VP_QP_PARAMS_DEFAULT ((struct vp_qp_params){ .timeout = 14, .retry_cnt = 7, .rnr_retry = 7 })

struct vp_responder;

struct vp_pair {
	struct ibv_device **devices;
	struct vp_endpoint req;
	struct vp_responder *resp;  /* in this process, or NULL when split */
	int peer_fd;                /* split: TCP connection to the responder; else -1 */
	struct vp_addr resp_addr;   /* what the responder published */
	struct vp_qp_params qp;
	bool resp_unreachable;      /* split: vp_close only hangs up (after a fault) */
};

/* Endpoints: a context on the first device, PD, CQ, registered region. */
struct ibv_device **vp_device_list(struct ibv_device **dev);
int vp_endpoint_open(struct vp_endpoint *e, const char *name, struct ibv_device *dev);
int vp_endpoint_close(struct vp_endpoint *e);
/* Destroys the endpoint's QP (if any), discards its completions, creates a
 * fresh one in RESET. */
int vp_endpoint_new_qp(struct vp_endpoint *e);
/* INIT -> RTR (to peer) -> RTS. */
int vp_endpoint_connect(struct vp_endpoint *e, const struct vp_addr *peer, const struct vp_qp_params *qp);
void vp_endpoint_addr(const struct vp_endpoint *e, struct vp_addr *out);

/* Opens the requester and, when peer is NULL, a responder in this process;
 * otherwise connects to the responder process at peer ("HOST:PORT"). Then
 * connects the QPs. Prints the reason and returns -1 on failure. */
int vp_open(struct vp_pair *p, const char *peer, const struct vp_qp_params *qp);
/* Returns -1 if anything failed on the way (also on the responder's side). */
int vp_close(struct vp_pair *p);

/* Fresh QPs on both sides, connected again: after a work request failed,
 * RC leaves the QPs in the error state. */
int vp_reconnect(struct vp_pair *p);

/* Posts one send WR on the requester (wr->wr_id is set to a fresh id,
 * IBV_SEND_SIGNALED is added) and waits for its completion. Returns the
 * completion status, or -1 on a post error, a timeout or a completion for
 * another WR. */
int vp_send_wait(struct vp_pair *p, struct ibv_send_wr *wr);

/* How many times longer than its figure a wait may take: the test suite's
 * APIR_TIME_FACTOR (sanitizer builds, runs under load), 1 if unset. */
unsigned int vp_time_factor(void);

/* Waits up to seconds for one completion on an endpoint's CQ. Returns 0 or
 * -1 (timeout or poll error). */
int vp_poll_wc(struct vp_endpoint *e, struct ibv_wc *wc, double seconds);
static inline int vp_wait_wc(struct vp_endpoint *e, struct ibv_wc *wc)
{
	return vp_poll_wc(e, wc, VP_WAIT_SECONDS * vp_time_factor());
}

/* Polls for up to ms milliseconds and discards whatever completes (flushed
 * work requests after an error). */
void vp_drain(struct vp_endpoint *e, int ms);

#endif /* VERBS_PAIR_H */
