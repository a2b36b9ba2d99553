#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Smoke test of the guest image and launcher: the guest boots under TCG,
# the virtio-serial port appears as /dev/virtio-ports/org.apir.0 and carries
# a line to the host end of its socket chardev and the reply back, and the
# unmodified ibv_devinfo loads apir's libibverbs.so.1 (told to use the unix
# transport, as the port's host end here is not apird: "No IB devices
# found", not a loader error). The guest
# powers off after its command, its exit status marker is on the console,
# and the RAM file in /dev/shm is gone.
source "$(dirname "$0")/lib.sh"

vm_image

sock=$E2E_DIR/vm.sock
spawn port_echo python3 "$(dirname "$0")/port_echo.py" "$sock"
peer=$SPAWNED_PID
wait_output port_echo '^listening$' 10 "$peer"

guest_cmd='exec 3<>/dev/virtio-ports/org.apir.0
echo "hello from the guest" >&3
read -t 10 -r reply <&3 && echo "port reply: $reply"
APIR_TRANSPORT=unix ibv_devinfo; echo "ibv_devinfo status $?"
cat /proc/uptime'

start=$(date +%s%N)
spawn_vm boot "$sock" "$guest_cmd"
wait_console '^APIR-VM: ready after ' "$VM_TIMEOUT"
ready=$(date +%s%N)
wait_for "$VM_PID" "$((VM_TIMEOUT + 10))" || fail "apir-vm run exited with $? (guest command status, or 124/125)"
done_at=$(date +%s%N)
wait_for "$peer" 10 || fail "the port peer did not see QEMU hang up"

console_has '^APIR-VM: virtio port org\.apir\.0 -> /dev/vport[0-9]+p[0-9]+$' "org.apir.0 port"
console_has '^port reply: pong hello from the guest$' "reply through the port"
expect_match "$(out port_echo)" '^QEMU connected$' "QEMU connected to the apird socket"
expect_match "$(out port_echo)" '^guest wrote: hello from the guest$' "the guest's line on the host"
console_has '^No IB devices found$' "ibv_devinfo's no-device message"
console_has '^ibv_devinfo status [1-9][0-9]*$' "ibv_devinfo failure status (no device)"
console_lacks 'symbol lookup error|undefined symbol|cannot open shared object|version .* not found' \
	"a dynamic loader error"
console_has '^APIR-VM: exit status 0$' "exit status marker"
[[ ! -e /dev/shm/apir-vm-boot-$$ ]] || fail "the guest RAM file is still in /dev/shm"

uptime_ready=$(tr -d '\r' <"$VM_CONSOLE" | sed -n 's/^APIR-VM: ready after \([0-9.]*\) s.*/\1/p')
e2e_log "boot: launch to ready $(((ready - start) / 1000000)) ms (guest uptime at ready ${uptime_ready} s)," \
	"launch to QEMU exit $(((done_at - start) / 1000000)) ms, load average $(cut -d' ' -f1-3 /proc/loadavg)"
