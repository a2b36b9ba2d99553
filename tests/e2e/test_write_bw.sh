#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ib_write_bw on both perftest code paths (ibv_post_send, and ibv_wr_* with
# the mlx5 profile), over every size from 2 B to 8 MiB, with several QPs
# and post lists, bidirectional, and with the two paths talking to each other.
source "$(dirname "$0")/lib.sh"
start_apird

for p in apir mlx5; do
	pair "write.$p" "$p" ib_write_bw -F -n 2000
	check_perftest "write.$p" 1
	pair "write_all.$p" "$p" ib_write_bw -F -a -n 100
	check_perftest "write_all.$p" 23
	pair "write_qps.$p" "$p" ib_write_bw -F -q 4 -l 8 -s 4096 -n 2000
	check_perftest "write_qps.$p" 1
	pair "write_bidir.$p" "$p" ib_write_bw -F -b -s 65536 -n 1000
	check_perftest "write_bidir.$p" 1
done
pair write.mixed apir/mlx5 ib_write_bw -F -n 1000
check_perftest write.mixed 1
