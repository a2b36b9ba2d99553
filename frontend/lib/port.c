/* SPDX-License-Identifier: MIT */
/*
 * The virtio-serial port of port.h. One mutex guards the waiter slot and
 * the event table; writes have their own lock so a doorbell frame from a
 * data-path thread never waits for a control call's response.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "apir.pb-c.h"
#include "apir/array.h"
#include "apir/log.h"
#include "apir/ring.h"
#include "apir/stream.h"
#include "apir/wire.h"
#include "port.h"

struct port_channel {
	uint32_t handle;
	int fd;
};

struct apir_port {
	int fd;
	pthread_t reader;
	pthread_mutex_t write_lock;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool dead;
	bool claimed;
	uint64_t want_id;            /* 0: nobody waits */
	uint8_t *reply;              /* the awaited response, once it came */
	size_t reply_len;
	int async_fd;
	struct port_channel *channels;
	size_t num_channels, channels_cap;
	bool warned_stray;
};

int apir_port_fd(const struct apir_port *p)
{
	return p->fd;
}

static void close_event_fds(struct apir_port *p)
{
	for (size_t i = 0; i < p->num_channels; i++)
		close(p->channels[i].fd);
	p->num_channels = 0;
	if (p->async_fd >= 0)
		close(p->async_fd);
	p->async_fd = -1;
}

/* The port is gone for good: waiters fail, event pipes read EOF. */
static void port_die(struct apir_port *p, int err)
{
	pthread_mutex_lock(&p->lock);
	if (!p->dead)
		apir_warn("virtio-serial port to apird lost: %s", strerror(err));
	p->dead = true;
	close_event_fds(p);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void write_record(int fd, const void *rec, size_t len, const char *what)
{
	ssize_t n = fd >= 0 ? write(fd, rec, len) : -1;

	if (n != (ssize_t)len)
		apir_dbg("%s event dropped (%s)", what, fd < 0 ? "nobody listens" : strerror(errno));
}

static int channel_fd(const struct apir_port *p, uint32_t handle)
{
	for (size_t i = 0; i < p->num_channels; i++)
		if (p->channels[i].handle == handle)
			return p->channels[i].fd;
	return -1;
}

static void deliver_event(struct apir_port *p, const Apir__Event *ev)
{
	pthread_mutex_lock(&p->lock);
	if (ev->async) {
		struct apir_async_event_rec rec = {
			.event_type = ev->event_type,
			.obj_kind = ev->obj_kind,
			.obj_handle = ev->obj_handle,
		};

		write_record(p->async_fd, &rec, sizeof(rec), "async");
	} else {
		struct apir_cq_event_rec rec = { .cq_handle = ev->cq };

		write_record(channel_fd(p, ev->channel), &rec, sizeof(rec), "completion");
	}
	pthread_mutex_unlock(&p->lock);
}

/* Hands the payload to the waiting call; false when nobody waits for id. */
static bool deliver_reply(struct apir_port *p, uint64_t id, uint8_t *payload, size_t len)
{
	bool taken;

	pthread_mutex_lock(&p->lock);
	taken = id != 0 && id == p->want_id && !p->reply;
	if (taken) {
		p->reply = payload;
		p->reply_len = len;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return taken;
}

static void dispatch(struct apir_port *p, uint8_t *payload, size_t len)
{
	Apir__Response *r = apir__response__unpack(NULL, len, payload);

	if (r && r->id == 0 && r->body_case == APIR__RESPONSE__BODY_EVENT)
		deliver_event(p, r->event);
	else if (r && deliver_reply(p, r->id, payload, len))
		payload = NULL;
	else if (!p->warned_stray) {
		p->warned_stray = true;
		apir_warn("apird sent a frame nobody waits for (%s): dropped",
			  r ? "unexpected id" : "undecodable");
	}
	if (r)
		apir__response__free_unpacked(r, NULL);
	free(payload);
}

static int drain_frames(struct apir_port *p, struct apir_stream_rx *rx)
{
	uint8_t *payload;
	size_t len;
	int rc;

	while ((rc = apir_stream_next(rx, &payload, &len)) == 1)
		dispatch(p, payload, len);
	return rc < 0 ? -rc : 0;
}

static void *port_reader(void *arg)
{
	struct apir_port *p = arg;
	struct apir_stream_rx rx = { 0 };
	uint8_t buf[16384];
	int err = 0;

	while (!err) {
		ssize_t n = read(p->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = n == 0 ? ECONNRESET : errno;
		else if (!(err = apir_stream_feed(&rx, buf, (size_t)n)))
			err = drain_frames(p, &rx);
	}
	if (rx.skipped)
		apir_warn("skipped %llu bytes of garbage on the port", (unsigned long long)rx.skipped);
	apir_stream_rx_free(&rx);
	port_die(p, err);
	return NULL;
}

int apir_port_start(int fd, struct apir_port **out)
{
	struct apir_port *p = calloc(1, sizeof(*p));
	sigset_t all, old;
	int rc;

	if (!p)
		return ENOMEM;
	p->fd = fd;
	p->async_fd = -1;
	pthread_mutex_init(&p->write_lock, NULL);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	/* The application's signals are not for the reader. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&p->reader, NULL, port_reader, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void apir_port_stop(struct apir_port *p)
{
	shutdown(p->fd, SHUT_RDWR);
	pthread_join(p->reader, NULL);
	close(p->fd);
	pthread_mutex_lock(&p->lock);
	close_event_fds(p);
	free(p->reply);
	pthread_mutex_unlock(&p->lock);
	free(p->channels);
	free(p);
}

static int write_all(int fd, struct iovec *iov, int cnt)
{
	while (cnt) {
		ssize_t n = writev(fd, iov, cnt);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -EIO : -errno;
		while (cnt && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

int apir_port_send(struct apir_port *p, const void *payload, size_t len)
{
	uint8_t hdr[APIR_STREAM_HDR];
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	int rc;

	if (len > APIR_MAX_FRAME)
		return -EMSGSIZE;
	if (apir_port_dead(p))
		return -EIO;
	apir_stream_header(hdr, (uint32_t)len);
	pthread_mutex_lock(&p->write_lock);
	rc = write_all(p->fd, iov, 2);
	pthread_mutex_unlock(&p->write_lock);
	return rc;
}

void apir_port_expect(struct apir_port *p, uint64_t id)
{
	pthread_mutex_lock(&p->lock);
	p->want_id = id;
	free(p->reply);
	p->reply = NULL;
	pthread_mutex_unlock(&p->lock);
}

int apir_port_wait(struct apir_port *p, uint8_t **payload, size_t *len)
{
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	while (!p->reply && !p->dead)
		pthread_cond_wait(&p->cond, &p->lock);
	if (p->reply) {
		*payload = p->reply;
		*len = p->reply_len;
		p->reply = NULL;
	} else {
		rc = -EIO;
	}
	p->want_id = 0;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

bool apir_port_dead(struct apir_port *p)
{
	bool dead;

	pthread_mutex_lock(&p->lock);
	dead = p->dead;
	pthread_mutex_unlock(&p->lock);
	return dead;
}

/* Event fds never block the reader: a full pipe drops the record. A dead
 * port takes none (closing it is what apird's death looks like: EOF). */
static bool event_fd_adopt(struct apir_port *p, int fd)
{
	if (!p->dead && fcntl(fd, F_SETFL, O_NONBLOCK) == 0)
		return true;
	close(fd);
	return false;
}

int apir_port_set_channel(struct apir_port *p, uint32_t handle, int write_end)
{
	struct port_channel *c;
	int rc;

	pthread_mutex_lock(&p->lock);
	rc = 0;
	if (!event_fd_adopt(p, write_end)) {
		rc = EIO;
		goto out;
	}
	for (size_t i = 0; i < p->num_channels; i++)
		if (p->channels[i].handle == handle) {
			close(p->channels[i].fd);
			p->channels[i].fd = write_end;
			goto out;
		}
	c = apir_array_grow(p->channels, &p->channels_cap, p->num_channels + 1, sizeof(*c));
	if (!c) {
		close(write_end);
		rc = ENOMEM;
		goto out;
	}
	p->channels = c;
	c[p->num_channels++] = (struct port_channel){ .handle = handle, .fd = write_end };
out:
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void apir_port_clear_channel(struct apir_port *p, uint32_t handle)
{
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->num_channels; i++)
		if (p->channels[i].handle == handle) {
			close(p->channels[i].fd);
			p->channels[i] = p->channels[--p->num_channels];
			break;
		}
	pthread_mutex_unlock(&p->lock);
}

void apir_port_set_async(struct apir_port *p, int write_end)
{
	pthread_mutex_lock(&p->lock);
	if (p->async_fd >= 0)
		close(p->async_fd);
	p->async_fd = -1;
	if (write_end >= 0 && event_fd_adopt(p, write_end))
		p->async_fd = write_end;
	pthread_mutex_unlock(&p->lock);
}

void apir_port_clear_events(struct apir_port *p)
{
	pthread_mutex_lock(&p->lock);
	close_event_fds(p);
	pthread_mutex_unlock(&p->lock);
}

int apir_port_claim(struct apir_port *p)
{
	int rc;

	pthread_mutex_lock(&p->lock);
	rc = p->dead ? EIO : p->claimed ? EBUSY : 0;
	if (!rc)
		p->claimed = true;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void apir_port_release(struct apir_port *p)
{
	pthread_mutex_lock(&p->lock);
	p->claimed = false;
	pthread_mutex_unlock(&p->lock);
}
