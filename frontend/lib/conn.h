/* SPDX-License-Identifier: MIT */
/*
 * The control connection under a session (conn.c), for the session and the
 * transports. Private to frontend/lib.
 */
#ifndef APIR_CLIENT_CONN_H
#define APIR_CLIENT_CONN_H

#include "apir/client.h"

/* Connects through transport t to path. 0 or errno (c->t stays NULL). */
int apir_conn_connect(struct apir_conn *c, const struct apir_transport *t, const char *path);
void apir_conn_close(struct apir_conn *c);
/* Marks the connection dead (logging what failed once); returns EIO. */
int apir_conn_fail(struct apir_conn *c, const char *what, int err);

/* EPROTO (logged) unless resp's body is `want` (or want is
 * APIR__RESPONSE__BODY__NOT_SET). */
int apir_reply_check(const Apir__Response *resp, Apir__Response__BodyCase want);

/* Closes fds a reply brought that nobody will take. */
void apir_close_fds(const int *fds, unsigned int n);

#endif /* APIR_CLIENT_CONN_H */
