/* SPDX-License-Identifier: MIT */
/*
 * QEMU's monitor (QMP) of one VM, which apird uses to learn that the guest
 * process holding apir's port closed it or died. A socket chardev never
 * tells its host end, so without this such a process keeps its session
 * until the next Hello or until the VM powers off. QEMU connects to a
 * socket apird listens on (-chardev socket,...,reconnect=1 -mon
 * chardev=...,mode=control), like the port's chardev.
 *
 * The VSERPORT_CHANGE event alone cannot be trusted with a session: QEMU
 * throttles it to one per second per port, delaying it by up to a second
 * and keeping only the latest, so a close can arrive after the next
 * process's Hello, or be replaced by that process's open. apird therefore
 * takes the event as a hint and asks QEMU for the port's state now
 * (query-chardev: "frontend-open" of the port's chardev, which QEMU sets
 * as the guest opens and closes the port, unthrottled); only "closed" ends
 * the session. QEMU answers a query before it handles the guest's next
 * open() of the port, and apird reads the monitor before it serves any
 * Hello, so an answer is never applied to a process that opened the port
 * after it. The chardev's id is asked for once per connection (qom-get of
 * the port device's "chardev"), so any QEMU command line works that gives
 * the port the id org.apir.0.
 *
 * A dead process's session can still be written into by apird (docs/VM.md,
 * "A guest process that dies"), so the event's second of delay is too
 * long: while a session lives, apird also asks every POLL_MS.
 *
 * apird sends qmp_capabilities, that qom-get and query-chardev, nothing
 * else.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "apir/log.h"
#include "apir/wire.h"
#include "socket_file.h"
#include "util.h"
#include "vm.h"


/* How often a live session's port state is asked for: the bound on how
 * long a dead process's session outlives it, at 10 cheap queries a second. */
#define POLL_MS 100

/* Command ids: the replies carry them back. */
#define ID_CHARDEV "chardev"
#define ID_STATE "state"

static const char hello_cmds[] =
	"{\"execute\": \"qmp_capabilities\"}\r\n"
	"{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"/machine/peripheral/"
	APIR_VIRTIO_PORT_NAME "\", \"property\": \"chardev\"}, \"id\": \"" ID_CHARDEV "\"}\r\n";
static const char state_cmd[] = "{\"execute\": \"query-chardev\", \"id\": \"" ID_STATE "\"}\r\n";

/* Arms (or with on false, stops) the poll timer. */
static void poll_timer(struct apird_vm *vm, bool on)
{
	struct itimerspec t = { .it_value.tv_nsec = on ? POLL_MS * 1000000L : 0 };

	t.it_interval = t.it_value;
	if (vm->qmp.timer_fd >= 0)
		timerfd_settime(vm->qmp.timer_fd, 0, &t, NULL);
}

static void timer_close(struct apird_vm *vm)
{
	if (vm->qmp.timer_fd < 0)
		return;
	apird_watch_del(vm->d, vm->qmp.timer_fd);
	close(vm->qmp.timer_fd);
	vm->qmp.timer_fd = -1;
}

static void qmp_disconnect(struct apird_vm *vm, const char *why)
{
	timer_close(vm);
	apird_watch_del(vm->d, vm->qmp.fd);
	close(vm->qmp.fd);
	vm->qmp.fd = -1;
	vm->qmp.len = 0;
	vm->qmp.skipping = false;
	vm->qmp.chardev[0] = '\0';
	apir_info("vm %s: QEMU's monitor disconnected (%s)", vm->cfg.name, why);
}

/* Commands are a few short lines on a socket apird reads promptly: a
 * socket buffer that cannot take one means the monitor is stuck. */
static void qmp_send(struct apird_vm *vm, const char *cmds, size_t len)
{
	if (send(vm->qmp.fd, cmds, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len)
		qmp_disconnect(vm, "a command could not be sent");
}

static void port_changed(struct apird_vm *vm, const struct apird_qmp_msg *m)
{
	if (strcmp(m->event, "VSERPORT_CHANGE") || strcmp(m->data_id, APIR_VIRTIO_PORT_NAME))
		return;
	apir_dbg("vm %s: the guest %s the port (QMP event)", vm->cfg.name,
		 m->data_open ? "opened" : "closed");
	if (vm->qmp.chardev[0])
		qmp_send(vm, state_cmd, sizeof(state_cmd) - 1);
}

static void command_done(struct apird_vm *vm, const struct apird_qmp_msg *m)
{
	if (!strcmp(m->id, ID_CHARDEV) && m->return_str[0]) {
		snprintf(vm->qmp.chardev, sizeof(vm->qmp.chardev), "%s", m->return_str);
		apir_info("vm %s: QEMU's monitor connected (port chardev %s)", vm->cfg.name,
			  vm->qmp.chardev);
	} else if (!strcmp(m->id, ID_STATE) && m->chardev_open == 0) {
		apird_vm_port_closed(vm);
	}
}

static void handle_message(struct apird_vm *vm, const char *text, size_t len)
{
	struct apird_qmp_msg m;

	switch (apird_qmp_parse(text, len, vm->qmp.chardev[0] ? vm->qmp.chardev : NULL, &m)) {
	case APIRD_QMP_EVENT:
		port_changed(vm, &m);
		return;
	case APIRD_QMP_RETURN:
		command_done(vm, &m);
		return;
	case APIRD_QMP_ERROR:
		apir_warn("vm %s: QEMU's monitor refused a command%s: %.*s", vm->cfg.name,
			  strcmp(m.id, ID_CHARDEV) ? "" :
			  " (no port with id " APIR_VIRTIO_PORT_NAME ": dead guest processes are "
			  "cleaned up only at the next Hello)", (int)len, text);
		return;
	case APIRD_QMP_INVALID:
		apir_warn("vm %s: QEMU's monitor sent a line that is not a QMP message", vm->cfg.name);
		return;
	default:
		return;
	}
}

/* Handles the complete lines in the buffer and keeps the rest. A line
 * longer than the buffer is dropped whole (no QMP message apird needs is
 * that long). */
static void handle_lines(struct apird_vm *vm)
{
	struct apird_vm_qmp *q = &vm->qmp;
	size_t start = 0;
	char *nl;

	while (q->fd >= 0 && (nl = memchr(q->line + start, '\n', q->len - start))) {
		size_t end = (size_t)(nl - q->line);

		if (!q->skipping)
			handle_message(vm, q->line + start, end - start);
		q->skipping = false;
		start = end + 1;
	}
	if (q->fd < 0)
		return;
	memmove(q->line, q->line + start, q->len - start);
	q->len -= start;
	if (q->len == sizeof(q->line)) {
		apir_warn("vm %s: an overlong line from QEMU's monitor, dropped", vm->cfg.name);
		q->skipping = true;
		q->len = 0;
	}
}

void apird_vm_qmp_poll(struct apird_vm *vm)
{
	struct apird_vm_qmp *q = &vm->qmp;

	while (q->fd >= 0) {
		ssize_t n = read(q->fd, q->line + q->len, sizeof(q->line) - q->len);

		if (n > 0) {
			q->len += (size_t)n;
			handle_lines(vm);
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			return;
		} else {
			qmp_disconnect(vm, n ? strerror(errno) : "QEMU closed it");
		}
	}
}

void apird_vm_qmp_session_started(struct apird_vm *vm)
{
	poll_timer(vm, true);
}

/* Asks for the port's state while the VM has a session; stops when not. */
static void timer_ready(struct apird *d, struct apird_watch *w, uint32_t events)
{
	struct apird_vm *vm = container_of(w, struct apird_vm, qmp.timer_watch);
	uint64_t expirations;

	(void)d;
	(void)events;
	if (read(vm->qmp.timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	if (!vm->conn || !vm->conn->session) {
		poll_timer(vm, false);
		return;
	}
	if (vm->qmp.chardev[0])
		qmp_send(vm, state_cmd, sizeof(state_cmd) - 1);
}

/* The poll timer of a new monitor connection; without one, only events
 * tell (logged). */
static void timer_open(struct apird_vm *vm)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int rc = fd < 0 ? -errno : apird_watch_add(vm->d, fd, EPOLLIN, &vm->qmp.timer_watch);

	if (!rc) {
		vm->qmp.timer_fd = fd;
		poll_timer(vm, vm->conn && vm->conn->session);
		return;
	}
	apir_warn("vm %s: no poll timer (%s): dead guest processes are noticed up to a "
		  "second late", vm->cfg.name, strerror(-rc));
	if (fd >= 0)
		close(fd);
}

static void qmp_ready(struct apird *d, struct apird_watch *w, uint32_t events)
{
	(void)d;
	(void)events;
	apird_vm_qmp_poll(container_of(w, struct apird_vm, qmp.watch));
}

/* One monitor connection at a time, as for the port. */
static void qmp_accept(struct apird *d, struct apird_watch *w, uint32_t events)
{
	struct apird_vm *vm = container_of(w, struct apird_vm, qmp.listen_watch);
	int fd, rc;

	(void)d;
	(void)events;
	while ((fd = accept4(vm->qmp.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		if (vm->qmp.fd >= 0) {
			apir_warn("vm %s: refusing a second monitor connection on %s", vm->cfg.name,
				  vm->cfg.qmp_path);
			close(fd);
			continue;
		}
		rc = apird_watch_add(vm->d, fd, EPOLLIN | EPOLLRDHUP, &vm->qmp.watch);
		if (rc) {
			apir_warn("vm %s: monitor connection: %s", vm->cfg.name, strerror(-rc));
			close(fd);
			continue;
		}
		vm->qmp.fd = fd;
		timer_open(vm);
		qmp_send(vm, hello_cmds, sizeof(hello_cmds) - 1);
	}
	if (errno != EAGAIN && errno != EINTR)
		apir_warn("vm %s: accept on %s: %s", vm->cfg.name, vm->cfg.qmp_path, strerror(errno));
}

int apird_vm_qmp_listen(struct apird_vm *vm)
{
	int fd, rc;

	if (!vm->cfg.qmp_path[0])
		return 0;
	fd = apird_socket_listen(vm->cfg.qmp_path, &vm->qmp.sock_st);
	if (fd < 0) {
		apir_err("vm %s: cannot listen on %s: %s", vm->cfg.name, vm->cfg.qmp_path,
			 strerror(-fd));
		return fd;
	}
	vm->qmp.listen_fd = fd;
	vm->qmp.listen_watch.ready = qmp_accept;
	vm->qmp.watch.ready = qmp_ready;
	vm->qmp.timer_watch.ready = timer_ready;
	rc = apird_watch_add(vm->d, fd, EPOLLIN, &vm->qmp.listen_watch);
	if (!rc)
		apir_info("vm %s: QEMU's monitor expected on %s", vm->cfg.name, vm->cfg.qmp_path);
	return rc;
}

void apird_vm_qmp_close(struct apird_vm *vm)
{
	if (vm->qmp.fd >= 0)
		qmp_disconnect(vm, "apird is shutting down");
	if (vm->qmp.listen_fd >= 0) {
		apird_watch_del(vm->d, vm->qmp.listen_fd);
		close(vm->qmp.listen_fd);
		apird_socket_unlink(vm->cfg.qmp_path, &vm->qmp.sock_st);
		vm->qmp.listen_fd = -1;
	}
}
