/* SPDX-License-Identifier: MIT */
/*
 * Decodes a request, checks what every request must satisfy (a body, the
 * fds it announces and the handler expects, the handshake first), runs the
 * handler of the session's service and sends the response. A frame that does not decode ends
 * the session; a request that decodes but is wrong fails alone.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apir/log.h"
#include "dispatch.h"
#include "service.h"
#include "transport.h"

int apird_fail(struct apird_call *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	return err;
}

int apird_call_take_fd(struct apird_call *c, unsigned int i)
{
	int fd = c->in->fds[i];

	c->in->fds[i] = -1;
	return fd;
}

void apird_call_send_fd(struct apird_call *c, int fd, bool close_after)
{
	c->out_fds[c->num_out_fds] = fd;
	c->out_close[c->num_out_fds] = close_after;
	c->num_out_fds++;
}

void apird_reply_handle(struct apird_call *c, uint32_t handle)
{
	apir__handle__init(&c->reply.handle);
	c->reply.handle.handle = handle;
	c->resp.body_case = APIR__RESPONSE__BODY_HANDLE;
	c->resp.handle = &c->reply.handle;
}

void *apird_call_object(struct apird_call *c, const struct apird_table *t, uint32_t handle,
			const char *kind)
{
	void *obj = apird_table_get(t, handle);

	if (!obj)
		apird_fail(c, EINVAL, "%s handle %u does not exist in this session", kind, handle);
	return obj;
}

/* The handler of req in the session's service; Hello belongs to the core. */
static const struct apird_handler hello_handler = { "hello", apird_do_hello, 0 };

static const struct apird_handler *handler_of(const struct apird_session *s,
					      const Apir__Request *req)
{
	const struct apird_service_ops *svc = s->service ? s->service->ops : NULL;
	size_t i = (size_t)req->body_case;

	if (req->body_case == APIR__REQUEST__BODY_HELLO)
		return &hello_handler;
	if (!svc || i >= svc->num_handlers || !svc->handlers[i].fn)
		return NULL;
	return &svc->handlers[i];
}

/* The checks every request passes before its handler sees it. */
static int check_request(struct apird_call *c, const struct apird_handler *h)
{
	const Apir__Request *req = c->req;
	unsigned int num_fds = h && c->s->tr->carries_fds ? h->num_fds : 0;

	if (!c->s->handshaken && req->body_case != APIR__REQUEST__BODY_HELLO) {
		c->close_session = true;
		return apird_fail(c, EPROTO, "request %d before Hello: the handshake comes first",
				  (int)req->body_case);
	}
	if (!h)
		return apird_fail(c, req->body_case == APIR__REQUEST__BODY__NOT_SET ? EPROTO : EPERM,
				  "request has no body, or one (field %d) the %s service does not "
				  "answer", (int)req->body_case,
				  c->s->service ? c->s->service->ops->name : "?");
	if (req->num_fds != c->in->num_fds)
		return apird_fail(c, EPROTO, "%s: request announces %u fds but %u arrived", h->name,
				  req->num_fds, c->in->num_fds);
	if (c->in->num_fds != num_fds)
		return apird_fail(c, EINVAL, "%s takes %u fds, got %u", h->name, num_fds,
				  c->in->num_fds);
	return 0;
}

/* The first rejected request of a session is worth a warning; later ones
 * (a fuzzer, a buggy frontend in a loop) only at debug level. */
static void log_rejected(struct apird_call *c, const struct apird_handler *h, int status)
{
	struct apird_session *s = c->s;
	enum apir_log_level level = s->rejected_logged ? APIR_LOG_DEBUG : APIR_LOG_WARN;

	s->rejected_logged = true;
	if (apir_log_level() >= level)
		apir_log(level, "session %llu (%s): %s rejected: %s (%s)", (unsigned long long)s->id,
			 s->client, h ? h->name : "request", c->error, strerror(status));
}

/* Closes the out fds apird does not keep (after sending, or instead of it). */
static void close_out_fds(struct apird_call *c)
{
	for (unsigned int i = 0; i < c->num_out_fds; i++)
		if (c->out_close[i])
			close(c->out_fds[i]);
	c->num_out_fds = 0;
}

uint8_t *apird_response_pack(const Apir__Response *r, size_t *len)
{
	uint8_t *buf;

	*len = apir__response__get_packed_size(r);
	buf = malloc(*len ? *len : 1);
	if (buf)
		apir__response__pack(r, buf);
	return buf;
}

static int send_response(struct apird_call *c)
{
	size_t len;
	uint8_t *buf = apird_response_pack(&c->resp, &len);
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = c->s->tr->send(c->s, buf, len, c->out_fds, c->num_out_fds);
	free(buf);
	return rc;
}

bool apird_dispatch(struct apird_session *s, struct apir_frame *in)
{
	Apir__Request *req = apir__request__unpack(NULL, in->len, in->buf);

	if (!req) {
		apir_warn("session %llu (%s): undecodable request (%zu bytes), closing the session",
			  (unsigned long long)s->id, s->client, in->len);
		apird_session_close(s, "malformed request");
		return false;
	}
	return apird_dispatch_request(s, req, in);
}

bool apird_dispatch_request(struct apird_session *s, Apir__Request *req, struct apir_frame *in)
{
	struct apird_call c = { .s = s, .d = s->d, .in = in, .req = req };
	const struct apird_handler *h;
	int status, rc;

	apir__response__init(&c.resp);
	c.resp.id = req->id;
	h = handler_of(s, req);
	status = check_request(&c, h);
	if (!status)
		status = h->fn(&c);
	if (status) {
		log_rejected(&c, h, status);
		close_out_fds(&c);
		c.resp.status = status;
		c.resp.error = c.error;
		c.resp.body_case = APIR__RESPONSE__BODY__NOT_SET;
	} else if (c.resp.body_case == APIR__RESPONSE__BODY__NOT_SET) {
		apir__empty__init(&c.reply.empty);
		c.resp.body_case = APIR__RESPONSE__BODY_EMPTY;
		c.resp.empty = &c.reply.empty;
	}
	c.resp.num_fds = c.num_out_fds;
	rc = send_response(&c);
	close_out_fds(&c);
	if (c.release_reply)
		c.release_reply(&c);
	apir__request__free_unpacked(req, NULL);
	if (rc) {
		apird_session_close(s, rc == -EAGAIN ? "client does not read its responses"
						     : "response could not be sent");
		return false;
	}
	if (c.close_session) {
		apird_session_close(s, c.error);
		return false;
	}
	return true;
}
