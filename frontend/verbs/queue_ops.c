/* SPDX-License-Identifier: MIT */
/* Installs the CQ, QP and SRQ entry points of a new context. */
#include "queues.h"

void apir_queue_ops_init(struct verbs_context *vctx)
{
	struct ibv_context_ops *ops = &vctx->context.ops;

	ops->poll_cq = apir_poll_cq;
	ops->req_notify_cq = apir_req_notify_cq;
	ops->post_send = apir_post_send;
	ops->post_recv = apir_post_recv;
	ops->post_srq_recv = apir_post_srq_recv;
	vctx->create_cq_ex = apir_create_cq_ex;
	vctx->modify_cq = apir_modify_cq;
	vctx->create_qp_ex = apir_create_qp_ex;
	vctx->create_srq_ex = apir_create_srq_ex;
	vctx->get_srq_num = apir_get_srq_num;
}
