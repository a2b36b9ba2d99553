/* SPDX-License-Identifier: MIT */
#include "verbs_pair.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "responder.h"
#include "tcp_link.h"

#define PORT 1
#define GID_INDEX 0
#define ACCESS_ALL (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		    IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)

static int report(const char *what, const char *who, int err)
{
	fprintf(stderr, "verbs_pair: %s (%s): %s\n", what, who, strerror(err));
	return -1;
}

struct ibv_device **vp_device_list(struct ibv_device **dev)
{
	struct ibv_device **list;
	int n;

	*dev = NULL;
	list = ibv_get_device_list(&n);
	if (!list) {
		report("ibv_get_device_list", "-", errno);
		return NULL;
	}
	if (n < 1)
		fprintf(stderr, "verbs_pair: no verbs device (is this running through apir-run?)\n");
	else
		*dev = list[0];
	return list;
}

int vp_endpoint_open(struct vp_endpoint *e, const char *name, struct ibv_device *dev)
{
	struct ibv_port_attr port;

	e->name = name;
	e->ctx = ibv_open_device(dev);
	if (!e->ctx)
		return report("ibv_open_device", e->name, errno);
	if (ibv_query_device(e->ctx, &e->dev_attr))
		return report("ibv_query_device", e->name, errno);
	if (ibv_query_port(e->ctx, PORT, &port))
		return report("ibv_query_port", e->name, errno);
	e->mtu = port.active_mtu;
	if (ibv_query_gid(e->ctx, PORT, GID_INDEX, &e->gid))
		return report("ibv_query_gid", e->name, errno);
	e->pd = ibv_alloc_pd(e->ctx);
	if (!e->pd)
		return report("ibv_alloc_pd", e->name, errno);
	e->cq = ibv_create_cq(e->ctx, 2 * VP_QUEUE_DEPTH, NULL, NULL, 0);
	if (!e->cq)
		return report("ibv_create_cq", e->name, errno);
	e->arena = mmap(NULL, VP_ARENA_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e->arena == MAP_FAILED) {
		e->arena = NULL;
		return report("mmap", e->name, errno);
	}
	e->region = e->arena + VP_GUARD_LEN;
	e->mr = ibv_reg_mr(e->pd, e->region, VP_REGION_LEN, ACCESS_ALL);
	if (!e->mr)
		return report("ibv_reg_mr", e->name, errno);
	return 0;
}

void vp_endpoint_addr(const struct vp_endpoint *e, struct vp_addr *out)
{
	*out = (struct vp_addr){
		.region = (uintptr_t)e->region,
		.rkey = e->mr->rkey,
		.lkey = e->mr->lkey,
		.qp_num = e->qp->qp_num,
		.mtu = e->mtu,
	};
	memcpy(out->gid, e->gid.raw, sizeof(out->gid));
}

static int create_qp(struct vp_endpoint *e)
{
	struct ibv_qp_init_attr init = {
		.send_cq = e->cq,
		.recv_cq = e->cq,
		.qp_type = IBV_QPT_RC,
		.cap = {
			.max_send_wr = VP_QUEUE_DEPTH,
			.max_recv_wr = VP_QUEUE_DEPTH,
			.max_send_sge = VP_MAX_SGE,
			.max_recv_sge = VP_MAX_SGE,
			.max_inline_data = VP_INLINE,
		},
	};

	e->qp = ibv_create_qp(e->pd, &init);
	if (!e->qp) {
		/* Inline is optional for a device; everything else is not. */
		init.cap.max_inline_data = 0;
		e->qp = ibv_create_qp(e->pd, &init);
	}
	if (!e->qp)
		return report("ibv_create_qp", e->name, errno);
	e->max_inline = init.cap.max_inline_data;
	return 0;
}

static int modify(struct vp_endpoint *e, struct ibv_qp_attr *attr, int mask, const char *step)
{
	int rc = ibv_modify_qp(e->qp, attr, mask);

	if (rc) {
		fprintf(stderr, "verbs_pair: ibv_modify_qp(%s) (%s): %s\n", step, e->name, strerror(rc));
		return -1;
	}
	return 0;
}

int vp_endpoint_connect(struct vp_endpoint *e, const struct vp_addr *peer, const struct vp_qp_params *qp)
{
	uint8_t rd_atom = e->dev_attr.max_qp_rd_atom ? (uint8_t)e->dev_attr.max_qp_rd_atom : 1;
	struct ibv_qp_attr init = {
		.qp_state = IBV_QPS_INIT,
		.pkey_index = 0,
		.port_num = PORT,
		.qp_access_flags = ACCESS_ALL,
	};
	struct ibv_qp_attr rtr = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = e->mtu < (enum ibv_mtu)peer->mtu ? e->mtu : (enum ibv_mtu)peer->mtu,
		.dest_qp_num = peer->qp_num,
		.rq_psn = 0,
		.max_dest_rd_atomic = rd_atom,
		.min_rnr_timer = 12,
		.ah_attr = {
			.is_global = 1,
			.grh = { .sgid_index = GID_INDEX, .hop_limit = 64 },
			.port_num = PORT,
		},
	};
	struct ibv_qp_attr rts = {
		.qp_state = IBV_QPS_RTS,
		.timeout = qp->timeout,
		.retry_cnt = qp->retry_cnt,
		.rnr_retry = qp->rnr_retry,
		.sq_psn = 0,
		.max_rd_atomic = rd_atom,
	};

	memcpy(rtr.ah_attr.grh.dgid.raw, peer->gid, sizeof(peer->gid));
	if (modify(e, &init, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS, "INIT"))
		return -1;
	if (modify(e, &rtr, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
		   IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER, "RTR"))
		return -1;
	return modify(e, &rts, IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
		      IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC, "RTS");
}

static int destroy_qp(struct vp_endpoint *e)
{
	int rc = 0;

	if (e->qp && ibv_destroy_qp(e->qp))
		rc = report("ibv_destroy_qp", e->name, errno);
	e->qp = NULL;
	return rc;
}

int vp_endpoint_new_qp(struct vp_endpoint *e)
{
	if (destroy_qp(e))
		return -1;
	vp_drain(e, 0);
	return create_qp(e);
}

int vp_endpoint_close(struct vp_endpoint *e)
{
	int rc = destroy_qp(e);

	if (e->mr && ibv_dereg_mr(e->mr))
		rc = report("ibv_dereg_mr", e->name, errno);
	if (e->cq && ibv_destroy_cq(e->cq))
		rc = report("ibv_destroy_cq", e->name, errno);
	if (e->pd && ibv_dealloc_pd(e->pd))
		rc = report("ibv_dealloc_pd", e->name, errno);
	if (e->ctx && ibv_close_device(e->ctx))
		rc = report("ibv_close_device", e->name, errno);
	if (e->arena)
		munmap(e->arena, VP_ARENA_LEN);
	memset(e, 0, sizeof(*e));
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

unsigned int vp_time_factor(void)
{
	const char *s = getenv("APIR_TIME_FACTOR");
	long f = s ? strtol(s, NULL, 10) : 1;

	return f > 0 && f < 1000 ? (unsigned int)f : 1;
}

int vp_poll_wc(struct vp_endpoint *e, struct ibv_wc *wc, double seconds)
{
	double deadline = now_s() + seconds;

	for (;;) {
		int n = ibv_poll_cq(e->cq, 1, wc);

		if (n < 0) {
			fprintf(stderr, "verbs_pair: ibv_poll_cq (%s) returned %d\n", e->name, n);
			return -1;
		}
		if (n == 1)
			return 0;
		if (now_s() > deadline) {
			fprintf(stderr, "verbs_pair: no completion on %s within %.0f s (hang)\n",
				e->name, seconds);
			return -1;
		}
	}
}

int vp_send_wait(struct vp_pair *p, struct ibv_send_wr *wr)
{
	static uint64_t next_id = 1;
	struct ibv_send_wr *bad = NULL;
	struct ibv_wc wc;
	int rc;

	wr->wr_id = next_id++;
	wr->send_flags |= IBV_SEND_SIGNALED;
	wr->next = NULL;
	rc = ibv_post_send(p->req.qp, wr, &bad);
	if (rc) {
		fprintf(stderr, "verbs_pair: ibv_post_send: %s\n", strerror(rc));
		return -1;
	}
	if (vp_wait_wc(&p->req, &wc))
		return -1;
	if (wc.wr_id != wr->wr_id) {
		fprintf(stderr, "verbs_pair: completion for wr_id %llu, expected %llu\n",
			(unsigned long long)wc.wr_id, (unsigned long long)wr->wr_id);
		return -1;
	}
	return (int)wc.status;
}

void vp_drain(struct vp_endpoint *e, int ms)
{
	double deadline = now_s() + ms / 1000.0;
	struct ibv_wc wc[16];

	do {
		while (ibv_poll_cq(e->cq, 16, wc) > 0)
			;
	} while (now_s() < deadline);
}

/* ---- the pair ---------------------------------------------------------------- */

/* The requester's QP is created first: the responder connects to its QPN. */
int vp_reconnect(struct vp_pair *p)
{
	struct vp_addr req_addr;

	if (vp_endpoint_new_qp(&p->req))
		return -1;
	vp_endpoint_addr(&p->req, &req_addr);
	if (vp_resp_connect(p, &req_addr, &p->resp_addr))
		return -1;
	return vp_endpoint_connect(&p->req, &p->resp_addr, &p->qp);
}

int vp_open(struct vp_pair *p, const char *peer, const struct vp_qp_params *qp)
{
	struct ibv_device *dev;

	memset(p, 0, sizeof(*p));
	p->peer_fd = -1;
	p->qp = *qp;
	p->devices = vp_device_list(&dev);
	if (!dev)
		return -1;
	if (vp_endpoint_open(&p->req, "requester", dev))
		return -1;
	if (peer) {
		p->peer_fd = tcp_dial(peer);
		if (p->peer_fd < 0)
			return -1;
	} else {
		p->resp = vp_responder_open(dev);
		if (!p->resp)
			return -1;
	}
	return vp_reconnect(p);
}

int vp_close(struct vp_pair *p)
{
	int rc = vp_endpoint_close(&p->req);

	if (p->resp && vp_responder_close(p->resp))
		rc = -1;
	if (p->peer_fd >= 0 && !p->resp_unreachable && vp_resp_bye(p))
		rc = -1;
	if (p->peer_fd >= 0)
		close(p->peer_fd);
	if (p->devices)
		ibv_free_device_list(p->devices);
	memset(p, 0, sizeof(*p));
	p->peer_fd = -1;
	return rc;
}
