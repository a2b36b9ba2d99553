#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two guests on one apird, each on its own VM socket and RAM file:
# ibv_rc_pingpong with checked data (-c), completion events (-e) and 64 KiB
# messages between a server in guest A and a client in guest B. Their TCP
# exchange goes B -> guestfwd -> host -> hostfwd -> A; the RDMA traffic is
# apird copying between the two guests' RAM files.
source "$(dirname "$0")/lib.sh"

vm_image

sock_a=$E2E_DIR/vm-a.sock sock_b=$E2E_DIR/vm-b.sock
start_apird --vm "a,socket=$sock_a,ram=/dev/shm/apir-vm-guest-a-$$,size=512M" \
	--vm "b,socket=$sock_b,ram=/dev/shm/apir-vm-guest-b-$$,size=512M"
pp_args="-c -e -g 0 -n 200 -s 65536"
pick_port
relay=$PORT

spawn_vm guest-a "$sock_a" "ibv_rc_pingpong $pp_args -p 18515; echo \"server status \$?\"" \
	--mem 512M --hostfwd "$relay:18515"
pid_a=$VM_PID console_a=$VM_CONSOLE
wait_console '^APIR-VM: running: ' "$VM_TIMEOUT"

# Until A's server listens, A's forward accepts and hangs up: retry.
spawn_vm guest-b "$sock_b" "status=1; for try in 1 2 3 4 5 6 7 8 9 10; do
if ibv_rc_pingpong $pp_args -p 18516 10.0.2.100; then status=0; break; fi; sleep 1; done
echo \"client status \$status\"" \
	--mem 512M --guestfwd "18516:$relay"
pid_b=$VM_PID console_b=$VM_CONSOLE
wait_for "$pid_b" "$((VM_TIMEOUT + 10))" || fail "guest B exited with $? (guest command status, or 124/125)"
wait_for "$pid_a" "$((VM_TIMEOUT + 10))" || fail "guest A exited with $? (guest command status, or 124/125)"

VM_CONSOLE=$console_a
console_has '^server status 0$' "guest A's ibv_rc_pingpong success"
console_has '^200 iters in [0-9.]+ seconds' "guest A's report"
console_lacks 'invalid data' "a data mismatch seen by guest A"
VM_CONSOLE=$console_b
console_has '^client status 0$' "guest B's ibv_rc_pingpong success"
console_has '^26214400 bytes in [0-9.]+ seconds' "guest B's report"
console_lacks 'invalid data' "a data mismatch seen by guest B"
expect_match "$APIRD_LOG" 'vm a: QEMU connected' "guest A on its socket"
expect_match "$APIRD_LOG" 'vm b: QEMU connected' "guest B on its socket"
stop_apird
