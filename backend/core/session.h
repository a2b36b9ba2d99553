/* SPDX-License-Identifier: MIT */
/* A session: one control connection (one ibv_context of a frontend) and
 * every object it created. */
#ifndef APIRD_SESSION_H
#define APIRD_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "apird.h"
#include "control.h"

struct apird_vm_conn;

#define APIRD_CLIENT_NAME_MAX 64
#define APIRD_TRANSPORT_NAME_MAX 16

struct apird_session {
	uint64_t id;
	struct apird *d;
	int sock;                    /* O_NONBLOCK control connection */
	int doorbell_fd;             /* eventfd, shared with the frontend */
	int async_fd;                /* write end of the async event pipe, O_NONBLOCK */
	int page_fd;                 /* session page memfd until sent in HelloReply, then -1 */
	int async_read_fd;           /* read end, until sent in HelloReply, then -1 */
	struct apir_session_page *page;
	struct apird_watch sock_watch;
	struct apird_watch doorbell_watch;
	bool handshaken;             /* Hello accepted */
	bool closed;                 /* objects released, waiting to be freed */
	bool rejected_logged;        /* the first rejected request is logged at warn */
	bool async_full_logged;
	char client[APIRD_CLIENT_NAME_MAX];  /* printable copy of Hello.client_name */
	char transport[APIRD_TRANSPORT_NAME_MAX];  /* printable copy of Hello.transport */
	bool admin;                  /* an operator tool's session (APIR_TRANSPORT_ADMIN) */
	uint32_t pid;
	uint64_t ring_bytes;         /* ring areas apird allocated for it (session_ring_mib) */
	struct apird_vm_conn *vm;    /* virtio-serial: the VM connection carrying it (vm.h);
				      * NULL on the unix transport (sock, fds) */

	struct apird_table pds;
	struct apird_table mrs;
	struct apird_table channels;
	struct apird_table cqs;
	struct apird_table srqs;
	struct apird_table qps;
	struct apird_table ahs;

	struct apird_session *prev, *next;
};

/* Takes ownership of sock (a connected AF_UNIX stream socket) and starts a
 * session that waits for Hello. Returns NULL (sock closed) on failure. */
struct apird_session *apird_session_create(struct apird *d, int sock);
/* A session of the guest process on a VM connection (no fds: its page is
 * mapped by Hello). Returns NULL when out of memory. */
struct apird_session *apird_session_create_vm(struct apird *d, struct apird_vm_conn *vm);
/* Reads and answers every complete request queued on the socket. Returns
 * false when the session was closed (peer gone, malformed input). */
bool apird_session_serve(struct apird_session *s);
/* Releases every object and fd of the session; the struct itself is freed
 * by apird_sessions_reap(). why: for the log line. */
void apird_session_close(struct apird_session *s, const char *why);
/* Frees closed sessions (after an event batch, when no event can still
 * point at them). */
void apird_sessions_reap(struct apird *d);
/* The device is going away: flag device_fatal in the page and flush every
 * QP of the session to ERR so the frontend sees its completions. */
void apird_session_fatal(struct apird_session *s);
/* Mirrors the engine's sleeping flag into the page (ring the doorbell). */
void apird_session_set_sleeping(struct apird_session *s, bool sleeping);

#endif /* APIRD_SESSION_H */
