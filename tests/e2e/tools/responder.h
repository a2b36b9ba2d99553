/* SPDX-License-Identifier: MIT */
/*
 * The responder of a verbs pair: the endpoint that owns the target memory,
 * and everything a test does on its side (fill and check its memory, post
 * receives, reap its completions, register and deregister extra MRs).
 *
 * The vp_resp_* calls run on the responder wherever it is: in this process
 * (p->resp), or in the responder process at the other end of p->peer_fd,
 * which runs the very same code on its own endpoint (vp_responder_serve).
 */
#ifndef RESPONDER_H
#define RESPONDER_H

#include <stdbool.h>

#include "pattern.h"
#include "verbs_pair.h"

/* A piece of the responder's region: [off, off + len). */
struct vp_span {
	uint64_t off;
	uint64_t len;
};

struct vp_responder *vp_responder_open(struct ibv_device *dev);
int vp_responder_close(struct vp_responder *r);
/* Serves the requester at the other end of fd until it says goodbye.
 * Returns 0, or -1 if the connection broke first. */
int vp_responder_serve(struct vp_responder *r, int fd);

/* Every call returns 0 on success and -1 (reason printed) on failure.
 * Arena offsets count from the first guard byte; region byte r is at arena
 * offset VP_GUARD_LEN + r. */

/* Gives the responder a fresh QP connected to the requester at req. */
int vp_resp_connect(struct vp_pair *p, const struct vp_addr *req, struct vp_addr *resp);
/* Arena bytes [off, off + len) = pattern seed from pattern index first. */
int vp_resp_fill(struct vp_pair *p, size_t arena_off, size_t len, uint64_t seed, size_t first);
/* 1 if arena bytes [off, off + len) are pattern seed from index first, 0
 * (with *bad filled) if not, -1 on failure. */
int vp_resp_check(struct vp_pair *p, size_t arena_off, size_t len, uint64_t seed, size_t first,
		  struct pattern_mismatch *bad);
int vp_resp_post_recv(struct vp_pair *p, const struct vp_span *sge, int num_sge, uint64_t wr_id);
int vp_resp_wait_wc(struct vp_pair *p, struct ibv_wc *wc);
void vp_resp_drain(struct vp_pair *p, int ms);
/* The 8 bytes at region offset off (8-byte aligned). */
int vp_resp_load64(struct vp_pair *p, size_t off, uint64_t *value);
int vp_resp_store64(struct vp_pair *p, size_t off, uint64_t value);
/* Registers region bytes [off, off + len) with access flags, in the
 * endpoint's PD or (own_pd) in a PD of its own; *id names it for dereg. */
int vp_resp_reg_mr(struct vp_pair *p, size_t off, size_t len, unsigned int access, bool own_pd,
		   uint32_t *id, uint32_t *rkey);
int vp_resp_dereg_mr(struct vp_pair *p, uint32_t id);
/* Split pairs: tells the responder process that the test is over. */
int vp_resp_bye(struct vp_pair *p);

#endif /* RESPONDER_H */
