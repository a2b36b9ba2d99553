/* SPDX-License-Identifier: MIT */
/*
 * A VM's connection: a byte stream of magic-prefixed frames (wire.h) with
 * no fds and no message boundaries, carrying one guest process at a time.
 * The guest is hostile: garbage between frames is skipped up to the next
 * magic (logged once), a frame that does not decode is garbage too, a new
 * Hello ends the previous process's session first, and apird never blocks
 * on a guest that does not read (responses and events are queued, bounded).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apir/log.h"
#include "apir/ring.h"
#include "apir/stream.h"
#include "apir/wire.h"
#include "dispatch.h"
#include "session.h"
#include "util.h"
#include "vm.h"


/* Enough for one whole frame behind an incomplete one. */
#define IN_CAP (2u * (APIR_STREAM_HDR + APIR_MAX_FRAME))
/* What may wait for a guest that does not read: responses beyond it end the
 * session (as an unread unix socket does), events beyond EVENT_LIMIT are
 * dropped like events on a full pipe. */
#define OUT_LIMIT (4u << 20)
#define EVENT_LIMIT (1u << 20)
#define READS_PER_TURN 16

static void conn_ready(struct apird *d, struct apird_watch *w, uint32_t events);

int apird_vm_connect(struct apird_vm *vm, int fd)
{
	struct apird_vm_conn *conn;
	int rc;

	if (vm->conn) {
		close(fd);
		return -EBUSY;
	}
	conn = calloc(1, sizeof(*conn));
	if (conn)
		conn->in = malloc(IN_CAP);
	if (!conn || !conn->in) {
		free(conn);
		close(fd);
		return -ENOMEM;
	}
	conn->vm = vm;
	conn->fd = fd;
	conn->ram.fd = -1;
	conn->watch.ready = conn_ready;
	rc = fcntl(fd, F_SETFL, O_NONBLOCK) ? -errno : 0;
	if (!rc)
		rc = apird_watch_add(vm->d, fd, EPOLLIN | EPOLLRDHUP, &conn->watch);
	if (rc) {
		free(conn->in);
		free(conn);
		close(fd);
		return rc;
	}
	vm->conn = conn;
	apir_info("vm %s: QEMU connected", vm->cfg.name);
	return 0;
}

void apird_vm_disconnect(struct apird_vm_conn *conn, const char *why)
{
	struct apird_vm *vm = conn->vm;

	if (conn->session)
		apird_session_close(conn->session, why);
	apird_watch_del(vm->d, conn->fd);
	close(conn->fd);
	apird_guest_ram_close(&conn->ram);
	free(conn->rings);
	free(conn->in);
	free(conn->out);
	free(conn);
	vm->conn = NULL;
	apir_info("vm %s: connection closed (%s)", vm->cfg.name, why);
}

/* ---- output ------------------------------------------------------------------ */

/* End of the queued frame that starts at off. */
static size_t frame_end(const struct apird_vm_conn *conn, size_t off)
{
	return off + APIR_STREAM_HDR + apir_get_le32(conn->out + off + 4);
}

static void watch_output(struct apird_vm_conn *conn, bool on)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0),
		.data.ptr = &conn->watch,
	};

	if (conn->out_watched == on)
		return;
	if (epoll_ctl(conn->vm->d->epoll_fd, EPOLL_CTL_MOD, conn->fd, &ev) == 0)
		conn->out_watched = on;
}

static void flush_output(struct apird_vm_conn *conn)
{
	while (conn->out_head < conn->out_len && !conn->failed) {
		ssize_t n = send(conn->fd, conn->out + conn->out_head, conn->out_len - conn->out_head,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0)
			conn->out_head += (size_t)n;
		else if (n < 0 && errno == EAGAIN)
			break;
		else if (n < 0 && errno != EINTR)
			conn->failed = true;
	}
	while (conn->out_frame < conn->out_head && frame_end(conn, conn->out_frame) <= conn->out_head)
		conn->out_frame = frame_end(conn, conn->out_frame);
	if (conn->out_head == conn->out_len)
		conn->out_head = conn->out_len = conn->out_frame = 0;
	watch_output(conn, conn->out_len != 0 && !conn->failed);
}

/* Room for n more bytes. Frames already sent are dropped only when they
 * are at least as large as what must move, and the buffer doubles, so that
 * queueing N bytes copies O(N) bytes whatever the guest reads. */
static int reserve_output(struct apird_vm_conn *conn, size_t n)
{
	size_t live = conn->out_len - conn->out_frame, cap;
	uint8_t *p;

	if (conn->out_len + n <= conn->out_cap)
		return 0;
	if (conn->out_frame && conn->out_frame >= live) {
		memmove(conn->out, conn->out + conn->out_frame, live);
		conn->out_copied += live;
		conn->out_len -= conn->out_frame;
		conn->out_head -= conn->out_frame;
		conn->out_frame = 0;
		if (conn->out_len + n <= conn->out_cap)
			return 0;
	}
	cap = conn->out_cap ? conn->out_cap : 4096;
	while (cap < conn->out_len + n)
		cap *= 2;
	p = realloc(conn->out, cap);
	if (!p)
		return -ENOMEM;
	conn->out_copied += conn->out_len;
	conn->out = p;
	conn->out_cap = cap;
	return 0;
}

static int queue_frame(struct apird_vm_conn *conn, const void *payload, size_t len, size_t limit)
{
	int rc;

	if (conn->failed)
		return -EPIPE;
	if (len > APIR_MAX_FRAME)
		return -EMSGSIZE;
	if (conn->out_len - conn->out_head + APIR_STREAM_HDR + len > limit)
		return -EAGAIN;
	rc = reserve_output(conn, APIR_STREAM_HDR + len);
	if (rc)
		return rc;
	apir_stream_header(conn->out + conn->out_len, (uint32_t)len);
	memcpy(conn->out + conn->out_len + APIR_STREAM_HDR, payload, len);
	conn->out_len += APIR_STREAM_HDR + len;
	flush_output(conn);
	return conn->failed ? -EPIPE : 0;
}

/* What was queued for a previous guest process is of no use to the next
 * one; only the frame on its way out is finished, so the stream stays whole. */
static void drop_unsent(struct apird_vm_conn *conn)
{
	if (conn->out_frame < conn->out_head)
		conn->out_len = frame_end(conn, conn->out_frame);
	else
		conn->out_len = conn->out_head;
	flush_output(conn);
}

int apird_vm_send(struct apird_vm_conn *conn, const void *payload, size_t len)
{
	return queue_frame(conn, payload, len, OUT_LIMIT);
}

static int send_response(struct apird_vm_conn *conn, const Apir__Response *r, size_t limit)
{
	size_t len;
	uint8_t *buf = apird_response_pack(r, &len);
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = queue_frame(conn, buf, len, limit);
	free(buf);
	return rc;
}

void apird_vm_send_event(struct apird_vm_conn *conn, const Apir__Event *ev)
{
	Apir__Response r = APIR__RESPONSE__INIT;

	r.body_case = APIR__RESPONSE__BODY_EVENT;
	r.event = (Apir__Event *)ev;
	if (send_response(conn, &r, EVENT_LIMIT) == -EAGAIN && !conn->events_dropped_logged) {
		conn->events_dropped_logged = true;
		apir_warn("vm %s: the guest does not read its port, dropping events",
			  conn->vm->cfg.name);
	}
}

/* A request that has no session to go to (it came before any Hello). */
static void reply_error(struct apird_vm_conn *conn, uint64_t id, int status, const char *error)
{
	Apir__Response r = APIR__RESPONSE__INIT;

	r.id = id;
	r.status = status;
	r.error = (char *)error;
	send_response(conn, &r, OUT_LIMIT);
}

/* ---- input ------------------------------------------------------------------- */

static void log_garbage(struct apird_vm_conn *conn, const char *what)
{
	if (conn->garbage_logged)
		return;
	conn->garbage_logged = true;
	apir_warn("vm %s: %s on the port, skipped up to the next frame (logged once)",
		  conn->vm->cfg.name, what);
}

/* A Hello starts a new guest process: whatever the previous one left is
 * released first (its session, its queued responses). */
static bool start_session(struct apird_vm_conn *conn)
{
	if (conn->session)
		apird_session_close(conn->session, "a new guest process said Hello");
	drop_unsent(conn);
	conn->session = apird_session_new(conn->vm->d, &apird_vm_transport, conn);
	if (conn->session)
		apird_vm_qmp_session_started(conn->vm);
	return conn->session != NULL;
}

/* Serves one decoded request. */
static void serve_request(struct apird_vm_conn *conn, Apir__Request *req, uint8_t *payload,
			  size_t len)
{
	struct apir_frame f = { .buf = payload, .len = len };

	switch (req->body_case) {
	case APIR__REQUEST__BODY_DOORBELL:
		/* The wake-up is that the frame arrived: nothing to answer. */
		apir__request__free_unpacked(req, NULL);
		return;
	case APIR__REQUEST__BODY_HELLO:
		/* A close of the previous process that QMP reports late must
		 * not end this one's session. */
		apird_vm_qmp_poll(conn->vm);
		if (!start_session(conn)) {
			reply_error(conn, req->id, ENOMEM, "out of memory");
			apir__request__free_unpacked(req, NULL);
			return;
		}
		break;
	default:
		if (!conn->session) {
			reply_error(conn, req->id, EPROTO, "Hello first: no session on this port");
			apir__request__free_unpacked(req, NULL);
			return;
		}
	}
	apird_dispatch_request(conn->session, req, &f);
}

static size_t find_magic(const struct apird_vm_conn *conn, size_t from)
{
	return apir_stream_find_magic(conn->in, conn->in_len, from);
}

/* Length of the whole frame at off, or 0 if it has not all arrived (or its
 * header is garbage). */
static size_t whole_frame(const struct apird_vm_conn *conn, size_t off)
{
	long n = apir_stream_frame_len(conn->in + off, conn->in_len - off);

	return n > 0 ? (size_t)n : 0;
}

/* A guest process killed mid-write leaves a frame that never completes;
 * the next process starts with a Hello. Such a Hello, whole, behind the
 * incomplete frame means that frame is dead. Returns its offset or 0. */
static size_t hello_behind(const struct apird_vm_conn *conn, size_t off)
{
	for (size_t p = find_magic(conn, off + 1); p + APIR_STREAM_HDR <= conn->in_len;
	     p = find_magic(conn, p + 1)) {
		size_t n = whole_frame(conn, p);
		Apir__Request *req;
		bool hello;

		if (!n)
			continue;
		req = apir__request__unpack(NULL, n - APIR_STREAM_HDR, conn->in + p + APIR_STREAM_HDR);
		hello = req && req->body_case == APIR__REQUEST__BODY_HELLO;
		if (req)
			apir__request__free_unpacked(req, NULL);
		if (hello)
			return p;
	}
	return 0;
}

/* Consumes every whole frame in the input buffer. */
static void serve_input(struct apird_vm_conn *conn)
{
	size_t pos = 0;

	while (!conn->failed) {
		size_t p = find_magic(conn, pos), n, behind;
		Apir__Request *req;

		if (p != pos)
			log_garbage(conn, "bytes that are not a frame");
		pos = p;
		if (apir_stream_frame_len(conn->in + pos, conn->in_len - pos) < 0) {
			log_garbage(conn, "an oversized frame header");
			pos++;
			continue;
		}
		if (conn->in_len - pos < APIR_STREAM_HDR)
			break;
		n = whole_frame(conn, pos);
		if (!n) {
			behind = hello_behind(conn, pos);
			if (!behind)
				break;
			log_garbage(conn, "an incomplete frame");
			pos = behind;
			continue;
		}
		req = apir__request__unpack(NULL, n - APIR_STREAM_HDR, conn->in + pos + APIR_STREAM_HDR);
		if (!req) {
			log_garbage(conn, "a frame that does not decode");
			pos++;
			continue;
		}
		serve_request(conn, req, conn->in + pos + APIR_STREAM_HDR, n - APIR_STREAM_HDR);
		pos += n;
	}
	memmove(conn->in, conn->in + pos, conn->in_len - pos);
	conn->in_len -= pos;
}

/* Reads what is there, a bounded amount at a time so that a guest flooding
 * its port cannot starve the engine (epoll reports the rest). Returns false
 * at EOF or on an error. */
static bool read_input(struct apird_vm_conn *conn)
{
	for (int reads = 0; reads < READS_PER_TURN; reads++) {
		ssize_t n = read(conn->fd, conn->in + conn->in_len, IN_CAP - conn->in_len);

		if (n > 0) {
			conn->in_len += (size_t)n;
			serve_input(conn);
			if (conn->failed)
				return false;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			return n < 0 && errno == EAGAIN;
		}
	}
	return true;
}

bool apird_vm_serve(struct apird_vm_conn *conn)
{
	flush_output(conn);
	if (conn->failed || !read_input(conn)) {
		apird_vm_disconnect(conn, conn->failed ? "the port cannot be written" : "VM disconnected");
		return false;
	}
	return true;
}

static void conn_ready(struct apird *d, struct apird_watch *w, uint32_t events)
{
	(void)d;
	(void)events;
	apird_vm_serve(container_of(w, struct apird_vm_conn, watch));
}

void apird_vm_port_closed(struct apird_vm *vm)
{
	struct apird_vm_conn *conn = vm->conn;

	if (!conn || !conn->session)
		return;
	apird_session_close(conn->session, "the guest process closed the port, QEMU's monitor says");
	drop_unsent(conn);
}

/* ---- the transport ops --------------------------------------------------------- */

static int vm_send(struct apird_session *s, const void *buf, size_t len, const int *fds,
		   unsigned int num_fds)
{
	(void)fds;
	(void)num_fds;
	return apird_vm_send(s->conn, buf, len);
}

/* Events travel as Event frames: the record's fields, named. */
static void vm_notify(struct apird_session *s, uint32_t sink, const void *rec, size_t len)
{
	Apir__Event ev = APIR__EVENT__INIT;

	if (sink == APIRD_SINK_ASYNC && len == sizeof(struct apir_async_event_rec)) {
		const struct apir_async_event_rec *a = rec;

		ev.async = true;
		ev.event_type = a->event_type;
		ev.obj_kind = a->obj_kind;
		ev.obj_handle = a->obj_handle;
	} else if (sink != APIRD_SINK_ASYNC && len == sizeof(struct apir_cq_event_rec)) {
		ev.channel = sink;
		ev.cq = ((const struct apir_cq_event_rec *)rec)->cq_handle;
	} else {
		return;
	}
	apird_vm_send_event(s->conn, &ev);
}

/* A channel's events go to the guest as Event frames naming the channel. */
static int vm_sink_open(struct apird_call *c, uint32_t handle, uint32_t *sink)
{
	(void)c;
	*sink = handle;
	return 0;
}

static void vm_sink_close(struct apird_session *s, uint32_t sink)
{
	(void)s;
	(void)sink;
}

/* Forgets the session and its rings, unmaps its session page without
 * touching it (the guest process is gone). */
static void vm_session_closed(struct apird_session *s)
{
	struct apird_vm_conn *conn = s->conn;

	for (size_t i = 0; i < conn->num_rings; i++)
		free(conn->rings[i].ext);
	conn->num_rings = 0;
	if (s->page)
		munmap(s->page, APIR_PAGE_SIZE);
	s->page = NULL;
	if (conn->session == s)
		conn->session = NULL;
}

const struct apird_transport_ops apird_vm_transport = {
	.name = "virtio-serial",
	.carries_fds = false,
	.send = vm_send,
	.notify = vm_notify,
	.hello = apird_vm_hello,
	.sink_open = vm_sink_open,
	.sink_close = vm_sink_close,
	.area_open = apird_vm_area_open,
	.area_close = apird_vm_area_close,
	.mem_map = apird_vm_mem_map,
	.session_closed = vm_session_closed,
};
