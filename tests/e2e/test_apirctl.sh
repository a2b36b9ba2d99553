#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# apirctl against a live apird. While an ibv_rc_pingpong pair runs, `qps`
# shows both QPs connected to each other (the QPNs the pair printed) with
# counters that grow, and `sessions` shows both clients; once the pair is
# killed, their sessions are gone. Without an apird, apirctl says so.
source "$(dirname "$0")/lib.sh"

APIRCTL=$APIR_BUILD_DIR/bin/apirctl
[[ -x $APIRCTL ]] || fail "apirctl not built: $APIRCTL"
GID=::ffff:127.0.0.1

# apirctl_to NAME ARGS...: run apirctl on our apird; stdout in $(out NAME).
apirctl_to() {
	local name=$1
	shift
	"$APIRCTL" --socket "$APIRD_SOCK" "$@" >"$(out "$name")" 2>"$(out "$name.err")" ||
		fail "apirctl $* failed: $(cat "$(out "$name.err")")"
}

# ---- no apird ---------------------------------------------------------------------

rc=0
"$APIRCTL" --socket "$E2E_DIR/nobody.sock" status >"$(out nobody)" 2>&1 || rc=$?
((rc == 1)) || fail "apirctl without an apird exited $rc, not 1"
grep -q "apird is not running" "$(out nobody)" || fail "apirctl without an apird: $(cat "$(out nobody)")"

# ---- an idle apird, found through APIR_SOCKET -----------------------------------------

start_apird
APIR_SOCKET=$APIRD_SOCK "$APIRCTL" status >"$(out idle)" || fail "apirctl status (APIR_SOCKET) failed"
grep -Eq "^  GID +$GID\$" "$(out idle)" || fail "status shows no GID: $(cat "$(out idle)")"
grep -Eq '^  sessions +0$' "$(out idle)" || fail "an idle apird has sessions: $(cat "$(out idle)")"

# ---- a running ibv_rc_pingpong pair -----------------------------------------------------

# stdbuf: the QPNs are read from the pair's output (a file) while it runs.
PP_ARGS=(stdbuf -oL ibv_rc_pingpong -g 0 -s 4096 -n 1000000000)
pick_port
spawn_apir pp.server apir "${PP_ARGS[@]}" -p "$PORT"
spid=$SPAWNED_PID
wait_listening "$PORT" "$spid" || fail "ibv_rc_pingpong server did not listen: $(cat "$(out pp.server)")"
spawn_apir pp.client apir "${PP_ARGS[@]}" -p "$PORT" 127.0.0.1
cpid=$SPAWNED_PID

# Each side prints its own QPN and its peer's before the first message.
qpn_of() { sed -En "s/^ *$2 address: .*QPN (0x[0-9a-f]+),.*/\1/p" "$(out "$1")"; }
deadline=$((SECONDS + $(scaled "$E2E_TIMEOUT")))
until [[ -n $(qpn_of pp.server remote) && -n $(qpn_of pp.client remote) ]]; do
	e2e_alive "$spid" && e2e_alive "$cpid" || fail "the pingpong pair exited early"
	((SECONDS < deadline)) || fail "the pingpong pair did not connect"
	sleep 0.05
done
sqpn=$(qpn_of pp.server local)
cqpn=$(qpn_of pp.client local)
[[ $(qpn_of pp.server remote) == "$cqpn" ]] || fail "server and client disagree on QPNs"
e2e_log "server QPN $sqpn, client QPN $cqpn"

# Both QPs, each pointing at the other, in RTS, with traffic both ways.
QPS_CHECK='
qps = {q["qpn"]: q for q in st["qps"]}
s, c = int(args[0], 16), int(args[1], 16)
assert set(qps) == {s, c}, f"QPs listed: {sorted(qps)}"
for me, peer in ((s, c), (c, s)):
    q, p = qps[me], qps[me]["peer"]
    assert q["type"] == "RC" and q["state"] == "RTS", q
    assert p is not None and p["qpn"] == peer and not p["remote"], q
    assert p["gid"] == args[2] and p["session"] == qps[peer]["session"], q
    assert q["ops_sent"] > 0 and q["bytes_sent"] >= 4096 * q["ops_sent"] // 2, q
    assert q["ops_received"] > 0 and q["bytes_received"] > 0, q
'
deadline=$((SECONDS + $(scaled "$E2E_TIMEOUT")))
until apirctl_to qps1 qps --json && json_check "$(out qps1)" "$QPS_CHECK" "$sqpn" "$cqpn" "$GID" \
	2>"$(out qps1.check)"; do
	((SECONDS < deadline)) || fail "apirctl qps never showed the pair: $(cat "$(out qps1.check)")"
	sleep 0.2
done

# The counters are live: a second look sees more.
sleep 0.5
apirctl_to qps2 qps --json
json_check "$(out qps2)" '
before = {q["qpn"]: q for q in json.load(open(args[0]))["qps"]}
for q in st["qps"]:
    assert q["ops_sent"] > before[q["qpn"]]["ops_sent"], (q, before[q["qpn"]])
    assert q["bytes_received"] > before[q["qpn"]]["bytes_received"], (q, before[q["qpn"]])
' "$(out qps1)" || fail "QP counters did not grow"

# The table says the same for people.
apirctl_to qps.table qps
for pair in "$sqpn $cqpn" "$cqpn $sqpn"; do
	read -r me peer <<<"$pair"
	grep -Eq "^$me +RC +RTS +[0-9]+ +$peer +$GID +local +session [0-9]+ +[1-9]" "$(out qps.table)" ||
		fail "apirctl qps has no row for $me -> $peer: $(cat "$(out qps.table)")"
done

# Both clients, with their pids and their objects.
apirctl_to sessions sessions --json
json_check "$(out sessions)" '
ss = st["sessions"]
assert sorted(s["pid"] for s in ss) == sorted(int(p) for p in args), ss
for s in ss:
    assert s["client"] == "ibv_rc_pingpong" and s["transport"] == "unix", s
    assert s["qps"] == 1 and s["cqs"] == 1 and s["mrs"] == 1 and s["mr_bytes"] >= 4096, s
' "$spid" "$cpid" || fail "apirctl sessions: $(cat "$(out sessions)")"
apirctl_to sessions.table sessions
grep -Eq "^[0-9]+ +ibv_rc_pingpong +$spid +unix " "$(out sessions.table)" ||
	fail "apirctl sessions has no row for the server: $(cat "$(out sessions.table)")"

apirctl_to status status --json
json_check "$(out status)" '
assert st["device"]["num_sessions"] == 2 and st["device"]["num_qps"] == 2, st["device"]
assert st["device"]["gid"] == args[0] and st["device"]["fabric_addr"] == "", st["device"]
assert len(st["sessions"]) == 2 and len(st["qps"]) == 2
' "$GID" || fail "apirctl status: $(cat "$(out status)")"

# ---- the pair goes away -----------------------------------------------------------------

e2e_kill_group "$cpid"
e2e_kill_group "$spid"
deadline=$((SECONDS + $(scaled 10)))
until apirctl_to gone sessions --json && json_check "$(out gone)" 'assert not st["sessions"]' 2>/dev/null; do
	((SECONDS < deadline)) || fail "sessions outlived their clients: $(cat "$(out gone)")"
	sleep 0.1
done
apirctl_to gone.qps qps --json
json_check "$(out gone.qps)" 'assert st["qps"] == []' || fail "QPs outlived their clients"
e2e_log "ok: apirctl"
