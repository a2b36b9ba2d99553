/* SPDX-License-Identifier: MIT */
#include "qp_state.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { T_RC, T_UC, T_UD, T_COUNT };

struct transition {
	enum ibv_qp_state from, to;
	uint32_t required[T_COUNT];
	uint32_t optional[T_COUNT];
};

#define INIT_ATTRS_CONNECTED (IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS)
#define INIT_ATTRS_UD (IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY)
/* What may change when (re)entering RTS from RTR or SQD. */
#define TO_RTS_OPT_RC (IBV_QP_CUR_STATE | IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS | \
		       IBV_QP_MIN_RNR_TIMER | IBV_QP_PATH_MIG_STATE)
#define TO_RTS_OPT_UC (IBV_QP_CUR_STATE | IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS | \
		       IBV_QP_PATH_MIG_STATE)
#define TO_RTS_OPT_UD (IBV_QP_CUR_STATE | IBV_QP_QKEY)

/* Every transition besides "to RESET" and "to ERR", which exist from every
 * state and take no attribute but the state. */
static const struct transition transitions[] = {
	{ IBV_QPS_RESET, IBV_QPS_INIT,
	  .required = { INIT_ATTRS_CONNECTED, INIT_ATTRS_CONNECTED, INIT_ATTRS_UD } },
	{ IBV_QPS_INIT, IBV_QPS_INIT,
	  .optional = { INIT_ATTRS_CONNECTED, INIT_ATTRS_CONNECTED, INIT_ATTRS_UD } },
	{ IBV_QPS_INIT, IBV_QPS_RTR,
	  .required = {
		  [T_RC] = IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			   IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER,
		  [T_UC] = IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN,
	  },
	  .optional = {
		  [T_RC] = IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS | IBV_QP_PKEY_INDEX,
		  [T_UC] = IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS | IBV_QP_PKEY_INDEX,
		  [T_UD] = IBV_QP_PKEY_INDEX | IBV_QP_QKEY,
	  } },
	{ IBV_QPS_RTR, IBV_QPS_RTS,
	  .required = {
		  [T_RC] = IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			   IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC,
		  [T_UC] = IBV_QP_SQ_PSN,
		  [T_UD] = IBV_QP_SQ_PSN,
	  },
	  .optional = { TO_RTS_OPT_RC, TO_RTS_OPT_UC, TO_RTS_OPT_UD } },
	{ IBV_QPS_RTS, IBV_QPS_RTS,
	  .optional = { TO_RTS_OPT_RC, TO_RTS_OPT_UC, TO_RTS_OPT_UD } },
	{ IBV_QPS_RTS, IBV_QPS_SQD,
	  .optional = { IBV_QP_EN_SQD_ASYNC_NOTIFY, IBV_QP_EN_SQD_ASYNC_NOTIFY,
			IBV_QP_EN_SQD_ASYNC_NOTIFY } },
	{ IBV_QPS_SQD, IBV_QPS_RTS,
	  .optional = { TO_RTS_OPT_RC, TO_RTS_OPT_UC, TO_RTS_OPT_UD } },
	{ IBV_QPS_SQD, IBV_QPS_SQD,
	  .optional = {
		  [T_RC] = IBV_QP_PORT | IBV_QP_AV | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
			   IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC |
			   IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS |
			   IBV_QP_PKEY_INDEX | IBV_QP_MIN_RNR_TIMER | IBV_QP_PATH_MIG_STATE,
		  [T_UC] = IBV_QP_AV | IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS |
			   IBV_QP_PKEY_INDEX | IBV_QP_PATH_MIG_STATE,
		  [T_UD] = IBV_QP_PKEY_INDEX | IBV_QP_QKEY,
	  } },
	/* Only UD and UC QPs enter SQE; an RC QP goes to ERR instead. */
	{ IBV_QPS_SQE, IBV_QPS_RTS,
	  .optional = {
		  [T_UC] = IBV_QP_CUR_STATE | IBV_QP_ACCESS_FLAGS,
		  [T_UD] = IBV_QP_CUR_STATE | IBV_QP_QKEY,
	  } },
};

static int type_index(enum ibv_qp_type type)
{
	switch (type) {
	case IBV_QPT_RC:
		return T_RC;
	case IBV_QPT_UC:
		return T_UC;
	case IBV_QPT_UD:
		return T_UD;
	default:
		return -1;
	}
}

static bool state_known(enum ibv_qp_state s)
{
	return s >= IBV_QPS_RESET && s <= IBV_QPS_ERR;
}

struct apird_qp_mask_rule apird_qp_mask_rule(enum ibv_qp_type type, enum ibv_qp_state cur,
					     enum ibv_qp_state next)
{
	struct apird_qp_mask_rule rule = { .valid = false };
	int t = type_index(type);

	if (t < 0 || !state_known(cur) || !state_known(next))
		return rule;
	if (next == IBV_QPS_RESET || next == IBV_QPS_ERR) {
		rule.valid = true;
		return rule;
	}
	for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++) {
		if (transitions[i].from == cur && transitions[i].to == next) {
			rule.valid = true;
			rule.required = transitions[i].required[t];
			rule.optional = transitions[i].optional[t];
			break;
		}
	}
	return rule;
}

bool apird_qp_mask_ok(enum ibv_qp_type type, enum ibv_qp_state cur, enum ibv_qp_state next,
		      uint32_t attr_mask, uint32_t *missing, uint32_t *extra)
{
	struct apird_qp_mask_rule rule = apird_qp_mask_rule(type, cur, next);
	uint32_t miss = 0, excess = 0;

	if (rule.valid) {
		miss = rule.required & ~attr_mask;
		excess = attr_mask & ~(rule.required | rule.optional | IBV_QP_STATE);
	}
	if (missing)
		*missing = miss;
	if (extra)
		*extra = excess;
	return rule.valid && !miss && !excess;
}

const char *apird_qp_state_name(enum ibv_qp_state s)
{
	static const char *const names[] = {
		[IBV_QPS_RESET] = "RESET", [IBV_QPS_INIT] = "INIT", [IBV_QPS_RTR] = "RTR",
		[IBV_QPS_RTS] = "RTS",     [IBV_QPS_SQD] = "SQD",   [IBV_QPS_SQE] = "SQE",
		[IBV_QPS_ERR] = "ERR",
	};

	return state_known(s) ? names[s] : "?";
}

/* Appends "|name" (no bar first) while room is left; returns the length the
 * full string would have. */
static size_t __attribute__((format(printf, 4, 5)))
append_name(char *buf, size_t len, size_t used, const char *fmt, ...)
{
	char piece[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(piece, sizeof(piece), fmt, ap);
	va_end(ap);
	if (used < len)
		snprintf(buf + used, len - used, "%s%s", used ? "|" : "", piece);
	return used + (used ? 1 : 0) + strlen(piece);
}

char *apird_qp_mask_names(uint32_t mask, char *buf, size_t len)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} bits[] = {
		{ IBV_QP_STATE, "STATE" },
		{ IBV_QP_CUR_STATE, "CUR_STATE" },
		{ IBV_QP_EN_SQD_ASYNC_NOTIFY, "EN_SQD_ASYNC_NOTIFY" },
		{ IBV_QP_ACCESS_FLAGS, "ACCESS_FLAGS" },
		{ IBV_QP_PKEY_INDEX, "PKEY_INDEX" },
		{ IBV_QP_PORT, "PORT" },
		{ IBV_QP_QKEY, "QKEY" },
		{ IBV_QP_AV, "AV" },
		{ IBV_QP_PATH_MTU, "PATH_MTU" },
		{ IBV_QP_TIMEOUT, "TIMEOUT" },
		{ IBV_QP_RETRY_CNT, "RETRY_CNT" },
		{ IBV_QP_RNR_RETRY, "RNR_RETRY" },
		{ IBV_QP_RQ_PSN, "RQ_PSN" },
		{ IBV_QP_MAX_QP_RD_ATOMIC, "MAX_QP_RD_ATOMIC" },
		{ IBV_QP_ALT_PATH, "ALT_PATH" },
		{ IBV_QP_MIN_RNR_TIMER, "MIN_RNR_TIMER" },
		{ IBV_QP_SQ_PSN, "SQ_PSN" },
		{ IBV_QP_MAX_DEST_RD_ATOMIC, "MAX_DEST_RD_ATOMIC" },
		{ IBV_QP_PATH_MIG_STATE, "PATH_MIG_STATE" },
		{ IBV_QP_CAP, "CAP" },
		{ IBV_QP_DEST_QPN, "DEST_QPN" },
		{ IBV_QP_RATE_LIMIT, "RATE_LIMIT" },
	};
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		if (mask & bits[i].bit) {
			mask &= ~bits[i].bit;
			used = append_name(buf, len, used, "%s", bits[i].name);
		}
	}
	if (mask)
		used = append_name(buf, len, used, "0x%x", mask);
	return buf;
}
