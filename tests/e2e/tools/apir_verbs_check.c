/* SPDX-License-Identifier: MIT */
/*
 * apir_verbs_check: data integrity and protection checks for a verbs device.
 *
 *   apir_verbs_check data     RDMA WRITE/READ/SEND/atomics of patterned data,
 *                             every byte of the target verified, and every
 *                             byte around it verified untouched
 *   apir_verbs_check protect  forged, stale, out-of-bounds, wrong-PD and
 *                             wrong-access keys must fail the work request
 *                             and leave the target untouched
 *
 * An ordinary verbs application (run it through apir-run). Exits 0 only if
 * every case passed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "verbs_pair.h"

/* ---- patterns ------------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Byte i of the pattern named by seed: any sub-range can be checked on its own. */
static uint8_t pattern_byte(uint64_t seed, size_t i)
{
	return (uint8_t)(mix64(seed * 0x100000001b3ull + i / 8) >> ((i % 8) * 8));
}

static void fill(uint8_t *dst, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = pattern_byte(seed, i);
}

/* Checks buf[0..len) == pattern seed starting at pattern index first. */
static bool check_range(const char *what, const uint8_t *buf, size_t len, uint64_t seed, size_t first)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t want = pattern_byte(seed, first + i);

		if (buf[i] != want) {
			fprintf(stderr, "    %s: byte %zu is 0x%02x, expected 0x%02x\n", what, i, buf[i], want);
			return false;
		}
	}
	return true;
}

/* The responder's whole arena (guards included) is background pattern
 * except [off, off+len) of the region, which must be pattern seed. */
static bool check_region(const struct vp_endpoint *e, size_t off, size_t len, uint64_t seed, uint64_t background)
{
	size_t start = VP_GUARD_LEN + off;
	size_t arena_len = VP_REGION_LEN + 2 * VP_GUARD_LEN;

	return check_range("before target", e->arena, start, background, 0) &&
	       check_range("target", e->arena + start, len, seed, 0) &&
	       check_range("after target", e->arena + start + len, arena_len - start - len,
			   background, start + len);
}

static void fill_arena(struct vp_endpoint *e, uint64_t seed)
{
	fill(e->arena, VP_REGION_LEN + 2 * VP_GUARD_LEN, seed);
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
	return (uintptr_t)(p->resp.region + off);
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
		fill_arena(&p->resp, 7);
		if (!expect_status("write", rdma(p, IBV_WR_RDMA_WRITE, &sge, 1, remote(p, dst_off),
						 p->resp.mr->rkey), IBV_WC_SUCCESS))
			return false;
		if (!check_region(&p->resp, dst_off, len, seed, 7)) {
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

	fill_arena(&p->resp, 9);
	for (size_t i = 0; i < 3; i++) {
		size_t src_off = 300000 * (i + 1) + i;

		/* Pattern seed 21 continues across the parts. */
		for (size_t b = 0; b < part; b++)
			p->req.region[src_off + b] = pattern_byte(21, i * part + b);
		sge[i] = local_sge(&p->req, src_off, part);
	}
	if (!expect_status("gather write", rdma(p, IBV_WR_RDMA_WRITE, sge, 3, remote(p, dst_off),
						p->resp.mr->rkey), IBV_WC_SUCCESS))
		return false;
	return check_region(&p->resp, dst_off, 3 * part, 21, 9);
}

static bool case_read_sizes(struct vp_pair *p)
{
	for (size_t i = 0; i < NUM_SIZES; i++) {
		size_t len = sizes[i], src_off = 4096 * i + 5 * i, dst_off = 16 * i + 7;
		uint64_t seed = 200 + i;
		struct ibv_sge sge = local_sge(&p->req, dst_off, len);

		fill(p->resp.region + src_off, len, seed);
		fill(p->req.arena, VP_REGION_LEN + 2 * VP_GUARD_LEN, 11);
		if (!expect_status("read", rdma(p, IBV_WR_RDMA_READ, &sge, 1, remote(p, src_off),
						p->resp.mr->rkey), IBV_WC_SUCCESS))
			return false;
		if (!check_region(&p->req, dst_off, len, seed, 11)) {
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

	if (vp_wait_wc(&p->resp, &wc))
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
	if (wc.qp_num != p->resp.qp->qp_num) {
		fprintf(stderr, "    recv completion for qp %u, expected %u\n", wc.qp_num, p->resp.qp->qp_num);
		return false;
	}
	return true;
}

/* A SEND scattered over two receive SGEs, with and without immediate. */
static bool case_send_recv(struct vp_pair *p)
{
	const size_t len = 70000, first = 30000;

	for (int imm = 0; imm < 2; imm++) {
		struct ibv_sge rsge[2] = { local_sge(&p->resp, 1000, first),
					   local_sge(&p->resp, 500000, len - first + 100) };
		struct ibv_sge ssge = local_sge(&p->req, 333, len);
		struct ibv_send_wr wr = {
			.opcode = imm ? IBV_WR_SEND_WITH_IMM : IBV_WR_SEND,
			.sg_list = &ssge, .num_sge = 1, .imm_data = htonl(0xabc0de + imm),
		};

		fill_arena(&p->resp, 13);
		fill(p->req.region + 333, len, 31 + imm);
		if (vp_post_recv(p, rsge, 2, 77 + imm))
			return false;
		if (!expect_status("send", vp_send_wait(p, &wr), IBV_WC_SUCCESS) ||
		    !check_recv(p, 77 + imm, IBV_WC_RECV, len, imm, htonl(0xabc0de + imm)))
			return false;
		if (!check_range("first recv sge", p->resp.region + 1000, first, 31 + imm, 0) ||
		    !check_range("second recv sge", p->resp.region + 500000, len - first, 31 + imm, first) ||
		    !check_range("after message", p->resp.region + 500000 + len - first, 100, 13,
				 VP_GUARD_LEN + 500000 + len - first))
			return false;
	}
	return true;
}

/* Inline data is captured at post time: the buffer is clobbered right after. */
static bool case_send_inline(struct vp_pair *p)
{
	uint8_t msg[48];
	struct ibv_sge rsge = local_sge(&p->resp, 0, sizeof(msg));
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
	fill_arena(&p->resp, 15);
	if (vp_post_recv(p, &rsge, 1, 99))
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
	       check_region(&p->resp, 0, sizeof(msg), 41, 15);
}

static bool case_write_imm(struct vp_pair *p)
{
	const size_t len = 9000, off = 40000;
	struct ibv_sge ssge = local_sge(&p->req, 0, len);
	struct ibv_send_wr wr = {
		.opcode = IBV_WR_RDMA_WRITE_WITH_IMM, .sg_list = &ssge, .num_sge = 1,
		.imm_data = htonl(0x1234567),
		.wr.rdma = { .remote_addr = remote(p, off), .rkey = p->resp.mr->rkey },
	};

	fill_arena(&p->resp, 17);
	fill(p->req.region, len, 51);
	if (vp_post_recv(p, NULL, 0, 123))
		return false;
	if (!expect_status("write with imm", vp_send_wait(p, &wr), IBV_WC_SUCCESS))
		return false;
	return check_recv(p, 123, IBV_WC_RECV_RDMA_WITH_IMM, len, true, htonl(0x1234567)) &&
	       check_region(&p->resp, off, len, 51, 17);
}

/* RC orders a SEND after earlier WRITEs: when the receive completes every
 * written byte is visible. */
static bool case_write_then_send_ordering(struct vp_pair *p)
{
	enum { WRITES = 32, LEN = 16384 };
	struct ibv_sge sge[WRITES];
	struct ibv_send_wr wr[WRITES + 1];
	struct ibv_sge ssge = local_sge(&p->req, WRITES * LEN, 8);
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	int rc;

	fill_arena(&p->resp, 19);
	fill(p->req.region, WRITES * LEN, 61);
	memset(wr, 0, sizeof(wr));
	for (int i = 0; i < WRITES; i++) {
		sge[i] = local_sge(&p->req, (size_t)i * LEN, LEN);
		wr[i] = (struct ibv_send_wr){
			.wr_id = 5000 + i, .next = &wr[i + 1], .sg_list = &sge[i], .num_sge = 1,
			.opcode = IBV_WR_RDMA_WRITE,
			.wr.rdma = { .remote_addr = remote(p, (size_t)i * LEN), .rkey = p->resp.mr->rkey },
		};
	}
	wr[WRITES] = (struct ibv_send_wr){ .wr_id = 6000, .sg_list = &ssge, .num_sge = 1,
					   .opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED };
	struct ibv_sge rsge = local_sge(&p->resp, VP_REGION_LEN - 8, 8);
	if (vp_post_recv(p, &rsge, 1, 7000))
		return false;
	rc = ibv_post_send(p->req.qp, wr, &bad);
	if (rc) {
		fprintf(stderr, "    ibv_post_send(list of %d): %s\n", WRITES + 1, strerror(rc));
		return false;
	}
	if (!check_recv(p, 7000, IBV_WC_RECV, 8, false, 0))
		return false;
	if (!check_range("written data at receive time", p->resp.region, WRITES * LEN, 61, 0))
		return false;
	if (vp_wait_wc(&p->req, &wc) || wc.wr_id != 6000 || wc.status != IBV_WC_SUCCESS) {
		fprintf(stderr, "    send completion after unsignaled writes missing or wrong\n");
		return false;
	}
	return true;
}

static bool atomic_op(struct vp_pair *p, enum ibv_wr_opcode op, size_t off, uint64_t compare_add,
		      uint64_t swap, uint64_t want_old, uint64_t want_new)
{
	volatile uint64_t *target = (volatile uint64_t *)(p->resp.region + off);
	volatile uint64_t *result = (volatile uint64_t *)(p->req.region + 64);
	struct ibv_sge sge = local_sge(&p->req, 64, 8);
	struct ibv_send_wr wr = {
		.opcode = op, .sg_list = &sge, .num_sge = 1,
		.wr.atomic = { .remote_addr = remote(p, off), .compare_add = compare_add,
			       .swap = swap, .rkey = p->resp.mr->rkey },
	};

	*result = 0x5555555555555555ull;
	if (!expect_status("atomic", vp_send_wait(p, &wr), IBV_WC_SUCCESS))
		return false;
	if (*result != want_old || *target != want_new) {
		fprintf(stderr, "    atomic %d: returned 0x%" PRIx64 " target 0x%" PRIx64
			", expected 0x%" PRIx64 " 0x%" PRIx64 "\n", op, *result, *target, want_old, want_new);
		return false;
	}
	return true;
}

static bool case_atomics(struct vp_pair *p)
{
	const size_t off = 4096 + 8;
	const uint64_t v0 = 0x0123456789abcdefull, add = 0x1111;

	if (p->dev_attr.atomic_cap == IBV_ATOMIC_NONE) {
		fprintf(stderr, "    device reports atomic_cap IBV_ATOMIC_NONE\n");
		return false;
	}
	*(volatile uint64_t *)(p->resp.region + off) = v0;
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
	fill_arena(&p->resp, 23);
	ok = expect_status(what, rdma(p, IBV_WR_RDMA_WRITE, &sge, 1, remote_addr, rkey),
			   IBV_WC_REM_ACCESS_ERR) &&
	     check_region(&p->resp, 0, 0, 0, 23);
	return vp_reconnect(p) == 0 && ok;
}

static bool denied_read(struct vp_pair *p, const char *what, uint64_t remote_addr, uint32_t rkey, size_t len)
{
	struct ibv_sge sge = local_sge(&p->req, 0, len);
	bool ok;

	fill(p->req.arena, VP_REGION_LEN + 2 * VP_GUARD_LEN, 29);
	ok = expect_status(what, rdma(p, IBV_WR_RDMA_READ, &sge, 1, remote_addr, rkey),
			   IBV_WC_REM_ACCESS_ERR) &&
	     check_region(&p->req, 0, 0, 0, 29);
	return vp_reconnect(p) == 0 && ok;
}

static uint32_t forged_key(const struct vp_pair *p)
{
	uint32_t key = p->resp.mr->rkey ^ 0x00a5a500u;

	if (key == p->resp.mr->lkey || key == p->req.mr->rkey || key == p->req.mr->lkey)
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
	uint32_t rkey = p->resp.mr->rkey;

	return denied_write(p, "write past region end", remote(p, VP_REGION_LEN - 16), rkey, 64) &&
	       denied_write(p, "write before region start", remote(p, 0) - 8, rkey, 64) &&
	       denied_write(p, "write with wrapping address", UINT64_MAX - 15, rkey, 64) &&
	       denied_read(p, "read past region end", remote(p, VP_REGION_LEN - 16), rkey, 64);
}

static bool case_access_flags(struct vp_pair *p)
{
	struct ibv_mr *ro = ibv_reg_mr(p->resp.pd, p->resp.region + 8192, 8192,
				       IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ);
	bool ok;

	if (!ro) {
		fprintf(stderr, "    ibv_reg_mr(read-only): %s\n", strerror(errno));
		return false;
	}
	ok = denied_write(p, "write to an MR without REMOTE_WRITE", remote(p, 8192), ro->rkey, 64);
	if (ibv_dereg_mr(ro)) {
		fprintf(stderr, "    ibv_dereg_mr(read-only): %s\n", strerror(errno));
		ok = false;
	}
	return ok;
}

static bool case_stale_rkey(struct vp_pair *p)
{
	struct ibv_mr *mr = ibv_reg_mr(p->resp.pd, p->resp.region + 65536, 65536,
				       IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	uint32_t rkey;

	if (!mr) {
		fprintf(stderr, "    ibv_reg_mr: %s\n", strerror(errno));
		return false;
	}
	rkey = mr->rkey;
	if (ibv_dereg_mr(mr)) {
		fprintf(stderr, "    ibv_dereg_mr: %s\n", strerror(errno));
		return false;
	}
	return denied_write(p, "write with the rkey of a deregistered MR", remote(p, 65536), rkey, 64);
}

static bool case_other_pd(struct vp_pair *p)
{
	struct ibv_pd *pd = ibv_alloc_pd(p->resp.ctx);
	struct ibv_mr *mr;
	bool ok;

	if (!pd) {
		fprintf(stderr, "    ibv_alloc_pd: %s\n", strerror(errno));
		return false;
	}
	mr = ibv_reg_mr(pd, p->resp.region + 131072, 65536,
			IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	if (!mr) {
		fprintf(stderr, "    ibv_reg_mr(second pd): %s\n", strerror(errno));
		ibv_dealloc_pd(pd);
		return false;
	}
	ok = denied_write(p, "write with an rkey of another PD", remote(p, 131072), mr->rkey, 64);
	if (ibv_dereg_mr(mr) || ibv_dealloc_pd(pd)) {
		fprintf(stderr, "    releasing second pd: %s\n", strerror(errno));
		ok = false;
	}
	return ok;
}

static bool case_bad_lkey(struct vp_pair *p)
{
	struct ibv_sge sge = local_sge(&p->req, 0, 64);
	bool ok;

	sge.lkey ^= 0x00a5a500u;
	fill_arena(&p->resp, 37);
	ok = expect_status("write from a forged lkey", rdma(p, IBV_WR_RDMA_WRITE, &sge, 1, remote(p, 0),
							    p->resp.mr->rkey), IBV_WC_LOC_PROT_ERR) &&
	     check_region(&p->resp, 0, 0, 0, 37);
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
	{ "atomics: fetch-add, cmp-swap hit and miss", case_atomics },
	{ NULL, NULL },
};

static const struct check_case protect_cases[] = {
	{ "forged rkey", case_forged_rkey },
	{ "out-of-bounds address", case_out_of_bounds },
	{ "MR without remote write access", case_access_flags },
	{ "stale rkey after dereg", case_stale_rkey },
	{ "rkey from another PD", case_other_pd },
	{ "forged lkey", case_bad_lkey },
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
			vp_drain(&p->resp, 50);
			if (vp_reconnect(p))
				return failed + 1;
		}
	}
	return failed;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	struct vp_pair pair;
	int failed = 0;

	if (argc != 2 || (strcmp(mode, "data") && strcmp(mode, "protect") && strcmp(mode, "all"))) {
		fprintf(stderr, "usage: apir_verbs_check data|protect|all\n");
		return 2;
	}
	/* Case lines (stdout) and their diagnostics (stderr) stay in order in a log. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&pair, 0, sizeof(pair));
	if (vp_open(&pair)) {
		vp_close(&pair);
		return 1;
	}
	if (!strcmp(mode, "data") || !strcmp(mode, "all"))
		failed += run_cases(&pair, data_cases);
	if (!strcmp(mode, "protect") || !strcmp(mode, "all"))
		failed += run_cases(&pair, protect_cases);
	vp_close(&pair);
	printf("apir_verbs_check %s: %s\n", mode, failed ? "FAILED" : "all cases passed");
	return failed ? 1 : 0;
}
