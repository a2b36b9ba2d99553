/* SPDX-License-Identifier: MIT */
/*
 * Two RC endpoints on two device contexts of one process (two apird
 * sessions), connected to each other. Only the public verbs API is used:
 * this is an ordinary verbs application.
 */
#ifndef VERBS_PAIR_H
#define VERBS_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#define VP_REGION_LEN (2u << 20)     /* registered bytes per endpoint */
#define VP_GUARD_LEN 4096u           /* unregistered bytes on each side */
#define VP_QUEUE_DEPTH 128u
#define VP_MAX_SGE 4u
#define VP_INLINE 64u
#define VP_WAIT_SECONDS 10

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
};

struct vp_pair {
	struct ibv_device **devices;
	struct vp_endpoint req;  /* posts the work requests */
	struct vp_endpoint resp; /* owns the target memory */
	struct ibv_device_attr dev_attr;
};

/* Opens both contexts, registers both regions, creates and connects the QPs.
 * Prints the reason and returns -1 on failure. */
int vp_open(struct vp_pair *p);
void vp_close(struct vp_pair *p);

/* Destroys and recreates both QPs and connects them again: after a work
 * request failed, RC leaves the QPs in the error state. */
int vp_reconnect(struct vp_pair *p);

/* Posts one send WR on the requester (wr->wr_id is set to a fresh id,
 * IBV_SEND_SIGNALED is added) and waits for its completion. Returns the
 * completion status, or -1 on a post error, a timeout or a completion for
 * another WR. */
int vp_send_wait(struct vp_pair *p, struct ibv_send_wr *wr);

/* Waits for one completion on an endpoint's CQ. Returns 0 or -1 (timeout or
 * poll error). */
int vp_wait_wc(struct vp_endpoint *e, struct ibv_wc *wc);

/* Posts one receive on the responder. */
int vp_post_recv(struct vp_pair *p, struct ibv_sge *sge, int num_sge, uint64_t wr_id);

/* Polls for up to ms milliseconds and discards whatever completes (flushed
 * work requests after an error). */
void vp_drain(struct vp_endpoint *e, int ms);

#endif /* VERBS_PAIR_H */
