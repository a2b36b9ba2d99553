#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SIGTERM to apird while pingpongs run (one polling, one sleeping on
# completion events): apird exits cleanly, and every client fails with an
# error within seconds instead of hanging.
source "$(dirname "$0")/lib.sh"
start_apird

declare -A PIDS

# start_long_pair NAME ARGS...: an ibv_rc_pingpong pair that would run for
# hours; PIDS[NAME.server] and PIDS[NAME.client] hold their pids.
start_long_pair() {
	local name=$1
	shift
	pick_port
	spawn_apir "$name.server" apir ibv_rc_pingpong "$@" -p "$PORT"
	PIDS[$name.server]=$SPAWNED_PID
	wait_listening "$PORT" "$SPAWNED_PID" || fail "$name server did not listen"
	spawn_apir "$name.client" apir ibv_rc_pingpong "$@" -p "$PORT" 127.0.0.1
	PIDS[$name.client]=$SPAWNED_PID
}

start_long_pair poll -s 1 -n 100000000
start_long_pair events -e -s 1 -n 100000000
sleep 2
for name in "${!PIDS[@]}"; do
	e2e_alive "${PIDS[$name]}" || fail "$name ended before apird was stopped"
done

stop_apird || fail "apird did not exit cleanly on SIGTERM with live sessions"

for name in "${!PIDS[@]}"; do
	rc=0
	wait_for "${PIDS[$name]}" 15 || rc=$?
	((rc != 124)) || fail "$name hung after apird stopped"
	((rc != 0)) || fail "$name reported success after apird stopped"
	e2e_log "$name exited with status $rc"
done
