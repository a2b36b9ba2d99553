#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ibv_rc_pingpong: polling, completion events (-e), the ibv_wr_* API (-N),
# a RoCE GID (-g 0), and message sizes from 1 byte to 1 MiB.
source "$(dirname "$0")/lib.sh"
start_apird

pair rc.plain apir ibv_rc_pingpong -c
pair rc.events apir ibv_rc_pingpong -c -e
pair rc.new_send apir ibv_rc_pingpong -c -N
pair rc.gid apir ibv_rc_pingpong -c -g 0
pair rc.all apir ibv_rc_pingpong -c -e -N -g 0
pair rc.tiny apir ibv_rc_pingpong -c -s 1 -n 5000 -r 100
pair rc.big apir ibv_rc_pingpong -c -s 1048576 -n 100 -r 10 -m 4096
for name in plain events new_send gid all tiny big; do
	check_pingpong "rc.$name"
done
