#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# apir benchmarks in one run: the machine's limits (single-core memcpy, a
# shared-memory round trip), then perftest through apir and the control
# round trip, each against its target with PASS/MISS. Slow numbers never
# fail this script; a measurement that cannot be taken does.
#
# The report is printed and written to $APIR_BUILD_DIR/bench-report.txt.
# BENCH_APIRD_ARGS adds apird options (e.g. "--config FILE" with spin_us).
source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/bench_lib.sh"

REPORT=$APIR_BUILD_DIR/bench-report.txt
for tool in memcpy_bw shm_pingpong ctrl_rtt; do
	[[ -x $BENCH_DIR/$tool ]] || fail "$BENCH_DIR/$tool not built"
done

# Targets (docs/PERFORMANCE.md).
TARGET_BW_RATIO=0.6     # ib_write_bw 64 KiB >= 0.6 x memcpy 64 KiB
TARGET_MPPS=2.0         # ib_write_bw 64 B message rate
TARGET_LAT_US=3.0       # ib_write_lat 2 B t_typical
TARGET_CTRL_US=20.0     # ibv_reg_mr 4 KiB median

# ---- the machine ------------------------------------------------------------------

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

read -r _ memcpy_64k < <("$BENCH_DIR/memcpy_bw" 65536)
read -r _ memcpy_1m < <("$BENCH_DIR/memcpy_bw" 1048576)
read -r shm_median shm_p99 < <("$BENCH_DIR/shm_pingpong" 200000)
[[ -n $memcpy_64k && -n $memcpy_1m && -n $shm_median ]] || fail "baseline measurement failed"

# ---- apir -----------------------------------------------------------------------------

# shellcheck disable=SC2086 # a list of options
APIRD_LOG_LEVEL=info start_apird ${BENCH_APIRD_ARGS:-}

declare -A BW64K MPPS LAT LAT99
for p in apir mlx5; do
	pair "sweep.$p" "$p" ib_write_bw -F -a
	check_perftest "sweep.$p" 20
	BW64K[$p]=$(mib_to_gb "$(column "$(out "sweep.$p.client")" 65536 4)")
	pair "rate.$p" "$p" ib_write_bw -F -s 64 -n 500000
	MPPS[$p]=$(column "$(out "rate.$p.client")" 64 5)
	pair "lat.$p" "$p" ib_write_lat -F -s 2 -n 5000
	LAT[$p]=$(column "$(out "lat.$p.client")" 2 5)
	LAT99[$p]=$(column "$(out "lat.$p.client")" 2 8)
	[[ -n ${BW64K[$p]} && -n ${MPPS[$p]} && -n ${LAT[$p]} && -n ${LAT99[$p]} ]] ||
		fail "could not read perftest results ($p path)"
done

run_apir ctrl apir "$BENCH_DIR/ctrl_rtt" 2000 || fail "ctrl_rtt failed"
read -r _ reg_median reg_p99 < <(grep '^reg_mr_4k ' "$(out ctrl)")
read -r _ dereg_median _ < <(grep '^dereg_mr_4k ' "$(out ctrl)")
read -r _ pd_median _ < <(grep '^alloc_pd ' "$(out ctrl)")
[[ -n $reg_median && -n $pd_median ]] || fail "could not read ctrl_rtt results"

# ---- report ------------------------------------------------------------------------------

say "apir benchmark report ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r))"
say "apird options: ${BENCH_APIRD_ARGS:-(defaults)}; load average before: $load_before"
say ""
say "machine limits"
say "  memcpy, one core, 64 KiB          ${memcpy_64k} GB/s"
say "  memcpy, one core, 1 MiB           ${memcpy_1m} GB/s"
say "  shared-memory round trip          ${shm_median} us median, ${shm_p99} us p99"
say ""
say "ib_write_bw through apir, ibv_post_send path (BW average, GB/s = 1e9 B/s)"
say "  $(printf '%10s %12s %10s' bytes GB/s Mpps)"
while read -r bytes _ _ avg rate; do
	((bytes <= 1048576)) || continue
	say "  $(printf '%10s %12s %10s' "$bytes" "$(mib_to_gb "$avg")" "$rate")"
done < <(perftest_rows "$(out sweep.apir.client)")
say ""
say "control plane (ctrl_rtt, 2000 iterations)"
say "  ibv_reg_mr 4 KiB                  ${reg_median} us median, ${reg_p99} us p99"
say "  ibv_dereg_mr 4 KiB                ${dereg_median} us median"
say "  ibv_alloc_pd/dealloc_pd, per call ${pd_median} us median"
say ""
# row LABEL OP TARGET POST_SEND_VALUE WR_VALUE: one target, both paths.
row() {
	say "$(printf '  %-44s %9s %-4s  %9s %-4s' "$1 ($2 $3)" \
		"$4" "$(verdict "$4" "$2" "$3")" "$5" "$(verdict "$5" "$2" "$3")")"
}
ratio() { awk -v a="$1" -v m="$memcpy_64k" 'BEGIN { printf "%.2f", a / m }'; }
say "$(printf '  %-44s %14s  %14s' target post_send wr_api/mlx5)"
row "ib_write_bw 64 KiB / memcpy 64 KiB" ">=" "$TARGET_BW_RATIO" "$(ratio "${BW64K[apir]}")" "$(ratio "${BW64K[mlx5]}")"
say "$(printf '  %-44s %9s       %9s' "  ib_write_bw 64 KiB, GB/s" "${BW64K[apir]}" "${BW64K[mlx5]}")"
row "ib_write_bw 64 B, Mpps" ">=" "$TARGET_MPPS" "${MPPS[apir]}" "${MPPS[mlx5]}"
row "ib_write_lat 2 B t_typical, us" "<=" "$TARGET_LAT_US" "${LAT[apir]}" "${LAT[mlx5]}"
say "$(printf '  %-44s %9s       %9s' "  ib_write_lat 2 B p99, us" "${LAT99[apir]}" "${LAT99[mlx5]}")"
say "$(printf '  %-44s %9s %-4s' "ibv_reg_mr 4 KiB median, us (<= $TARGET_CTRL_US)" "$reg_median" \
	"$(verdict "$reg_median" "<=" "$TARGET_CTRL_US")")"

write_report "$REPORT"
