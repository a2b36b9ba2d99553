/* SPDX-License-Identifier: MIT */
/*
 * The input format of fuzz_data_plane: a sequence of operations, each an
 * op byte and its operand. Bits 0-1 of the op byte: what (below); bit 2:
 * which QP (0 or 1); bits 3-7: for FUZZ_OP_RUN, engine turns - 1.
 */
#ifndef APIR_FUZZ_DATA_PLANE_H
#define APIR_FUZZ_DATA_PLANE_H

enum fuzz_op {
	FUZZ_OP_SEND = 0,        /* + struct apir_send_wqe: into the QP's send queue */
	FUZZ_OP_RECV = 1,        /* + struct apir_recv_wqe: into its receive queue */
	FUZZ_OP_LIE = 2,         /* + uint32_t: its send queue's producer index */
	FUZZ_OP_RUN = 3,         /* the engine runs; the frontend takes every completion */
};

#define FUZZ_OP(what, qp, turns) ((uint8_t)((what) | (qp) << 2 | ((turns) - 1) << 3))
#define FUZZ_MR_LEN (64u * 1024u)
/* Keys below FUZZ_KEY_CHOICES stand for: the MR's lkey, its rkey, 0, a
 * stale key; addresses below 2 x FUZZ_MR_LEN are offsets from the MR. */
#define FUZZ_KEY_CHOICES 4u
#define FUZZ_LKEY 0u
#define FUZZ_RKEY 1u

#endif /* APIR_FUZZ_DATA_PLANE_H */
