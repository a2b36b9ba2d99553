/* SPDX-License-Identifier: MIT */
/*
 * Validation of messages from peer apirds: every field is checked before
 * the engine reads any, so the rest of the engine can trust struct
 * fab_msg (sizes consistent with the bytes received, counts bounded,
 * enums known). What a field means for a QP (its state, keys, bounds) is
 * checked later against that QP.
 */
#include <errno.h>
#include <string.h>

#include "fabric.h"

#define REJECT(why_text)            \
	do {                        \
		*why = (why_text);  \
		return -EBADMSG;    \
	} while (0)

static bool opcode_known(uint32_t opcode)
{
	switch (opcode) {
	case IBV_WR_SEND:
	case IBV_WR_SEND_WITH_IMM:
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
	case IBV_WR_RDMA_READ:
	case IBV_WR_ATOMIC_CMP_AND_SWP:
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		return true;
	default:
		return false;
	}
}

static bool opcode_carries_data(uint32_t opcode)
{
	return opcode == IBV_WR_SEND || opcode == IBV_WR_SEND_WITH_IMM ||
	       opcode == IBV_WR_RDMA_WRITE || opcode == IBV_WR_RDMA_WRITE_WITH_IMM;
}

static bool opcode_is_atomic(uint32_t opcode)
{
	return opcode == IBV_WR_ATOMIC_CMP_AND_SWP || opcode == IBV_WR_ATOMIC_FETCH_AND_ADD;
}

/* Bulk and READ: segments covering exactly length bytes, none empty. */
static int check_segs(const struct apir_fab_seg *segs, uint32_t num, uint32_t length,
		      const char **why)
{
	uint64_t total = 0;

	if (num == 0 && length != 0)
		REJECT("request without payload or segments");
	for (uint32_t i = 0; i < num; i++) {
		if (segs[i].length == 0 || segs[i].reserved != 0)
			REJECT("empty segment or reserved field set");
		total += segs[i].length;
	}
	if (total != length)
		REJECT("segment lengths do not add up to the request's length");
	return 0;
}

static int parse_req(const uint8_t *buf, size_t len, struct fab_msg *m, const char **why)
{
	const struct apir_fab_req *r = (const void *)buf;
	size_t segs_len;

	if (len < sizeof(*r))
		REJECT("request shorter than its header");
	if (!opcode_known(r->opcode))
		REJECT("unknown opcode");
	if (r->qp_type != IBV_QPT_RC && r->qp_type != IBV_QPT_UC)
		REJECT("request for a QP type other than RC and UC");
	if (r->qp_type == IBV_QPT_UC && !opcode_carries_data(r->opcode))
		REJECT("READ or atomic on a UC QP");
	if (r->flags & ~APIR_FAB_REQ_FLAGS)
		REJECT("unknown request flags");
	if (r->length > APIR_FAB_MAX_LENGTH)
		REJECT("request longer than a message may be");
	if (r->num_segs > APIR_FAB_MAX_SEGS)
		REJECT("too many segments");
	segs_len = (size_t)r->num_segs * sizeof(struct apir_fab_seg);
	m->req = r;
	m->segs = (const void *)(buf + sizeof(*r));
	if (r->flags & APIR_FAB_REQ_EAGER) {
		if (!opcode_carries_data(r->opcode) || r->num_segs || r->length > APIR_FAB_EAGER_MAX)
			REJECT("eager request with segments, too much payload or no data opcode");
		if (len != sizeof(*r) + r->length)
			REJECT("eager payload length disagrees with the bytes received");
		m->payload = buf + sizeof(*r);
		m->payload_len = r->length;
		return 0;
	}
	if (len != sizeof(*r) + segs_len)
		REJECT("segment count disagrees with the bytes received");
	if (opcode_is_atomic(r->opcode)) {
		if (r->length != sizeof(uint64_t) || r->num_segs)
			REJECT("atomic request not of 8 bytes, or with segments");
		return 0;
	}
	return check_segs(m->segs, r->num_segs, r->length, why);
}

static int parse_ack(const uint8_t *buf, size_t len, struct fab_msg *m, const char **why)
{
	const struct apir_fab_ack *a = (const void *)buf;

	if (len != sizeof(*a))
		REJECT("ACK of the wrong size");
	if (a->status >= APIR_FAB_STATUS_COUNT)
		REJECT("unknown ACK status");
	if (a->rnr_timer > 31)
		REJECT("RNR timer out of range");
	m->ack = a;
	return 0;
}

static int parse_ud(const uint8_t *buf, size_t len, struct fab_msg *m, const char **why)
{
	const struct apir_fab_ud *u = (const void *)buf;

	if (len < sizeof(*u))
		REJECT("datagram shorter than its header");
	if (u->length > APIR_FAB_UD_MTU || len != sizeof(*u) + u->length)
		REJECT("datagram length wrong or above the MTU");
	if (u->flags & ~APIR_FAB_UD_FLAGS)
		REJECT("unknown datagram flags");
	if (u->flow_label > 0xfffff || u->sl > 15 || u->reserved)
		REJECT("datagram GRH fields out of range");
	m->ud = u;
	m->payload = buf + sizeof(*u);
	m->payload_len = u->length;
	return 0;
}

static int parse_hello(const uint8_t *buf, size_t len, const char **why)
{
	const struct apir_fab_hello *h = (const void *)buf;
	static const uint8_t zero[sizeof(h->reserved)];

	if (len != sizeof(*h))
		REJECT("hello of the wrong size");
	if (h->hdr.seq || h->hdr.src_qpn || h->hdr.dst_qpn ||
	    memcmp(h->reserved, zero, sizeof(zero)))
		REJECT("hello with QPNs, a sequence number or reserved bytes set");
	return 0;
}

int fab_msg_parse(const void *buf, size_t len, struct fab_msg *m, const char **why)
{
	const struct apir_fab_hdr *h = buf;

	memset(m, 0, sizeof(*m));
	if (len < sizeof(*h))
		REJECT("shorter than a header");
	if (h->magic != APIR_FAB_MAGIC)
		REJECT("bad magic");
	if (h->version != APIR_FAB_WIRE_VERSION)
		REJECT("unsupported wire version");
	if (h->length != len)
		REJECT("header length disagrees with the bytes received");
	if (h->src_qpn > 0xffffff || h->dst_qpn > 0xffffff)
		REJECT("QP number above 24 bits");
	m->hdr = h;
	switch (h->type) {
	case APIR_FAB_REQ:
		if (h->seq > FAB_SEQ_MASK)
			REJECT("sequence number above 24 bits");
		return parse_req(buf, len, m, why);
	case APIR_FAB_ACK:
		if (h->seq > FAB_SEQ_MASK)
			REJECT("sequence number above 24 bits");
		return parse_ack(buf, len, m, why);
	case APIR_FAB_UD:
		if (h->seq)
			REJECT("datagram with a sequence number");
		return parse_ud(buf, len, m, why);
	case APIR_FAB_HELLO:
		return parse_hello(buf, len, why);
	default:
		REJECT("unknown message type");
	}
}

void fab_hdr_init(struct apir_fab_hdr *h, enum apir_fab_type type, uint32_t length,
		  const union ibv_gid *src_gid, uint32_t src_qpn, uint32_t dst_qpn, uint32_t seq)
{
	h->magic = APIR_FAB_MAGIC;
	h->version = APIR_FAB_WIRE_VERSION;
	h->type = (uint16_t)type;
	h->length = length;
	h->src_qpn = src_qpn;
	h->dst_qpn = dst_qpn;
	h->seq = seq;
	memcpy(h->src_gid, src_gid->raw, sizeof(h->src_gid));
}

enum ibv_wc_status fab_status_to_wc(uint32_t status)
{
	switch (status) {
	case APIR_FAB_OK:
		return IBV_WC_SUCCESS;
	case APIR_FAB_RNR:
		return IBV_WC_RNR_RETRY_EXC_ERR;
	case APIR_FAB_REM_ACCESS:
		return IBV_WC_REM_ACCESS_ERR;
	case APIR_FAB_REM_INV_REQ:
		return IBV_WC_REM_INV_REQ_ERR;
	case APIR_FAB_REM_OP:
		return IBV_WC_REM_OP_ERR;
	default:
		return IBV_WC_RETRY_EXC_ERR;
	}
}

enum apir_fab_status fab_status_from_wc(enum ibv_wc_status status)
{
	switch (status) {
	case IBV_WC_SUCCESS:
		return APIR_FAB_OK;
	case IBV_WC_REM_ACCESS_ERR:
		return APIR_FAB_REM_ACCESS;
	case IBV_WC_REM_INV_REQ_ERR:
		return APIR_FAB_REM_INV_REQ;
	case IBV_WC_RETRY_EXC_ERR:
		return APIR_FAB_NO_QP;
	default:
		return APIR_FAB_REM_OP;
	}
}
