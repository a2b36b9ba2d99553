/* SPDX-License-Identifier: MIT */
/* The daemon's lifetime, its watch set and its services. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "apir/log.h"
#include "apird.h"
#include "service.h"
#include "session.h"

#define SHUTDOWN_FLUSH_SWEEPS 1000

static void services_stop(struct apird *d)
{
	while (d->num_services) {
		struct apird_service *svc = &d->services[--d->num_services];

		if (svc->ops->stop)
			svc->ops->stop(d, svc->priv);
	}
}

static int services_start(struct apird *d, const struct apird_service_ops *const *services,
			  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct apird_service *svc = &d->services[d->num_services];
		int rc;

		if (d->num_services == APIRD_MAX_SERVICES)
			return -ENOSPC;
		*svc = (struct apird_service){ .ops = services[i] };
		rc = svc->ops->start ? svc->ops->start(d, &svc->priv) : 0;
		if (rc) {
			apir_err("service %s: %s", svc->ops->name, strerror(-rc));
			return rc;
		}
		d->num_services++;
	}
	return 0;
}

int apird_daemon_init(struct apird *d, const struct apird_config *cfg,
		      const struct apird_service_ops *const *services, size_t num_services)
{
	int rc;

	/* A frontend that closed its end of a pipe must not kill apird. */
	signal(SIGPIPE, SIG_IGN);
	d->cfg = *cfg;
	d->signal_fd = -1;
	d->next_session_id = 1;
	d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epoll_fd < 0)
		return -errno;
	rc = services_start(d, services, num_services);
	if (rc) {
		services_stop(d);
		close(d->epoll_fd);
		d->epoll_fd = -1;
	}
	return rc;
}

void apird_daemon_fini(struct apird *d)
{
	if (d->epoll_fd < 0)
		return;
	for (struct apird_session *s = d->sessions; s; s = s->next)
		apird_session_fatal(s);
	/* Pollers flush work the services failed: run them, so that frontends
	 * find every outstanding request completed. Bounded: a frontend may
	 * keep posting. */
	for (int i = 0; i < SHUTDOWN_FLUSH_SWEEPS && apird_pollers_run(d); i++)
		;
	while (d->sessions)
		apird_session_close(d->sessions, "apird is shutting down");
	apird_sessions_reap(d);
	apird_unlisten(d);
	services_stop(d);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	close(d->epoll_fd);
	d->epoll_fd = -1;
}

int apird_watch_add(struct apird *d, int fd, uint32_t events, struct apird_watch *w)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* Explicit removal matters: a doorbell eventfd is shared with the frontend,
 * so closing apird's copy alone would leave it in the epoll set. */
void apird_watch_del(struct apird *d, int fd)
{
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, fd, NULL))
		apir_warn("epoll_ctl(DEL, %d): %s", fd, strerror(errno));
}

const struct apird_service *apird_service_find(const struct apird *d, const char *name)
{
	for (unsigned int i = 0; i < d->num_services; i++) {
		const struct apird_service_ops *ops = d->services[i].ops;

		if (!*name || !strcmp(ops->name, name) || (ops->alias && !strcmp(ops->alias, name)))
			return &d->services[i];
	}
	return NULL;
}
