#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# apirctl on two hosts while an ibv_rc_pingpong pair runs between them:
# each apird lists its QP in RTS with its peer (the other side's QPN, the
# other host's GID, "remote" at the other apird's fabric address) and
# counters that grow both ways; status shows the fabric address and
# provider; once the pair is killed, the QPs are gone.
source "$(dirname "$0")/hosts.sh"
APIRCTL=$APIR_BUILD_DIR/bin/apirctl
[[ -x $APIRCTL ]] || fail "apirctl not built: $APIRCTL"
hosts_create 2
start_host_apirds

# apirctl_on HOST NAME ARGS...: apirctl on HOST's apird; stdout in $(out NAME).
apirctl_on() {
	local host=$1 name=$2
	shift 2
	"$APIRCTL" --socket "${E2E_APIRD_SOCK[$host]}" "$@" >"$(out "$name")" 2>"$(out "$name.err")" ||
		fail "apirctl on $host: $* failed: $(cat "$(out "$name.err")")"
}

fabric_addr() { echo "${E2E_HOST_ADDR[$1]}:7471"; }
gid() { echo "::ffff:${E2E_HOST_ADDR[$1]}"; }

for h in A B; do
	apirctl_on "$h" "status.$h" status --json
	json_check "$(out "status.$h")" '
d = st["device"]
assert d["gid"] == args[0], d
assert d["fabric_addr"] == args[1], d
assert d["fabric_provider"] == "tcp;ofi_rxm", d
' "$(gid "$h")" "$(fabric_addr "$h")" || fail "apirctl status on $h: $(cat "$(out "status.$h")")"
done

PP_ARGS=(stdbuf -oL ibv_rc_pingpong -g 0 -s 4096 -n 1000000000)
pick_port
spawn_apir_on A pp.server apir "${PP_ARGS[@]}" -p "$PORT"
spid=$SPAWNED_PID
wait_listening "$PORT" "$spid" A || fail "ibv_rc_pingpong server did not listen: $(cat "$(out pp.server)")"
spawn_apir_on B pp.client apir "${PP_ARGS[@]}" -p "$PORT" "${E2E_HOST_ADDR[A]}"
cpid=$SPAWNED_PID

qpn_of() { sed -En "s/^ *$2 address: .*QPN (0x[0-9a-f]+),.*/\1/p" "$(out "$1")"; }
deadline=$((SECONDS + $(scaled "$E2E_TIMEOUT")))
until [[ -n $(qpn_of pp.server remote) && -n $(qpn_of pp.client remote) ]]; do
	e2e_alive "$spid" && e2e_alive "$cpid" || fail "the pingpong pair exited early"
	((SECONDS < deadline)) || fail "the pingpong pair did not connect"
	sleep 0.05
done
declare -A QPN=([A]=$(qpn_of pp.server local) [B]=$(qpn_of pp.client local))
e2e_log "QPN on A ${QPN[A]}, on B ${QPN[B]}"

# One QP per apird, in RTS, its peer the other host's QP, moving data both ways.
QP_CHECK='
qps = st["qps"]
me, peer, peer_gid, peer_at = int(args[0], 16), int(args[1], 16), args[2], args[3]
assert [q["qpn"] for q in qps] == [me], f"QPs listed: {qps}"
q = qps[0]
p = q["peer"]
assert q["type"] == "RC" and q["state"] == "RTS", q
assert p is not None and p["qpn"] == peer and p["gid"] == peer_gid, q
assert p["remote"] is True and p.get("fabric_addr") == peer_at, q
assert q["ops_sent"] > 0 and q["bytes_sent"] >= 4096 * q["ops_sent"] // 2, q
assert q["ops_received"] > 0 and q["bytes_received"] > 0, q
'
declare -A OTHER=([A]=B [B]=A)
for h in A B; do
	o=${OTHER[$h]}
	deadline=$((SECONDS + $(scaled "$E2E_TIMEOUT")))
	until apirctl_on "$h" "qps1.$h" qps --json &&
		json_check "$(out "qps1.$h")" "$QP_CHECK" "${QPN[$h]}" "${QPN[$o]}" "$(gid "$o")" \
			"$(fabric_addr "$o")" 2>"$(out "qps1.$h.check")"; do
		((SECONDS < deadline)) || fail "apirctl qps on $h never showed the pair: $(cat "$(out "qps1.$h.check")")"
		sleep 0.2
	done
done

sleep 0.5
for h in A B; do
	apirctl_on "$h" "qps2.$h" qps --json
	json_check "$(out "qps2.$h")" '
before = json.load(open(args[0]))["qps"][0]
now = st["qps"][0]
for k in ("ops_sent", "bytes_sent", "ops_received", "bytes_received"):
    assert now[k] > before[k], (k, now, before)
' "$(out "qps1.$h")" || fail "QP counters on $h did not grow: $(cat "$(out "qps2.$h")")"
	apirctl_on "$h" "qps.table.$h" qps
	o=${OTHER[$h]}
	grep -Eq "^${QPN[$h]} +RC +RTS +[0-9]+ +${QPN[$o]} +$(gid "$o") +remote +$(fabric_addr "$o") +[1-9]" \
		"$(out "qps.table.$h")" || fail "apirctl qps on $h: no row for ${QPN[$h]} -> ${QPN[$o]}: $(cat "$(out "qps.table.$h")")"
done

e2e_kill_group "$cpid"
e2e_kill_group "$spid"
for h in A B; do
	deadline=$((SECONDS + $(scaled 10)))
	until apirctl_on "$h" "gone.$h" qps --json && json_check "$(out "gone.$h")" 'assert st["qps"] == []' 2>/dev/null; do
		((SECONDS < deadline)) || fail "QPs on $h outlived their clients: $(cat "$(out "gone.$h")")"
		sleep 0.1
	done
done
e2e_log "ok: apirctl across hosts"
