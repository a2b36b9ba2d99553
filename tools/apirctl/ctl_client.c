/* SPDX-License-Identifier: MIT */
/*
 * apirctl's side of the control socket: a connection of its own, a Hello
 * with transport "admin" (apird then hands out no data-plane fds), and
 * AdminStatus pages until apird says there are no more.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "apir/array.h"
#include "apir/wire.h"
#include "ctl.h"

/* A stopped or wedged apird must not hang an operator's shell. */
#define CTL_TIMEOUT_S 5

struct ctl_conn {
	int sock;
	uint64_t next_id;
	const char *path;
	char *err;
	size_t err_len;
};

static int conn_fail(struct ctl_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int conn_fail(struct ctl_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->err_len, fmt, ap);
	va_end(ap);
	return -1;
}

static int connect_failed(struct ctl_conn *c, int err)
{
	switch (err) {
	case ENOENT:
		return conn_fail(c, "apird is not running: no socket at %s (set --socket or APIR_SOCKET)",
				 c->path);
	case ECONNREFUSED:
		return conn_fail(c, "apird is not running: nothing listens on %s (a stale socket)",
				 c->path);
	case EACCES:
		return conn_fail(c, "permission denied on %s: reading apird's status takes the right "
				 "to connect to its socket", c->path);
	default:
		return conn_fail(c, "cannot connect to %s: %s", c->path, strerror(err));
	}
}

static int conn_open(struct ctl_conn *c)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_S };

	if (strlen(c->path) >= sizeof(addr.sun_path))
		return conn_fail(c, "socket path %s is longer than %zu bytes", c->path,
				 sizeof(addr.sun_path) - 1);
	strcpy(addr.sun_path, c->path);
	c->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->sock < 0)
		return conn_fail(c, "socket: %s", strerror(errno));
	if (setsockopt(c->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(c->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return conn_fail(c, "setsockopt: %s", strerror(errno));
	if (connect(c->sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return connect_failed(c, errno);
	c->next_id = 1;
	return 0;
}

static int transport_failed(struct ctl_conn *c, const char *what, int err)
{
	if (err == EAGAIN || err == EWOULDBLOCK)
		return conn_fail(c, "apird on %s did not answer within %d s", c->path, CTL_TIMEOUT_S);
	if (err == ECONNRESET || err == EPIPE)
		return conn_fail(c, "apird on %s closed the connection (%s)", c->path, what);
	return conn_fail(c, "%s on %s: %s", what, c->path, strerror(err));
}

/* One request, one response (with no fds: an admin session gets none). */
static int conn_call(struct ctl_conn *c, Apir__Request *req, Apir__Response **resp)
{
	uint8_t buf[256];
	struct apir_frame f;
	size_t len;
	int rc;

	req->id = c->next_id++;
	len = apir__request__get_packed_size(req);
	if (len > sizeof(buf))
		return conn_fail(c, "request of %zu bytes is too large", len);
	apir__request__pack(req, buf);
	rc = apir_frame_send(c->sock, buf, len, NULL, 0);
	if (rc)
		return transport_failed(c, "send", -rc);
	rc = apir_frame_recv(c->sock, &f);
	if (rc)
		return transport_failed(c, "receive", -rc);
	*resp = apir__response__unpack(NULL, f.len, f.buf);
	rc = f.num_fds;
	apir_frame_release(&f);
	if (!*resp || (*resp)->id != req->id || rc) {
		if (*resp)
			apir__response__free_unpacked(*resp, NULL);
		return conn_fail(c, "apird on %s sent a malformed response", c->path);
	}
	if ((*resp)->status) {
		conn_fail(c, "apird refused the request: %s (%s)", (*resp)->error,
			  strerror((*resp)->status));
		apir__response__free_unpacked(*resp, NULL);
		return -1;
	}
	return 0;
}

static int conn_hello(struct ctl_conn *c)
{
	Apir__Hello h = APIR__HELLO__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	Apir__Response *resp;

	h.protocol_version = APIR_PROTOCOL_VERSION;
	h.client_name = "apirctl";
	h.pid = (uint32_t)getpid();
	h.transport = APIR_TRANSPORT_ADMIN;
	req.body_case = APIR__REQUEST__BODY_HELLO;
	req.hello = &h;
	if (conn_call(c, &req, &resp))
		return -1;
	apir__response__free_unpacked(resp, NULL);
	return 0;
}

/* Takes ownership of page (freed right away if it cannot be kept). */
static int keep_page(struct ctl_status *st, Apir__Response *page)
{
	const Apir__AdminStatusReply *r = page->admin_status;
	Apir__Response **pages = apir_array_grow(st->pages, &st->pages_cap, st->num_pages + 1,
						  sizeof(*pages));
	const Apir__SessionInfo **s;
	const Apir__QpInfo **q;

	if (!pages) {
		apir__response__free_unpacked(page, NULL);
		return -1;
	}
	st->pages = pages;
	st->pages[st->num_pages++] = page;
	s = apir_array_grow(st->sessions, &st->sessions_cap, st->num_sessions + r->n_sessions + 1,
			    sizeof(*s));
	if (!s)
		return -1;
	st->sessions = s;
	q = apir_array_grow(st->qps, &st->qps_cap, st->num_qps + r->n_qps + 1, sizeof(*q));
	if (!q)
		return -1;
	st->qps = q;
	for (size_t i = 0; i < r->n_sessions; i++)
		st->sessions[st->num_sessions++] = r->sessions[i];
	for (size_t i = 0; i < r->n_qps; i++)
		st->qps[st->num_qps++] = r->qps[i];
	if (!st->device)
		st->device = r->device;
	return 0;
}

/* Pages until apird says there are no more; a page that lists nothing yet
 * asks for another would loop forever, so it ends the walk as an error. */
static int fetch_pages(struct ctl_conn *c, struct ctl_status *st)
{
	Apir__AdminStatus a = APIR__ADMIN_STATUS__INIT;
	Apir__Request req = APIR__REQUEST__INIT;

	req.body_case = APIR__REQUEST__BODY_ADMIN_STATUS;
	req.admin_status = &a;
	for (;;) {
		Apir__Response *resp;
		const Apir__AdminStatusReply *r;

		if (conn_call(c, &req, &resp))
			return -1;
		r = resp->admin_status;
		if (resp->body_case != APIR__RESPONSE__BODY_ADMIN_STATUS || !r->device ||
		    (r->more && !r->n_sessions && !r->n_qps)) {
			apir__response__free_unpacked(resp, NULL);
			return conn_fail(c, "apird on %s sent a malformed status", c->path);
		}
		if (keep_page(st, resp))
			return conn_fail(c, "out of memory");
		if (!r->more)
			return 0;
		a.session_from = r->next_session_from;
		a.qp_from = r->next_qp_from;
	}
}

int ctl_fetch_status(const char *socket_path, struct ctl_status *st, char *err, size_t err_len)
{
	struct ctl_conn c = { .sock = -1, .path = socket_path, .err = err, .err_len = err_len };
	int rc;

	memset(st, 0, sizeof(*st));
	rc = conn_open(&c);
	if (!rc)
		rc = conn_hello(&c);
	if (!rc)
		rc = fetch_pages(&c, st);
	if (c.sock >= 0)
		close(c.sock);
	if (rc)
		ctl_status_free(st);
	return rc;
}

void ctl_status_free(struct ctl_status *st)
{
	for (size_t i = 0; i < st->num_pages; i++)
		apir__response__free_unpacked(st->pages[i], NULL);
	free(st->pages);
	free(st->sessions);
	free(st->qps);
	memset(st, 0, sizeof(*st));
}
