#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# apir across two hosts next to libfabric itself, in one run, between the
# same two network namespaces (tests/e2e/hosts.sh) and with the same
# provider: first the raw baseline (fabric_baseline.c: fi_send ping-pong of
# 8 B, fi_write bandwidth at 64 KiB and 1 MiB), then unmodified perftest
# through apir with one apird per host (ib_write_bw 64 KiB and 1 MiB,
# ib_write_lat 2 B, on both perftest code paths), the ratios, and PASS/MISS
# against the targets of docs/PERFORMANCE.md. Slow numbers never fail this
# script; a measurement that cannot be taken does.
#
# The report is printed and written to $APIR_BUILD_DIR/fabric-bench-report.txt.
# APIR_FABRIC_PROVIDER picks another provider for both (default tcp;ofi_rxm);
# BENCH_APIRD_ARGS adds apird options (e.g. "--config FILE" with spin_us).
source "$(dirname "$0")/../e2e/hosts.sh"
source "$(dirname "$0")/bench_lib.sh"

REPORT=$APIR_BUILD_DIR/fabric-bench-report.txt
PROVIDER=${APIR_FABRIC_PROVIDER:-tcp;ofi_rxm}
BASELINE=$BENCH_DIR/fabric_baseline
[[ -x $BASELINE ]] || fail "$BASELINE not built"

# Targets (docs/PERFORMANCE.md, cross-host).
TARGET_BW_RATIO=0.9      # ib_write_bw 1 MiB >= 0.9 x raw fi_write 1 MiB
TARGET_LAT_EXTRA_US=5    # ib_write_lat 2 B t_typical <= raw one-way 8 B latency + 5 us

hosts_create 2
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- libfabric alone -------------------------------------------------------------------

# raw_baseline NAME: fabric_baseline server on A, client on B; sets
# RAW[NAME.rtt], RAW[NAME.oneway], RAW[NAME.64k], RAW[NAME.128k], RAW[NAME.1m],
# RAW[NAME.sleep_oneway].
declare -A RAW
raw_baseline() {
	local spid rc=0 f
	spawn_on A "$1.server" "$BASELINE" --provider "$PROVIDER" server "${E2E_HOST_ADDR[A]}"
	spid=$SPAWNED_PID
	wait_listening 7479 "$spid" A || fail "fabric_baseline server did not listen: $(cat "$(out "$1.server")")"
	spawn_on B "$1.client" "$BASELINE" --provider "$PROVIDER" client "${E2E_HOST_ADDR[A]}"
	wait_for "$SPAWNED_PID" 300 || rc=$?
	f=$(out "$1.client")
	((rc == 0)) || fail "fabric_baseline client exited $rc: $(cat "$f")"
	wait_for "$spid" 15 || fail "fabric_baseline server failed: $(cat "$(out "$1.server")")"
	read -r _ _ "RAW[$1.rtt]" "RAW[$1.oneway]" < <(grep '^pingpong ' "$f")
	read -r _ _ _ "RAW[$1.sleep_oneway]" < <(grep '^pingpong_sleep ' "$f")
	read -r _ _ "RAW[$1.64k]" < <(grep '^write 65536 ' "$f")
	read -r _ _ "RAW[$1.128k]" < <(grep '^write 131072 ' "$f")
	read -r _ _ "RAW[$1.1m]" < <(grep '^write 1048576 ' "$f")
	for k in rtt oneway sleep_oneway 64k 128k 1m; do
		[[ -n ${RAW[$1.$k]:-} ]] || fail "could not read fabric_baseline's $k: $(cat "$f")"
	done
}

# The baseline runs before and after apir (no apird running either time);
# the better of the two is the reference, so a load that came and went
# during the run does not flatter apir.
raw_baseline raw.before

# ---- apir: one apird per host, perftest server on A, client on B ---------------------------

for h in A B; do
	# shellcheck disable=SC2086 # a list of options
	APIRD_LOG_LEVEL=info start_host_apird "$h" ${BENCH_APIRD_ARGS:-}
done
declare -A BW64K BW1M LAT LAT99
for p in apir mlx5; do
	pair_on "bw64k.$p" A B "$p" ib_write_bw -F -s 65536 -n 20000
	BW64K[$p]=$(mib_to_gb "$(column "$(out "bw64k.$p.client")" 65536 4)")
	pair_on "bw1m.$p" A B "$p" ib_write_bw -F -s 1048576 -n 2000
	BW1M[$p]=$(mib_to_gb "$(column "$(out "bw1m.$p.client")" 1048576 4)")
	# 1000 round trips: enough for a median and a p99, and bounded even
	# when a loaded 2-core machine stretches each one to milliseconds.
	pair_on "lat.$p" A B "$p" ib_write_lat -F -s 2 -n 1000
	LAT[$p]=$(column "$(out "lat.$p.client")" 2 5)
	LAT99[$p]=$(column "$(out "lat.$p.client")" 2 8)
	[[ -n ${BW64K[$p]} && -n ${BW1M[$p]} && -n ${LAT[$p]} && -n ${LAT99[$p]} ]] ||
		fail "could not read perftest results ($p path)"
done
for h in A B; do
	stop_apird_on "$h" || fail "apird on $h did not stop cleanly"
done
raw_baseline raw.after
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
best() { awk -v a="$1" -v b="$2" -v op="$3" 'BEGIN { print (op == "max") == (a + 0 >= b + 0) ? a : b }'; }
# REF[KEY]: the reference of each raw figure, the lower latency or the
# higher bandwidth of the two baseline runs.
declare -A REF
for k in rtt oneway sleep_oneway 64k 128k 1m; do
	op=max
	[[ $k == *rtt || $k == *oneway ]] && op=min
	REF[$k]=$(best "${RAW[raw.before.$k]}" "${RAW[raw.after.$k]}" $op)
done

# ---- report -------------------------------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
extra() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f", a - b }'; }
# raw_row LABEL KEY: a raw figure, both runs and the reference.
raw_row() {
	say "$(printf '  %-36s %12s %12s %12s' "$1" "${RAW[raw.before.$2]}" "${RAW[raw.after.$2]}" "${REF[$2]}")"
}
# vs_raw LABEL FN ARRAY KEY: FN (ratio, extra) of apir's ARRAY figure on
# both perftest paths against the reference REF[KEY].
vs_raw() {
	local -n fig=$3
	say "$(printf '  %-36s %12s %12s' "$1" "$($2 "${fig[apir]}" "${REF[$4]}")" "$($2 "${fig[mlx5]}" "${REF[$4]}")")"
}
lat_limit=$(awk -v r="${REF[oneway]}" -v x="$TARGET_LAT_EXTRA_US" 'BEGIN { printf "%.2f", r + x }')

say "apir cross-host benchmark report ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores," \
	"$(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -n 1), $(uname -r))"
say "two network namespaces joined by a veth pair, provider $PROVIDER;" \
	"load average $load_before before, $load_after after"
say ""
say "libfabric alone (fabric_baseline, FI_EP_RDM), before and after apir; the better is the reference"
say "$(printf '  %-36s %12s %12s %12s' '' before after reference)"
raw_row 'fi_send 8 B round trip, us (median)' rtt
raw_row '  one way, us' oneway
raw_row 'fi_write 64 KiB, GB/s' 64k
raw_row 'fi_write 128 KiB, GB/s' 128k
raw_row 'fi_write 1 MiB, GB/s' 1m
raw_row 'fi_send 8 B one way, both sleeping, us' sleep_oneway
say "    (sleeping: fi_cq_sread between messages, as an apird with no core to spin on)"
say ""
say "apir, perftest server on host A, client on host B (one apird per host)"
say "$(printf '  %-36s %12s %12s' '' post_send wr_api/mlx5)"
say "$(printf '  %-36s %12s %12s' 'ib_write_bw 64 KiB, GB/s' "${BW64K[apir]}" "${BW64K[mlx5]}")"
vs_raw '  / raw fi_write 64 KiB' ratio BW64K 64k
say "$(printf '  %-36s %12s %12s' 'ib_write_bw 1 MiB, GB/s' "${BW1M[apir]}" "${BW1M[mlx5]}")"
vs_raw '  / raw fi_write 128 KiB' ratio BW1M 128k
say "    (apird moves a 1 MiB WRITE as 128 KiB RMA pieces: the like-for-like raw figure)"
say "$(printf '  %-36s %12s %12s' 'ib_write_lat 2 B t_typical, us' "${LAT[apir]}" "${LAT[mlx5]}")"
say "$(printf '  %-36s %12s %12s' 'ib_write_lat 2 B p99, us' "${LAT99[apir]}" "${LAT99[mlx5]}")"
vs_raw '  - raw one-way 8 B, us' extra LAT oneway
vs_raw '  - raw one-way 8 B sleeping, us' extra LAT sleep_oneway
say ""
# row LABEL OP TARGET POST_SEND_VALUE WR_VALUE: one target, both paths.
row() {
	say "$(printf '  %-52s %8s %-4s %8s %-4s' "$1 ($2 $3)" \
		"$4" "$(verdict "$4" "$2" "$3")" "$5" "$(verdict "$5" "$2" "$3")")"
}
say "$(printf '  %-52s %13s %13s' target post_send wr_api/mlx5)"
row "ib_write_bw 1 MiB / raw fi_write 1 MiB" ">=" "$TARGET_BW_RATIO" \
	"$(ratio "${BW1M[apir]}" "${REF[1m]}")" "$(ratio "${BW1M[mlx5]}" "${REF[1m]}")"
row "ib_write_lat 2 B t_typical, us" "<=" "$lat_limit" "${LAT[apir]}" "${LAT[mlx5]}"
say "    (the latency target is the raw one-way latency + $TARGET_LAT_EXTRA_US us)"

write_report "$REPORT"
