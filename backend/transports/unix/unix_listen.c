/* SPDX-License-Identifier: MIT */
/* The control socket: every connection accepted becomes a unix session. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apir/log.h"
#include "socket_file.h"
#include "unix.h"
#include "util.h"

struct unix_listener {
	int fd;
	struct stat st;              /* the socket file we created, to unlink only it */
	struct apird_watch watch;
	bool accept_failing;         /* accept() error already logged */
};

static void listen_ready(struct apird *d, struct apird_watch *w, uint32_t events)
{
	struct unix_listener *l = container_of(w, struct unix_listener, watch);

	(void)events;
	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			int err = errno;

			/* Out of fds the socket stays readable: say so once. */
			if (err != EAGAIN && err != EINTR && !l->accept_failing)
				apir_warn("accept: %s", strerror(err));
			l->accept_failing = err != EAGAIN && err != EINTR;
			return;
		}
		l->accept_failing = false;
		apird_unix_session_create(d, fd);
	}
}

static void unix_listener_stop(struct apird *d, void *priv)
{
	struct unix_listener *l = priv;

	(void)d;
	close(l->fd);
	apird_socket_unlink(d->cfg.socket_path, &l->st);
	free(l);
}

static int unix_listener_start(struct apird *d, void **priv)
{
	struct unix_listener *l = calloc(1, sizeof(*l));
	int rc;

	if (!l)
		return -ENOMEM;
	l->fd = apird_socket_listen(d->cfg.socket_path, &l->st);
	if (l->fd < 0) {
		rc = l->fd;
		apir_err("cannot listen on %s: %s", d->cfg.socket_path, strerror(-rc));
		free(l);
		return rc;
	}
	l->watch.ready = listen_ready;
	rc = apird_watch_add(d, l->fd, EPOLLIN, &l->watch);
	if (rc) {
		unix_listener_stop(d, l);
		return rc;
	}
	*priv = l;
	return 0;
}

const struct apird_listener_ops apird_unix_listener = {
	.name = "unix",
	.start = unix_listener_start,
	.stop = unix_listener_stop,
};
