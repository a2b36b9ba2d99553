/* SPDX-License-Identifier: MIT */
/*
 * One control call: a decoded request, the fds that came with it, and the
 * response being built. The session's service handles it (its handler
 * table, service.h); handlers fill the response or fail the call with
 * apird_fail().
 */
#ifndef APIRD_DISPATCH_H
#define APIRD_DISPATCH_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apir.pb-c.h"
#include "apir/wire.h"
#include "apird.h"
#include "object_table.h"
#include "session.h"

/* Room for any service's response bodies, so handlers allocate nothing
 * (each service checks its own reply union against it). */
#define APIRD_REPLY_STORAGE 1024u

struct apird_call {
	struct apird_session *s;
	struct apird *d;
	const Apir__Request *req;
	struct apir_frame *in;       /* its fds: a handler keeps one with apird_call_take_fd() */
	Apir__Response resp;
	union {
		Apir__HelloReply hello;
		Apir__Handle handle;
		Apir__Empty empty;
		alignas(max_align_t) unsigned char service[APIRD_REPLY_STORAGE];
	} reply;
	int out_fds[APIR_MAX_FDS];   /* sent with the response */
	bool out_close[APIR_MAX_FDS];/* closed once sent (false: apird keeps using it) */
	unsigned int num_out_fds;
	bool close_session;          /* after the response is sent */
	/* Frees what a handler allocated for a response too large for reply;
	 * called once the response was sent or dropped. */
	void (*release_reply)(struct apird_call *c);
	void *reply_storage;
	char error[256];
};

/* Serves one received frame. Returns false when it closed the session
 * (undecodable frame, failed send, handshake refused). */
bool apird_dispatch(struct apird_session *s, struct apir_frame *in);
/* The same for a request already decoded from in (a stream transport
 * decodes first); frees req. */
bool apird_dispatch_request(struct apird_session *s, Apir__Request *req, struct apir_frame *in);
/* Packs r into a malloc()ed buffer (*len bytes). NULL when out of memory. */
uint8_t *apird_response_pack(const Apir__Response *r, size_t *len);
/* Fails the call: records a reason for the response and returns err
 * (a positive errno) for the handler to return. */
int apird_fail(struct apird_call *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Takes ownership of received fd i (the frame will not close it). */
int apird_call_take_fd(struct apird_call *c, unsigned int i);
/* Attaches fd to the response; close_after: apird closes it once sent. */
void apird_call_send_fd(struct apird_call *c, int fd, bool close_after);
/* The session's object with this handle in table t (handles of other
 * sessions mean nothing here), or NULL after failing the call with EINVAL
 * naming kind ("PD", "CQ"). */
void *apird_call_object(struct apird_call *c, const struct apird_table *t, uint32_t handle,
			const char *kind);
/* Replies with a Handle body. */
void apird_reply_handle(struct apird_call *c, uint32_t handle);
/* Hello: the handshake, which binds the session to a service (session.c). */
int apird_do_hello(struct apird_call *c);

#endif /* APIRD_DISPATCH_H */
