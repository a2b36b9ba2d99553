/* SPDX-License-Identifier: MIT */
/*
 * The client library under every apir frontend (the drop-in
 * libibverbs.so.1; librdmacm or an OpenCL ICD next): a session with apird
 * over one of the transports, control calls on it, the doorbell and async
 * event fd of its data plane, and the shared areas its rings live in. It
 * names no API: a frontend puts its own messages into apir.Request and keeps
 * its own objects. Frontends link the static library apir_client into their
 * shared object, whose version script keeps these symbols inside.
 */
#ifndef APIR_CLIENT_H
#define APIR_CLIENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apir.pb-c.h"
#include "apir/client_transport.h"
#include "apir/ring.h"

/* ---- session --------------------------------------------------------------- */

/* Control connection to apird. Calls are serialised. */
struct apir_conn {
	const struct apir_transport *t;   /* NULL while not connected */
	int sock;                    /* unix: the socket; virtio-serial: the port */
	void *priv;                  /* the transport's own (virtio-serial: the process's port) */
	pthread_mutex_t lock;
	uint64_t next_id;
	_Atomic bool dead;           /* apird went away: every call fails EIO */
};

/* One session with apird (a frontend keeps one per opened device): the
 * connection and what the Hello set up for the data plane. */
struct apir_session {
	struct apir_conn conn;
	struct apir_session_page *page;   /* read-only for us: engine_sleeping, device_fatal */
	int doorbell_fd;                  /* unix: eventfd that wakes a sleeping apird */
	/* Read end of apir_async_event_rec records; EOF: apird is gone. The
	 * session owns it (a frontend hands out a copy). */
	int async_fd;
};

/* Connects through transport t to path; no session yet (page NULL, fds
 * -1). 0 or errno (then there is nothing to close). */
int apir_session_connect(struct apir_session *s, const struct apir_transport *t,
			 const char *path);

/* Hello -> HelloReply, offering features (APIR_FEAT_*); the transport sets
 * up page, doorbell_fd and async_fd. 0 or errno. */
int apir_session_hello(struct apir_session *s, uint64_t features);

/* Ends the session and closes the connection (after a failed hello too);
 * apird drops what the session held when the connection closes. */
void apir_session_close(struct apir_session *s);

/* True when apird is gone or going: data-path calls fail. */
bool apir_session_dead(struct apir_session *s);

/* Wake apird if it sleeps (after a producer index was published). */
static inline void apir_doorbell(struct apir_session *s)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&s->page->engine_sleeping, memory_order_relaxed))
		s->conn.t->doorbell(s);
}

/* ---- control calls -------------------------------------------------------- */

/*
 * One control call. Sets req->id and req->num_fds, sends req with fds,
 * waits for the response with the same id. On return 0 *resp is the decoded
 * response (free with apir__response__free_unpacked(*resp, NULL)) and
 * out_fds[0..*num_out_fds) are owned by the caller. A response whose status
 * is non-zero is returned as that positive errno after logging its error
 * text at debug level (*resp is then freed and NULL). Transport failure:
 * returns EIO and marks the connection dead. max_out_fds bounds what the
 * caller accepts; extra fds fail the call with EPROTO.
 */
int apir_rpc(struct apir_session *s, Apir__Request *req,
	     const int *fds, unsigned int num_fds,
	     Apir__Response **resp, int *out_fds, unsigned int *num_out_fds,
	     unsigned int max_out_fds);

/* Runs a call whose reply carries no fds and whose body must be `want`;
 * pass APIR__RESPONSE__BODY__NOT_SET to accept any body (destroy calls).
 * *resp may be NULL to drop the reply. */
int apir_rpc_simple(struct apir_session *s, Apir__Request *req,
		    Apir__Response__BodyCase want, Apir__Response **resp);

/* Runs a destroy call (any reply body): apird's refusal is the result,
 * unless apird is gone (then the object is gone with it, and local
 * teardown proceeds: 0). */
int apir_rpc_destroy(struct apir_session *s, Apir__Request *req);

/* ---- shared areas and their rings ------------------------------------------ */

/* Runs a create call for an object with a shared area of area->len bytes
 * (the layout of the entry counts the request asks for). The transport
 * provides the memory: before the call, named in the request's ring
 * extents (*ring, *n_ring), or with the reply as an fd (area->fd). On 0,
 * *resp holds a reply of body_case `want` (the caller frees it) and the
 * area is to be passed to apir_area_map or apir_area_drop. */
int apir_rpc_create(struct apir_session *s, Apir__Request *req,
		    Apir__Response__BodyCase want, Apir__Response **resp,
		    struct apir_area *area, Apir__GpaExtent ***ring, size_t *n_ring);

/* The area of a created object, after checking that the rings apird
 * granted (their layout size: expect) are the ones asked for and that
 * apird's area_size agrees; NULL with errno set (the area is dropped). */
void *apir_area_map(struct apir_session *s, struct apir_area *area,
		    uint64_t area_size, size_t expect);
void apir_area_drop(struct apir_session *s, struct apir_area *area);
/* Unmaps the area of an object that apird no longer uses (a guest's area
 * file goes with it). */
void apir_area_unmap(void *base, size_t len);

/* The ring entries asked for n requests: a power of two, at least 1 (as
 * apird rounds, so both transports ask for what they get). */
uint32_t apir_ring_pow2(uint32_t n);

/* Entry count apird chose for a ring: a power of two, no smaller than what
 * was asked for; or none when none was asked for. */
bool apir_ring_entries_ok(uint32_t entries, uint32_t asked);

/* A ring header apird wrote agrees with what its create reply said. */
bool apir_ring_ctrl_ok(const struct apir_ring_ctrl *ring, uint32_t entries,
		       uint32_t entry_size);

#endif /* APIR_CLIENT_H */
