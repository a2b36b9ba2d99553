/* SPDX-License-Identifier: MIT */
/*
 * QP attributes between the wire (Apir__QpAttr, every field a uint32) and
 * struct ibv_qp_attr. Every field named in attr_mask is range-checked
 * before it is stored; fields outside the mask are ignored, as
 * ibv_modify_qp(3) specifies.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "apir/ah_attr.h"
#include "handlers.h"
#include "qp_state.h"

#define QP_ACCESS_ALLOWED (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			   IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)
#define PSN_MASK 0xffffffu
/* Alternate paths and path migration need a second port. */
#define QP_MASK_UNSUPPORTED (IBV_QP_ALT_PATH | IBV_QP_CAP | IBV_QP_RATE_LIMIT)

/* A scalar attribute: where it is on the wire and in ibv_qp_attr, and the
 * values IBA allows (or this device supports). */
struct qp_attr_field {
	uint32_t bit;
	const char *name;
	size_t msg_off;
	size_t attr_off;
	size_t attr_size;
	uint32_t lo, hi;
};

#define FIELD(bit, f, lo, hi)                                                            \
	{ bit, #f, offsetof(Apir__QpAttr, f), offsetof(struct ibv_qp_attr, f),          \
	  sizeof(((struct ibv_qp_attr *)0)->f), lo, hi }

static const struct qp_attr_field qp_attr_fields[] = {
	FIELD(IBV_QP_STATE, qp_state, IBV_QPS_RESET, IBV_QPS_ERR),
	FIELD(IBV_QP_CUR_STATE, cur_qp_state, IBV_QPS_RESET, IBV_QPS_ERR),
	FIELD(IBV_QP_EN_SQD_ASYNC_NOTIFY, en_sqd_async_notify, 0, 1),
	FIELD(IBV_QP_ACCESS_FLAGS, qp_access_flags, 0, UINT32_MAX), /* bits: check_field() */
	FIELD(IBV_QP_PKEY_INDEX, pkey_index, 0, 0),
	FIELD(IBV_QP_PORT, port_num, APIRD_PORT_NUM, APIRD_PORT_NUM),
	FIELD(IBV_QP_QKEY, qkey, 0, UINT32_MAX),
	FIELD(IBV_QP_PATH_MTU, path_mtu, IBV_MTU_256, IBV_MTU_4096),
	FIELD(IBV_QP_TIMEOUT, timeout, 0, 31),
	FIELD(IBV_QP_RETRY_CNT, retry_cnt, 0, 7),
	FIELD(IBV_QP_RNR_RETRY, rnr_retry, 0, 7),
	FIELD(IBV_QP_RQ_PSN, rq_psn, 0, UINT32_MAX),
	FIELD(IBV_QP_MAX_QP_RD_ATOMIC, max_rd_atomic, 0, APIRD_MAX_QP_RD_ATOM),
	FIELD(IBV_QP_MIN_RNR_TIMER, min_rnr_timer, 0, 31),
	FIELD(IBV_QP_SQ_PSN, sq_psn, 0, UINT32_MAX),
	FIELD(IBV_QP_MAX_DEST_RD_ATOMIC, max_dest_rd_atomic, 0, APIRD_MAX_QP_RD_ATOM),
	FIELD(IBV_QP_PATH_MIG_STATE, path_mig_state, IBV_MIG_MIGRATED, IBV_MIG_MIGRATED),
	FIELD(IBV_QP_DEST_QPN, dest_qp_num, 0, 0xffffff),
};

#define NUM_FIELDS (sizeof(qp_attr_fields) / sizeof(qp_attr_fields[0]))

static uint32_t msg_value(const Apir__QpAttr *m, const struct qp_attr_field *f)
{
	uint32_t v;

	memcpy(&v, (const char *)m + f->msg_off, sizeof(v));
	return v;
}

/* ibv_qp_attr fields are uint8_t, uint16_t, uint32_t or enums. */
static void attr_set(struct ibv_qp_attr *a, const struct qp_attr_field *f, uint32_t v)
{
	char *p = (char *)a + f->attr_off;
	uint8_t v8 = (uint8_t)v;
	uint16_t v16 = (uint16_t)v;

	if (f->attr_size == 1)
		memcpy(p, &v8, 1);
	else if (f->attr_size == 2)
		memcpy(p, &v16, 2);
	else
		memcpy(p, &v, 4);
}

static uint32_t attr_get(const struct ibv_qp_attr *a, const struct qp_attr_field *f)
{
	const char *p = (const char *)a + f->attr_off;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;

	if (f->attr_size == 1) {
		memcpy(&v8, p, 1);
		return v8;
	}
	if (f->attr_size == 2) {
		memcpy(&v16, p, 2);
		return v16;
	}
	memcpy(&v32, p, 4);
	return v32;
}

static int check_field(struct apird_call *c, const struct qp_attr_field *f, uint32_t v)
{
	if (f->bit == IBV_QP_ACCESS_FLAGS) {
		if (v & ~(uint32_t)QP_ACCESS_ALLOWED)
			return apird_fail(c, EINVAL, "qp_access_flags 0x%x: unknown bits 0x%x", v,
					  v & ~(uint32_t)QP_ACCESS_ALLOWED);
		return 0;
	}
	if (f->bit == IBV_QP_PATH_MIG_STATE && v != IBV_MIG_MIGRATED)
		return apird_fail(c, EOPNOTSUPP, "path_mig_state %u: path migration is not supported",
				  v);
	if (v < f->lo || v > f->hi)
		return apird_fail(c, EINVAL, "%s %u is out of range %u..%u", f->name, v, f->lo, f->hi);
	return 0;
}

static int check_cur_state(struct apird_call *c, const struct apird_qp *qp, uint32_t cur)
{
	if (cur != (uint32_t)qp->state)
		return apird_fail(c, EINVAL, "cur_qp_state %s does not match QP %u's state %s",
				  apird_qp_state_name((enum ibv_qp_state)cur), qp->handle,
				  apird_qp_state_name(qp->state));
	return 0;
}

int apird_qp_attr_from_msg(struct apird_call *c, const struct apird_qp *qp,
			   const Apir__QpAttr *m, uint32_t attr_mask, struct ibv_qp_attr *attr)
{
	char names[128];
	int rc;

	memset(attr, 0, sizeof(*attr));
	if (attr_mask & QP_MASK_UNSUPPORTED)
		return apird_fail(c, EOPNOTSUPP, "attr_mask %s: not supported (one port, no "
				  "alternate path, no resizing, no rate limit)",
				  apird_qp_mask_names(attr_mask & QP_MASK_UNSUPPORTED, names,
						      sizeof(names)));
	if (!m)
		return attr_mask ? apird_fail(c, EINVAL, "attr_mask 0x%x without attributes",
					      attr_mask) : 0;
	for (size_t i = 0; i < NUM_FIELDS; i++) {
		const struct qp_attr_field *f = &qp_attr_fields[i];

		if (!(attr_mask & f->bit))
			continue;
		rc = check_field(c, f, msg_value(m, f));
		if (rc)
			return rc;
		attr_set(attr, f, msg_value(m, f));
	}
	if (attr_mask & IBV_QP_CUR_STATE) {
		rc = check_cur_state(c, qp, m->cur_qp_state);
		if (rc)
			return rc;
	}
	/* As the kernel does: PSNs are 24 bits, higher bits are dropped. */
	attr->rq_psn &= PSN_MASK;
	attr->sq_psn &= PSN_MASK;
	if (attr_mask & IBV_QP_AV)
		return apird_av_from_msg(c, m->ah_attr, &attr->ah_attr);
	return 0;
}

void apird_qp_attr_store(struct apird_qp *qp, const struct ibv_qp_attr *attr, uint32_t attr_mask)
{
	for (size_t i = 0; i < NUM_FIELDS; i++)
		if (attr_mask & qp_attr_fields[i].bit)
			attr_set(&qp->attr, &qp_attr_fields[i], attr_get(attr, &qp_attr_fields[i]));
	if (attr_mask & IBV_QP_AV)
		qp->attr.ah_attr = attr->ah_attr;
}

void apird_qp_cap_to_msg(const struct ibv_qp_cap *cap, Apir__QpCap *m)
{
	apir__qp_cap__init(m);
	m->max_send_wr = cap->max_send_wr;
	m->max_recv_wr = cap->max_recv_wr;
	m->max_send_sge = cap->max_send_sge;
	m->max_recv_sge = cap->max_recv_sge;
	m->max_inline_data = cap->max_inline_data;
}

void apird_qp_attr_to_msg(const struct apird_qp *qp, Apir__QpAttr *m, Apir__QpCap *cap,
			  Apir__AhAttr *ah, Apir__AhAttr *alt_ah)
{
	apir__qp_attr__init(m);
	for (size_t i = 0; i < NUM_FIELDS; i++) {
		uint32_t v = attr_get(&qp->attr, &qp_attr_fields[i]);

		memcpy((char *)m + qp_attr_fields[i].msg_off, &v, sizeof(v));
	}
	m->qp_state = qp->state;
	m->cur_qp_state = qp->state;
	apird_qp_cap_to_msg(&qp->cap, cap);
	m->cap = cap;
	apir_ah_attr_to_msg(&qp->attr.ah_attr, ah);
	m->ah_attr = ah;
	apir__ah_attr__init(alt_ah);
	m->alt_ah_attr = alt_ah;
}
