# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Multi-host harness for the cross-host (fabric) tests: sourced instead of
# lib.sh, whose functions it extends (it sources lib.sh first).
#
#   hosts_create N        N "hosts" A, B[, C]: one network namespace each,
#                         a veth pair between every two of them, loopback up
#   start_host_apird H    H's apird with --fabric-addr <H's address>
#   pair_on NAME SRV CLI PROFILES TOOL ARGS   (lib.sh) a client/server pair,
#                         server on host SRV, client on CLI, over the veth
#   spawn_apir_on / run_apir_on / spawn_on H ...   (lib.sh) commands on H
#   link_down H1 H2 / link_up H1 H2   cut / restore the H1-H2 link (H1's end)
#   kill_apird_on H / start_host_apird H   (lib.sh) a crash and a restart
#
# Addressing: host number i (A = 1) owns 10.77.1.<i>, the same address on
# each of its veths, as a point-to-point address ("ip addr add LOCAL peer
# REMOTE"), so every host reaches every other one over their own link, and
# cutting the A-B link touches nothing else. Addresses exist only inside
# the namespaces: nothing is configured in the caller's namespace.
#
# Names carry this shell's pid: namespaces "apir-<pid>-A", veths
# "apir<pid>AB" (created directly inside the namespaces), so concurrent runs
# never collide. Teardown (a lib.sh cleanup hook, run on any exit after every
# process we started is dead) deletes exactly the namespaces we created,
# which destroys their veths; a process still inside one is a leak and fails
# the test.
#
# Requires root and `ip netns`: without them the test FAILS (the cross-host
# tests are part of the suite; a skip would hide that nothing ran).
#
# Environment: APIR_FABRIC_PROVIDER (passed as --fabric-provider when set).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HOSTS_SUBNET=10.77.1
HOSTS_NAMES=(A B C)
HOSTS_NETNS=()   # namespaces this run created, in creation order
HOSTS=()         # host names in use

# host_ns H: the namespace name of host H.
host_ns() { echo "apir-$$-$1"; }

# host_veth H1 H2: the name of H1's end of the H1-H2 link.
host_veth() { echo "apir$$$1$2"; }

hosts_teardown() {
	local ns pids rc=0
	for ns in "${HOSTS_NETNS[@]}"; do
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		if [[ -n $pids ]]; then
			e2e_log "processes left in namespace $ns: $pids- killing them"
			# shellcheck disable=SC2086 # a list of pids
			kill -KILL $pids 2>/dev/null
			rc=1
		fi
		ip netns del "$ns" || {
			e2e_log "could not delete namespace $ns"
			rc=1
		}
	done
	HOSTS_NETNS=()
	return "$rc"
}
E2E_CLEANUP_HOOKS+=(hosts_teardown)

hosts_require() {
	((EUID == 0)) || fail "the cross-host tests need root (network namespaces and veth pairs); running as uid $EUID"
	command -v ip >/dev/null || fail "the cross-host tests need iproute2's 'ip' (ip netns)"
	ip netns list >/dev/null 2>&1 || fail "'ip netns' does not work here: $(ip netns list 2>&1 | head -n 1)"
	hosts_report_stale
}

# A run killed with SIGKILL (a ctest timeout) cannot delete its namespaces.
# They are not ours to delete: say which they are and how to remove them.
hosts_report_stale() {
	local ns pid stale=()
	while read -r ns _; do
		[[ $ns =~ ^apir-([0-9]+)-[A-C]$ ]] || continue
		pid=${BASH_REMATCH[1]}
		[[ -e /proc/$pid ]] || stale+=("$ns")
	done < <(ip netns list)
	((${#stale[@]} == 0)) ||
		e2e_log "namespaces left by earlier runs that were killed: ${stale[*]} (remove with: ip netns del NAME)"
}

# host_add H NUMBER: create H's namespace and register H with lib.sh.
host_add() {
	local ns err
	ns=$(host_ns "$1")
	err=$(ip netns add "$ns" 2>&1) || fail "ip netns add $ns: $err"
	HOSTS_NETNS+=("$ns")
	ip -n "$ns" link set lo up || fail "loopback up in $ns"
	E2E_HOST_NS[$1]=$ns
	E2E_HOST_ADDR[$1]=$HOSTS_SUBNET.$2
	HOSTS+=("$1")
}

# host_link H1 H2: a veth pair between H1 and H2, each end with its host's
# address and the other host's address as peer.
host_link() {
	local a=$1 b=$2 va vb err
	va=$(host_veth "$a" "$b")
	vb=$(host_veth "$b" "$a")
	err=$(ip link add "$va" netns "${E2E_HOST_NS[$a]}" type veth \
		peer name "$vb" netns "${E2E_HOST_NS[$b]}" 2>&1) || fail "veth $va-$vb: $err"
	ip -n "${E2E_HOST_NS[$a]}" addr add "${E2E_HOST_ADDR[$a]}" peer "${E2E_HOST_ADDR[$b]}" dev "$va" &&
		ip -n "${E2E_HOST_NS[$b]}" addr add "${E2E_HOST_ADDR[$b]}" peer "${E2E_HOST_ADDR[$a]}" dev "$vb" &&
		ip -n "${E2E_HOST_NS[$a]}" link set "$va" up &&
		ip -n "${E2E_HOST_NS[$b]}" link set "$vb" up ||
		fail "configuring link $a-$b"
}

# hosts_create N: N hosts (2 or 3), fully linked; waits until every link
# is up and routed.
hosts_create() {
	local n=$1 i j
	((n >= 2 && n <= ${#HOSTS_NAMES[@]})) || fail "hosts_create: 2..${#HOSTS_NAMES[@]} hosts, not $n"
	hosts_require
	for ((i = 0; i < n; i++)); do
		host_add "${HOSTS_NAMES[i]}" $((i + 1))
	done
	for ((i = 0; i < n; i++)); do
		for ((j = i + 1; j < n; j++)); do
			host_link "${HOSTS_NAMES[i]}" "${HOSTS_NAMES[j]}"
		done
	done
	for ((i = 0; i < n; i++)); do
		for ((j = 0; j < n; j++)); do
			((i == j)) || host_wait_reachable "${HOSTS_NAMES[i]}" "${HOSTS_NAMES[j]}" 10 ||
				fail "host ${HOSTS_NAMES[j]} unreachable from ${HOSTS_NAMES[i]}"
		done
	done
	e2e_log "hosts: $(for h in "${HOSTS[@]}"; do printf '%s=%s ' "$h" "${E2E_HOST_ADDR[$h]}"; done)"
}

# link_ready H1 H2: both ends of the H1-H2 link are operationally up and
# H1 routes H2's address through it.
link_ready() {
	local va vb
	va=$(host_veth "$1" "$2")
	vb=$(host_veth "$2" "$1")
	[[ $(ip -n "${E2E_HOST_NS[$1]}" -o link show dev "$va") == *"state UP"* &&
		$(ip -n "${E2E_HOST_NS[$2]}" -o link show dev "$vb") == *"state UP"* &&
		$(ip -n "${E2E_HOST_NS[$1]}" route get "${E2E_HOST_ADDR[$2]}" 2>/dev/null) == *" dev $va "* ]]
}

# host_wait_reachable FROM TO SECONDS: wait until the FROM-TO link is ready
# (SECONDS scaled).
host_wait_reachable() {
	local deadline=$((SECONDS + $(scaled "$3")))
	until link_ready "$1" "$2"; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

# start_host_apird H [ARGS...]: start (or restart) H's apird on H's fabric
# address.
start_host_apird() {
	local host=$1
	shift
	start_apird_on "$host" --fabric-addr "${E2E_HOST_ADDR[$host]}" \
		${APIR_FABRIC_PROVIDER:+--fabric-provider "$APIR_FABRIC_PROVIDER"} "$@"
}

# start_host_apirds: an apird on every host.
start_host_apirds() {
	local h
	for h in "${HOSTS[@]}"; do
		start_host_apird "$h"
	done
}

# link_down H1 H2 / link_up H1 H2: take H1's end of the H1-H2 link down (the
# other end loses carrier) or bring it back.
link_down() { ip -n "${E2E_HOST_NS[$1]}" link set "$(host_veth "$1" "$2")" down || fail "link_down $1 $2"; }
link_up() {
	ip -n "${E2E_HOST_NS[$1]}" link set "$(host_veth "$1" "$2")" up || fail "link_up $1 $2"
	host_wait_reachable "$1" "$2" 10 || fail "link $1-$2 is up but $2 does not answer"
}

# ---- apir_verbs_check across hosts ------------------------------------------------

# spawn_check_pair NAME SERVER CLIENT ARGS...: "apir_verbs_check serve PORT"
# on host SERVER (output NAME.resp) and, once it listens,
# "apir_verbs_check --peer <SERVER>:PORT ARGS" on host CLIENT (NAME.req).
# Sets CHECK_RESP_PID and CHECK_REQ_PID.
spawn_check_pair() {
	local name=$1 server=$2 client=$3
	shift 3
	pick_port
	spawn_apir_on "$server" "$name.resp" apir "$E2E_TOOLS_DIR/apir_verbs_check" serve "$PORT"
	CHECK_RESP_PID=$SPAWNED_PID
	wait_listening "$PORT" "$CHECK_RESP_PID" "$server" ||
		fail "$name: apir_verbs_check serve did not listen on $server: $(cat "$(out "$name.resp")")"
	spawn_apir_on "$client" "$name.req" apir "$E2E_TOOLS_DIR/apir_verbs_check" \
		--peer "${E2E_HOST_ADDR[$server]}:$PORT" "$@"
	CHECK_REQ_PID=$SPAWNED_PID
}

# check_pair NAME SERVER CLIENT ARGS...: spawn_check_pair, then both sides
# must exit 0 and the requester must report every case passed.
check_pair() {
	local name=$1 rrc=0 qrc=0 t0=$SECONDS
	spawn_check_pair "$@"
	wait_for "$CHECK_REQ_PID" || qrc=$?
	wait_for "$CHECK_RESP_PID" 15 || rrc=$?
	if ((qrc != 0 || rrc != 0)); then
		sed 's/^/    requester: /' "$(out "$name.req")" >&2
		sed 's/^/    responder: /' "$(out "$name.resp")" >&2
		fail "$name: apir_verbs_check ${*:4} across $2 <- $3: requester status $qrc, responder status $rrc"
	fi
	expect_match "$(out "$name.req")" 'all cases passed' "$name: summary line"
	e2e_log "ok: $name: apir_verbs_check ${*:4} ($2 <- $3, $((SECONDS - t0)) s)"
}

# FAULT_SLACK_MS: what a fault report may take beyond the QP's own
# timeout x retry allowance (detection sweeps, scheduling on 2 busy cores).
FAULT_SLACK_MS=${FAULT_SLACK_MS:-$(scaled 2000)}

# check_fault_report NAME: the requester of an "apir_verbs_check fault"
# pair (NAME.req) exited 0 after its first error, which was
# RETRY_EXC_ERR, came within the QP's timeout x retry allowance plus
# FAULT_SLACK_MS, left the QP in ERR and flushed a later WR.
check_fault_report() {
	local file ms allow
	file=$(out "$1.req")
	expect_match "$file" '^fault: first error transport retry counter exceeded ' \
		"$1: the first error after the fault is RETRY_EXC_ERR"
	ms=$(sed -En 's/^fault: first error .* after ([0-9]+) ms;.*/\1/p' "$file")
	allow=$(sed -En 's/^fault: first error .* allow ([0-9]+) ms$/\1/p' "$file")
	[[ -n $ms && -n $allow ]] || fail "$1: no timing in the fault report: $(cat "$file")"
	((ms <= allow + FAULT_SLACK_MS)) ||
		fail "$1: RETRY_EXC_ERR came $ms ms after the last success; timeout x retry allows $allow ms (+ $FAULT_SLACK_MS ms slack)"
	expect_match "$file" '^fault: qp state ERR$' "$1: the QP is in ERR after the fault"
	expect_match "$file" '^fault: a WR posted afterwards completes with Work Request Flushed Error$' \
		"$1: later WRs are flushed"
	e2e_log "ok: $1: RETRY_EXC_ERR $ms ms after the last success (allowance $allow ms)"
}

# fault_pair NAME SERVER CLIENT FAULT_CMD...: an "apir_verbs_check fault"
# pair (responder on SERVER, requester on CLIENT, QP timeout 14 and retry
# count 7, like perftest's) streaming WRITEs; once data flows, runs
# FAULT_CMD; then the requester must report the fault (check_fault_report)
# within 20 s. The responder is killed: its host may be unreachable now.
fault_pair() {
	local name=$1 server=$2 client=$3 rc=0 t0
	shift 3
	spawn_check_pair "$name" "$server" "$client" --timeout 14 --retry 7 fault
	wait_output "$name.req" '^streaming' 30 "$CHECK_REQ_PID"
	"$@"
	t0=$SECONDS
	wait_for "$CHECK_REQ_PID" 20 || rc=$?
	((rc != 124)) || fail "$name: the requester hung after '$*' (no completion 20 s later)"
	e2e_kill_group "$CHECK_RESP_PID"
	((rc == 0)) || {
		sed 's/^/    requester: /' "$(out "$name.req")" >&2
		fail "$name: apir_verbs_check fault exited $rc after '$*'"
	}
	check_fault_report "$name"
	e2e_log "$name: requester done $((SECONDS - t0)) s after '$*'"
}

# ---- perftest streams -----------------------------------------------------------------

# spawn_stream NAME SERVER CLIENT PROFILE TOOL ARGS...: a perftest pair
# (stdout line-buffered) in the background; STREAM_SPID, STREAM_CPID.
# Returns once the client has printed its peer's address (data flows next).
spawn_stream() {
	local name=$1 server=$2 client=$3 profile=$4
	shift 4
	pick_port
	spawn_apir_on "$server" "$name.server" "$profile" stdbuf -oL "$@" -p "$PORT"
	STREAM_SPID=$SPAWNED_PID
	wait_listening "$PORT" "$STREAM_SPID" "$server" ||
		fail "$name: server did not listen: $(cat "$(out "$name.server")")"
	spawn_apir_on "$client" "$name.client" "$profile" stdbuf -oL "$@" -p "$PORT" "${E2E_HOST_ADDR[$server]}"
	STREAM_CPID=$SPAWNED_PID
	wait_output "$name.client" 'remote address' 30 "$STREAM_CPID"
}

# stream_must_fail NAME SECONDS: the stream's client exits with an error
# within SECONDS, reporting RETRY_EXC_ERR (perftest: "Failed status 12");
# its server is killed (its peer or its link may be gone).
stream_must_fail() {
	local rc=0
	wait_for "$STREAM_CPID" "$2" || rc=$?
	e2e_kill_group "$STREAM_SPID"
	((rc != 124)) || fail "$1: the perftest client hung (still running $2 s after the fault)"
	((rc != 0)) || fail "$1: the perftest client reported success across the fault"
	expect_match "$(out "$1.client")" 'Failed status 12' "$1: the client's completion error is RETRY_EXC_ERR (12)"
	e2e_log "ok: $1: perftest client exited $rc: $(grep -m1 'Failed status' "$(out "$1.client")")"
}

# stream_must_pass NAME: the stream ran to its end: both sides exit 0 and
# the client printed a non-zero result.
stream_must_pass() {
	local src=0 crc=0
	wait_for "$STREAM_CPID" || crc=$?
	wait_for "$STREAM_SPID" 15 || src=$?
	if ((src != 0 || crc != 0)); then
		sed 's/^/    server: /' "$(out "$1.server")" >&2
		sed 's/^/    client: /' "$(out "$1.client")" >&2
		fail "$1: server status $src, client status $crc"
	fi
	check_perftest "$1" 1
	e2e_log "ok: $1 ran to its end: $(perftest_rows "$(out "$1.client")" | head -n 1)"
}
