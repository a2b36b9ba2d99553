/* SPDX-License-Identifier: MIT */
#include "verbs_pair.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PORT 1
#define GID_INDEX 0
#define ACCESS_ALL (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		    IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)

static int report(const char *what, const char *who, int err)
{
	fprintf(stderr, "verbs_pair: %s (%s): %s\n", what, who, strerror(err));
	return -1;
}

/* The list is freed by vp_close: its devices stay valid while open. */
static struct ibv_device *find_device(struct vp_pair *p)
{
	int n;

	p->devices = ibv_get_device_list(&n);
	if (!p->devices) {
		report("ibv_get_device_list", "-", errno);
		return NULL;
	}
	if (n < 1) {
		fprintf(stderr, "verbs_pair: no verbs device (is this running through apir-run?)\n");
		return NULL;
	}
	return p->devices[0];
}

static int open_endpoint(struct vp_endpoint *e, struct ibv_device *dev)
{
	struct ibv_port_attr port;
	size_t arena_len = VP_REGION_LEN + 2 * VP_GUARD_LEN;

	e->ctx = ibv_open_device(dev);
	if (!e->ctx)
		return report("ibv_open_device", e->name, errno);
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
	e->arena = mmap(NULL, arena_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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

static int connect_qp(struct vp_endpoint *e, const struct vp_endpoint *peer,
		      const struct ibv_device_attr *dev_attr)
{
	uint8_t rd_atom = dev_attr->max_qp_rd_atom ? (uint8_t)dev_attr->max_qp_rd_atom : 1;
	struct ibv_qp_attr init = {
		.qp_state = IBV_QPS_INIT,
		.pkey_index = 0,
		.port_num = PORT,
		.qp_access_flags = ACCESS_ALL,
	};
	struct ibv_qp_attr rtr = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = e->mtu < peer->mtu ? e->mtu : peer->mtu,
		.dest_qp_num = peer->qp->qp_num,
		.rq_psn = 0,
		.max_dest_rd_atomic = rd_atom,
		.min_rnr_timer = 12,
		.ah_attr = {
			.is_global = 1,
			.grh = { .dgid = peer->gid, .sgid_index = GID_INDEX, .hop_limit = 64 },
			.port_num = PORT,
		},
	};
	struct ibv_qp_attr rts = {
		.qp_state = IBV_QPS_RTS,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.sq_psn = 0,
		.max_rd_atomic = rd_atom,
	};

	if (modify(e, &init, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS, "INIT"))
		return -1;
	if (modify(e, &rtr, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
		   IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER, "RTR"))
		return -1;
	return modify(e, &rts, IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
		      IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC, "RTS");
}

static int create_and_connect(struct vp_pair *p)
{
	if (create_qp(&p->req) || create_qp(&p->resp))
		return -1;
	if (connect_qp(&p->req, &p->resp, &p->dev_attr))
		return -1;
	return connect_qp(&p->resp, &p->req, &p->dev_attr);
}

int vp_open(struct vp_pair *p)
{
	struct ibv_device *dev = find_device(p);

	p->req.name = "requester";
	p->resp.name = "responder";
	if (!dev)
		return -1;
	if (open_endpoint(&p->req, dev) || open_endpoint(&p->resp, dev))
		return -1;
	if (ibv_query_device(p->req.ctx, &p->dev_attr))
		return report("ibv_query_device", p->req.name, errno);
	return create_and_connect(p);
}

static void destroy_qp(struct vp_endpoint *e)
{
	if (e->qp && ibv_destroy_qp(e->qp))
		report("ibv_destroy_qp", e->name, errno);
	e->qp = NULL;
}

int vp_reconnect(struct vp_pair *p)
{
	destroy_qp(&p->req);
	destroy_qp(&p->resp);
	vp_drain(&p->req, 0);
	vp_drain(&p->resp, 0);
	return create_and_connect(p);
}

static void close_endpoint(struct vp_endpoint *e)
{
	destroy_qp(e);
	if (e->mr && ibv_dereg_mr(e->mr))
		report("ibv_dereg_mr", e->name, errno);
	if (e->cq && ibv_destroy_cq(e->cq))
		report("ibv_destroy_cq", e->name, errno);
	if (e->pd && ibv_dealloc_pd(e->pd))
		report("ibv_dealloc_pd", e->name, errno);
	if (e->ctx && ibv_close_device(e->ctx))
		report("ibv_close_device", e->name, errno);
	if (e->arena)
		munmap(e->arena, VP_REGION_LEN + 2 * VP_GUARD_LEN);
	memset(e, 0, sizeof(*e));
}

void vp_close(struct vp_pair *p)
{
	close_endpoint(&p->req);
	close_endpoint(&p->resp);
	if (p->devices)
		ibv_free_device_list(p->devices);
	p->devices = NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int vp_wait_wc(struct vp_endpoint *e, struct ibv_wc *wc)
{
	double deadline = now_s() + VP_WAIT_SECONDS;

	for (;;) {
		int n = ibv_poll_cq(e->cq, 1, wc);

		if (n < 0) {
			fprintf(stderr, "verbs_pair: ibv_poll_cq (%s) returned %d\n", e->name, n);
			return -1;
		}
		if (n == 1)
			return 0;
		if (now_s() > deadline) {
			fprintf(stderr, "verbs_pair: no completion on %s within %d s (hang)\n",
				e->name, VP_WAIT_SECONDS);
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

int vp_post_recv(struct vp_pair *p, struct ibv_sge *sge, int num_sge, uint64_t wr_id)
{
	struct ibv_recv_wr wr = { .wr_id = wr_id, .sg_list = sge, .num_sge = num_sge };
	struct ibv_recv_wr *bad = NULL;
	int rc = ibv_post_recv(p->resp.qp, &wr, &bad);

	if (rc)
		fprintf(stderr, "verbs_pair: ibv_post_recv: %s\n", strerror(rc));
	return rc ? -1 : 0;
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
