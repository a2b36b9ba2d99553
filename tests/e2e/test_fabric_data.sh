#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Data integrity across two hosts: apir_verbs_check's data cases with the
# responder on one host and the requester on the other (both ways): RDMA
# WRITE and READ of 1 B to 1 MiB at odd offsets, a 3-SGE gather, SEND
# scattered over 2 receive SGEs with and without immediate, inline SEND,
# WRITE with immediate, 32 WRITEs then a SEND (in order), a SEND posted
# before its receive (RNR retried until the receive comes) and with
# rnr_retry 0 (RNR_RETRY_EXC_ERR), fetch-and-add and compare-and-swap;
# every target byte and every byte around it verified.
source "$(dirname "$0")/hosts.sh"
hosts_create 2
start_host_apirds
# Our own tool frees everything it allocates: check the frontend for leaks.
if e2e_sanitizer_build; then
	E2E_APP_ENV=("LD_PRELOAD=$E2E_ASAN_RT" "ASAN_OPTIONS=detect_leaks=1")
fi

check_pair data.a_from_b A B data
check_pair data.b_from_a B A data
