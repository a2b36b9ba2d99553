#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# apird as a command: option errors, a second apird on a live socket, a
# stale socket left by a SIGKILLed apird, an engine it does not have, a
# config file (port GID, the sw engine named), and a
# clean exit on SIGINT that removes the socket.
source "$(dirname "$0")/lib.sh"
start_apird

# expect_apird_exit NAME STATUS ERE ARGS...: apird ARGS exits with STATUS, saying ERE.
expect_apird_exit() {
	local name=$1 want=$2 ere=$3 rc=0
	shift 3
	spawn "$name" "$APIRD" "$@"
	wait_for "$SPAWNED_PID" 10 || rc=$?
	((rc == want)) || fail "$name: apird exited with status $rc, expected $want"
	expect_match "$(out "$name")" "$ere" "$name: message"
}

# start_other NAME SOCKET ARGS...: another apird; waits until it listens.
# (The socket file alone proves nothing: a stale one may already be there.)
start_other() {
	local name=$1 sock=$2
	shift 2
	spawn "$name" "$APIRD" --socket "$sock" "$@"
	wait_output "$name" "listening on $sock" 10 "$SPAWNED_PID"
}

# devices_on SOCKET NAME: ibv_devices through apir-run on SOCKET lists apir0.
devices_on() {
	spawn "$2" env "${E2E_APP_ENV[@]}" "$APIR_RUN" --socket "$1" -- ibv_devinfo -v
	wait_for "$SPAWNED_PID" || fail "$2: ibv_devinfo on $1 failed"
	expect_match "$(out "$2")" '^hca_id:[[:space:]]+apir0$' "$2: apir0"
}

expect_apird_exit bad_level 2 'bogus' --socket "$E2E_DIR/x.sock" --log-level bogus
expect_apird_exit bad_option 2 'usage' --no-such-option
expect_apird_exit second 1 'another apird is running' --socket "$APIRD_SOCK"
printf 'engine = warp\n' >"$E2E_DIR/engine.conf"
expect_apird_exit bad_engine 1 "engine 'warp' is not one of this apird's engines: sw" \
	--socket "$E2E_DIR/engine.sock" --config "$E2E_DIR/engine.conf"
[[ ! -e $E2E_DIR/engine.sock ]] || fail "an apird that refused its engine left a socket behind"
devices_on "$APIRD_SOCK" first_still_serves

start_other stale_owner "$E2E_DIR/stale.sock"
kill -KILL "$SPAWNED_PID"
wait_for "$SPAWNED_PID" 5 || true
[[ -S $E2E_DIR/stale.sock ]] || fail "SIGKILLed apird left no socket file to test with"
start_other successor "$E2E_DIR/stale.sock"
devices_on "$E2E_DIR/stale.sock" successor_serves
expect_match "$(out successor)" 'stale' "successor says it replaced a stale socket"

printf '# test config\nlog_level = debug\ngid_ipv4 = 10.11.12.13\nengine = sw\n' >"$E2E_DIR/apird.conf"
start_other configured "$E2E_DIR/conf.sock" --config "$E2E_DIR/apird.conf"
configured_pid=$SPAWNED_PID
devices_on "$E2E_DIR/conf.sock" configured_gid
expect_match "$(out configured_gid)" 'GID\[ *0\]:[[:space:]]+::ffff:10\.11\.12\.13, RoCE v2' "GID from gid_ipv4"
expect_match "$(out configured)" 'debug' "log_level from the config file"

kill -INT "$configured_pid"
rc=0
wait_for "$configured_pid" 10 || rc=$?
((rc == 0)) || fail "apird exited with status $rc on SIGINT"
[[ ! -e $E2E_DIR/conf.sock ]] || fail "apird left its socket behind after SIGINT"
