#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The link between two hosts cut (`ip link set down`) while RDMA flows:
# nothing tells either apird (no FIN, no RST), so the requester's QP must
# time out by itself: RETRY_EXC_ERR within the QP's timeout x retry count,
# QP in ERR, later work flushed. Once the link is back, new QPs connect.
# Then the same with unmodified perftest (ib_write_bw fails with status 12).
source "$(dirname "$0")/hosts.sh"
hosts_create 2
start_host_apirds

fault_pair cut.verbs A B link_down A B
link_up A B
apird_alive_on A && apird_alive_on B || fail "an apird died when the link was cut"
check_pair after_cut.a_from_b A B data
pair_on after_cut.rc B A apir ibv_rc_pingpong -g 0 -c -n 100
check_pingpong after_cut.rc

spawn_stream cut.perftest A B apir ib_write_bw -F -D 30 -s 65536
sleep 1
link_down B A
stream_must_fail cut.perftest 15
link_up B A
pair_on after_cut.bw A B mlx5 ib_write_bw -F -s 65536 -n 500
check_perftest after_cut.bw 1
