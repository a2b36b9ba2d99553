/* SPDX-License-Identifier: MIT */
/*
 * What differs between the frontend's transports to apird: a unix socket
 * on the host (fds travel with frames: memfds, eventfd, pipes) and the
 * virtio-serial port of a guest (bytes only: memory is named by
 * guest-physical extents, doorbells and events are frames). Everything
 * above this interface (sessions, rings, objects of any API) is shared.
 * Public to frontends through apir/client.h: they call the channel, area
 * and memory hooks; the lib's session and connection call the others.
 */
#ifndef APIR_CLIENT_TRANSPORT_H
#define APIR_CLIENT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apir.pb-c.h"
#include "apir/wire.h"

/* Most fds a HelloReply carries (unix: session page, doorbell, async pipe). */
#define APIR_HELLO_FDS 3u

struct apir_conn;
struct apir_session;

/* Guest-physical extents of some pages, as apir.GpaExtent messages. */
struct apir_gpa_list {
	Apir__GpaExtent **ext;    /* n pointers into one allocation */
	size_t n;
};

/* A shared area (a ring) being created: where its memory comes from
 * depends on the transport. */
struct apir_area {
	size_t len;                  /* the layout's size */
	int fd;                      /* unix: the reply's memfd, else -1 */
	void *base;                  /* guest transports: allocated before the call */
	struct apir_gpa_list gpa;    /* guest transports: sent with the create call */
};

/* How a memory region's pages are named to apird. */
struct apir_mem_ref {
	int fd;                      /* unix: the process memory file (borrowed), else -1 */
	uint64_t offset;             /* RegMr.fd_offset */
	struct apir_gpa_list pages;  /* guest transports: RegMr.pages */
};

struct apir_transport {
	const char *name;            /* Hello.transport, APIR_TRANSPORT */
	unsigned int ring_fds;       /* fds a create reply carries for its ring */
	/* The call creating an event channel (CreateCompChannel) carries the
	 * pipe's write end (1) or not (0). */
	unsigned int channel_fds;

	/* Discovery: the device exists while this path does. */
	bool (*present)(const char *path);

	/* The connection (conn.c drives these). send/recv return 0 or -errno;
	 * recv returns the frame answering request id. */
	int (*open)(struct apir_conn *c, const char *path);
	void (*close)(struct apir_conn *c);
	int (*send)(struct apir_conn *c, uint64_t id, const void *buf, size_t len,
		    const int *fds, unsigned int num_fds);
	int (*recv)(struct apir_conn *c, uint64_t id, struct apir_frame *f);
	bool (*hung_up)(struct apir_conn *c);

	/* The session (session.c drives these): hello_prepare fills the
	 * Hello; hello_finish is called after the Hello call whatever its
	 * result rc (0: it takes the reply's fds, and sets page, doorbell and
	 * async_fd) and returns rc or its own error; session_end undoes both
	 * (also after a failed finish). */
	int (*hello_prepare)(struct apir_session *s, Apir__Hello *hello);
	int (*hello_finish)(struct apir_session *s, Apir__Hello *hello, int rc,
			    const int *fds, unsigned int num_fds);
	void (*session_end)(struct apir_session *s);

	/* Wakes a sleeping apird. */
	void (*doorbell)(struct apir_session *s);

	/* Event channels (verbs: completion channels): where the pipe's write
	 * end goes once the channel has its handle (attach takes ownership of
	 * write_end). */
	int (*channel_attach)(struct apir_session *s, uint32_t handle, int write_end);
	void (*channel_detach)(struct apir_session *s, uint32_t handle);

	/* Ring areas: prepare before the create call (a->len set), finish with
	 * the reply (a->fd set; area_size: what apird says) to get the mapped
	 * area (NULL with errno), or discard when the call failed. */
	int (*area_prepare)(struct apir_area *a);
	void *(*area_finish)(struct apir_area *a, uint64_t area_size);
	void (*area_discard)(struct apir_area *a);

	/* Memory regions: name [addr, addr + len) to apird; release pairs with
	 * a successful acquire once apird no longer uses the pages. */
	int (*mem_acquire)(void *addr, size_t len, struct apir_mem_ref *ref);
	void (*mem_ref_free)(struct apir_mem_ref *ref);
	void (*mem_release)(void *addr, size_t len);
};

extern const struct apir_transport apir_transport_unix;
extern const struct apir_transport apir_transport_virtio;

/* APIR_TRANSPORT (unix | virtio-serial), else virtio-serial when the
 * guest port exists, else unix. *path: where that transport connects
 * (APIR_SOCKET or the default socket; the port's device node). */
const struct apir_transport *apir_transport_select(const char **path);

#endif /* APIR_CLIENT_TRANSPORT_H */
