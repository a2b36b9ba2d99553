# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# `apir-vm build-image`: assembles the guest from Debian packages already
# installed on this host (sourced by scripts/apir-vm).
#
# Output directory:
#   vmlinux             the linux-image-amd64 kernel, decompressed: QEMU boots
#                       it through its PVH entry, about twice as fast as the
#                       bzImage under TCG
#   initramfs.cpio.gz   busybox, /init (scripts/vm/guest-init), the virtio
#                       modules, rdma-core's tools, perftest, every shared
#                       library they need, and apir's libibverbs.so.1 in place
#                       of rdma-core's
#   kernel-release      the kernel's release string (uname -r in the guest)
#   manifest.txt        every file in the initramfs

VM_SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_MULTIARCH_LIB=usr/lib/x86_64-linux-gnu

# Modules the guest loads: virtio-serial (the apir port) and virtio-net (the
# optional user-mode NIC); their dependencies are added from modules.dep.
VM_MODULES="virtio_pci virtio_console virtio_net"
# Debian packages whose programs go into the image.
VM_TOOL_PACKAGES="ibverbs-utils perftest"

vm_die() { echo "apir-vm: $*" >&2; exit 1; }

# The release of the newest installed Debian kernel that has both a
# vmlinuz in /boot and its modules (not necessarily the running kernel).
vm_kernel_release() {
	local vmlinuz release
	for vmlinuz in $(printf '%s\n' /boot/vmlinuz-* | sort -rV); do
		release=${vmlinuz#/boot/vmlinuz-}
		if [[ -f /lib/modules/$release/modules.dep ]]; then
			echo "$release"
			return 0
		fi
	done
	vm_die "no /boot/vmlinuz-* with modules in /lib/modules: install linux-image-amd64"
}

# vm_module_order RELEASE MODULE...: module paths (relative to
# /lib/modules/RELEASE) in load order, dependencies first, each once.
vm_module_order() {
	local release=$1
	shift
	awk -v wanted="$*" '
		function base(path) { sub(/.*\//, "", path); sub(/\.ko(\.[a-z]+)?$/, "", path); return path }
		function load(path,    n, deps, i) {
			if (path in done) return
			done[path] = 1
			n = split(dep[path], deps, " ")
			for (i = n; i >= 1; i--) load(deps[i])
			print path
		}
		{ key = $1; sub(/:$/, "", key); $1 = ""; dep[key] = $0; byname[base(key)] = key }
		END {
			n = split(wanted, w, " ")
			for (i = 1; i <= n; i++) {
				if (!(w[i] in byname)) { print "missing module " w[i] > "/dev/stderr"; exit 1 }
				load(byname[w[i]])
			}
		}' "/lib/modules/$release/modules.dep"
}

# vm_decompress_kernel VMLINUZ OUT: the ELF vmlinux inside a bzImage
# (Debian compresses it with xz); reused while newer than VMLINUZ.
vm_decompress_kernel() {
	local vmlinuz=$1 out=$2 offset
	[[ -s $out && $out -nt $vmlinuz ]] && return 0
	offset=$(grep -abo $'\xfd7zXZ\x00' "$vmlinuz" | awk -F: 'NR == 1 { print $1 }')
	[[ -n $offset ]] || vm_die "$vmlinuz: no xz stream found"
	# xz complains about the bytes that follow the stream: the ELF check
	# below is what tells whether the kernel came out whole.
	tail -c "+$((offset + 1))" "$vmlinuz" | xz -dc >"$out.tmp" 2>/dev/null || true
	[[ $(head -c 4 "$out.tmp") == $'\x7fELF' ]] || vm_die "$vmlinuz: decompression did not give an ELF kernel"
	mv "$out.tmp" "$out"
}

# vm_copy ROOT PATH [GUEST_PATH]: copies the host file PATH into ROOT at
# GUEST_PATH (default PATH), following symlinks; paths under /lib, /bin,
# /sbin land under usr/ (the guest is merged-/usr like Debian 12).
vm_copy() {
	local root=$1 src=$2 dst=${3:-$2}
	dst=${dst#/}
	case $dst in
	lib/* | lib64/* | bin/* | sbin/*) dst=usr/$dst ;;
	esac
	mkdir -p "$root/$(dirname "$dst")"
	cp -L "$src" "$root/$dst"
}

vm_tool_binaries() {
	local p
	for p in $VM_TOOL_PACKAGES; do
		dpkg -L "$p" | grep '^/usr/bin/' | while read -r f; do [[ -f $f && -x $f ]] && echo "$f"; done
	done
}

# vm_shared_libs FILE...: every shared library the files need (ldd on the
# host, whose libraries are the guest's), one path a line.
vm_shared_libs() {
	env -u LD_LIBRARY_PATH -u LD_PRELOAD ldd "$@" 2>/dev/null |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u
}

vm_install_busybox() {
	local root=$1 applet
	vm_copy "$root" /bin/busybox usr/bin/busybox
	for applet in $(/bin/busybox --list-full); do
		case $applet in
		bin/* | sbin/*) applet=usr/$applet ;;
		esac
		[[ -e $root/$applet ]] || ln -s /usr/bin/busybox "$root/$applet"
	done
}

vm_write_etc() {
	local root=$1
	mkdir -p "$root/etc/apir-vm"
	echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
	echo "root:x:0:" >"$root/etc/group"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$root/etc/hosts"
	echo "apir-vm" >"$root/etc/hostname"
}

# vm_install_modules ROOT RELEASE: the modules and their load order.
vm_install_modules() {
	local root=$1 release=$2 ko
	# shellcheck disable=SC2086 # VM_MODULES is a list
	vm_module_order "$release" $VM_MODULES >"$root/etc/apir-vm/modules" || vm_die "cannot resolve the virtio modules"
	while read -r ko; do
		vm_copy "$root" "/lib/modules/$release/$ko"
	done <"$root/etc/apir-vm/modules"
}

# vm_install_programs ROOT APIR_LIB EXTRA...: the tools, their libraries,
# and apir's libibverbs.so.1 where rdma-core's would be. EXTRA are
# HOST_PATH[:GUEST_PATH] files added as they are (their libraries too).
vm_install_programs() {
	local root=$1 apir_lib=$2 f lib
	shift 2
	local bins=() extra
	mapfile -t bins < <(vm_tool_binaries)
	((${#bins[@]})) || vm_die "no programs from: $VM_TOOL_PACKAGES (install them)"
	for f in "${bins[@]}"; do
		vm_copy "$root" "$f"
	done
	for extra in "$@"; do
		[[ -f ${extra%%:*} ]] || vm_die "--add: no file ${extra%%:*}"
		vm_copy "$root" "${extra%%:*}" "${extra#*:}"
		bins+=("${extra%%:*}")
	done
	for lib in $(vm_shared_libs "${bins[@]}" "$apir_lib"); do
		[[ $(basename "$lib") == libibverbs.so.1 ]] && continue
		vm_copy "$root" "$lib"
	done
	vm_copy "$root" "$apir_lib" "$VM_MULTIARCH_LIB/libibverbs.so.1"
}

vm_make_root() {
	local root=$1 d
	rm -rf "$root"
	for d in usr/bin usr/sbin usr/lib usr/lib64 proc sys dev tmp run root; do
		mkdir -p "$root/$d"
	done
	for d in bin sbin lib lib64; do
		ln -s "usr/$d" "$root/$d"
	done
	install -m 0755 "$VM_SCRIPT_DIR/guest-init" "$root/init"
}

# vm_build_image OUT APIR_LIB EXTRA...
vm_build_image() {
	local out=$1 apir_lib=$2 release root
	shift 2
	[[ -f $apir_lib ]] || vm_die "no apir library at $apir_lib (build apir first, or pass --lib)"
	release=$(vm_kernel_release)
	mkdir -p "$out"
	exec 9>"$out/.lock"
	flock 9
	root=$out/rootfs
	vm_make_root "$root"
	vm_write_etc "$root"
	vm_install_busybox "$root"
	vm_install_modules "$root" "$release"
	vm_install_programs "$root" "$apir_lib" "$@"
	vm_decompress_kernel "/boot/vmlinuz-$release" "$out/vmlinux"
	echo "$release" >"$out/kernel-release"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort >"$out/manifest.txt")
	(cd "$root" && cpio --quiet -o -H newc -R 0:0 <"$out/manifest.txt") | gzip -1 >"$out/initramfs.cpio.gz.tmp"
	mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
	rm -rf "$root"
	exec 9>&-
	echo "apir-vm: image in $out (kernel $release, $(wc -l <"$out/manifest.txt") files," \
		"initramfs $(du -k "$out/initramfs.cpio.gz" | cut -f1) KiB)"
}
