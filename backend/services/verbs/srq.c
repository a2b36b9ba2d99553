/* SPDX-License-Identifier: MIT */
/* Shared receive queues: a ring apird creates, numbered daemon-wide. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "handlers.h"

static int check_create_srq(struct apird_call *c, const Apir__CreateSrq *m)
{
	if (m->max_wr == 0 || m->max_wr > APIRD_MAX_SRQ_WR)
		return apird_fail(c, EINVAL, "max_wr %u is not in 1..%u", m->max_wr, APIRD_MAX_SRQ_WR);
	if (m->max_sge > APIR_MAX_SGE)
		return apird_fail(c, EINVAL, "max_sge %u exceeds %u", m->max_sge, APIR_MAX_SGE);
	if (m->srq_limit > m->max_wr)
		return apird_fail(c, EINVAL, "srq_limit %u exceeds max_wr %u", m->srq_limit, m->max_wr);
	return 0;
}

static int srq_area_create(struct apird_call *c, const Apir__CreateSrq *m, struct apird_srq *srq)
{
	size_t wqe_off;
	int rc;

	srq->area_len = apir_srq_layout(srq->num_entries, &wqe_off);
	rc = apird_ring_area_open(c, "apir-srq", srq->area_len, m->ring, m->n_ring, &srq->area);
	if (rc)
		return rc;
	srq->ctrl = srq->area;
	srq->wqes = (struct apir_recv_wqe *)((uint8_t *)srq->area + wqe_off);
	srq->ctrl->ring.num_entries = srq->num_entries;
	srq->ctrl->ring.entry_size = sizeof(struct apir_recv_wqe);
	return 0;
}

static void reply_create_srq(struct apird_call *c, const struct apird_srq *srq)
{
	Apir__CreateSrqReply *r = &verbs_reply(c)->create_srq;

	apir__create_srq_reply__init(r);
	r->srq = srq->handle;
	r->num_entries = srq->num_entries;
	r->max_wr = srq->max_wr;
	r->max_sge = srq->max_sge;
	r->srq_num = srq->srq_num;
	r->area_size = srq->area_len;
	c->resp.body_case = APIR__RESPONSE__BODY_CREATE_SRQ;
	c->resp.create_srq = r;
}

int apird_do_create_srq(struct apird_call *c)
{
	const Apir__CreateSrq *m = c->req->create_srq;
	struct apird_pd *pd = apird_call_object(c, &call_session(c)->pds, m->pd, "PD");
	struct apird_srq *srq;
	int rc;

	if (!pd)
		return EINVAL;
	rc = check_create_srq(c, m);
	if (rc)
		return rc;
	srq = calloc(1, sizeof(*srq));
	if (!srq)
		return apird_fail(c, ENOMEM, "out of memory");
	srq->session = c->s;
	srq->pd = pd;
	srq->num_entries = apird_ring_entries(m->max_wr);
	srq->max_wr = srq->num_entries;
	srq->max_sge = m->max_sge;
	srq->srq_limit = m->srq_limit;
	rc = srq_area_create(c, m, srq);
	if (rc)
		goto fail;
	if (apird_srqn_assign(call_dev(c), srq)) {
		rc = apird_fail(c, ENOMEM, "no SRQ number available");
		goto fail_area;
	}
	srq->handle = apird_table_insert(&call_session(c)->srqs, srq);
	if (!srq->handle) {
		rc = apird_fail(c, ENOMEM, "at most %u SRQs per context", APIRD_MAX_SRQ);
		goto fail_number;
	}
	pd->refs++;
	reply_create_srq(c, srq);
	return 0;
fail_number:
	apird_srqn_release(call_dev(c), srq);
fail_area:
	apird_ring_area_close(c->s, srq->area, srq->area_len);
fail:
	free(srq);
	return rc;
}

/* Resizing (IBV_SRQ_MAX_WR) would need a new ring; the device does not
 * claim IBV_DEVICE_SRQ_RESIZE. */
int apird_do_modify_srq(struct apird_call *c)
{
	const Apir__ModifySrq *m = c->req->modify_srq;
	struct apird_srq *srq = apird_call_object(c, &call_session(c)->srqs, m->srq, "SRQ");

	if (!srq)
		return EINVAL;
	if (m->attr_mask & ~(uint32_t)(IBV_SRQ_MAX_WR | IBV_SRQ_LIMIT))
		return apird_fail(c, EINVAL, "unknown SRQ attr_mask bits 0x%x",
				  m->attr_mask & ~(uint32_t)(IBV_SRQ_MAX_WR | IBV_SRQ_LIMIT));
	if (m->attr_mask & IBV_SRQ_MAX_WR)
		return apird_fail(c, EOPNOTSUPP, "SRQ resizing is not supported");
	if ((m->attr_mask & IBV_SRQ_LIMIT) && m->srq_limit > srq->max_wr)
		return apird_fail(c, EINVAL, "srq_limit %u exceeds max_wr %u", m->srq_limit,
				  srq->max_wr);
	if (m->attr_mask & IBV_SRQ_LIMIT)
		srq->srq_limit = m->srq_limit;
	return 0;
}

int apird_do_query_srq(struct apird_call *c)
{
	struct apird_srq *srq = apird_call_object(c, &call_session(c)->srqs, c->req->query_srq->srq, "SRQ");
	Apir__SrqAttr *a = &verbs_reply(c)->srq_attr;

	if (!srq)
		return EINVAL;
	apir__srq_attr__init(a);
	a->max_wr = srq->max_wr;
	a->max_sge = srq->max_sge;
	a->srq_limit = srq->srq_limit;
	c->resp.body_case = APIR__RESPONSE__BODY_SRQ_ATTR;
	c->resp.srq_attr = a;
	return 0;
}

int apird_do_destroy_srq(struct apird_call *c)
{
	uint32_t handle = c->req->destroy_srq->srq;
	struct apird_srq *srq = apird_call_object(c, &call_session(c)->srqs, handle, "SRQ");

	if (!srq)
		return EINVAL;
	if (srq->refs)
		return apird_fail(c, EBUSY, "SRQ %u is still used by %u QPs", handle, srq->refs);
	apird_srq_destroy(c->s, srq);
	return 0;
}

void apird_srq_destroy(struct apird_session *s, struct apird_srq *srq)
{
	apird_srqn_release(verbs_dev_of(s), srq);
	apird_ring_area_close(s, srq->area, srq->area_len);
	srq->pd->refs--;
	apird_table_remove(&verbs_session(s)->srqs, srq->handle);
	free(srq);
}
