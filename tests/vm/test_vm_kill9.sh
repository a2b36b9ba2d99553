#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A guest process killed with SIGKILL in the middle of an ib_write_bw to a
# host peer, while its VM keeps running and nothing else opens the port:
# apird learns from QEMU's monitor (QMP VSERPORT_CHANGE, --vm ...,qmp=)
# that the port closed and tears the session down (apirctl shows it gone,
# with its QP); the host peer fails instead of hanging; then a new guest
# process and a host pair work on the same apird.
#
# The guest waits at two gates (lib.sh) while the host looks: the port must
# stay closed between the kill and the checks.
source "$(dirname "$0")/lib.sh"

vm_image

vm_sock=$E2E_DIR/vm.sock qmp_sock=$E2E_DIR/vm.qmp
start_apird --vm "vm0,socket=$vm_sock,ram=/dev/shm/apir-vm-kill9-$$,size=512M,qmp=$qmp_sock"

VM_FWD=()
vm_gate kill 18520
vm_gate next 18521
# The next guest process's host peer starts late, on a port forwarded now.
pick_port
next_port=$PORT
VM_FWD+=(--guestfwd "18517:$next_port")
# Duration mode: the victim would go on for 60 s.
host_server victim 18516 stdbuf -oL ib_write_bw -s 65536 -D 60
victim_host=$SPAWNED_PID

spawn_vm kill9 "$vm_sock" "ib_write_bw -s 65536 -D 60 -p 18516 10.0.2.100 >/tmp/victim.out 2>&1 &
victim=\$!
echo \"victim pid \$victim\"
$(gate_wait 18520)
kill -9 \$victim; wait \$victim; echo \"victim killed: status \$?\"
$(gate_wait 18521)
ibv_rc_pingpong -g 0 -c -n 100 -s 4096 -p 18517 10.0.2.100; echo \"next status \$?\"" \
	--mem 512M --apird-qmp "$qmp_sock" "${VM_FWD[@]}"
wait_console '^victim pid [0-9]+$' "$VM_TIMEOUT"
victim=$(tr -d '\r' <"$VM_CONSOLE" | sed -n 's/^victim pid \([0-9]*\)$/\1/p')
expect_match "$APIRD_LOG" "vm vm0: QEMU's monitor connected" "QEMU's monitor reached apird"

# ---- mid-transfer: the guest's session, its QP moving bytes ----------------------------

GUEST_QP='
ss = [s for s in st["sessions"] if s["transport"] == "virtio-serial"]
assert len(ss) == 1 and ss[0]["pid"] == int(args[0]), st["sessions"]
assert ss[0]["qps"] == 1 and ss[0]["mrs"] >= 1 and ss[0]["cqs"] >= 1, ss[0]
qp = [q for q in st["qps"] if q["session"] == ss[0]["id"]]
assert len(qp) == 1 and qp[0]["bytes_sent"] > int(args[1]), qp
print(qp[0]["bytes_sent"])
'
deadline=$((SECONDS + $(scaled "$E2E_TIMEOUT")))
until apirctl_json before status && json_check "$(out before)" "$GUEST_QP" "$victim" 0 \
	>"$(out sent)" 2>"$(out before.check)"; do
	((SECONDS < deadline)) || fail "the guest's transfer never showed in apirctl: $(cat "$(out before.check)")"
	sleep 0.2
done
sleep 0.5
apirctl_json before2 status
json_check "$(out before2)" "$GUEST_QP" "$victim" "$(cat "$(out sent)")" >/dev/null ||
	fail "the guest's QP is not moving bytes"

# ---- the kill --------------------------------------------------------------------------

gate_open kill
wait_console '^victim killed: status 137$' 30
t0=$SECONDS
deadline=$((SECONDS + $(scaled 10)))
until apirctl_json after sessions && json_check "$(out after)" '
assert not [s for s in st["sessions"] if s["transport"] == "virtio-serial"], st["sessions"]
' 2>"$(out after.check)"; do
	((SECONDS < deadline)) || fail "the killed guest process's session is still there 10 s later: $(cat "$(out after.check)")"
	sleep 0.1
done
e2e_log "the killed guest process's session was gone $((SECONDS - t0)) s after the kill"
e2e_alive "$VM_PID" || fail "the VM exited: cleanup by power-off proves nothing"
expect_match "$APIRD_LOG" "\\(pid $victim\\) closed \\(the guest process closed the port, QEMU's monitor says\\): releasing 1 QPs" \
	"apird released the session on QMP's word"
expect_no_match "$APIRD_LOG" "a new guest process said Hello" "a Hello, not QMP, ended the session"

rc=0
wait_for "$victim_host" 20 || rc=$?
((rc != 124)) || fail "the host peer of the killed guest process hung"
((rc != 0)) || fail "the host peer of the killed guest process reported success"
apirctl_json empty status
json_check "$(out empty)" '
d = st["device"]
assert d["num_sessions"] == 0 and d["num_qps"] == 0, d
' || fail "apird still holds objects: $(cat "$(out empty)")"

# ---- apird keeps serving: the host, then the same VM ----------------------------------------

pair host apir ibv_rc_pingpong -g 0 -c -n 100
check_pingpong host
spawn_apir next apir ibv_rc_pingpong -g 0 -c -n 100 -s 4096 -p "$next_port"
next_host=$SPAWNED_PID
wait_listening "$next_port" "$next_host" || fail "the host side of the next pingpong did not listen"
gate_open next
wait_for "$VM_PID" "$VM_TIMEOUT" || fail "apir-vm run exited with $? (guest command status, or 124/125)"
console_has '^next status 0$' "the next guest process's success"
wait_for "$next_host" 15 || fail "the host side of the next pingpong exited with $?"
expect_match "$(out next)" '[0-9]+ iters in [0-9.]+ seconds' "the host side of the next pingpong finished"
expect_no_match "$(out next)" 'invalid data' "the host side of the next pingpong saw bad data"
stop_apird
