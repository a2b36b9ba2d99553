/* SPDX-License-Identifier: MIT */
/*
 * AdminStatus through real sessions: verbs clients and an operator's admin
 * client talk to apird over socketpairs, as apirctl and frontends do. The
 * admin session gets no fds and only reads; the status lists the other
 * sessions, their QPs with peers and counters, in pages that fit a frame.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apir.pb-c.h"
#include "apir/wire.h"
#include "test_daemon.h"
#include "session.h"
#include "unit.h"

struct client {
	int sock;
	struct apird_session *s;     /* NULL once apird closed it */
	uint64_t next_id;
	unsigned int num_fds;        /* fds of the last response (closed) */
};

static struct apird d;

static void up_with(const struct apird_config *cfg)
{
	apir_log_init("apird-test", APIR_LOG_ERROR);
	memset(&d, 0, sizeof(d));
	CU_ASSERT_FATAL(test_daemon_init(&d, cfg) == 0);
}

static void up(void)
{
	struct apird_config cfg;

	apird_config_defaults(&cfg);
	up_with(&cfg);
}

static void down(void)
{
	apird_daemon_fini(&d);
}

static void client_open(struct client *c)
{
	int sp[2];

	memset(c, 0, sizeof(*c));
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	c->sock = sp[0];
	c->s = apird_unix_session_create(&d, sp[1]);
	CU_ASSERT_FATAL(c->s != NULL);
	c->next_id = 1;
}

/* One request (with fds); apird serves it; the response (its fds counted
 * and closed), or NULL when apird closed the connection without one. */
static Apir__Response *call_fds(struct client *c, Apir__Request *req, const int *fds,
				unsigned int num_fds)
{
	struct pollfd p = { .fd = c->sock, .events = POLLIN };
	struct apir_frame f;
	Apir__Response *resp;
	uint8_t *buf;
	size_t len;

	req->id = c->next_id++;
	req->num_fds = num_fds;
	len = apir__request__get_packed_size(req);
	buf = malloc(len + 1);
	CU_ASSERT_FATAL(buf != NULL);
	apir__request__pack(req, buf);
	CU_ASSERT_FATAL(apir_frame_send(c->sock, buf, len, fds, num_fds) == 0);
	free(buf);
	if (c->s && !apird_unix_session_serve(c->s))
		c->s = NULL;
	apird_sessions_reap(&d);
	CU_ASSERT_FATAL(poll(&p, 1, 1000) == 1);
	if (apir_frame_recv(c->sock, &f))
		return NULL;
	resp = apir__response__unpack(NULL, f.len, f.buf);
	CU_ASSERT_FATAL(resp != NULL);
	CU_ASSERT_EQUAL(resp->id, req->id);
	c->num_fds = f.num_fds;
	apir_frame_release(&f);
	return resp;
}

static Apir__Response *call(struct client *c, Apir__Request *req)
{
	return call_fds(c, req, NULL, 0);
}

static int status_of(Apir__Response *r)
{
	int st = r ? r->status : -1;

	if (r)
		apir__response__free_unpacked(r, NULL);
	return st;
}

#define REQUEST(field, CASE, body)                                   \
	({                                                           \
		Apir__Request r_ = APIR__REQUEST__INIT;              \
		r_.body_case = APIR__REQUEST__BODY_##CASE;           \
		r_.field = (body);                                   \
		r_;                                                  \
	})

static void hello(struct client *c, const char *name, const char *transport)
{
	Apir__Hello h = APIR__HELLO__INIT;
	Apir__Request r = REQUEST(hello, HELLO, &h);

	h.protocol_version = APIR_PROTOCOL_VERSION;
	h.client_name = (char *)name;
	h.pid = 4242;
	h.transport = (char *)transport;
	CU_ASSERT_EQUAL_FATAL(status_of(call(c, &r)), 0);
}

static uint32_t alloc_pd(struct client *c)
{
	Apir__AllocPd b = APIR__ALLOC_PD__INIT;
	Apir__Request r = REQUEST(alloc_pd, ALLOC_PD, &b);
	Apir__Response *resp = call(c, &r);
	uint32_t h;

	CU_ASSERT_FATAL(resp && resp->status == 0);
	h = resp->handle->handle;
	status_of(resp);
	return h;
}

static uint32_t create_cq(struct client *c)
{
	Apir__CreateCq b = APIR__CREATE_CQ__INIT;
	Apir__Request r = REQUEST(create_cq, CREATE_CQ, &b);
	Apir__Response *resp;
	uint32_t h;

	b.cqe = 4;
	resp = call(c, &r);
	CU_ASSERT_FATAL(resp && resp->status == 0);
	h = resp->create_cq->cq;
	status_of(resp);
	return h;
}

/* A region of len bytes in a sealed memfd. */
static void reg_mr(struct client *c, uint32_t pd, uint64_t len)
{
	Apir__RegMr b = APIR__REG_MR__INIT;
	Apir__Request r = REQUEST(reg_mr, REG_MR, &b);
	int fd = memfd_create("unit-mr", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, (off_t)len) == 0);
	CU_ASSERT_FATAL(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
	b.pd = pd;
	b.addr = b.iova = 0x7f0000000000ull;
	b.length = len;
	b.access = IBV_ACCESS_LOCAL_WRITE;
	CU_ASSERT_EQUAL(status_of(call_fds(c, &r, &fd, 1)), 0);
	close(fd);
}

/* Returns the QP's number (its handle in *handle). */
static uint32_t create_qp(struct client *c, uint32_t pd, uint32_t cq, enum ibv_qp_type type,
			  uint32_t *handle)
{
	Apir__CreateQp b = APIR__CREATE_QP__INIT;
	Apir__Request r = REQUEST(create_qp, CREATE_QP, &b);
	Apir__QpCap cap = APIR__QP_CAP__INIT;
	Apir__Response *resp;
	uint32_t qpn;

	cap.max_send_wr = cap.max_recv_wr = 1;
	cap.max_send_sge = cap.max_recv_sge = 1;
	b.pd = pd;
	b.send_cq = b.recv_cq = cq;
	b.qp_type = type;
	b.cap = &cap;
	resp = call(c, &r);
	CU_ASSERT_FATAL(resp && resp->status == 0);
	qpn = resp->create_qp->qp_num;
	*handle = resp->create_qp->qp;
	status_of(resp);
	return qpn;
}

static int modify_qp(struct client *c, uint32_t qp, uint32_t mask, Apir__QpAttr *attr)
{
	Apir__ModifyQp b = APIR__MODIFY_QP__INIT;
	Apir__Request r = REQUEST(modify_qp, MODIFY_QP, &b);

	b.qp = qp;
	b.attr_mask = mask;
	b.attr = attr;
	return status_of(call(c, &r));
}

static void to_init(struct client *c, uint32_t qp)
{
	Apir__QpAttr a = APIR__QP_ATTR__INIT;

	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	CU_ASSERT_EQUAL(modify_qp(c, qp, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
				  IBV_QP_ACCESS_FLAGS, &a), 0);
}

/* RTR towards dest_qpn, with a GRH naming gid, or without one (gid NULL). */
static void to_rtr(struct client *c, uint32_t qp, uint32_t dest_qpn, const union ibv_gid *gid)
{
	Apir__AhAttr ah = APIR__AH_ATTR__INIT;
	Apir__QpAttr a = APIR__QP_ATTR__INIT;

	ah.port_num = 1;
	ah.is_global = gid != NULL;
	if (gid) {
		ah.dgid.data = (uint8_t *)gid->raw;
		ah.dgid.len = sizeof(gid->raw);
	}
	a.qp_state = IBV_QPS_RTR;
	a.ah_attr = &ah;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = dest_qpn;
	CU_ASSERT_EQUAL(modify_qp(c, qp, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
				  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
				  IBV_QP_MIN_RNR_TIMER, &a), 0);
}

static Apir__Response *admin_status(struct client *c, uint64_t session_from, uint32_t qp_from)
{
	Apir__AdminStatus b = APIR__ADMIN_STATUS__INIT;
	Apir__Request r = REQUEST(admin_status, ADMIN_STATUS, &b);
	Apir__Response *resp;

	b.session_from = session_from;
	b.qp_from = qp_from;
	resp = call(c, &r);
	CU_ASSERT_FATAL(resp && resp->status == 0);
	CU_ASSERT_FATAL(resp->body_case == APIR__RESPONSE__BODY_ADMIN_STATUS);
	CU_ASSERT_FATAL(resp->admin_status->device != NULL);
	return resp;
}

static const Apir__QpInfo *qp_info(const Apir__AdminStatusReply *r, uint32_t qpn)
{
	for (size_t i = 0; i < r->n_qps; i++)
		if (r->qps[i]->qp_num == qpn)
			return r->qps[i];
	return NULL;
}

/* ---- the admin session ------------------------------------------------------- */

static void test_admin_session(void)
{
	Apir__AllocPd pd = APIR__ALLOC_PD__INIT;
	Apir__Request alloc = REQUEST(alloc_pd, ALLOC_PD, &pd);
	Apir__AdminStatus st = APIR__ADMIN_STATUS__INIT;
	Apir__Request status = REQUEST(admin_status, ADMIN_STATUS, &st);
	struct client admin, verbs;

	up();
	client_open(&admin);
	client_open(&verbs);
	/* Before Hello, status is as closed as everything else. */
	CU_ASSERT_EQUAL(status_of(call(&admin, &status)), EPROTO);
	CU_ASSERT_PTR_NULL(admin.s);
	close(admin.sock);
	client_open(&admin);
	hello(&admin, "apirctl", APIR_TRANSPORT_ADMIN);
	CU_ASSERT_EQUAL(admin.num_fds, 0);
	CU_ASSERT_PTR_EQUAL(admin.s->service->ops, &apird_admin_service);
	CU_ASSERT_STRING_EQUAL(admin.s->transport, "admin");
	CU_ASSERT_EQUAL(unix_conn_of(admin.s)->page_fd, -1);
	CU_ASSERT_EQUAL(unix_conn_of(admin.s)->async_read_fd, -1);
	hello(&verbs, "app", "unix");
	CU_ASSERT_EQUAL(verbs.num_fds, 3);
	CU_ASSERT_PTR_EQUAL(verbs.s->service->ops, &apird_verbs_service);
	/* Each kind of session keeps to its own requests, and survives asking. */
	CU_ASSERT_EQUAL(status_of(call(&admin, &alloc)), EPERM);
	CU_ASSERT_EQUAL(status_of(call(&verbs, &status)), EPERM);
	CU_ASSERT_PTR_NOT_NULL(admin.s);
	CU_ASSERT_PTR_NOT_NULL(verbs.s);
	CU_ASSERT_PTR_NULL(admin.s->priv);   /* the admin service keeps no objects */
	status_of(admin_status(&admin, 0, 0));
	/* An admin client that goes away is cleaned up like any other. */
	close(admin.sock);
	CU_ASSERT_FALSE(apird_unix_session_serve(admin.s));
	apird_sessions_reap(&d);
	CU_ASSERT_PTR_EQUAL(d.sessions, verbs.s);
	CU_ASSERT_PTR_NULL(verbs.s->next);
	close(verbs.sock);
	down();
}

/* ---- what the status says -------------------------------------------------------- */

static void test_status_lists_sessions_and_qps(void)
{
	struct client a, b, admin;
	uint32_t pd_a, pd_b, cq_a, cq_b, qa, qb, qud, qinit, ha, hb, hud, hinit;
	const Apir__AdminStatusReply *r;
	const Apir__QpInfo *q;
	Apir__Response *resp;

	up();
	client_open(&a);
	client_open(&b);
	client_open(&admin);
	hello(&a, "alpha", "unix");
	hello(&b, "beta\x01", "virtio-serial");
	hello(&admin, "apirctl", APIR_TRANSPORT_ADMIN);
	pd_a = alloc_pd(&a);
	pd_b = alloc_pd(&b);
	cq_a = create_cq(&a);
	cq_b = create_cq(&b);
	reg_mr(&a, pd_a, 8192);
	reg_mr(&a, pd_a, 4096);
	qa = create_qp(&a, pd_a, cq_a, IBV_QPT_RC, &ha);
	qb = create_qp(&b, pd_b, cq_b, IBV_QPT_RC, &hb);
	qud = create_qp(&b, pd_b, cq_b, IBV_QPT_UD, &hud);
	qinit = create_qp(&b, pd_b, cq_b, IBV_QPT_RC, &hinit);
	to_init(&a, ha);
	to_init(&b, hb);
	to_init(&b, hinit);
	/* One side names apird's own GID, the other has no GRH: both are local. */
	to_rtr(&a, ha, qb, apird_local_gid(test_verbs_dev(&d)));
	to_rtr(&b, hb, qa, NULL);
	apird_qp_lookup(test_verbs_dev(&d), qa)->bytes_sent = 1ull << 40;
	apird_qp_lookup(test_verbs_dev(&d), qa)->ops_sent = 7;
	apird_qp_lookup(test_verbs_dev(&d), qb)->bytes_received = 1ull << 40;
	apird_qp_lookup(test_verbs_dev(&d), qb)->ops_received = 7;

	resp = admin_status(&admin, 0, 0);
	r = resp->admin_status;
	CU_ASSERT_FALSE(r->more);
	CU_ASSERT_STRING_EQUAL(r->device->device_name, "apir0");
	CU_ASSERT_EQUAL(r->device->pid, (uint32_t)getpid());
	CU_ASSERT_EQUAL(r->device->num_sessions, 2);
	CU_ASSERT_EQUAL(r->device->num_qps, 4);
	CU_ASSERT_FATAL(r->device->gid.len == 16);
	CU_ASSERT(memcmp(r->device->gid.data, apird_local_gid(test_verbs_dev(&d))->raw, 16) == 0);
	CU_ASSERT_STRING_EQUAL(r->device->fabric_addr, "");

	/* The asking session is not listed; the others are, by id. */
	CU_ASSERT_FATAL(r->n_sessions == 2);
	CU_ASSERT_EQUAL(r->sessions[0]->id, a.s->id);
	CU_ASSERT_STRING_EQUAL(r->sessions[0]->client_name, "alpha");
	CU_ASSERT_STRING_EQUAL(r->sessions[0]->transport, "unix");
	CU_ASSERT_EQUAL(r->sessions[0]->pid, 4242);
	CU_ASSERT_EQUAL(r->sessions[0]->num_pds, 1);
	CU_ASSERT_EQUAL(r->sessions[0]->num_cqs, 1);
	CU_ASSERT_EQUAL(r->sessions[0]->num_mrs, 2);
	CU_ASSERT_EQUAL(r->sessions[0]->mr_bytes, 12288);
	CU_ASSERT_EQUAL(r->sessions[0]->num_qps, 1);
	CU_ASSERT_EQUAL(r->sessions[1]->id, b.s->id);
	CU_ASSERT_STRING_EQUAL(r->sessions[1]->client_name, "beta?");
	CU_ASSERT_STRING_EQUAL(r->sessions[1]->transport, "virtio-serial");
	CU_ASSERT_EQUAL(r->sessions[1]->num_qps, 3);
	CU_ASSERT_EQUAL(r->sessions[1]->num_mrs, 0);

	/* QPs by number, each connected pair pointing at the other. */
	CU_ASSERT_FATAL(r->n_qps == 4);
	for (size_t i = 1; i < r->n_qps; i++)
		CU_ASSERT(r->qps[i - 1]->qp_num < r->qps[i]->qp_num);
	q = qp_info(r, qa);
	CU_ASSERT_FATAL(q != NULL);
	CU_ASSERT_EQUAL(q->qp_type, IBV_QPT_RC);
	CU_ASSERT_EQUAL(q->state, IBV_QPS_RTR);
	CU_ASSERT_EQUAL(q->session_id, a.s->id);
	CU_ASSERT(q->has_peer && !q->peer_remote);
	CU_ASSERT_EQUAL(q->peer_qp_num, qb);
	CU_ASSERT_EQUAL(q->peer_session_id, b.s->id);
	CU_ASSERT(q->peer_gid.len == 16 && memcmp(q->peer_gid.data, apird_local_gid(test_verbs_dev(&d))->raw, 16) == 0);
	CU_ASSERT_STRING_EQUAL(q->peer_fabric_addr, "");
	CU_ASSERT_EQUAL(q->bytes_sent, 1ull << 40);
	CU_ASSERT_EQUAL(q->ops_sent, 7);
	CU_ASSERT_EQUAL(q->bytes_received, 0);
	q = qp_info(r, qb);
	CU_ASSERT_FATAL(q != NULL);
	CU_ASSERT(q->has_peer && !q->peer_remote);
	CU_ASSERT_EQUAL(q->peer_qp_num, qa);
	CU_ASSERT_EQUAL(q->peer_session_id, a.s->id);
	CU_ASSERT(q->peer_gid.len == 16 && memcmp(q->peer_gid.data, apird_local_gid(test_verbs_dev(&d))->raw, 16) == 0);
	CU_ASSERT_EQUAL(q->bytes_received, 1ull << 40);
	CU_ASSERT_EQUAL(q->ops_received, 7);
	/* UD and a QP short of RTR have no peer. */
	q = qp_info(r, qud);
	CU_ASSERT(q && q->qp_type == IBV_QPT_UD && q->state == IBV_QPS_RESET && !q->has_peer);
	q = qp_info(r, qinit);
	CU_ASSERT(q && q->state == IBV_QPS_INIT && !q->has_peer && q->peer_gid.len == 0);
	status_of(resp);

	/* Nothing in the reply is a key or an address: rkeys and lkeys of A's
	 * regions appear nowhere in the packed bytes. */
	resp = admin_status(&admin, 0, 0);
	{
		size_t len = apir__response__get_packed_size(resp);
		uint8_t *buf = malloc(len);

		CU_ASSERT_FATAL(buf != NULL);
		apir__response__pack(resp, buf);
		for (uint32_t h = apird_table_next(&verbs_session(a.s)->mrs, 0); h; h = apird_table_next(&verbs_session(a.s)->mrs, h)) {
			const struct apird_mr *mr = apird_table_get(&verbs_session(a.s)->mrs, h);

			CU_ASSERT_PTR_NULL(memmem(buf, len, &mr->rkey, sizeof(mr->rkey)));
			CU_ASSERT_PTR_NULL(memmem(buf, len, &mr->lkey, sizeof(mr->lkey)));
		}
		free(buf);
	}
	status_of(resp);

	/* A peer that went away shows as a peer without a session. */
	close(a.sock);
	CU_ASSERT_FALSE(apird_unix_session_serve(a.s));
	apird_sessions_reap(&d);
	resp = admin_status(&admin, 0, 0);
	r = resp->admin_status;
	CU_ASSERT_EQUAL(r->n_sessions, 1);
	q = qp_info(r, qb);
	CU_ASSERT(q && q->has_peer && q->peer_qp_num == qa && q->peer_session_id == 0);
	CU_ASSERT_PTR_NULL(qp_info(r, qa));
	status_of(resp);
	close(b.sock);
	close(admin.sock);
	down();
}

#ifdef APIR_ENGINE_FABRIC
/* A TCP port of 127.0.0.1 that nobody uses right now. */
static uint16_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CU_ASSERT_FATAL(s >= 0);
	CU_ASSERT_FATAL(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
	CU_ASSERT_FATAL(getsockname(s, (struct sockaddr *)&a, &len) == 0);
	close(s);
	return ntohs(a.sin_port);
}

/* With the fabric on, a QP connected to another apird's QP shows that
 * apird's GID and fabric address, and the fabric engine's counters. */
static void test_status_remote_peer(void)
{
	union ibv_gid far = { .raw = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 9 } };
	struct client v, admin;
	struct apird_config cfg;
	const Apir__AdminStatusReply *r;
	const Apir__QpInfo *q;
	Apir__Response *resp;
	uint32_t pd, cq, h, qpn;
	char err[128], addr[32];

	apird_config_defaults(&cfg);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", free_port());
	CU_ASSERT_FATAL(apird_config_set(&cfg, "fabric_addr", addr, err, sizeof(err)) == 0);
	up_with(&cfg);
	client_open(&v);
	client_open(&admin);
	hello(&v, "far", "unix");
	hello(&admin, "apirctl", APIR_TRANSPORT_ADMIN);
	pd = alloc_pd(&v);
	cq = create_cq(&v);
	qpn = create_qp(&v, pd, cq, IBV_QPT_RC, &h);
	to_init(&v, h);
	to_rtr(&v, h, 0x123456, &far);
	apird_qp_lookup(test_verbs_dev(&d), qpn)->remote.requests_sent = 11;
	apird_qp_lookup(test_verbs_dev(&d), qpn)->remote.rnr_naks = 2;
	apird_qp_lookup(test_verbs_dev(&d), qpn)->remote.naks_sent = 3;

	resp = admin_status(&admin, 0, 0);
	r = resp->admin_status;
	CU_ASSERT_STRING_EQUAL(r->device->fabric_addr, addr);
	CU_ASSERT_STRING_EQUAL(r->device->fabric_provider, "tcp;ofi_rxm");
	q = qp_info(r, qpn);
	CU_ASSERT_FATAL(q != NULL);
	CU_ASSERT(q->has_peer && q->peer_remote);
	CU_ASSERT_EQUAL(q->peer_qp_num, 0x123456);
	CU_ASSERT(q->peer_gid.len == 16 && memcmp(q->peer_gid.data, far.raw, 16) == 0);
	CU_ASSERT_STRING_EQUAL(q->peer_fabric_addr, "127.0.0.9:7471");
	CU_ASSERT_EQUAL(q->peer_session_id, 0);
	CU_ASSERT_EQUAL(q->fabric_requests_sent, 11);
	CU_ASSERT_EQUAL(q->fabric_rnr_naks, 2);
	CU_ASSERT_EQUAL(q->fabric_naks_sent, 3);
	status_of(resp);
	close(v.sock);
	close(admin.sock);
	down();
}
#else
/* Built without the fabric engine, an apird told to use it refuses to
 * start rather than serve a GID nobody can reach. */
static void test_status_remote_peer(void)
{
	struct apird_config cfg;
	struct apird d2 = { 0 };
	char err[128];

	apird_config_defaults(&cfg);
	CU_ASSERT_FATAL(apird_config_set(&cfg, "fabric_addr", "127.0.0.1:7471", err,
					 sizeof(err)) == 0);
	CU_ASSERT_EQUAL(test_daemon_init(&d2, &cfg), -ENOTSUP);
}
#endif

/* Many QPs: pages that each fit a frame, every QP exactly once, in order. */
#define MANY_QPS 2500u

static void test_status_pages(void)
{
	struct client v, admin;
	uint32_t pd, cq, handle, last = 0;
	uint64_t session_from = 0;
	uint32_t qp_from = 0;
	size_t seen = 0, pages = 0, sessions = 0;
	bool more = true;

	up();
	client_open(&v);
	client_open(&admin);
	hello(&v, "many", "unix");
	hello(&admin, "apirctl", APIR_TRANSPORT_ADMIN);
	pd = alloc_pd(&v);
	cq = create_cq(&v);
	for (uint32_t i = 0; i < MANY_QPS; i++) {
		struct apird_qp *qp = apird_qp_lookup(test_verbs_dev(&d), create_qp(&v, pd, cq, IBV_QPT_UD, &handle));

		/* Counters of full width: the largest rows. */
		qp->bytes_sent = qp->ops_sent = qp->bytes_received = qp->ops_received = UINT64_MAX;
	}
	while (more) {
		Apir__Response *resp = admin_status(&admin, session_from, qp_from);
		const Apir__AdminStatusReply *r = resp->admin_status;

		CU_ASSERT(apir__response__get_packed_size(resp) <= APIR_MAX_FRAME);
		CU_ASSERT_EQUAL(r->device->num_qps, MANY_QPS);
		CU_ASSERT(r->n_qps > 0);
		for (size_t i = 0; i < r->n_qps; i++) {
			CU_ASSERT(r->qps[i]->qp_num > last);
			CU_ASSERT_EQUAL(r->qps[i]->bytes_received, UINT64_MAX);
			last = r->qps[i]->qp_num;
		}
		seen += r->n_qps;
		sessions += r->n_sessions;
		more = r->more;
		session_from = r->next_session_from;
		qp_from = r->next_qp_from;
		pages++;
		status_of(resp);
		CU_ASSERT_FATAL(pages <= MANY_QPS);
	}
	CU_ASSERT_EQUAL(seen, MANY_QPS);
	CU_ASSERT_EQUAL(sessions, 1);
	CU_ASSERT(pages >= 3);
	close(v.sock);
	close(admin.sock);
	down();
}

static CU_TestInfo admin_tests[] = {
	{ "admin session", test_admin_session },
	{ "status lists sessions and QPs", test_status_lists_sessions_and_qps },
	{ "status of a remote peer", test_status_remote_peer },
	{ "status pages", test_status_pages },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "admin status", admin_tests })
