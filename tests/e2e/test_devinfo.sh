#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ibv_devices and ibv_devinfo (-v, -d, -l) see apir0: an active Ethernet
# (RoCE v2) port 1 whose GID 0 is the IPv4-mapped address of apird, and the
# vendor identity each device profile promises.
source "$(dirname "$0")/lib.sh"
start_apird

run_apir devices apir ibv_devices || fail "ibv_devices failed"
expect_match "$(out devices)" '^[[:space:]]+apir0[[:space:]]+[0-9a-f]{16}' "apir0 with a node GUID"

run_apir list apir ibv_devinfo -l || fail "ibv_devinfo -l failed"
expect_match "$(out list)" '^1 HCA found' "exactly one device"
expect_match "$(out list)" '^[[:space:]]+apir0$' "apir0 listed"

for profile in apir mlx5; do
	run_apir "devinfo.$profile" "$profile" ibv_devinfo -v -d apir0 || fail "ibv_devinfo -v ($profile) failed"
	f=$(out "devinfo.$profile")
	expect_match "$f" '^hca_id:[[:space:]]+apir0$' "hca_id"
	expect_match "$f" '^[[:space:]]+transport:[[:space:]]+InfiniBand \(0\)' "transport"
	expect_match "$f" '^[[:space:]]+node_guid:[[:space:]]+[0-9a-f]{4}(:[0-9a-f]{4}){3}' "node_guid"
	expect_match "$f" '^[[:space:]]+phys_port_cnt:[[:space:]]+1$' "one port"
	expect_match "$f" '^[[:space:]]+port:[[:space:]]+1$' "port 1"
	expect_match "$f" '^[[:space:]]+state:[[:space:]]+PORT_ACTIVE \(4\)' "port active"
	expect_match "$f" '^[[:space:]]+link_layer:[[:space:]]+Ethernet' "Ethernet link layer"
	expect_match "$f" '^[[:space:]]+active_mtu:[[:space:]]+(1024|2048|4096) ' "active MTU"
	expect_match "$f" 'GID\[ *0\]:[[:space:]]+::ffff:127\.0\.0\.1, RoCE v2$' \
		"GID 0 is ::ffff:127.0.0.1 (apird's default), RoCE v2"
	expect_match "$f" '^[[:space:]]+max_qp:[[:space:]]+[1-9]' "max_qp"
	expect_match "$f" '^[[:space:]]+max_mr_size:[[:space:]]+0x[1-9a-f]' "max_mr_size"
	expect_match "$f" '^[[:space:]]+atomic_cap:[[:space:]]+ATOMIC_(HCA|GLOB)' "atomics"
	expect_match "$f" '^[[:space:]]+num_comp_vectors:[[:space:]]+[1-9]' "num_comp_vectors"
done
expect_match "$(out devinfo.mlx5)" '^[[:space:]]+vendor_id:[[:space:]]+0x02c9$' "mlx5 profile vendor id"
expect_match "$(out devinfo.mlx5)" '^[[:space:]]+vendor_part_id:[[:space:]]+4119$' "mlx5 profile part id"
expect_no_match "$(out devinfo.apir)" '^[[:space:]]+vendor_id:[[:space:]]+0x02c9$' \
	"default profile must not claim to be Mellanox"

if run_apir missing apir ibv_devinfo -d nosuchdev 2>/dev/null; then
	fail "ibv_devinfo -d nosuchdev succeeded"
fi
