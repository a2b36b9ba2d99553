#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ib_atomic_bw (fetch-and-add and compare-and-swap) on both perftest code paths.
source "$(dirname "$0")/lib.sh"
start_apird

for p in apir mlx5; do
	for op in FETCH_AND_ADD CMP_AND_SWAP; do
		pair "atomic.$op.$p" "$p" ib_atomic_bw -F -A "$op" -n 5000
		check_perftest "atomic.$op.$p" 1
	done
done
