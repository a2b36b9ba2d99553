/* SPDX-License-Identifier: MIT */
/* QP and SRQ numbers: 24-bit, never 0 or 1, unique, not reused at once. */
#include <string.h>

#include "test_daemon.h"
#include "unit.h"

static struct apird d;
static struct apird_qp qps[5000];

static void daemon_up(void)
{
	struct apird_config cfg;

	apird_config_defaults(&cfg);
	memset(&d, 0, sizeof(d));
	memset(qps, 0, sizeof(qps));
	CU_ASSERT_FATAL(test_daemon_init(&d, &cfg) == 0);
}

static void test_range_and_lookup(void)
{
	daemon_up();
	for (int i = 0; i < 5000; i++) {
		CU_ASSERT_EQUAL_FATAL(apird_qpn_assign(test_verbs_dev(&d), &qps[i]), 0);
		CU_ASSERT(qps[i].qp_num >= 2 && qps[i].qp_num <= 0xffffff);
	}
	for (int i = 0; i < 5000; i++)
		CU_ASSERT_PTR_EQUAL(apird_qp_lookup(test_verbs_dev(&d), qps[i].qp_num), &qps[i]);
	CU_ASSERT_PTR_NULL(apird_qp_lookup(test_verbs_dev(&d), 0));
	CU_ASSERT_PTR_NULL(apird_qp_lookup(test_verbs_dev(&d), 1));
	apird_qpn_release(test_verbs_dev(&d), &qps[10]);
	CU_ASSERT_PTR_NULL(apird_qp_lookup(test_verbs_dev(&d), qps[10].qp_num));
	apird_daemon_fini(&d);
}

static void test_no_immediate_reuse(void)
{
	struct apird_qp a = { 0 }, b = { 0 };
	uint32_t first;

	daemon_up();
	CU_ASSERT_EQUAL(apird_qpn_assign(test_verbs_dev(&d), &a), 0);
	first = a.qp_num;
	apird_qpn_release(test_verbs_dev(&d), &a);
	CU_ASSERT_EQUAL(apird_qpn_assign(test_verbs_dev(&d), &b), 0);
	CU_ASSERT_NOT_EQUAL(b.qp_num, first);
	apird_daemon_fini(&d);
}

/* The counter wraps from 0xffffff back to 2, skipping numbers in use. */
static void test_wrap(void)
{
	struct apird_qp a = { 0 }, b = { 0 }, c = { 0 };

	daemon_up();
	CU_ASSERT_EQUAL(apird_qpn_assign(test_verbs_dev(&d), &a), 0);   /* takes 2 */
	test_verbs_dev(&d)->next_qpn = 0xffffff;
	CU_ASSERT_EQUAL(apird_qpn_assign(test_verbs_dev(&d), &b), 0);
	CU_ASSERT_EQUAL(b.qp_num, 0xffffff);
	CU_ASSERT_EQUAL(apird_qpn_assign(test_verbs_dev(&d), &c), 0);
	CU_ASSERT_EQUAL(c.qp_num, 3);
	apird_daemon_fini(&d);
}

static void test_srq_numbers(void)
{
	struct apird_srq s1 = { 0 }, s2 = { 0 };

	daemon_up();
	CU_ASSERT_EQUAL(apird_srqn_assign(test_verbs_dev(&d), &s1), 0);
	CU_ASSERT_EQUAL(apird_srqn_assign(test_verbs_dev(&d), &s2), 0);
	CU_ASSERT_NOT_EQUAL(s1.srq_num, s2.srq_num);
	CU_ASSERT(s1.srq_num >= 2);
	CU_ASSERT_PTR_EQUAL(apird_srq_lookup(test_verbs_dev(&d), s2.srq_num), &s2);
	apird_srqn_release(test_verbs_dev(&d), &s2);
	CU_ASSERT_PTR_NULL(apird_srq_lookup(test_verbs_dev(&d), s2.srq_num));
	apird_daemon_fini(&d);
}

static CU_TestInfo registry_tests[] = {
	{ "range and lookup", test_range_and_lookup },
	{ "no immediate reuse", test_no_immediate_reuse },
	{ "wrap", test_wrap },
	{ "SRQ numbers", test_srq_numbers },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "qp_registry", registry_tests })
