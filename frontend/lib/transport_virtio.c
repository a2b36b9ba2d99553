/* SPDX-License-Identifier: MIT */
/*
 * The virtio-serial transport of a guest: apird serves the VM through the
 * port's host end and reads the guest's memory through its RAM file. No fds
 * cross: the session page and the rings are memory this library allocates,
 * locks and names by guest-physical extents, as are registered regions;
 * doorbells are Doorbell frames; completion and async events arrive as
 * Event frames and go to local pipes (port.c).
 *
 * The port is exclusive in the guest and apird takes a new Hello on it as
 * the end of the previous guest process's session, so a process opens it
 * once, keeps it, and carries one context at a time over it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apir/client.h"
#include "apir/log.h"
#include "guest_mem.h"
#include "port.h"

static struct {
	pthread_mutex_t lock;
	struct apir_port *port;
} process_port = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The connection's port (what virtio_open put in its priv). */
static struct apir_port *conn_port(const struct apir_conn *c)
{
	return c->priv;
}

static bool virtio_present(const char *path)
{
	struct stat st;

	return path[0] && stat(path, &st) == 0 && S_ISCHR(st.st_mode);
}

static int port_get(const char *path, struct apir_port **out)
{
	int rc = 0, fd;

	pthread_mutex_lock(&process_port.lock);
	if (!process_port.port) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			rc = errno;
		else if ((rc = apir_port_start(fd, &process_port.port)))
			close(fd);
	}
	*out = process_port.port;
	pthread_mutex_unlock(&process_port.lock);
	return rc;
}

/* Responses to a previous guest process may still be in the port; request
 * ids that start somewhere random keep them from passing for ours. */
static uint64_t first_request_id(void)
{
	uint64_t id;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	return (id >> 1) | 1;   /* never 0 (Events), far from wrapping */
}

static int virtio_open(struct apir_conn *c, const char *path)
{
	struct apir_port *p;
	int rc = port_get(path, &p);

	if (!rc)
		rc = apir_port_claim(p);
	if (rc) {
		apir_dbg("virtio-serial port %s: %s", path, strerror(rc));
		return rc;
	}
	c->priv = p;
	c->sock = apir_port_fd(p);
	c->next_id = first_request_id();
	return 0;
}

static void virtio_close(struct apir_conn *c)
{
	apir_port_release(conn_port(c));
	c->priv = NULL;
	c->sock = -1;
}

static int virtio_send(struct apir_conn *c, uint64_t id, const void *buf, size_t len,
		       const int *fds, unsigned int num_fds)
{
	(void)fds;
	if (num_fds)
		return -EINVAL;   /* callers send fds only where channel_fds says so */
	apir_port_expect(conn_port(c), id);
	return apir_port_send(conn_port(c), buf, len);
}

static int virtio_recv(struct apir_conn *c, uint64_t id, struct apir_frame *f)
{
	(void)id;   /* announced by virtio_send */
	f->num_fds = 0;
	return apir_port_wait(conn_port(c), &f->buf, &f->len);
}

static bool virtio_hung_up(struct apir_conn *c)
{
	return apir_port_dead(conn_port(c));
}

static int virtio_hello_prepare(struct apir_session *s, Apir__Hello *hello)
{
	struct apir_gpa_list gpa;
	void *page = apir_guest_area_alloc(APIR_PAGE_SIZE);
	int rc;

	hello->transport = "virtio-serial";
	if (!page)
		return errno;
	s->page = page;
	rc = apir_gpa_translate(page, APIR_PAGE_SIZE, &gpa);
	if (rc)
		return rc;
	hello->session_page = gpa.ext;
	hello->n_session_page = gpa.n;
	return 0;
}

static int virtio_hello_finish(struct apir_session *s, Apir__Hello *hello, int rc,
			       const int *fds, unsigned int num_fds)
{
	struct apir_gpa_list gpa = { .ext = hello->session_page, .n = hello->n_session_page };
	int p[2];

	(void)fds;
	apir_gpa_list_free(&gpa);
	hello->session_page = NULL;
	hello->n_session_page = 0;
	if (rc)
		return rc;
	if (num_fds)
		return EPROTO;   /* conn.c closed them */
	/* apird took our Hello: no earlier process's session is left. */
	apir_guest_area_reap();
	if (pipe2(p, O_CLOEXEC))
		return errno;
	apir_port_set_async(conn_port(&s->conn), p[1]);
	s->async_fd = p[0];
	return 0;
}

static void virtio_session_end(struct apir_session *s)
{
	apir_guest_area_free(s->page, APIR_PAGE_SIZE);
	s->page = NULL;
	if (s->async_fd >= 0)
		close(s->async_fd);
	s->async_fd = -1;
	if (conn_port(&s->conn))
		apir_port_clear_events(conn_port(&s->conn));
}

static void virtio_doorbell(struct apir_session *s)
{
	Apir__Doorbell body = APIR__DOORBELL__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	uint8_t buf[16];
	size_t len;

	req.body_case = APIR__REQUEST__BODY_DOORBELL;
	req.doorbell = &body;
	len = apir__request__pack(&req, buf);
	/* A dead port fails the next call; the doorbell has nobody to wake. */
	(void)apir_port_send(conn_port(&s->conn), buf, len);
}

static int virtio_channel_attach(struct apir_session *s, uint32_t handle, int write_end)
{
	return apir_port_set_channel(conn_port(&s->conn), handle, write_end);
}

static void virtio_channel_detach(struct apir_session *s, uint32_t handle)
{
	apir_port_clear_channel(conn_port(&s->conn), handle);
}

static int virtio_area_prepare(struct apir_area *a)
{
	int rc;

	a->base = apir_guest_area_alloc(a->len);
	if (!a->base)
		return errno;
	rc = apir_gpa_translate(a->base, a->len, &a->gpa);
	if (rc) {
		apir_guest_area_free(a->base, a->len);
		a->base = NULL;
	}
	return rc;
}

static void virtio_area_discard(struct apir_area *a)
{
	apir_gpa_list_free(&a->gpa);
	apir_guest_area_free(a->base, a->len);
	a->base = NULL;
}

static void *virtio_area_finish(struct apir_area *a, uint64_t area_size)
{
	void *base = a->base;

	if (area_size != a->len) {
		apir_warn("apird says the shared area is %llu bytes, we gave %zu",
			  (unsigned long long)area_size, a->len);
		virtio_area_discard(a);
		errno = EPROTO;
		return NULL;
	}
	apir_gpa_list_free(&a->gpa);
	a->base = NULL;
	return base;
}

static int virtio_mem_acquire(void *addr, size_t len, struct apir_mem_ref *ref)
{
	ref->fd = -1;
	ref->offset = (uintptr_t)addr & (APIR_PAGE_SIZE - 1);
	return apir_gpa_translate(addr, len, &ref->pages);
}

static void virtio_mem_ref_free(struct apir_mem_ref *ref)
{
	apir_gpa_list_free(&ref->pages);
}

/* Pages stay locked: registrations may overlap and mlock does not count. */
static void virtio_mem_release(void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

const struct apir_transport apir_transport_virtio = {
	.name = "virtio-serial",
	.ring_fds = 0,
	.channel_fds = 0,
	.present = virtio_present,
	.open = virtio_open,
	.close = virtio_close,
	.send = virtio_send,
	.recv = virtio_recv,
	.hung_up = virtio_hung_up,
	.hello_prepare = virtio_hello_prepare,
	.hello_finish = virtio_hello_finish,
	.session_end = virtio_session_end,
	.doorbell = virtio_doorbell,
	.channel_attach = virtio_channel_attach,
	.channel_detach = virtio_channel_detach,
	.area_prepare = virtio_area_prepare,
	.area_finish = virtio_area_finish,
	.area_discard = virtio_area_discard,
	.mem_acquire = virtio_mem_acquire,
	.mem_ref_free = virtio_mem_ref_free,
	.mem_release = virtio_mem_release,
};
