#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ib_write_lat: the receiver spins on the last byte of its own buffer with
# no verbs call, so remote writes must land in the application's pages in
# order. Both perftest code paths (the mlx5 one sends small writes inline).
source "$(dirname "$0")/lib.sh"
start_apird

for p in apir mlx5; do
	pair "write_lat.$p" "$p" ib_write_lat -F -s 2 -n 1000
	check_perftest "write_lat.$p" 1
	pair "write_lat_all.$p" "$p" ib_write_lat -F -a -n 20
	check_perftest "write_lat_all.$p" 23
done
