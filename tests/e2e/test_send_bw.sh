#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ib_send_bw on both perftest code paths: all sizes, completion events,
# an SRQ, and UD.
source "$(dirname "$0")/lib.sh"
start_apird

for p in apir mlx5; do
	pair "send.$p" "$p" ib_send_bw -F -n 2000
	check_perftest "send.$p" 1
	pair "send_all.$p" "$p" ib_send_bw -F -a -n 100
	check_perftest "send_all.$p" 23
	pair "send_events.$p" "$p" ib_send_bw -F -e -s 4096 -n 2000
	check_perftest "send_events.$p" 1
	pair "send_srq.$p" "$p" ib_send_bw -F --use-srq -q 4 -s 4096 -n 2000
	check_perftest "send_srq.$p" 1
	pair "send_ud.$p" "$p" ib_send_bw -F -c UD -s 1024 -n 2000
	check_perftest "send_ud.$p" 1
done
