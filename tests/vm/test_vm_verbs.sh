#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The frontend over virtio-serial: inside a guest, the unmodified
# ibv_devinfo sees apir0 through the port (transport chosen automatically:
# the port exists), and ibv_rc_pingpong in the guest exchanges checked data
# (-c) over a RoCE GID (-g 0) with ibv_rc_pingpong on the host (unix
# transport), both on one apird: small messages with completion events (-e,
# so CQ events cross the port), then 1 MiB messages (registered buffers of
# many guest pages). The guest's rings, session page and registered buffers
# are guest pages apird maps through the RAM file.
source "$(dirname "$0")/lib.sh"

vm_image

name=verbs-$$
vm_sock=$E2E_DIR/vm.sock
start_apird --vm "vm0,socket=$vm_sock,ram=/dev/shm/apir-vm-$name,size=512M"

small_args=(-c -e -g 0 -n 200)
big_args=(-c -g 0 -s 1048576 -n 20 -r 10 -m 4096)
pick_port
small_port=$PORT
spawn_apir small apir ibv_rc_pingpong "${small_args[@]}" -p "$small_port"
small=$SPAWNED_PID
pick_port
big_port=$PORT
spawn_apir big apir ibv_rc_pingpong "${big_args[@]}" -p "$big_port"
big=$SPAWNED_PID
wait_listening "$small_port" "$small" || fail "the host server did not listen on $small_port"
wait_listening "$big_port" "$big" || fail "the host server did not listen on $big_port"

guest_cmd="ibv_devinfo -v; echo \"ibv_devinfo status \$?\"
ibv_rc_pingpong ${small_args[*]} -p 18516 10.0.2.100; echo \"small status \$?\"
ibv_rc_pingpong ${big_args[*]} -p 18517 10.0.2.100; echo \"big status \$?\""

spawn_vm verbs "$vm_sock" "$guest_cmd" --mem 512M \
	--guestfwd "18516:$small_port" --guestfwd "18517:$big_port"
wait_for "$VM_PID" "$((VM_TIMEOUT + 10))" || fail "apir-vm run exited with $? (guest command status, or 124/125)"
for side in small big; do
	pid=$small
	[[ $side == small ]] || pid=$big
	wait_for "$pid" 15 || fail "the host $side ibv_rc_pingpong exited with $?: $(tail -n 5 "$(out "$side")")"
	expect_match "$(out "$side")" '[0-9]+ iters in [0-9.]+ seconds' "the host $side side did not finish"
	expect_no_match "$(out "$side")" "invalid data|Failed|Couldn't" "the host $side side reported an error"
	console_has "^$side status 0\$" "guest $side ibv_rc_pingpong success"
done

console_has '^hca_id:[[:space:]]+apir0$' "apir0 in ibv_devinfo"
console_has 'link_layer:[[:space:]]+Ethernet' "the RoCE port"
console_has '^ibv_devinfo status 0$' "ibv_devinfo success"
console_has '^1638400 bytes in [0-9.]+ seconds' "the guest's small transfer report"
console_has '^41943040 bytes in [0-9.]+ seconds' "the guest's 1 MiB transfer report"
console_lacks "invalid data|^Failed|^Couldn't" "an error in the guest"
expect_match "$APIRD_LOG" 'ibv_rc_pingpong \(pid [0-9]+, virtio-serial\) connected' \
	"apird served the guest over virtio-serial"
stop_apird
