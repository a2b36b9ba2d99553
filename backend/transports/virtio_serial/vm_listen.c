/* SPDX-License-Identifier: MIT */
/*
 * One listening socket per VM. QEMU is the client (reconnect=1): apird
 * tells VMs apart by the socket a connection came in on, which is where a
 * VM's RAM file and layout are attached, so a guest never names a RAM
 * file itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apir/log.h"
#include "socket_file.h"
#include "util.h"
#include "vm.h"


struct apird_vm *apird_vm_add(void *listener, struct apird *d, const struct apird_vm_config *cfg)
{
	struct apird_vms *vms = listener;
	struct apird_vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->cfg = *cfg;
	vm->d = d;
	vm->vms = vms;
	vm->listen_fd = -1;
	vm->qmp.listen_fd = -1;
	vm->qmp.fd = -1;
	vm->qmp.timer_fd = -1;
	vm->next = vms->list;
	vms->list = vm;
	return vm;
}

static void vm_listen_ready(struct apird *d, struct apird_watch *w, uint32_t events)
{
	struct apird_vm *vm = container_of(w, struct apird_vm, listen_watch);

	(void)d;
	(void)events;
	for (;;) {
		int fd = accept4(vm->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		int rc;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				apir_warn("vm %s: accept: %s", vm->cfg.name, strerror(errno));
			return;
		}
		rc = apird_vm_connect(vm, fd);
		if (rc == -EBUSY)
			apir_warn("vm %s: refusing a second connection on %s (QEMU is connected)",
				  vm->cfg.name, vm->cfg.socket_path);
		else if (rc)
			apir_warn("vm %s: connection: %s", vm->cfg.name, strerror(-rc));
	}
}

static int vm_listen(struct apird_vm *vm)
{
	int fd = apird_socket_listen(vm->cfg.socket_path, &vm->sock_st);
	int rc;

	if (fd < 0) {
		apir_err("vm %s: cannot listen on %s: %s", vm->cfg.name, vm->cfg.socket_path,
			 strerror(-fd));
		return fd;
	}
	vm->listen_fd = fd;
	vm->listen_watch.ready = vm_listen_ready;
	rc = apird_watch_add(vm->d, fd, EPOLLIN, &vm->listen_watch);
	if (!rc)
		rc = apird_vm_qmp_listen(vm);
	if (rc)
		return rc;
	apir_info("vm %s: listening on %s (RAM %s, %llu bytes)", vm->cfg.name, vm->cfg.socket_path,
		  vm->cfg.ram_path, (unsigned long long)vm->cfg.ram_size);
	return 0;
}

static void vms_stop(struct apird *d, void *priv)
{
	struct apird_vms *vms = priv;

	while (vms->list) {
		struct apird_vm *vm = vms->list;

		vms->list = vm->next;
		if (vm->conn)
			apird_vm_disconnect(vm->conn, "apird is shutting down");
		apird_vm_qmp_close(vm);
		if (vm->listen_fd >= 0) {
			apird_watch_del(d, vm->listen_fd);
			close(vm->listen_fd);
			apird_socket_unlink(vm->cfg.socket_path, &vm->sock_st);
		}
		free(vm);
	}
	free(vms);
}

static int vms_start(struct apird *d, void **priv)
{
	struct apird_vms *vms = calloc(1, sizeof(*vms));

	if (!vms)
		return -ENOMEM;
	vms->d = d;
	for (unsigned int i = 0; i < d->cfg.num_vms; i++) {
		struct apird_vm *vm = apird_vm_add(vms, d, &d->cfg.vms[i]);
		int rc = vm ? vm_listen(vm) : -ENOMEM;

		if (rc) {
			vms_stop(d, vms);
			return rc;
		}
	}
	*priv = vms;
	return 0;
}

const struct apird_listener_ops apird_vm_listener = {
	.name = "virtio-serial",
	.start = vms_start,
	.stop = vms_stop,
};
