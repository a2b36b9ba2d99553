/* SPDX-License-Identifier: MIT */
/*
 * Sessions: created by a transport on a new connection, bound to a service
 * by Hello, closed when the frontend goes away. Closing releases the
 * service's objects first (they may use the transport's shared memory),
 * then the transport's state.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apir/log.h"
#include "dispatch.h"
#include "service.h"
#include "session.h"
#include "transport.h"

/* Feature bits this apird offers in the handshake. */
#define APIRD_FEATURES APIR_FEAT_ALL

static void session_link(struct apird_session **list, struct apird_session *s)
{
	s->prev = NULL;
	s->next = *list;
	if (*list)
		(*list)->prev = s;
	*list = s;
}

static void session_unlink(struct apird_session **list, struct apird_session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*list = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

struct apird_session *apird_session_new(struct apird *d, const struct apird_transport_ops *tr,
					void *conn)
{
	struct apird_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->d = d;
	s->tr = tr;
	s->conn = conn;
	snprintf(s->client, sizeof(s->client), "?");
	s->id = d->next_session_id++;
	session_link(&d->sessions, s);
	apir_dbg("session %llu: new %s connection", (unsigned long long)s->id, tr->name);
	return s;
}

/* Hello's strings go into log lines and apirctl's tables: keep only
 * printable ASCII. */
static void copy_printable(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src && src[i] && i + 1 < size; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
	if (i == 0)
		snprintf(dst, size, "?");
}

/* The service a Hello names: its service field, else (frontends older
 * than services) an alias in its transport field, else the default one. */
static const struct apird_service *hello_service(struct apird_call *c, const Apir__Hello *h)
{
	const struct apird_service *svc = NULL;

	if (h->service && *h->service)
		svc = apird_service_find(c->d, h->service);
	else if (h->transport && *h->transport)
		svc = apird_service_find(c->d, h->transport);
	if (!svc && !(h->service && *h->service))
		svc = apird_service_find(c->d, "");
	if (!svc)
		apird_fail(c, EPROTONOSUPPORT, "this apird serves no service named '%s'",
			   h->service ? h->service : "");
	return svc;
}

static int hello_bind(struct apird_call *c, const Apir__Hello *h)
{
	struct apird_session *s = c->s;
	const struct apird_service *svc = hello_service(c, h);
	int rc;

	if (!svc)
		return EPROTONOSUPPORT;
	rc = s->tr->hello(c, h, svc->ops->data_plane);
	if (rc)
		return rc;
	s->service = svc;
	rc = svc->ops->session_open ? svc->ops->session_open(s) : 0;
	if (rc) {
		s->service = NULL;
		return apird_fail(c, -rc, "cannot open a %s session", svc->ops->name);
	}
	return 0;
}

int apird_do_hello(struct apird_call *c)
{
	const Apir__Hello *h = c->req->hello;
	Apir__HelloReply *r = &c->reply.hello;
	struct apird_session *s = c->s;
	int rc;

	if (s->handshaken)
		return apird_fail(c, EPROTO, "Hello was already exchanged on this connection");
	if (h->protocol_version != APIR_PROTOCOL_VERSION) {
		c->close_session = true;
		return apird_fail(c, EPROTONOSUPPORT,
				  "protocol version %u is not supported: this apird speaks version %u",
				  h->protocol_version, APIR_PROTOCOL_VERSION);
	}
	rc = hello_bind(c, h);
	if (rc) {
		/* A transport whose connection outlives its processes (a VM's
		 * port) waits for the next Hello; a socket is done. */
		c->close_session = true;
		return rc;
	}
	copy_printable(s->client, sizeof(s->client), h->client_name);
	copy_printable(s->transport, sizeof(s->transport), h->transport);
	s->pid = h->pid;
	apir__hello_reply__init(r);
	r->protocol_version = APIR_PROTOCOL_VERSION;
	r->features = h->features & APIRD_FEATURES;
	r->session_id = s->id;
	r->server_name = c->d->cfg.device_name;
	c->resp.body_case = APIR__RESPONSE__BODY_HELLO;
	c->resp.hello = r;
	s->handshaken = true;
	apir_log(s->service->ops->data_plane ? APIR_LOG_INFO : APIR_LOG_DEBUG,
		 "session %llu: %s (pid %u, %s) connected", (unsigned long long)s->id, s->client,
		 s->pid, s->transport);
	return 0;
}

void apird_session_close(struct apird_session *s, const char *why)
{
	const struct apird_service_ops *svc = s->service ? s->service->ops : NULL;
	char counts[256] = "";

	if (s->closed)
		return;
	if (svc && svc->session_describe)
		svc->session_describe(s, counts, sizeof(counts));
	/* A connection that never said Hello (a liveness probe) or an operator
	 * tool asking for status is not news. */
	apir_log(s->handshaken && svc && svc->data_plane ? APIR_LOG_INFO : APIR_LOG_DEBUG,
		 "session %llu: %s (pid %u) closed (%s)%s%s", (unsigned long long)s->id, s->client,
		 s->pid, why, *counts ? ": releasing " : "", counts);
	if (svc && svc->session_close)
		svc->session_close(s);
	s->tr->session_closed(s);
	session_unlink(&s->d->sessions, s);
	session_link(&s->d->closed, s);
	s->closed = true;
}

void apird_sessions_reap(struct apird *d)
{
	while (d->closed) {
		struct apird_session *s = d->closed;

		session_unlink(&d->closed, s);
		free(s);
	}
}

void apird_session_fatal(struct apird_session *s)
{
	if (s->page)
		atomic_store_explicit(&s->page->device_fatal, 1, memory_order_release);
	if (s->service && s->service->ops->session_fatal)
		s->service->ops->session_fatal(s);
}

void apird_session_set_sleeping(struct apird_session *s, bool sleeping)
{
	if (s->page)
		atomic_store_explicit(&s->page->engine_sleeping, sleeping, memory_order_relaxed);
}

void apird_session_notify(struct apird_session *s, uint32_t sink, const void *rec, size_t len)
{
	if (!s->closed)
		s->tr->notify(s, sink, rec, len);
}

void apird_session_events_dropped(struct apird_session *s, const char *what)
{
	if (s->events_dropped_logged)
		return;
	s->events_dropped_logged = true;
	apir_warn("session %llu: %s, dropping events (the application does not read them)",
		  (unsigned long long)s->id, what);
}
