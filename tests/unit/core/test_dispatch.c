/* SPDX-License-Identifier: MIT */
/*
 * The control plane under hostile input, driven like a frontend drives it:
 * requests go over a socketpair into a real session, apird serves them,
 * responses and fds come back. Malformed frames, wrong fd counts, bad and
 * foreign handles, invalid QP attributes, unsealed memfds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apir.pb-c.h"
#include "apir/wire.h"
#include "test_daemon.h"
#include "session.h"
#include "unit.h"

/* One frontend connection. */
struct client {
	int sock;
	struct apird_session *s;     /* NULL once apird closed it */
	uint64_t next_id;
	int fds[APIR_MAX_FDS];       /* fds of the last response */
	unsigned int num_fds;
	struct apir_session_page *page;
	int async_fd;
};

static struct apird d;
static struct client A, B;

static void client_drop_fds(struct client *c)
{
	for (unsigned int i = 0; i < c->num_fds; i++)
		close(c->fds[i]);
	c->num_fds = 0;
}

static void client_open(struct client *c)
{
	int sp[2];

	memset(c, 0, sizeof(*c));
	c->async_fd = -1;
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	c->sock = sp[0];
	c->s = apird_unix_session_create(&d, sp[1]);
	CU_ASSERT_FATAL(c->s != NULL);
	c->next_id = 1;
}

static void client_close(struct client *c)
{
	client_drop_fds(c);
	if (c->page)
		munmap(c->page, APIR_PAGE_SIZE);
	if (c->async_fd >= 0)
		close(c->async_fd);
	close(c->sock);
	memset(c, 0, sizeof(*c));
}

static void up(void)
{
	struct apird_config cfg;

	apir_log_init("apird-test", APIR_LOG_ERROR);
	apird_config_defaults(&cfg);
	memset(&d, 0, sizeof(d));
	CU_ASSERT_FATAL(test_daemon_init(&d, &cfg) == 0);
	client_open(&A);
	client_open(&B);
}

static void down(void)
{
	client_close(&A);
	client_close(&B);
	apird_daemon_fini(&d);
}

/* Lets apird serve what c sent; returns the response, or NULL when apird
 * closed the connection without one. */
static Apir__Response *exchange_raw(struct client *c, const void *buf, size_t len, const int *fds,
				    unsigned int num_fds)
{
	struct pollfd p = { .fd = c->sock, .events = POLLIN };
	struct apir_frame f;
	Apir__Response *resp;

	CU_ASSERT_FATAL(apir_frame_send(c->sock, buf, len, fds, num_fds) == 0);
	if (c->s && !apird_unix_session_serve(c->s))
		c->s = NULL;
	apird_sessions_reap(&d);
	client_drop_fds(c);
	CU_ASSERT_FATAL(poll(&p, 1, 1000) == 1);
	if (apir_frame_recv(c->sock, &f))
		return NULL;
	resp = apir__response__unpack(NULL, f.len, f.buf);
	CU_ASSERT_FATAL(resp != NULL);
	CU_ASSERT_EQUAL(resp->num_fds, f.num_fds);
	memcpy(c->fds, f.fds, sizeof(f.fds));
	c->num_fds = f.num_fds;
	f.num_fds = 0;
	apir_frame_release(&f);
	return resp;
}

/* Sends req with fds, announcing `announced` fds in the request. */
static Apir__Response *call_n(struct client *c, Apir__Request *req, const int *fds,
			      unsigned int num_fds, unsigned int announced)
{
	size_t len;
	uint8_t *buf;
	Apir__Response *resp;

	req->id = c->next_id++;
	req->num_fds = announced;
	len = apir__request__get_packed_size(req);
	buf = malloc(len + 1);
	CU_ASSERT_FATAL(buf != NULL);
	apir__request__pack(req, buf);
	resp = exchange_raw(c, buf, len, fds, num_fds);
	free(buf);
	if (resp)
		CU_ASSERT_EQUAL(resp->id, req->id);
	return resp;
}

static Apir__Response *call(struct client *c, Apir__Request *req, const int *fds,
			    unsigned int num_fds)
{
	return call_n(c, req, fds, num_fds, num_fds);
}

/* The status of a call (-1: no response), response freed. */
static int status(Apir__Response *r)
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

static Apir__Response *hello_version(struct client *c, uint32_t version)
{
	Apir__Hello h = APIR__HELLO__INIT;
	Apir__Request r = REQUEST(hello, HELLO, &h);

	h.protocol_version = version;
	h.features = APIR_FEAT_ALL | (1ull << 63);
	h.client_name = "unit\ttest\x01";
	h.pid = 42;
	return call(c, &r, NULL, 0);
}

static void hello(struct client *c)
{
	Apir__Response *r = hello_version(c, APIR_PROTOCOL_VERSION);

	CU_ASSERT_FATAL(r && r->status == 0 && c->num_fds == 3);
	CU_ASSERT_EQUAL(r->body_case, APIR__RESPONSE__BODY_HELLO);
	CU_ASSERT_EQUAL(r->hello->features, APIR_FEAT_ALL);
	c->page = mmap(NULL, APIR_PAGE_SIZE, PROT_READ, MAP_SHARED, c->fds[0], 0);
	CU_ASSERT_FATAL(c->page != MAP_FAILED);
	c->async_fd = dup(c->fds[2]);
	status(r);
	client_drop_fds(c);
}

static uint32_t reply_handle(Apir__Response *r)
{
	uint32_t h = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->status, 0);
	if (r->status == 0 && r->body_case == APIR__RESPONSE__BODY_HANDLE)
		h = r->handle->handle;
	status(r);
	return h;
}

static uint32_t alloc_pd(struct client *c)
{
	Apir__AllocPd b = APIR__ALLOC_PD__INIT;
	Apir__Request r = REQUEST(alloc_pd, ALLOC_PD, &b);

	return reply_handle(call(c, &r, NULL, 0));
}

static int dealloc_pd(struct client *c, uint32_t pd)
{
	Apir__DeallocPd b = APIR__DEALLOC_PD__INIT;
	Apir__Request r = REQUEST(dealloc_pd, DEALLOC_PD, &b);

	b.pd = pd;
	return status(call(c, &r, NULL, 0));
}

static Apir__Response *create_cq_full(struct client *c, uint32_t cqe, uint32_t channel,
				      uint32_t comp_vector)
{
	Apir__CreateCq b = APIR__CREATE_CQ__INIT;
	Apir__Request r = REQUEST(create_cq, CREATE_CQ, &b);

	b.cqe = cqe;
	b.has_channel = channel != 0;
	b.channel = channel;
	b.comp_vector = comp_vector;
	return call(c, &r, NULL, 0);
}

static uint32_t create_cq(struct client *c, uint32_t cqe)
{
	Apir__Response *r = create_cq_full(c, cqe, 0, 0);
	uint32_t h;

	CU_ASSERT_FATAL(r && r->status == 0);
	h = r->create_cq->cq;
	status(r);
	return h;
}

static int destroy_cq(struct client *c, uint32_t cq)
{
	Apir__DestroyCq b = APIR__DESTROY_CQ__INIT;
	Apir__Request r = REQUEST(destroy_cq, DESTROY_CQ, &b);

	b.cq = cq;
	return status(call(c, &r, NULL, 0));
}

static Apir__Response *create_qp_full(struct client *c, uint32_t pd, uint32_t cq, uint32_t srq,
				      uint32_t type, Apir__QpCap *cap)
{
	Apir__CreateQp b = APIR__CREATE_QP__INIT;
	Apir__Request r = REQUEST(create_qp, CREATE_QP, &b);

	b.pd = pd;
	b.send_cq = cq;
	b.recv_cq = cq;
	b.has_srq = srq != 0;
	b.srq = srq;
	b.qp_type = type;
	b.cap = cap;
	return call(c, &r, NULL, 0);
}

static Apir__QpCap small_cap(void)
{
	Apir__QpCap cap = APIR__QP_CAP__INIT;

	cap.max_send_wr = 100;
	cap.max_recv_wr = 50;
	cap.max_send_sge = 2;
	cap.max_recv_sge = 3;
	cap.max_inline_data = 64;
	return cap;
}

/* Returns the QP handle; *qpn gets its number. */
static uint32_t create_qp(struct client *c, uint32_t pd, uint32_t cq, uint32_t type, uint32_t *qpn)
{
	Apir__QpCap cap = small_cap();
	Apir__Response *r = create_qp_full(c, pd, cq, 0, type, &cap);
	uint32_t h;

	CU_ASSERT_FATAL(r && r->status == 0 && c->num_fds == 1);
	h = r->create_qp->qp;
	if (qpn)
		*qpn = r->create_qp->qp_num;
	status(r);
	return h;
}

static int modify_qp(struct client *c, uint32_t qp, uint32_t mask, Apir__QpAttr *attr)
{
	Apir__ModifyQp b = APIR__MODIFY_QP__INIT;
	Apir__Request r = REQUEST(modify_qp, MODIFY_QP, &b);

	b.qp = qp;
	b.attr_mask = mask;
	b.attr = attr;
	return status(call(c, &r, NULL, 0));
}

static Apir__Response *query_qp(struct client *c, uint32_t qp)
{
	Apir__QueryQp b = APIR__QUERY_QP__INIT;
	Apir__Request r = REQUEST(query_qp, QUERY_QP, &b);

	b.qp = qp;
	return call(c, &r, NULL, 0);
}

static int destroy_qp(struct client *c, uint32_t qp)
{
	Apir__DestroyQp b = APIR__DESTROY_QP__INIT;
	Apir__Request r = REQUEST(destroy_qp, DESTROY_QP, &b);

	b.qp = qp;
	return status(call(c, &r, NULL, 0));
}

/* A memfd of size bytes with the given seals (0: none). */
static int make_memfd(size_t size, int seals)
{
	int fd = memfd_create("unit-mr", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(ftruncate(fd, (off_t)size) == 0);
	if (seals)
		CU_ASSERT_FATAL(fcntl(fd, F_ADD_SEALS, seals) == 0);
	return fd;
}

static Apir__Response *reg_mr_full(struct client *c, uint32_t pd, int fd, uint64_t offset,
				   uint64_t length, uint64_t iova, uint32_t access)
{
	Apir__RegMr b = APIR__REG_MR__INIT;
	Apir__Request r = REQUEST(reg_mr, REG_MR, &b);

	b.pd = pd;
	b.addr = 0x7f0000000000ull + offset;
	b.length = length;
	b.iova = iova;
	b.access = access;
	b.fd_offset = offset;
	return call(c, &r, &fd, 1);
}

static int reg_mr_status(struct client *c, uint32_t pd, int fd, uint64_t offset, uint64_t length,
			 uint32_t access)
{
	return status(reg_mr_full(c, pd, fd, offset, length, 0x1000, access));
}

static int dereg_mr(struct client *c, uint32_t mr)
{
	Apir__DeregMr b = APIR__DEREG_MR__INIT;
	Apir__Request r = REQUEST(dereg_mr, DEREG_MR, &b);

	b.mr = mr;
	return status(call(c, &r, NULL, 0));
}

/* ---- handshake and framing ------------------------------------------------ */

static void test_hello(void)
{
	uint64_t one = 1;

	up();
	hello(&A);
	CU_ASSERT_STRING_EQUAL(A.s->client, "unit?test?");
	CU_ASSERT_EQUAL(A.s->pid, 42);
	CU_ASSERT_EQUAL(atomic_load(&A.page->engine_sleeping), 0);
	CU_ASSERT_EQUAL(atomic_load(&A.page->device_fatal), 0);
	/* The doorbell is the session's own eventfd. */
	CU_ASSERT_EQUAL(write(unix_conn_of(A.s)->doorbell_fd, &one, sizeof(one)), 8);
	/* A second Hello fails alone. */
	CU_ASSERT_EQUAL(status(hello_version(&A, APIR_PROTOCOL_VERSION)), EPROTO);
	CU_ASSERT_PTR_NOT_NULL(A.s);
	CU_ASSERT_NOT_EQUAL(alloc_pd(&A), 0);
	down();
}

/* Hello names its service: "verbs" is what an empty name means, one this
 * apird does not have ends the connection, "admin" gets no data plane. */
static void test_hello_service(void)
{
	Apir__Hello h = APIR__HELLO__INIT;
	Apir__Request r = REQUEST(hello, HELLO, &h);
	Apir__Response *resp;

	up();
	h.protocol_version = APIR_PROTOCOL_VERSION;
	h.service = "verbs";
	resp = call(&A, &r, NULL, 0);
	CU_ASSERT_FATAL(resp && resp->status == 0);
	CU_ASSERT_EQUAL(A.num_fds, 3);
	CU_ASSERT_PTR_EQUAL(A.s->service->ops, &apird_verbs_service);
	status(resp);
	client_drop_fds(&A);
	CU_ASSERT_NOT_EQUAL(alloc_pd(&A), 0);
	h.service = "opencl";
	resp = call(&B, &r, NULL, 0);
	CU_ASSERT_FATAL(resp != NULL);
	CU_ASSERT_EQUAL(resp->status, EPROTONOSUPPORT);
	CU_ASSERT_PTR_NOT_NULL(strstr(resp->error, "opencl"));
	CU_ASSERT_EQUAL(B.num_fds, 0);
	status(resp);
	CU_ASSERT_PTR_NULL(B.s);
	client_close(&B);
	client_open(&B);
	h.service = "admin";
	resp = call(&B, &r, NULL, 0);
	CU_ASSERT_FATAL(resp && resp->status == 0);
	CU_ASSERT_EQUAL(B.num_fds, 0);
	CU_ASSERT_PTR_EQUAL(B.s->service->ops, &apird_admin_service);
	status(resp);
	down();
}

static void test_version_mismatch(void)
{
	Apir__Response *r;

	up();
	r = hello_version(&A, APIR_PROTOCOL_VERSION + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->status, EPROTONOSUPPORT);
	CU_ASSERT_PTR_NOT_NULL(strstr(r->error, "version"));
	CU_ASSERT_EQUAL(A.num_fds, 0);
	status(r);
	CU_ASSERT_PTR_NULL(A.s);
	down();
}

static void test_request_before_hello(void)
{
	Apir__AllocPd b = APIR__ALLOC_PD__INIT;
	Apir__Request r = REQUEST(alloc_pd, ALLOC_PD, &b);

	up();
	CU_ASSERT_EQUAL(status(call(&A, &r, NULL, 0)), EPROTO);
	CU_ASSERT_PTR_NULL(A.s);
	down();
}

static void test_malformed_frames(void)
{
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12 };
	static const uint8_t truncated[] = { 0x52, 0x10, 0x08 }; /* hello, 16 bytes announced */
	static const uint8_t oversized[4] = { 0, 0, 0x10, 0 };   /* 1 MiB */

	up();
	hello(&A);
	CU_ASSERT_PTR_NULL(exchange_raw(&A, garbage, sizeof(garbage), NULL, 0));
	CU_ASSERT_PTR_NULL(A.s);
	hello(&B);
	CU_ASSERT_PTR_NULL(exchange_raw(&B, truncated, sizeof(truncated), NULL, 0));
	CU_ASSERT_PTR_NULL(B.s);
	client_close(&A);
	client_open(&A);
	CU_ASSERT_EQUAL(write(A.sock, oversized, sizeof(oversized)), 4);
	CU_ASSERT_FALSE(apird_unix_session_serve(A.s));
	A.s = NULL;
	down();
}

/* A frame that decodes but carries no body fails alone. */
static void test_no_body(void)
{
	Apir__Request r = APIR__REQUEST__INIT;

	up();
	hello(&A);
	CU_ASSERT_EQUAL(status(exchange_raw(&A, "", 0, NULL, 0)), EPROTO);
	CU_ASSERT_EQUAL(status(call(&A, &r, NULL, 0)), EPROTO);
	CU_ASSERT_PTR_NOT_NULL(A.s);
	CU_ASSERT_NOT_EQUAL(alloc_pd(&A), 0);
	down();
}

static void test_fd_counts(void)
{
	Apir__AllocPd b = APIR__ALLOC_PD__INIT;
	Apir__Request r = REQUEST(alloc_pd, ALLOC_PD, &b);
	int fd = make_memfd(4096, F_SEAL_SHRINK);
	uint32_t pd;

	up();
	hello(&A);
	pd = alloc_pd(&A);
	/* Announced and received disagree. */
	CU_ASSERT_EQUAL(status(call_n(&A, &r, NULL, 0, 1)), EPROTO);
	CU_ASSERT_EQUAL(status(call_n(&A, &r, &fd, 1, 0)), EPROTO);
	/* The verb takes no fd / needs one. */
	CU_ASSERT_EQUAL(status(call(&A, &r, &fd, 1)), EINVAL);
	{
		Apir__RegMr m = APIR__REG_MR__INIT;
		Apir__Request rr = REQUEST(reg_mr, REG_MR, &m);
		int two[2] = { fd, fd };

		m.pd = pd;
		m.length = 4096;
		m.access = IBV_ACCESS_LOCAL_WRITE;
		CU_ASSERT_EQUAL(status(call(&A, &rr, NULL, 0)), EINVAL);
		CU_ASSERT_EQUAL(status(call(&A, &rr, two, 2)), EINVAL);
	}
	CU_ASSERT_PTR_NOT_NULL(A.s);
	close(fd);
	down();
}

/* ---- handles ----------------------------------------------------------------- */

static void test_bad_handles(void)
{
	Apir__QpAttr attr = APIR__QP_ATTR__INIT;
	uint32_t pd, cq;

	up();
	hello(&A);
	CU_ASSERT_EQUAL(dealloc_pd(&A, 0), EINVAL);
	CU_ASSERT_EQUAL(dealloc_pd(&A, 7777), EINVAL);
	CU_ASSERT_EQUAL(dealloc_pd(&A, UINT32_MAX), EINVAL);
	CU_ASSERT_EQUAL(destroy_cq(&A, 1), EINVAL);
	CU_ASSERT_EQUAL(destroy_qp(&A, 1), EINVAL);
	CU_ASSERT_EQUAL(dereg_mr(&A, 1), EINVAL);
	CU_ASSERT_EQUAL(modify_qp(&A, 5, IBV_QP_STATE, &attr), EINVAL);
	pd = alloc_pd(&A);
	cq = create_cq(&A, 16);
	{
		Apir__QpCap cap = small_cap();

		CU_ASSERT_EQUAL(status(create_qp_full(&A, pd + 1, cq, 0, IBV_QPT_RC, &cap)), EINVAL);
		CU_ASSERT_EQUAL(status(create_qp_full(&A, pd, cq + 1, 0, IBV_QPT_RC, &cap)), EINVAL);
		CU_ASSERT_EQUAL(status(create_qp_full(&A, pd, cq, 99, IBV_QPT_RC, &cap)), EINVAL);
	}
	/* A PD handle used as a CQ handle means nothing: tables are per kind. */
	CU_ASSERT_EQUAL(dealloc_pd(&A, pd), 0);
	CU_ASSERT_EQUAL(dealloc_pd(&A, pd), EINVAL);
	down();
}

/* Handles of one session mean nothing in another. */
static void test_foreign_handles(void)
{
	uint32_t pd_a, cq_a, qp_a, pd_b, mr_a;
	int fd = make_memfd(8192, F_SEAL_SHRINK);
	Apir__Response *r;

	up();
	hello(&A);
	hello(&B);
	pd_a = alloc_pd(&A);
	cq_a = create_cq(&A, 8);
	qp_a = create_qp(&A, pd_a, cq_a, IBV_QPT_RC, NULL);
	r = reg_mr_full(&A, pd_a, fd, 0, 8192, 0x1000, IBV_ACCESS_LOCAL_WRITE);
	CU_ASSERT_FATAL(r && r->status == 0);
	mr_a = r->reg_mr->mr;
	status(r);
	pd_b = alloc_pd(&B);
	CU_ASSERT_EQUAL(pd_b, pd_a); /* both sessions count from 1 */
	{
		Apir__QpCap cap = small_cap();

		CU_ASSERT_EQUAL(status(create_qp_full(&B, pd_b, cq_a, 0, IBV_QPT_RC, &cap)), EINVAL);
	}
	CU_ASSERT_EQUAL(destroy_qp(&B, qp_a), EINVAL);
	CU_ASSERT_EQUAL(destroy_cq(&B, cq_a), EINVAL);
	CU_ASSERT_EQUAL(dereg_mr(&B, mr_a), EINVAL);
	/* A's objects are untouched. */
	CU_ASSERT_EQUAL(destroy_qp(&A, qp_a), 0);
	CU_ASSERT_EQUAL(dereg_mr(&A, mr_a), 0);
	CU_ASSERT_EQUAL(destroy_cq(&A, cq_a), 0);
	CU_ASSERT_EQUAL(dealloc_pd(&A, pd_a), 0);
	close(fd);
	down();
}

/* ---- memory regions ---------------------------------------------------------- */

static void test_reg_mr_rejects(void)
{
	int unsealed = make_memfd(8192, 0);
	int small = make_memfd(4096, F_SEAL_SHRINK);
	int good = make_memfd(8192, F_SEAL_SHRINK | F_SEAL_GROW);
	int wsealed = make_memfd(8192, F_SEAL_SHRINK | F_SEAL_WRITE);
	int p[2];
	uint32_t pd;

	CU_ASSERT_FATAL(pipe(p) == 0);
	up();
	hello(&A);
	pd = alloc_pd(&A);
	CU_ASSERT_EQUAL(reg_mr_status(&A, pd, unsealed, 0, 4096, IBV_ACCESS_LOCAL_WRITE), EINVAL);
	CU_ASSERT_EQUAL(reg_mr_status(&A, pd, p[1], 0, 4096, IBV_ACCESS_LOCAL_WRITE), EINVAL);
	CU_ASSERT_EQUAL(reg_mr_status(&A, pd, small, 0, 8192, IBV_ACCESS_LOCAL_WRITE), EINVAL);
	CU_ASSERT_EQUAL(reg_mr_status(&A, pd, small, 100, 4000, IBV_ACCESS_LOCAL_WRITE), EINVAL);
	CU_ASSERT_EQUAL(reg_mr_status(&A, pd, good, 0, 0, IBV_ACCESS_LOCAL_WRITE), EINVAL);
	CU_ASSERT_EQUAL(reg_mr_status(&A, pd, good, 0, APIRD_MAX_MR_SIZE + 1, 0), EINVAL);
	CU_ASSERT_EQUAL(reg_mr_status(&A, pd, good, UINT64_MAX - 10, 4096, 0), EINVAL);
	CU_ASSERT_EQUAL(status(reg_mr_full(&A, pd, good, 0, 4096, UINT64_MAX - 10, 0)), EINVAL);
	CU_ASSERT_EQUAL(reg_mr_status(&A, pd, good, 0, 4096, IBV_ACCESS_REMOTE_WRITE), EINVAL);
	CU_ASSERT_EQUAL(reg_mr_status(&A, pd, good, 0, 4096, IBV_ACCESS_REMOTE_ATOMIC), EINVAL);
	CU_ASSERT_EQUAL(reg_mr_status(&A, pd, good, 0, 4096, 1u << 15), EINVAL);
	CU_ASSERT_EQUAL(reg_mr_status(&A, pd, good, 0, 4096, IBV_ACCESS_MW_BIND), EOPNOTSUPP);
	CU_ASSERT_EQUAL(reg_mr_status(&A, pd, good, 0, 4096, IBV_ACCESS_ON_DEMAND), EOPNOTSUPP);
	CU_ASSERT_EQUAL(reg_mr_status(&A, pd + 1, good, 0, 4096, 0), EINVAL);
	CU_ASSERT_EQUAL(reg_mr_status(&A, pd, wsealed, 0, 4096, IBV_ACCESS_LOCAL_WRITE), EACCES);
	CU_ASSERT_EQUAL(reg_mr_status(&A, pd, wsealed, 0, 4096, IBV_ACCESS_REMOTE_READ), 0);
	CU_ASSERT_EQUAL(verbs_session(A.s)->mrs.count, 1);
	close(unsealed);
	close(small);
	close(good);
	close(wsealed);
	close(p[0]);
	close(p[1]);
	down();
}

/* apird maps the very pages of the memfd: zero copy both ways. */
static void test_reg_mr_maps_the_pages(void)
{
	int fd = make_memfd(3 * 4096, F_SEAL_SHRINK);
	uint8_t *mine = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	uint32_t access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			  IBV_ACCESS_REMOTE_READ | IBV_ACCESS_RELAXED_ORDERING;
	struct apird_mr *mr;
	Apir__Response *r;
	uint32_t pd, handle, lkey, rkey;

	CU_ASSERT_FATAL(mine != MAP_FAILED);
	up();
	hello(&A);
	pd = alloc_pd(&A);
	r = reg_mr_full(&A, pd, fd, 5000, 6000, 0x7f0000001388ull, access);
	CU_ASSERT_FATAL(r && r->status == 0);
	handle = r->reg_mr->mr;
	lkey = r->reg_mr->lkey;
	rkey = r->reg_mr->rkey;
	status(r);
	CU_ASSERT(lkey && rkey && lkey != rkey);
	mr = apird_mr_lookup(test_verbs_dev(&d), rkey);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mr);
	CU_ASSERT_PTR_EQUAL(apird_mr_lookup(test_verbs_dev(&d), lkey), mr);
	CU_ASSERT_EQUAL(mr->iova, 0x7f0000001388ull);
	CU_ASSERT_EQUAL(mr->length, 6000);
	CU_ASSERT_EQUAL(mr->access, access & ~(uint32_t)IBV_ACCESS_RELAXED_ORDERING);
	mine[5000] = 0xab;
	CU_ASSERT_EQUAL(mr->base[0], 0xab);
	mr->base[5999] = 0xcd;
	CU_ASSERT_EQUAL(mine[10999], 0xcd);
	CU_ASSERT_EQUAL(dealloc_pd(&A, pd), EBUSY);
	CU_ASSERT_EQUAL(dereg_mr(&A, handle), 0);
	CU_ASSERT_PTR_NULL(apird_mr_lookup(test_verbs_dev(&d), rkey));
	CU_ASSERT_EQUAL(dealloc_pd(&A, pd), 0);
	munmap(mine, 3 * 4096);
	close(fd);
	down();
}

/* ---- CQs and channels ------------------------------------------------------------ */

static void test_cq(void)
{
	struct stat st;
	struct apir_cq_ctrl *ctrl;
	Apir__Response *r;

	up();
	hello(&A);
	CU_ASSERT_EQUAL(status(create_cq_full(&A, 0, 0, 0)), EINVAL);
	CU_ASSERT_EQUAL(status(create_cq_full(&A, APIR_MAX_RING_ENTRIES + 1, 0, 0)), EINVAL);
	CU_ASSERT_EQUAL(status(create_cq_full(&A, 16, 0, 1)), EINVAL);
	CU_ASSERT_EQUAL(status(create_cq_full(&A, 16, 3, 0)), EINVAL);
	r = create_cq_full(&A, 100, 0, 0);
	CU_ASSERT_FATAL(r && r->status == 0 && A.num_fds == 1);
	CU_ASSERT_EQUAL(r->create_cq->num_entries, 128);
	CU_ASSERT_FATAL(fstat(A.fds[0], &st) == 0);
	CU_ASSERT_EQUAL((uint64_t)st.st_size, r->create_cq->area_size);
	/* Sealed: the frontend cannot shrink the ring under apird. */
	CU_ASSERT_NOT_EQUAL(ftruncate(A.fds[0], 0), 0);
	ctrl = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, A.fds[0], 0);
	CU_ASSERT_FATAL(ctrl != MAP_FAILED);
	CU_ASSERT_EQUAL(ctrl->ring.num_entries, 128);
	CU_ASSERT_EQUAL(ctrl->ring.entry_size, sizeof(struct apir_cqe));
	munmap(ctrl, (size_t)st.st_size);
	CU_ASSERT_EQUAL(destroy_cq(&A, r->create_cq->cq), 0);
	status(r);
	down();
}

/* A session's rings are bounded (session_ring_mib); another session and
 * the same session after a destroy are not affected. */
static void test_ring_quota(void)
{
	uint32_t first, other;
	Apir__Response *r;

	up();
	d.cfg.session_ring_mib = 1;
	hello(&A);
	hello(&B);
	/* 8192 CQEs: 512 KiB and a control page; two exceed 1 MiB. */
	first = create_cq(&A, 8192);
	r = create_cq_full(&A, 8192, 0, 0);
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_EQUAL(r->status, ENOMEM);
	CU_ASSERT_PTR_NOT_NULL(strstr(r->error, "session_ring_mib"));
	status(r);
	CU_ASSERT_EQUAL(status(create_cq_full(&A, APIR_MAX_RING_ENTRIES, 0, 0)), ENOMEM);
	other = create_cq(&B, 8192);
	CU_ASSERT_EQUAL(destroy_cq(&A, first), 0);
	first = create_cq(&A, 8192);
	CU_ASSERT_EQUAL(destroy_cq(&A, first), 0);
	CU_ASSERT_EQUAL(destroy_cq(&B, other), 0);
	down();
}

static void test_comp_channel(void)
{
	Apir__CreateCompChannel b = APIR__CREATE_COMP_CHANNEL__INIT;
	Apir__Request r = REQUEST(create_comp_channel, CREATE_COMP_CHANNEL, &b);
	Apir__DestroyCompChannel db = APIR__DESTROY_COMP_CHANNEL__INIT;
	Apir__Request dr = REQUEST(destroy_comp_channel, DESTROY_COMP_CHANNEL, &db);
	struct apir_cq_event_rec rec;
	struct apird_cq *cq;
	uint32_t ch, cq_handle;
	Apir__Response *resp;
	int p[2];

	CU_ASSERT_FATAL(pipe(p) == 0);
	up();
	hello(&A);
	CU_ASSERT_EQUAL(status(call(&A, &r, &p[0], 1)), EINVAL);
	ch = reply_handle(call(&A, &r, &p[1], 1));
	CU_ASSERT_NOT_EQUAL(ch, 0);
	close(p[1]);
	resp = create_cq_full(&A, 8, ch, 0);
	CU_ASSERT_FATAL(resp && resp->status == 0);
	cq_handle = resp->create_cq->cq;
	status(resp);
	cq = apird_table_get(&verbs_session(A.s)->cqs, cq_handle);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cq);
	apird_channel_notify(cq->channel, cq_handle);
	CU_ASSERT_EQUAL(read(p[0], &rec, sizeof(rec)), (ssize_t)sizeof(rec));
	CU_ASSERT_EQUAL(rec.cq_handle, cq_handle);
	db.channel = ch;
	CU_ASSERT_EQUAL(status(call(&A, &dr, NULL, 0)), EBUSY);
	CU_ASSERT_EQUAL(destroy_cq(&A, cq_handle), 0);
	CU_ASSERT_EQUAL(status(call(&A, &dr, NULL, 0)), 0);
	close(p[0]);
	down();
}

/* ---- QPs ------------------------------------------------------------------------- */

static void test_create_qp_rejects(void)
{
	Apir__QpCap cap;
	uint32_t pd, cq;

	up();
	hello(&A);
	pd = alloc_pd(&A);
	cq = create_cq(&A, 64);
	cap = small_cap();
	CU_ASSERT_EQUAL(status(create_qp_full(&A, pd, cq, 0, IBV_QPT_RAW_PACKET, &cap)), EOPNOTSUPP);
	CU_ASSERT_EQUAL(status(create_qp_full(&A, pd, cq, 0, IBV_QPT_XRC_SEND, &cap)), EOPNOTSUPP);
	CU_ASSERT_EQUAL(status(create_qp_full(&A, pd, cq, 0, IBV_QPT_RC, NULL)), EINVAL);
	cap.max_send_wr = APIRD_MAX_QP_WR + 1;
	CU_ASSERT_EQUAL(status(create_qp_full(&A, pd, cq, 0, IBV_QPT_RC, &cap)), EINVAL);
	cap = small_cap();
	cap.max_recv_sge = APIR_MAX_SGE + 1;
	CU_ASSERT_EQUAL(status(create_qp_full(&A, pd, cq, 0, IBV_QPT_RC, &cap)), EINVAL);
	cap = small_cap();
	cap.max_inline_data = APIR_MAX_INLINE + 1;
	CU_ASSERT_EQUAL(status(create_qp_full(&A, pd, cq, 0, IBV_QPT_UD, &cap)), EINVAL);
	CU_ASSERT_EQUAL(verbs_session(A.s)->qps.count, 0);
	CU_ASSERT_EQUAL(verbs_session(A.s)->cqs.count, 1);
	down();
}

static void test_create_qp(void)
{
	Apir__QpCap cap = small_cap();
	struct apir_qp_ctrl *ctrl;
	struct apird_qp *qp;
	struct stat st;
	Apir__Response *r;
	uint32_t pd, cq, h;

	up();
	hello(&A);
	pd = alloc_pd(&A);
	cq = create_cq(&A, 64);
	r = create_qp_full(&A, pd, cq, 0, IBV_QPT_RC, &cap);
	CU_ASSERT_FATAL(r && r->status == 0 && A.num_fds == 1);
	h = r->create_qp->qp;
	CU_ASSERT(r->create_qp->qp_num >= 2 && r->create_qp->qp_num <= 0xffffff);
	CU_ASSERT_EQUAL(r->create_qp->sq_entries, 128);
	CU_ASSERT_EQUAL(r->create_qp->rq_entries, 64);
	CU_ASSERT_EQUAL(r->create_qp->cap->max_send_wr, 128);
	CU_ASSERT_EQUAL(r->create_qp->cap->max_recv_sge, 3);
	CU_ASSERT_EQUAL(r->create_qp->cap->max_inline_data, 64);
	qp = apird_qp_lookup(test_verbs_dev(&d), r->create_qp->qp_num);
	CU_ASSERT_PTR_NOT_NULL_FATAL(qp);
	CU_ASSERT_EQUAL(qp->handle, h);
	CU_ASSERT_FATAL(fstat(A.fds[0], &st) == 0);
	CU_ASSERT_EQUAL((uint64_t)st.st_size, r->create_qp->area_size);
	ctrl = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, A.fds[0], 0);
	CU_ASSERT_FATAL(ctrl != MAP_FAILED);
	CU_ASSERT_EQUAL(ctrl->sq.num_entries, 128);
	CU_ASSERT_EQUAL(ctrl->rq.num_entries, 64);
	CU_ASSERT_EQUAL(ctrl->sq.entry_size, sizeof(struct apir_send_wqe));
	CU_ASSERT_EQUAL(atomic_load(&ctrl->state), IBV_QPS_RESET);
	munmap(ctrl, (size_t)st.st_size);
	status(r);
	CU_ASSERT_EQUAL(destroy_cq(&A, cq), EBUSY);
	CU_ASSERT_EQUAL(dealloc_pd(&A, pd), EBUSY);
	CU_ASSERT_EQUAL(destroy_qp(&A, h), 0);
	CU_ASSERT_EQUAL(destroy_cq(&A, cq), 0);
	CU_ASSERT_EQUAL(dealloc_pd(&A, pd), 0);
	down();
}

/* The attributes perftest sends, each a fresh struct. */
static Apir__QpAttr init_attr(void)
{
	Apir__QpAttr a = APIR__QP_ATTR__INIT;

	a.qp_state = IBV_QPS_INIT;
	a.pkey_index = 0;
	a.port_num = 1;
	a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	return a;
}

#define INIT_MASK (IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS)
#define RTR_MASK (IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN | \
		  IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER)
#define RTS_MASK (IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | \
		  IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC)

static uint8_t gid_local[16] = { [10] = 0xff, [11] = 0xff, [12] = 127, [13] = 0, [14] = 0, [15] = 1 };
static uint8_t gid_remote[16] = { [10] = 0xff, [11] = 0xff, [12] = 10, [13] = 0, [14] = 0, [15] = 1 };

static Apir__AhAttr av(const uint8_t *gid)
{
	Apir__AhAttr ah = APIR__AH_ATTR__INIT;

	ah.port_num = 1;
	ah.is_global = gid != NULL;
	if (gid) {
		ah.dgid.data = (uint8_t *)gid;
		ah.dgid.len = 16;
		ah.hop_limit = 64;
	}
	return ah;
}

static Apir__QpAttr rtr_attr(Apir__AhAttr *ah, uint32_t dest_qpn)
{
	Apir__QpAttr a = APIR__QP_ATTR__INIT;

	a.qp_state = IBV_QPS_RTR;
	a.ah_attr = ah;
	a.path_mtu = IBV_MTU_4096;
	a.dest_qp_num = dest_qpn;
	a.rq_psn = 0x1abcdef; /* 25 bits: the top one is dropped */
	a.max_dest_rd_atomic = 16;
	a.min_rnr_timer = 12;
	return a;
}

static Apir__QpAttr rts_attr(void)
{
	Apir__QpAttr a = APIR__QP_ATTR__INIT;

	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.sq_psn = 0x123456;
	a.max_rd_atomic = 16;
	return a;
}

static void test_modify_qp_rejects_init(uint32_t qp)
{
	Apir__QpAttr a = init_attr();

	CU_ASSERT_EQUAL(modify_qp(&A, qp, INIT_MASK, NULL), EINVAL);
	CU_ASSERT_EQUAL(modify_qp(&A, qp, INIT_MASK & ~IBV_QP_ACCESS_FLAGS, &a), EINVAL);
	CU_ASSERT_EQUAL(modify_qp(&A, qp, INIT_MASK | IBV_QP_QKEY, &a), EINVAL);
	a.qp_state = IBV_QPS_RTR;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, INIT_MASK, &a), EINVAL);
	a.qp_state = 7;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, INIT_MASK, &a), EINVAL);
	a = init_attr();
	a.port_num = 2;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, INIT_MASK, &a), EINVAL);
	a = init_attr();
	a.pkey_index = 1;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, INIT_MASK, &a), EINVAL);
	a = init_attr();
	a.qp_access_flags = IBV_ACCESS_MW_BIND;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, INIT_MASK, &a), EINVAL);
	a = init_attr();
	CU_ASSERT_EQUAL(modify_qp(&A, qp, INIT_MASK | IBV_QP_CAP, &a), EOPNOTSUPP);
	CU_ASSERT_EQUAL(modify_qp(&A, qp, INIT_MASK | (1u << 30), &a), EINVAL);
}

static void test_modify_qp_rejects_rtr(uint32_t qp, uint32_t dest)
{
	Apir__AhAttr ah = av(gid_local);
	Apir__QpAttr a = rtr_attr(&ah, dest);

	a.path_mtu = 6;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTR_MASK, &a), EINVAL);
	a = rtr_attr(&ah, dest);
	a.path_mtu = 0;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTR_MASK, &a), EINVAL);
	a = rtr_attr(&ah, dest);
	a.max_dest_rd_atomic = APIRD_MAX_QP_RD_ATOM + 1;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTR_MASK, &a), EINVAL);
	a = rtr_attr(&ah, dest);
	a.min_rnr_timer = 32;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTR_MASK, &a), EINVAL);
	a = rtr_attr(&ah, 1u << 24);
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTR_MASK, &a), EINVAL);
	a = rtr_attr(NULL, dest);
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTR_MASK, &a), EINVAL);
	a = rtr_attr(&ah, dest);
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTR_MASK & ~IBV_QP_MIN_RNR_TIMER, &a), EINVAL);
	ah.port_num = 2;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTR_MASK, &a), EINVAL);
	ah = av(gid_local);
	ah.sgid_index = 1;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTR_MASK, &a), EINVAL);
	ah = av(gid_local);
	ah.dgid.len = 4;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTR_MASK, &a), EINVAL);
	ah = av(gid_local);
	ah.sl = 16;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTR_MASK, &a), EINVAL);
	ah = av(gid_remote);
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTR_MASK, &a), EHOSTUNREACH);
}

static void test_modify_qp_rejects_rts(uint32_t qp)
{
	Apir__QpAttr a = rts_attr();

	a.retry_cnt = 8;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTS_MASK, &a), EINVAL);
	a = rts_attr();
	a.rnr_retry = 8;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTS_MASK, &a), EINVAL);
	a = rts_attr();
	a.timeout = 32;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTS_MASK, &a), EINVAL);
	a = rts_attr();
	a.max_rd_atomic = APIRD_MAX_QP_RD_ATOM + 1;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTS_MASK, &a), EINVAL);
	a = rts_attr();
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTS_MASK | IBV_QP_ALT_PATH, &a), EOPNOTSUPP);
	a.path_mig_state = IBV_MIG_ARMED;
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTS_MASK | IBV_QP_PATH_MIG_STATE, &a), EOPNOTSUPP);
	a = rts_attr();
	a.cur_qp_state = IBV_QPS_RTS;   /* it is in RTR */
	CU_ASSERT_EQUAL(modify_qp(&A, qp, RTS_MASK | IBV_QP_CUR_STATE, &a), EINVAL);
}

static void test_modify_qp(void)
{
	Apir__AhAttr ah = av(gid_local);
	Apir__QpAttr a;
	struct apird_qp *qp;
	Apir__Response *r;
	uint32_t pd, cq, h, qpn;

	up();
	hello(&A);
	pd = alloc_pd(&A);
	cq = create_cq(&A, 64);
	h = create_qp(&A, pd, cq, IBV_QPT_RC, &qpn);
	qp = apird_qp_lookup(test_verbs_dev(&d), qpn);
	CU_ASSERT_PTR_NOT_NULL_FATAL(qp);

	test_modify_qp_rejects_init(h);
	CU_ASSERT_EQUAL(qp->state, IBV_QPS_RESET);
	a = init_attr();
	CU_ASSERT_EQUAL(modify_qp(&A, h, INIT_MASK, &a), 0);
	CU_ASSERT_EQUAL(qp->state, IBV_QPS_INIT);

	test_modify_qp_rejects_rtr(h, qpn);
	CU_ASSERT_EQUAL(qp->state, IBV_QPS_INIT);
	a = rtr_attr(&ah, qpn);
	CU_ASSERT_EQUAL(modify_qp(&A, h, RTR_MASK, &a), 0);
	CU_ASSERT_EQUAL(qp->attr.rq_psn, 0xabcdef);
	CU_ASSERT_EQUAL(memcmp(qp->attr.ah_attr.grh.dgid.raw, gid_local, 16), 0);

	test_modify_qp_rejects_rts(h);
	CU_ASSERT_EQUAL(qp->state, IBV_QPS_RTR);
	a = rts_attr();
	a.cur_qp_state = IBV_QPS_RTR;
	CU_ASSERT_EQUAL(modify_qp(&A, h, RTS_MASK | IBV_QP_CUR_STATE, &a), 0);
	CU_ASSERT_EQUAL(qp->state, IBV_QPS_RTS);
	CU_ASSERT_EQUAL(atomic_load(&qp->ctrl->state), IBV_QPS_RTS);

	r = query_qp(&A, h);
	CU_ASSERT_FATAL(r && r->status == 0 && r->body_case == APIR__RESPONSE__BODY_QUERY_QP);
	CU_ASSERT_EQUAL(r->query_qp->attr->qp_state, IBV_QPS_RTS);
	CU_ASSERT_EQUAL(r->query_qp->attr->dest_qp_num, qpn);
	CU_ASSERT_EQUAL(r->query_qp->attr->path_mtu, IBV_MTU_4096);
	CU_ASSERT_EQUAL(r->query_qp->attr->sq_psn, 0x123456);
	CU_ASSERT_EQUAL(r->query_qp->attr->qp_access_flags,
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	CU_ASSERT_EQUAL(r->query_qp->attr->ah_attr->dgid.len, 16);
	CU_ASSERT_EQUAL(r->query_qp->cap->max_send_wr, 128);
	CU_ASSERT_EQUAL(r->query_qp->qp_type, IBV_QPT_RC);
	status(r);

	/* RTS -> SQD -> RTS, then ERR and back through RESET. */
	a = (Apir__QpAttr)APIR__QP_ATTR__INIT;
	a.qp_state = IBV_QPS_SQD;
	CU_ASSERT_EQUAL(modify_qp(&A, h, IBV_QP_STATE, &a), 0);
	a.qp_state = IBV_QPS_RTS;
	CU_ASSERT_EQUAL(modify_qp(&A, h, IBV_QP_STATE, &a), 0);
	a.qp_state = IBV_QPS_ERR;
	CU_ASSERT_EQUAL(modify_qp(&A, h, IBV_QP_STATE, &a), 0);
	CU_ASSERT_EQUAL(atomic_load(&qp->ctrl->state), IBV_QPS_ERR);
	a.qp_state = IBV_QPS_RTS;
	CU_ASSERT_EQUAL(modify_qp(&A, h, IBV_QP_STATE, &a), EINVAL);
	a.qp_state = IBV_QPS_RESET;
	CU_ASSERT_EQUAL(modify_qp(&A, h, IBV_QP_STATE, &a), 0);
	a = init_attr();
	CU_ASSERT_EQUAL(modify_qp(&A, h, INIT_MASK, &a), 0);
	down();
}

static void test_rtr_without_grh(void)
{
	Apir__AhAttr ah = av(NULL);
	Apir__QpAttr a;
	uint32_t pd, cq, h, qpn;

	up();
	hello(&A);
	pd = alloc_pd(&A);
	cq = create_cq(&A, 8);
	h = create_qp(&A, pd, cq, IBV_QPT_UC, &qpn);
	a = init_attr();
	CU_ASSERT_EQUAL(modify_qp(&A, h, INIT_MASK, &a), 0);
	a = rtr_attr(&ah, qpn);
	CU_ASSERT_EQUAL(modify_qp(&A, h, RTR_MASK, &a), EINVAL); /* UC: no RD atomics */
	CU_ASSERT_EQUAL(modify_qp(&A, h, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
				  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN, &a), 0);
	down();
}

/* ---- SRQs and AHs -------------------------------------------------------------------- */

static void test_srq(void)
{
	Apir__CreateSrq b = APIR__CREATE_SRQ__INIT;
	Apir__Request r = REQUEST(create_srq, CREATE_SRQ, &b);
	Apir__ModifySrq mb = APIR__MODIFY_SRQ__INIT;
	Apir__Request mr = REQUEST(modify_srq, MODIFY_SRQ, &mb);
	Apir__DestroySrq db = APIR__DESTROY_SRQ__INIT;
	Apir__Request dr = REQUEST(destroy_srq, DESTROY_SRQ, &db);
	Apir__QpCap cap = small_cap();
	Apir__Response *resp;
	uint32_t pd, cq, srq, srqn, qp;

	up();
	hello(&A);
	pd = alloc_pd(&A);
	cq = create_cq(&A, 8);
	b.pd = pd;
	b.max_wr = 0;
	CU_ASSERT_EQUAL(status(call(&A, &r, NULL, 0)), EINVAL);
	b.max_wr = 100;
	b.max_sge = APIR_MAX_SGE + 1;
	CU_ASSERT_EQUAL(status(call(&A, &r, NULL, 0)), EINVAL);
	b.max_sge = 2;
	b.srq_limit = 101;
	CU_ASSERT_EQUAL(status(call(&A, &r, NULL, 0)), EINVAL);
	b.srq_limit = 10;
	resp = call(&A, &r, NULL, 0);
	CU_ASSERT_FATAL(resp && resp->status == 0 && A.num_fds == 1);
	srq = resp->create_srq->srq;
	srqn = resp->create_srq->srq_num;
	CU_ASSERT_EQUAL(resp->create_srq->max_wr, 128);
	CU_ASSERT_PTR_NOT_NULL(apird_srq_lookup(test_verbs_dev(&d), srqn));
	status(resp);
	mb.srq = srq;
	mb.attr_mask = IBV_SRQ_MAX_WR;
	CU_ASSERT_EQUAL(status(call(&A, &mr, NULL, 0)), EOPNOTSUPP);
	mb.attr_mask = IBV_SRQ_LIMIT;
	mb.srq_limit = 129;
	CU_ASSERT_EQUAL(status(call(&A, &mr, NULL, 0)), EINVAL);
	mb.srq_limit = 64;
	CU_ASSERT_EQUAL(status(call(&A, &mr, NULL, 0)), 0);
	mb.attr_mask = 4;
	CU_ASSERT_EQUAL(status(call(&A, &mr, NULL, 0)), EINVAL);
	resp = create_qp_full(&A, pd, cq, srq, IBV_QPT_RC, &cap);
	CU_ASSERT_FATAL(resp && resp->status == 0);
	CU_ASSERT_EQUAL(resp->create_qp->rq_entries, 0);
	CU_ASSERT_EQUAL(resp->create_qp->cap->max_recv_wr, 0);
	qp = resp->create_qp->qp;
	status(resp);
	db.srq = srq;
	CU_ASSERT_EQUAL(status(call(&A, &dr, NULL, 0)), EBUSY);
	CU_ASSERT_EQUAL(destroy_qp(&A, qp), 0);
	CU_ASSERT_EQUAL(status(call(&A, &dr, NULL, 0)), 0);
	CU_ASSERT_PTR_NULL(apird_srq_lookup(test_verbs_dev(&d), srqn));
	down();
}

static void test_ah(void)
{
	Apir__AhAttr ah = av(gid_local);
	Apir__CreateAh b = APIR__CREATE_AH__INIT;
	Apir__Request r = REQUEST(create_ah, CREATE_AH, &b);
	Apir__DestroyAh db = APIR__DESTROY_AH__INIT;
	Apir__Request dr = REQUEST(destroy_ah, DESTROY_AH, &db);
	Apir__Response *resp;
	uint32_t pd;

	up();
	hello(&A);
	pd = alloc_pd(&A);
	b.pd = pd;
	CU_ASSERT_EQUAL(status(call(&A, &r, NULL, 0)), EINVAL);    /* no attr */
	b.attr = &ah;
	ah = av(gid_remote);
	CU_ASSERT_EQUAL(status(call(&A, &r, NULL, 0)), EHOSTUNREACH);
	ah = av(gid_local);
	resp = call(&A, &r, NULL, 0);
	CU_ASSERT_FATAL(resp && resp->status == 0);
	db.ah = resp->create_ah->ah;
	status(resp);
	CU_ASSERT_PTR_NOT_NULL(apird_ah_lookup(A.s, db.ah));
	CU_ASSERT_PTR_NULL(apird_ah_lookup(B.s, db.ah));
	CU_ASSERT_EQUAL(dealloc_pd(&A, pd), EBUSY);
	CU_ASSERT_EQUAL(status(call(&A, &dr, NULL, 0)), 0);
	CU_ASSERT_EQUAL(status(call(&A, &dr, NULL, 0)), EINVAL);
	CU_ASSERT_EQUAL(dealloc_pd(&A, pd), 0);
	down();
}

/* ---- device queries --------------------------------------------------------------------- */

static void test_queries(void)
{
	Apir__QueryDevice qd = APIR__QUERY_DEVICE__INIT;
	Apir__Request rd = REQUEST(query_device, QUERY_DEVICE, &qd);
	Apir__QueryPort qp = APIR__QUERY_PORT__INIT;
	Apir__Request rp = REQUEST(query_port, QUERY_PORT, &qp);
	Apir__QueryGidTable qg = APIR__QUERY_GID_TABLE__INIT;
	Apir__Request rg = REQUEST(query_gid_table, QUERY_GID_TABLE, &qg);
	Apir__Response *r;

	up();
	hello(&A);
	r = call(&A, &rd, NULL, 0);
	CU_ASSERT_FATAL(r && r->status == 0 && r->body_case == APIR__RESPONSE__BODY_DEVICE_ATTR);
	CU_ASSERT_EQUAL(r->device_attr->max_qp, APIRD_MAX_QP);
	CU_ASSERT_EQUAL(r->device_attr->max_sge, APIR_MAX_SGE);
	CU_ASSERT_EQUAL(r->device_attr->max_qp_rd_atom, APIRD_MAX_QP_RD_ATOM);
	CU_ASSERT_EQUAL(r->device_attr->atomic_cap, IBV_ATOMIC_HCA);
	CU_ASSERT_EQUAL(r->device_attr->phys_port_cnt, 1);
	CU_ASSERT_NOT_EQUAL(r->device_attr->vendor_id, 0);
	CU_ASSERT_NOT_EQUAL(r->device_attr->node_guid, 0);
	status(r);
	qp.port_num = 2;
	CU_ASSERT_EQUAL(status(call(&A, &rp, NULL, 0)), EINVAL);
	qp.port_num = 1;
	r = call(&A, &rp, NULL, 0);
	CU_ASSERT_FATAL(r && r->status == 0);
	CU_ASSERT_EQUAL(r->port_attr->state, IBV_PORT_ACTIVE);
	CU_ASSERT_EQUAL(r->port_attr->link_layer, IBV_LINK_LAYER_ETHERNET);
	CU_ASSERT_EQUAL(r->port_attr->active_mtu, IBV_MTU_4096);
	CU_ASSERT_EQUAL(r->port_attr->gid_tbl_len, 1);
	status(r);
	qg.port_num = 0;
	CU_ASSERT_EQUAL(status(call(&A, &rg, NULL, 0)), EINVAL);
	qg.port_num = 1;
	r = call(&A, &rg, NULL, 0);
	CU_ASSERT_FATAL(r && r->status == 0 && r->gid_table->n_entries == 1);
	CU_ASSERT_EQUAL(r->gid_table->entries[0]->gid.len, 16);
	CU_ASSERT_EQUAL(memcmp(r->gid_table->entries[0]->gid.data, gid_local, 16), 0);
	CU_ASSERT_EQUAL(r->gid_table->entries[0]->gid_type, IBV_GID_TYPE_ROCE_V2);
	status(r);
	down();
}

/* ---- session end ---------------------------------------------------------------------------- */

/* A client that vanishes leaves nothing behind. */
static void test_disconnect_cleans_up(void)
{
	int fd = make_memfd(4096, F_SEAL_SHRINK);
	Apir__Response *r;
	uint32_t pd, cq, qpn, rkey;
	char c;

	up();
	hello(&A);
	pd = alloc_pd(&A);
	cq = create_cq(&A, 8);
	create_qp(&A, pd, cq, IBV_QPT_RC, &qpn);
	r = reg_mr_full(&A, pd, fd, 0, 4096, 0x1000, IBV_ACCESS_LOCAL_WRITE);
	CU_ASSERT_FATAL(r && r->status == 0);
	rkey = r->reg_mr->rkey;
	status(r);
	CU_ASSERT_PTR_NOT_NULL(apird_qp_lookup(test_verbs_dev(&d), qpn));
	close(A.sock);
	A.sock = -1;
	CU_ASSERT_FALSE(apird_unix_session_serve(A.s));
	A.s = NULL;
	apird_sessions_reap(&d);
	CU_ASSERT_PTR_NULL(apird_qp_lookup(test_verbs_dev(&d), qpn));
	CU_ASSERT_PTR_NULL(apird_mr_lookup(test_verbs_dev(&d), rkey));
	CU_ASSERT_EQUAL(test_verbs_dev(&d)->qps.count, 0);
	CU_ASSERT_EQUAL(test_verbs_dev(&d)->mr_keys.count, 0);
	CU_ASSERT_EQUAL(atomic_load(&A.page->device_fatal), 1);
	/* The async pipe's write end is gone: the frontend reads EOF. */
	CU_ASSERT_EQUAL(read(A.async_fd, &c, 1), 0);
	close(fd);
	down();
}

static void test_async_event(void)
{
	struct apir_async_event_rec rec;

	up();
	hello(&A);
	apird_session_async_event(A.s, IBV_EVENT_CQ_ERR, APIR_OBJ_CQ, 5);
	CU_ASSERT_EQUAL(read(A.async_fd, &rec, sizeof(rec)), (ssize_t)sizeof(rec));
	CU_ASSERT_EQUAL(rec.event_type, IBV_EVENT_CQ_ERR);
	CU_ASSERT_EQUAL(rec.obj_kind, APIR_OBJ_CQ);
	CU_ASSERT_EQUAL(rec.obj_handle, 5);
	/* A full pipe drops events instead of blocking apird. */
	CU_ASSERT_EQUAL(fcntl(A.async_fd, F_SETPIPE_SZ, 4096), 4096);
	for (int i = 0; i < 1000; i++)
		apird_session_async_event(A.s, IBV_EVENT_QP_FATAL, APIR_OBJ_QP, (uint32_t)i);
	CU_ASSERT(A.s->events_dropped_logged);
	down();
}

/* Maps the area fd of the last response (apird sent it, the test keeps a view). */
static void *map_reply_area(struct client *c, size_t *len)
{
	struct stat st;
	void *p;

	CU_ASSERT_FATAL(c->num_fds == 1 && fstat(c->fds[0], &st) == 0);
	*len = (size_t)st.st_size;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, c->fds[0], 0);
	CU_ASSERT_FATAL(p != MAP_FAILED);
	return p;
}

/* Shutdown: device_fatal in the page, every QP to ERR, and the engine's
 * flush completions written before the sessions close. */
static void test_shutdown_flushes(void)
{
	Apir__QpCap cap = small_cap();
	Apir__QpAttr a = init_attr();
	struct apir_cq_ctrl *cq_ctrl;
	struct apir_qp_ctrl *qp_ctrl;
	struct apir_cqe *cqe;
	struct apir_recv_wqe *rq;
	size_t cq_len, qp_len, cqe_off, sq_off, rq_off;
	Apir__Response *r;
	uint32_t pd, cq, qp;

	up();
	hello(&A);
	pd = alloc_pd(&A);
	r = create_cq_full(&A, 8, 0, 0);
	CU_ASSERT_FATAL(r && r->status == 0);
	cq_ctrl = map_reply_area(&A, &cq_len);
	cq = r->create_cq->cq;
	status(r);
	r = create_qp_full(&A, pd, cq, 0, IBV_QPT_RC, &cap);
	CU_ASSERT_FATAL(r && r->status == 0);
	qp = r->create_qp->qp;
	qp_ctrl = map_reply_area(&A, &qp_len);
	status(r);
	CU_ASSERT_EQUAL(modify_qp(&A, qp, INIT_MASK, &a), 0);
	/* Post one receive, as the frontend would. */
	apir_qp_layout(qp_ctrl->sq.num_entries, qp_ctrl->rq.num_entries, &sq_off, &rq_off);
	rq = (struct apir_recv_wqe *)((uint8_t *)qp_ctrl + rq_off);
	rq[0].wr_id = 77;
	rq[0].num_sge = 0;
	atomic_store(&qp_ctrl->rq.prod.value, 1);

	apird_daemon_fini(&d);
	CU_ASSERT_EQUAL(atomic_load(&A.page->device_fatal), 1);
	CU_ASSERT_EQUAL(atomic_load(&qp_ctrl->state), IBV_QPS_ERR);
	CU_ASSERT_EQUAL_FATAL(atomic_load(&cq_ctrl->ring.prod.value), 1);
	apir_cq_layout(8, &cqe_off);
	cqe = (struct apir_cqe *)((uint8_t *)cq_ctrl + cqe_off);
	CU_ASSERT_EQUAL(cqe[0].wr_id, 77);
	CU_ASSERT_EQUAL(cqe[0].status, IBV_WC_WR_FLUSH_ERR);
	munmap(cq_ctrl, cq_len);
	munmap(qp_ctrl, qp_len);
	A.s = B.s = NULL;
	down();
}

static CU_TestInfo handshake_tests[] = {
	{ "hello", test_hello },
	{ "version mismatch", test_version_mismatch },
	{ "hello names a service", test_hello_service },
	{ "request before hello", test_request_before_hello },
	{ "malformed frames", test_malformed_frames },
	{ "no body", test_no_body },
	{ "fd counts", test_fd_counts },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo object_tests[] = {
	{ "bad handles", test_bad_handles },
	{ "foreign handles", test_foreign_handles },
	{ "reg_mr rejects", test_reg_mr_rejects },
	{ "reg_mr maps the pages", test_reg_mr_maps_the_pages },
	{ "cq", test_cq },
	{ "ring quota", test_ring_quota },
	{ "completion channel", test_comp_channel },
	{ "create_qp rejects", test_create_qp_rejects },
	{ "create_qp", test_create_qp },
	{ "modify_qp", test_modify_qp },
	{ "RTR without GRH", test_rtr_without_grh },
	{ "srq", test_srq },
	{ "ah", test_ah },
	{ "queries", test_queries },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo session_tests[] = {
	{ "disconnect cleans up", test_disconnect_cleans_up },
	{ "async event", test_async_event },
	{ "shutdown flushes", test_shutdown_flushes },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "handshake", handshake_tests }, { "objects", object_tests },
	       { "session", session_tests })
