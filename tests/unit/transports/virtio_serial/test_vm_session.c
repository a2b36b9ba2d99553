/* SPDX-License-Identifier: MIT */
/*
 * The virtio-serial transport driven like QEMU and a guest frontend drive
 * it: a socketpair stands for the port, a sparse 4 GiB memfd for the guest
 * RAM (low 3 GiB, the hole, 1 GiB above 4 GiB). Frames carry the stream
 * magic and no fds; the session page, rings and regions are guest pages.
 * Hostile guests: extents outside RAM or in the hole, unaligned, too short,
 * overlapping rings, garbage and broken frames on the port, a process
 * killed mid-frame, QEMU gone; apird answers with errors and keeps serving.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "apir.pb-c.h"
#include "apir/wire.h"
#include "dispatch.h"
#include "handlers.h"
#include "session.h"
#include "sw.h"
#include "test_daemon.h"
#include "unit.h"
#include "vm.h"

#define GiB (1ull << 30)
#define PAGE 4096ull
#define RAM_SIZE (4 * GiB)
#define HIGH (4 * GiB)               /* GPA of the first byte above the hole */

static struct apird d;
static void *vms;                /* d's VM listener */
/* A VM as the test drives it: QEMU's end of its port. */
struct guest {
	struct apird_vm *vm;
	int port;                    /* the guest's end of the port */
	uint8_t rx[1 << 20];
	size_t rx_len;
};

static struct guest guests[2];
static struct guest *g = &guests[0]; /* the one the helpers talk to */
static int memfd = -1;
static uint8_t *ram;                 /* the guest's RAM (the file as QEMU maps it) */
static uint64_t next_id = 1;

/* The guest's view of a guest-physical address. */
static void *gpa(uint64_t a)
{
	return ram + (a >= HIGH ? a - HIGH + 3 * GiB : a);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void port_write(const void *buf, size_t len)
{
	CU_ASSERT_FATAL(write(g->port, buf, len) == (ssize_t)len);
}

static void connect_port(void)
{
	int sp[2];

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	g->port = sp[0];
	g->rx_len = 0;
	CU_ASSERT_FATAL(apird_vm_connect(g->vm, sp[1]) == 0);
}

static void up(void)
{
	struct apird_config cfg;
	struct apird_vm_config vc = { .name = "vm0", .ram_size = RAM_SIZE };

	apir_log_init("apird-test", APIR_LOG_ERROR);
	apird_config_defaults(&cfg);
	memset(&d, 0, sizeof(d));
	CU_ASSERT_FATAL(test_daemon_init(&d, &cfg) == 0);
	vms = test_vm_listener(&d);
	memfd = memfd_create("guest-ram", MFD_CLOEXEC);
	CU_ASSERT_FATAL(memfd >= 0 && ftruncate(memfd, (off_t)RAM_SIZE) == 0);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	CU_ASSERT_FATAL(ram != MAP_FAILED);
	snprintf(vc.socket_path, sizeof(vc.socket_path), "/nonexistent/vm0.sock");
	snprintf(vc.ram_path, sizeof(vc.ram_path), "/proc/self/fd/%d", memfd);
	g->vm = apird_vm_add(vms, &d, &vc);
	CU_ASSERT_FATAL(g->vm != NULL);
	connect_port();
	next_id = 1;
}

static void down(void)
{
	if (g->port >= 0)
		close(g->port);
	g->port = -1;
	apird_daemon_fini(&d);
	munmap(ram, RAM_SIZE);
	close(memfd);
}

/* apird serves what the port holds, as its loop would. */
static void serve(void)
{
	if (g->vm->conn)
		apird_vm_serve(g->vm->conn);
	apird_sessions_reap(&d);
}

static void send_frame(const void *payload, size_t len)
{
	uint8_t hdr[8];

	put_le32(hdr, APIR_STREAM_MAGIC);
	put_le32(hdr + 4, (uint32_t)len);
	port_write(hdr, sizeof(hdr));
	port_write(payload, len);
}

static void send_request(Apir__Request *req)
{
	size_t len;
	uint8_t *buf;

	req->id = next_id++;
	len = apir__request__get_packed_size(req);
	buf = malloc(len + 1);
	CU_ASSERT_FATAL(buf != NULL);
	apir__request__pack(req, buf);
	send_frame(buf, len);
	free(buf);
}

/* The next frame apird sent on the port, or NULL if there is none. */
static Apir__Response *next_frame(void)
{
	uint32_t magic, len = 0;
	Apir__Response *r;

	for (;;) {
		ssize_t n;

		if (g->rx_len >= 8)
			memcpy(&len, g->rx + 4, 4);
		if (g->rx_len >= 8 && g->rx_len >= 8 + len)
			break;
		n = recv(g->port, g->rx + g->rx_len, sizeof(g->rx) - g->rx_len, MSG_DONTWAIT);
		if (n <= 0)
			return NULL;
		g->rx_len += (size_t)n;
	}
	memcpy(&magic, g->rx, 4);
	CU_ASSERT_FATAL(magic == APIR_STREAM_MAGIC);
	r = apir__response__unpack(NULL, len, g->rx + 8);
	CU_ASSERT_FATAL(r != NULL);
	memmove(g->rx, g->rx + 8 + len, g->rx_len - 8 - len);
	g->rx_len -= 8 + len;
	return r;
}

static Apir__Response *call(Apir__Request *req)
{
	Apir__Response *r;

	send_request(req);
	serve();
	r = next_frame();
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->id, req->id);
	CU_ASSERT_EQUAL(r->num_fds, 0);
	return r;
}

static int status(Apir__Response *r)
{
	int st = r->status;

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

/* Up to 8 extents of whole pages. */
struct extents {
	Apir__GpaExtent e[8];
	Apir__GpaExtent *p[8];
	size_t n;
};

static void ext_add(struct extents *x, uint64_t a, uint64_t len)
{
	apir__gpa_extent__init(&x->e[x->n]);
	x->e[x->n].gpa = a;
	x->e[x->n].len = len;
	x->p[x->n] = &x->e[x->n];
	x->n++;
}

static const char *hello_transport = "virtio-serial";

static int hello_at(uint64_t page_gpa, uint64_t len)
{
	Apir__Hello h = APIR__HELLO__INIT;
	Apir__Request r = REQUEST(hello, HELLO, &h);
	struct extents x = { .n = 0 };

	ext_add(&x, page_gpa, len);
	h.protocol_version = APIR_PROTOCOL_VERSION;
	h.features = APIR_FEAT_ALL;
	h.client_name = "guest";
	h.transport = (char *)hello_transport;
	h.session_page = x.p;
	h.n_session_page = x.n;
	return status(call(&r));
}

static uint32_t reply_handle(Apir__Response *r)
{
	uint32_t h = r->status == 0 && r->body_case == APIR__RESPONSE__BODY_HANDLE ?
		     r->handle->handle : 0;

	CU_ASSERT_EQUAL(r->status, 0);
	status(r);
	return h;
}

static uint32_t alloc_pd(void)
{
	Apir__AllocPd m = APIR__ALLOC_PD__INIT;
	Apir__Request r = REQUEST(alloc_pd, ALLOC_PD, &m);

	return reply_handle(call(&r));
}

static uint32_t create_channel(void)
{
	Apir__CreateCompChannel m = APIR__CREATE_COMP_CHANNEL__INIT;
	Apir__Request r = REQUEST(create_comp_channel, CREATE_COMP_CHANNEL, &m);

	return reply_handle(call(&r));
}

/* CreateCq of cqe entries on x; returns the response. */
static Apir__Response *create_cq(uint32_t cqe, struct extents *x, uint32_t channel)
{
	Apir__CreateCq m = APIR__CREATE_CQ__INIT;
	Apir__Request r = REQUEST(create_cq, CREATE_CQ, &m);

	m.cqe = cqe;
	m.ring = x->p;
	m.n_ring = x->n;
	m.has_channel = channel != 0;
	m.channel = channel;
	return call(&r);
}

static Apir__Response *reg_mr(uint32_t pd, uint64_t addr, uint64_t len, uint64_t offset,
			      struct extents *x)
{
	Apir__RegMr m = APIR__REG_MR__INIT;
	Apir__Request r = REQUEST(reg_mr, REG_MR, &m);

	m.pd = pd;
	m.addr = m.iova = addr;
	m.length = len;
	m.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	m.fd_offset = offset;
	m.pages = x->p;
	m.n_pages = x->n;
	return call(&r);
}

static Apir__Response *create_qp(uint32_t pd, uint32_t cq, struct extents *x)
{
	Apir__QpCap cap = APIR__QP_CAP__INIT;
	Apir__CreateQp m = APIR__CREATE_QP__INIT;
	Apir__Request r = REQUEST(create_qp, CREATE_QP, &m);

	cap.max_send_wr = cap.max_recv_wr = 4;
	cap.max_send_sge = cap.max_recv_sge = 1;
	m.pd = pd;
	m.send_cq = m.recv_cq = cq;
	m.qp_type = IBV_QPT_RC;
	m.cap = &cap;
	m.ring = x->p;
	m.n_ring = x->n;
	return call(&r);
}

static unsigned int live_sessions(void)
{
	unsigned int n = 0;

	for (struct apird_session *s = d.sessions; s; s = s->next)
		n++;
	return n;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_hello(void)
{
	struct apir_session_page *page;

	up();
	page = gpa(0x10000);
	/* Before any Hello, a request is refused but the port keeps working. */
	{
		Apir__AllocPd m = APIR__ALLOC_PD__INIT;
		Apir__Request r = REQUEST(alloc_pd, ALLOC_PD, &m);

		CU_ASSERT_EQUAL(status(call(&r)), EPROTO);
	}
	CU_ASSERT_EQUAL(hello_at(0x10000, PAGE), 0);
	CU_ASSERT_EQUAL_FATAL(live_sessions(), 1);
	CU_ASSERT_PTR_EQUAL(g->vm->conn->session->conn, g->vm->conn);
	/* apird writes the guest's session page. */
	apird_session_set_sleeping(g->vm->conn->session, true);
	CU_ASSERT_EQUAL(atomic_load(&page->engine_sleeping), 1);
	apird_session_set_sleeping(g->vm->conn->session, false);
	CU_ASSERT_EQUAL(atomic_load(&page->engine_sleeping), 0);
	CU_ASSERT(alloc_pd() != 0);
	/* A Doorbell gets no response. */
	{
		Apir__Doorbell m = APIR__DOORBELL__INIT;
		Apir__Request r = REQUEST(doorbell, DOORBELL, &m);

		send_request(&r);
		serve();
		CU_ASSERT_PTR_NULL(next_frame());
	}
	down();
}

static void test_hello_hostile(void)
{
	up();
	CU_ASSERT_EQUAL(hello_at(3 * GiB + 16 * PAGE, PAGE), EINVAL);     /* the hole */
	CU_ASSERT_EQUAL(live_sessions(), 0);
	CU_ASSERT_EQUAL(hello_at(HIGH + GiB, PAGE), EINVAL);             /* past the end */
	CU_ASSERT_EQUAL(hello_at(0x10000, 2 * PAGE), EINVAL);            /* not one page */
	CU_ASSERT_EQUAL(hello_at(0x10001, PAGE), EINVAL);                /* unaligned */
	/* A guest is never an operator. */
	hello_transport = APIR_TRANSPORT_ADMIN;
	CU_ASSERT_EQUAL(hello_at(0x10000, PAGE), EPERM);
	hello_transport = "virtio-serial";
	CU_ASSERT_EQUAL(live_sessions(), 0);
	/* Above 4 GiB is RAM. */
	CU_ASSERT_EQUAL(hello_at(HIGH + 8 * PAGE, PAGE), 0);
	CU_ASSERT_EQUAL(live_sessions(), 1);
	CU_ASSERT(alloc_pd() != 0);
	down();
}

static void test_rings(void)
{
	struct extents cq1 = { .n = 0 }, cq2 = { .n = 0 }, bad = { .n = 0 };
	struct apir_cq_ctrl *ctrl;
	Apir__Response *r;

	up();
	ctrl = gpa(HIGH + 0x100000);
	CU_ASSERT_FATAL(hello_at(0x10000, PAGE) == 0);
	/* 4 entries: a control page and one page of CQEs, scattered, one above 4 GiB. */
	memset(ctrl, 0xab, PAGE);
	ext_add(&cq1, HIGH + 0x100000, PAGE);
	ext_add(&cq1, 0x30000, PAGE);
	r = create_cq(4, &cq1, 0);
	CU_ASSERT_EQUAL(r->status, 0);
	CU_ASSERT_EQUAL(r->create_cq->num_entries, 4);
	CU_ASSERT_EQUAL(r->create_cq->area_size, 2 * PAGE);
	status(r);
	CU_ASSERT_EQUAL(ctrl->ring.num_entries, 4);
	CU_ASSERT_EQUAL(ctrl->ring.entry_size, sizeof(struct apir_cqe));
	CU_ASSERT_EQUAL(atomic_load(&ctrl->ring.prod.value), 0);   /* zeroed by apird */
	/* Overlapping it, the session page, or itself; in the hole; outside RAM;
	 * too short; unaligned; no extents at all. */
	ext_add(&bad, 0x30000, 2 * PAGE);
	CU_ASSERT_EQUAL(status(create_cq(4, &bad, 0)), EINVAL);
	bad.e[0].gpa = 0x10000;
	CU_ASSERT_EQUAL(status(create_cq(4, &bad, 0)), EINVAL);
	bad.n = 0;
	ext_add(&bad, 0x50000, PAGE);
	ext_add(&bad, 0x50000, PAGE);
	CU_ASSERT_EQUAL(status(create_cq(4, &bad, 0)), EINVAL);
	bad.n = 0;
	ext_add(&bad, 3 * GiB + PAGE, 2 * PAGE);
	CU_ASSERT_EQUAL(status(create_cq(4, &bad, 0)), EINVAL);
	bad.e[0].gpa = HIGH + GiB - PAGE;
	CU_ASSERT_EQUAL(status(create_cq(4, &bad, 0)), EINVAL);
	bad.e[0].gpa = 0x60000;
	CU_ASSERT_EQUAL(status(create_cq(1024, &bad, 0)), EINVAL);
	bad.e[0].gpa = 0x60800;
	CU_ASSERT_EQUAL(status(create_cq(4, &bad, 0)), EINVAL);
	bad.n = 0;
	CU_ASSERT_EQUAL(status(create_cq(4, &bad, 0)), EINVAL);
	CU_ASSERT_EQUAL(verbs_session(g->vm->conn->session)->cqs.count, 1);
	/* Freed pages may be used again by another ring. */
	ext_add(&cq2, 0x30000, 2 * PAGE);
	{
		Apir__DestroyCq m = APIR__DESTROY_CQ__INIT;
		Apir__Request rq = REQUEST(destroy_cq, DESTROY_CQ, &m);

		m.cq = 1;
		CU_ASSERT_EQUAL(status(call(&rq)), 0);
	}
	CU_ASSERT_EQUAL(status(create_cq(4, &cq2, 0)), 0);
	down();
}

/* A region over scattered guest pages, two QPs looped back, an RDMA WRITE
 * posted in the guest's ring: the bytes move between guest pages, the CQE
 * lands in the guest's CQ ring and the armed CQ's event comes as a frame. */
static void test_data_path(void)
{
	struct extents cq = { .n = 0 }, qp1 = { .n = 0 }, qp2 = { .n = 0 };
	struct extents src = { .n = 0 }, dst = { .n = 0 };
	struct apird_qp *a, *b;
	struct apird_mr *ms, *md;
	struct apir_cq_ctrl *cq_ctrl;
	struct apir_qp_ctrl *qa_ctrl;
	struct apir_send_wqe *w;
	struct apir_cqe *cqe;
	uint32_t pd, ch, cq_h, lkey, rkey;
	Apir__Response *r;
	size_t sq_off, rq_off, qp_len = apir_qp_layout(4, 4, &sq_off, &rq_off);

	up();
	cq_ctrl = gpa(0x200000);
	qa_ctrl = gpa(0x300000);
	CU_ASSERT_FATAL(hello_at(0x10000, PAGE) == 0);
	pd = alloc_pd();
	ch = create_channel();
	CU_ASSERT_FATAL(ch != 0);
	ext_add(&cq, 0x200000, 2 * PAGE);
	r = create_cq(4, &cq, ch);
	CU_ASSERT_FATAL(r->status == 0);
	cq_h = r->create_cq->cq;
	status(r);
	ext_add(&qp1, 0x300000, qp_len);
	ext_add(&qp2, HIGH + 0x300000, qp_len);
	CU_ASSERT_FATAL(status(create_qp(pd, cq_h, &qp1)) == 0);
	CU_ASSERT_FATAL(status(create_qp(pd, cq_h, &qp2)) == 0);
	/* The source: 6000 bytes from offset 100 of a page at 0x400000, on into
	 * a page above 4 GiB; the destination likewise, elsewhere. */
	ext_add(&src, 0x400000, PAGE);
	ext_add(&src, HIGH + 0x400000, PAGE);
	ext_add(&dst, 0x500000, PAGE);
	ext_add(&dst, 0x700000, PAGE);
	memset(gpa(0x400000), 's', PAGE);
	memset(gpa(HIGH + 0x400000), 'S', PAGE);
	/* The region must start inside its first extent and fit the extents. */
	CU_ASSERT_EQUAL(status(reg_mr(pd, 0x7f0000000064, 6000, PAGE, &src)), EINVAL);
	CU_ASSERT_EQUAL(status(reg_mr(pd, 0x7f0000000064, 9000, 100, &src)), EINVAL);
	r = reg_mr(pd, 0x7f0000000064, 6000, 100, &src);
	CU_ASSERT_FATAL(r->status == 0);
	lkey = r->reg_mr->lkey;
	status(r);
	r = reg_mr(pd, 0x7e0000000064, 6000, 100, &dst);
	CU_ASSERT_FATAL(r->status == 0);
	rkey = r->reg_mr->rkey;
	status(r);
	ms = apird_mr_lookup(test_verbs_dev(&d), lkey);
	md = apird_mr_lookup(test_verbs_dev(&d), rkey);
	CU_ASSERT_FATAL(ms && md);
	a = apird_table_get(&verbs_session(g->vm->conn->session)->qps, 1);
	b = apird_table_get(&verbs_session(g->vm->conn->session)->qps, 2);
	CU_ASSERT_FATAL(a && b);
	a->attr.dest_qp_num = b->qp_num;
	b->attr.dest_qp_num = a->qp_num;
	a->attr.qp_access_flags = b->attr.qp_access_flags = IBV_ACCESS_REMOTE_WRITE;
	for (enum ibv_qp_state st = IBV_QPS_INIT; st <= IBV_QPS_RTS; st++) {
		apird_qp_set_state(test_verbs_dev(&d), a, st);
		apird_qp_set_state(test_verbs_dev(&d), b, st);
	}
	/* The guest posts and arms, as its frontend would. */
	w = (struct apir_send_wqe *)((uint8_t *)qa_ctrl + sq_off);
	memset(w, 0, sizeof(*w));
	w->wr_id = 77;
	w->opcode = IBV_WR_RDMA_WRITE;
	w->send_flags = IBV_SEND_SIGNALED;
	w->num_sge = 1;
	w->sge[0] = (struct apir_sge){ 0x7f0000000064, 6000, lkey };
	w->remote_addr = 0x7e0000000064;
	w->rkey = rkey;
	atomic_store(&cq_ctrl->armed, APIR_CQ_ARM_NEXT);
	atomic_store(&qa_ctrl->sq.prod.value, 1);
	for (int i = 0; i < 10 && atomic_load(&cq_ctrl->ring.prod.value) == 0; i++)
		sw_engine_poll(test_verbs_dev(&d));
	CU_ASSERT_EQUAL_FATAL(atomic_load(&cq_ctrl->ring.prod.value), 1);
	cqe = (struct apir_cqe *)((uint8_t *)cq_ctrl + PAGE);
	CU_ASSERT_EQUAL(cqe->wr_id, 77);
	CU_ASSERT_EQUAL(cqe->status, IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(((uint8_t *)gpa(0x500000))[99], 0);
	CU_ASSERT_EQUAL(((uint8_t *)gpa(0x500000))[100], 's');
	CU_ASSERT_EQUAL(((uint8_t *)gpa(0x500000))[PAGE - 1], 's');
	CU_ASSERT_EQUAL(((uint8_t *)gpa(0x700000))[0], 'S');
	CU_ASSERT_EQUAL(((uint8_t *)gpa(0x700000))[6000 + 100 - PAGE - 1], 'S');
	CU_ASSERT_EQUAL(((uint8_t *)gpa(0x700000))[6000 + 100 - PAGE], 0);
	r = next_frame();
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_EQUAL(r->id, 0);
	CU_ASSERT_EQUAL_FATAL(r->body_case, APIR__RESPONSE__BODY_EVENT);
	CU_ASSERT_FALSE(r->event->async);
	CU_ASSERT_EQUAL(r->event->channel, ch);
	CU_ASSERT_EQUAL(r->event->cq, cq_h);
	status(r);
	/* An async event (the engine moves a QP to ERR) is an Event frame too. */
	sw_qp_to_error(test_verbs_dev(&d), a);
	r = next_frame();
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_EQUAL_FATAL(r->body_case, APIR__RESPONSE__BODY_EVENT);
	CU_ASSERT_TRUE(r->event->async);
	CU_ASSERT_EQUAL(r->event->event_type, IBV_EVENT_QP_FATAL);
	CU_ASSERT_EQUAL(r->event->obj_kind, APIR_OBJ_QP);
	CU_ASSERT_EQUAL(r->event->obj_handle, 1);
	status(r);
	down();
}

static void test_garbage(void)
{
	static const uint8_t junk[] = "\x00\xffnot a frame APIR\x41\x50\x49";
	uint8_t hdr[8];

	up();
	CU_ASSERT_FATAL(hello_at(0x10000, PAGE) == 0);
	port_write(junk, sizeof(junk));
	CU_ASSERT(alloc_pd() != 0);
	/* A header announcing an oversized frame. */
	put_le32(hdr, APIR_STREAM_MAGIC);
	put_le32(hdr + 4, 0xffffffffu);
	port_write(hdr, sizeof(hdr));
	CU_ASSERT(alloc_pd() != 0);
	/* A whole frame that does not decode. */
	send_frame("\xff\xff\xff\xff\xff", 5);
	CU_ASSERT(alloc_pd() != 0);
	/* Random bytes. */
	for (int i = 0; i < 64; i++) {
		uint8_t buf[997];

		for (size_t j = 0; j < sizeof(buf); j++)
			buf[j] = (uint8_t)(rand() >> 7);
		port_write(buf, sizeof(buf));
		serve();
	}
	while (next_frame())
		;
	/* Whatever the random bytes started, a Hello resynchronizes. */
	CU_ASSERT_EQUAL(hello_at(0x10000, PAGE), 0);
	CU_ASSERT(alloc_pd() != 0);
	CU_ASSERT_EQUAL(live_sessions(), 1);
	down();
}

/* A new Hello means the previous guest process is gone: all it had is
 * released first, even behind a frame it never finished. */
static void test_new_process(void)
{
	struct extents cq = { .n = 0 }, mr = { .n = 0 };
	uint8_t half[8];
	Apir__Response *r;
	uint32_t pd, lkey;

	up();
	CU_ASSERT_FATAL(hello_at(0x10000, PAGE) == 0);
	pd = alloc_pd();
	ext_add(&cq, 0x20000, 2 * PAGE);
	CU_ASSERT_EQUAL(status(create_cq(4, &cq, 0)), 0);
	ext_add(&mr, 0x40000, PAGE);
	r = reg_mr(pd, 0x1000, PAGE, 0, &mr);
	lkey = r->reg_mr->lkey;
	status(r);
	CU_ASSERT_PTR_NOT_NULL(apird_mr_lookup(test_verbs_dev(&d), lkey));
	/* Killed in the middle of a frame. */
	put_le32(half, APIR_STREAM_MAGIC);
	put_le32(half + 4, 500);
	port_write(half, sizeof(half));
	port_write("partial", 7);
	serve();
	CU_ASSERT_EQUAL(hello_at(0x10000, PAGE), 0);
	CU_ASSERT_EQUAL(live_sessions(), 1);
	CU_ASSERT_PTR_NULL(apird_mr_lookup(test_verbs_dev(&d), lkey));
	CU_ASSERT_EQUAL(verbs_session(g->vm->conn->session)->cqs.count, 0);
	/* The same pages serve the new process's rings. */
	CU_ASSERT_EQUAL(status(create_cq(4, &cq, 0)), 0);
	down();
}

static void test_disconnect(void)
{
	struct extents cq = { .n = 0 };
	int sp[2];

	up();
	CU_ASSERT_FATAL(hello_at(0x10000, PAGE) == 0);
	alloc_pd();
	ext_add(&cq, 0x20000, 2 * PAGE);
	CU_ASSERT_EQUAL(status(create_cq(4, &cq, 0)), 0);
	/* One QEMU per VM socket. */
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	CU_ASSERT_EQUAL(apird_vm_connect(g->vm, sp[1]), -EBUSY);
	close(sp[0]);
	/* QEMU gone: the session and the connection end. */
	close(g->port);
	g->port = -1;
	serve();
	CU_ASSERT_PTR_NULL(g->vm->conn);
	CU_ASSERT_EQUAL(live_sessions(), 0);
	/* QEMU reconnects (reconnect=1), a guest process starts over. */
	connect_port();
	CU_ASSERT_EQUAL(hello_at(0x10000, PAGE), 0);
	CU_ASSERT(alloc_pd() != 0);
	down();
}

/* A guest that does not read its port must not block apird: events are
 * dropped past a bound, and the session keeps serving once it reads. */
static void test_unread_port(void)
{
	struct extents cq = { .n = 0 };
	Apir__Response *r;
	unsigned int events = 0;

	up();
	CU_ASSERT_FATAL(hello_at(0x10000, PAGE) == 0);
	ext_add(&cq, 0x20000, 2 * PAGE);
	CU_ASSERT_EQUAL(status(create_cq(4, &cq, 0)), 0);
	for (int i = 0; i < 200000; i++)
		apird_session_async_event(g->vm->conn->session, IBV_EVENT_CQ_ERR, APIR_OBJ_CQ, 1);
	/* Growth doubles: what was copied is less than what is queued. */
	CU_ASSERT(g->vm->conn->out_copied <= g->vm->conn->out_len);
	/* The guest reads at last: what apird queued arrives, then answers. */
	do {
		serve();
		while ((r = next_frame())) {
			events++;
			status(r);
		}
	} while (g->vm->conn->out_len);
	CU_ASSERT(events > 0 && events < 200000);
	CU_ASSERT(alloc_pd() != 0);
	down();
}

/* A guest that reads a little less than apird queues: the buffer keeps
 * frames that were sent and frames that wait; dropping the sent ones must
 * not cost a copy of the queue per frame. */
static void test_slow_reader_copies(void)
{
	uint8_t sink[64];
	ssize_t frame;

	up();
	CU_ASSERT_FATAL(hello_at(0x10000, PAGE) == 0);
	apird_session_async_event(g->vm->conn->session, IBV_EVENT_CQ_ERR, APIR_OBJ_CQ, 1);
	frame = recv(g->port, sink, sizeof(sink), MSG_DONTWAIT);
	CU_ASSERT_FATAL(frame > 8 && frame < (ssize_t)sizeof(sink));
	for (int i = 0; i < 100000; i++) {
		apird_session_async_event(g->vm->conn->session, IBV_EVENT_CQ_ERR, APIR_OBJ_CQ, 1);
		if (i % 4 != 3)
			CU_ASSERT(recv(g->port, sink, (size_t)frame, MSG_DONTWAIT) > 0 || errno == EAGAIN);
		serve();
	}
	CU_ASSERT(g->vm->conn->out_copied <= 2 * 100000 * (uint64_t)frame);
	down();
}

/* One apird, two VMs: the hostile one gets errors and its garbage skipped,
 * then QEMU goes away; the other one's session is untouched throughout. */
static void test_two_vms(void)
{
	struct apird_vm_config vc = { .name = "vm1", .ram_size = 512ull << 20 };
	struct extents cq = { .n = 0 }, bad = { .n = 0 };
	struct guest *hostile = &guests[0], *good = &guests[1];
	int ram2 = memfd_create("guest-ram-2", MFD_CLOEXEC), sp[2];

	up();
	CU_ASSERT_FATAL(ram2 >= 0 && ftruncate(ram2, (off_t)vc.ram_size) == 0);
	snprintf(vc.socket_path, sizeof(vc.socket_path), "/nonexistent/vm1.sock");
	snprintf(vc.ram_path, sizeof(vc.ram_path), "/proc/self/fd/%d", ram2);
	good->vm = apird_vm_add(vms, &d, &vc);
	CU_ASSERT_FATAL(good->vm != NULL);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	good->port = sp[0];
	good->rx_len = 0;
	CU_ASSERT_FATAL(apird_vm_connect(good->vm, sp[1]) == 0);
	g = good;
	CU_ASSERT_FATAL(hello_at(0x10000, PAGE) == 0);
	ext_add(&cq, 0x20000, 2 * PAGE);
	CU_ASSERT_EQUAL(status(create_cq(4, &cq, 0)), 0);
	/* RAM of vm0 above 512 MiB is not vm1's. */
	ext_add(&bad, 1ull << 30, 2 * PAGE);
	CU_ASSERT_EQUAL(status(create_cq(4, &bad, 0)), EINVAL);

	g = hostile;
	CU_ASSERT_FATAL(hello_at(0x10000, PAGE) == 0);
	port_write("\x01\x02garbage", 9);
	bad.e[0].gpa = 3 * GiB;
	CU_ASSERT_EQUAL(status(create_cq(4, &bad, 0)), EINVAL);
	bad.e[0].gpa = 0x10000;
	CU_ASSERT_EQUAL(status(create_cq(4, &bad, 0)), EINVAL);
	CU_ASSERT_EQUAL(live_sessions(), 2);
	close(g->port);
	g->port = -1;
	serve();
	CU_ASSERT_PTR_NULL(g->vm->conn);

	g = good;
	CU_ASSERT_EQUAL(live_sessions(), 1);
	CU_ASSERT_EQUAL(verbs_session(g->vm->conn->session)->cqs.count, 1);
	CU_ASSERT(alloc_pd() != 0);
	close(good->port);
	g = hostile;
	down();
	close(ram2);
}

/* QEMU's monitor: the test connects to apird's QMP socket as QEMU would
 * and answers apird's commands as QEMU 7.2 does. */
static int qmp = -1;
static char qmp_in[4096];
static size_t qmp_in_len;

/* The next line apird sent to the monitor ("" when there is none). */
static const char *qmp_heard(void)
{
	static char line[1024];
	char *nl;
	ssize_t n = recv(qmp, qmp_in + qmp_in_len, sizeof(qmp_in) - qmp_in_len - 1, MSG_DONTWAIT);

	if (n > 0)
		qmp_in_len += (size_t)n;
	qmp_in[qmp_in_len] = '\0';
	nl = strchr(qmp_in, '\n');
	if (!nl)
		return "";
	snprintf(line, sizeof(line), "%.*s", (int)(nl - qmp_in + 1), qmp_in);
	qmp_in_len -= (size_t)(nl - qmp_in + 1);
	memmove(qmp_in, nl + 1, qmp_in_len);
	return line;
}

static void qmp_say(const char *text)
{
	CU_ASSERT_FATAL(write(qmp, text, strlen(text)) == (ssize_t)strlen(text));
}

/* Connects and takes apird's first commands. */
static void qmp_connect(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	qmp = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	qmp_in_len = 0;
	snprintf(g->vm->cfg.qmp_path, sizeof(g->vm->cfg.qmp_path), "/tmp/apir-test-qmp-%d.sock",
		 (int)getpid());
	CU_ASSERT_FATAL(apird_vm_qmp_listen(g->vm) == 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", g->vm->cfg.qmp_path);
	CU_ASSERT_FATAL(connect(qmp, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	g->vm->qmp.listen_watch.ready(&d, &g->vm->qmp.listen_watch, EPOLLIN);
	CU_ASSERT_FATAL(g->vm->qmp.fd >= 0);
	CU_ASSERT_STRING_EQUAL(qmp_heard(), "{\"execute\": \"qmp_capabilities\"}\r\n");
	CU_ASSERT_STRING_EQUAL(qmp_heard(), "{\"execute\": \"qom-get\", \"arguments\": {\"path\": "
			       "\"/machine/peripheral/org.apir.0\", \"property\": \"chardev\"}, "
			       "\"id\": \"chardev\"}\r\n");
}

/* Connects and names the port's chardev, as QEMU does. */
static void qmp_attach(void)
{
	qmp_connect();
	qmp_say("{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}\r\n{\"return\": {}}\r\n"
		"{\"return\": \"apir0\", \"id\": \"chardev\"}\r\n");
	apird_vm_qmp_poll(g->vm);
	CU_ASSERT_STRING_EQUAL(g->vm->qmp.chardev, "apir0");
}

#define PORT_EVENT(open) "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": " \
	"\"VSERPORT_CHANGE\", \"data\": {\"open\": " open ", \"id\": \"org.apir.0\"}}\r\n"
#define STATE_CMD "{\"execute\": \"query-chardev\", \"id\": \"state\"}\r\n"
#define STATE_REPLY(open) "{\"return\": [{\"frontend-open\": true, \"filename\": \"stdio\", " \
	"\"label\": \"console\"}, {\"frontend-open\": " open ", \"filename\": \"unix:/v.sock\", " \
	"\"label\": \"apir0\"}], \"id\": \"state\"}\r\n"

/* The guest process closes the port (or dies): QEMU's monitor says so,
 * apird asks for the port's state, and on "closed" the session ends at
 * once, not at the next Hello. A port event is only a hint (QEMU delays
 * and merges them): "open", or a "closed" read after the next process's
 * Hello, must not end that process's session. */
static void test_qmp_port_closed(void)
{
	struct extents cq = { .n = 0 }, mr = { .n = 0 };
	char junk[APIRD_QMP_LINE_MAX + 100];
	Apir__Response *r;
	uint32_t lkey;

	up();
	qmp_attach();
	CU_ASSERT_FATAL(hello_at(0x10000, PAGE) == 0);
	ext_add(&cq, 0x20000, 2 * PAGE);
	CU_ASSERT_EQUAL(status(create_cq(4, &cq, 0)), 0);
	ext_add(&mr, 0x40000, PAGE);
	r = reg_mr(alloc_pd(), 0x1000, PAGE, 0, &mr);
	lkey = r->reg_mr->lkey;
	status(r);
	/* Other ports, garbage, an overlong line: no question, nothing ends. */
	qmp_say("{\"event\": \"VSERPORT_CHANGE\", \"data\": {\"open\": false, \"id\": \"other\"}}\r\n");
	qmp_say("not json\r\n");
	memset(junk, 'x', sizeof(junk));
	junk[sizeof(junk) - 1] = '\0';
	qmp_say(junk);
	qmp_say(PORT_EVENT("false") + 1);   /* the tail of the overlong line */
	apird_vm_qmp_poll(g->vm);
	CU_ASSERT_STRING_EQUAL(qmp_heard(), "");
	/* A close event, but the port is open (a new opener came): nothing ends. */
	qmp_say(PORT_EVENT("false"));
	apird_vm_qmp_poll(g->vm);
	CU_ASSERT_STRING_EQUAL(qmp_heard(), STATE_CMD);
	qmp_say(STATE_REPLY("true"));
	apird_vm_qmp_poll(g->vm);
	CU_ASSERT_EQUAL(live_sessions(), 1);
	CU_ASSERT_PTR_NOT_NULL(apird_mr_lookup(test_verbs_dev(&d), lkey));

	/* "Closed", answered before the next process's Hello but read after
	 * it arrived: it ends the old session, not the new one. */
	qmp_say(PORT_EVENT("false"));
	apird_vm_qmp_poll(g->vm);
	CU_ASSERT_STRING_EQUAL(qmp_heard(), STATE_CMD);
	qmp_say(STATE_REPLY("false"));
	CU_ASSERT_EQUAL(hello_at(0x10000, PAGE), 0);
	apird_vm_qmp_poll(g->vm);
	CU_ASSERT_EQUAL_FATAL(live_sessions(), 1);
	CU_ASSERT_PTR_NULL(apird_mr_lookup(test_verbs_dev(&d), lkey));
	CU_ASSERT(alloc_pd() != 0);

	/* Closed for good: everything goes, the port stays. */
	CU_ASSERT_EQUAL(status(create_cq(4, &cq, 0)), 0);
	qmp_say(PORT_EVENT("false"));
	apird_vm_qmp_poll(g->vm);
	CU_ASSERT_STRING_EQUAL(qmp_heard(), STATE_CMD);
	CU_ASSERT_EQUAL(live_sessions(), 1);   /* an event alone ends nothing */
	qmp_say(STATE_REPLY("false"));
	apird_vm_qmp_poll(g->vm);
	CU_ASSERT_EQUAL(live_sessions(), 0);
	CU_ASSERT_PTR_NOT_NULL(g->vm->conn);
	CU_ASSERT_EQUAL(hello_at(0x10000, PAGE), 0);
	CU_ASSERT_EQUAL(status(create_cq(4, &cq, 0)), 0);

	/* QEMU's monitor goes away: the port keeps serving. */
	close(qmp);
	apird_vm_qmp_poll(g->vm);
	CU_ASSERT_EQUAL(g->vm->qmp.fd, -1);
	CU_ASSERT(alloc_pd() != 0);
	snprintf(junk, sizeof(junk), "%s", g->vm->cfg.qmp_path);
	down();
	CU_ASSERT_EQUAL(access(junk, F_OK), -1);   /* apird removed its socket */
}

/* Events come up to a second late: while a session lives, apird asks for
 * the port's state on every tick of its poll timer, and stops when none is
 * left. */
static void test_qmp_poll(void)
{
	struct apird_watch *tick;
	struct itimerspec t;

	up();
	qmp_attach();
	tick = &g->vm->qmp.timer_watch;
	CU_ASSERT_FATAL(g->vm->qmp.timer_fd >= 0);
	CU_ASSERT(timerfd_gettime(g->vm->qmp.timer_fd, &t) == 0 && t.it_value.tv_nsec == 0 &&
		  t.it_value.tv_sec == 0);   /* no session: not armed */
	CU_ASSERT_FATAL(hello_at(0x10000, PAGE) == 0);
	CU_ASSERT(timerfd_gettime(g->vm->qmp.timer_fd, &t) == 0 && t.it_interval.tv_nsec > 0);
	tick->ready(&d, tick, EPOLLIN);
	CU_ASSERT_STRING_EQUAL(qmp_heard(), STATE_CMD);
	qmp_say(STATE_REPLY("true"));
	apird_vm_qmp_poll(g->vm);
	CU_ASSERT_EQUAL(live_sessions(), 1);
	tick->ready(&d, tick, EPOLLIN);
	CU_ASSERT_STRING_EQUAL(qmp_heard(), STATE_CMD);
	qmp_say(STATE_REPLY("false"));
	apird_vm_qmp_poll(g->vm);
	CU_ASSERT_EQUAL(live_sessions(), 0);
	/* Nothing left to watch: no question, and the timer stops. */
	tick->ready(&d, tick, EPOLLIN);
	CU_ASSERT_STRING_EQUAL(qmp_heard(), "");
	CU_ASSERT(timerfd_gettime(g->vm->qmp.timer_fd, &t) == 0 && t.it_interval.tv_nsec == 0);
	close(qmp);
	down();
}

/* A QEMU whose port has no id (or another): apird says once that it cannot
 * watch the port, and asks nothing on events. */
static void test_qmp_no_port(void)
{
	up();
	qmp_connect();
	qmp_say("{\"id\": \"chardev\", \"error\": {\"class\": \"DeviceNotFound\", \"desc\": "
		"\"Device 'org.apir.0' not found\"}}\r\n");
	apird_vm_qmp_poll(g->vm);
	CU_ASSERT_STRING_EQUAL(g->vm->qmp.chardev, "");
	CU_ASSERT_FATAL(hello_at(0x10000, PAGE) == 0);
	qmp_say(PORT_EVENT("false"));
	apird_vm_qmp_poll(g->vm);
	CU_ASSERT_STRING_EQUAL(qmp_heard(), "");
	CU_ASSERT_EQUAL(live_sessions(), 1);
	close(qmp);
	down();
}

static void test_config(void)
{
	struct apird_config cfg;
	char err[256];

	apird_config_defaults(&cfg);
	CU_ASSERT_EQUAL(apird_config_set(&cfg, "vm", "vm0,socket=/run/a.sock,ram=/dev/shm/a,"
					 "size=512M", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg.num_vms, 1);
	CU_ASSERT_STRING_EQUAL(cfg.vms[0].name, "vm0");
	CU_ASSERT_STRING_EQUAL(cfg.vms[0].socket_path, "/run/a.sock");
	CU_ASSERT_STRING_EQUAL(cfg.vms[0].ram_path, "/dev/shm/a");
	CU_ASSERT_EQUAL(cfg.vms[0].ram_size, 512ull << 20);
	CU_ASSERT_EQUAL(apird_config_parse(&cfg, "vm = vm1,size=4G,ram=/r,socket=/s\n", err,
					   sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg.vms[1].ram_size, 4 * GiB);
	/* Same name or socket twice; missing or bad fields. */
	CU_ASSERT_EQUAL(apird_config_set(&cfg, "vm", "vm0,socket=/x,ram=/y,size=1G", err,
					 sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(apird_config_set(&cfg, "vm", "vm2,socket=/s,ram=/y,size=1G", err,
					 sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(apird_config_set(&cfg, "vm", "vm2,socket=/x,ram=/y", err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_EQUAL(apird_config_set(&cfg, "vm", "vm2,socket=/x,ram=/y,size=1000", err,
					 sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(apird_config_set(&cfg, "vm", "vm2,socket=/x,ram=/y,size=99999999999T", err,
					 sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(apird_config_set(&cfg, "vm", "v m,socket=/x,ram=/y,size=1G", err,
					 sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(apird_config_set(&cfg, "vm", "vm2,socket=/x,ram=/y,size=1G,cpu=2", err,
					 sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(cfg.num_vms, 2);
	/* QEMU's monitor: its own socket, used by no other VM. */
	CU_ASSERT_EQUAL(apird_config_set(&cfg, "vm", "vm2,socket=/x,ram=/y,size=1G,qmp=/q", err,
					 sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(cfg.vms[2].qmp_path, "/q");
	CU_ASSERT_STRING_EQUAL(cfg.vms[0].qmp_path, "");
	CU_ASSERT_EQUAL(apird_config_set(&cfg, "vm", "vm3,socket=/q,ram=/y,size=1G", err,
					 sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(apird_config_set(&cfg, "vm", "vm3,socket=/z,ram=/y,size=1G,qmp=/x", err,
					 sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(apird_config_set(&cfg, "vm", "vm3,socket=/z,ram=/y,size=1G,qmp=/z", err,
					 sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(apird_config_set(&cfg, "vm", "vm3,socket=/z,ram=/y,size=1G,qmp=", err,
					 sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(cfg.num_vms, 3);
}

static CU_TestInfo vm_tests[] = {
	{ "Hello, session page, Doorbell", test_hello },
	{ "hostile session pages", test_hello_hostile },
	{ "rings in guest RAM, hostile extents", test_rings },
	{ "data path through guest pages, events", test_data_path },
	{ "garbage on the port", test_garbage },
	{ "a new guest process", test_new_process },
	{ "QEMU gone and back", test_disconnect },
	{ "a guest that does not read", test_unread_port },
	{ "a guest that reads slowly: O(N) copies", test_slow_reader_copies },
	{ "two VMs, one hostile", test_two_vms },
	{ "QMP: the guest process closed the port", test_qmp_port_closed },
	{ "QMP: a live session's port is polled", test_qmp_poll },
	{ "QMP: a QEMU whose port has no id", test_qmp_no_port },
	{ "vm config lines", test_config },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "vm_session", vm_tests })
