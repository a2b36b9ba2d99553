#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Three hosts A, B, C, each linked to each. A fault between A and B leaves
# every other QP alone: while A<->B WRITEs fail with RETRY_EXC_ERR, an
# ib_write_bw stream that started before the fault and shares an apird
# with it keeps running to its end. First the A-B link is cut (A's and B's
# apirds stay up, A->C keeps streaming), then A's apird is killed (B->C
# keeps streaming).
source "$(dirname "$0")/hosts.sh"
hosts_create 3
start_host_apirds

spawn_stream cut.c_from_a C A apir ib_write_bw -F -D 6 -s 65536
fault_pair cut.verbs A B link_down A B
stream_must_pass cut.c_from_a
link_up A B

spawn_stream kill.c_from_b C B apir ib_write_bw -F -D 6 -s 65536
fault_pair kill.verbs A B kill_apird_on A
stream_must_pass kill.c_from_b
apird_alive_on B && apird_alive_on C || fail "an apird died with its peer"

start_host_apird A
check_pair after.a_from_c A C data
check_pair after.b_from_a B A data
