#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Latency tools and the ibverbs examples across two hosts: ib_write_lat on
# both perftest paths (it spins on its own buffer, so remote WRITEs must
# land in order), ibv_rc_pingpong and ibv_ud_pingpong with a RoCE GID
# (-g 0: the GID names the peer's apird), polling and completion events,
# tiny and large messages; servers on host A, clients on host B.
source "$(dirname "$0")/hosts.sh"
hosts_create 2
start_host_apirds

for p in apir mlx5; do
	pair_on "write_lat.$p" A B "$p" ib_write_lat -F -s 2 -n 300
	check_perftest "write_lat.$p" 1
done
pair_on write_lat_all A B apir ib_write_lat -F -a -n 10
check_perftest write_lat_all 23

pair_on rc.plain A B apir ibv_rc_pingpong -g 0 -c -n 200
pair_on rc.events A B apir ibv_rc_pingpong -g 0 -c -e -n 200
pair_on rc.new_send A B apir ibv_rc_pingpong -g 0 -c -N -n 200
pair_on rc.tiny A B apir ibv_rc_pingpong -g 0 -c -s 1 -n 1000
pair_on rc.big A B apir ibv_rc_pingpong -g 0 -c -s 1048576 -n 20 -m 4096
pair_on ud.plain A B apir ibv_ud_pingpong -g 0 -c -n 200
pair_on ud.events A B apir ibv_ud_pingpong -g 0 -c -e -n 200
for name in rc.plain rc.events rc.new_send rc.tiny rc.big ud.plain ud.events; do
	check_pingpong "$name"
done
