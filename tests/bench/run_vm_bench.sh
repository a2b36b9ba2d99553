#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# apir in QEMU guests (TCG), in one run: the raw throughput of a
# virtio-serial port (guest -> host bulk bytes, measured now, on the same
# device model as apir's port), then unmodified perftest in the guests on
# apir: ib_write_bw guest -> host and guest <-> guest at 64 KiB and 1 MiB,
# ib_write_lat 2 B guest -> host. Each bandwidth is set against the raw
# port (goal >= 2x: bulk data never crosses the port, apird copies between
# RAM files). Slow numbers never fail this script; a measurement that
# cannot be taken does.
#
# Guest A has a second port, org.apir.bench, wired to port_sink; it writes
# RAW_MIB MiB into it, then runs the perftest clients against host servers
# (unix transport), then two ib_write_bw servers, one after the other (one
# guest process at a time uses the port), for guest B, which boots
# only then, so that booting never overlaps a measurement.
#
# The report is printed and written to $APIR_BUILD_DIR/vm-bench-report.txt.
source "$(dirname "$0")/../vm/lib.sh"
source "$(dirname "$0")/bench_lib.sh"

REPORT=$APIR_BUILD_DIR/vm-bench-report.txt
[[ -x $BENCH_DIR/port_sink ]] || fail "$BENCH_DIR/port_sink not built"

TARGET_PORT_RATIO=2.0   # data-plane bandwidth >= 2 x the raw port
RAW_MIB=128
declare -A ARGS=(
	[bw64k]="ib_write_bw -s 65536 -n 20000"
	[bw1m]="ib_write_bw -s 1048576 -n 3000"
	[lat]="ib_write_lat -s 2 -n 1000"
)
HOST_RUNS=(bw64k bw1m lat)
GUEST_RUNS=(bw64k bw1m)
# Two guests one after the other, each under a 55 s guest limit by default.
VM_TIMEOUT=${VM_TIMEOUT:-90}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
vm_image

sock_a=$E2E_DIR/vm-a.sock sock_b=$E2E_DIR/vm-b.sock sink_sock=$E2E_DIR/sink.sock
APIRD_LOG_LEVEL=info start_apird --vm "a,socket=$sock_a,ram=/dev/shm/apir-vm-guest-a-$$,size=512M" \
	--vm "b,socket=$sock_b,ram=/dev/shm/apir-vm-guest-b-$$,size=512M"
spawn sink "$BENCH_DIR/port_sink" "$sink_sock" $((RAW_MIB << 20))
sink_pid=$SPAWNED_PID
# QEMU drops what the guest writes while its chardev is not connected.
for _ in $(seq 100); do
	[[ -S $sink_sock ]] && break
	sleep 0.05
done
[[ -S $sink_sock ]] || fail "port_sink did not listen on $sink_sock"

# guest_run TAG 'COMMAND': a guest command line that runs COMMAND with its
# output prefixed by "TAG: " on the console, then "TAG status N".
guest_run() {
	# shellcheck disable=SC2016 # $? and $s are the guest shell's
	printf '{ %s; } >/tmp/%s.out 2>&1; s=$?; sed "s/^/%s: /" /tmp/%s.out; echo "%s status $s"\n' \
		"$2" "$1" "$1" "$1" "$1"
}

# ---- guest A: raw port, guest -> host, then servers for guest B ---------------------

guest_a="dd if=/dev/zero of=/dev/virtio-ports/org.apir.bench bs=65536 count=$((RAW_MIB * 16)) 2>/dev/null
echo \"raw status \$?\"
"
gport=18516
declare -A host_pid
for run in "${HOST_RUNS[@]}"; do
	# shellcheck disable=SC2086 # ARGS[] are word lists
	host_server "host.$run" "$gport" ${ARGS[$run]}
	host_pid[$run]=$SPAWNED_PID
	guest_a+=$(guest_run "g2h.$run" "${ARGS[$run]} -p $gport 10.0.2.100")$'\n'
	gport=$((gport + 1))
done
guest_a+="echo guest-a: serving
"
declare -A relay
gport=18600
for run in "${GUEST_RUNS[@]}"; do
	pick_port
	relay[$run]=$PORT
	VM_FWD+=(--hostfwd "$PORT:$gport")
	guest_a+="${ARGS[$run]} -p $gport >/dev/null 2>&1
"
	gport=$((gport + 1))
done

spawn_vm guest-a "$sock_a" "$guest_a" --mem 512M --port "org.apir.bench=$sink_sock" "${VM_FWD[@]}"
pid_a=$VM_PID console_a=$VM_CONSOLE
wait_console '^guest-a: serving$' "$VM_TIMEOUT"

wait_for "$sink_pid" 5 || fail "port_sink exited with $?: $(cat "$(out sink)")"
read -r _ raw_s raw_gb <"$(out sink)"
for run in "${HOST_RUNS[@]}"; do
	wait_for "${host_pid[$run]}" 15 || fail "the host $run side exited with $?: $(tail -n 5 "$(out "host.$run")")"
done

# ---- guest B: clients of guest A's servers ----------------------------------------------

guest_b="" fwd_b=() gport=18516
for run in "${GUEST_RUNS[@]}"; do
	# Until A's server listens, A's forward accepts and hangs up: retry.
	guest_b+=$(guest_run "g2g.$run" "s=1; for try in 1 2 3 4 5 6 7 8 9 10; do
if ${ARGS[$run]} -p $gport 10.0.2.100; then s=0; break; fi; sleep 1; done; (exit \$s)")$'\n'
	fwd_b+=(--guestfwd "$gport:${relay[$run]}")
	gport=$((gport + 1))
done
spawn_vm guest-b "$sock_b" "$guest_b" --mem 512M "${fwd_b[@]}"
pid_b=$VM_PID console_b=$VM_CONSOLE
wait_for "$pid_b" "$((VM_TIMEOUT + 10))" || fail "guest B exited with $? (guest command status, or 124/125)"
wait_for "$pid_a" 30 || fail "guest A exited with $? (guest command status, or 124/125)"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- results -------------------------------------------------------------------------------

# guest_rows CONSOLE TAG: TAG's perftest rows from a guest console.
guest_rows() {
	tr -d '\r' <"$1" | sed -n "s/^$2: //p" >"$E2E_DIR/$2.rows"
	perftest_rows "$E2E_DIR/$2.rows"
}

VM_CONSOLE=$console_a
console_has '^raw status 0$' "the raw port writer's success"
for run in "${HOST_RUNS[@]}"; do
	console_has "^g2h.$run status 0\$" "guest A's $run success"
done
VM_CONSOLE=$console_b
for run in "${GUEST_RUNS[@]}"; do
	console_has "^g2g.$run status 0\$" "guest B's $run success"
done

# Bandwidth: perftest's BW average (column 4, MiB/s; the server prints the
# client's figures). Latency: the host side's own clock (t_typical, p99).
declare -A BW
for run in "${GUEST_RUNS[@]}"; do
	BW[g2h.$run]=$(mib_to_gb "$(perftest_rows "$(out "host.$run")" | awk '{ print $4; exit }')")
	BW[g2g.$run]=$(mib_to_gb "$(guest_rows "$console_b" "g2g.$run" | awk '{ print $4; exit }')")
done
lat_row=$(perftest_rows "$(out host.lat)" | head -n 1)
read -r _ _ _ _ lat_typ _ _ lat_p99 _ <<<"$lat_row"
[[ -n $raw_gb && -n $lat_typ && -n $lat_p99 ]] || fail "could not read the raw port or latency results"
for key in "${!BW[@]}"; do
	awk -v v="${BW[$key]}" 'BEGIN { exit !(v > 0) }' || fail "$key: no bandwidth figure"
done

# ---- report ------------------------------------------------------------------------------

ratio() { awk -v a="$1" -v r="$raw_gb" 'BEGIN { printf "%.1f", a / r }'; }
say "apir VM guest benchmark report ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r))"
say "guests: QEMU $(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p'), TCG, 1 vCPU, 512 MiB each;" \
	"load average before: $load_before, after: $load_after"
say ""
say "$(printf '  %-40s %9s %8s  %s' "" GB/s "x port" "goal >= ${TARGET_PORT_RATIO}x port")"
say "$(printf '  %-40s %9s' "raw virtio-serial port, guest -> host" "$raw_gb")"
say "      ($RAW_MIB MiB written by dd in guest A, timed by the host reader: $raw_s s)"
for run in "${GUEST_RUNS[@]}"; do
	for dir in g2h g2g; do
		label="ib_write_bw $([[ $run == bw64k ]] && echo 64 KiB || echo 1 MiB), "
		label+=$([[ $dir == g2h ]] && echo "guest -> host" || echo "guest <-> guest")
		r=$(ratio "${BW[$dir.$run]}")
		say "$(printf '  %-40s %9s %8s  %s' "$label" "${BW[$dir.$run]}" "$r" \
			"$(verdict "$r" ">=" "$TARGET_PORT_RATIO")")"
	done
done
say "$(printf '  %-40s %9s us t_typical, %s us p99' "ib_write_lat 2 B, guest -> host" "$lat_typ" "$lat_p99")"
say "      (ib_write_lat -n 1000, timed on the host side; bandwidth: perftest's BW average)"

write_report "$REPORT"
