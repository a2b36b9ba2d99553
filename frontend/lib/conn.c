/* SPDX-License-Identifier: MIT */
/*
 * The control connection of a session: framed apir.Request/apir.Response
 * pairs over the session's transport (apir/client_transport.h), one call
 * at a time. Any transport failure marks the connection dead for good:
 * apird keeps no state for a session whose connection broke, so a retry
 * could only act on objects that no longer exist.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apir/log.h"
#include "conn.h"

int apir_conn_connect(struct apir_conn *c, const struct apir_transport *t, const char *path)
{
	int rc;

	c->t = NULL;
	c->sock = -1;
	c->priv = NULL;
	c->next_id = 1;
	rc = t->open(c, path);
	if (rc)
		return rc;
	c->t = t;
	pthread_mutex_init(&c->lock, NULL);
	atomic_store(&c->dead, false);
	return 0;
}

void apir_conn_close(struct apir_conn *c)
{
	if (!c->t)
		return;
	c->t->close(c);
	c->t = NULL;
	pthread_mutex_destroy(&c->lock);
}

int apir_conn_fail(struct apir_conn *c, const char *what, int err)
{
	if (!atomic_exchange(&c->dead, true))
		apir_warn("control connection to apird lost (%s: %s)", what, strerror(err));
	return EIO;
}

static int conn_send(struct apir_conn *c, Apir__Request *req, const int *fds,
		     unsigned int num_fds)
{
	size_t len = apir__request__get_packed_size(req);
	uint8_t *buf;
	int rc;

	if (len > APIR_MAX_FRAME)
		return EMSGSIZE;
	buf = malloc(len ? len : 1);
	if (!buf)
		return ENOMEM;
	apir__request__pack(req, buf);
	rc = c->t->send(c, req->id, buf, len, fds, num_fds);
	free(buf);
	return rc ? apir_conn_fail(c, "send", -rc) : 0;
}

void apir_close_fds(const int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]);
}

/* Receives the response to request id; any other frame is a protocol
 * violation (calls are serialised, so nothing else can be in flight). */
static int conn_recv(struct apir_conn *c, uint64_t id, Apir__Response **resp,
		     struct apir_frame *f)
{
	int rc = c->t->recv(c, id, f);

	if (rc)
		return apir_conn_fail(c, "receive", -rc);
	*resp = apir__response__unpack(NULL, f->len, f->buf);
	free(f->buf);
	f->buf = NULL;
	if (!*resp || (*resp)->id != id || (*resp)->num_fds != f->num_fds) {
		apir_close_fds(f->fds, f->num_fds);
		if (*resp)
			apir__response__free_unpacked(*resp, NULL);
		*resp = NULL;
		return apir_conn_fail(c, "receive", EPROTO);
	}
	return 0;
}

/* Turns a decoded response into the call's result: a failure status
 * becomes its errno, surplus fds fail the call. */
static int conn_result(Apir__Response **resp, struct apir_frame *f, int *out_fds,
		       unsigned int *num_out_fds, unsigned int max_out_fds)
{
	int status = (*resp)->status;

	if (status == 0 && f->num_fds <= max_out_fds) {
		if (f->num_fds)
			memcpy(out_fds, f->fds, f->num_fds * sizeof(int));
		if (num_out_fds)
			*num_out_fds = f->num_fds;
		return 0;
	}
	apir_close_fds(f->fds, f->num_fds);
	if (status == 0) {
		apir_warn("apird sent %u fds, at most %u expected", f->num_fds, max_out_fds);
		status = EPROTO;
	} else {
		apir_dbg("apird: %s (%s)", (*resp)->error, strerror(status > 0 ? status : EPROTO));
		if (status < 0)
			status = EPROTO;
	}
	apir__response__free_unpacked(*resp, NULL);
	*resp = NULL;
	return status;
}

int apir_rpc(struct apir_session *s, Apir__Request *req,
	     const int *fds, unsigned int num_fds,
	     Apir__Response **resp, int *out_fds, unsigned int *num_out_fds,
	     unsigned int max_out_fds)
{
	struct apir_conn *c = &s->conn;
	struct apir_frame f = { 0 };
	int rc;

	*resp = NULL;
	if (num_out_fds)
		*num_out_fds = 0;
	if (num_fds > APIR_MAX_FDS)
		return EINVAL;
	pthread_mutex_lock(&c->lock);
	if (atomic_load(&c->dead)) {
		pthread_mutex_unlock(&c->lock);
		return EIO;
	}
	req->id = c->next_id++;
	req->num_fds = num_fds;
	rc = conn_send(c, req, fds, num_fds);
	if (!rc)
		rc = conn_recv(c, req->id, resp, &f);
	pthread_mutex_unlock(&c->lock);
	if (rc)
		return rc;
	return conn_result(resp, &f, out_fds, num_out_fds, max_out_fds);
}

int apir_reply_check(const Apir__Response *resp, Apir__Response__BodyCase want)
{
	if (want != APIR__RESPONSE__BODY__NOT_SET && resp->body_case != want) {
		apir_warn("apird replied with body %d, expected %d", (int)resp->body_case, (int)want);
		return EPROTO;
	}
	return 0;
}

int apir_rpc_simple(struct apir_session *s, Apir__Request *req,
		    Apir__Response__BodyCase want, Apir__Response **resp)
{
	Apir__Response *r = NULL;
	unsigned int nfds = 0;
	int rc = apir_rpc(s, req, NULL, 0, &r, NULL, &nfds, 0);

	if (rc)
		return rc;
	rc = apir_reply_check(r, want);
	if (rc || !resp)
		apir__response__free_unpacked(r, NULL);
	else
		*resp = r;
	return rc;
}
