#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# apird's fabric settings from a config file, as an operator writes them:
# A listens on a non-default port (fabric_addr = IP:PORT), B on the default
# one and names A's port with a "peer" line; QPs connect both ways. Another
# provider by name (--fabric-provider sockets) carries the same traffic. A
# provider that does not exist and a malformed fabric address stop apird at
# start-up with a message, never a half-working daemon.
source "$(dirname "$0")/hosts.sh"
hosts_create 2

cat >"$E2E_DIR/A.conf" <<CONF
# host A
fabric_addr = ${E2E_HOST_ADDR[A]}:7500
fabric_provider = tcp;ofi_rxm
CONF
cat >"$E2E_DIR/B.conf" <<CONF
# host B: A listens on 7500; everyone else on the default port
fabric_addr = ${E2E_HOST_ADDR[B]}
peer = ${E2E_HOST_ADDR[A]}:7500
CONF
start_apird_on A --config "$E2E_DIR/A.conf"
start_apird_on B --config "$E2E_DIR/B.conf"
pair_on conf.rc.a_serves A B apir ibv_rc_pingpong -g 0 -c -n 100
pair_on conf.rc.b_serves B A apir ibv_rc_pingpong -g 0 -c -n 100
pair_on conf.write A B apir ib_write_bw -F -s 65536 -n 200
check_pingpong conf.rc.a_serves
check_pingpong conf.rc.b_serves
check_perftest conf.write 1
stop_apird_on A || fail "apird on A did not stop cleanly"
stop_apird_on B || fail "apird on B did not stop cleanly"

start_host_apird A --fabric-provider sockets
start_host_apird B --fabric-provider sockets
pair_on sockets.rc A B apir ibv_rc_pingpong -g 0 -c -n 100
check_pingpong sockets.rc
check_pair sockets.data A B data
stop_apird_on A || fail "apird on A did not stop cleanly"
stop_apird_on B || fail "apird on B did not stop cleanly"

# must_not_start NAME ARGS...: apird on A with ARGS exits non-zero within
# 10 s, with a message in its log.
must_not_start() {
	local name=$1 rc=0
	shift
	host_prefix A
	spawn "$name" "${HOST_PREFIX[@]}" "$APIRD" --socket "$E2E_DIR/$name.sock" "$@"
	wait_for "$SPAWNED_PID" 10 || rc=$?
	((rc != 124)) || fail "$name: apird $* kept running"
	((rc != 0)) || fail "$name: apird $* exited 0"
	[[ -s $(out "$name") ]] || fail "$name: apird $* failed without a word"
	e2e_log "ok: $name: apird $* -> exit $rc: $(head -n 1 "$(out "$name")")"
}
must_not_start bad_provider --fabric-addr "${E2E_HOST_ADDR[A]}" --fabric-provider no-such-provider
must_not_start bad_addr --fabric-addr 10.77.1.1:notaport
must_not_start foreign_addr --fabric-addr 192.0.2.1
