#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ib_read_bw on both perftest code paths, all sizes, several outstanding
# reads and QPs.
source "$(dirname "$0")/lib.sh"
start_apird

for p in apir mlx5; do
	pair "read.$p" "$p" ib_read_bw -F -n 2000
	check_perftest "read.$p" 1
	pair "read_all.$p" "$p" ib_read_bw -F -a -n 100
	check_perftest "read_all.$p" 23
	pair "read_qps.$p" "$p" ib_read_bw -F -q 2 -o 4 -s 8192 -n 2000
	check_perftest "read_qps.$p" 1
done
