# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Harness sourced by every tests/e2e/test_*.sh (and by scripts/demo).
#
# On source it creates a private temp dir and installs an EXIT trap. Tests
# then call start_apird, run_apir / run_pair / spawn_apir, and check outputs.
# The trap kills exactly the process groups this harness started (each
# spawned command runs in its own session via setsid, and gets SIGKILL from
# the kernel if this shell dies, via setpriv --pdeathsig), stops every apird
# with SIGTERM and requires a clean exit, runs the cleanup hooks (hosts.sh
# deletes its namespaces there), fails the test on any sanitizer report,
# prints the logs when the test failed, and removes the temp dir.
#
# Everything runs on a "host": "local" is this shell's network namespace
# and the default; tests/e2e/hosts.sh adds hosts that are network
# namespaces of their own. The *_on functions take the host first; the
# plain ones (start_apird, run_apir, run_pair, ...) act on "local".
#
# Environment (set by ctest, see tests/e2e/CMakeLists.txt):
#   APIR_BUILD_DIR   build tree with bin/apird, bin/apir-run, lib/libibverbs.so.1
#   APIR_SANITIZE=1  force sanitizer mode (otherwise read from CMakeCache.txt)
#   E2E_TIMEOUT      seconds a single command may run (default 60)
#   APIR_TIME_FACTOR every wait of the harness and of the tests is this many
#                    times its figure (default 1; ctest sets it from the
#                    build's APIR_TEST_TIME_FACTOR: sanitizer builds and runs
#                    under load are slower, and no test may depend on speed)

set -euo pipefail

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
APIR_SOURCE_DIR=${APIR_SOURCE_DIR:-$(cd "$E2E_LIB_DIR/../.." && pwd)}
APIR_BUILD_DIR=${APIR_BUILD_DIR:-$APIR_SOURCE_DIR/build}
APIRD=$APIR_BUILD_DIR/bin/apird
APIR_RUN=$APIR_BUILD_DIR/bin/apir-run
# shellcheck disable=SC2034 # used by the tests (apir_verbs_check)
E2E_TOOLS_DIR=$APIR_BUILD_DIR/tests/e2e
E2E_TIMEOUT=${E2E_TIMEOUT:-60}
export APIR_TIME_FACTOR=${APIR_TIME_FACTOR:-1}
[[ $APIR_TIME_FACTOR =~ ^[1-9][0-9]*$ ]] || {
	echo "APIR_TIME_FACTOR must be a positive integer, not '$APIR_TIME_FACTOR'" >&2
	exit 1
}
E2E_NAME=$(basename "${0%.sh}")

E2E_PIDS=()          # leaders of the process groups we started
E2E_PORTS=()         # TCP ports handed out, never handed out twice
E2E_CLEANUP_HOOKS=() # functions the EXIT trap runs after killing our processes

# Per host: its network namespace ("" = ours), the address its servers are
# reached at, and its apird (a pid only while it runs).
declare -A E2E_HOST_NS=([local]="") E2E_HOST_ADDR=([local]=127.0.0.1)
declare -A E2E_APIRD_PID=() E2E_APIRD_SOCK=() E2E_APIRD_LOG=()
# The local apird, for the tests written before hosts existed.
APIRD_PID=""
APIRD_SOCK=""
APIRD_LOG=""

e2e_log() { echo "[$E2E_NAME] $*" >&2; }

# scaled SECONDS: SECONDS (an integer) times APIR_TIME_FACTOR. Every
# timeout goes through it; the harness's wait functions apply it to the
# figure they are given.
scaled() { echo $(($1 * APIR_TIME_FACTOR)); }
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
	export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$APIR_SOURCE_DIR/tests/lsan.supp}
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
	local rc=$? p host hook
	trap - EXIT
	set +e
	for host in "${!E2E_APIRD_PID[@]}"; do
		if ((rc == 0)); then
			stop_apird_on "$host" || rc=1
		else
			kill_apird_on "$host"
		fi
	done
	for p in "${E2E_PIDS[@]}"; do
		e2e_kill_group "$p"
	done
	for hook in "${E2E_CLEANUP_HOOKS[@]}"; do
		"$hook" || rc=1
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

# ---- hosts ------------------------------------------------------------------------

# host_prefix HOST: sets HOST_PREFIX to the command prefix that runs a
# command in HOST's network namespace (empty for ours).
host_prefix() {
	[[ -v E2E_HOST_NS[$1] ]] || fail "unknown host '$1'"
	HOST_PREFIX=()
	[[ -z ${E2E_HOST_NS[$1]} ]] || HOST_PREFIX=(ip netns exec "${E2E_HOST_NS[$1]}")
}

# ---- processes ----------------------------------------------------------------------

# spawn NAME CMD...: run CMD in the background in its own session; output
# goes to $E2E_DIR/NAME.out. Sets SPAWNED_PID (= CMD's pid = its pgid: setsid
# and setpriv exec in place because a background job of a non-interactive
# shell is not a group leader; so does `ip netns exec`).
spawn() {
	local name=$1
	shift
	setsid setpriv --pdeathsig KILL -- "$@" >"$E2E_DIR/$name.out" 2>&1 </dev/null &
	SPAWNED_PID=$!
	E2E_PIDS+=("$SPAWNED_PID")
}

# spawn_on HOST NAME CMD...: spawn CMD on HOST (not through apir).
spawn_on() {
	local name=$2
	host_prefix "$1"
	shift 2
	spawn "$name" "${HOST_PREFIX[@]}" "$@"
}

# wait_for PID [SECONDS]: wait for a spawned process; returns its exit
# status, or 124 after killing its group when it outlives SECONDS (scaled).
wait_for() {
	local pid=$1 secs deadline rc=0
	secs=$(scaled "${2:-$E2E_TIMEOUT}")
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

# start_apird_on HOST [ARGS...]: start HOST's apird on $E2E_DIR/apird.HOST.sock
# (apird.sock for local) and wait until the socket is there. The log
# (apird[.HOST].log) is appended to, so a restart keeps the history.
start_apird_on() {
	local host=$1 suffix="" sock log pid deadline=$((SECONDS + $(scaled 10)))
	shift
	[[ -x $APIRD ]] || fail "apird not built: $APIRD"
	host_prefix "$host"
	! apird_alive_on "$host" || fail "apird on $host is already running"
	[[ $host == local ]] || suffix=.$host
	sock=$E2E_DIR/apird$suffix.sock
	log=$E2E_DIR/apird$suffix.log
	# A killed apird leaves its socket behind: it must not pass for the new one's.
	rm -f "$sock"
	echo "=== $(date +%T.%N) apird $*" >>"$log"
	setsid setpriv --pdeathsig TERM -- "${HOST_PREFIX[@]}" "$APIRD" --socket "$sock" \
		--log-level "${APIRD_LOG_LEVEL:-debug}" "$@" >>"$log" 2>&1 </dev/null &
	pid=$!
	E2E_APIRD_PID[$host]=$pid
	E2E_APIRD_SOCK[$host]=$sock
	# shellcheck disable=SC2034 # used by the tests
	E2E_APIRD_LOG[$host]=$log
	if [[ $host == local ]]; then
		# shellcheck disable=SC2034 # used by the tests
		APIRD_PID=$pid APIRD_SOCK=$sock APIRD_LOG=$log
	fi
	until [[ -S $sock ]]; do
		e2e_alive "$pid" || fail "apird on $host exited during startup"
		((SECONDS < deadline)) || fail "apird on $host did not create $sock within $(scaled 10) s"
		sleep 0.05
	done
}

# e2e_apird_gone HOST: forget HOST's apird (it exited or was killed).
e2e_apird_gone() {
	unset "E2E_APIRD_PID[$1]"
	# shellcheck disable=SC2034 # used by the tests
	[[ $1 != local ]] || APIRD_PID=""
}

# stop_apird_on HOST: SIGTERM, then require exit status 0 within 10 seconds
# (scaled).
stop_apird_on() {
	local host=$1 pid rc=0 deadline=$((SECONDS + $(scaled 10)))
	[[ -v E2E_APIRD_PID[$host] ]] || return 0
	pid=${E2E_APIRD_PID[$host]}
	kill -TERM "$pid" 2>/dev/null || true
	while e2e_alive "$pid"; do
		if ((SECONDS >= deadline)); then
			e2e_log "apird on $host did not exit within $(scaled 10) s of SIGTERM"
			kill_apird_on "$host"
			return 1
		fi
		sleep 0.05
	done
	wait "$pid" || rc=$?
	e2e_apird_gone "$host"
	if ((rc != 0)); then
		e2e_log "apird on $host exited with status $rc after SIGTERM"
		return 1
	fi
}

# kill_apird_on HOST: SIGKILL HOST's apird (its whole process group).
kill_apird_on() {
	[[ -v E2E_APIRD_PID[$1] ]] || return 0
	kill -KILL -- "-${E2E_APIRD_PID[$1]}" 2>/dev/null || true
	wait "${E2E_APIRD_PID[$1]}" 2>/dev/null || true
	e2e_apird_gone "$1"
}

apird_alive_on() { [[ -v E2E_APIRD_PID[$1] ]] && e2e_alive "${E2E_APIRD_PID[$1]}"; }

start_apird() { start_apird_on local "$@"; }
stop_apird() { stop_apird_on local; }
apird_alive() { apird_alive_on local; }

# ---- applications on apir ------------------------------------------------------------

# apir_argv_on HOST PROFILE: sets APIR_ARGV to the prefix that runs a
# command on HOST's apird with device profile PROFILE (apir or mlx5).
apir_argv_on() {
	[[ -x $APIR_RUN ]] || fail "apir-run not built: $APIR_RUN"
	host_prefix "$1"
	[[ -v E2E_APIRD_SOCK[$1] ]] || fail "start apird on $1 before running applications there"
	APIR_ARGV=("${HOST_PREFIX[@]}" env "${E2E_APP_ENV[@]}" "$APIR_RUN"
		--socket "${E2E_APIRD_SOCK[$1]}" --profile "$2" --)
}

apir_argv() { apir_argv_on local "$1"; }

# spawn_apir_on HOST NAME PROFILE CMD...: spawn CMD on HOST's apird in the background.
spawn_apir_on() {
	local host=$1 name=$2 profile=$3
	shift 3
	apir_argv_on "$host" "$profile"
	spawn "$name" "${APIR_ARGV[@]}" "$@"
}

spawn_apir() { spawn_apir_on local "$@"; }

# run_apir_on HOST NAME PROFILE CMD...: run CMD on HOST's apird in the
# foreground with a timeout; output in $(out NAME). Returns CMD's status.
run_apir_on() {
	local name=$2 rc=0
	spawn_apir_on "$@"
	wait_for "$SPAWNED_PID" || rc=$?
	if ((rc != 0)); then
		e2e_log "$name exited with status $rc; output:"
		sed 's/^/    /' "$(out "$name")" >&2
	fi
	return "$rc"
}

run_apir() { run_apir_on local "$@"; }

out() { echo "$E2E_DIR/$1.out"; }

# wait_output NAME ERE SECONDS PID: wait until $(out NAME) has a line
# matching ERE; fails the test if PID exits first or SECONDS (scaled) pass.
wait_output() {
	local deadline=$((SECONDS + $(scaled "$3")))
	until grep -Eq -- "$2" "$(out "$1")"; do
		e2e_alive "$4" || fail "$1 exited before printing /$2/"
		((SECONDS < deadline)) || fail "$1 did not print /$2/ within $(scaled "$3") s"
		sleep 0.05
	done
}

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

# wait_listening PORT PID [HOST]: wait until PID's server listens on PORT
# (in HOST's network namespace, default local).
wait_listening() {
	local port=$1 pid=$2 ns=${E2E_HOST_NS[${3:-local}]} deadline=$((SECONDS + $(scaled "$E2E_TIMEOUT")))
	until [[ -n $(ss ${ns:+-N "$ns"} -Hltn "sport = :$port") ]]; do
		e2e_alive "$pid" || return 1
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

# ---- client/server pairs ----------------------------------------------------------------

# run_pair_on NAME SERVER CLIENT PROFILES TOOL ARGS...: run "TOOL ARGS -p PORT"
# as a server on host SERVER and "TOOL ARGS -p PORT <SERVER's address>" as
# its client on host CLIENT (perftest and the ibv_*_pingpong examples share
# that syntax). PROFILES is "apir", "mlx5", or "SERVER/CLIENT" (e.g.
# "apir/mlx5"). Outputs: $(out NAME.server) and $(out NAME.client). Fails
# (returns 1) unless both exit 0.
run_pair_on() {
	local name=$1 shost=$2 chost=$3 profiles=$4 tool=$5 port spid cpid src=0 crc=0 t0=$SECONDS
	shift 5
	pick_port
	port=$PORT
	spawn_apir_on "$shost" "$name.server" "${profiles%/*}" "$tool" "$@" -p "$port"
	spid=$SPAWNED_PID
	if ! wait_listening "$port" "$spid" "$shost"; then
		e2e_log "$name: server did not listen on port $port"
		wait_for "$spid" 1 || src=$?
		sed 's/^/    server: /' "$(out "$name.server")" >&2
		return 1
	fi
	spawn_apir_on "$chost" "$name.client" "${profiles#*/}" "$tool" "$@" -p "$port" "${E2E_HOST_ADDR[$shost]}"
	cpid=$SPAWNED_PID
	wait_for "$cpid" || crc=$?
	wait_for "$spid" 15 || src=$?
	if ((src != 0 || crc != 0)); then
		e2e_log "$name ($profiles): $tool $* -> server status $src, client status $crc"
		sed 's/^/    server: /' "$(out "$name.server")" >&2
		sed 's/^/    client: /' "$(out "$name.client")" >&2
		return 1
	fi
	e2e_log "ok: $name ($profiles, $shost <- $chost): $tool $* ($((SECONDS - t0)) s)"
}

# run_pair NAME PROFILES TOOL ARGS...: run_pair_on with both sides local.
run_pair() {
	local name=$1
	shift
	run_pair_on "$name" local local "$@"
}

# perftest_rows FILE: the numeric result rows of a perftest report.
# perftest prints inf/nan for a size whose few iterations its cycle clock
# could not time (it warns about the CPU frequency estimate); that is a
# timing artefact, not a transfer failure.
perftest_rows() {
	grep -E '^[[:space:]]*[0-9]+[[:space:]]+[0-9]+[[:space:]]+([0-9.]+|inf|-?nan)[[:space:]]' "$1" || true
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
# rows: perftest prints a size's row only after all its iterations
# completed (and exits non-zero on a failed completion, which run_pair
# checks). The figures in a row are timing, not correctness: on a loaded
# machine perftest's own clock calibration fails ("Correlation coefficient
# r^2 < 0.9") and it prints 0.00, inf or nan. Those are logged, never failed.
check_perftest() {
	local file rows n
	file=$(out "$1.client")
	rows=$(perftest_rows "$file")
	n=$(grep -c . <<<"$rows" || true)
	((n >= $2)) || {
		sed 's/^/    /' "$file" >&2
		fail "$1: expected >= $2 result rows, got $n"
	}
	log_unmeasured "$1" "$rows"
}

# log_unmeasured NAME ROWS: logs the perftest rows whose figures perftest
# could not measure (a zero, inf or nan in a figure column).
log_unmeasured() {
	local bad
	bad=$(awk '{ for (i = 3; i <= NF; i++) if ($i !~ /^[0-9.]+$/ || $i + 0 <= 0) { print; break } }' <<<"$2")
	[[ -z $bad ]] || e2e_log "$1: perftest could not time these rows (load; not a failure):$(printf '\n    %s' "$bad")"
}

# json_check FILE PYTHON ARGS...: evaluates PYTHON with `st` = the JSON in
# FILE and `args` = ARGS; it raises (assert) when the check fails.
json_check() {
	local file=$1 code=$2
	shift 2
	python3 - "$file" "$@" <<EOF
import json, sys
st = json.load(open(sys.argv[1]))
args = sys.argv[2:]
$code
EOF
}

# pair NAME PROFILES TOOL ARGS...: run_pair that fails the test on error.
pair() {
	run_pair "$@" || fail "$1: $3 failed"
}

# pair_on NAME SERVER CLIENT PROFILES TOOL ARGS...: run_pair_on that fails
# the test on error.
pair_on() {
	run_pair_on "$@" || fail "$1: $5 failed"
}
