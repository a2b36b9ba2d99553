/* SPDX-License-Identifier: MIT */
/*
 * Decodes a request, checks what every request must satisfy (a body, the
 * fds it announces and the verb expects, the handshake first), runs the
 * verb's handler and sends the response. A frame that does not decode ends
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
#include "vm.h"

struct verb {
	const char *name;
	int (*handler)(struct apird_call *c);
	unsigned int num_fds;        /* fds the request must carry */
	bool admin;                  /* for operator sessions only (and only they) */
};

#define VERB(body, fn, fds) [APIR__REQUEST__BODY_##body] = { #fn, apird_do_##fn, fds, false }
#define ADMIN(body, fn) [APIR__REQUEST__BODY_##body] = { #fn, apird_do_##fn, 0, true }

static const struct verb verbs[] = {
	VERB(HELLO, hello, 0),
	VERB(QUERY_DEVICE, query_device, 0),
	VERB(QUERY_PORT, query_port, 0),
	VERB(QUERY_GID_TABLE, query_gid_table, 0),
	VERB(ALLOC_PD, alloc_pd, 0),
	VERB(DEALLOC_PD, dealloc_pd, 0),
	VERB(REG_MR, reg_mr, 1),
	VERB(DEREG_MR, dereg_mr, 0),
	VERB(CREATE_COMP_CHANNEL, create_comp_channel, 1),
	VERB(DESTROY_COMP_CHANNEL, destroy_comp_channel, 0),
	VERB(CREATE_CQ, create_cq, 0),
	VERB(DESTROY_CQ, destroy_cq, 0),
	VERB(CREATE_SRQ, create_srq, 0),
	VERB(MODIFY_SRQ, modify_srq, 0),
	VERB(QUERY_SRQ, query_srq, 0),
	VERB(DESTROY_SRQ, destroy_srq, 0),
	VERB(CREATE_QP, create_qp, 0),
	VERB(MODIFY_QP, modify_qp, 0),
	VERB(QUERY_QP, query_qp, 0),
	VERB(DESTROY_QP, destroy_qp, 0),
	VERB(CREATE_AH, create_ah, 0),
	VERB(DESTROY_AH, destroy_ah, 0),
	ADMIN(ADMIN_STATUS, admin_status),
};

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

static const struct verb *verb_of(const Apir__Request *req)
{
	size_t i = (size_t)req->body_case;

	if (i >= sizeof(verbs) / sizeof(verbs[0]) || !verbs[i].handler)
		return NULL;
	return &verbs[i];
}

/* The checks every request passes before its handler sees it. */
static int check_request(struct apird_call *c, const struct verb *v)
{
	const Apir__Request *req = c->req;
	/* No fd crosses the virtio-serial transport. */
	unsigned int num_fds = c->s->vm ? 0 : v ? v->num_fds : 0;

	if (!v)
		return apird_fail(c, EPROTO, "request has no body or an unknown one (field %d)",
				  (int)req->body_case);
	if (req->num_fds != c->in->num_fds)
		return apird_fail(c, EPROTO, "%s: request announces %u fds but %u arrived", v->name,
				  req->num_fds, c->in->num_fds);
	if (c->in->num_fds != num_fds)
		return apird_fail(c, EINVAL, "%s takes %u fds, got %u", v->name, num_fds,
				  c->in->num_fds);
	if (!c->s->handshaken && req->body_case != APIR__REQUEST__BODY_HELLO) {
		c->close_session = true;
		return apird_fail(c, EPROTO, "%s before Hello: the handshake comes first", v->name);
	}
	if (req->body_case != APIR__REQUEST__BODY_HELLO && v->admin != c->s->admin)
		return apird_fail(c, EPERM, "%s: %s", v->name,
				  c->s->admin ? "an admin session only reads status"
					      : "needs a session whose Hello said transport \"admin\"");
	return 0;
}

/* The first rejected request of a session is worth a warning; later ones
 * (a fuzzer, a buggy frontend in a loop) only at debug level. */
static void log_rejected(struct apird_call *c, const struct verb *v, int status)
{
	struct apird_session *s = c->s;
	enum apir_log_level level = s->rejected_logged ? APIR_LOG_DEBUG : APIR_LOG_WARN;

	s->rejected_logged = true;
	if (apir_log_level() >= level)
		apir_log(level, "session %llu (%s): %s rejected: %s (%s)", (unsigned long long)s->id,
			 s->client, v ? v->name : "request", c->error, strerror(status));
}

/* Closes the out fds apird does not keep (after sending, or instead of it). */
static void close_out_fds(struct apird_call *c)
{
	for (unsigned int i = 0; i < c->num_out_fds; i++)
		if (c->out_close[i])
			close(c->out_fds[i]);
	c->num_out_fds = 0;
}

static int send_response(struct apird_call *c)
{
	size_t len = apir__response__get_packed_size(&c->resp);
	uint8_t *buf = malloc(len ? len : 1);
	int rc;

	if (!buf)
		return -ENOMEM;
	apir__response__pack(&c->resp, buf);
	if (c->s->vm)
		rc = apird_vm_send(c->s->vm, buf, len);
	else
		rc = apir_frame_send(c->s->sock, buf, len, c->out_fds, c->num_out_fds);
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
	const struct verb *v;
	int status, rc;

	apir__response__init(&c.resp);
	c.resp.id = req->id;
	v = verb_of(req);
	status = check_request(&c, v);
	if (!status)
		status = v->handler(&c);
	if (status) {
		log_rejected(&c, v, status);
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
