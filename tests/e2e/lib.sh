# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Harness sourced by every tests/e2e/test_*.sh (and by scripts/demo).
#
# On source it creates a private temp dir and installs an EXIT trap. Tests
# then call start_apird, run_apir / run_pair / spawn_apir, and check outputs.
# The trap kills exactly the process groups this harness started (each
# spawned command runs in its own session via setsid, and gets SIGKILL from
# the kernel if this shell dies, via setpriv --pdeathsig), stops apird with
# SIGTERM and requires a clean exit, fails the test on any sanitizer report,
# prints the logs when the test failed, and removes the temp dir.
#
# Environment (set by ctest, see tests/e2e/CMakeLists.txt):
#   APIR_BUILD_DIR   build tree with bin/apird, bin/apir-run, lib/libibverbs.so.1
#   APIR_SANITIZE=1  force sanitizer mode (otherwise read from CMakeCache.txt)
#   E2E_TIMEOUT      seconds a single command may run (default 60)

set -euo pipefail

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
APIR_SOURCE_DIR=${APIR_SOURCE_DIR:-$(cd "$E2E_LIB_DIR/../.." && pwd)}
APIR_BUILD_DIR=${APIR_BUILD_DIR:-$APIR_SOURCE_DIR/build}
APIRD=$APIR_BUILD_DIR/bin/apird
APIR_RUN=$APIR_BUILD_DIR/bin/apir-run
# shellcheck disable=SC2034 # used by the tests (apir_verbs_check)
E2E_TOOLS_DIR=$APIR_BUILD_DIR/tests/e2e
E2E_TIMEOUT=${E2E_TIMEOUT:-60}
E2E_NAME=$(basename "${0%.sh}")

E2E_PIDS=()          # leaders of the process groups we started
E2E_PORTS=()         # TCP ports handed out, never handed out twice
APIRD_PID=""
APIRD_SOCK=""
APIRD_LOG=""
E2E_APIRD_STOPPED=0  # set when a test stopped apird on purpose

e2e_log() { echo "[$E2E_NAME] $*" >&2; }
fail() { echo "[$E2E_NAME] FAIL: $*" >&2; exit 1; }

# ---- sanitizer mode ----------------------------------------------------------

e2e_sanitizer_build() {
	[[ ${APIR_SANITIZE:-0} == 1 ]] && return 0
	grep -qs '^APIR_SANITIZE:BOOL=ON$' "$APIR_BUILD_DIR/CMakeCache.txt"
}

# The unmodified Debian binaries are not instrumented, but our
# libibverbs.so.1 is: the ASan runtime must be loaded first. Their own leaks
# are not ours to report.
E2E_APP_ENV=()
if e2e_sanitizer_build; then
	E2E_ASAN_RT=$(gcc -print-file-name=libasan.so)
	[[ -e $E2E_ASAN_RT ]] || fail "sanitizer build but no ASan runtime at '$E2E_ASAN_RT'"
	E2E_APP_ENV=("LD_PRELOAD=$E2E_ASAN_RT" "ASAN_OPTIONS=detect_leaks=0")
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

# ---- temp dir and cleanup ------------------------------------------------------

E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/apir-e2e.$E2E_NAME.XXXXXX")

e2e_alive() {
	local state
	[[ -r /proc/$1/stat ]] || return 1
	state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[[ -n $state && $state != Z ]]
}

e2e_forget_pid() {
	local keep=() p
	for p in "${E2E_PIDS[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	E2E_PIDS=("${keep[@]}")
}

e2e_kill_group() {
	kill -KILL -- "-$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	e2e_forget_pid "$1"
}

e2e_dump_logs() {
	local f
	for f in "$E2E_DIR"/*.out "$E2E_DIR"/*.log; do
		[[ -e $f ]] || continue
		echo "----- $(basename "$f") (last 40 lines) -----" >&2
		tail -n 40 "$f" >&2
	done
}

e2e_sanitizer_reports() {
	local f found=1
	for f in "$E2E_DIR"/*.out "$E2E_DIR"/*.log; do
		[[ -e $f ]] || continue
		if grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f"; then
			echo "[$E2E_NAME] sanitizer report in $(basename "$f"):" >&2
			grep -E -A 30 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f" | head -n 60 >&2
			found=0
		fi
	done
	return $found
}

e2e_cleanup() {
	local rc=$? p
	trap - EXIT
	set +e
	if [[ -n $APIRD_PID && $E2E_APIRD_STOPPED == 0 ]]; then
		if ((rc == 0)); then
			stop_apird || rc=1
		else
			e2e_kill_group "$APIRD_PID"
		fi
	fi
	for p in "${E2E_PIDS[@]}"; do
		e2e_kill_group "$p"
	done
	if ((rc == 0)) && e2e_sanitizer_reports; then
		rc=1
	fi
	if ((rc != 0)); then
		e2e_dump_logs
		echo "[$E2E_NAME] FAILED (exit $rc)" >&2
	fi
	rm -rf "$E2E_DIR"
	exit "$rc"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- processes ----------------------------------------------------------------------

# spawn NAME CMD...: run CMD in the background in its own session; output
# goes to $E2E_DIR/NAME.out. Sets SPAWNED_PID (= CMD's pid = its pgid: setsid
# and setpriv exec in place because a background job of a non-interactive
# shell is not a group leader).
spawn() {
	local name=$1
	shift
	setsid setpriv --pdeathsig KILL -- "$@" >"$E2E_DIR/$name.out" 2>&1 </dev/null &
	SPAWNED_PID=$!
	E2E_PIDS+=("$SPAWNED_PID")
}

# wait_for PID [SECONDS]: wait for a spawned process; returns its exit
# status, or 124 after killing its group when it outlives SECONDS.
wait_for() {
	local pid=$1 secs=${2:-$E2E_TIMEOUT} deadline rc=0
	deadline=$((SECONDS + secs))
	while e2e_alive "$pid"; do
		if ((SECONDS >= deadline)); then
			e2e_log "pid $pid still running after ${secs}s: killing it"
			e2e_kill_group "$pid"
			return 124
		fi
		sleep 0.05
	done
	wait "$pid" 2>/dev/null || rc=$?
	e2e_forget_pid "$pid"
	return "$rc"
}

# ---- apird -------------------------------------------------------------------------

# start_apird [ARGS...]: start a private apird on $E2E_DIR/apird.sock and
# wait until it accepts connections.
start_apird() {
	[[ -x $APIRD ]] || fail "apird not built: $APIRD"
	APIRD_SOCK=$E2E_DIR/apird.sock
	APIRD_LOG=$E2E_DIR/apird.log
	setsid setpriv --pdeathsig TERM -- "$APIRD" --socket "$APIRD_SOCK" \
		--log-level "${APIRD_LOG_LEVEL:-debug}" "$@" >"$APIRD_LOG" 2>&1 </dev/null &
	APIRD_PID=$!
	E2E_APIRD_STOPPED=0
	local deadline=$((SECONDS + 10))
	until [[ -S $APIRD_SOCK ]]; do
		e2e_alive "$APIRD_PID" || fail "apird exited during startup"
		((SECONDS < deadline)) || fail "apird did not create $APIRD_SOCK within 10s"
		sleep 0.05
	done
}

# stop_apird: SIGTERM, then require exit status 0 within 10 seconds.
stop_apird() {
	local rc=0 deadline=$((SECONDS + 10))
	[[ -n $APIRD_PID ]] || return 0
	kill -TERM "$APIRD_PID" 2>/dev/null || true
	while e2e_alive "$APIRD_PID"; do
		if ((SECONDS >= deadline)); then
			e2e_log "apird did not exit within 10s of SIGTERM"
			kill -KILL -- "-$APIRD_PID" 2>/dev/null || true
			wait "$APIRD_PID" 2>/dev/null || true
			E2E_APIRD_STOPPED=1
			return 1
		fi
		sleep 0.05
	done
	wait "$APIRD_PID" || rc=$?
	E2E_APIRD_STOPPED=1
	if ((rc != 0)); then
		e2e_log "apird exited with status $rc after SIGTERM"
		return 1
	fi
}

apird_alive() { [[ -n $APIRD_PID ]] && e2e_alive "$APIRD_PID"; }

# ---- applications on apir ------------------------------------------------------------

# apir_argv PROFILE: sets APIR_ARGV to the prefix that runs a command on
# our apird with device profile PROFILE (apir or mlx5).
apir_argv() {
	[[ -x $APIR_RUN ]] || fail "apir-run not built: $APIR_RUN"
	[[ -n $APIRD_SOCK ]] || fail "start_apird before running applications"
	APIR_ARGV=(env "${E2E_APP_ENV[@]}" "$APIR_RUN" --socket "$APIRD_SOCK" --profile "$1" --)
}

# spawn_apir NAME PROFILE CMD...: spawn CMD on apir in the background.
spawn_apir() {
	local name=$1 profile=$2
	shift 2
	apir_argv "$profile"
	spawn "$name" "${APIR_ARGV[@]}" "$@"
}

# run_apir NAME PROFILE CMD...: run CMD on apir in the foreground with a
# timeout; output in $(out NAME). Returns CMD's status.
run_apir() {
	local name=$1 rc=0
	spawn_apir "$@"
	wait_for "$SPAWNED_PID" || rc=$?
	if ((rc != 0)); then
		e2e_log "$name exited with status $rc; output:"
		sed 's/^/    /' "$(out "$name")" >&2
	fi
	return "$rc"
}

out() { echo "$E2E_DIR/$1.out"; }

# ---- TCP ports ------------------------------------------------------------------------

# pick_port: sets PORT to a TCP port nobody uses now, below the ephemeral
# range (so an outgoing connection cannot take it before the server binds)
# and never handed out before by this test.
pick_port() {
	local used _
	used=$(ss -Htan | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)
	for _ in $(seq 200); do
		PORT=$((20000 + RANDOM % 12000))
		if ! grep -qx "$PORT" <<<"$used" && [[ " ${E2E_PORTS[*]} " != *" $PORT "* ]]; then
			E2E_PORTS+=("$PORT")
			return 0
		fi
	done
	fail "no free TCP port found"
}

# wait_listening PORT PID: wait until PID's server listens on PORT.
wait_listening() {
	local port=$1 pid=$2 deadline=$((SECONDS + E2E_TIMEOUT))
	until [[ -n $(ss -Hltn "sport = :$port") ]]; do
		e2e_alive "$pid" || return 1
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

# ---- client/server pairs ----------------------------------------------------------------

# run_pair NAME PROFILES TOOL ARGS...: run "TOOL ARGS -p PORT" as a server
# and "TOOL ARGS -p PORT 127.0.0.1" as its client (perftest and the
# ibv_*_pingpong examples share that syntax). PROFILES is "apir", "mlx5",
# or "SERVER/CLIENT" (e.g. "apir/mlx5"). Outputs: $(out NAME.server) and
# $(out NAME.client). Fails (returns 1) unless both exit 0.
run_pair() {
	local name=$1 profiles=$2 tool=$3 port spid cpid src=0 crc=0 t0=$SECONDS
	shift 3
	pick_port
	port=$PORT
	spawn_apir "$name.server" "${profiles%/*}" "$tool" "$@" -p "$port"
	spid=$SPAWNED_PID
	if ! wait_listening "$port" "$spid"; then
		e2e_log "$name: server did not listen on port $port"
		wait_for "$spid" 1 || src=$?
		sed 's/^/    server: /' "$(out "$name.server")" >&2
		return 1
	fi
	spawn_apir "$name.client" "${profiles#*/}" "$tool" "$@" -p "$port" 127.0.0.1
	cpid=$SPAWNED_PID
	wait_for "$cpid" || crc=$?
	wait_for "$spid" 15 || src=$?
	if ((src != 0 || crc != 0)); then
		e2e_log "$name ($profiles): $tool $* -> server status $src, client status $crc"
		sed 's/^/    server: /' "$(out "$name.server")" >&2
		sed 's/^/    client: /' "$(out "$name.client")" >&2
		return 1
	fi
	e2e_log "ok: $name ($profiles): $tool $* ($((SECONDS - t0)) s)"
}

# perftest_rows FILE: the numeric result rows of a perftest report.
perftest_rows() {
	grep -E '^[[:space:]]*[0-9]+[[:space:]]+[0-9]+[[:space:]]+[0-9.]+' "$1" || true
}

# ---- output checks ------------------------------------------------------------------------

# expect_match FILE ERE WHAT: FILE has a line matching ERE.
expect_match() {
	grep -Eq -- "$2" "$1" || {
		sed 's/^/    /' "$1" >&2
		fail "$(basename "$1"): $3 (no line matches /$2/)"
	}
}

# expect_no_match FILE ERE WHAT: no line of FILE matches ERE.
expect_no_match() {
	if grep -Eq -- "$2" "$1"; then
		grep -E -- "$2" "$1" | head -n 5 | sed 's/^/    /' >&2
		fail "$(basename "$1"): $3"
	fi
}

# check_pingpong NAME: both sides of an ibv_*_pingpong pair finished their
# iterations and the server's -c check found no bad data (it only prints).
check_pingpong() {
	local side
	for side in server client; do
		expect_match "$(out "$1.$side")" '[0-9]+ iters in [0-9.]+ seconds' "$side did not finish"
		expect_no_match "$(out "$1.$side")" 'invalid data|[Ff]ailed|error' "$side reported an error"
	done
}

# check_perftest NAME MIN_ROWS: the client printed at least MIN_ROWS result
# rows, each with a positive 4th column (average bandwidth / max latency).
check_perftest() {
	local file rows n
	file=$(out "$1.client")
	rows=$(perftest_rows "$file")
	n=$(grep -c . <<<"$rows" || true)
	((n >= $2)) || {
		sed 's/^/    /' "$file" >&2
		fail "$1: expected >= $2 result rows, got $n"
	}
	awk '$4 + 0 <= 0 { print "    zero result: " $0; bad = 1 } END { exit bad }' <<<"$rows" >&2 ||
		fail "$1: a result is zero"
}

# pair NAME PROFILES TOOL ARGS...: run_pair that fails the test on error.
pair() {
	run_pair "$@" || fail "$1: $3 failed"
}
