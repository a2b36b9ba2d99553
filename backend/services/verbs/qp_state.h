/* SPDX-License-Identifier: MIT */
/*
 * The InfiniBand QP state machine (IBA 1.4 chapter 10.3, as rdma-core's
 * ibv_modify_qp(3) and the kernel's ib_modify_qp_is_ok() apply it): which
 * transitions exist and which attr_mask bits each one requires or allows,
 * per QP type. Pure functions.
 */
#ifndef APIRD_QP_STATE_H
#define APIRD_QP_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include <infiniband/verbs.h>

struct apird_qp_mask_rule {
	bool valid;                  /* the transition exists */
	uint32_t required;           /* attr_mask bits that must be present */
	uint32_t optional;           /* bits that may be present (besides IBV_QP_STATE) */
};

/* The rule for cur -> next on a QP of this type (RC, UC or UD; any other
 * type or state yields an invalid rule). */
struct apird_qp_mask_rule apird_qp_mask_rule(enum ibv_qp_type type, enum ibv_qp_state cur,
					     enum ibv_qp_state next);

/* Whether attr_mask is acceptable for cur -> next. On failure *missing gets
 * the required bits absent and *extra the bits not allowed (either may be
 * NULL); an invalid transition reports neither. IBV_QP_CUR_STATE is only
 * allowed from RTR, RTS, SQD and SQE. */
bool apird_qp_mask_ok(enum ibv_qp_type type, enum ibv_qp_state cur, enum ibv_qp_state next,
		      uint32_t attr_mask, uint32_t *missing, uint32_t *extra);

/* "RESET", "INIT", ... or "?" */
const char *apird_qp_state_name(enum ibv_qp_state s);
/* Writes the names of the IBV_QP_* bits in mask ("AV|PATH_MTU"), or the
 * number in hex for unknown bits. Returns buf. */
char *apird_qp_mask_names(uint32_t mask, char *buf, size_t len);

#endif /* APIRD_QP_STATE_H */
