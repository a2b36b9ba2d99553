# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# `apir-vm run`: the QEMU command line of an apir guest, and running it
# (sourced by scripts/apir-vm; docs/VM.md explains every argument).

# Kernel arguments: the serial console, no boot chatter (every console byte
# costs under TCG), and a panic exits QEMU (panic=-1 reboots at once, and
# -no-reboot turns the reboot into an exit) instead of hanging a test.
VM_KERNEL_ARGS="console=ttyS0 quiet panic=-1"
# Kernel command lines are at most 2048 bytes on x86.
VM_CMDLINE_MAX=2048

# vm_ram_layout SIZE_MIB: how QEMU's i440fx machine ("pc") places guest RAM,
# i.e. which guest-physical ranges are which offsets of the RAM file. At
# 3.5 GiB or more it keeps 3 GiB below 4 GiB and puts the rest at 4 GiB.
vm_ram_layout() {
	local mib=$1 low
	if ((mib >= 3584)); then
		low=3072
		printf 'guest RAM: gpa [0, 0x%x) = file [0, 0x%x); gpa [0x100000000, 0x%x) = file [0x%x, 0x%x)\n' \
			$((low << 20)) $((low << 20)) $(((4096 + mib - low) << 20)) $((low << 20)) $((mib << 20))
	else
		printf 'guest RAM: gpa [0, 0x%x) = file [0, 0x%x)\n' $((mib << 20)) $((mib << 20))
	fi
}

# vm_mem_mib SIZE: QEMU-style size (512M, 4G, or MiB) in MiB.
vm_mem_mib() {
	case $1 in
	*[0-9]G) echo $((${1%G} * 1024)) ;;
	*[0-9]M) echo "${1%M}" ;;
	*[0-9]) echo "$1" ;;
	*) vm_die "--mem $1: give MiB, or a size ending in M or G" ;;
	esac
}

# QEMU option values double their commas.
vm_opt() { printf '%s' "${1//,/,,}"; }

# vm_qemu_argv: fills VM_ARGV from the VM_* settings of `apir-vm run`.
vm_qemu_argv() {
	local mem_mib append
	mem_mib=$(vm_mem_mib "$VM_MEM")
	VM_ARGV=(qemu-system-x86_64 -name "apir-$VM_NAME" -machine pc -nodefaults -no-user-config)
	if [[ $VM_ACCEL == kvm ]]; then
		VM_ARGV+=(-accel kvm -cpu host)
	else
		VM_ARGV+=(-accel tcg)
	fi
	VM_ARGV+=(-smp "$VM_SMP" -m "${mem_mib}M")
	if [[ $VM_MEM_BACKEND == memfd ]]; then
		VM_ARGV+=(-object "memory-backend-memfd,id=mem,size=${mem_mib}M,share=on")
	else
		VM_ARGV+=(-object "memory-backend-file,id=mem,size=${mem_mib}M,mem-path=$(vm_opt "$VM_RAM_FILE"),share=on")
	fi
	VM_ARGV+=(-machine memory-backend=mem)
	VM_ARGV+=(-kernel "$VM_IMAGE/vmlinux" -initrd "$VM_IMAGE/initramfs.cpio.gz")
	append=$VM_KERNEL_ARGS
	[[ -z $VM_APPEND ]] || append+=" $VM_APPEND"
	[[ -z $VM_CMD ]] || append+=" apir.cmd=$(printf '%s' "$VM_CMD" | base64 -w0)"
	((${#append} < VM_CMDLINE_MAX)) || vm_die "--cmd is too long for the kernel command line (${#append} >= $VM_CMDLINE_MAX bytes)"
	VM_ARGV+=(-append "$append")
	# The console (and QEMU's monitor, Ctrl-A c) on stdio, copied to a log.
	VM_ARGV+=(-display none -no-reboot)
	VM_ARGV+=(-chardev "stdio,id=console,mux=on,signal=off${VM_CONSOLE_LOG:+,logfile=$(vm_opt "$VM_CONSOLE_LOG")}")
	VM_ARGV+=(-serial chardev:console -mon chardev=console)
	VM_ARGV+=(-device "virtio-serial-pci,id=apirser")
	VM_ARGV+=(-chardev "socket,id=apir0,path=$(vm_opt "$VM_APIRD_SOCKET"),reconnect=1")
	# The id names the port in QMP's VSERPORT_CHANGE events.
	VM_ARGV+=(-device "virtserialport,bus=apirser.0,chardev=apir0,name=org.apir.0,id=org.apir.0")
	if [[ -n $VM_APIRD_QMP ]]; then
		VM_ARGV+=(-chardev "socket,id=apirqmp,path=$(vm_opt "$VM_APIRD_QMP"),reconnect=1")
		VM_ARGV+=(-mon "chardev=apirqmp,mode=control")
	fi
	local port i=1
	for port in "${VM_PORTS[@]}"; do
		VM_ARGV+=(-chardev "socket,id=port$i,path=$(vm_opt "${port#*=}"),reconnect=1")
		VM_ARGV+=(-device "virtserialport,bus=apirser.0,chardev=port$i,name=${port%%=*}")
		i=$((i + 1))
	done
	if ((${#VM_HOSTFWD[@]} + ${#VM_GUESTFWD[@]})); then
		local netdev=user,id=net0,restrict=on fwd
		for fwd in "${VM_HOSTFWD[@]}"; do
			netdev+=",hostfwd=tcp:127.0.0.1:${fwd%%:*}-:${fwd#*:}"
		done
		for fwd in "${VM_GUESTFWD[@]}"; do
			# slirp spawns the command for every connection the guest opens.
			netdev+=",guestfwd=tcp:10.0.2.100:${fwd%%:*}-cmd:busybox nc 127.0.0.1 ${fwd#*:}"
		done
		VM_ARGV+=(-netdev "$netdev" -device "virtio-net-pci,netdev=net0")
	fi
}

# The command line as one could paste it into a shell: arguments with
# characters a shell treats specially are single-quoted.
vm_print_argv() {
	local a line=""
	for a in "${VM_ARGV[@]}"; do
		if [[ $a =~ ^[A-Za-z0-9_./=:,@%+-]+$ ]]; then
			line+=" $a"
		else
			line+=" '${a//\'/\'\\\'\'}'"
		fi
	done
	echo "apir-vm:$line"
}

# The guest command's exit status from its "APIR-VM: exit status N" marker.
vm_guest_status() {
	local status
	status=$(tr -d '\r' <"$1" | sed -n 's/^APIR-VM: exit status \([0-9]\{1,\}\)$/\1/p' | tail -n 1)
	[[ -n $status ]] || return 1
	echo "$status"
}

VM_QEMU_PID=""
VM_TEMP_LOG=""

# Stops the QEMU we started, if it still runs, and removes the RAM file
# and the temporary console log.
vm_cleanup() {
	if [[ -n $VM_QEMU_PID ]]; then
		kill -TERM "$VM_QEMU_PID" 2>/dev/null && wait "$VM_QEMU_PID" 2>/dev/null
		VM_QEMU_PID=""
	fi
	[[ $VM_MEM_BACKEND != file ]] || rm -f "$VM_RAM_FILE"
	[[ -z $VM_TEMP_LOG ]] || rm -f "$VM_TEMP_LOG"
}

# Interactive: QEMU owns the terminal (Ctrl-A x quits, Ctrl-A c is the
# monitor). With --cmd: the console goes to stdout and a log (a temporary
# one unless --console-log), and the guest command's exit status becomes
# ours (124 on --timeout, 125 when QEMU failed or printed no marker).
vm_run() {
	local status=0 deadline
	if [[ $VM_DRY_RUN == 1 ]]; then
		vm_qemu_argv
		vm_print_argv
		vm_ram_layout "$(vm_mem_mib "$VM_MEM")"
		return 0
	fi
	if [[ $VM_MEM_BACKEND == file && -e $VM_RAM_FILE ]]; then
		vm_die "$VM_RAM_FILE exists: is a VM named '$VM_NAME' running? (remove the file if not)"
	fi
	trap vm_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if [[ -n $VM_CMD && -z $VM_CONSOLE_LOG ]]; then
		VM_TEMP_LOG=$(mktemp "${TMPDIR:-/tmp}/apir-vm-$VM_NAME.console.XXXXXX")
		VM_CONSOLE_LOG=$VM_TEMP_LOG
	fi
	vm_qemu_argv
	vm_print_argv >&2
	vm_ram_layout "$(vm_mem_mib "$VM_MEM")" >&2
	if [[ -z $VM_CMD ]]; then
		"${VM_ARGV[@]}"
		return
	fi
	"${VM_ARGV[@]}" </dev/null &
	VM_QEMU_PID=$!
	deadline=$((SECONDS + VM_TIMEOUT))
	while kill -0 "$VM_QEMU_PID" 2>/dev/null; do
		if ((VM_TIMEOUT > 0 && SECONDS >= deadline)); then
			echo "apir-vm: guest still running after ${VM_TIMEOUT}s: stopping QEMU" >&2
			vm_cleanup
			return 124
		fi
		sleep 0.1
	done
	wait "$VM_QEMU_PID" || status=$?
	VM_QEMU_PID=""
	((status == 0)) || { echo "apir-vm: QEMU exited with status $status" >&2; return 125; }
	status=$(vm_guest_status "$VM_CONSOLE_LOG") || { echo "apir-vm: no exit status marker on the console" >&2; return 125; }
	return "$status"
}
