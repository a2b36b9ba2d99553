#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Unmodified perftest in a guest over virtio-serial against a host peer
# (unix transport) on one apird: ib_write_bw at 64 KiB and 1 MiB (RDMA
# WRITEs into guest pages named by guest-physical extents) and ib_write_lat.
# Both sides must finish and report non-zero results; the numbers (TCG)
# are logged, not judged.
source "$(dirname "$0")/lib.sh"

vm_image

name=perftest-$$
vm_sock=$E2E_DIR/vm.sock
start_apird --vm "vm0,socket=$vm_sock,ram=/dev/shm/apir-vm-$name,size=512M"

declare -A args=(
	[bw64k]="ib_write_bw -s 65536 -n 500"
	[bw1m]="ib_write_bw -s 1048576 -n 100"
	[lat]="ib_write_lat -s 64 -n 500"
)
runs=(bw64k bw1m lat)
declare -A host_pid
guest_cmd="" guest_port=18516
for run in "${runs[@]}"; do
	# shellcheck disable=SC2086 # args[] are word lists
	host_server "$run" "$guest_port" ${args[$run]}
	host_pid[$run]=$SPAWNED_PID
	guest_cmd+="${args[$run]} -p $guest_port 10.0.2.100; echo \"$run status \$?\"
"
	guest_port=$((guest_port + 1))
done

spawn_vm perftest "$vm_sock" "$guest_cmd" --mem 512M "${VM_FWD[@]}"
wait_for "$VM_PID" "$((VM_TIMEOUT + 10))" || fail "apir-vm run exited with $? (guest command status, or 124/125)"
for run in "${runs[@]}"; do
	wait_for "${host_pid[$run]}" 15 || fail "the host $run side exited with $?: $(tail -n 5 "$(out "$run")")"
	console_has "^$run status 0\$" "guest $run success"
	rows=$(perftest_rows "$(out "$run")")
	[[ -n $rows ]] || fail "$run: no result row on the host side"
	log_unmeasured "$run" "$rows"
	e2e_log "$run (guest -> host, TCG): $(head -n 1 <<<"$rows" | tr -s ' \t' ' ')"
done
expect_match "$APIRD_LOG" 'ib_write_bw \(pid [0-9]+, virtio-serial\) connected' \
	"apird served the guest over virtio-serial"
stop_apird
