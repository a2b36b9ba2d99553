/* SPDX-License-Identifier: MIT */
/*
 * Signals, listeners, pollers and apird's one loop. The loop runs the
 * pollers continuously and looks at the watched fds every
 * CONTROL_POLL_INTERVAL_NS; after spin_us without work it sets
 * engine_sleeping in every session page and sleeps in epoll until a
 * doorbell, a control message, a signal, a poller's wait fd or the
 * pollers' next deadline.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "apir/log.h"
#include "apird.h"
#include "session.h"
#include "transport.h"
#include "util.h"

/* How stale a pending control message may get while a poller is busy. */
#define CONTROL_POLL_INTERVAL_NS 20000u
#define EVENT_BATCH 64

/* A poller's wait fd only wakes the loop, which runs every poller anyway. */
static void poller_ready(struct apird *d, struct apird_watch *w, uint32_t events)
{
	(void)d;
	(void)w;
	(void)events;
}

int apird_poller_add(struct apird *d, const struct apird_poller_ops *ops, void *arg)
{
	struct apird_poller *p;
	int rc;

	if (d->num_pollers == APIRD_MAX_POLLERS)
		return -ENOSPC;
	p = &d->pollers[d->num_pollers];
	*p = (struct apird_poller){ .ops = ops, .arg = arg, .wait_fd = -1 };
	p->watch.ready = poller_ready;
	if (ops->wait_fd && ops->wait_fd(arg) >= 0) {
		rc = apird_watch_add(d, ops->wait_fd(arg), EPOLLIN, &p->watch);
		if (rc)
			return rc;
		p->wait_fd = ops->wait_fd(arg);
	}
	d->num_pollers++;
	return 0;
}

void apird_poller_del(struct apird *d, void *arg)
{
	unsigned int kept = 0;

	for (unsigned int i = 0; i < d->num_pollers; i++) {
		struct apird_poller *p = &d->pollers[i];

		if (p->arg != arg) {
			d->pollers[kept++] = *p;
			continue;
		}
		if (p->wait_fd >= 0)
			apird_watch_del(d, p->wait_fd);
	}
	/* The watches moved with their pollers: epoll points at the old slots. */
	for (unsigned int i = 0; i < kept; i++)
		if (d->pollers[i].wait_fd >= 0) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &d->pollers[i].watch };

			epoll_ctl(d->epoll_fd, EPOLL_CTL_MOD, d->pollers[i].wait_fd, &ev);
		}
	d->num_pollers = kept;
}

unsigned int apird_pollers_run(struct apird *d)
{
	unsigned int work = 0;

	for (unsigned int i = 0; i < d->num_pollers; i++)
		work += d->pollers[i].ops->poll(d->pollers[i].arg);
	return work;
}

static bool pollers_may_sleep(struct apird *d)
{
	for (unsigned int i = 0; i < d->num_pollers; i++) {
		const struct apird_poller *p = &d->pollers[i];

		if (p->ops->may_sleep && !p->ops->may_sleep(p->arg))
			return false;
	}
	return true;
}

static uint64_t pollers_next_deadline(struct apird *d)
{
	uint64_t next = 0;

	for (unsigned int i = 0; i < d->num_pollers; i++) {
		const struct apird_poller *p = &d->pollers[i];
		uint64_t t = p->ops->next_deadline ? p->ops->next_deadline(p->arg) : 0;

		if (t && (!next || t < next))
			next = t;
	}
	return next;
}

int apird_listen(struct apird *d, const struct apird_listener_ops *const *listeners, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct apird_listener *l = &d->listeners[d->num_listeners];
		int rc;

		if (d->num_listeners == APIRD_MAX_LISTENERS) {
			apird_unlisten(d);
			return -ENOSPC;
		}
		*l = (struct apird_listener){ .ops = listeners[i] };
		rc = l->ops->start(d, &l->priv);
		if (rc) {
			apird_unlisten(d);
			return rc;
		}
		d->num_listeners++;
	}
	return 0;
}

void apird_unlisten(struct apird *d)
{
	while (d->num_listeners) {
		struct apird_listener *l = &d->listeners[--d->num_listeners];

		l->ops->stop(d, l->priv);
	}
}

static void signal_ready(struct apird *d, struct apird_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)w;
	(void)events;
	while (read(d->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		apir_info("%s: shutting down", strsignal((int)si.ssi_signo));
		d->stop = true;
	}
}

int apird_loop_catch_signals(struct apird *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	d->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->signal_fd < 0)
		return -errno;
	d->signal_watch.ready = signal_ready;
	return apird_watch_add(d, d->signal_fd, EPOLLIN, &d->signal_watch);
}

static void set_sleeping(struct apird *d, bool sleeping)
{
	d->sleeping = sleeping;
	for (struct apird_session *s = d->sessions; s; s = s->next)
		apird_session_set_sleeping(s, sleeping);
}

/* Waits up to timeout_ms (0: just looks) and handles what is ready. */
static void serve_events(struct apird *d, int timeout_ms)
{
	struct epoll_event ev[EVENT_BATCH];
	int n = epoll_wait(d->epoll_fd, ev, EVENT_BATCH, timeout_ms);

	if (d->sleeping)
		set_sleeping(d, false);
	for (int i = 0; i < n; i++) {
		struct apird_watch *w = ev[i].data.ptr;

		w->ready(d, w, ev[i].events);
	}
	apird_sessions_reap(d);
}

/* Milliseconds until the pollers' next deadline (rounded up), -1 if none. */
static int sleep_timeout_ms(struct apird *d)
{
	uint64_t deadline = pollers_next_deadline(d);
	uint64_t now, ms;

	if (!deadline)
		return -1;
	now = apird_now_ns();
	if (deadline <= now)
		return 0;
	ms = (deadline - now + 999999u) / 1000000u;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* The flag, then a full fence, then one more look at the rings: a frontend
 * publishes its producer index, fences, then reads the flag, so either it
 * sees the flag and rings, or a poller sees its work here. */
static void loop_sleep(struct apird *d)
{
	set_sleeping(d, true);
	atomic_thread_fence(memory_order_seq_cst);
	if (!pollers_may_sleep(d)) {
		set_sleeping(d, false);
		return;
	}
	serve_events(d, sleep_timeout_ms(d));
}

int apird_loop_run(struct apird *d)
{
	uint64_t spin_ns = (uint64_t)d->cfg.spin_us * 1000u;
	uint64_t idle_since, last_control;

	apir_info("listening on %s (spin %u us)", d->cfg.socket_path, d->cfg.spin_us);
	idle_since = last_control = apird_now_ns();
	while (!d->stop) {
		bool busy = apird_pollers_run(d) != 0;
		uint64_t now = apird_now_ns();

		if (busy)
			idle_since = now;
		if (now - idle_since >= spin_ns) {
			loop_sleep(d);
			idle_since = last_control = apird_now_ns();
		} else if (now - last_control >= CONTROL_POLL_INTERVAL_NS) {
			serve_events(d, 0);
			last_control = now;
		}
	}
	return 0;
}
