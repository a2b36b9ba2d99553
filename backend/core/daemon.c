/* SPDX-License-Identifier: MIT */
/* The daemon's lifetime, its event set and its identity (the port GID). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "apir/log.h"
#include "control.h"
#include "session.h"

#define SHUTDOWN_FLUSH_SWEEPS 1000

/* ::ffff:a.b.c.d, the IPv4-mapped form RoCE v2 uses for an IPv4 address. */
static void gid_from_ipv4(union ibv_gid *gid, struct in_addr a)
{
	memset(gid, 0, sizeof(*gid));
	gid->raw[10] = 0xff;
	gid->raw[11] = 0xff;
	memcpy(&gid->raw[12], &a.s_addr, 4);
}

int apird_daemon_init(struct apird *d, const struct apird_config *cfg)
{
	struct apird_control *ctl = calloc(1, sizeof(*ctl));

	if (!ctl)
		return -ENOMEM;
	/* A frontend that closed its end of a pipe must not kill apird. */
	signal(SIGPIPE, SIG_IGN);
	ctl->cfg = *cfg;
	/* With the fabric on, the GID names this apird's fabric address. */
	gid_from_ipv4(&ctl->gid, cfg->fabric_enabled ? cfg->fabric_ip : cfg->gid_ipv4);
	ctl->listen_fd = -1;
	ctl->signal_fd = -1;
	ctl->next_session_id = 1;
	ctl->next_qpn = 2;
	ctl->next_srqn = 2;
	ctl->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (ctl->epoll_fd < 0) {
		int rc = -errno;

		free(ctl);
		return rc;
	}
	d->ctl = ctl;
	if (cfg->fabric_enabled) {
		int rc = apird_fabric_start(d, cfg);

		if (rc) {
			close(ctl->epoll_fd);
			free(ctl);
			d->ctl = NULL;
			return rc;
		}
	}
	return 0;
}

void apird_daemon_fini(struct apird *d)
{
	struct apird_control *ctl = d->ctl;

	if (!ctl)
		return;
	for (struct apird_session *s = ctl->sessions; s; s = s->next)
		apird_session_fatal(s);
	/* The engine flushes QPs in ERR during its sweeps: run them, so that
	 * frontends find every outstanding work request completed. Bounded: a
	 * frontend may keep posting. */
	for (int i = 0; i < SHUTDOWN_FLUSH_SWEEPS && sw_engine_poll(d); i++)
		;
	while (ctl->sessions)
		apird_session_close(ctl->sessions, "apird is shutting down");
	apird_sessions_reap(d);
	apird_fabric_stop(d);
	apird_server_unlisten(d);
	if (ctl->signal_fd >= 0)
		close(ctl->signal_fd);
	close(ctl->epoll_fd);
	apird_num_map_fini(&ctl->qps);
	apird_num_map_fini(&ctl->srqs);
	apird_num_map_fini(&ctl->mr_keys);
	free(ctl);
	d->ctl = NULL;
}

int apird_watch_add(struct apird *d, int fd, uint32_t events, struct apird_watch *w)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(d->ctl->epoll_fd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* Explicit removal matters: a doorbell eventfd is shared with the frontend,
 * so closing apird's copy alone would leave it in the epoll set. */
void apird_watch_del(struct apird *d, int fd)
{
	if (epoll_ctl(d->ctl->epoll_fd, EPOLL_CTL_DEL, fd, NULL))
		apir_warn("epoll_ctl(DEL, %d): %s", fd, strerror(errno));
}

const union ibv_gid *apird_local_gid(const struct apird *d)
{
	return &d->ctl->gid;
}
