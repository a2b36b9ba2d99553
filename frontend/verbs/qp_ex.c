/* SPDX-License-Identifier: MIT */
/*
 * The ibv_wr_* interface of QPs created with IBV_QP_INIT_ATTR_SEND_OPS_FLAGS.
 * wr_start takes the SQ lock; each builder (wr_send, wr_rdma_write, ...)
 * opens the next SQ slot with qp_ex->wr_id / wr_flags as they are at that
 * call, the setters (wr_set_sge, wr_set_inline_data, wr_set_ud_addr) fill
 * the open slot, and wr_complete publishes the whole batch at once and
 * releases the lock. A failed builder or setter fails the batch:
 * wr_complete then posts nothing and returns the first error, like
 * wr_abort.
 */
#include <errno.h>

#include "queues.h"

static void apir_wr_fail(struct apir_qp *qp, int err)
{
	if (!qp->wr_err)
		qp->wr_err = err;
	qp->wr_cur = NULL;
}

static struct apir_send_wqe *apir_wr_begin(struct ibv_qp_ex *qpx, enum ibv_wr_opcode op)
{
	struct apir_qp *qp = to_aqp_ex(qpx);
	int err;

	if (qp->wr_err)
		return NULL;
	qp->wr_cur = apir_sq_begin(qp, op, qpx->wr_id, qpx->wr_flags, &err);
	if (!qp->wr_cur)
		apir_wr_fail(qp, err);
	return qp->wr_cur;
}

/* The slot the last builder opened; a setter without one fails the batch. */
static struct apir_send_wqe *apir_wr_open(struct apir_qp *qp)
{
	if (!qp->wr_cur)
		apir_wr_fail(qp, EINVAL);
	return qp->wr_cur;
}

static inline void apir_wqe_set_remote(struct apir_send_wqe *wqe, uint32_t rkey, uint64_t addr)
{
	wqe->rkey = rkey;
	wqe->remote_addr = addr;
}

/* ---- builders ------------------------------------------------------------ */

static void apir_wr_send(struct ibv_qp_ex *qpx)
{
	apir_wr_begin(qpx, IBV_WR_SEND);
}

static void apir_wr_send_imm(struct ibv_qp_ex *qpx, __be32 imm_data)
{
	struct apir_send_wqe *wqe = apir_wr_begin(qpx, IBV_WR_SEND_WITH_IMM);

	if (wqe)
		wqe->imm_data = imm_data;
}

static void apir_wr_rdma_write(struct ibv_qp_ex *qpx, uint32_t rkey, uint64_t remote_addr)
{
	struct apir_send_wqe *wqe = apir_wr_begin(qpx, IBV_WR_RDMA_WRITE);

	if (wqe)
		apir_wqe_set_remote(wqe, rkey, remote_addr);
}

static void apir_wr_rdma_write_imm(struct ibv_qp_ex *qpx, uint32_t rkey, uint64_t remote_addr,
				   __be32 imm_data)
{
	struct apir_send_wqe *wqe = apir_wr_begin(qpx, IBV_WR_RDMA_WRITE_WITH_IMM);

	if (wqe) {
		apir_wqe_set_remote(wqe, rkey, remote_addr);
		wqe->imm_data = imm_data;
	}
}

static void apir_wr_rdma_read(struct ibv_qp_ex *qpx, uint32_t rkey, uint64_t remote_addr)
{
	struct apir_send_wqe *wqe = apir_wr_begin(qpx, IBV_WR_RDMA_READ);

	if (wqe)
		apir_wqe_set_remote(wqe, rkey, remote_addr);
}

static void apir_wr_atomic_cmp_swp(struct ibv_qp_ex *qpx, uint32_t rkey, uint64_t remote_addr,
				   uint64_t compare, uint64_t swap)
{
	struct apir_send_wqe *wqe = apir_wr_begin(qpx, IBV_WR_ATOMIC_CMP_AND_SWP);

	if (wqe) {
		apir_wqe_set_remote(wqe, rkey, remote_addr);
		wqe->compare_add = compare;
		wqe->swap = swap;
	}
}

static void apir_wr_atomic_fetch_add(struct ibv_qp_ex *qpx, uint32_t rkey, uint64_t remote_addr,
				     uint64_t add)
{
	struct apir_send_wqe *wqe = apir_wr_begin(qpx, IBV_WR_ATOMIC_FETCH_AND_ADD);

	if (wqe) {
		apir_wqe_set_remote(wqe, rkey, remote_addr);
		wqe->compare_add = add;
	}
}

/* ---- setters ------------------------------------------------------------- */

static void apir_wr_set_sge_list(struct ibv_qp_ex *qpx, size_t num_sge,
				 const struct ibv_sge *sg_list)
{
	struct apir_qp *qp = to_aqp_ex(qpx);
	struct apir_send_wqe *wqe = apir_wr_open(qp);
	int err;

	if (!wqe)
		return;
	err = apir_sq_set_sges(qp, wqe, sg_list, num_sge);
	if (err)
		apir_wr_fail(qp, err);
}

static void apir_wr_set_sge(struct ibv_qp_ex *qpx, uint32_t lkey, uint64_t addr, uint32_t length)
{
	const struct ibv_sge sge = { .addr = addr, .length = length, .lkey = lkey };

	apir_wr_set_sge_list(qpx, 1, &sge);
}

static void apir_wr_set_inline_data_list(struct ibv_qp_ex *qpx, size_t num_buf,
					 const struct ibv_data_buf *buf_list)
{
	struct apir_qp *qp = to_aqp_ex(qpx);
	struct apir_send_wqe *wqe = apir_wr_open(qp);
	int err;

	if (!wqe)
		return;
	err = apir_sq_inline_begin(wqe);
	for (size_t i = 0; !err && i < num_buf; i++)
		err = apir_sq_inline_add(qp, wqe, buf_list[i].addr, buf_list[i].length);
	if (err)
		apir_wr_fail(qp, err);
}

static void apir_wr_set_inline_data(struct ibv_qp_ex *qpx, void *addr, size_t length)
{
	const struct ibv_data_buf buf = { .addr = addr, .length = length };

	apir_wr_set_inline_data_list(qpx, 1, &buf);
}

static void apir_wr_set_ud_addr(struct ibv_qp_ex *qpx, struct ibv_ah *ah, uint32_t remote_qpn,
				uint32_t remote_qkey)
{
	struct apir_qp *qp = to_aqp_ex(qpx);
	struct apir_send_wqe *wqe = apir_wr_open(qp);
	int err;

	if (!wqe)
		return;
	err = apir_sq_set_ud(qp, wqe, ah, remote_qpn, remote_qkey);
	if (err)
		apir_wr_fail(qp, err);
}

/* ---- batch --------------------------------------------------------------- */

static void apir_wr_start(struct ibv_qp_ex *qpx)
{
	struct apir_qp *qp = to_aqp_ex(qpx);

	pthread_spin_lock(&qp->sq_lock);
	qp->wr_start_prod = qp->sq_prod;
	qp->wr_cur = NULL;
	qp->wr_err = 0;
}

static int apir_wr_complete(struct ibv_qp_ex *qpx)
{
	struct apir_qp *qp = to_aqp_ex(qpx);
	int err = qp->wr_err;

	if (err)
		qp->sq_prod = qp->wr_start_prod;   /* nothing of the batch was published */
	else if (qp->sq_prod != qp->wr_start_prod)
		apir_sq_publish(qp);
	qp->wr_cur = NULL;
	pthread_spin_unlock(&qp->sq_lock);
	return err;
}

static void apir_wr_abort(struct ibv_qp_ex *qpx)
{
	struct apir_qp *qp = to_aqp_ex(qpx);

	qp->sq_prod = qp->wr_start_prod;
	qp->wr_cur = NULL;
	pthread_spin_unlock(&qp->sq_lock);
}

/* Builders for operations outside apir_qp_send_ops() stay NULL: a QP that
 * asked for them was refused at creation. */
void apir_qp_ex_ops_init(struct apir_qp *qp)
{
	struct ibv_qp_ex *x = &qp->qp_ex;

	x->wr_send = apir_wr_send;
	x->wr_send_imm = apir_wr_send_imm;
	x->wr_rdma_write = apir_wr_rdma_write;
	x->wr_rdma_write_imm = apir_wr_rdma_write_imm;
	x->wr_rdma_read = apir_wr_rdma_read;
	x->wr_atomic_cmp_swp = apir_wr_atomic_cmp_swp;
	x->wr_atomic_fetch_add = apir_wr_atomic_fetch_add;
	x->wr_set_sge = apir_wr_set_sge;
	x->wr_set_sge_list = apir_wr_set_sge_list;
	x->wr_set_inline_data = apir_wr_set_inline_data;
	x->wr_set_inline_data_list = apir_wr_set_inline_data_list;
	x->wr_set_ud_addr = apir_wr_set_ud_addr;
	x->wr_start = apir_wr_start;
	x->wr_complete = apir_wr_complete;
	x->wr_abort = apir_wr_abort;
}
