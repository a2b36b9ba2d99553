/* SPDX-License-Identifier: MIT */
/*
 * The fabric wire as a receiving apird validates it (fab_msg_parse): well
 * formed requests, ACKs and datagrams pass with every pointer inside the
 * message; every malformed or hostile variant is refused with a reason.
 */
#include <errno.h>
#include <string.h>

#include "fabric.h"
#include "unit.h"

static _Alignas(64) uint8_t buf[FAB_BUF_SIZE + 64];
static const union ibv_gid gid = { .raw = { [10] = 0xff, [11] = 0xff, 10, 77, 1, 2 } };

static struct apir_fab_req *req(uint32_t opcode, uint32_t length, uint16_t num_segs, bool eager)
{
	struct apir_fab_req *r = (struct apir_fab_req *)buf;
	size_t len = sizeof(*r) + (eager ? length : num_segs * sizeof(struct apir_fab_seg));
	struct apir_fab_seg *segs = (struct apir_fab_seg *)(buf + sizeof(*r));

	memset(buf, 0, sizeof(buf));
	fab_hdr_init(&r->hdr, APIR_FAB_REQ, (uint32_t)len, &gid, 5, 6, 100);
	r->opcode = opcode;
	r->length = length;
	r->qp_type = IBV_QPT_RC;
	r->num_segs = num_segs;
	r->flags = eager ? APIR_FAB_REQ_EAGER : 0;
	for (uint16_t i = 0; i < num_segs; i++)
		segs[i] = (struct apir_fab_seg){ .key = 7, .addr = 4096u * i,
						 .length = length / num_segs };
	if (num_segs)
		segs[num_segs - 1].length += length % num_segs;
	return r;
}

static int parse(size_t len, struct fab_msg *m)
{
	const char *why = NULL;
	int rc = fab_msg_parse(buf, len, m, &why);

	CU_ASSERT(rc == 0 || (rc == -EBADMSG && why != NULL));
	return rc;
}

static size_t msg_len(void)
{
	return ((struct apir_fab_hdr *)buf)->length;
}

static void test_valid_requests(void)
{
	struct fab_msg m;
	struct apir_fab_req *r = req(IBV_WR_RDMA_WRITE, 100, 0, true);

	CU_ASSERT_EQUAL(parse(msg_len(), &m), 0);
	CU_ASSERT_PTR_EQUAL(m.req, r);
	CU_ASSERT_PTR_EQUAL(m.payload, buf + sizeof(*r));
	CU_ASSERT_EQUAL(m.payload_len, 100);

	req(IBV_WR_SEND_WITH_IMM, 1u << 20, APIR_FAB_MAX_SEGS, false);
	CU_ASSERT_EQUAL(parse(msg_len(), &m), 0);
	CU_ASSERT_PTR_EQUAL(m.segs, (void *)(buf + sizeof(*r)));

	req(IBV_WR_RDMA_READ, 0, 0, false);
	CU_ASSERT_EQUAL(parse(msg_len(), &m), 0);

	req(IBV_WR_ATOMIC_FETCH_AND_ADD, 8, 0, false);
	CU_ASSERT_EQUAL(parse(msg_len(), &m), 0);

	req(IBV_WR_SEND, APIR_FAB_EAGER_MAX, 0, true);
	CU_ASSERT_EQUAL(parse(msg_len(), &m), 0);
}

static void test_header_checks(void)
{
	struct apir_fab_hdr *h = (struct apir_fab_hdr *)buf;
	struct fab_msg m;

	req(IBV_WR_RDMA_WRITE, 8, 0, true);
	CU_ASSERT_EQUAL(parse(sizeof(*h) - 1, &m), -EBADMSG);
	CU_ASSERT_EQUAL(parse(msg_len() - 1, &m), -EBADMSG);      /* length disagrees */
	h->magic ^= 1;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);
	h->magic ^= 1;
	h->version = APIR_FAB_WIRE_VERSION + 1;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);
	h->version = APIR_FAB_WIRE_VERSION;
	h->type = 77;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);
	h->type = APIR_FAB_REQ;
	h->seq = FAB_SEQ_MASK + 1;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);
	h->seq = 1;
	h->dst_qpn = 1u << 24;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);
	h->dst_qpn = 6;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), 0);
}

static void test_hostile_requests(void)
{
	struct apir_fab_req *r;
	struct apir_fab_seg *segs = (struct apir_fab_seg *)(buf + sizeof(*r));
	struct fab_msg m;

	r = req(IBV_WR_RDMA_WRITE, 64, 0, true);
	r->opcode = IBV_WR_LOCAL_INV;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);

	r = req(IBV_WR_RDMA_READ, 64, 1, false);
	r->qp_type = IBV_QPT_UC;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);       /* READ on UC */
	r->qp_type = IBV_QPT_UD;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);

	r = req(IBV_WR_RDMA_WRITE, 64, 1, false);
	r->flags |= 0x80;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);

	/* Eager: payload bigger than allowed, claimed bigger than sent, with segments. */
	r = req(IBV_WR_SEND, APIR_FAB_EAGER_MAX + 1, 0, true);
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);
	r = req(IBV_WR_SEND, 100, 0, true);
	r->length = 200;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);
	r = req(IBV_WR_SEND, 100, 0, true);
	r->num_segs = 1;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);
	r = req(IBV_WR_RDMA_READ, 100, 0, true);
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);       /* eager READ */

	/* Segments: too many, empty, not adding up, overflowing, reserved set. */
	r = req(IBV_WR_RDMA_WRITE, 1u << 16, APIR_FAB_MAX_SEGS, false);
	r->num_segs = APIR_FAB_MAX_SEGS + 1;
	CU_ASSERT_EQUAL(parse(msg_len() + sizeof(*segs), &m), -EBADMSG);
	req(IBV_WR_RDMA_WRITE, 1u << 16, 2, false);
	segs[1].length = 0;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);
	req(IBV_WR_RDMA_WRITE, 1u << 16, 2, false);
	segs[1].length++;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);
	r = req(IBV_WR_RDMA_WRITE, 1u << 16, 2, false);
	segs[0].length = UINT32_MAX;
	segs[1].length = (1u << 16) + 1;                         /* wraps in 32 bits */
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);
	req(IBV_WR_RDMA_WRITE, 1u << 16, 2, false);
	segs[0].reserved = 1;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);
	r = req(IBV_WR_RDMA_WRITE, 64, 0, false);                /* no payload, no segments */
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);
	r = req(IBV_WR_RDMA_WRITE, APIR_FAB_MAX_LENGTH, 1, false);
	r->length = APIR_FAB_MAX_LENGTH + 1;
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);

	/* Atomics: 8 bytes, no segments. */
	req(IBV_WR_ATOMIC_CMP_AND_SWP, 16, 0, false);
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);
	req(IBV_WR_ATOMIC_CMP_AND_SWP, 8, 1, false);
	CU_ASSERT_EQUAL(parse(msg_len(), &m), -EBADMSG);
}

static void test_acks(void)
{
	struct apir_fab_ack *a = (struct apir_fab_ack *)buf;
	struct fab_msg m;

	memset(buf, 0, sizeof(buf));
	fab_hdr_init(&a->hdr, APIR_FAB_ACK, sizeof(*a), &gid, 6, 5, 100);
	a->status = APIR_FAB_RNR;
	a->rnr_timer = 31;
	CU_ASSERT_EQUAL(parse(sizeof(*a), &m), 0);
	CU_ASSERT_PTR_EQUAL(m.ack, a);
	a->rnr_timer = 32;
	CU_ASSERT_EQUAL(parse(sizeof(*a), &m), -EBADMSG);
	a->rnr_timer = 0;
	a->status = APIR_FAB_STATUS_COUNT;
	CU_ASSERT_EQUAL(parse(sizeof(*a), &m), -EBADMSG);
	a->status = APIR_FAB_OK;
	a->hdr.length = sizeof(*a) + 8;
	CU_ASSERT_EQUAL(parse(sizeof(*a) + 8, &m), -EBADMSG);
}

static void test_datagrams(void)
{
	struct apir_fab_ud *u = (struct apir_fab_ud *)buf;
	struct fab_msg m;

	memset(buf, 0, sizeof(buf));
	fab_hdr_init(&u->hdr, APIR_FAB_UD, sizeof(*u) + 10, &gid, 6, 5, 0);
	u->length = 10;
	u->flags = APIR_FAB_UD_WITH_IMM;
	CU_ASSERT_EQUAL(parse(sizeof(*u) + 10, &m), 0);
	CU_ASSERT_EQUAL(m.payload_len, 10);
	CU_ASSERT_PTR_EQUAL(m.payload, buf + sizeof(*u));
	u->hdr.seq = 1;
	CU_ASSERT_EQUAL(parse(sizeof(*u) + 10, &m), -EBADMSG);
	u->hdr.seq = 0;
	u->length = 11;
	CU_ASSERT_EQUAL(parse(sizeof(*u) + 10, &m), -EBADMSG);
	u->length = 10;
	u->sl = 16;
	CU_ASSERT_EQUAL(parse(sizeof(*u) + 10, &m), -EBADMSG);
	u->sl = 0;
	u->flow_label = 0x100000;
	CU_ASSERT_EQUAL(parse(sizeof(*u) + 10, &m), -EBADMSG);
	u->flow_label = 0;
	u->flags = 0x10;
	CU_ASSERT_EQUAL(parse(sizeof(*u) + 10, &m), -EBADMSG);
	u->flags = 0;
	u->hdr.length = sizeof(*u) + APIR_FAB_UD_MTU + 1;
	u->length = APIR_FAB_UD_MTU + 1;
	CU_ASSERT_EQUAL(parse(sizeof(*u) + APIR_FAB_UD_MTU + 1, &m), -EBADMSG);
}

static void test_hello(void)
{
	struct apir_fab_hello *h = (struct apir_fab_hello *)buf;
	struct fab_msg m;

	memset(buf, 0, sizeof(buf));
	fab_hdr_init(&h->hdr, APIR_FAB_HELLO, sizeof(*h), &gid, 0, 0, 0);
	CU_ASSERT_EQUAL(parse(sizeof(*h), &m), 0);
	CU_ASSERT_PTR_EQUAL(m.hdr, &h->hdr);
	h->hdr.dst_qpn = 5;
	CU_ASSERT_EQUAL(parse(sizeof(*h), &m), -EBADMSG);
	h->hdr.dst_qpn = 0;
	h->hdr.seq = 1;
	CU_ASSERT_EQUAL(parse(sizeof(*h), &m), -EBADMSG);
	h->hdr.seq = 0;
	h->reserved[47] = 1;
	CU_ASSERT_EQUAL(parse(sizeof(*h), &m), -EBADMSG);
	h->reserved[47] = 0;
	h->hdr.length = sizeof(h->hdr);
	CU_ASSERT_EQUAL(parse(sizeof(h->hdr), &m), -EBADMSG);
}

/* Random bytes must never pass as a message or crash the parser. */
static void test_garbage(void)
{
	struct fab_msg m;
	uint64_t x = 88172645463325252ull;

	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(x % sizeof(buf));

		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (uint8_t)x;
		}
		CU_ASSERT_EQUAL(parse(len, &m), -EBADMSG);
	}
}

static void test_status_mapping(void)
{
	CU_ASSERT_EQUAL(fab_status_to_wc(APIR_FAB_OK), IBV_WC_SUCCESS);
	CU_ASSERT_EQUAL(fab_status_to_wc(APIR_FAB_REM_ACCESS), IBV_WC_REM_ACCESS_ERR);
	CU_ASSERT_EQUAL(fab_status_to_wc(APIR_FAB_REM_INV_REQ), IBV_WC_REM_INV_REQ_ERR);
	CU_ASSERT_EQUAL(fab_status_to_wc(APIR_FAB_REM_OP), IBV_WC_REM_OP_ERR);
	CU_ASSERT_EQUAL(fab_status_to_wc(APIR_FAB_NO_QP), IBV_WC_RETRY_EXC_ERR);
	for (uint32_t s = APIR_FAB_OK; s < APIR_FAB_STATUS_COUNT; s++)
		if (s != APIR_FAB_RNR)
			CU_ASSERT_EQUAL(fab_status_from_wc(fab_status_to_wc(s)), s);
	CU_ASSERT_EQUAL(fab_status_from_wc(IBV_WC_LOC_LEN_ERR), APIR_FAB_REM_OP);
}

static CU_TestInfo tests[] = {
	{ "valid requests", test_valid_requests },
	{ "header checks", test_header_checks },
	{ "hostile requests", test_hostile_requests },
	{ "acks", test_acks },
	{ "datagrams", test_datagrams },
	{ "hello", test_hello },
	{ "garbage", test_garbage },
	{ "status mapping", test_status_mapping },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "fabric wire", tests })
