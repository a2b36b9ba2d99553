/* SPDX-License-Identifier: MIT */
/*
 * The unix-socket transport: apird's control socket on the same host.
 * apird creates the shared memory (session page, rings) and sends memfds;
 * the frontend sends its own memory as the process memory file
 * (procmem.c), event channels' pipe write ends, and receives the doorbell
 * eventfd and the async event pipe.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "apir/log.h"
#include "conn.h"
#include "procmem.h"

enum { HELLO_FD_PAGE, HELLO_FD_DOORBELL, HELLO_FD_ASYNC, HELLO_NUM_FDS };
_Static_assert(HELLO_NUM_FDS == APIR_HELLO_FDS, "HelloReply fds");

static bool unix_present(const char *path)
{
	struct stat st;

	return path[0] && stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static int unix_open(struct apir_conn *c, const char *socket_path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return ENAMETOOLONG;
	strcpy(addr.sun_path, socket_path);
	c->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->sock < 0)
		return errno;
	if (connect(c->sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;

		apir_dbg("connect %s: %s", socket_path, strerror(err));
		close(c->sock);
		c->sock = -1;
		return err;
	}
	return 0;
}

static void unix_close(struct apir_conn *c)
{
	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
}

static int unix_send(struct apir_conn *c, uint64_t id, const void *buf, size_t len,
		     const int *fds, unsigned int num_fds)
{
	(void)id;
	return apir_frame_send(c->sock, buf, len, fds, num_fds);
}

/* Calls are serialised, so the next frame is the response (conn.c checks
 * its id). */
static int unix_recv(struct apir_conn *c, uint64_t id, struct apir_frame *f)
{
	(void)id;
	return apir_frame_recv(c->sock, f);
}

/* An idle control socket has nothing to read: readable means EOF or a
 * hang-up (a response racing with this check is data, not EOF). */
static bool unix_hung_up(struct apir_conn *c)
{
	struct pollfd p = { .fd = c->sock, .events = POLLIN };
	char byte;

	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
		return true;
	return recv(c->sock, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static int unix_hello_prepare(struct apir_session *s, Apir__Hello *hello)
{
	(void)s;
	hello->transport = "unix";
	return 0;
}

/* [session page, doorbell, async pipe]. */
static int unix_hello_finish(struct apir_session *s, Apir__Hello *hello, int rc,
			     const int *fds, unsigned int num_fds)
{
	void *page;

	(void)hello;
	if (rc)
		return rc;
	if (num_fds != HELLO_NUM_FDS) {
		apir_warn("malformed handshake reply from apird (%u fds)", num_fds);
		apir_close_fds(fds, num_fds);
		return EPROTO;
	}
	/* Only apird writes the session page: map it read-only. */
	page = mmap(NULL, APIR_PAGE_SIZE, PROT_READ, MAP_SHARED, fds[HELLO_FD_PAGE], 0);
	rc = page == MAP_FAILED ? errno : 0;
	close(fds[HELLO_FD_PAGE]);
	if (rc) {
		close(fds[HELLO_FD_DOORBELL]);
		close(fds[HELLO_FD_ASYNC]);
		return rc;
	}
	s->page = page;
	s->doorbell_fd = fds[HELLO_FD_DOORBELL];
	s->async_fd = fds[HELLO_FD_ASYNC];
	return 0;
}

static void unix_session_end(struct apir_session *s)
{
	if (s->page)
		munmap(s->page, APIR_PAGE_SIZE);
	s->page = NULL;
	if (s->doorbell_fd >= 0)
		close(s->doorbell_fd);
	s->doorbell_fd = -1;
	if (s->async_fd >= 0)
		close(s->async_fd);
	s->async_fd = -1;
}

static void unix_doorbell(struct apir_session *s)
{
	uint64_t one = 1;
	ssize_t rc = write(s->doorbell_fd, &one, sizeof(one));

	(void)rc; /* a full eventfd counter already wakes apird */
}

/* The write end went to apird, which keeps its own copy. */
static int unix_channel_attach(struct apir_session *s, uint32_t handle, int write_end)
{
	(void)s;
	(void)handle;
	close(write_end);
	return 0;
}

static void unix_channel_detach(struct apir_session *s, uint32_t handle)
{
	(void)s;
	(void)handle;
}

/* apird creates ring areas and sends them with the reply. */
static int unix_area_prepare(struct apir_area *a)
{
	(void)a;
	return 0;
}

/* A memfd shorter than the layout would turn ring accesses into SIGBUS. */
static bool area_fd_ok(int fd, uint64_t area_size, size_t expect)
{
	struct stat st;

	if (area_size == expect && fstat(fd, &st) == 0 && (uint64_t)st.st_size >= expect)
		return true;
	apir_warn("apird shared area is %llu bytes, the ring layout needs %zu",
		  (unsigned long long)area_size, expect);
	return false;
}

/* Maps the area's memfd (closed either way) once apird's area_size is the
 * one the ring layout gives. */
static void *unix_area_finish(struct apir_area *a, uint64_t area_size)
{
	int fd = a->fd, err = EPROTO;
	void *p = MAP_FAILED;

	a->fd = -1;
	if (area_fd_ok(fd, area_size, a->len)) {
		p = mmap(NULL, a->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		err = errno;
	}
	close(fd);
	if (p != MAP_FAILED)
		return p;
	errno = err;
	return NULL;
}

static void unix_area_discard(struct apir_area *a)
{
	(void)a;
}

static int unix_mem_acquire(void *addr, size_t len, struct apir_mem_ref *ref)
{
	ref->pages = (struct apir_gpa_list){ 0 };
	return apir_procmem_acquire(addr, len, &ref->fd, &ref->offset);
}

static void unix_mem_ref_free(struct apir_mem_ref *ref)
{
	(void)ref;   /* the memory file stays open for the process */
}

const struct apir_transport apir_transport_unix = {
	.name = "unix",
	.ring_fds = 1,
	.channel_fds = 1,
	.present = unix_present,
	.open = unix_open,
	.close = unix_close,
	.send = unix_send,
	.recv = unix_recv,
	.hung_up = unix_hung_up,
	.hello_prepare = unix_hello_prepare,
	.hello_finish = unix_hello_finish,
	.session_end = unix_session_end,
	.doorbell = unix_doorbell,
	.channel_attach = unix_channel_attach,
	.channel_detach = unix_channel_detach,
	.area_prepare = unix_area_prepare,
	.area_finish = unix_area_finish,
	.area_discard = unix_area_discard,
	.mem_acquire = unix_mem_acquire,
	.mem_ref_free = unix_mem_ref_free,
	.mem_release = apir_procmem_release,
};
