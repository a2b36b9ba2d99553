/* SPDX-License-Identifier: MIT */
/*
 * How frontends reach apird. A transport carries one session's frames,
 * events and shared memory; a listener accepts connections and creates
 * sessions on them. Each transport fills these tables in its own folder
 * (transports/unix, transports/virtio_serial); nothing else knows which
 * transport a session came through. The frontend's twin is struct
 * apir_transport (frontend/lib).
 */
#ifndef APIRD_TRANSPORT_H
#define APIRD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apir.pb-c.h"

struct apird;
struct apird_call;
struct apird_session;

/* How a frontend named memory: an fd that came with the request (unix) or
 * guest-physical extents (virtio-serial), and the offset of the first byte
 * in it. */
struct apird_mem_ref {
	unsigned int fd_index;       /* index of the fd among the request's fds */
	uint64_t offset;
	Apir__GpaExtent *const *ext;
	size_t n_ext;
};

/* A mapping of memory a frontend named: base is the first byte, map/len
 * what to munmap. */
struct apird_mem_map {
	void *map;
	size_t len;
	uint8_t *base;
};

/* Where events go: the session's async events, or a channel the frontend
 * opened (a completion channel). */
#define APIRD_SINK_ASYNC 0u

struct apird_transport_ops {
	const char *name;                  /* "unix", "virtio-serial" */
	bool carries_fds;                  /* requests and responses may carry fds */
	/* Sends one packed response. Returns 0, -EAGAIN when the frontend does
	 * not read what apird sends, or another -errno. */
	int (*send)(struct apird_session *s, const void *buf, size_t len, const int *fds,
		    unsigned int num_fds);
	/* Delivers an event record (apir/ring.h: struct apir_async_event_rec to
	 * APIRD_SINK_ASYNC, struct apir_cq_event_rec to a channel). Never
	 * blocks: a frontend that does not read loses events, logged once. */
	void (*notify)(struct apird_session *s, uint32_t sink, const void *rec, size_t len);
	/* Hello on this transport. For a data-plane service: sets up the
	 * session page (and what else the transport shares) and attaches what
	 * the reply carries; else (an operator's status session) shares
	 * nothing, or refuses. Returns 0 or an errno (the call failed). */
	int (*hello)(struct apird_call *c, const Apir__Hello *h, bool data_plane);
	/* A channel named handle for events (a completion channel): on unix the
	 * pipe write end that came with the call. Returns 0 with *sink set, or
	 * an errno (the call failed). */
	int (*sink_open)(struct apird_call *c, uint32_t handle, uint32_t *sink);
	void (*sink_close)(struct apird_session *s, uint32_t sink);
	/* A ring's shared area of len bytes (its first page zeroed): on unix a
	 * new sealed memfd sent with the reply (ref must be empty), in a VM the
	 * guest pages ref names. Returns 0 or an errno (the call failed). */
	int (*area_open)(struct apird_call *c, const char *name, size_t len,
			 const struct apird_mem_ref *ref, void **area);
	void (*area_close)(struct apird_session *s, void *area, size_t len);
	/* Maps len bytes of memory the frontend named, from ref->offset on, with
	 * prot. Returns 0 or an errno (the call failed). */
	int (*mem_map)(struct apird_call *c, const struct apird_mem_ref *ref, uint64_t len,
		       int prot, struct apird_mem_map *m);
	/* The session ended: releases what the transport keeps for it (fds,
	 * the mapping of its page, its place on the connection). */
	void (*session_closed)(struct apird_session *s);
};

/* Something apird listens on for frontends (the control socket, each VM's
 * port). start returns 0 or -errno with the reason logged. */
struct apird_listener_ops {
	const char *name;
	int (*start)(struct apird *d, void **priv);
	void (*stop)(struct apird *d, void *priv);
};

#endif /* APIRD_TRANSPORT_H */
