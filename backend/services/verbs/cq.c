/* SPDX-License-Identifier: MIT */
/*
 * Completion queues. apird creates the CQ ring (a sealed memfd) and gives
 * it to the frontend; the engine writes CQEs, the frontend polls them
 * without a round trip.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "handlers.h"

static int check_create_cq(struct apird_call *c, const Apir__CreateCq *m)
{
	if (m->cqe == 0 || m->cqe > APIRD_CQE_LIMIT)
		return apird_fail(c, EINVAL, "cqe %u is not in 1..%u", m->cqe, APIRD_CQE_LIMIT);
	if (m->comp_vector != 0)
		return apird_fail(c, EINVAL, "comp_vector %u: the device has one completion vector",
				  m->comp_vector);
	return 0;
}

static int cq_area_create(struct apird_call *c, const Apir__CreateCq *m, struct apird_cq *cq)
{
	size_t cqe_off;
	int rc;

	cq->area_len = apir_cq_layout(cq->num_entries, &cqe_off);
	rc = apird_ring_area_open(c, "apir-cq", cq->area_len, m->ring, m->n_ring, &cq->area);
	if (rc)
		return rc;
	cq->ctrl = cq->area;
	cq->cqes = (struct apir_cqe *)((uint8_t *)cq->area + cqe_off);
	cq->ctrl->ring.num_entries = cq->num_entries;
	cq->ctrl->ring.entry_size = sizeof(struct apir_cqe);
	return 0;
}

int apird_do_create_cq(struct apird_call *c)
{
	const Apir__CreateCq *m = c->req->create_cq;
	struct apird_comp_channel *ch = NULL;
	struct apird_cq *cq;
	int rc = check_create_cq(c, m);

	if (rc)
		return rc;
	if (m->has_channel) {
		ch = apird_call_object(c, &call_session(c)->channels, m->channel, "completion channel");
		if (!ch)
			return EINVAL;
	}
	cq = calloc(1, sizeof(*cq));
	if (!cq)
		return apird_fail(c, ENOMEM, "out of memory");
	cq->session = c->s;
	cq->channel = ch;
	cq->num_entries = apird_ring_entries(m->cqe);
	rc = cq_area_create(c, m, cq);
	if (rc) {
		free(cq);
		return rc;
	}
	cq->handle = apird_table_insert(&call_session(c)->cqs, cq);
	if (!cq->handle) {
		apird_ring_area_close(c->s, cq->area, cq->area_len);
		free(cq);
		return apird_fail(c, ENOMEM, "at most %u CQs per context", APIRD_MAX_CQ);
	}
	if (ch)
		ch->refs++;
	apir__create_cq_reply__init(&verbs_reply(c)->create_cq);
	verbs_reply(c)->create_cq.cq = cq->handle;
	verbs_reply(c)->create_cq.num_entries = cq->num_entries;
	verbs_reply(c)->create_cq.area_size = cq->area_len;
	c->resp.body_case = APIR__RESPONSE__BODY_CREATE_CQ;
	c->resp.create_cq = &verbs_reply(c)->create_cq;
	return 0;
}

int apird_do_destroy_cq(struct apird_call *c)
{
	uint32_t handle = c->req->destroy_cq->cq;
	struct apird_cq *cq = apird_call_object(c, &call_session(c)->cqs, handle, "CQ");

	if (!cq)
		return EINVAL;
	if (cq->refs)
		return apird_fail(c, EBUSY, "CQ %u is still used by %u QP queues", handle, cq->refs);
	apird_cq_destroy(c->s, cq);
	return 0;
}

void apird_cq_destroy(struct apird_session *s, struct apird_cq *cq)
{
	if (cq->channel)
		cq->channel->refs--;
	apird_ring_area_close(s, cq->area, cq->area_len);
	apird_table_remove(&verbs_session(s)->cqs, cq->handle);
	free(cq);
}
