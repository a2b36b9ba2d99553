#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ibv_srq_pingpong: many RC QPs sharing one SRQ.
source "$(dirname "$0")/lib.sh"
start_apird

pair srq.plain apir ibv_srq_pingpong -c
pair srq.events apir ibv_srq_pingpong -c -e
pair srq.gid apir ibv_srq_pingpong -c -g 0 -q 4
pair srq.many apir ibv_srq_pingpong -c -q 64 -n 100 -r 1000
for name in plain events gid many; do
	check_pingpong "srq.$name"
done
