/* SPDX-License-Identifier: MIT */
/*
 * ibv_poll_cq: reads completions straight from the CQ ring apird fills.
 * Never a control call; no syscall while completions flow, only an
 * occasional one on a CQ that keeps coming up empty. Applications spin on
 * it millions of times a second.
 */
#include <errno.h>
#include <sched.h>

#include "queues.h"

/* Empty polls between two checks that apird is still there. */
#define APIR_CQ_LIVENESS_POLLS 4096u
/* Empty polls between two sched_yield()s. apird is a process too: when
 * applications that spin on empty CQs fill every core, a runnable apird
 * would wait a whole scheduler slice (milliseconds) for a core, and every
 * message with it. Yielding now and then hands it the core; with a core
 * to spare it is a cheap no-op. */
#define APIR_CQ_YIELD_POLLS 64u

_Static_assert((APIR_CQ_LIVENESS_POLLS & (APIR_CQ_LIVENESS_POLLS - 1)) == 0 &&
	       (APIR_CQ_YIELD_POLLS & (APIR_CQ_YIELD_POLLS - 1)) == 0, "cadences are masks");

int apir_cq_ready(struct apir_cq *cq)
{
	static atomic_bool logged;
	uint32_t prod = atomic_load_explicit(&cq->ctrl->ring.prod.value, memory_order_acquire);
	uint32_t ready = prod - cq->cons;

	if (ready <= cq->num_entries)
		return (int)ready;
	if (!atomic_exchange(&logged, true))
		apir_err("CQ %u: apird published producer index %u with consumer at %u",
			 cq->handle, prod, cq->cons);
	return -EIO;
}

int apir_cq_idle(struct apir_cq *cq)
{
	if ((++cq->empty_polls & (APIR_CQ_YIELD_POLLS - 1)) == 0)
		sched_yield();
	if (cq->empty_polls & (APIR_CQ_LIVENESS_POLLS - 1))
		return 0;
	return apir_session_dead(to_session(cq->cq_ex.context)) ? -EIO : 0;
}

static inline void apir_cqe_to_wc(const struct apir_cqe *e, struct ibv_wc *wc)
{
	wc->wr_id = e->wr_id;
	wc->status = (enum ibv_wc_status)e->status;
	wc->opcode = (enum ibv_wc_opcode)e->opcode;
	wc->vendor_err = e->vendor_err;
	wc->byte_len = e->byte_len;
	wc->imm_data = e->imm_data;
	wc->qp_num = e->qp_num;
	wc->src_qp = e->src_qp;
	wc->wc_flags = e->wc_flags;
	wc->pkey_index = e->pkey_index;
	wc->slid = e->slid;
	wc->sl = e->sl;
	wc->dlid_path_bits = e->dlid_path_bits;
}

int apir_poll_cq(struct ibv_cq *ibcq, int num_entries, struct ibv_wc *wc)
{
	struct apir_cq *cq = to_acq(ibcq);
	uint32_t mask = cq->num_entries - 1;
	int ready, n;

	pthread_spin_lock(&cq->lock);
	ready = apir_cq_ready(cq);
	if (ready == 0) {
		n = apir_cq_idle(cq);
	} else if (ready < 0) {
		n = ready;
	} else {
		n = ready < num_entries ? ready : num_entries;
		for (int i = 0; i < n; i++)
			apir_cqe_to_wc(&cq->cqes[(cq->cons + (uint32_t)i) & mask], &wc[i]);
		if (n > 0) {
			cq->cons += (uint32_t)n;
			atomic_store_explicit(&cq->ctrl->ring.cons.value, cq->cons, memory_order_release);
		}
	}
	pthread_spin_unlock(&cq->lock);
	return n;
}
