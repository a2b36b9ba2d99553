/* SPDX-License-Identifier: MIT */
/* A unix session's connection state; private to transports/unix. */
#ifndef APIRD_UNIX_CONN_H
#define APIRD_UNIX_CONN_H

#include <stdint.h>

#include "apird.h"
#include "session.h"
#include "transport.h"

struct unix_conn {
	struct apird_session *s;
	int sock;                    /* O_NONBLOCK control connection */
	int doorbell_fd;             /* eventfd, shared with the frontend */
	int async_fd;                /* write end of the async event pipe, O_NONBLOCK */
	int page_fd;                 /* session page memfd until sent in HelloReply, then -1 */
	int async_read_fd;           /* read end, until sent in HelloReply, then -1 */
	struct apird_watch sock_watch;
	struct apird_watch doorbell_watch;
	uint64_t ring_bytes;         /* ring areas apird allocated for it (session_ring_mib) */
};

static inline struct unix_conn *unix_conn_of(const struct apird_session *s)
{
	return s->conn;
}

/* unix_mem.c */
int unix_area_open(struct apird_call *c, const char *name, size_t len,
		   const struct apird_mem_ref *ref, void **area);
void unix_area_close(struct apird_session *s, void *area, size_t len);
int unix_mem_map(struct apird_call *c, const struct apird_mem_ref *ref, uint64_t len, int prot,
		 struct apird_mem_map *m);

#endif /* APIRD_UNIX_CONN_H */
