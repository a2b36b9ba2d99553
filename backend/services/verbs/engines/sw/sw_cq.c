/* SPDX-License-Identifier: MIT */
/*
 * Completion queue producer. apird owns prod; the frontend owns cons and
 * arming. A CQ that is full (or whose cons is impossible) loses the
 * completion: the frontend learns it from ctrl->overflow and one
 * IBV_EVENT_CQ_ERR, the QP whose completion was lost goes to ERR.
 */
#include <errno.h>
#include <string.h>

#include "apir/log.h"
#include "sw.h"

static void cq_overflow(struct apird_cq *cq)
{
	atomic_store_explicit(&cq->ctrl->overflow, 1, memory_order_release);
	if (cq->overflowed)
		return;
	cq->overflowed = true;
	apir_warn("cq %u overflowed: completion lost", cq->handle);
	apird_session_async_event(cq->session, IBV_EVENT_CQ_ERR, APIR_OBJ_CQ, cq->handle);
}

/*
 * The exchange is seq_cst: it must not be ordered before the store of prod,
 * or a frontend that arms and then polls once more could miss both the CQE
 * and the event. A solicited-only arm that this completion doesn't satisfy
 * is put back, unless the frontend re-armed in the meantime.
 */
static void cq_notify(struct apird_cq *cq, bool solicited)
{
	uint32_t armed = atomic_exchange_explicit(&cq->ctrl->armed, APIR_CQ_ARM_NONE,
						  memory_order_seq_cst);
	uint32_t none = APIR_CQ_ARM_NONE;

	if (armed == APIR_CQ_ARM_NEXT || (armed == APIR_CQ_ARM_SOLICITED && solicited)) {
		if (cq->channel)
			apird_channel_notify(cq->channel, cq->handle);
	} else if (armed == APIR_CQ_ARM_SOLICITED) {
		atomic_compare_exchange_strong(&cq->ctrl->armed, &none, APIR_CQ_ARM_SOLICITED);
	}
}

int sw_cq_push(struct apird_cq *cq, const struct apir_cqe *cqe, bool solicited)
{
	uint32_t cons = atomic_load_explicit(&cq->ctrl->ring.cons.value, memory_order_acquire);
	struct apir_cqe c = *cqe;

	if (cq->prod - cons >= cq->num_entries) {
		cq_overflow(cq);
		return -ENOSPC;
	}
	c.timestamp_ns = apird_now_ns();
	memcpy(&cq->cqes[cq->prod & (cq->num_entries - 1)], &c, sizeof(c));
	cq->prod++;
	atomic_store_explicit(&cq->ctrl->ring.prod.value, cq->prod, memory_order_release);
	cq_notify(cq, solicited || c.status != IBV_WC_SUCCESS);
	return 0;
}

void sw_complete(struct verbs_dev *d, struct apird_qp *qp, struct apird_cq *cq,
		 const struct apir_cqe *c, bool solicited)
{
	if (sw_cq_push(cq, c, solicited) == -ENOSPC)
		sw_qp_to_error(d, qp);
}
