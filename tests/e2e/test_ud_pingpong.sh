#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ibv_ud_pingpong: UD QPs, address handles, the GRH in front of every
# receive; polling and completion events, with and without a GID.
source "$(dirname "$0")/lib.sh"
start_apird

pair ud.plain apir ibv_ud_pingpong -c
pair ud.events apir ibv_ud_pingpong -c -e
pair ud.gid apir ibv_ud_pingpong -c -g 0
pair ud.small apir ibv_ud_pingpong -c -s 64 -n 5000
for name in plain events gid small; do
	check_pingpong "ud.$name"
done
