#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# apir-run: the application resolves libibverbs.so.1 to apir's library, sees
# the right socket and profile, and every misuse fails with a clear message.
source "$(dirname "$0")/lib.sh"
start_apird

# expect_exit NAME STATUS ERE CMD...: CMD exits with STATUS and says ERE.
expect_exit() {
	local name=$1 want=$2 ere=$3 rc=0
	shift 3
	spawn "$name" "$@"
	wait_for "$SPAWNED_PID" 10 || rc=$?
	((rc == want)) || fail "$name: exit status $rc, expected $want"
	expect_match "$(out "$name")" "$ere" "$name: message"
}

run_apir ldd apir ldd "$(command -v ibv_devinfo)" || fail "ldd through apir-run failed"
expect_match "$(out ldd)" "libibverbs\.so\.1 => $(realpath "$APIR_BUILD_DIR/lib")/libibverbs\.so\.1" \
	"libibverbs.so.1 resolves to the build tree's library"

# shellcheck disable=SC2016 # expanded by the inner shell
run_apir env.mlx5 mlx5 sh -c 'echo "sock=$APIR_SOCKET profile=$APIR_DEVICE_PROFILE"' || fail "env"
expect_match "$(out env.mlx5)" "^sock=$APIRD_SOCK profile=mlx5$" "socket and profile exported"
# shellcheck disable=SC2016
run_apir env.apir apir sh -c 'echo "profile=${APIR_DEVICE_PROFILE-unset}"' || fail "env"
expect_match "$(out env.apir)" '^profile=unset$' "apir profile clears APIR_DEVICE_PROFILE"

expect_exit no_command 125 'no COMMAND' "$APIR_RUN" --socket "$APIRD_SOCK"
expect_exit bad_profile 125 "unknown profile 'mlx4'" "$APIR_RUN" --socket "$APIRD_SOCK" --profile mlx4 -- true
expect_exit no_socket 125 'is apird running' "$APIR_RUN" --socket "$E2E_DIR/nothing.sock" -- true
expect_exit not_a_socket 125 'is not a socket' "$APIR_RUN" --socket "$APIRD_LOG" -- true
expect_exit no_such_cmd 127 'cannot run no-such-command' "$APIR_RUN" --socket "$APIRD_SOCK" -- no-such-command
expect_exit bad_lib_dir 125 'has no libibverbs.so.1' env APIR_LIB_DIR="$E2E_DIR" "$APIR_RUN" --socket "$APIRD_SOCK" -- true
