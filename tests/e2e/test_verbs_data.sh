#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Data integrity: RDMA WRITE/READ/SEND/atomics of patterned data between
# two apird sessions, every byte of the target and of its surroundings
# verified (tests/e2e/tools/apir_verbs_check.c).
source "$(dirname "$0")/lib.sh"
start_apird
# Our own tool frees everything it allocates: check the frontend for leaks.
if e2e_sanitizer_build; then
	E2E_APP_ENV=("LD_PRELOAD=$E2E_ASAN_RT" "ASAN_OPTIONS=detect_leaks=1")
fi

run_apir data apir "$E2E_TOOLS_DIR/apir_verbs_check" data || fail "data checks failed"
expect_match "$(out data)" 'all cases passed' "summary line"
