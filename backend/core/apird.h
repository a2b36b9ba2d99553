/* SPDX-License-Identifier: MIT */
/*
 * apird's core: one thread, one loop. The loop watches fds (struct
 * apird_watch) and runs pollers (struct apird_poller_ops); sessions carry
 * frontends' calls to the service they named. The core names no verb, no
 * engine and no transport: services (service.h), transports and their
 * listeners (transport.h) and pollers plug in through ops tables, chosen by
 * main.c's explicit services[] and listeners[] arrays.
 */
#ifndef APIRD_CORE_H
#define APIRD_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct apird;
struct apird_session;
struct apird_service_ops;
struct apird_listener_ops;

/* Something the loop watches; embedded in its owner. */
struct apird_watch {
	void (*ready)(struct apird *d, struct apird_watch *w, uint32_t events);
};

/*
 * Work the loop runs without an fd telling it to (an engine sweeping rings
 * in shared memory). The loop calls poll until every poller stays idle for
 * spin_us, then publishes "sleeping" in every session page, asks may_sleep,
 * and sleeps in epoll until a watched fd (wait_fd included) is ready or
 * the earliest next_deadline. A NULL member means "nothing to say".
 */
struct apird_poller_ops {
	const char *name;
	/* Work done (0: idle). */
	unsigned int (*poll)(void *arg);
	/* Called after "sleeping" is published: false if work arrived since. */
	bool (*may_sleep)(void *arg);
	/* Earliest CLOCK_MONOTONIC ns at which to poll again, 0 = none. */
	uint64_t (*next_deadline)(void *arg);
	/* An fd that becomes readable when there is work, -1 = none. */
	int (*wait_fd)(void *arg);
};

#define APIRD_MAX_POLLERS 8
#define APIRD_MAX_SERVICES 8
#define APIRD_MAX_LISTENERS 8

struct apird_poller {
	const struct apird_poller_ops *ops;
	void *arg;
	int wait_fd;                 /* watched while registered, or -1 */
	struct apird_watch watch;
};

/* A started service and what its start() returned. */
struct apird_service {
	const struct apird_service_ops *ops;
	void *priv;
};

struct apird_listener {
	const struct apird_listener_ops *ops;
	void *priv;
};

struct apird {
	struct apird_config cfg;
	int epoll_fd;
	int signal_fd;               /* -1 until apird_loop_catch_signals() */
	struct apird_watch signal_watch;
	bool stop;                   /* SIGTERM/SIGINT seen */
	bool sleeping;               /* mirrored into every session page */
	struct apird_session *sessions;   /* live sessions */
	struct apird_session *closed;     /* closed, freed after the current event batch */
	uint64_t next_session_id;
	struct apird_poller pollers[APIRD_MAX_POLLERS];
	unsigned int num_pollers;
	struct apird_service services[APIRD_MAX_SERVICES];
	unsigned int num_services;
	struct apird_listener listeners[APIRD_MAX_LISTENERS];
	unsigned int num_listeners;
};

/* ---- daemon.c: lifetime and the watch set -------------------------------------- */

/* Sets up d (zeroed by the caller) and starts every service of services[]
 * in order, without listening anywhere: unit tests drive sessions over
 * socketpairs. Returns 0 or -errno (the reason is logged). */
int apird_daemon_init(struct apird *d, const struct apird_config *cfg,
		      const struct apird_service_ops *const *services, size_t num_services);
/* Ends every session as on shutdown (each service's session_fatal, then the
 * pollers run until idle so frontends find outstanding work completed),
 * stops listeners and services in reverse order, frees everything. */
void apird_daemon_fini(struct apird *d);
int apird_watch_add(struct apird *d, int fd, uint32_t events, struct apird_watch *w);
void apird_watch_del(struct apird *d, int fd);
/* The service a Hello names ("" names the first one, the one frontends
 * written before services existed speak), or NULL. */
const struct apird_service *apird_service_find(const struct apird *d, const char *name);

/* ---- loop.c: pollers, signals, the loop ------------------------------------------ */

/* Registers a poller (its wait fd is watched at once). Returns 0 or -errno. */
int apird_poller_add(struct apird *d, const struct apird_poller_ops *ops, void *arg);
/* Unregisters every poller whose argument is arg. */
void apird_poller_del(struct apird *d, void *arg);
/* Polls every poller once. Returns the work done. */
unsigned int apird_pollers_run(struct apird *d);
/* Starts every listener of listeners[] in order. Returns 0 or -errno (the
 * listeners started so far are stopped again). */
int apird_listen(struct apird *d, const struct apird_listener_ops *const *listeners, size_t n);
/* Stops every listener (reverse order). */
void apird_unlisten(struct apird *d);
/* Blocks SIGTERM and SIGINT and receives them through the loop from now
 * on, so that a signal arriving at any point ends apird cleanly (sockets
 * unlinked). Call before apird_listen(). Returns 0 or -errno. */
int apird_loop_catch_signals(struct apird *d);
/* Runs until SIGTERM/SIGINT. Returns 0 or -errno. */
int apird_loop_run(struct apird *d);

/* ---- sched_policy.c -------------------------------------------------------------- */

/* Applies cfg.sched_priority to the calling thread (apird's loop). Returns
 * 0, or -errno when an explicit priority was refused; "auto" never fails. */
int apird_sched_apply(const struct apird_config *cfg);

/* ---- shared_area.c: memfds apird creates and shares ------------------------------ */

/* Creates a memfd of len bytes, sealed against resizing, and maps it
 * read-write in apird. Returns 0 or -errno; on success the caller owns
 * *fd and the mapping *map. */
int apird_area_create(const char *name, size_t len, int *fd, void **map);

#endif /* APIRD_CORE_H */
