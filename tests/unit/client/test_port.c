/* SPDX-License-Identifier: MIT */
/* The guest's port to apird (port.c) over a socketpair standing in for the
 * virtio-serial port: responses reach the waiting call by id past stray
 * frames and garbage, Events become records on the channel and async
 * pipes, a closed port fails the waiter and reads EOF on the event pipes,
 * one session at a time. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apir.pb-c.h"
#include "apir/ring.h"
#include "apir/stream.h"
#include "port.h"
#include "unit.h"

/* An API's event type (verbs: IBV_EVENT_QP_FATAL): the port relays the
 * number without reading it. */
#define EVENT_TYPE 1u

static struct apir_port *port;
static int apird = -1;   /* the host end */

static void open_pair(void)
{
	int sv[2];

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	apird = sv[1];
	CU_ASSERT_FATAL(apir_port_start(sv[0], &port) == 0);
}

static void close_pair(void)
{
	apir_port_stop(port);
	if (apird >= 0)
		close(apird);
	apird = -1;
}

static void apird_write(const void *buf, size_t len)
{
	CU_ASSERT_FATAL(write(apird, buf, len) == (ssize_t)len);
}

static void apird_send(Apir__Response *r)
{
	uint8_t buf[512];
	size_t len = apir__response__pack(r, buf + APIR_STREAM_HDR);

	apir_stream_header(buf, (uint32_t)len);
	apird_write(buf, APIR_STREAM_HDR + len);
}

static void apird_send_handle(uint64_t id, uint32_t handle)
{
	Apir__Response r = APIR__RESPONSE__INIT;
	Apir__Handle h = APIR__HANDLE__INIT;

	r.id = id;
	h.handle = handle;
	r.body_case = APIR__RESPONSE__BODY_HANDLE;
	r.handle = &h;
	apird_send(&r);
}

static void apird_send_event(const Apir__Event *ev)
{
	Apir__Response r = APIR__RESPONSE__INIT;

	r.body_case = APIR__RESPONSE__BODY_EVENT;
	r.event = (Apir__Event *)ev;
	apird_send(&r);
}

/* The next frame the port sent, decoded. */
static Apir__Request *apird_recv(void)
{
	struct apir_stream_rx rx = { 0 };
	uint8_t buf[512], *p = NULL;
	size_t len = 0;
	Apir__Request *req;

	while (apir_stream_next(&rx, &p, &len) == 0) {
		ssize_t n = read(apird, buf, sizeof(buf));

		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT_FATAL(apir_stream_feed(&rx, buf, (size_t)n) == 0);
	}
	req = apir__request__unpack(NULL, len, p);
	free(p);
	apir_stream_rx_free(&rx);
	CU_ASSERT_FATAL(req != NULL);
	return req;
}

/* Waits for the response to id; returns the handle it carries. */
static uint32_t wait_handle(uint64_t id)
{
	Apir__Response *r;
	uint8_t *payload;
	size_t len;
	uint32_t h;

	CU_ASSERT_FATAL(apir_port_wait(port, &payload, &len) == 0);
	r = apir__response__unpack(NULL, len, payload);
	free(payload);
	CU_ASSERT_FATAL(r != NULL && r->body_case == APIR__RESPONSE__BODY_HANDLE);
	CU_ASSERT(r->id == id);
	h = r->handle->handle;
	apir__response__free_unpacked(r, NULL);
	return h;
}

static void send_request(uint64_t id)
{
	Apir__Request req = APIR__REQUEST__INIT;
	Apir__QueryDevice qd = APIR__QUERY_DEVICE__INIT;
	uint8_t buf[64];
	size_t len;

	req.id = id;
	req.body_case = APIR__REQUEST__BODY_QUERY_DEVICE;
	req.query_device = &qd;
	len = apir__request__pack(&req, buf);
	apir_port_expect(port, id);
	CU_ASSERT_FATAL(apir_port_send(port, buf, len) == 0);
}

static void test_response_by_id(void)
{
	Apir__Request *req;

	open_pair();
	send_request(7);
	req = apird_recv();
	CU_ASSERT(req->id == 7 && req->body_case == APIR__REQUEST__BODY_QUERY_DEVICE);
	apir__request__free_unpacked(req, NULL);
	apird_send_handle(6, 66);        /* stale: nobody waits for it */
	apird_write("junk\0APIjunk", 12);
	apird_send_handle(7, 77);
	CU_ASSERT(wait_handle(7) == 77);
	send_request(8);
	apir__request__free_unpacked(apird_recv(), NULL);
	apird_send_handle(8, 88);
	CU_ASSERT(wait_handle(8) == 88);
	close_pair();
}

static void test_events_to_pipes(void)
{
	Apir__Event ev = APIR__EVENT__INIT;
	struct apir_cq_event_rec cq_rec;
	struct apir_async_event_rec as_rec;
	int ch[2], as[2], other[2];

	open_pair();
	CU_ASSERT_FATAL(pipe(ch) == 0 && pipe(as) == 0 && pipe(other) == 0);
	CU_ASSERT(apir_port_set_channel(port, 3, ch[1]) == 0);
	CU_ASSERT(apir_port_set_channel(port, 4, other[1]) == 0);
	apir_port_set_async(port, as[1]);
	ev.channel = 3;
	ev.cq = 12;
	apird_send_event(&ev);
	CU_ASSERT(read(ch[0], &cq_rec, sizeof(cq_rec)) == sizeof(cq_rec));
	CU_ASSERT(cq_rec.cq_handle == 12);
	ev = (Apir__Event)APIR__EVENT__INIT;
	ev.async = 1;
	ev.event_type = EVENT_TYPE;
	ev.obj_kind = APIR_OBJ_QP;
	ev.obj_handle = 5;
	apird_send_event(&ev);
	CU_ASSERT(read(as[0], &as_rec, sizeof(as_rec)) == sizeof(as_rec));
	CU_ASSERT(as_rec.event_type == EVENT_TYPE && as_rec.obj_kind == APIR_OBJ_QP &&
		  as_rec.obj_handle == 5);
	/* A removed channel's pipe reads EOF; events for it are dropped. */
	apir_port_clear_channel(port, 4);
	CU_ASSERT(read(other[0], &cq_rec, sizeof(cq_rec)) == 0);
	ev = (Apir__Event)APIR__EVENT__INIT;
	ev.channel = 4;
	apird_send_event(&ev);
	ev.channel = 3;
	ev.cq = 13;
	apird_send_event(&ev);
	CU_ASSERT(read(ch[0], &cq_rec, sizeof(cq_rec)) == sizeof(cq_rec));
	CU_ASSERT(cq_rec.cq_handle == 13);
	close_pair();
	/* Stopping the port closed the write ends it held. */
	CU_ASSERT(read(ch[0], &cq_rec, sizeof(cq_rec)) == 0);
	CU_ASSERT(read(as[0], &as_rec, sizeof(as_rec)) == 0);
	close(ch[0]);
	close(as[0]);
	close(other[0]);
}

/* The host end goes away: the waiter fails, the async pipe reads EOF
 * (DEVICE_FATAL for the application), the port stays dead. */
static void test_port_eof(void)
{
	struct apir_async_event_rec rec;
	uint8_t *payload;
	size_t len;
	int as[2], late[2];

	open_pair();
	CU_ASSERT_FATAL(pipe(as) == 0 && pipe(late) == 0);
	apir_port_set_async(port, as[1]);
	send_request(1);
	close(apird);
	apird = -1;
	CU_ASSERT(apir_port_wait(port, &payload, &len) == -EIO);
	CU_ASSERT(apir_port_dead(port));
	CU_ASSERT(read(as[0], &rec, sizeof(rec)) == 0);
	CU_ASSERT(apir_port_send(port, "x", 1) == -EIO);
	CU_ASSERT(apir_port_set_channel(port, 1, late[1]) == EIO);
	CU_ASSERT(read(late[0], &rec, sizeof(rec)) == 0);
	CU_ASSERT(apir_port_claim(port) == EIO);
	close_pair();
	close(as[0]);
	close(late[0]);
}

static void test_one_session(void)
{
	open_pair();
	CU_ASSERT(apir_port_claim(port) == 0);
	CU_ASSERT(apir_port_claim(port) == EBUSY);
	apir_port_release(port);
	CU_ASSERT(apir_port_claim(port) == 0);
	close_pair();
}

static CU_TestInfo port_tests[] = {
	{ "responses by id past strays and garbage", test_response_by_id },
	{ "events to the channel and async pipes", test_events_to_pipes },
	{ "port EOF", test_port_eof },
	{ "one session at a time", test_one_session },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "port", port_tests })
