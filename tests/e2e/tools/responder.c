/* SPDX-License-Identifier: MIT */
#include "responder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_link.h"

#define EXTRA_MRS 8

struct vp_responder {
	struct vp_endpoint ep;
	struct ibv_mr *extra_mr[EXTRA_MRS];
	struct ibv_pd *extra_pd[EXTRA_MRS];  /* the PD made for that MR, or NULL */
};

/* ---- messages (both ends run this program: structs travel as they are) ---- */

enum vp_op {
	VP_OP_CONNECT = 1,   /* addr, qp -> addr */
	VP_OP_FILL,          /* arg: arena off, len, seed, first */
	VP_OP_CHECK,         /* arg: arena off, len, seed, first -> rc 1 + val: index, got, want */
	VP_OP_POST_RECV,     /* sge[num_sge], arg[0]: wr_id */
	VP_OP_WAIT_WC,       /* -> wc */
	VP_OP_DRAIN,         /* arg[0]: ms */
	VP_OP_LOAD64,        /* arg[0]: region off -> val[0] */
	VP_OP_STORE64,       /* arg: region off, value */
	VP_OP_REG_MR,        /* arg: region off, len, access, own_pd -> val: id, rkey */
	VP_OP_DEREG_MR,      /* arg[0]: id */
	VP_OP_BYE,
	VP_OP_COUNT,
};

struct vp_request {
	uint32_t op;
	uint32_t num_sge;
	uint64_t arg[4];
	struct vp_span sge[VP_MAX_SGE];
	struct vp_addr addr;
	struct vp_qp_params qp;
};

struct vp_reply {
	int32_t rc;
	uint32_t pad;
	uint64_t val[3];
	struct vp_addr addr;
	struct ibv_wc wc;
};

/* ---- execution on the responder's own endpoint ------------------------------ */

static bool in_bounds(uint64_t off, uint64_t len, uint64_t limit)
{
	return off <= limit && len <= limit - off;
}

static int bad_request(const char *what)
{
	fprintf(stderr, "responder: bad request: %s\n", what);
	return -1;
}

static int exec_connect(struct vp_responder *r, const struct vp_request *q, struct vp_reply *a)
{
	if (vp_endpoint_new_qp(&r->ep) || vp_endpoint_connect(&r->ep, &q->addr, &q->qp))
		return -1;
	vp_endpoint_addr(&r->ep, &a->addr);
	return 0;
}

static int exec_fill(struct vp_responder *r, const struct vp_request *q, struct vp_reply *a)
{
	(void)a;
	if (!in_bounds(q->arg[0], q->arg[1], VP_ARENA_LEN))
		return bad_request("fill outside the arena");
	pattern_fill(r->ep.arena + q->arg[0], q->arg[1], q->arg[2], q->arg[3]);
	return 0;
}

static int exec_check(struct vp_responder *r, const struct vp_request *q, struct vp_reply *a)
{
	struct pattern_mismatch bad;

	if (!in_bounds(q->arg[0], q->arg[1], VP_ARENA_LEN))
		return bad_request("check outside the arena");
	if (pattern_matches(r->ep.arena + q->arg[0], q->arg[1], q->arg[2], q->arg[3], &bad))
		return 0;
	a->val[0] = bad.index;
	a->val[1] = bad.got;
	a->val[2] = bad.want;
	return 1;
}

static int exec_post_recv(struct vp_responder *r, const struct vp_request *q, struct vp_reply *a)
{
	struct ibv_sge sge[VP_MAX_SGE];
	struct ibv_recv_wr wr = { .wr_id = q->arg[0], .sg_list = sge, .num_sge = (int)q->num_sge };
	struct ibv_recv_wr *bad = NULL;
	int rc;

	(void)a;
	if (q->num_sge > VP_MAX_SGE)
		return bad_request("too many receive SGEs");
	for (uint32_t i = 0; i < q->num_sge; i++) {
		if (!in_bounds(q->sge[i].off, q->sge[i].len, VP_REGION_LEN))
			return bad_request("receive SGE outside the region");
		sge[i] = (struct ibv_sge){ .addr = (uintptr_t)(r->ep.region + q->sge[i].off),
					   .length = (uint32_t)q->sge[i].len, .lkey = r->ep.mr->lkey };
	}
	rc = ibv_post_recv(r->ep.qp, &wr, &bad);
	if (rc)
		fprintf(stderr, "responder: ibv_post_recv: %s\n", strerror(rc));
	return rc ? -1 : 0;
}

static int exec_wait_wc(struct vp_responder *r, const struct vp_request *q, struct vp_reply *a)
{
	(void)q;
	return vp_wait_wc(&r->ep, &a->wc);
}

static int exec_drain(struct vp_responder *r, const struct vp_request *q, struct vp_reply *a)
{
	(void)a;
	if (q->arg[0] > 10000)
		return bad_request("drain longer than 10 s");
	vp_drain(&r->ep, (int)q->arg[0]);
	return 0;
}

static volatile uint64_t *word_at(struct vp_responder *r, uint64_t off)
{
	if (off % 8 || !in_bounds(off, 8, VP_REGION_LEN))
		return NULL;
	return (volatile uint64_t *)(r->ep.region + off);
}

static int exec_load64(struct vp_responder *r, const struct vp_request *q, struct vp_reply *a)
{
	volatile uint64_t *w = word_at(r, q->arg[0]);

	if (!w)
		return bad_request("load of an unaligned or outside word");
	a->val[0] = *w;
	return 0;
}

static int exec_store64(struct vp_responder *r, const struct vp_request *q, struct vp_reply *a)
{
	volatile uint64_t *w = word_at(r, q->arg[0]);

	(void)a;
	if (!w)
		return bad_request("store to an unaligned or outside word");
	*w = q->arg[1];
	return 0;
}

static int exec_reg_mr(struct vp_responder *r, const struct vp_request *q, struct vp_reply *a)
{
	struct ibv_pd *pd = r->ep.pd;
	uint32_t id = 0;

	while (id < EXTRA_MRS && r->extra_mr[id])
		id++;
	if (id == EXTRA_MRS)
		return bad_request("too many extra MRs");
	if (!in_bounds(q->arg[0], q->arg[1], VP_REGION_LEN))
		return bad_request("MR outside the region");
	if (q->arg[3]) {
		pd = r->extra_pd[id] = ibv_alloc_pd(r->ep.ctx);
		if (!pd) {
			fprintf(stderr, "responder: ibv_alloc_pd: %s\n", strerror(errno));
			return -1;
		}
	}
	r->extra_mr[id] = ibv_reg_mr(pd, r->ep.region + q->arg[0], q->arg[1], (int)q->arg[2]);
	if (!r->extra_mr[id]) {
		fprintf(stderr, "responder: ibv_reg_mr: %s\n", strerror(errno));
		if (r->extra_pd[id])
			ibv_dealloc_pd(r->extra_pd[id]);
		r->extra_pd[id] = NULL;
		return -1;
	}
	a->val[0] = id;
	a->val[1] = r->extra_mr[id]->rkey;
	return 0;
}

static int dereg_extra(struct vp_responder *r, uint32_t id)
{
	int rc = 0;

	if (ibv_dereg_mr(r->extra_mr[id])) {
		fprintf(stderr, "responder: ibv_dereg_mr: %s\n", strerror(errno));
		rc = -1;
	}
	if (r->extra_pd[id] && ibv_dealloc_pd(r->extra_pd[id])) {
		fprintf(stderr, "responder: ibv_dealloc_pd: %s\n", strerror(errno));
		rc = -1;
	}
	r->extra_mr[id] = NULL;
	r->extra_pd[id] = NULL;
	return rc;
}

static int exec_dereg_mr(struct vp_responder *r, const struct vp_request *q, struct vp_reply *a)
{
	(void)a;
	if (q->arg[0] >= EXTRA_MRS || !r->extra_mr[q->arg[0]])
		return bad_request("dereg of an unknown MR");
	return dereg_extra(r, (uint32_t)q->arg[0]);
}

static int exec_bye(struct vp_responder *r, const struct vp_request *q, struct vp_reply *a)
{
	(void)r, (void)q, (void)a;
	return 0;
}

static int (*const exec_op[VP_OP_COUNT])(struct vp_responder *, const struct vp_request *, struct vp_reply *) = {
	[VP_OP_CONNECT] = exec_connect,
	[VP_OP_FILL] = exec_fill,
	[VP_OP_CHECK] = exec_check,
	[VP_OP_POST_RECV] = exec_post_recv,
	[VP_OP_WAIT_WC] = exec_wait_wc,
	[VP_OP_DRAIN] = exec_drain,
	[VP_OP_LOAD64] = exec_load64,
	[VP_OP_STORE64] = exec_store64,
	[VP_OP_REG_MR] = exec_reg_mr,
	[VP_OP_DEREG_MR] = exec_dereg_mr,
	[VP_OP_BYE] = exec_bye,
};

static void exec(struct vp_responder *r, const struct vp_request *q, struct vp_reply *a)
{
	memset(a, 0, sizeof(*a));
	if (q->op >= VP_OP_COUNT || !exec_op[q->op])
		a->rc = bad_request("unknown operation");
	else
		a->rc = exec_op[q->op](r, q, a);
}

/* ---- the responder object and its server loop --------------------------------- */

struct vp_responder *vp_responder_open(struct ibv_device *dev)
{
	struct vp_responder *r = calloc(1, sizeof(*r));

	if (!r) {
		fprintf(stderr, "responder: out of memory\n");
		return NULL;
	}
	if (vp_endpoint_open(&r->ep, "responder", dev)) {
		vp_responder_close(r);
		return NULL;
	}
	return r;
}

int vp_responder_close(struct vp_responder *r)
{
	int rc = 0;

	for (uint32_t id = 0; id < EXTRA_MRS; id++)
		if (r->extra_mr[id] && dereg_extra(r, id))
			rc = -1;
	if (vp_endpoint_close(&r->ep))
		rc = -1;
	free(r);
	return rc;
}

int vp_responder_serve(struct vp_responder *r, int fd)
{
	struct vp_request q;
	struct vp_reply a;

	for (;;) {
		int rc = tcp_recv_all(fd, &q, sizeof(q));

		if (rc == -2)
			fprintf(stderr, "responder: the requester went away without saying goodbye\n");
		if (rc)
			return -1;
		exec(r, &q, &a);
		if (tcp_send_all(fd, &a, sizeof(a)))
			return -1;
		if (q.op == VP_OP_BYE)
			return 0;
	}
}

/* ---- calls from the requester's side ----------------------------------------------- */

static int call(struct vp_pair *p, const struct vp_request *q, struct vp_reply *a)
{
	int rc;

	if (p->resp) {
		exec(p->resp, q, a);
		return a->rc;
	}
	rc = tcp_send_all(p->peer_fd, q, sizeof(*q));
	if (!rc)
		rc = tcp_recv_all(p->peer_fd, a, sizeof(*a));
	if (rc) {
		fprintf(stderr, "verbs_pair: lost the responder process\n");
		return -1;
	}
	return a->rc;
}

/* Requests are zeroed whole: they travel with their padding. */
static struct vp_request request(enum vp_op op)
{
	struct vp_request q;

	memset(&q, 0, sizeof(q));
	q.op = op;
	return q;
}

int vp_resp_connect(struct vp_pair *p, const struct vp_addr *req, struct vp_addr *resp)
{
	struct vp_request q = request(VP_OP_CONNECT);
	struct vp_reply a;

	q.addr = *req;
	q.qp = p->qp;
	if (call(p, &q, &a))
		return -1;
	*resp = a.addr;
	return 0;
}

int vp_resp_fill(struct vp_pair *p, size_t arena_off, size_t len, uint64_t seed, size_t first)
{
	struct vp_request q = request(VP_OP_FILL);
	struct vp_reply a;

	q.arg[0] = arena_off, q.arg[1] = len, q.arg[2] = seed, q.arg[3] = first;
	return call(p, &q, &a) ? -1 : 0;
}

int vp_resp_check(struct vp_pair *p, size_t arena_off, size_t len, uint64_t seed, size_t first,
		  struct pattern_mismatch *bad)
{
	struct vp_request q = request(VP_OP_CHECK);
	struct vp_reply a;
	int rc;

	q.arg[0] = arena_off, q.arg[1] = len, q.arg[2] = seed, q.arg[3] = first;
	rc = call(p, &q, &a);
	if (rc == 1)
		*bad = (struct pattern_mismatch){ .index = a.val[0], .got = (uint8_t)a.val[1],
						  .want = (uint8_t)a.val[2] };
	return rc == 0 ? 1 : rc == 1 ? 0 : -1;
}

int vp_resp_post_recv(struct vp_pair *p, const struct vp_span *sge, int num_sge, uint64_t wr_id)
{
	struct vp_request q = request(VP_OP_POST_RECV);
	struct vp_reply a;

	if (num_sge < 0 || num_sge > (int)VP_MAX_SGE)
		return bad_request("too many receive SGEs");
	q.num_sge = (uint32_t)num_sge;
	if (num_sge)
		memcpy(q.sge, sge, (size_t)num_sge * sizeof(*sge));
	q.arg[0] = wr_id;
	return call(p, &q, &a) ? -1 : 0;
}

int vp_resp_wait_wc(struct vp_pair *p, struct ibv_wc *wc)
{
	struct vp_request q = request(VP_OP_WAIT_WC);
	struct vp_reply a;

	if (call(p, &q, &a))
		return -1;
	*wc = a.wc;
	return 0;
}

void vp_resp_drain(struct vp_pair *p, int ms)
{
	struct vp_request q = request(VP_OP_DRAIN);
	struct vp_reply a;

	q.arg[0] = (uint64_t)ms;
	call(p, &q, &a);
}

int vp_resp_load64(struct vp_pair *p, size_t off, uint64_t *value)
{
	struct vp_request q = request(VP_OP_LOAD64);
	struct vp_reply a;

	q.arg[0] = off;
	if (call(p, &q, &a))
		return -1;
	*value = a.val[0];
	return 0;
}

int vp_resp_store64(struct vp_pair *p, size_t off, uint64_t value)
{
	struct vp_request q = request(VP_OP_STORE64);
	struct vp_reply a;

	q.arg[0] = off, q.arg[1] = value;
	return call(p, &q, &a) ? -1 : 0;
}

int vp_resp_reg_mr(struct vp_pair *p, size_t off, size_t len, unsigned int access, bool own_pd,
		   uint32_t *id, uint32_t *rkey)
{
	struct vp_request q = request(VP_OP_REG_MR);
	struct vp_reply a;

	q.arg[0] = off, q.arg[1] = len, q.arg[2] = access, q.arg[3] = own_pd;
	if (call(p, &q, &a))
		return -1;
	*id = (uint32_t)a.val[0];
	*rkey = (uint32_t)a.val[1];
	return 0;
}

int vp_resp_dereg_mr(struct vp_pair *p, uint32_t id)
{
	struct vp_request q = request(VP_OP_DEREG_MR);
	struct vp_reply a;

	q.arg[0] = id;
	return call(p, &q, &a) ? -1 : 0;
}

int vp_resp_bye(struct vp_pair *p)
{
	struct vp_request q = request(VP_OP_BYE);
	struct vp_reply a;

	return call(p, &q, &a) ? -1 : 0;
}
