/* SPDX-License-Identifier: MIT */
/*
 * apir_port_hostile: a hostile guest process, run inside a VM. It speaks
 * apir's frontend protocol on the virtio-serial port itself (frames of
 * apir.proto requests, with the frontend's own stream framing and
 * guest-physical address translation) and sends what no frontend would:
 * guest-physical addresses outside RAM, in the PCI hole, unaligned or
 * overflowing; session pages and rings that overlap each other; regions
 * larger than their pages; garbage, oversized and undecodable frames;
 * requests without a Hello, without a body, naming objects that do not
 * exist. Each must get an error reply (or be skipped, for garbage) and the
 * session must keep working: every hostile step is followed by a request
 * that must succeed.
 *
 *   apir_port_hostile [PORT]   (default /dev/virtio-ports/org.apir.0)
 *
 * Prints "ok - CHECK" or "FAIL - CHECK: why" per check and a summary line;
 * exits 0 only if every check passed. Needs root (pagemap).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apir.pb-c.h"
#include "apir/ring.h"
#include "apir/wire.h"
#include "guest_mem.h"
#include "apir/stream.h"

#define PAGE APIR_PAGE_SIZE
#define REPLY_TIMEOUT_MS 10000
#define FAR_GPA (1ull << 46)            /* 64 TiB: no guest here has RAM there */
#define HOLE_GPA 0xc0000000ull          /* i440fx: PCI and firmware, never RAM */
#define TOP_GPA (~0ull & ~(uint64_t)(PAGE - 1))

static int port = -1;
static struct apir_stream_rx rx;
static uint64_t next_id = 1;
static unsigned int checks, failures;
static char last_error[200];         /* apird's reason for the last refusal */

/* ---- the wire ------------------------------------------------------------ */

static void send_bytes(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(port, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "apir_port_hostile: port write: %s\n", strerror(errno));
			exit(2);
		}
		p += n;
		len -= (size_t)n;
	}
}

static void send_frame(const void *payload, uint32_t len)
{
	uint8_t hdr[APIR_STREAM_HDR];

	apir_stream_header(hdr, len);
	send_bytes(hdr, sizeof(hdr));
	send_bytes(payload, len);
}

static uint64_t send_request(Apir__Request *req)
{
	size_t len;
	uint8_t *buf;

	req->id = next_id++;   /* first: the id is part of the size */
	len = apir__request__get_packed_size(req);
	buf = malloc(len + 1);
	if (!buf)
		exit(2);
	apir__request__pack(req, buf);
	send_frame(buf, (uint32_t)len);
	free(buf);
	return req->id;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

/* The reply to id (Events and stray replies are skipped), or NULL when
 * none came within REPLY_TIMEOUT_MS. */
static Apir__Response *wait_reply(uint64_t id)
{
	long long deadline = now_ms() + REPLY_TIMEOUT_MS;
	uint8_t buf[16384], *payload;
	size_t len;

	for (;;) {
		struct pollfd pfd = { .fd = port, .events = POLLIN };
		Apir__Response *r;
		int left = (int)(deadline - now_ms());
		ssize_t n;

		while (apir_stream_next(&rx, &payload, &len) == 1) {
			r = apir__response__unpack(NULL, len, payload);
			free(payload);
			if (r && r->id == id)
				return r;
			if (r)
				apir__response__free_unpacked(r, NULL);
		}
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return NULL;
		n = read(port, buf, sizeof(buf));
		if (n <= 0 || apir_stream_feed(&rx, buf, (size_t)n))
			return NULL;
	}
}

/* Sends req and returns the reply's status; -1 when no reply came. Sets
 * *reply to the reply if reply is not NULL (the caller frees it). */
static int call(Apir__Request *req, Apir__Response **reply)
{
	Apir__Response *r = wait_reply(send_request(req));
	int status = r ? r->status : -1;

	snprintf(last_error, sizeof(last_error), "%s", r && r->error ? r->error : "");

	if (reply)
		*reply = r;
	else if (r)
		apir__response__free_unpacked(r, NULL);
	return status;
}

/* ---- checks ---------------------------------------------------------------- */

static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	checks++;
	failures += !ok;
	printf("%s - ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* A hostile request: apird must answer it, with an error. */
static void expect_error(const char *what, int status)
{
	if (status > 0)
		result(true, "%s: refused (%s: %s)", what, strerror(status), last_error);
	else
		result(false, "%s: %s", what, status ? "no reply" : "accepted");
}

static void expect_ok(const char *what, int status)
{
	if (status == 0)
		result(true, "%s", what);
	else
		result(false, "%s: %s", what, status < 0 ? "no reply" : strerror(status));
}

/* ---- guest memory ---------------------------------------------------------- */

/* Locked pages and their guest-physical extents. */
struct area {
	void *addr;
	size_t len;
	struct apir_gpa_list gpa;
};

static void area_alloc(struct area *a, size_t len)
{
	int rc;

	a->len = len;
	a->addr = apir_guest_area_alloc(len);
	rc = a->addr ? apir_gpa_translate(a->addr, len, &a->gpa) : errno;
	if (rc) {
		fprintf(stderr, "apir_port_hostile: guest memory: %s (root is needed)\n", strerror(rc));
		exit(2);
	}
}

/* Up to 4 extents built by hand. */
struct extents {
	Apir__GpaExtent e[4];
	Apir__GpaExtent *p[4];
	size_t n;
};

static struct extents *ext(struct extents *x, uint64_t gpa, uint64_t len)
{
	apir__gpa_extent__init(&x->e[x->n]);
	x->e[x->n].gpa = gpa;
	x->e[x->n].len = len;
	x->p[x->n] = &x->e[x->n];
	x->n++;
	return x;
}

/* The first page of an area, as one extent. */
static uint64_t first_gpa(const struct area *a)
{
	return a->gpa.ext[0]->gpa;
}

/* ---- requests ----------------------------------------------------------------- */

static int hello(Apir__GpaExtent **page, size_t n)
{
	Apir__Hello h = APIR__HELLO__INIT;
	Apir__Request r = APIR__REQUEST__INIT;

	h.protocol_version = APIR_PROTOCOL_VERSION;
	h.features = APIR_FEAT_ALL;
	h.client_name = "apir_port_hostile";
	h.pid = (uint32_t)getpid();
	h.transport = "virtio-serial";
	h.session_page = page;
	h.n_session_page = n;
	r.body_case = APIR__REQUEST__BODY_HELLO;
	r.hello = &h;
	return call(&r, NULL);
}

/* AllocPd: the "is the session still fine" probe. Returns the handle or 0. */
static uint32_t alloc_pd(int *status)
{
	Apir__AllocPd m = APIR__ALLOC_PD__INIT;
	Apir__Request r = APIR__REQUEST__INIT;
	Apir__Response *reply;
	uint32_t handle = 0;

	r.body_case = APIR__REQUEST__BODY_ALLOC_PD;
	r.alloc_pd = &m;
	*status = call(&r, &reply);
	if (*status == 0 && reply->body_case == APIR__RESPONSE__BODY_HANDLE)
		handle = reply->handle->handle;
	if (reply)
		apir__response__free_unpacked(reply, NULL);
	return handle;
}

static void still_serving(const char *after)
{
	int status;
	char what[160];

	alloc_pd(&status);
	snprintf(what, sizeof(what), "the session still serves after %s", after);
	expect_ok(what, status);
}

/* CreateCq of 4 entries on ring; *cq gets its handle. */
static int create_cq(Apir__GpaExtent **ring, size_t n, uint32_t *cq)
{
	Apir__CreateCq m = APIR__CREATE_CQ__INIT;
	Apir__Request r = APIR__REQUEST__INIT;
	Apir__Response *reply;
	int status;

	m.cqe = 4;
	m.ring = ring;
	m.n_ring = n;
	r.body_case = APIR__REQUEST__BODY_CREATE_CQ;
	r.create_cq = &m;
	status = call(&r, &reply);
	if (cq)
		*cq = status == 0 && reply->body_case == APIR__RESPONSE__BODY_CREATE_CQ ?
		      reply->create_cq->cq : 0;
	if (reply)
		apir__response__free_unpacked(reply, NULL);
	return status;
}

static int create_qp(uint32_t pd, uint32_t cq, Apir__GpaExtent **ring, size_t n)
{
	Apir__QpCap cap = APIR__QP_CAP__INIT;
	Apir__CreateQp m = APIR__CREATE_QP__INIT;
	Apir__Request r = APIR__REQUEST__INIT;

	cap.max_send_wr = cap.max_recv_wr = 4;
	cap.max_send_sge = cap.max_recv_sge = 1;
	m.pd = pd;
	m.send_cq = m.recv_cq = cq;
	m.qp_type = 2;   /* IBV_QPT_RC */
	m.cap = &cap;
	m.ring = ring;
	m.n_ring = n;
	r.body_case = APIR__REQUEST__BODY_CREATE_QP;
	r.create_qp = &m;
	return call(&r, NULL);
}

static int reg_mr(uint32_t pd, uint64_t len, uint64_t offset, Apir__GpaExtent **pages, size_t n)
{
	Apir__RegMr m = APIR__REG_MR__INIT;
	Apir__Request r = APIR__REQUEST__INIT;

	m.pd = pd;
	m.addr = m.iova = 0x10000000;
	m.length = len;
	m.access = 1 | 2 | 4;   /* IBV_ACCESS_LOCAL_WRITE | REMOTE_WRITE | REMOTE_READ */
	m.fd_offset = offset;
	m.pages = pages;
	m.n_pages = n;
	r.body_case = APIR__REQUEST__BODY_REG_MR;
	r.reg_mr = &m;
	return call(&r, NULL);
}

/* ---- the cases ------------------------------------------------------------------ */

static void hostile_hellos(const struct area *page)
{
	struct extents a = { .n = 0 }, b = { .n = 0 }, c = { .n = 0 }, d = { .n = 0 }, e = { .n = 0 };
	Apir__AllocPd m = APIR__ALLOC_PD__INIT;
	Apir__Request r = APIR__REQUEST__INIT;

	r.body_case = APIR__REQUEST__BODY_ALLOC_PD;
	r.alloc_pd = &m;
	expect_error("a request before any Hello", call(&r, NULL));
	expect_error("Hello: session page far outside RAM", hello(ext(&a, FAR_GPA, PAGE)->p, 1));
	expect_error("Hello: session page in the 3-4 GiB hole", hello(ext(&b, HOLE_GPA, PAGE)->p, 1));
	expect_error("Hello: session page at the top of the address space (overflow)",
		     hello(ext(&c, TOP_GPA, PAGE)->p, 1));
	expect_error("Hello: unaligned session page",
		     hello(ext(&d, first_gpa(page) + 8, PAGE)->p, 1));
	expect_error("Hello: session page of two pages",
		     hello(ext(&e, first_gpa(page), 2 * PAGE)->p, 1));
}

/* Bytes that cannot start a frame (the magic starts with 'A', 0x41). */
static void garbage_then_hello(const struct area *page)
{
	uint8_t junk[3000];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i % 0x40);
	send_bytes(junk, sizeof(junk));
	expect_ok("Hello behind 3000 bytes of garbage", hello(page->gpa.ext, page->gpa.n));
}

/* A QP ring whose first page is the live CQ's and the rest fresh pages
 * (enough for the QP): the overlap is its only fault. */
static int qp_on_cq_ring(uint32_t pd, uint32_t cq, const struct area *ring, const struct area *fresh)
{
	Apir__GpaExtent first = APIR__GPA_EXTENT__INIT, **list;
	int status;

	list = calloc(fresh->gpa.n + 1, sizeof(*list));
	if (!list)
		exit(2);
	first.gpa = first_gpa(ring);
	first.len = PAGE;
	list[0] = &first;
	memcpy(list + 1, fresh->gpa.ext, fresh->gpa.n * sizeof(*list));
	status = create_qp(pd, cq, list, fresh->gpa.n + 1);
	free(list);
	return status;
}

static void hostile_rings(const struct area *page, const struct area *ring,
			  const struct area *fresh, uint32_t pd)
{
	struct extents far = { .n = 0 }, twice = { .n = 0 }, part = { .n = 0 };
	uint32_t cq = 0;

	expect_error("CreateCq: ring far outside RAM", create_cq(ext(&far, FAR_GPA, 2 * PAGE)->p, 1, NULL));
	expect_error("CreateCq: ring on the session page", create_cq(page->gpa.ext, page->gpa.n, NULL));
	ext(&twice, first_gpa(ring), PAGE);
	expect_error("CreateCq: ring naming one page twice",
		     create_cq(ext(&twice, first_gpa(ring), PAGE)->p, 2, NULL));
	still_serving("refused rings");
	expect_ok("CreateCq: a proper ring", create_cq(ring->gpa.ext, ring->gpa.n, &cq));
	expect_error("CreateCq: ring overlapping a live CQ's ring",
		     create_cq(ext(&part, first_gpa(ring), 2 * PAGE)->p, 1, NULL));
	expect_error("CreateQp: ring overlapping a live CQ's ring", qp_on_cq_ring(pd, cq, ring, fresh));
	expect_ok("CreateQp: a proper ring", create_qp(pd, cq, fresh->gpa.ext, fresh->gpa.n));
}

static void hostile_regions(const struct area *buf, uint32_t pd)
{
	struct extents far = { .n = 0 }, hole = { .n = 0 }, odd = { .n = 0 };

	expect_error("RegMr: pages far outside RAM", reg_mr(pd, PAGE, 0, ext(&far, FAR_GPA, PAGE)->p, 1));
	expect_error("RegMr: pages in the 3-4 GiB hole",
		     reg_mr(pd, PAGE, 0, ext(&hole, HOLE_GPA, PAGE)->p, 1));
	expect_error("RegMr: unaligned pages",
		     reg_mr(pd, PAGE, 0, ext(&odd, first_gpa(buf) + 100, PAGE)->p, 1));
	expect_error("RegMr: offset past its first extent",
		     reg_mr(pd, 16, buf->gpa.ext[0]->len, buf->gpa.ext, buf->gpa.n));
	expect_error("RegMr: longer than its pages", reg_mr(pd, buf->len + PAGE, 0, buf->gpa.ext, buf->gpa.n));
	expect_ok("RegMr: a proper region", reg_mr(pd, buf->len, 0, buf->gpa.ext, buf->gpa.n));
}

static void hostile_frames(void)
{
	static const uint8_t undecodable[32] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	Apir__Request empty = APIR__REQUEST__INIT;
	Apir__DestroyCq dcq = APIR__DESTROY_CQ__INIT;
	Apir__Request r = APIR__REQUEST__INIT;
	uint8_t hdr[APIR_STREAM_HDR];

	/* A header announcing more than APIR_MAX_FRAME bytes, and a few. */
	apir_stream_header(hdr, APIR_MAX_FRAME + 1);
	send_bytes(hdr, sizeof(hdr));
	send_bytes("0123456789", 10);
	still_serving("an oversized frame header");
	send_frame(undecodable, sizeof(undecodable));
	still_serving("a frame that does not decode");
	expect_error("a request with no body", call(&empty, NULL));
	dcq.cq = 0x7fffffff;
	r.body_case = APIR__REQUEST__BODY_DESTROY_CQ;
	r.destroy_cq = &dcq;
	expect_error("DestroyCq of a CQ that does not exist", call(&r, NULL));
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/virtio-ports/" APIR_VIRTIO_PORT_NAME;
	struct area page, ring, qp_ring, ring2, buf;
	uint32_t pd;
	int status;

	port = open(path, O_RDWR | O_CLOEXEC);
	if (port < 0) {
		fprintf(stderr, "apir_port_hostile: %s: %s\n", path, strerror(errno));
		return 2;
	}
	area_alloc(&page, PAGE);
	area_alloc(&ring, 2 * PAGE);
	area_alloc(&qp_ring, 8 * PAGE);
	area_alloc(&ring2, 2 * PAGE);
	area_alloc(&buf, 4 * PAGE);

	hostile_hellos(&page);
	garbage_then_hello(&page);
	pd = alloc_pd(&status);
	expect_ok("AllocPd after the Hello", status);
	hostile_rings(&page, &ring, &qp_ring, pd);
	hostile_regions(&buf, pd);
	hostile_frames();
	expect_ok("CreateCq on fresh pages at the end", create_cq(ring2.gpa.ext, ring2.gpa.n, NULL));

	printf("apir_port_hostile: %u checks, %u failed\n", checks, failures);
	return failures ? 1 : 0;
}
