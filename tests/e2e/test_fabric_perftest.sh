#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Unmodified perftest across two hosts (network namespaces joined by a
# veth pair, one apird each, RDMA between the apirds through libfabric):
# the server on host A, the client on host B, perftest's own TCP exchange
# of GID/QPN/rkey/address over the veth. Both perftest code paths
# (ibv_post_send; ibv_wr_* with the mlx5 profile) and the two talking to
# each other; an SRQ with events; UD and UC.
source "$(dirname "$0")/hosts.sh"
hosts_create 2
start_host_apirds

for p in apir mlx5; do
	pair_on "write.$p" A B "$p" ib_write_bw -F -s 65536 -n 500
	check_perftest "write.$p" 1
	pair_on "read.$p" A B "$p" ib_read_bw -F -s 65536 -n 500
	check_perftest "read.$p" 1
	pair_on "send.$p" A B "$p" ib_send_bw -F -s 65536 -n 500
	check_perftest "send.$p" 1
	for op in FETCH_AND_ADD CMP_AND_SWAP; do
		pair_on "atomic.$op.$p" A B "$p" ib_atomic_bw -F -A "$op" -n 1000
		check_perftest "atomic.$op.$p" 1
	done
done
# Every size from 2 B to 8 MiB (MTU segmentation, provider thresholds).
pair_on write_all A B apir ib_write_bw -F -a -n 20
check_perftest write_all 23
pair_on read_all A B mlx5 ib_read_bw -F -a -n 20
check_perftest read_all 23
# Several QPs with post lists; both directions at once; the paths mixed.
pair_on write_qps A B apir ib_write_bw -F -q 4 -l 4 -s 4096 -n 500
check_perftest write_qps 1
pair_on write_bidir A B mlx5 ib_write_bw -F -b -s 65536 -n 300
check_perftest write_bidir 1
pair_on send_mixed A B apir/mlx5 ib_send_bw -F -s 4096 -n 500
check_perftest send_mixed 1
# SENDs into a shared receive queue, with completion events; UD and UC datagrams.
pair_on send_srq_events A B apir ib_send_bw -F --use-srq -e -s 4096 -n 500
check_perftest send_srq_events 1
pair_on send_ud A B mlx5 ib_send_bw -F -c UD -s 2048 -n 1000
check_perftest send_ud 1
pair_on write_uc A B apir ib_write_bw -F -c UC -s 65536 -n 500
check_perftest write_uc 1
