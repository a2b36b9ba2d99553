#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Protection: a forged, stale, out-of-bounds, wrong-PD or wrong-access rkey
# (and a forged lkey) fails that work request with the right status, leaves
# the target memory untouched, and apird keeps serving everyone.
source "$(dirname "$0")/lib.sh"
start_apird
if e2e_sanitizer_build; then
	E2E_APP_ENV=("LD_PRELOAD=$E2E_ASAN_RT" "ASAN_OPTIONS=detect_leaks=1")
fi

run_apir protect apir "$E2E_TOOLS_DIR/apir_verbs_check" protect || fail "protection checks failed"
expect_match "$(out protect)" 'all cases passed' "summary line"
apird_alive || fail "apird died"
pair after apir ibv_rc_pingpong -c -n 100
check_pingpong after
