#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A client killed with SIGKILL in the middle of a bidirectional transfer:
# its peer gets completion errors instead of hanging, apird tears the dead
# session down (and logs it), and a new pair runs on the same apird.
source "$(dirname "$0")/lib.sh"
start_apird

# Duration mode: without apir's help the server would keep going for 60 s.
# stdbuf: perftest's stdout is a file here, and we wait for its lines.
pick_port
spawn_apir victim.server apir stdbuf -oL ib_write_bw -F -b -D 60 -s 65536 -p "$PORT"
spid=$SPAWNED_PID
wait_listening "$PORT" "$spid" || fail "server did not listen"
spawn_apir victim.client apir stdbuf -oL ib_write_bw -F -b -D 60 -s 65536 -p "$PORT" 127.0.0.1
cpid=$SPAWNED_PID
wait_output victim.client 'remote address' 20 "$cpid"
sleep 2
e2e_alive "$cpid" || fail "client ended before it was killed"
kill -KILL "$cpid"
wait_for "$cpid" 5 || true

t0=$SECONDS
src=0
wait_for "$spid" 20 || src=$?
((src != 124)) || fail "the peer of a killed client hung (still running 20 s later)"
((src != 0)) || fail "the peer of a killed client reported success"
e2e_log "peer exited with status $src after $((SECONDS - t0)) s: $(grep -m1 -Ei "error|failed" "$(out victim.server)")"
expect_match "$(out victim.server)" '[Cc]ompletion with error|[Ff]ailed status|error' \
	"the peer reports an error"

apird_alive || fail "apird died when a client was killed"
# apird logs "session N: ib_write_bw (pid P) closed (...): releasing ...".
deadline=$((SECONDS + $(scaled 10)))
until grep -Eq "session [0-9]+: .*\(pid $cpid\) closed" "$APIRD_LOG"; do
	((SECONDS < deadline)) || fail "apird log does not show the killed client's session (pid $cpid) closing"
	sleep 0.1
done

pair after apir ib_write_bw -F -n 1000
check_perftest after 1
pair after_rc apir ibv_rc_pingpong -c
check_pingpong after_rc
