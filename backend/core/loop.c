/* SPDX-License-Identifier: MIT */
/*
 * The listening socket, signals, and apird's one loop. The loop runs the
 * engine continuously and looks at the control fds every
 * CONTROL_POLL_INTERVAL_NS; after spin_us without work it sets
 * engine_sleeping in every session page and sleeps in epoll until a
 * doorbell, a control message, a signal, the fabric's wait fd or the
 * engines' next deadline.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "apir/log.h"
#include "control.h"
#include "session.h"
#include "vm.h"

/* How stale a pending control message may get while the engine is busy. */
#define CONTROL_POLL_INTERVAL_NS 20000u
#define EVENT_BATCH 64

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* mkdir -p of the directory that holds path. */
static int make_parent_dirs(const char *path)
{
	char dir[APIRD_SOCKET_PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

static void unix_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", path);
}

/* An existing socket file is replaced only if nobody answers on it. */
static int clear_stale_socket(const char *path)
{
	struct sockaddr_un a;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		apir_err("%s exists and is not a socket; not replacing it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unix_addr(&a, path);
	rc = connect(fd, (struct sockaddr *)&a, sizeof(a)) ? errno : 0;
	close(fd);
	if (rc == ECONNREFUSED) {
		apir_info("replacing stale socket %s", path);
		return unlink(path) && errno != ENOENT ? -errno : 0;
	}
	apir_err("%s: another apird is running (connect: %s)", path, rc ? strerror(rc) : "accepted");
	return -EADDRINUSE;
}

static void listen_ready(struct apird *d, struct apird_watch *w, uint32_t events)
{
	(void)w;
	(void)events;
	for (;;) {
		int fd = accept4(d->ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			int err = errno;

			/* Out of fds the socket stays readable: say so once. */
			if (err != EAGAIN && err != EINTR && !d->ctl->accept_failing)
				apir_warn("accept: %s", strerror(err));
			d->ctl->accept_failing = err != EAGAIN && err != EINTR;
			return;
		}
		d->ctl->accept_failing = false;
		apird_session_create(d, fd);
	}
}

int apird_unix_listen(const char *path, struct stat *st)
{
	struct sockaddr_un a;
	int fd, rc;

	rc = make_parent_dirs(path);
	if (!rc)
		rc = clear_stale_socket(path);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unix_addr(&a, path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, SOMAXCONN) || stat(path, st)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

void apird_unix_unlink(const char *path, const struct stat *st)
{
	struct stat now;

	if (!stat(path, &now) && now.st_dev == st->st_dev && now.st_ino == st->st_ino)
		unlink(path);
}

int apird_server_listen(struct apird *d)
{
	struct apird_control *ctl = d->ctl;
	struct stat st;
	int fd, rc;

	fd = apird_unix_listen(ctl->cfg.socket_path, &st);
	if (fd < 0)
		return fd;
	ctl->listen_fd = fd;
	ctl->socket_dev = st.st_dev;
	ctl->socket_ino = st.st_ino;
	ctl->listen_watch.ready = listen_ready;
	rc = apird_watch_add(d, fd, EPOLLIN, &ctl->listen_watch);
	if (!rc)
		rc = apird_vms_listen(d);
	if (rc)
		apird_server_unlisten(d);
	return rc;
}

void apird_server_unlisten(struct apird *d)
{
	struct apird_control *ctl = d->ctl;
	struct stat st = { .st_dev = ctl->socket_dev, .st_ino = ctl->socket_ino };

	apird_vms_close(d);
	if (ctl->listen_fd < 0)
		return;
	close(ctl->listen_fd);
	ctl->listen_fd = -1;
	apird_unix_unlink(ctl->cfg.socket_path, &st);
}

static void signal_ready(struct apird *d, struct apird_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)w;
	(void)events;
	while (read(d->ctl->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		apir_info("%s: shutting down", strsignal((int)si.ssi_signo));
		d->ctl->stop = true;
	}
}

int apird_server_catch_signals(struct apird *d)
{
	struct apird_control *ctl = d->ctl;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	ctl->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (ctl->signal_fd < 0)
		return -errno;
	ctl->signal_watch.ready = signal_ready;
	return apird_watch_add(d, ctl->signal_fd, EPOLLIN, &ctl->signal_watch);
}

static void set_sleeping(struct apird *d, bool sleeping)
{
	d->sleeping = sleeping;
	for (struct apird_session *s = d->ctl->sessions; s; s = s->next)
		apird_session_set_sleeping(s, sleeping);
}

/* Waits up to timeout_ms (0: just looks) and handles what is ready. */
static void serve_events(struct apird *d, int timeout_ms)
{
	struct epoll_event ev[EVENT_BATCH];
	int n = epoll_wait(d->ctl->epoll_fd, ev, EVENT_BATCH, timeout_ms);

	if (d->sleeping)
		set_sleeping(d, false);
	for (int i = 0; i < n; i++) {
		struct apird_watch *w = ev[i].data.ptr;

		w->ready(d, w, ev[i].events);
	}
	apird_sessions_reap(d);
}

/* Milliseconds until the engine's next deadline (rounded up), -1 if none. */
static int sleep_timeout_ms(struct apird *d)
{
	uint64_t deadline = sw_engine_next_deadline(d);
	uint64_t fabric = apird_fabric_next_deadline(d);
	uint64_t now, ms;

	if (fabric && (!deadline || fabric < deadline))
		deadline = fabric;
	if (!deadline)
		return -1;
	now = monotonic_ns();
	if (deadline <= now)
		return 0;
	ms = (deadline - now + 999999u) / 1000000u;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* The flag, then a full fence, then one more look at the rings: a frontend
 * publishes its producer index, fences, then reads the flag, so either it
 * sees the flag and rings, or we see its work here. */
static void engine_sleep(struct apird *d)
{
	set_sleeping(d, true);
	atomic_thread_fence(memory_order_seq_cst);
	if (sw_engine_has_work(d) || !apird_fabric_can_sleep(d)) {
		set_sleeping(d, false);
		return;
	}
	serve_events(d, sleep_timeout_ms(d));
}

/* The fabric's wait fd only wakes the loop, which polls the fabric anyway. */
static void fabric_ready(struct apird *d, struct apird_watch *w, uint32_t events)
{
	(void)d;
	(void)w;
	(void)events;
}

static int watch_fabric(struct apird *d)
{
	int fd = apird_fabric_wait_fd(d);

	if (fd < 0)
		return 0;
	d->ctl->fabric_watch.ready = fabric_ready;
	return apird_watch_add(d, fd, EPOLLIN, &d->ctl->fabric_watch);
}

int apird_server_run(struct apird *d)
{
	struct apird_control *ctl = d->ctl;
	uint64_t spin_ns = (uint64_t)ctl->cfg.spin_us * 1000u;
	uint64_t idle_since, last_control;
	int rc = watch_fabric(d);

	if (rc)
		return rc;
	apir_info("listening on %s (spin %u us)", ctl->cfg.socket_path, ctl->cfg.spin_us);
	idle_since = last_control = monotonic_ns();
	while (!ctl->stop) {
		bool busy = sw_engine_poll(d) + apird_fabric_poll(d) != 0;
		uint64_t now = d->now_ns;   /* set by the engines as they start */

		if (busy)
			idle_since = now;
		if (now - idle_since >= spin_ns) {
			engine_sleep(d);
			idle_since = last_control = monotonic_ns();
		} else if (now - last_control >= CONTROL_POLL_INTERVAL_NS) {
			serve_events(d, 0);
			last_control = now;
		}
	}
	if (apird_fabric_wait_fd(d) >= 0)
		apird_watch_del(d, apird_fabric_wait_fd(d));
	return 0;
}
