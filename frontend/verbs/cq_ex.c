/* SPDX-License-Identifier: MIT */
/*
 * The ibv_cq_ex start_poll / next_poll / end_poll iterator and its read_*
 * accessors, over the same CQ ring as ibv_poll_cq.
 * The CQ lock is held from a successful start_poll to end_poll; entries are
 * consumed as they are returned and the consumer index is published once,
 * at end_poll.
 */
#include <errno.h>

#include "queues.h"

static inline void apir_cq_ex_take(struct apir_cq *cq)
{
	cq->cur = &cq->cqes[cq->cons & (cq->num_entries - 1)];
	cq->cons++;
	cq->cq_ex.status = (enum ibv_wc_status)cq->cur->status;
	cq->cq_ex.wr_id = cq->cur->wr_id;
}

static int apir_cq_ex_start_poll(struct ibv_cq_ex *ex, struct ibv_poll_cq_attr *attr)
{
	struct apir_cq *cq = to_acq_ex(ex);
	int ready, rc;

	if (attr->comp_mask)
		return EINVAL;
	pthread_spin_lock(&cq->lock);
	ready = apir_cq_ready(cq);
	if (ready > 0) {
		apir_cq_ex_take(cq);
		return 0;    /* lock held until end_poll */
	}
	rc = (ready < 0 || apir_cq_idle(cq)) ? EIO : ENOENT;
	pthread_spin_unlock(&cq->lock);
	return rc;
}

static int apir_cq_ex_next_poll(struct ibv_cq_ex *ex)
{
	struct apir_cq *cq = to_acq_ex(ex);
	int ready = apir_cq_ready(cq);

	if (ready > 0) {
		apir_cq_ex_take(cq);
		return 0;
	}
	return ready < 0 ? EIO : ENOENT;
}

static void apir_cq_ex_end_poll(struct ibv_cq_ex *ex)
{
	struct apir_cq *cq = to_acq_ex(ex);

	atomic_store_explicit(&cq->ctrl->ring.cons.value, cq->cons, memory_order_release);
	cq->cur = NULL;
	pthread_spin_unlock(&cq->lock);
}

static enum ibv_wc_opcode apir_cq_ex_read_opcode(struct ibv_cq_ex *ex)
{
	return (enum ibv_wc_opcode)to_acq_ex(ex)->cur->opcode;
}

static uint32_t apir_cq_ex_read_vendor_err(struct ibv_cq_ex *ex)
{
	return to_acq_ex(ex)->cur->vendor_err;
}

static uint32_t apir_cq_ex_read_byte_len(struct ibv_cq_ex *ex)
{
	return to_acq_ex(ex)->cur->byte_len;
}

static __be32 apir_cq_ex_read_imm_data(struct ibv_cq_ex *ex)
{
	return to_acq_ex(ex)->cur->imm_data;
}

static uint32_t apir_cq_ex_read_qp_num(struct ibv_cq_ex *ex)
{
	return to_acq_ex(ex)->cur->qp_num;
}

static uint32_t apir_cq_ex_read_src_qp(struct ibv_cq_ex *ex)
{
	return to_acq_ex(ex)->cur->src_qp;
}

static unsigned int apir_cq_ex_read_wc_flags(struct ibv_cq_ex *ex)
{
	return to_acq_ex(ex)->cur->wc_flags;
}

static uint32_t apir_cq_ex_read_slid(struct ibv_cq_ex *ex)
{
	return to_acq_ex(ex)->cur->slid;
}

static uint8_t apir_cq_ex_read_sl(struct ibv_cq_ex *ex)
{
	return to_acq_ex(ex)->cur->sl;
}

static uint8_t apir_cq_ex_read_dlid_path_bits(struct ibv_cq_ex *ex)
{
	return to_acq_ex(ex)->cur->dlid_path_bits;
}

/* apird stamps CQEs in nanoseconds; the device reports a 1 GHz core clock,
 * so a tick is a nanosecond. */
static uint64_t apir_cq_ex_read_completion_ts(struct ibv_cq_ex *ex)
{
	return to_acq_ex(ex)->cur->timestamp_ns;
}

void apir_cq_ex_ops_init(struct apir_cq *cq)
{
	struct ibv_cq_ex *ex = &cq->cq_ex;

	ex->start_poll = apir_cq_ex_start_poll;
	ex->next_poll = apir_cq_ex_next_poll;
	ex->end_poll = apir_cq_ex_end_poll;
	ex->read_opcode = apir_cq_ex_read_opcode;
	ex->read_vendor_err = apir_cq_ex_read_vendor_err;
	ex->read_byte_len = apir_cq_ex_read_byte_len;
	ex->read_imm_data = apir_cq_ex_read_imm_data;
	ex->read_qp_num = apir_cq_ex_read_qp_num;
	ex->read_src_qp = apir_cq_ex_read_src_qp;
	ex->read_wc_flags = apir_cq_ex_read_wc_flags;
	ex->read_slid = apir_cq_ex_read_slid;
	ex->read_sl = apir_cq_ex_read_sl;
	ex->read_dlid_path_bits = apir_cq_ex_read_dlid_path_bits;
	ex->read_completion_ts = apir_cq_ex_read_completion_ts;
}
