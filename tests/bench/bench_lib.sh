# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Report helpers shared by the benchmark scripts (sourced after the e2e
# harness, whose perftest_rows they use).

# shellcheck disable=SC2034 # used by the scripts that source this
BENCH_DIR=$APIR_BUILD_DIR/tests/bench
REPORT_LINES=()

# say TEXT: print a report line and keep it for the report file.
say() {
	REPORT_LINES+=("$*")
	echo "$*"
}

# write_report FILE: the lines said so far.
write_report() {
	printf '%s\n' "${REPORT_LINES[@]}" >"$1"
	echo ""
	echo "report written to $1"
}

# verdict VALUE OP TARGET: PASS or MISS.
verdict() {
	awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
		ok = (op == ">=") ? (v >= t) : (v <= t)
		print ok ? "PASS" : "MISS"
	}'
}

# column FILE BYTES N: column N of the perftest row for message size BYTES.
column() {
	perftest_rows "$1" | awk -v b="$2" -v n="$3" '$1 == b { print $n; exit }'
}

# perftest's "MB/sec" are MiB/s: to GB/s (1e9 bytes/s).
mib_to_gb() { awk -v m="$1" 'BEGIN { printf "%.2f", m * 1048576 / 1e9 }'; }
