# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Harness sourced by every tests/vm/test_*.sh, on top of tests/e2e/lib.sh
# (temp dir, spawn, wait_for, apird, cleanup of every process group it
# started). Adds the guest image (built once per build tree, rebuilt when
# an input is newer) and spawn_vm, which boots a guest under TCG and
# removes its RAM file on any exit.
#
# Environment (set by ctest, see tests/vm/CMakeLists.txt):
#   APIR_BUILD_DIR   build tree with lib/libibverbs.so.1; the image goes to
#                    APIR_BUILD_DIR/vm-image
#   VM_TIMEOUT       seconds a guest may run (default 55; scaled by
#                    APIR_TIME_FACTOR like every wait of the e2e harness)

source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

APIR_VM=$APIR_SOURCE_DIR/scripts/apir-vm
VM_IMAGE=$APIR_BUILD_DIR/vm-image
VM_TIMEOUT=${VM_TIMEOUT:-55}
VM_RAM_FILES=()

# The guest would need the ASan runtime loaded ahead of everything: the VM
# tests run on the plain build only.
if e2e_sanitizer_build; then
	e2e_log "SKIP: sanitizer build (the guest image has no ASan runtime)"
	exit 77
fi

vm_remove_ram_files() {
	rm -f "${VM_RAM_FILES[@]}"
}
E2E_CLEANUP_HOOKS+=(vm_remove_ram_files)

# The test tools the guests run, besides the Debian ones.
VM_TOOLS=("$APIR_BUILD_DIR/tests/vm/apir_port_hostile")

# vm_image: builds the guest image (with VM_TOOLS in /usr/bin) unless it is
# newer than all its inputs.
vm_image() {
	local lib=$APIR_BUILD_DIR/lib/libibverbs.so.1 initramfs=$VM_IMAGE/initramfs.cpio.gz tool add=()
	[[ -f $lib ]] || fail "no $lib: build apir first"
	for tool in "${VM_TOOLS[@]}"; do
		[[ -x $tool ]] || fail "no $tool: build apir first"
		add+=(--add "$tool:/usr/bin/$(basename "$tool")")
	done
	if [[ -f $initramfs ]] && [[ -z $(find "$lib" "${VM_TOOLS[@]}" "$APIR_VM" \
		"$APIR_SOURCE_DIR/scripts/vm" -newer "$initramfs" -print -quit) ]]; then
		return 0
	fi
	"$APIR_VM" build-image --build-dir "$APIR_BUILD_DIR" "${add[@]}" >"$E2E_DIR/build-image.log" 2>&1 ||
		fail "apir-vm build-image failed: $(tail -n 5 "$E2E_DIR/build-image.log")"
}

# spawn_vm NAME APIRD_SOCKET 'GUEST COMMAND' [apir-vm run options...]:
# boots a guest named NAME-<pid> that runs the command and powers off.
# Sets VM_PID (apir-vm's pid; its exit status is the guest command's) and
# VM_CONSOLE (the console log).
spawn_vm() {
	local tag=$1 name=$1-$$ sock=$2 cmd=$3
	shift 3
	VM_CONSOLE=$E2E_DIR/$tag.console.log
	VM_RAM_FILES+=("/dev/shm/apir-vm-$name")
	spawn "$tag.vm" "$APIR_VM" run --image "$VM_IMAGE" --apird-socket "$sock" --name "$name" \
		--timeout "$(scaled "$VM_TIMEOUT")" --console-log "$VM_CONSOLE" --cmd "$cmd" "$@"
	VM_PID=$SPAWNED_PID
}

# console_has ERE DESCRIPTION: the guest console has a line matching ERE.
# (grep reads all its input, no -q: under pipefail, tr killed by SIGPIPE
# after an early match would fail the pipeline.)
console_has() {
	tr -d '\r' <"$VM_CONSOLE" | grep -E -- "$1" >/dev/null || fail "guest console: no $2 (/$1/)"
}

console_lacks() {
	! tr -d '\r' <"$VM_CONSOLE" | grep -E -- "$1" >/dev/null || fail "guest console: $2 (/$1/)"
}

# wait_console ERE SECONDS: wait until the guest console has a line
# matching ERE; fails the test if the VM exits first or SECONDS (scaled) pass.
wait_console() {
	local deadline=$((SECONDS + $(scaled "$2")))
	until [[ -f $VM_CONSOLE ]] && tr -d '\r' <"$VM_CONSOLE" | grep -E -- "$1" >/dev/null; do
		e2e_alive "$VM_PID" || fail "the VM exited before its console showed /$1/"
		((SECONDS < deadline)) || fail "the VM console did not show /$1/ within $(scaled "$2") s"
		sleep 0.05
	done
}

# host_server NAME GUEST_PORT TOOL ARGS...: spawns "TOOL ARGS -p PORT" on
# the host's apird (unix transport) on a free PORT, waits until it listens,
# and appends "--guestfwd GUEST_PORT:PORT" to VM_FWD, so that a guest
# client reaches it at 10.0.2.100:GUEST_PORT. Sets SPAWNED_PID.
VM_FWD=()
host_server() {
	local name=$1 gport=$2
	shift 2
	pick_port
	spawn_apir "$name" apir "$@" -p "$PORT"
	wait_listening "$PORT" "$SPAWNED_PID" || fail "the host $name server did not listen on $PORT"
	VM_FWD+=(--guestfwd "$gport:$PORT")
}

# apirctl_json NAME ARGS...: apirctl's JSON about the local apird in $(out NAME).
apirctl_json() {
	local name=$1
	shift
	"$APIR_BUILD_DIR/bin/apirctl" --socket "$APIRD_SOCK" --json "$@" >"$(out "$name")" 2>&1 ||
		fail "apirctl $* failed: $(cat "$(out "$name")")"
}

# Gates hold a guest command until the host has looked at something: the
# guest polls a TCP connection that the host answers "go" once opened.
# (A guest cannot wait on the port: opening it is what some tests check.)
declare -A VM_GATE=()

# vm_gate NAME GUEST_PORT: a gate the guest reaches at 10.0.2.100:GUEST_PORT
# (appends the --guestfwd to VM_FWD).
vm_gate() {
	pick_port
	VM_GATE[$1]=$PORT
	VM_FWD+=(--guestfwd "$2:$PORT")
}

# gate_wait GUEST_PORT: the guest shell line that waits at that gate.
gate_wait() { echo "until [ \"\$(nc 10.0.2.100 $1 </dev/null)\" = go ]; do sleep 0.3; done"; }

# gate_open NAME: the guest's next poll of gate NAME reads "go".
gate_open() {
	spawn "gate.$1" python3 -c 'import socket, sys
s = socket.create_server(("127.0.0.1", int(sys.argv[1])))
c, _ = s.accept()
c.sendall(b"go\n")
c.close()' "${VM_GATE[$1]}"
}
