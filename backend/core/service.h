/* SPDX-License-Identifier: MIT */
/*
 * An API family apird serves (verbs, the operator's status): a session
 * belongs to the service its Hello names. Each service has its own handler
 * table, indexed by the Request body it answers, its own per-session state
 * and its own teardown; the core dispatches to it and knows nothing else
 * about it. Services are listed explicitly in main.c.
 */
#ifndef APIRD_SERVICE_H
#define APIRD_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

struct apird;
struct apird_call;
struct apird_session;

struct apird_handler {
	const char *name;
	int (*fn)(struct apird_call *c);  /* 0 or a positive errno (apird_fail) */
	unsigned int num_fds;             /* fds the request carries on transports with fds */
};

struct apird_service_ops {
	const char *name;                  /* what Hello.service says */
	const char *alias;                 /* an older Hello's transport field naming it, or NULL */
	const struct apird_handler *handlers;   /* indexed by Request.body_case; NULL fn: not ours */
	size_t num_handlers;
	bool data_plane;                   /* sessions get a page and doorbell (else: status only) */
	/* Daemon-wide state (engines, pollers): *priv. Returns 0 or -errno. */
	int (*start)(struct apird *d, void **priv);
	void (*stop)(struct apird *d, void *priv);
	/* A session's own state into s->priv. Returns 0 or -errno. */
	int (*session_open)(struct apird_session *s);
	/* Releases everything the session created, dependents first. */
	void (*session_close)(struct apird_session *s);
	/* apird is going away: flush the session's work so the frontend sees
	 * it completed. */
	void (*session_fatal)(struct apird_session *s);
	/* One line of counts for the log when the session closes. */
	void (*session_describe)(const struct apird_session *s, char *buf, size_t len);
};

#endif /* APIRD_SERVICE_H */
