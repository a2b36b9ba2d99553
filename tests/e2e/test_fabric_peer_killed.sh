#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A peer apird killed (SIGKILL) while RDMA flows to it: the requester's QP
# ends with RETRY_EXC_ERR within the QP's timeout x retry count (not a
# hang), moves to ERR and flushes later work; the surviving apird keeps
# serving; once the dead apird is restarted, new QPs connect in both
# directions. Then the same with unmodified perftest: the ib_write_bw
# client fails with status 12 (RETRY_EXC_ERR) instead of hanging.
source "$(dirname "$0")/hosts.sh"
hosts_create 2
start_host_apirds

# Responder on A, requester on B; A's apird dies.
fault_pair kill.verbs A B kill_apird_on A
apird_alive_on B || fail "apird on B died with its peer"
start_host_apird A
check_pair after_restart.a_from_b A B data
pair_on after_restart.rc B A apir ibv_rc_pingpong -g 0 -c -n 100
check_pingpong after_restart.rc

# perftest: server on B, client on A; B's apird dies.
spawn_stream kill.perftest B A apir ib_write_bw -F -D 30 -s 65536
sleep 1
kill_apird_on B
stream_must_fail kill.perftest 15
apird_alive_on A || fail "apird on A died with its peer"
start_host_apird B
pair_on after_restart.bw B A mlx5 ib_write_bw -F -s 65536 -n 500
check_perftest after_restart.bw 1
