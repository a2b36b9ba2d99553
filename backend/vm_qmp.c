/* SPDX-License-Identifier: MIT */
/*
 * QEMU's monitor (QMP) of one VM, which apird uses for one thing: the
 * VSERPORT_CHANGE event. A socket chardev never tells its host end that
 * the guest closed the port, so without it a guest process that dies
 * without closing its device keeps its session until the next Hello or
 * until the VM powers off. QEMU connects to a socket apird listens on
 * (-chardev socket,...,reconnect=1 -mon chardev=...,mode=control), like
 * the port's chardev; apird sends qmp_capabilities (no event comes before
 * it) and nothing else.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apir/log.h"
#include "qmp_msg.h"
#include "vm.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static const char capabilities[] = "{\"execute\": \"qmp_capabilities\"}\r\n";

static void qmp_disconnect(struct apird_vm *vm, const char *why)
{
	apird_watch_del(vm->d, vm->qmp.fd);
	close(vm->qmp.fd);
	vm->qmp.fd = -1;
	vm->qmp.len = 0;
	vm->qmp.skipping = false;
	apir_info("vm %s: QEMU's monitor disconnected (%s)", vm->cfg.name, why);
}

static void handle_message(struct apird_vm *vm, const char *text, size_t len)
{
	struct apird_qmp_msg m;

	switch (apird_qmp_parse(text, len, &m)) {
	case APIRD_QMP_EVENT:
		if (strcmp(m.event, "VSERPORT_CHANGE") || strcmp(m.data_id, APIRD_VM_PORT_ID))
			return;
		if (m.data_open == 0)
			apird_vm_port_closed(vm);
		else if (m.data_open == 1)
			apir_dbg("vm %s: a guest process opened the port", vm->cfg.name);
		return;
	case APIRD_QMP_ERROR:
		apir_warn("vm %s: QEMU's monitor answered with an error: %.*s", vm->cfg.name,
			  (int)len, text);
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

	while ((nl = memchr(q->line + start, '\n', q->len - start))) {
		size_t end = (size_t)(nl - q->line);

		if (!q->skipping)
			handle_message(vm, q->line + start, end - start);
		q->skipping = false;
		start = end + 1;
	}
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
		/* A fresh socket has room for one short line. */
		rc = send(fd, capabilities, sizeof(capabilities) - 1, MSG_NOSIGNAL) ==
		     (ssize_t)sizeof(capabilities) - 1 ? 0 : -errno;
		if (!rc)
			rc = apird_watch_add(vm->d, fd, EPOLLIN | EPOLLRDHUP, &vm->qmp.watch);
		if (rc) {
			apir_warn("vm %s: monitor connection: %s", vm->cfg.name, strerror(-rc));
			close(fd);
			continue;
		}
		vm->qmp.fd = fd;
		apir_info("vm %s: QEMU's monitor connected", vm->cfg.name);
	}
	if (errno != EAGAIN && errno != EINTR)
		apir_warn("vm %s: accept on %s: %s", vm->cfg.name, vm->cfg.qmp_path, strerror(errno));
}

int apird_vm_qmp_listen(struct apird_vm *vm)
{
	int fd, rc;

	if (!vm->cfg.qmp_path[0])
		return 0;
	fd = apird_unix_listen(vm->cfg.qmp_path, &vm->qmp.sock_st);
	if (fd < 0) {
		apir_err("vm %s: cannot listen on %s: %s", vm->cfg.name, vm->cfg.qmp_path,
			 strerror(-fd));
		return fd;
	}
	vm->qmp.listen_fd = fd;
	vm->qmp.listen_watch.ready = qmp_accept;
	vm->qmp.watch.ready = qmp_ready;
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
		apird_unix_unlink(vm->cfg.qmp_path, &vm->qmp.sock_st);
		vm->qmp.listen_fd = -1;
	}
}
