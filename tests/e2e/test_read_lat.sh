#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ib_read_lat and ib_atomic_lat on both perftest code paths.
source "$(dirname "$0")/lib.sh"
start_apird

for p in apir mlx5; do
	pair "read_lat.$p" "$p" ib_read_lat -F -s 2 -n 1000
	check_perftest "read_lat.$p" 1
	pair "read_lat_all.$p" "$p" ib_read_lat -F -a -n 20
	check_perftest "read_lat_all.$p" 23
	pair "atomic_lat.$p" "$p" ib_atomic_lat -F -n 1000
	check_perftest "atomic_lat.$p" 1
done
