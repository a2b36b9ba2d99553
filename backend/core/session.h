/* SPDX-License-Identifier: MIT */
/*
 * A session: one frontend connection (one guest or host process's context)
 * of one service. The transport that carries it keeps its connection state
 * in conn; the service keeps its objects in priv. Closing a session releases
 * all of them, whether the frontend said goodbye or was SIGKILLed.
 */
#ifndef APIRD_SESSION_H
#define APIRD_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "apir/ring.h"
#include "apird.h"

#define APIRD_CLIENT_NAME_MAX 64
#define APIRD_TRANSPORT_NAME_MAX 16

struct apird_transport_ops;

struct apird_session {
	uint64_t id;
	struct apird *d;
	const struct apird_transport_ops *tr;
	void *conn;                  /* the transport's state of this session */
	const struct apird_service *service;  /* the one its Hello named; NULL before */
	void *priv;                  /* the service's state of this session */
	struct apir_session_page *page;   /* shared with the frontend; NULL before Hello */
	bool handshaken;             /* Hello accepted */
	bool closed;                 /* objects released, waiting to be freed */
	bool rejected_logged;        /* the first rejected request is logged at warn */
	bool events_dropped_logged;
	char client[APIRD_CLIENT_NAME_MAX];        /* printable copy of Hello.client_name */
	char transport[APIRD_TRANSPORT_NAME_MAX];  /* printable copy of Hello.transport */
	uint32_t pid;
	struct apird_session *prev, *next;
};

/* A session of transport tr whose connection state is conn; it waits for
 * Hello. Returns NULL when out of memory. */
struct apird_session *apird_session_new(struct apird *d, const struct apird_transport_ops *tr,
					void *conn);
/* Releases every object of the session (its service's, then its
 * transport's); the struct itself is freed by apird_sessions_reap(). why:
 * for the log line. */
void apird_session_close(struct apird_session *s, const char *why);
/* Frees closed sessions (after an event batch, when no event can still
 * point at them). */
void apird_sessions_reap(struct apird *d);
/* The device is going away: flag device_fatal in the page and let the
 * service flush the session's work. */
void apird_session_fatal(struct apird_session *s);
/* Mirrors the loop's sleeping flag into the page (ring the doorbell). */
void apird_session_set_sleeping(struct apird_session *s, bool sleeping);
/* Delivers an event record to a sink (transport.h), counting a drop once
 * in the log. */
void apird_session_notify(struct apird_session *s, uint32_t sink, const void *rec, size_t len);
/* The frontend stopped reading its events: logged once per session. */
void apird_session_events_dropped(struct apird_session *s, const char *what);

#endif /* APIRD_SESSION_H */
