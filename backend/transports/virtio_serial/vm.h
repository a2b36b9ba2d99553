/* SPDX-License-Identifier: MIT */
/*
 * The virtio-serial transport, apird's side. Each configured VM (--vm) has
 * a listening socket QEMU connects to (its virtserialport's chardev); the
 * connection carries magic-prefixed frames (wire.h) of one guest process
 * at a time, whose session apird runs like a unix one, except that no fd
 * ever crosses: the session page, rings and regions are guest pages named
 * by guest-physical extents, doorbells are Doorbell frames and events are
 * Event frames. Private to the control plane.
 */
#ifndef APIRD_VM_H
#define APIRD_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "apir.pb-c.h"
#include "apird.h"
#include "config.h"
#include "guest_ram.h"
#include "qmp_msg.h"
#include "transport.h"

struct apird_call;
struct apird_session;

/* Guest pages a ring of the session uses (the session page counts too):
 * rings of one session may not share a page. */
struct apird_vm_ring {
	const void *area;            /* apird's view of it: the key */
	struct apird_gpa_extent *ext;
	size_t num_ext;
};

/* QEMU's connection: the port's host end. */
struct apird_vm_conn {
	struct apird_vm *vm;
	int fd;                      /* O_NONBLOCK */
	struct apird_watch watch;
	struct apird_guest_ram ram;  /* opened at the first Hello (QEMU may connect before
				      * it created the file) */
	struct apird_session *session;   /* the guest process's, NULL before its Hello */
	uint8_t *in;                 /* received bytes not consumed yet */
	size_t in_len;
	/* Queued frames: out[0, out_frame) was sent whole, out[out_frame]
	 * starts the frame being sent, out[out_head, out_len) waits. */
	uint8_t *out;
	size_t out_len, out_head, out_frame, out_cap;
	uint64_t out_copied;         /* bytes moved by compaction and growth: O(queued) */
	bool out_watched;            /* EPOLLOUT requested */
	bool failed;                 /* a write failed: the connection is gone */
	bool garbage_logged;
	bool events_dropped_logged;
	struct apird_vm_ring *rings;
	size_t num_rings, rings_cap;
};

/* The device id QEMU's VSERPORT_CHANGE events name apir's port by: the
 * launcher gives the virtserialport id= its name, APIR_VIRTIO_PORT_NAME. */
#define APIRD_QMP_LINE_MAX 4096

/* QEMU's monitor (QMP) for one VM, on its own socket: QEMU connects, like
 * the port's chardev. It is how apird learns that the guest process
 * holding the port closed it (or died), which the port's socket never
 * says (vm_qmp.c). */
struct apird_vm_qmp {
	int listen_fd;               /* -1: the VM has no qmp= socket */
	struct stat sock_st;
	struct apird_watch listen_watch;
	int fd;                      /* the monitor connection, or -1 */
	struct apird_watch watch;
	int timer_fd;                /* polls the port's state while a session lives, or -1 */
	struct apird_watch timer_watch;
	char chardev[APIRD_QMP_NAME_MAX];  /* the port's chardev id, "" until known */
	char line[APIRD_QMP_LINE_MAX];
	size_t len;
	bool skipping;               /* an overlong line: dropped up to its end */
};

struct apird_vm {
	struct apird_vm_config cfg;
	struct apird *d;
	int listen_fd;               /* -1: not listening (unit tests attach streams) */
	struct stat sock_st;         /* the socket file we created, to unlink only it */
	struct apird_watch listen_watch;
	struct apird_vm_conn *conn;  /* QEMU's connection, or NULL */
	struct apird_vm_qmp qmp;
	bool ram_error_logged;
	struct apird_vm *next;
	struct apird_vms *vms;       /* the listener it belongs to */
};

/* The VM listener's state: the VMs it serves. */
struct apird_vms {
	struct apird *d;
	struct apird_vm *list;
};

extern const struct apird_transport_ops apird_vm_transport;

/* ---- vm_listen.c ------------------------------------------------------------ */

/* Every VM of cfg.vms: their sockets, QEMU's connections, their sessions. */
extern const struct apird_listener_ops apird_vm_listener;
/* Adds a VM to a started apird_vm_listener (priv: its priv), not listening:
 * unit tests attach streams themselves. Returns it or NULL. */
struct apird_vm *apird_vm_add(void *listener, struct apird *d, const struct apird_vm_config *cfg);

/* ---- vm_conn.c -------------------------------------------------------------- */

/* Serves fd (a connected stream, taken over) as vm's port. Returns 0 or
 * -errno (fd closed). A VM has one connection at a time: -EBUSY. */
int apird_vm_connect(struct apird_vm *vm, int fd);
/* Reads and serves what arrived, flushes what is queued. Returns false
 * when the connection ended (closed and freed, vm->conn NULL). */
bool apird_vm_serve(struct apird_vm_conn *conn);
void apird_vm_disconnect(struct apird_vm_conn *conn, const char *why);
/* Queues a response frame. Returns 0, or -EAGAIN when the guest does not
 * read what apird sends, -EPIPE when the connection is gone. */
int apird_vm_send(struct apird_vm_conn *conn, const void *payload, size_t len);
/* Sends an unsolicited Event (dropped, logged once, when the guest does
 * not read). */
void apird_vm_send_event(struct apird_vm_conn *conn, const Apir__Event *ev);
/* The guest process that held the port closed it (QMP said so): its
 * session ends now, with everything it owns, and what was queued for it
 * is dropped. */
void apird_vm_port_closed(struct apird_vm *vm);

/* ---- vm_qmp.c: QEMU's monitor, for port open/close events ------------------- */

/* Listens on vm->cfg.qmp_path (if set). Returns 0 or -errno (logged). */
int apird_vm_qmp_listen(struct apird_vm *vm);
/* Handles every QMP message that has arrived. Called before a Hello is
 * served: QEMU answers a port-state query before it handles the next
 * guest open(), so every "closed" that precedes that Hello is applied
 * first and none read later can end the new process's session. */
void apird_vm_qmp_poll(struct apird_vm *vm);
/* A guest process started a session: its port's state is polled until the
 * session ends (events alone come up to a second late). */
void apird_vm_qmp_session_started(struct apird_vm *vm);
void apird_vm_qmp_close(struct apird_vm *vm);

/* ---- vm_memory.c: guest pages behind session pages, rings and regions ------- */

/* The transport ops of transport.h for guest memory: the session page (at
 * Hello), ring areas (zeroed control page, no overlap with the session's
 * other rings) and regions, all guest pages checked against the VM's RAM. */
int apird_vm_hello(struct apird_call *c, const Apir__Hello *h, bool data_plane);
int apird_vm_area_open(struct apird_call *c, const char *name, size_t len,
		       const struct apird_mem_ref *ref, void **area);
void apird_vm_area_close(struct apird_session *s, void *area, size_t len);
int apird_vm_mem_map(struct apird_call *c, const struct apird_mem_ref *ref, uint64_t len,
		     int prot, struct apird_mem_map *m);

#endif /* APIRD_VM_H */
