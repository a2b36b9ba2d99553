#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A hostile guest next to a working one, end to end. Guest B runs
# ibv_rc_pingpong with checked data (-c) against a host peer; while its QP
# moves bytes, guest A runs apir_port_hostile (tests/vm/tools), which
# speaks apir's protocol on its port by hand: guest-physical addresses
# outside RAM, in the PCI hole, unaligned, overflowing; overlapping session
# page and rings; regions longer than their pages; garbage, oversized and
# undecodable frames; requests before Hello, without a body, naming no
# object. Every one must get an error (garbage: be skipped) with A's
# session still serving; meanwhile B must keep moving bytes and finish with
# intact data, and ordinary processes started in A right afterwards must
# work too.
source "$(dirname "$0")/lib.sh"

vm_image

sock_a=$E2E_DIR/vm-a.sock sock_b=$E2E_DIR/vm-b.sock
start_apird --vm "a,socket=$sock_a,ram=/dev/shm/apir-vm-hostile-a-$$,size=512M,qmp=$E2E_DIR/vm-a.qmp" \
	--vm "b,socket=$sock_b,ram=/dev/shm/apir-vm-neighbour-b-$$,size=512M,qmp=$E2E_DIR/vm-b.qmp"

# B's transfer must outlast A's attack (the test checks that it did).
B_ITERS=30000
host_server b.peer 18516 ibv_rc_pingpong -g 0 -c -n "$B_ITERS" -s 4096
b_peer=$SPAWNED_PID
fwd_b=("${VM_FWD[@]}")
VM_FWD=()
host_server a.peer 18517 ibv_rc_pingpong -g 0 -c -n 100 -s 4096
a_peer=$SPAWNED_PID
vm_gate attack 18520

spawn_vm neighbour-b "$sock_b" "ibv_rc_pingpong -g 0 -c -n $B_ITERS -s 4096 -p 18516 10.0.2.100
echo \"b status \$?\"" --mem 512M --apird-qmp "$E2E_DIR/vm-b.qmp" "${fwd_b[@]}"
pid_b=$VM_PID console_b=$VM_CONSOLE
# A waits at a gate until B's transfer runs. After the attack, ordinary
# processes follow at once: ibv_devinfo three times (one started right
# after a short-lived process used to find pages of that process's session
# page, which apird was still writing, in its own memory and abort) and a
# checked pingpong; then no area file may be left in A's /dev/shm.
spawn_vm hostile-a "$sock_a" "$(gate_wait 18520)
apir_port_hostile; echo \"hostile status \$?\"
n=0; for i in 1 2 3; do ibv_devinfo >/dev/null || n=\$((n + 1)); done; echo \"devinfo failures \$n\"
ibv_rc_pingpong -g 0 -c -n 100 -s 4096 -p 18517 10.0.2.100; echo \"a status \$?\"
echo \"area files left: \$(ls /dev/shm | grep -c apir-area)\"" \
	--mem 512M --apird-qmp "$E2E_DIR/vm-a.qmp" "${VM_FWD[@]}"
pid_a=$VM_PID console_a=$VM_CONSOLE

# b_sent [ID]: "ID BYTES": B's session and the bytes its QP has sent so far
# (fails the test when B has no QP). Without ID, B's session is the one
# guest pingpong apird serves, which holds only before the attack: guest A
# runs a pingpong of its own after it.
b_sent() {
	apirctl_json status status
	B_ID=${1:-} json_check "$(out status)" '
import os
b = [s["id"] for s in st["sessions"] if s["transport"] == "virtio-serial" and s["client"] == "ibv_rc_pingpong"]
if os.environ["B_ID"]:
    b = [i for i in b if i == int(os.environ["B_ID"])]
assert len(b) == 1, st["sessions"]
print(b[0], sum(q["bytes_sent"] for q in st["qps"] if q["session"] == b[0]))
'
}

deadline=$((SECONDS + $(scaled "$VM_TIMEOUT")))
until read -r b_id sent < <(b_sent 2>/dev/null) && ((sent > 0)); do
	e2e_alive "$pid_b" || fail "guest B exited before its transfer showed in apirctl"
	((SECONDS < deadline)) || fail "guest B's transfer never showed in apirctl"
	sleep 0.2
done
e2e_log "guest B's QP has sent $sent bytes: guest A attacks"
gate_open attack
VM_CONSOLE=$console_a
wait_console '^hostile status [0-9]+' "$VM_TIMEOUT"
read -r _ after < <(b_sent "$b_id") && [[ -n $after ]] ||
	fail "guest B's session $b_id is gone after the attack (or B finished before it ended: raise B_ITERS)"
((after > sent)) || fail "guest B's QP did not move during the attack ($sent -> $after bytes)"
e2e_log "guest B's QP sent $((after - sent)) bytes during the attack"

wait_for "$pid_a" "$VM_TIMEOUT" || fail "guest A exited with $? (guest command status, or 124/125)"
wait_for "$pid_b" "$VM_TIMEOUT" || fail "guest B exited with $? (guest command status, or 124/125)"
tr -d '\r' <"$console_a" | grep -E '^(ok|FAIL) - ' >&2 || true
console_has '^apir_port_hostile: [0-9]+ checks, 0 failed$' "every hostile check passed"
console_lacks '^FAIL - ' "a failed hostile check"
console_has '^hostile status 0$' "apir_port_hostile's success"
console_has '^devinfo failures 0$' "ibv_devinfo right after the attack"
console_has '^a status 0$' "an ordinary process in guest A after the attack"
console_has '^area files left: 0$' "no area file left behind in guest A"
VM_CONSOLE=$console_b
console_has '^b status 0$' "guest B's pingpong success"
console_has "^$B_ITERS iters in [0-9.]+ seconds" "guest B's report"
console_lacks 'invalid data' "a data mismatch seen by guest B"
e2e_log "guest B: $(tr -d '\r' <"$console_b" | grep -E '^[0-9]+ iters in' | head -n 1)"
for peer in a.peer b.peer; do
	pid=$([[ $peer == a.peer ]] && echo "$a_peer" || echo "$b_peer")
	wait_for "$pid" 15 || fail "the host side of $peer exited with $?"
	expect_no_match "$(out "$peer")" 'invalid data' "$peer saw bad data"
done
expect_match "$APIRD_LOG" 'vm a: .* on the port, skipped' "apird skipped guest A's garbage"
expect_no_match "$APIRD_LOG" 'vm b: .* on the port, skipped' "garbage was seen on guest B's port"
stop_apird
