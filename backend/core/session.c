/* SPDX-License-Identifier: MIT */
/*
 * Sessions: one per control connection. A session owns the fds it shares
 * with its frontend (session page, doorbell, async event pipe) and every
 * object created through it; closing it releases all of them, whether the
 * frontend said goodbye or was SIGKILLed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apir/log.h"
#include "dispatch.h"
#include "session.h"
#include "vm.h"

/* Feature bits this apird offers in the handshake. */
#define APIRD_FEATURES APIR_FEAT_ALL

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static void session_sock_ready(struct apird *d, struct apird_watch *w, uint32_t events);
static void session_doorbell_ready(struct apird *d, struct apird_watch *w, uint32_t events);

static void session_tables_init(struct apird_session *s)
{
	apird_table_init(&s->pds, APIRD_MAX_PD);
	apird_table_init(&s->mrs, APIRD_MAX_MR);
	apird_table_init(&s->channels, APIRD_MAX_CQ);
	apird_table_init(&s->cqs, APIRD_MAX_CQ);
	apird_table_init(&s->srqs, APIRD_MAX_SRQ);
	apird_table_init(&s->qps, APIRD_MAX_QP);
	apird_table_init(&s->ahs, APIRD_MAX_AH);
}

static void session_tables_fini(struct apird_session *s)
{
	apird_table_fini(&s->pds);
	apird_table_fini(&s->mrs);
	apird_table_fini(&s->channels);
	apird_table_fini(&s->cqs);
	apird_table_fini(&s->srqs);
	apird_table_fini(&s->qps);
	apird_table_fini(&s->ahs);
}

/* The fds and page the handshake hands out. */
static int session_open_shared(struct apird_session *s)
{
	void *page;
	int p[2];
	int rc;

	rc = apird_area_create("apir-session", APIR_PAGE_SIZE, &s->page_fd, &page);
	if (rc)
		return rc;
	s->page = page;
	s->doorbell_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->doorbell_fd < 0)
		return -errno;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	s->async_read_fd = p[0];
	s->async_fd = p[1];
	if (fcntl(s->async_fd, F_SETFL, O_NONBLOCK) || fcntl(s->sock, F_SETFL, O_NONBLOCK))
		return -errno;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void session_close_shared(struct apird_session *s)
{
	close_fd(&s->sock);
	close_fd(&s->doorbell_fd);
	close_fd(&s->async_fd);
	close_fd(&s->page_fd);
	close_fd(&s->async_read_fd);
	if (s->page)
		munmap(s->page, APIR_PAGE_SIZE);
	s->page = NULL;
}

static void session_link(struct apird_session **list, struct apird_session *s)
{
	s->prev = NULL;
	s->next = *list;
	if (*list)
		(*list)->prev = s;
	*list = s;
}

static void session_unlink(struct apird_session **list, struct apird_session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*list = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

static struct apird_session *session_alloc(struct apird *d, int sock)
{
	struct apird_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->d = d;
	s->sock = sock;
	s->doorbell_fd = s->async_fd = s->page_fd = s->async_read_fd = -1;
	snprintf(s->client, sizeof(s->client), "?");
	session_tables_init(s);
	return s;
}

static void session_register(struct apird_session *s)
{
	s->id = s->d->ctl->next_session_id++;
	session_link(&s->d->ctl->sessions, s);
}

/* The VM connection's reader serves it; its page comes with Hello. */
struct apird_session *apird_session_create_vm(struct apird *d, struct apird_vm_conn *vm)
{
	struct apird_session *s = session_alloc(d, -1);

	if (!s)
		return NULL;
	s->vm = vm;
	session_register(s);
	apir_dbg("session %llu: new guest process on vm %s", (unsigned long long)s->id,
		 vm->vm->cfg.name);
	return s;
}

struct apird_session *apird_session_create(struct apird *d, int sock)
{
	struct apird_session *s = session_alloc(d, sock);
	int rc;

	if (!s) {
		close(sock);
		return NULL;
	}
	s->sock_watch.ready = session_sock_ready;
	s->doorbell_watch.ready = session_doorbell_ready;
	rc = session_open_shared(s);
	if (!rc)
		rc = apird_watch_add(d, s->sock, EPOLLIN | EPOLLRDHUP | EPOLLET, &s->sock_watch);
	if (!rc) {
		rc = apird_watch_add(d, s->doorbell_fd, EPOLLIN, &s->doorbell_watch);
		if (rc)
			apird_watch_del(d, s->sock);
	}
	if (rc) {
		apir_err("new session: %s", strerror(-rc));
		session_close_shared(s);
		session_tables_fini(s);
		free(s);
		return NULL;
	}
	session_register(s);
	apir_dbg("session %llu: connection accepted", (unsigned long long)s->id);
	return s;
}

/* Length of the frame at the head of the socket if all of it has arrived,
 * 0 if not yet, -1 if the peer announced an oversized frame. Reading a
 * frame only once it is complete keeps a slow or hostile frontend from
 * stalling the single apird thread in the middle of a frame. */
static long complete_frame_len(struct apird_session *s)
{
	uint8_t hdr[4];
	int queued = 0;
	uint32_t len;

	if (ioctl(s->sock, FIONREAD, &queued) || queued < (int)sizeof(hdr))
		return 0;
	if (recv(s->sock, hdr, sizeof(hdr), MSG_PEEK | MSG_DONTWAIT) != (ssize_t)sizeof(hdr))
		return 0;
	len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
	      (uint32_t)hdr[3] << 24;
	if (len > APIR_MAX_FRAME)
		return -1;
	return (size_t)queued >= sizeof(hdr) + len ? (long)(sizeof(hdr) + len) : 0;
}

static bool peer_hung_up(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLRDHUP };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

bool apird_session_serve(struct apird_session *s)
{
	for (;;) {
		struct apir_frame f;
		long len = complete_frame_len(s);
		bool keep;
		int rc;

		if (len == 0)
			break;
		if (len < 0) {
			apird_session_close(s, "oversized frame");
			return false;
		}
		rc = apir_frame_recv(s->sock, &f);
		if (rc) {
			apird_session_close(s, rc == -ECONNRESET ? "client disconnected" : "bad frame");
			return false;
		}
		keep = apird_dispatch(s, &f);
		apir_frame_release(&f);
		if (!keep)
			return false;
	}
	if (peer_hung_up(s->sock)) {
		apird_session_close(s, "client disconnected");
		return false;
	}
	return true;
}

static void session_sock_ready(struct apird *d, struct apird_watch *w, uint32_t events)
{
	struct apird_session *s = container_of(w, struct apird_session, sock_watch);

	(void)d;
	(void)events;
	if (!s->closed)
		apird_session_serve(s);
}

/* The wake-up already happened; reset the counter so epoll stops reporting it. */
static void session_doorbell_ready(struct apird *d, struct apird_watch *w, uint32_t events)
{
	struct apird_session *s = container_of(w, struct apird_session, doorbell_watch);
	uint64_t count;

	(void)d;
	(void)events;
	if (!s->closed && read(s->doorbell_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		apir_dbg("session %llu: doorbell read: %s", (unsigned long long)s->id, strerror(errno));
}

/* Hello's strings go into log lines and apirctl's tables: keep only
 * printable ASCII. */
static void copy_printable(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src && src[i] && i + 1 < size; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
	if (i == 0)
		snprintf(dst, size, "?");
}

/* The frontend maps the session page and rings the doorbell; an operator
 * tool only reads status, so it gets none of the data-plane fds. */
static void hello_send_fds(struct apird_call *c)
{
	struct apird_session *s = c->s;

	if (s->admin || s->vm) {
		close_fd(&s->page_fd);
		close_fd(&s->async_read_fd);
		return;
	}
	apird_call_send_fd(c, s->page_fd, true);
	apird_call_send_fd(c, s->doorbell_fd, false);
	apird_call_send_fd(c, s->async_read_fd, true);
	s->page_fd = -1;
	s->async_read_fd = -1;
}

int apird_do_hello(struct apird_call *c)
{
	const Apir__Hello *h = c->req->hello;
	Apir__HelloReply *r = &c->reply.hello;
	struct apird_session *s = c->s;

	if (s->handshaken)
		return apird_fail(c, EPROTO, "Hello was already exchanged on this connection");
	if (h->protocol_version != APIR_PROTOCOL_VERSION) {
		c->close_session = true;
		return apird_fail(c, EPROTONOSUPPORT,
				  "protocol version %u is not supported: this apird speaks version %u",
				  h->protocol_version, APIR_PROTOCOL_VERSION);
	}
	if (s->vm) {
		int rc = h->transport && !strcmp(h->transport, APIR_TRANSPORT_ADMIN) ?
			 apird_fail(c, EPERM, "operator sessions use apird's control socket, "
				    "not a VM's port") :
			 apird_vm_map_session_page(c, h);

		/* The port waits for the guest process's next Hello. */
		c->close_session = rc != 0;
		if (rc)
			return rc;
	}
	copy_printable(s->client, sizeof(s->client), h->client_name);
	copy_printable(s->transport, sizeof(s->transport), h->transport);
	s->admin = strcmp(s->transport, APIR_TRANSPORT_ADMIN) == 0;
	s->pid = h->pid;
	apir__hello_reply__init(r);
	r->protocol_version = APIR_PROTOCOL_VERSION;
	r->features = h->features & APIRD_FEATURES;
	r->session_id = s->id;
	r->server_name = c->d->ctl->cfg.device_name;
	c->resp.body_case = APIR__RESPONSE__BODY_HELLO;
	c->resp.hello = r;
	hello_send_fds(c);
	s->handshaken = true;
	apir_log(s->admin ? APIR_LOG_DEBUG : APIR_LOG_INFO, "session %llu: %s (pid %u, %s) connected",
		 (unsigned long long)s->id, s->client, s->pid, s->transport);
	return 0;
}

#define DESTROY_ALL(s, table, destroy)                                                   \
	for (uint32_t h_ = apird_table_next(&(s)->table, 0); h_;                         \
	     h_ = apird_table_next(&(s)->table, h_))                                     \
		destroy((s), apird_table_get(&(s)->table, h_))

void apird_session_close(struct apird_session *s, const char *why)
{
	struct apird_control *ctl = s->d->ctl;

	if (s->closed)
		return;
	/* A connection that never said Hello (a liveness probe) or an operator
	 * tool asking for status is not news. */
	apir_log(s->handshaken && !s->admin ? APIR_LOG_INFO : APIR_LOG_DEBUG,
		 "session %llu: %s (pid %u) closed (%s): releasing %u QPs, %u CQs, %u SRQs, "
		 "%u MRs, %u PDs, %u AHs, %u completion channels",
		 (unsigned long long)s->id, s->client, s->pid, why, s->qps.count, s->cqs.count,
		 s->srqs.count, s->mrs.count, s->pds.count, s->ahs.count, s->channels.count);
	/* Dependents first: QPs hold CQs, SRQs and PDs; CQs hold channels. */
	DESTROY_ALL(s, qps, apird_qp_destroy);
	DESTROY_ALL(s, ahs, apird_ah_destroy);
	DESTROY_ALL(s, srqs, apird_srq_destroy);
	DESTROY_ALL(s, cqs, apird_cq_destroy);
	DESTROY_ALL(s, mrs, apird_mr_destroy);
	DESTROY_ALL(s, channels, apird_channel_destroy);
	DESTROY_ALL(s, pds, apird_pd_destroy);
	session_tables_fini(s);
	if (s->vm)
		apird_vm_session_closed(s);
	if (s->page)
		atomic_store_explicit(&s->page->device_fatal, 1, memory_order_release);
	if (s->sock >= 0)
		apird_watch_del(s->d, s->sock);
	if (s->doorbell_fd >= 0)
		apird_watch_del(s->d, s->doorbell_fd);
	session_close_shared(s);
	session_unlink(&ctl->sessions, s);
	session_link(&ctl->closed, s);
	s->closed = true;
}

void apird_sessions_reap(struct apird *d)
{
	while (d->ctl->closed) {
		struct apird_session *s = d->ctl->closed;

		session_unlink(&d->ctl->closed, s);
		free(s);
	}
}

void apird_session_fatal(struct apird_session *s)
{
	if (s->page)
		atomic_store_explicit(&s->page->device_fatal, 1, memory_order_release);
	for (uint32_t h = apird_table_next(&s->qps, 0); h; h = apird_table_next(&s->qps, h)) {
		struct apird_qp *qp = apird_table_get(&s->qps, h);

		if (qp->state != IBV_QPS_ERR)
			apird_qp_set_state(s->d, qp, IBV_QPS_ERR);
	}
}

void apird_session_set_sleeping(struct apird_session *s, bool sleeping)
{
	if (s->page)
		atomic_store_explicit(&s->page->engine_sleeping, sleeping, memory_order_relaxed);
}

void apird_session_async_event(struct apird_session *s, enum ibv_event_type type,
			       enum apir_obj_kind kind, uint32_t handle)
{
	struct apir_async_event_rec rec = {
		.event_type = (uint32_t)type,
		.obj_kind = (uint32_t)kind,
		.obj_handle = handle,
	};

	if (s->vm) {
		Apir__Event ev = APIR__EVENT__INIT;

		ev.async = true;
		ev.event_type = (uint32_t)type;
		ev.obj_kind = (uint32_t)kind;
		ev.obj_handle = handle;
		apird_vm_send_event(s->vm, &ev);
		return;
	}

	/* Records are smaller than PIPE_BUF: a write is all or nothing. */
	if (s->async_fd < 0 || write(s->async_fd, &rec, sizeof(rec)) == (ssize_t)sizeof(rec))
		return;
	if (errno == EAGAIN && !s->async_full_logged) {
		s->async_full_logged = true;
		apir_warn("session %llu: async event pipe full, dropping events (the application "
			  "does not read them)", (unsigned long long)s->id);
	}
}

struct apird_ah *apird_ah_lookup(struct apird_session *s, uint32_t handle)
{
	return apird_table_get(&s->ahs, handle);
}
