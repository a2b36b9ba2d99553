/* SPDX-License-Identifier: MIT */
/*
 * Writes a fuzz target's seed corpus into DIR, so the fuzzer starts from
 * inputs that reach deep instead of rediscovering the formats:
 *   fuzz_seeds fuzz_control DIR      sessions a real frontend runs (device
 *                                    queries, PD, CQ, SRQ, QP through
 *                                    INIT/RTR/RTS, AH, teardown)
 *   fuzz_seeds fuzz_data_plane DIR   SEND/RECV, RDMA WRITE, READ and atomics
 *                                    between the two QPs, within the MR
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <infiniband/verbs.h>

#include "apir.pb-c.h"
#include "apir/ring.h"
#include "fuzz_control.h"
#include "fuzz_data_plane.h"

#define SEED_MAX 4096

struct seed {
	uint8_t buf[SEED_MAX];
	size_t len;
	uint64_t next_id;
};

static void add(struct seed *s, Apir__Request *r)
{
	size_t n;

	r->id = ++s->next_id;
	n = apir__request__get_packed_size(r);
	if (s->len + FUZZ_FRAME_LEN_BYTES + n > sizeof(s->buf) || n > 0xffff) {
		fprintf(stderr, "fuzz_seeds: seed too large\n");
		exit(1);
	}
	s->buf[s->len] = (uint8_t)n;
	s->buf[s->len + 1] = (uint8_t)(n >> 8);
	s->len += FUZZ_FRAME_LEN_BYTES;
	s->len += apir__request__pack(r, s->buf + s->len);
}

#define ADD(s, field, CASE, body)                                    \
	do {                                                         \
		Apir__Request r_ = APIR__REQUEST__INIT;              \
		r_.body_case = APIR__REQUEST__BODY_##CASE;           \
		r_.field = (body);                                   \
		add((s), &r_);                                       \
	} while (0)

static void queries(struct seed *s)
{
	Apir__QueryDevice qd = APIR__QUERY_DEVICE__INIT;
	Apir__QueryPort qp = APIR__QUERY_PORT__INIT;
	Apir__QueryGidTable qg = APIR__QUERY_GID_TABLE__INIT;

	qp.port_num = 1;
	ADD(s, query_device, QUERY_DEVICE, &qd);
	ADD(s, query_port, QUERY_PORT, &qp);
	ADD(s, query_gid_table, QUERY_GID_TABLE, &qg);
}

/* PD 1, CQ 1, and an RC QP on them moved to RTS against itself. */
static void rc_qp(struct seed *s, uint32_t qp_type)
{
	Apir__AllocPd pd = APIR__ALLOC_PD__INIT;
	Apir__CreateCq cq = APIR__CREATE_CQ__INIT;
	Apir__CreateQp cqp = APIR__CREATE_QP__INIT;
	Apir__QpCap cap = APIR__QP_CAP__INIT;
	Apir__ModifyQp mq = APIR__MODIFY_QP__INIT;
	Apir__QpAttr a = APIR__QP_ATTR__INIT;
	Apir__AhAttr ah = APIR__AH_ATTR__INIT;
	Apir__DestroyQp dq = APIR__DESTROY_QP__INIT;

	ADD(s, alloc_pd, ALLOC_PD, &pd);
	cq.cqe = 16;
	ADD(s, create_cq, CREATE_CQ, &cq);
	cap.max_send_wr = cap.max_recv_wr = 16;
	cap.max_send_sge = cap.max_recv_sge = 1;
	cqp.pd = 1;
	cqp.send_cq = cqp.recv_cq = 1;
	cqp.qp_type = qp_type;
	cqp.cap = &cap;
	ADD(s, create_qp, CREATE_QP, &cqp);
	mq.qp = 1;
	mq.attr = &a;
	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	a.qkey = 0x11111111;
	a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	mq.attr_mask = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
		       (qp_type == IBV_QPT_UD ? IBV_QP_QKEY : IBV_QP_ACCESS_FLAGS);
	ADD(s, modify_qp, MODIFY_QP, &mq);
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = 2;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 12;
	ah.port_num = 1;
	a.ah_attr = &ah;
	mq.attr_mask = qp_type == IBV_QPT_UD ? IBV_QP_STATE :
		       IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
		       IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
	ADD(s, modify_qp, MODIFY_QP, &mq);
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 1;
	mq.attr_mask = qp_type == IBV_QPT_UD ? IBV_QP_STATE | IBV_QP_SQ_PSN :
		       IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		       IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC;
	ADD(s, modify_qp, MODIFY_QP, &mq);
	dq.qp = 1;
	ADD(s, destroy_qp, DESTROY_QP, &dq);
}

static void srq_and_ah(struct seed *s)
{
	Apir__AllocPd pd = APIR__ALLOC_PD__INIT;
	Apir__CreateSrq srq = APIR__CREATE_SRQ__INIT;
	Apir__ModifySrq ms = APIR__MODIFY_SRQ__INIT;
	Apir__CreateAh cah = APIR__CREATE_AH__INIT;
	Apir__AhAttr ah = APIR__AH_ATTR__INIT;
	static uint8_t gid[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 };

	ADD(s, alloc_pd, ALLOC_PD, &pd);
	srq.pd = 1;
	srq.max_wr = 32;
	srq.max_sge = 2;
	ADD(s, create_srq, CREATE_SRQ, &srq);
	ms.srq = 1;
	ms.attr_mask = IBV_SRQ_LIMIT;
	ms.srq_limit = 4;
	ADD(s, modify_srq, MODIFY_SRQ, &ms);
	ah.is_global = true;
	ah.dgid.data = gid;
	ah.dgid.len = sizeof(gid);
	ah.port_num = 1;
	cah.pd = 1;
	cah.attr = &ah;
	ADD(s, create_ah, CREATE_AH, &cah);
}

static void write_seed(const char *dir, const char *name, const struct seed *s)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->buf, 1, s->len, f) != s->len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* ---- fuzz_data_plane ------------------------------------------------------- */

static void put(struct seed *s, const void *p, size_t n)
{
	if (s->len + n > sizeof(s->buf)) {
		fprintf(stderr, "fuzz_seeds: seed too large\n");
		exit(1);
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void op(struct seed *s, uint8_t byte)
{
	put(s, &byte, 1);
}

static void recv_wqe(struct seed *s, int qp, uint64_t off, uint32_t len)
{
	struct apir_recv_wqe w = { .wr_id = off, .num_sge = 1 };

	w.sge[0] = (struct apir_sge){ .addr = off, .length = len, .lkey = FUZZ_LKEY };
	op(s, FUZZ_OP(FUZZ_OP_RECV, qp, 1));
	put(s, &w, sizeof(w));
}

/* opcode from qp's buffer at off (len bytes) to the peer's at remote. */
static void send_wqe(struct seed *s, int qp, uint32_t opcode, uint64_t off, uint32_t len,
		     uint64_t remote)
{
	struct apir_send_wqe w = {
		.wr_id = off,
		.opcode = opcode,
		.send_flags = IBV_SEND_SIGNALED,
		.num_sge = 1,
		.remote_addr = remote,
		.rkey = FUZZ_RKEY,
		.compare_add = 1,
		.swap = 2,
	};

	w.sge[0] = (struct apir_sge){ .addr = off, .length = len, .lkey = FUZZ_LKEY };
	op(s, FUZZ_OP(FUZZ_OP_SEND, qp, 1));
	put(s, &w, sizeof(w));
}

static void data_plane_seeds(const char *dir)
{
	static const struct {
		const char *name;
		uint32_t opcode, len;
	} ops[] = {
		{ "send", IBV_WR_SEND, 64 },
		{ "write", IBV_WR_RDMA_WRITE, 4096 },
		{ "write_imm", IBV_WR_RDMA_WRITE_WITH_IMM, 100 },
		{ "read", IBV_WR_RDMA_READ, 8192 },
		{ "cmp_swap", IBV_WR_ATOMIC_CMP_AND_SWP, 8 },
		{ "fetch_add", IBV_WR_ATOMIC_FETCH_AND_ADD, 8 },
	};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct seed s;

		memset(&s, 0, sizeof(s));
		recv_wqe(&s, 1, 32768, 4096);
		send_wqe(&s, 0, ops[i].opcode, 0, ops[i].len, 16384);
		op(&s, FUZZ_OP(FUZZ_OP_RUN, 0, 4));
		send_wqe(&s, 1, ops[i].opcode, 40960, ops[i].len, 49152);
		op(&s, FUZZ_OP(FUZZ_OP_RUN, 1, 4));
		write_seed(dir, ops[i].name, &s);
	}
}

static void control_seeds(const char *dir)
{
	struct seed s;

	memset(&s, 0, sizeof(s));
	queries(&s);
	write_seed(dir, "queries", &s);
	memset(&s, 0, sizeof(s));
	rc_qp(&s, IBV_QPT_RC);
	write_seed(dir, "rc_qp", &s);
	memset(&s, 0, sizeof(s));
	rc_qp(&s, IBV_QPT_UD);
	write_seed(dir, "ud_qp", &s);
	memset(&s, 0, sizeof(s));
	srq_and_ah(&s);
	write_seed(dir, "srq_ah", &s);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "fuzz_control") == 0)
		control_seeds(argv[2]);
	else if (argc == 3 && strcmp(argv[1], "fuzz_data_plane") == 0)
		data_plane_seeds(argv[2]);
	else {
		fprintf(stderr, "usage: fuzz_seeds fuzz_control|fuzz_data_plane DIR\n");
		return 2;
	}
	return 0;
}
