/* SPDX-License-Identifier: MIT */
/*
 * apird's control-plane state: the event loop's watch set, the sessions,
 * and the daemon-wide number spaces (QPNs, SRQ numbers, memory keys).
 * Private to the control plane; the engine sees only apird.h.
 */
#ifndef APIRD_CONTROL_H
#define APIRD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "apird.h"
#include "config.h"
#include "num_map.h"

struct apird_session;
struct apird_vm;
struct stat;

/* Something the event loop watches; embedded in its owner. */
struct apird_watch {
	void (*ready)(struct apird *d, struct apird_watch *w, uint32_t events);
};

struct apird_control {
	struct apird_config cfg;
	union ibv_gid gid;           /* port 1, index 0 */
	int epoll_fd;
	int listen_fd;               /* -1 until apird_server_listen() */
	dev_t socket_dev;            /* the socket file we created, to unlink only it */
	ino_t socket_ino;
	int signal_fd;
	struct apird_watch listen_watch;
	struct apird_watch signal_watch;
	struct apird_watch fabric_watch;  /* the fabric engine's wait fd */
	bool stop;                   /* SIGTERM/SIGINT seen */
	bool accept_failing;         /* accept() error already logged */
	struct apird_session *sessions;   /* live sessions */
	struct apird_session *closed;     /* closed, freed after the current event batch */
	uint64_t next_session_id;
	struct apird_num_map qps;         /* QPN -> struct apird_qp */
	struct apird_num_map srqs;        /* SRQ number -> struct apird_srq */
	struct apird_num_map mr_keys;     /* lkey and rkey -> struct apird_mr */
	uint32_t next_qpn;
	uint32_t next_srqn;
	struct apird_vm *vms;             /* VMs served over virtio-serial (vm.h) */
};

/* ---- daemon.c: lifetime, watch set, identity -------------------------------- */

/* Sets up d (zeroed by the caller) without listening anywhere: unit tests
 * drive sessions over socketpairs. Returns 0 or -errno. */
int apird_daemon_init(struct apird *d, const struct apird_config *cfg);
/* Ends every session as on shutdown (device_fatal, QPs flushed to ERR),
 * frees everything. */
void apird_daemon_fini(struct apird *d);
int apird_watch_add(struct apird *d, int fd, uint32_t events, struct apird_watch *w);
void apird_watch_del(struct apird *d, int fd);

/* ---- sched_policy.c ------------------------------------------------------------ */

/* Applies cfg.sched_priority to the calling thread (apird's loop). Returns
 * 0, or -errno when an explicit priority was refused; "auto" never fails. */
int apird_sched_apply(const struct apird_config *cfg);

/* ---- server.c: listening socket, signals, the loop --------------------------- */

/* Binds cfg.socket_path (creating its directory, replacing a stale socket
 * file, refusing one a live apird answers on). Returns 0 or -errno. */
int apird_server_listen(struct apird *d);
/* Blocks SIGTERM and SIGINT and receives them through the loop from now
 * on, so that a signal arriving at any point ends apird cleanly (socket
 * unlinked). Call before apird_server_listen(). Returns 0 or -errno. */
int apird_server_catch_signals(struct apird *d);
/* Runs until SIGTERM/SIGINT. Returns 0 or -errno. */
int apird_server_run(struct apird *d);
/* Closes and unlinks the listening socket (if it is still ours), and the
 * VMs' sockets. */
void apird_server_unlisten(struct apird *d);
/* A listening unix stream socket at path (parent directories created, a
 * stale socket file replaced, a live one refused), O_NONBLOCK. Returns the
 * fd and the socket file's identity in *st, or -errno. */
int apird_unix_listen(const char *path, struct stat *st);
/* Unlinks path if it still is the socket file *st (a successor may have
 * replaced it). */
void apird_unix_unlink(const char *path, const struct stat *st);

/* ---- qp_registry.c: daemon-wide QPNs and SRQ numbers ------------------------ */

/* Give qp (or srq) a fresh 24-bit number, never 0 or 1, unique across the
 * daemon. Returns 0 or -ENOMEM. */
int apird_qpn_assign(struct apird *d, struct apird_qp *qp);
void apird_qpn_release(struct apird *d, struct apird_qp *qp);
int apird_srqn_assign(struct apird *d, struct apird_srq *srq);
void apird_srqn_release(struct apird *d, struct apird_srq *srq);

/* ---- mr_keys.c: memory keys ------------------------------------------------- */

/* Sets mr->lkey and mr->rkey to random, non-zero, distinct keys unused by
 * any live MR of the daemon. Returns 0 or -errno. */
int apird_mr_keys_assign(struct apird *d, struct apird_mr *mr);
void apird_mr_keys_release(struct apird *d, struct apird_mr *mr);

/* ---- shared_area.c: memfds apird creates and shares ---------------------------- */

/* Creates a memfd of len bytes, sealed against resizing, and maps it
 * read-write in apird. Returns 0 or -errno; on success the caller owns
 * *fd and the mapping *map. */
int apird_area_create(const char *name, size_t len, int *fd, void **map);

#endif /* APIRD_CONTROL_H */
