/* SPDX-License-Identifier: MIT */
/* The QP state machine: transitions and attr_mask rules per QP type. */
#include <string.h>

#include "qp_state.h"
#include "unit.h"

#define S IBV_QP_STATE
/* The masks perftest and ibv_rc_pingpong use (see notes/verbs-abi.md). */
#define RC_INIT (S | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS)
#define RC_RTR (S | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN | \
		IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER)
#define RC_RTS (S | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN | \
		IBV_QP_MAX_QP_RD_ATOMIC)

static bool ok(enum ibv_qp_type t, enum ibv_qp_state cur, enum ibv_qp_state next, uint32_t mask)
{
	return apird_qp_mask_ok(t, cur, next, mask, NULL, NULL);
}

static void test_perftest_masks(void)
{
	CU_ASSERT_EQUAL(RC_INIT, 0x39);
	CU_ASSERT_EQUAL(RC_RTR, 0x129181);
	CU_ASSERT_EQUAL(RC_RTS, 0x12e01);
	CU_ASSERT(ok(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_INIT, RC_INIT));
	CU_ASSERT(ok(IBV_QPT_RC, IBV_QPS_INIT, IBV_QPS_RTR, RC_RTR));
	CU_ASSERT(ok(IBV_QPT_RC, IBV_QPS_RTR, IBV_QPS_RTS, RC_RTS));
}

static void test_ud_uc(void)
{
	uint32_t ud_init = S | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY;
	uint32_t uc_rtr = S | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN;

	CU_ASSERT(ok(IBV_QPT_UD, IBV_QPS_RESET, IBV_QPS_INIT, ud_init));
	CU_ASSERT_FALSE(ok(IBV_QPT_UD, IBV_QPS_RESET, IBV_QPS_INIT, RC_INIT));
	CU_ASSERT(ok(IBV_QPT_UD, IBV_QPS_INIT, IBV_QPS_RTR, S));
	CU_ASSERT(ok(IBV_QPT_UD, IBV_QPS_INIT, IBV_QPS_RTR, S | IBV_QP_QKEY));
	CU_ASSERT_FALSE(ok(IBV_QPT_UD, IBV_QPS_INIT, IBV_QPS_RTR, S | IBV_QP_AV));
	CU_ASSERT(ok(IBV_QPT_UD, IBV_QPS_RTR, IBV_QPS_RTS, S | IBV_QP_SQ_PSN));
	CU_ASSERT_FALSE(ok(IBV_QPT_UD, IBV_QPS_RTR, IBV_QPS_RTS, S));
	CU_ASSERT(ok(IBV_QPT_UC, IBV_QPS_RESET, IBV_QPS_INIT, RC_INIT));
	CU_ASSERT(ok(IBV_QPT_UC, IBV_QPS_INIT, IBV_QPS_RTR, uc_rtr));
	CU_ASSERT_FALSE(ok(IBV_QPT_UC, IBV_QPS_INIT, IBV_QPS_RTR, RC_RTR));
	CU_ASSERT(ok(IBV_QPT_UC, IBV_QPS_RTR, IBV_QPS_RTS, S | IBV_QP_SQ_PSN));
	CU_ASSERT_FALSE(ok(IBV_QPT_UC, IBV_QPS_RTR, IBV_QPS_RTS, RC_RTS));
}

static void test_missing_and_extra(void)
{
	uint32_t missing = 0, extra = 0;

	CU_ASSERT_FALSE(apird_qp_mask_ok(IBV_QPT_RC, IBV_QPS_INIT, IBV_QPS_RTR,
					 RC_RTR & ~IBV_QP_MIN_RNR_TIMER, &missing, &extra));
	CU_ASSERT_EQUAL(missing, IBV_QP_MIN_RNR_TIMER);
	CU_ASSERT_EQUAL(extra, 0);
	CU_ASSERT_FALSE(apird_qp_mask_ok(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_INIT,
					 RC_INIT | IBV_QP_QKEY, &missing, &extra));
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(extra, IBV_QP_QKEY);
	CU_ASSERT_FALSE(apird_qp_mask_ok(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_RTS, RC_RTS, &missing,
					 &extra));
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(extra, 0);
	/* Bits no rule knows are never allowed. */
	CU_ASSERT_FALSE(ok(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_INIT, RC_INIT | (1u << 30)));
}

/* The expected transition matrix, independent of the mask rules. */
static bool transition_exists(enum ibv_qp_state cur, enum ibv_qp_state next)
{
	static const int pairs[][2] = {
		{ IBV_QPS_RESET, IBV_QPS_INIT }, { IBV_QPS_INIT, IBV_QPS_INIT },
		{ IBV_QPS_INIT, IBV_QPS_RTR },   { IBV_QPS_RTR, IBV_QPS_RTS },
		{ IBV_QPS_RTS, IBV_QPS_RTS },    { IBV_QPS_RTS, IBV_QPS_SQD },
		{ IBV_QPS_SQD, IBV_QPS_RTS },    { IBV_QPS_SQD, IBV_QPS_SQD },
		{ IBV_QPS_SQE, IBV_QPS_RTS },
	};

	if (next == IBV_QPS_RESET || next == IBV_QPS_ERR)
		return true;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (pairs[i][0] == (int)cur && pairs[i][1] == (int)next)
			return true;
	return false;
}

static void test_matrix(void)
{
	static const enum ibv_qp_type types[] = { IBV_QPT_RC, IBV_QPT_UC, IBV_QPT_UD };

	for (size_t t = 0; t < 3; t++)
		for (int cur = IBV_QPS_RESET; cur <= IBV_QPS_ERR; cur++)
			for (int next = IBV_QPS_RESET; next <= IBV_QPS_ERR; next++) {
				struct apird_qp_mask_rule r = apird_qp_mask_rule(types[t], cur, next);

				CU_ASSERT_EQUAL(r.valid, transition_exists(cur, next));
				CU_ASSERT_EQUAL(r.required & r.optional, 0);
				CU_ASSERT_EQUAL((r.required | r.optional) & IBV_QP_STATE, 0);
			}
}

static void test_reset_and_error(void)
{
	for (int cur = IBV_QPS_RESET; cur <= IBV_QPS_ERR; cur++) {
		CU_ASSERT(ok(IBV_QPT_RC, cur, IBV_QPS_ERR, S));
		CU_ASSERT(ok(IBV_QPT_UD, cur, IBV_QPS_RESET, S));
		CU_ASSERT_FALSE(ok(IBV_QPT_RC, cur, IBV_QPS_ERR, S | IBV_QP_PORT));
	}
}

static void test_cur_state(void)
{
	CU_ASSERT(ok(IBV_QPT_RC, IBV_QPS_RTR, IBV_QPS_RTS, RC_RTS | IBV_QP_CUR_STATE));
	CU_ASSERT(ok(IBV_QPT_RC, IBV_QPS_RTS, IBV_QPS_RTS, IBV_QP_CUR_STATE));
	CU_ASSERT(ok(IBV_QPT_UD, IBV_QPS_SQE, IBV_QPS_RTS, S | IBV_QP_CUR_STATE | IBV_QP_QKEY));
	CU_ASSERT(ok(IBV_QPT_UC, IBV_QPS_SQE, IBV_QPS_RTS, S | IBV_QP_CUR_STATE));
	CU_ASSERT_FALSE(ok(IBV_QPT_RC, IBV_QPS_SQE, IBV_QPS_RTS, S | IBV_QP_CUR_STATE));
	CU_ASSERT_FALSE(ok(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_INIT, RC_INIT | IBV_QP_CUR_STATE));
	CU_ASSERT_FALSE(ok(IBV_QPT_RC, IBV_QPS_INIT, IBV_QPS_RTR, RC_RTR | IBV_QP_CUR_STATE));
}

static void test_same_state_changes(void)
{
	/* No IBV_QP_STATE: attributes change within the current state. */
	CU_ASSERT(ok(IBV_QPT_RC, IBV_QPS_RTS, IBV_QPS_RTS, IBV_QP_MIN_RNR_TIMER));
	CU_ASSERT_FALSE(ok(IBV_QPT_RC, IBV_QPS_RTS, IBV_QPS_RTS, IBV_QP_TIMEOUT));
	CU_ASSERT(ok(IBV_QPT_RC, IBV_QPS_INIT, IBV_QPS_INIT, IBV_QP_ACCESS_FLAGS));
	CU_ASSERT(ok(IBV_QPT_RC, IBV_QPS_SQD, IBV_QPS_SQD, IBV_QP_AV | IBV_QP_TIMEOUT));
	CU_ASSERT_FALSE(ok(IBV_QPT_UD, IBV_QPS_SQD, IBV_QPS_SQD, IBV_QP_AV));
	CU_ASSERT(ok(IBV_QPT_RC, IBV_QPS_RTS, IBV_QPS_SQD, S | IBV_QP_EN_SQD_ASYNC_NOTIFY));
	CU_ASSERT(ok(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_RESET, S));
	CU_ASSERT(ok(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_RESET, 0));
	CU_ASSERT_FALSE(ok(IBV_QPT_RC, IBV_QPS_RTR, IBV_QPS_RTR, 0));
}

static void test_unknown_type_and_state(void)
{
	CU_ASSERT_FALSE(apird_qp_mask_rule(IBV_QPT_RAW_PACKET, IBV_QPS_RESET, IBV_QPS_INIT).valid);
	CU_ASSERT_FALSE(apird_qp_mask_rule(IBV_QPT_XRC_SEND, IBV_QPS_RESET, IBV_QPS_ERR).valid);
	CU_ASSERT_FALSE(apird_qp_mask_rule(IBV_QPT_RC, IBV_QPS_UNKNOWN, IBV_QPS_ERR).valid);
	CU_ASSERT_FALSE(apird_qp_mask_rule(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_UNKNOWN).valid);
	CU_ASSERT_FALSE(apird_qp_mask_rule(IBV_QPT_RC, (enum ibv_qp_state)99, IBV_QPS_ERR).valid);
	CU_ASSERT_FALSE(apird_qp_mask_rule(IBV_QPT_RC, (enum ibv_qp_state)-1, IBV_QPS_ERR).valid);
}

static void test_names(void)
{
	char buf[64], tiny[6];

	CU_ASSERT_STRING_EQUAL(apird_qp_state_name(IBV_QPS_RTS), "RTS");
	CU_ASSERT_STRING_EQUAL(apird_qp_state_name((enum ibv_qp_state)42), "?");
	CU_ASSERT_STRING_EQUAL(apird_qp_mask_names(IBV_QP_AV | IBV_QP_PATH_MTU, buf, sizeof(buf)),
			       "AV|PATH_MTU");
	CU_ASSERT_STRING_EQUAL(apird_qp_mask_names(0, buf, sizeof(buf)), "");
	CU_ASSERT_STRING_EQUAL(apird_qp_mask_names(IBV_QP_STATE | (1u << 31), buf, sizeof(buf)),
			       "STATE|0x80000000");
	CU_ASSERT_STRING_EQUAL(apird_qp_mask_names(RC_RTR, tiny, sizeof(tiny)), "STATE");
}

static CU_TestInfo qp_state_tests[] = {
	{ "perftest masks", test_perftest_masks },
	{ "UD and UC", test_ud_uc },
	{ "missing and extra bits", test_missing_and_extra },
	{ "transition matrix", test_matrix },
	{ "to RESET and ERR", test_reset_and_error },
	{ "CUR_STATE", test_cur_state },
	{ "same-state changes", test_same_state_changes },
	{ "unknown type and state", test_unknown_type_and_state },
	{ "names", test_names },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "qp_state", qp_state_tests })
