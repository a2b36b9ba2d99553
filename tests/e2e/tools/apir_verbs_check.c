/* SPDX-License-Identifier: MIT */
/*
 * apir_verbs_check: data integrity and protection checks for a verbs device.
 *
 *   apir_verbs_check data     RDMA WRITE/READ/SEND/atomics of patterned data,
 *                             every byte of the target verified, and every
 *                             byte around it verified untouched
 *   apir_verbs_check protect  forged, stale, revoked, out-of-bounds, wrong-PD
 *                             and wrong-access keys must fail the work
 *                             request and leave the target untouched
 *   apir_verbs_check fault    stream WRITEs until the peer fails: the first
 *                             error must be RETRY_EXC_ERR (needs --peer)
 *
 * By default the requester and the responder are two device contexts of
 * this process. With --peer HOST:PORT the responder is another process,
 * "apir_verbs_check serve PORT", typically on another host: the two
 * exchange QPN, GID, rkey and address over TCP and the requester drives
 * the responder's side (fills, checks, receives) through requests on that
 * connection (responder.h), so the same cases run across hosts.
 *
 * An ordinary verbs application (run it through apir-run). Exits 0 only if
 * every case passed.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"
#include "responder.h"
#include "tcp_link.h"
#include "verbs_pair.h"

/* ---- memory of both sides --------------------------------------------- */

static void report_mismatch(const char *what, const struct pattern_mismatch *bad)
{
	fprintf(stderr, "    %s: byte %zu is 0x%02x, expected 0x%02x\n", what, bad->index, bad->got, bad->want);
}

/* Checks the requester's buf[0..len) == pattern seed from pattern index first. */
static bool check_range(const char *what, const uint8_t *buf, size_t len, uint64_t seed, size_t first)
{
	struct pattern_mismatch bad;

	if (pattern_matches(buf, len, seed, first, &bad))
		return true;
	report_mismatch(what, &bad);
	return false;
}

/* The same on the responder, at an arena offset. */
static bool resp_check_range(struct vp_pair *p, const char *what, size_t arena_off, size_t len,
			     uint64_t seed, size_t first)
{
	struct pattern_mismatch bad;
	int rc = vp_resp_check(p, arena_off, len, seed, first, &bad);

	if (rc == 0)
		report_mismatch(what, &bad);
	return rc == 1;
}

/* The responder's whole arena (guards included) is background pattern
 * except [off, off+len) of the region, which must be pattern seed. */
static bool resp_check_region(struct vp_pair *p, size_t off, size_t len, uint64_t seed, uint64_t background)
{
	size_t start = VP_GUARD_LEN + off;

	return resp_check_range(p, "before target", 0, start, background, 0) &&
	       resp_check_range(p, "target", start, len, seed, 0) &&
	       resp_check_range(p, "after target", start + len, VP_ARENA_LEN - start - len,
				background, start + len);
}

/* The same for the requester's arena (the target of READs). */
static bool req_check_region(const struct vp_endpoint *e, size_t off, size_t len, uint64_t seed, uint64_t background)
{
	size_t start = VP_GUARD_LEN + off;

	return check_range("before target", e->arena, start, background, 0) &&
	       check_range("target", e->arena + start, len, seed, 0) &&
	       check_range("after target", e->arena + start + len, VP_ARENA_LEN - start - len,
			   background, start + len);
}

static bool resp_fill_arena(struct vp_pair *p, uint64_t seed)
{
	return vp_resp_fill(p, 0, VP_ARENA_LEN, seed, 0) == 0;
}

static bool resp_fill_region(struct vp_pair *p, size_t off, size_t len, uint64_t seed)
{
	return vp_resp_fill(p, VP_GUARD_LEN + off, len, seed, 0) == 0;
}

static void fill(uint8_t *dst, size_t len, uint64_t seed)
{
	pattern_fill(dst, len, seed, 0);
}

/* ---- work requests --------------------------------------------------------- */

static struct ibv_sge local_sge(const struct vp_endpoint *e, size_t off, size_t len)
{
	return (struct ibv_sge){
		.addr = (uintptr_t)(e->region + off),
		.length = (uint32_t)len,
		.lkey = e->mr->lkey,
	};
}

static int rdma(struct vp_pair *p, enum ibv_wr_opcode op, struct ibv_sge *sge, int num_sge,
		uint64_t remote_addr, uint32_t rkey)
{
	struct ibv_send_wr wr = {
		.opcode = op,
		.sg_list = sge,
		.num_sge = num_sge,
		.wr.rdma = { .remote_addr = remote_addr, .rkey = rkey },
	};

	return vp_send_wait(p, &wr);
}

static uint64_t remote(const struct vp_pair *p, size_t off)
{
	return p->resp_addr.region + off;
}

static bool expect_status(const char *what, int got, enum ibv_wc_status want)
{
	if (got == (int)want)
		return true;
	if (got < 0)
		fprintf(stderr, "    %s: no valid completion, expected %s\n", what, ibv_wc_status_str(want));
	else
		fprintf(stderr, "    %s: completed with %s, expected %s\n", what,
			ibv_wc_status_str((enum ibv_wc_status)got), ibv_wc_status_str(want));
	return false;
}

/* ---- data cases ---------------------------------------------------------------- */

static const size_t sizes[] = { 1, 2, 63, 64, 4095, 4096, 4097, 65536, 65549, 1u << 20 };
#define NUM_SIZES (sizeof(sizes) / sizeof(sizes[0]))

static bool case_write_sizes(struct vp_pair *p)
{
	for (size_t i = 0; i < NUM_SIZES; i++) {
		size_t len = sizes[i], src_off = 8 * i + 1, dst_off = 4096 * i + 3 * i;
		uint64_t seed = 100 + i;
		struct ibv_sge sge = local_sge(&p->req, src_off, len);

		fill(p->req.region + src_off, len, seed);
		if (!resp_fill_arena(p, 7))
			return false;
		if (!expect_status("write", rdma(p, IBV_WR_RDMA_WRITE, &sge, 1, remote(p, dst_off),
						 p->resp_addr.rkey), IBV_WC_SUCCESS))
			return false;
		if (!resp_check_region(p, dst_off, len, seed, 7)) {
			fprintf(stderr, "    write of %zu bytes\n", len);
			return false;
		}
	}
	return true;
}

/* Three SGEs at scattered places land back to back. */
static bool case_write_gather(struct vp_pair *p)
{
	const size_t part = 5000, dst_off = 12345;
	struct ibv_sge sge[3];

	if (!resp_fill_arena(p, 9))
		return false;
	for (size_t i = 0; i < 3; i++) {
		size_t src_off = 300000 * (i + 1) + i;

		/* Pattern seed 21 continues across the parts. */
		pattern_fill(p->req.region + src_off, part, 21, i * part);
		sge[i] = local_sge(&p->req, src_off, part);
	}
	if (!expect_status("gather write", rdma(p, IBV_WR_RDMA_WRITE, sge, 3, remote(p, dst_off),
						p->resp_addr.rkey), IBV_WC_SUCCESS))
		return false;
	return resp_check_region(p, dst_off, 3 * part, 21, 9);
}

static bool case_read_sizes(struct vp_pair *p)
{
	for (size_t i = 0; i < NUM_SIZES; i++) {
		size_t len = sizes[i], src_off = 4096 * i + 5 * i, dst_off = 16 * i + 7;
		uint64_t seed = 200 + i;
		struct ibv_sge sge = local_sge(&p->req, dst_off, len);

		if (!resp_fill_region(p, src_off, len, seed))
			return false;
		fill(p->req.arena, VP_ARENA_LEN, 11);
		if (!expect_status("read", rdma(p, IBV_WR_RDMA_READ, &sge, 1, remote(p, src_off),
						p->resp_addr.rkey), IBV_WC_SUCCESS))
			return false;
		if (!req_check_region(&p->req, dst_off, len, seed, 11)) {
			fprintf(stderr, "    read of %zu bytes\n", len);
			return false;
		}
	}
	return true;
}

static bool check_recv(struct vp_pair *p, uint64_t wr_id, enum ibv_wc_opcode op, uint32_t len,
		       bool with_imm, uint32_t imm)
{
	struct ibv_wc wc;

	if (vp_resp_wait_wc(p, &wc))
		return false;
	if (wc.status != IBV_WC_SUCCESS || wc.wr_id != wr_id || wc.opcode != op || wc.byte_len != len) {
		fprintf(stderr, "    recv completion: status %s wr_id %" PRIu64 " opcode %d byte_len %u, "
			"expected success %" PRIu64 " %d %u\n", ibv_wc_status_str(wc.status), wc.wr_id,
			wc.opcode, wc.byte_len, wr_id, op, len);
		return false;
	}
	if (with_imm != !!(wc.wc_flags & IBV_WC_WITH_IMM) || (with_imm && wc.imm_data != imm)) {
		fprintf(stderr, "    recv completion: imm flag %d data 0x%x, expected %d 0x%x\n",
			!!(wc.wc_flags & IBV_WC_WITH_IMM), wc.imm_data, with_imm, imm);
		return false;
	}
	if (wc.qp_num != p->resp_addr.qp_num) {
		fprintf(stderr, "    recv completion for qp %u, expected %u\n", wc.qp_num, p->resp_addr.qp_num);
		return false;
	}
	return true;
}

/* A SEND scattered over two receive SGEs, with and without immediate. */
static bool case_send_recv(struct vp_pair *p)
{
	const size_t len = 70000, first = 30000;

	for (int imm = 0; imm < 2; imm++) {
		const struct vp_span rsge[2] = { { 1000, first }, { 500000, len - first + 100 } };
		struct ibv_sge ssge = local_sge(&p->req, 333, len);
		struct ibv_send_wr wr = {
			.opcode = imm ? IBV_WR_SEND_WITH_IMM : IBV_WR_SEND,
			.sg_list = &ssge, .num_sge = 1, .imm_data = htonl(0xabc0de + imm),
		};

		if (!resp_fill_arena(p, 13))
			return false;
		fill(p->req.region + 333, len, 31 + imm);
		if (vp_resp_post_recv(p, rsge, 2, 77 + imm))
			return false;
		if (!expect_status("send", vp_send_wait(p, &wr), IBV_WC_SUCCESS) ||
		    !check_recv(p, 77 + imm, IBV_WC_RECV, len, imm, htonl(0xabc0de + imm)))
			return false;
		if (!resp_check_range(p, "first recv sge", VP_GUARD_LEN + 1000, first, 31 + imm, 0) ||
		    !resp_check_range(p, "second recv sge", VP_GUARD_LEN + 500000, len - first, 31 + imm, first) ||
		    !resp_check_range(p, "after message", VP_GUARD_LEN + 500000 + len - first, 100, 13,
				      VP_GUARD_LEN + 500000 + len - first))
			return false;
	}
	return true;
}

/* Inline data is captured at post time: the buffer is clobbered right after. */
static bool case_send_inline(struct vp_pair *p)
{
	uint8_t msg[48];
	const struct vp_span rsge = { 0, sizeof(msg) };
	struct ibv_sge ssge = { .addr = (uintptr_t)msg, .length = sizeof(msg), .lkey = 0 };
	struct ibv_send_wr wr = {
		.opcode = IBV_WR_SEND, .sg_list = &ssge, .num_sge = 1,
		.send_flags = IBV_SEND_INLINE | IBV_SEND_SIGNALED, .wr_id = 991,
	};
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	int rc;

	if (p->req.max_inline < sizeof(msg)) {
		fprintf(stderr, "    QP granted max_inline_data %u < %zu: not testable\n",
			p->req.max_inline, sizeof(msg));
		return false;
	}
	fill(msg, sizeof(msg), 41);
	if (!resp_fill_arena(p, 15) || vp_resp_post_recv(p, &rsge, 1, 99))
		return false;
	rc = ibv_post_send(p->req.qp, &wr, &bad);
	memset(msg, 0xee, sizeof(msg));
	if (rc) {
		fprintf(stderr, "    ibv_post_send(inline): %s\n", strerror(rc));
		return false;
	}
	if (vp_wait_wc(&p->req, &wc) || !expect_status("inline send", (int)wc.status, IBV_WC_SUCCESS))
		return false;
	return check_recv(p, 99, IBV_WC_RECV, sizeof(msg), false, 0) &&
	       resp_check_region(p, 0, sizeof(msg), 41, 15);
}

static bool case_write_imm(struct vp_pair *p)
{
	const size_t len = 9000, off = 40000;
	struct ibv_sge ssge = local_sge(&p->req, 0, len);
	struct ibv_send_wr wr = {
		.opcode = IBV_WR_RDMA_WRITE_WITH_IMM, .sg_list = &ssge, .num_sge = 1,
		.imm_data = htonl(0x1234567),
		.wr.rdma = { .remote_addr = remote(p, off), .rkey = p->resp_addr.rkey },
	};

	if (!resp_fill_arena(p, 17))
		return false;
	fill(p->req.region, len, 51);
	if (vp_resp_post_recv(p, NULL, 0, 123))
		return false;
	if (!expect_status("write with imm", vp_send_wait(p, &wr), IBV_WC_SUCCESS))
		return false;
	return check_recv(p, 123, IBV_WC_RECV_RDMA_WITH_IMM, len, true, htonl(0x1234567)) &&
	       resp_check_region(p, off, len, 51, 17);
}

/* RC orders a SEND after earlier WRITEs: when the receive completes every
 * written byte is visible. */
static bool case_write_then_send_ordering(struct vp_pair *p)
{
	enum { WRITES = 32, LEN = 16384 };
	struct ibv_sge sge[WRITES];
	struct ibv_send_wr wr[WRITES + 1];
	struct ibv_sge ssge = local_sge(&p->req, WRITES * LEN, 8);
	const struct vp_span rsge = { VP_REGION_LEN - 8, 8 };
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	int rc;

	if (!resp_fill_arena(p, 19))
		return false;
	fill(p->req.region, WRITES * LEN, 61);
	memset(wr, 0, sizeof(wr));
	for (int i = 0; i < WRITES; i++) {
		sge[i] = local_sge(&p->req, (size_t)i * LEN, LEN);
		wr[i] = (struct ibv_send_wr){
			.wr_id = 5000 + i, .next = &wr[i + 1], .sg_list = &sge[i], .num_sge = 1,
			.opcode = IBV_WR_RDMA_WRITE,
			.wr.rdma = { .remote_addr = remote(p, (size_t)i * LEN), .rkey = p->resp_addr.rkey },
		};
	}
	wr[WRITES] = (struct ibv_send_wr){ .wr_id = 6000, .sg_list = &ssge, .num_sge = 1,
					   .opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED };
	if (vp_resp_post_recv(p, &rsge, 1, 7000))
		return false;
	rc = ibv_post_send(p->req.qp, wr, &bad);
	if (rc) {
		fprintf(stderr, "    ibv_post_send(list of %d): %s\n", WRITES + 1, strerror(rc));
		return false;
	}
	/* The check runs on the responder right after its receive completed. */
	if (!check_recv(p, 7000, IBV_WC_RECV, 8, false, 0))
		return false;
	if (!resp_check_range(p, "written data at receive time", VP_GUARD_LEN, WRITES * LEN, 61, 0))
		return false;
	if (vp_wait_wc(&p->req, &wc) || wc.wr_id != 6000 || wc.status != IBV_WC_SUCCESS) {
		fprintf(stderr, "    send completion after unsignaled writes missing or wrong\n");
		return false;
	}
	return true;
}

/* A SEND posted before its receive meets RNR NAKs and is retried (after
 * the responder's min_rnr_timer, rnr_retry 7 = forever) until the receive
 * is there; it must not complete before. */
static bool case_rnr_late_receive(struct vp_pair *p)
{
	const size_t len = 3000;
	const struct vp_span rsge = { 4096, len };
	struct ibv_sge ssge = local_sge(&p->req, 0, len);
	struct ibv_send_wr wr = { .wr_id = 4242, .opcode = IBV_WR_SEND, .sg_list = &ssge, .num_sge = 1,
				  .send_flags = IBV_SEND_SIGNALED };
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	int rc;

	if (!resp_fill_arena(p, 43))
		return false;
	fill(p->req.region, len, 47);
	rc = ibv_post_send(p->req.qp, &wr, &bad);
	if (rc) {
		fprintf(stderr, "    ibv_post_send: %s\n", strerror(rc));
		return false;
	}
	usleep(200000);
	if (ibv_poll_cq(p->req.cq, 1, &wc) != 0) {
		fprintf(stderr, "    the SEND completed (%s) before any receive was posted\n",
			ibv_wc_status_str(wc.status));
		return false;
	}
	if (vp_resp_post_recv(p, &rsge, 1, 4343))
		return false;
	if (vp_wait_wc(&p->req, &wc) || wc.wr_id != 4242 ||
	    !expect_status("send retried after RNR", (int)wc.status, IBV_WC_SUCCESS))
		return false;
	return check_recv(p, 4343, IBV_WC_RECV, len, false, 0) && resp_check_region(p, 4096, len, 47, 43);
}

/* With rnr_retry 0 the first RNR NAK fails the SEND. */
static bool case_rnr_retry_exceeded(struct vp_pair *p)
{
	struct vp_qp_params saved = p->qp;
	struct ibv_sge ssge = local_sge(&p->req, 0, 64);
	struct ibv_send_wr wr = { .opcode = IBV_WR_SEND, .sg_list = &ssge, .num_sge = 1 };
	bool ok;

	p->qp.rnr_retry = 0;
	ok = vp_reconnect(p) == 0 &&
	     expect_status("send without a receive, rnr_retry 0", vp_send_wait(p, &wr), IBV_WC_RNR_RETRY_EXC_ERR);
	p->qp = saved;
	return vp_reconnect(p) == 0 && ok;
}

static bool atomic_op(struct vp_pair *p, enum ibv_wr_opcode op, size_t off, uint64_t compare_add,
		      uint64_t swap, uint64_t want_old, uint64_t want_new)
{
	volatile uint64_t *result = (volatile uint64_t *)(p->req.region + 64);
	struct ibv_sge sge = local_sge(&p->req, 64, 8);
	struct ibv_send_wr wr = {
		.opcode = op, .sg_list = &sge, .num_sge = 1,
		.wr.atomic = { .remote_addr = remote(p, off), .compare_add = compare_add,
			       .swap = swap, .rkey = p->resp_addr.rkey },
	};
	uint64_t target;

	*result = 0x5555555555555555ull;
	if (!expect_status("atomic", vp_send_wait(p, &wr), IBV_WC_SUCCESS) ||
	    vp_resp_load64(p, off, &target))
		return false;
	if (*result != want_old || target != want_new) {
		fprintf(stderr, "    atomic %d: returned 0x%" PRIx64 " target 0x%" PRIx64
			", expected 0x%" PRIx64 " 0x%" PRIx64 "\n", op, *result, target, want_old, want_new);
		return false;
	}
	return true;
}

static bool case_atomics(struct vp_pair *p)
{
	const size_t off = 4096 + 8;
	const uint64_t v0 = 0x0123456789abcdefull, add = 0x1111;

	if (p->req.dev_attr.atomic_cap == IBV_ATOMIC_NONE) {
		fprintf(stderr, "    device reports atomic_cap IBV_ATOMIC_NONE\n");
		return false;
	}
	if (vp_resp_store64(p, off, v0))
		return false;
	return atomic_op(p, IBV_WR_ATOMIC_FETCH_AND_ADD, off, add, 0, v0, v0 + add) &&
	       atomic_op(p, IBV_WR_ATOMIC_CMP_AND_SWP, off, v0 + add, 42, v0 + add, 42) &&
	       /* A compare that misses returns the value and swaps nothing. */
	       atomic_op(p, IBV_WR_ATOMIC_CMP_AND_SWP, off, 41, 7, 42, 42);
}

/* ---- protection cases ------------------------------------------------------------- */

/* A WRITE that must fail with REM_ACCESS_ERR and leave the whole responder
 * arena (region and guards) untouched. */
static bool denied_write(struct vp_pair *p, const char *what, uint64_t remote_addr, uint32_t rkey, size_t len)
{
	struct ibv_sge sge = local_sge(&p->req, 0, len);
	bool ok;

	fill(p->req.region, len, 71);
	ok = resp_fill_arena(p, 23) &&
	     expect_status(what, rdma(p, IBV_WR_RDMA_WRITE, &sge, 1, remote_addr, rkey),
			   IBV_WC_REM_ACCESS_ERR) &&
	     resp_check_region(p, 0, 0, 0, 23);
	return vp_reconnect(p) == 0 && ok;
}

static bool denied_read(struct vp_pair *p, const char *what, uint64_t remote_addr, uint32_t rkey, size_t len)
{
	struct ibv_sge sge = local_sge(&p->req, 0, len);
	bool ok;

	fill(p->req.arena, VP_ARENA_LEN, 29);
	ok = expect_status(what, rdma(p, IBV_WR_RDMA_READ, &sge, 1, remote_addr, rkey),
			   IBV_WC_REM_ACCESS_ERR) &&
	     req_check_region(&p->req, 0, 0, 0, 29);
	return vp_reconnect(p) == 0 && ok;
}

static uint32_t forged_key(const struct vp_pair *p)
{
	uint32_t key = p->resp_addr.rkey ^ 0x00a5a500u;

	if (key == p->resp_addr.lkey || key == p->req.mr->rkey || key == p->req.mr->lkey)
		key ^= 0x5a000000u;
	return key;
}

static bool case_forged_rkey(struct vp_pair *p)
{
	return denied_write(p, "write with forged rkey", remote(p, 0), forged_key(p), 4096) &&
	       denied_read(p, "read with forged rkey", remote(p, 0), forged_key(p), 4096) &&
	       /* The requester's own rkey names its own memory, not the responder's. */
	       denied_write(p, "write with requester's rkey at responder address", remote(p, 0),
			    p->req.mr->rkey, 4096);
}

static bool case_out_of_bounds(struct vp_pair *p)
{
	uint32_t rkey = p->resp_addr.rkey;

	return denied_write(p, "write past region end", remote(p, VP_REGION_LEN - 16), rkey, 64) &&
	       denied_write(p, "write before region start", remote(p, 0) - 8, rkey, 64) &&
	       denied_write(p, "write with wrapping address", UINT64_MAX - 15, rkey, 64) &&
	       denied_read(p, "read past region end", remote(p, VP_REGION_LEN - 16), rkey, 64);
}

static bool case_access_flags(struct vp_pair *p)
{
	uint32_t id, rkey;
	bool ok;

	if (vp_resp_reg_mr(p, 8192, 8192, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ, false, &id, &rkey))
		return false;
	ok = denied_write(p, "write to an MR without REMOTE_WRITE", remote(p, 8192), rkey, 64);
	return vp_resp_dereg_mr(p, id) == 0 && ok;
}

static bool case_stale_rkey(struct vp_pair *p)
{
	uint32_t id, rkey;

	if (vp_resp_reg_mr(p, 65536, 65536, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE, false, &id, &rkey) ||
	    vp_resp_dereg_mr(p, id))
		return false;
	return denied_write(p, "write with the rkey of a deregistered MR", remote(p, 65536), rkey, 64);
}

/* An rkey that worked stops working once its MR is deregistered (nothing
 * may cache it), although the pages stay mapped in the responder. */
static bool case_revoked_rkey(struct vp_pair *p)
{
	const size_t off = 196608, len = 8192;
	struct ibv_sge sge = local_sge(&p->req, 0, len);
	uint32_t id, rkey;

	fill(p->req.region, len, 81);
	if (!resp_fill_arena(p, 83) ||
	    vp_resp_reg_mr(p, off, len, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE, false, &id, &rkey))
		return false;
	if (!expect_status("write before dereg", rdma(p, IBV_WR_RDMA_WRITE, &sge, 1, remote(p, off), rkey),
			   IBV_WC_SUCCESS) ||
	    !resp_check_region(p, off, len, 81, 83)) {
		vp_resp_dereg_mr(p, id);
		return false;
	}
	if (vp_resp_dereg_mr(p, id))
		return false;
	return denied_write(p, "write with the rkey of an MR deregistered after use", remote(p, off), rkey, len);
}

static bool case_other_pd(struct vp_pair *p)
{
	uint32_t id, rkey;
	bool ok;

	if (vp_resp_reg_mr(p, 131072, 65536, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE, true, &id, &rkey))
		return false;
	ok = denied_write(p, "write with an rkey of another PD", remote(p, 131072), rkey, 64);
	return vp_resp_dereg_mr(p, id) == 0 && ok;
}

static bool case_bad_lkey(struct vp_pair *p)
{
	struct ibv_sge sge = local_sge(&p->req, 0, 64);
	bool ok;

	sge.lkey ^= 0x00a5a500u;
	ok = resp_fill_arena(p, 37) &&
	     expect_status("write from a forged lkey", rdma(p, IBV_WR_RDMA_WRITE, &sge, 1, remote(p, 0),
							    p->resp_addr.rkey), IBV_WC_LOC_PROT_ERR) &&
	     resp_check_region(p, 0, 0, 0, 37);
	return vp_reconnect(p) == 0 && ok;
}

/* The responder's QP is connected to some other QP, not to the requester:
 * it ignores the requester, as a QP ignores packets that are not for its
 * connection, so the requester times out (RETRY_EXC_ERR) and the
 * responder's memory stays untouched. */
static bool case_not_connected_back(struct vp_pair *p)
{
	struct ibv_sge sge = local_sge(&p->req, 0, 64);
	struct vp_addr req_addr, stranger;
	bool ok;

	if (vp_endpoint_new_qp(&p->req))
		return false;
	vp_endpoint_addr(&p->req, &req_addr);
	stranger = req_addr;
	stranger.qp_num = req_addr.qp_num ^ 0x5a5a;
	if (vp_resp_connect(p, &stranger, &p->resp_addr) ||
	    vp_endpoint_connect(&p->req, &p->resp_addr, &p->qp) || !resp_fill_arena(p, 53))
		return false;
	fill(p->req.region, 64, 59);
	ok = expect_status("write to a QP connected to another QP",
			   rdma(p, IBV_WR_RDMA_WRITE, &sge, 1, remote(p, 0), p->resp_addr.rkey),
			   IBV_WC_RETRY_EXC_ERR) &&
	     resp_check_region(p, 0, 0, 0, 53);
	return vp_reconnect(p) == 0 && ok;
}

/* After all the failures, the pair still moves data. */
static bool case_recovers(struct vp_pair *p)
{
	return case_write_gather(p);
}

/* ---- main ------------------------------------------------------------------------------- */

struct check_case {
	const char *name;
	bool (*run)(struct vp_pair *p);
};

static const struct check_case data_cases[] = {
	{ "rdma write, 1 B .. 1 MiB", case_write_sizes },
	{ "rdma write, 3-SGE gather", case_write_gather },
	{ "rdma read, 1 B .. 1 MiB", case_read_sizes },
	{ "send/recv scatter, with and without imm", case_send_recv },
	{ "inline send captured at post time", case_send_inline },
	{ "rdma write with imm", case_write_imm },
	{ "32 writes then send: ordering", case_write_then_send_ordering },
	{ "send before its receive: RNR retried", case_rnr_late_receive },
	{ "rnr_retry 0: RNR_RETRY_EXC_ERR", case_rnr_retry_exceeded },
	{ "atomics: fetch-add, cmp-swap hit and miss", case_atomics },
	{ NULL, NULL },
};

static const struct check_case protect_cases[] = {
	{ "forged rkey", case_forged_rkey },
	{ "out-of-bounds address", case_out_of_bounds },
	{ "MR without remote write access", case_access_flags },
	{ "stale rkey after dereg", case_stale_rkey },
	{ "rkey revoked after use", case_revoked_rkey },
	{ "rkey from another PD", case_other_pd },
	{ "forged lkey", case_bad_lkey },
	{ "responder QP connected to another QP", case_not_connected_back },
	{ "data moves after the failures", case_recovers },
	{ NULL, NULL },
};

static int run_cases(struct vp_pair *p, const struct check_case *cases)
{
	int failed = 0;

	for (const struct check_case *c = cases; c->name; c++) {
		bool ok = c->run(p);

		printf("%s: %s\n", ok ? "ok  " : "FAIL", c->name);
		fflush(stdout);
		if (!ok) {
			failed++;
			/* Start the next case from a clean connection. */
			vp_drain(&p->req, 50);
			vp_resp_drain(p, 50);
			if (vp_reconnect(p))
				return failed + 1;
		}
	}
	return failed;
}

/* ---- fault mode ------------------------------------------------------------------------ */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* What RC allows before RETRY_EXC_ERR: retry_cnt + 1 attempts of
 * 4.096 us * 2^timeout each. */
static double retry_bound_ms(const struct vp_qp_params *qp)
{
	return 4.096e-3 * (double)(1ull << qp->timeout) * (qp->retry_cnt + 1);
}

static const char *qp_state_name(enum ibv_qp_state s)
{
	static const char *const names[] = { "RESET", "INIT", "RTR", "RTS", "SQD", "SQE", "ERR" };

	return (unsigned int)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* After the first error: the QP is in ERR and a new WR is flushed. */
static bool check_after_fault(struct vp_pair *p)
{
	struct ibv_qp_attr attr;
	struct ibv_qp_init_attr init;
	struct ibv_sge sge = local_sge(&p->req, 0, 64);
	int rc = ibv_query_qp(p->req.qp, &attr, IBV_QP_STATE, &init), st;

	if (rc) {
		fprintf(stderr, "fault: ibv_query_qp: %s\n", strerror(rc));
		return false;
	}
	printf("fault: qp state %s\n", qp_state_name(attr.qp_state));
	st = rdma(p, IBV_WR_RDMA_WRITE, &sge, 1, remote(p, 0), p->resp_addr.rkey);
	printf("fault: a WR posted afterwards completes with %s\n",
	       st < 0 ? "nothing" : ibv_wc_status_str((enum ibv_wc_status)st));
	return attr.qp_state == IBV_QPS_ERR && st == IBV_WC_WR_FLUSH_ERR;
}

/* Streams signaled 64 KiB WRITEs (one outstanding) until one fails: the
 * test kills the responder's apird or cuts the link meanwhile. Prints
 * "streaming" once data flows, then the first error's status and how long
 * after the last success it came. Passes if it is RETRY_EXC_ERR, the QP is
 * in ERR and later WRs are flushed; the test judges the time. */
static int run_fault(struct vp_pair *p, double max_seconds)
{
	const size_t len = 65536;
	double start = now_ms(), last_ok = start, wait_s = retry_bound_ms(&p->qp) * 4e-3 + 20.0 * vp_time_factor();
	struct ibv_sge sge = local_sge(&p->req, 0, len);
	struct ibv_send_wr *bad, wr;
	struct ibv_wc wc;
	unsigned long ok = 0;
	int rc;

	p->resp_unreachable = true;
	fill(p->req.region, len, 91);
	for (;;) {
		wr = (struct ibv_send_wr){ .wr_id = ok, .sg_list = &sge, .num_sge = 1,
					   .opcode = IBV_WR_RDMA_WRITE, .send_flags = IBV_SEND_SIGNALED,
					   .wr.rdma = { .remote_addr = remote(p, 0), .rkey = p->resp_addr.rkey } };
		rc = ibv_post_send(p->req.qp, &wr, &bad);
		if (rc) {
			fprintf(stderr, "fault: ibv_post_send: %s\n", strerror(rc));
			return 1;
		}
		if (vp_poll_wc(&p->req, &wc, wait_s)) {
			fprintf(stderr, "fault: the write in flight never completed (%lu writes ok before)\n", ok);
			return 1;
		}
		if (wc.status != IBV_WC_SUCCESS)
			break;
		last_ok = now_ms();
		if (++ok == 100)
			printf("streaming: 100 writes of %zu bytes ok\n", len);
		if (last_ok - start > max_seconds * 1e3) {
			fprintf(stderr, "fault: no error within %.0f s (%lu writes ok)\n", max_seconds, ok);
			return 1;
		}
	}
	printf("fault: first error %s (status %d) after %.0f ms; %lu writes ok before; "
	       "timeout %u retry %u allow %.0f ms\n", ibv_wc_status_str(wc.status), wc.status,
	       now_ms() - last_ok, ok, p->qp.timeout, p->qp.retry_cnt, retry_bound_ms(&p->qp));
	return check_after_fault(p) && wc.status == IBV_WC_RETRY_EXC_ERR ? 0 : 1;
}

/* ---- serve mode ---------------------------------------------------------------------------- */

/* The responder of a requester on another host: serves one requester. */
static int serve(const char *port)
{
	struct ibv_device **list, *dev;
	struct vp_responder *r = NULL;
	int fd = -1, rc = 1;

	list = vp_device_list(&dev);
	if (dev)
		r = vp_responder_open(dev);
	if (r)
		fd = tcp_accept_one(port);
	if (fd >= 0)
		rc = vp_responder_serve(r, fd) ? 1 : 0;
	if (fd >= 0)
		close(fd);
	if (r && vp_responder_close(r))
		rc = 1;
	if (list)
		ibv_free_device_list(list);
	printf("apir_verbs_check serve: %s\n", rc ? "FAILED" : "done");
	return rc;
}

/* ---- main ------------------------------------------------------------------------------------ */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: apir_verbs_check [OPTIONS] data|protect|all\n"
		"       apir_verbs_check [OPTIONS] --peer HOST:PORT fault\n"
		"       apir_verbs_check serve PORT\n"
		"\n"
		"  --peer HOST:PORT  the responder is 'apir_verbs_check serve PORT' on HOST\n"
		"                    (default: both sides in this process)\n"
		"  --timeout N       QP local ACK timeout exponent (default 14)\n"
		"  --retry N         QP retry count (default 7)\n"
		"  --seconds N       fault: give up when nothing failed after N s (default 60)\n");
}

static bool parse_u8(const char *s, unsigned int max, uint8_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v > max)
		return false;
	*out = (uint8_t)v;
	return true;
}

static int run_checks(struct vp_pair *p, const char *mode)
{
	int failed = 0;

	if (!strcmp(mode, "data") || !strcmp(mode, "all"))
		failed += run_cases(p, data_cases);
	if (!strcmp(mode, "protect") || !strcmp(mode, "all"))
		failed += run_cases(p, protect_cases);
	printf("apir_verbs_check %s: %s\n", mode, failed ? "FAILED" : "all cases passed");
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "peer", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "retry", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vp_qp_params qp = VP_QP_PARAMS_DEFAULT;
	const char *peer = NULL, *mode;
	uint8_t seconds = 60;
	struct vp_pair pair;
	int opt, rc;

	/* Case lines (stdout) and their diagnostics (stderr) stay in order in a log. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'p')
			peer = optarg;
		else if ((opt == 't' && parse_u8(optarg, 31, &qp.timeout)) ||
			 (opt == 'r' && parse_u8(optarg, 7, &qp.retry_cnt)) ||
			 (opt == 's' && parse_u8(optarg, 255, &seconds)))
			continue;
		else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	mode = optind < argc ? argv[optind] : "";
	if (!strcmp(mode, "serve") && optind + 2 == argc && !peer)
		return serve(argv[optind + 1]);
	if (optind + 1 != argc || (strcmp(mode, "data") && strcmp(mode, "protect") && strcmp(mode, "all") &&
				   (strcmp(mode, "fault") || !peer))) {
		usage(stderr);
		return 2;
	}
	if (vp_open(&pair, peer, &qp)) {
		vp_close(&pair);
		return 1;
	}
	rc = !strcmp(mode, "fault") ? run_fault(&pair, seconds) : run_checks(&pair, mode);
	if (vp_close(&pair) && strcmp(mode, "fault"))
		rc = 1;
	return rc;
}
