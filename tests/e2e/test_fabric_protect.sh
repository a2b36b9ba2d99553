#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Protection across two hosts: the apird that owns the target memory
# (host A) validates every remote access. A forged rkey (WRITE and READ),
# the requester's own rkey, out-of-bounds and wrapping addresses, an MR
# without REMOTE_WRITE, the rkey of a deregistered MR (before and after it
# was used), an rkey of another PD: each fails with REM_ACCESS_ERR at the
# requester (host B) and leaves the target untouched; a WRITE to a QP that
# is connected to another QP times out (RETRY_EXC_ERR) and touches nothing;
# a forged lkey fails locally; data moves afterwards, and both apirds keep
# serving.
source "$(dirname "$0")/hosts.sh"
hosts_create 2
start_host_apirds
if e2e_sanitizer_build; then
	E2E_APP_ENV=("LD_PRELOAD=$E2E_ASAN_RT" "ASAN_OPTIONS=detect_leaks=1")
fi

check_pair protect A B protect
apird_alive_on A || fail "apird on A died"
apird_alive_on B || fail "apird on B died"
pair_on after A B apir ibv_rc_pingpong -g 0 -c -n 100
check_pingpong after
