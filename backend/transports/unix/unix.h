/* SPDX-License-Identifier: MIT */
/*
 * The unix transport: a process (or container) on apird's host connects to
 * the control socket; frames carry fds (SCM_RIGHTS), rings and the session
 * page are memfds apird creates, regions are memfds the frontend sends,
 * the doorbell is an eventfd and events go down pipes.
 */
#ifndef APIRD_UNIX_H
#define APIRD_UNIX_H

#include <stdbool.h>
#include <stdint.h>

#include "apird.h"
#include "transport.h"

extern const struct apird_transport_ops apird_unix_transport;
/* The control socket (cfg.socket_path). */
extern const struct apird_listener_ops apird_unix_listener;

/* Takes ownership of sock (a connected AF_UNIX stream socket) and starts a
 * session on it that waits for Hello. Returns NULL (sock closed) on failure. */
struct apird_session *apird_unix_session_create(struct apird *d, int sock);
/* Reads and answers every complete request queued on the session's socket.
 * Returns false when the session was closed (peer gone, malformed input). */
bool apird_unix_session_serve(struct apird_session *s);

#endif /* APIRD_UNIX_H */
