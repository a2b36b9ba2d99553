/* SPDX-License-Identifier: MIT */
/*
 * A unix session: the control connection, the fds apird shares with the
 * frontend (session page, doorbell, async event pipe) and the transport
 * ops that carry its responses and events.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apir/log.h"
#include "dispatch.h"
#include "session.h"
#include "unix.h"
#include "unix_conn.h"
#include "util.h"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void conn_close_fds(struct unix_conn *u)
{
	close_fd(&u->sock);
	close_fd(&u->doorbell_fd);
	close_fd(&u->async_fd);
	close_fd(&u->page_fd);
	close_fd(&u->async_read_fd);
}

/* The fds and page the handshake hands out. */
static int conn_open_shared(struct unix_conn *u, void **page)
{
	int p[2];
	int rc;

	rc = apird_area_create("apir-session", APIR_PAGE_SIZE, &u->page_fd, page);
	if (rc)
		return rc;
	u->doorbell_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->doorbell_fd < 0)
		return -errno;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	u->async_read_fd = p[0];
	u->async_fd = p[1];
	if (fcntl(u->async_fd, F_SETFL, O_NONBLOCK) || fcntl(u->sock, F_SETFL, O_NONBLOCK))
		return -errno;
	return 0;
}

/* Length of the frame at the head of the socket if all of it has arrived,
 * 0 if not yet, -1 if the peer announced an oversized frame. Reading a
 * frame only once it is complete keeps a slow or hostile frontend from
 * stalling the single apird thread in the middle of a frame. */
static long complete_frame_len(int sock)
{
	uint8_t hdr[4];
	int queued = 0;
	uint32_t len;

	if (ioctl(sock, FIONREAD, &queued) || queued < (int)sizeof(hdr))
		return 0;
	if (recv(sock, hdr, sizeof(hdr), MSG_PEEK | MSG_DONTWAIT) != (ssize_t)sizeof(hdr))
		return 0;
	len = apir_get_le32(hdr);
	if (len > APIR_MAX_FRAME)
		return -1;
	return (size_t)queued >= sizeof(hdr) + len ? (long)(sizeof(hdr) + len) : 0;
}

static bool peer_hung_up(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLRDHUP };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

bool apird_unix_session_serve(struct apird_session *s)
{
	struct unix_conn *u = unix_conn_of(s);

	for (;;) {
		struct apir_frame f;
		long len = complete_frame_len(u->sock);
		bool keep;
		int rc;

		if (len == 0)
			break;
		if (len < 0) {
			apird_session_close(s, "oversized frame");
			return false;
		}
		rc = apir_frame_recv(u->sock, &f);
		if (rc) {
			apird_session_close(s, rc == -ECONNRESET ? "client disconnected" : "bad frame");
			return false;
		}
		keep = apird_dispatch(s, &f);
		apir_frame_release(&f);
		if (!keep)
			return false;
	}
	if (peer_hung_up(u->sock)) {
		apird_session_close(s, "client disconnected");
		return false;
	}
	return true;
}

static void sock_ready(struct apird *d, struct apird_watch *w, uint32_t events)
{
	struct unix_conn *u = container_of(w, struct unix_conn, sock_watch);

	(void)d;
	(void)events;
	if (!u->s->closed)
		apird_unix_session_serve(u->s);
}

/* The wake-up already happened; reset the counter so epoll stops reporting it. */
static void doorbell_ready(struct apird *d, struct apird_watch *w, uint32_t events)
{
	struct unix_conn *u = container_of(w, struct unix_conn, doorbell_watch);
	uint64_t count;

	(void)d;
	(void)events;
	if (!u->s->closed && read(u->doorbell_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		apir_dbg("session %llu: doorbell read: %s", (unsigned long long)u->s->id,
			 strerror(errno));
}

static int conn_watch(struct apird *d, struct unix_conn *u)
{
	int rc;

	u->sock_watch.ready = sock_ready;
	u->doorbell_watch.ready = doorbell_ready;
	rc = apird_watch_add(d, u->sock, EPOLLIN | EPOLLRDHUP | EPOLLET, &u->sock_watch);
	if (rc)
		return rc;
	rc = apird_watch_add(d, u->doorbell_fd, EPOLLIN, &u->doorbell_watch);
	if (rc)
		apird_watch_del(d, u->sock);
	return rc;
}

struct apird_session *apird_unix_session_create(struct apird *d, int sock)
{
	struct unix_conn *u = calloc(1, sizeof(*u));
	void *page = NULL;
	int rc;

	if (!u) {
		close(sock);
		return NULL;
	}
	u->sock = sock;
	u->doorbell_fd = u->async_fd = u->page_fd = u->async_read_fd = -1;
	rc = conn_open_shared(u, &page);
	if (!rc)
		rc = conn_watch(d, u);
	if (!rc) {
		u->s = apird_session_new(d, &apird_unix_transport, u);
		rc = u->s ? 0 : -ENOMEM;
		if (rc) {
			apird_watch_del(d, u->sock);
			apird_watch_del(d, u->doorbell_fd);
		}
	}
	if (rc) {
		apir_err("new session: %s", strerror(-rc));
		if (page)
			munmap(page, APIR_PAGE_SIZE);
		conn_close_fds(u);
		free(u);
		return NULL;
	}
	u->s->page = page;
	return u->s;
}

static int unix_send(struct apird_session *s, const void *buf, size_t len, const int *fds,
		     unsigned int num_fds)
{
	return apir_frame_send(unix_conn_of(s)->sock, buf, len, fds, num_fds);
}

/* Records are smaller than PIPE_BUF: a write is all or nothing. A full
 * pipe means the application stopped reading events it asked for: the
 * event is dropped (a later one wakes it just the same). */
static void unix_notify(struct apird_session *s, uint32_t sink, const void *rec, size_t len)
{
	struct unix_conn *u = unix_conn_of(s);
	int fd = sink == APIRD_SINK_ASYNC ? u->async_fd : (int)sink - 1;

	if (fd < 0 || write(fd, rec, len) == (ssize_t)len)
		return;
	if (sink != APIRD_SINK_ASYNC)
		apir_dbg("session %llu: channel event dropped: %s", (unsigned long long)s->id,
			 strerror(errno));
	else if (errno == EAGAIN)
		apird_session_events_dropped(s, "async event pipe full");
}

/* The frontend maps the session page and rings the doorbell; an operator
 * tool only reads status, so it gets none of the data-plane fds. */
static int unix_hello(struct apird_call *c, const Apir__Hello *h, bool data_plane)
{
	struct unix_conn *u = unix_conn_of(c->s);

	(void)h;
	if (!data_plane) {
		close_fd(&u->page_fd);
		close_fd(&u->async_read_fd);
		return 0;
	}
	apird_call_send_fd(c, u->page_fd, true);
	apird_call_send_fd(c, u->doorbell_fd, false);
	apird_call_send_fd(c, u->async_read_fd, true);
	u->page_fd = -1;
	u->async_read_fd = -1;
	return 0;
}

static int check_pipe_write_end(struct apird_call *c, int fd)
{
	struct stat st;
	int flags = fcntl(fd, F_GETFL);

	if (fstat(fd, &st) || !S_ISFIFO(st.st_mode))
		return apird_fail(c, EINVAL, "a completion channel fd must be a pipe");
	if (flags < 0 || (flags & O_ACCMODE) == O_RDONLY)
		return apird_fail(c, EINVAL, "a completion channel fd must be the pipe's write end");
	if (fcntl(fd, F_SETFL, flags | O_NONBLOCK))
		return apird_fail(c, errno, "cannot make the pipe non-blocking");
	return 0;
}

/* The frontend keeps the read end of a pipe and gives apird the write end;
 * the sink is that fd + 1 (0 is the async sink, and may be an fd). */
static int unix_sink_open(struct apird_call *c, uint32_t handle, uint32_t *sink)
{
	int rc = check_pipe_write_end(c, c->in->fds[0]);

	(void)handle;
	if (rc)
		return rc;
	*sink = (uint32_t)apird_call_take_fd(c, 0) + 1;
	return 0;
}

static void unix_sink_close(struct apird_session *s, uint32_t sink)
{
	(void)s;
	close((int)sink - 1);
}

static void unix_session_closed(struct apird_session *s)
{
	struct unix_conn *u = unix_conn_of(s);

	apird_watch_del(s->d, u->sock);
	apird_watch_del(s->d, u->doorbell_fd);
	conn_close_fds(u);
	/* A frontend still running learns that its session is gone. */
	if (s->page) {
		atomic_store_explicit(&s->page->device_fatal, 1, memory_order_release);
		munmap(s->page, APIR_PAGE_SIZE);
	}
	s->page = NULL;
	s->conn = NULL;
	free(u);
}

const struct apird_transport_ops apird_unix_transport = {
	.name = "unix",
	.carries_fds = true,
	.send = unix_send,
	.notify = unix_notify,
	.hello = unix_hello,
	.sink_open = unix_sink_open,
	.sink_close = unix_sink_close,
	.area_open = unix_area_open,
	.area_close = unix_area_close,
	.mem_map = unix_mem_map,
	.session_closed = unix_session_closed,
};
