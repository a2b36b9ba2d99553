#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ib_send_lat on both perftest code paths: polling, events, all sizes, UD.
source "$(dirname "$0")/lib.sh"
start_apird

for p in apir mlx5; do
	pair "send_lat.$p" "$p" ib_send_lat -F -s 2 -n 1000
	check_perftest "send_lat.$p" 1
	pair "send_lat_events.$p" "$p" ib_send_lat -F -e -s 64 -n 1000
	check_perftest "send_lat_events.$p" 1
	pair "send_lat_all.$p" "$p" ib_send_lat -F -a -n 20
	check_perftest "send_lat_all.$p" 23
	pair "send_lat_ud.$p" "$p" ib_send_lat -F -c UD -s 512 -n 1000
	check_perftest "send_lat_ud.$p" 1
done
