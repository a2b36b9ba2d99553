/* SPDX-License-Identifier: MIT */
/* Handle tables: 1-based handles, limits, no quick reuse, iteration. */
#include "object_table.h"
#include "unit.h"

static int objs[64];

static void test_insert_get_remove(void)
{
	struct apird_table t;
	uint32_t h1, h2;

	apird_table_init(&t, 8);
	CU_ASSERT_PTR_NULL(apird_table_get(&t, 0));
	CU_ASSERT_PTR_NULL(apird_table_get(&t, 1));
	h1 = apird_table_insert(&t, &objs[0]);
	h2 = apird_table_insert(&t, &objs[1]);
	CU_ASSERT_EQUAL(h1, 1);
	CU_ASSERT_EQUAL(h2, 2);
	CU_ASSERT_PTR_EQUAL(apird_table_get(&t, h1), &objs[0]);
	CU_ASSERT_PTR_EQUAL(apird_table_get(&t, h2), &objs[1]);
	CU_ASSERT_PTR_NULL(apird_table_get(&t, 0));
	CU_ASSERT_PTR_NULL(apird_table_get(&t, 3));
	CU_ASSERT_PTR_NULL(apird_table_get(&t, UINT32_MAX));
	CU_ASSERT_PTR_EQUAL(apird_table_remove(&t, h1), &objs[0]);
	CU_ASSERT_PTR_NULL(apird_table_remove(&t, h1));
	CU_ASSERT_PTR_NULL(apird_table_get(&t, h1));
	CU_ASSERT_PTR_NULL(apird_table_remove(&t, 0));
	CU_ASSERT_PTR_NULL(apird_table_remove(&t, 999));
	CU_ASSERT_EQUAL(t.count, 1);
	CU_ASSERT_EQUAL(apird_table_insert(&t, NULL), 0);
	apird_table_fini(&t);
}

static void test_limit(void)
{
	struct apird_table t;

	apird_table_init(&t, 3);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_NOT_EQUAL(apird_table_insert(&t, &objs[i]), 0);
	CU_ASSERT_EQUAL(apird_table_insert(&t, &objs[3]), 0);
	apird_table_remove(&t, 2);
	CU_ASSERT_NOT_EQUAL(apird_table_insert(&t, &objs[3]), 0);
	CU_ASSERT_EQUAL(t.count, 3);
	apird_table_fini(&t);
}

/* A freed handle is not handed out again by the next insert. */
static void test_no_quick_reuse(void)
{
	struct apird_table t;
	uint32_t h, seen_again = 0;

	apird_table_init(&t, 1000);
	h = apird_table_insert(&t, &objs[0]);
	apird_table_remove(&t, h);
	for (int i = 0; i < 8; i++) {
		uint32_t n = apird_table_insert(&t, &objs[1]);

		if (n == h)
			seen_again++;
		apird_table_remove(&t, n);
	}
	CU_ASSERT_EQUAL(seen_again, 0);
	apird_table_fini(&t);
}

/* Churn far beyond the capacity: handles stay valid and bounded. */
static void test_churn(void)
{
	struct apird_table t;
	uint32_t live[16] = { 0 };

	apird_table_init(&t, 16);
	for (int round = 0; round < 10000; round++) {
		int i = round % 16;

		if (live[i]) {
			CU_ASSERT_PTR_EQUAL(apird_table_remove(&t, live[i]), &objs[i]);
			live[i] = 0;
		}
		if (round % 3) {
			live[i] = apird_table_insert(&t, &objs[i]);
			CU_ASSERT_NOT_EQUAL(live[i], 0);
		}
	}
	CU_ASSERT(t.cap <= 64);
	for (int i = 0; i < 16; i++)
		if (live[i])
			CU_ASSERT_PTR_EQUAL(apird_table_get(&t, live[i]), &objs[i]);
	apird_table_fini(&t);
}

static void test_iterate(void)
{
	struct apird_table t;
	uint32_t h[10], n = 0, sum = 0;

	apird_table_init(&t, 100);
	CU_ASSERT_EQUAL(apird_table_next(&t, 0), 0);
	for (int i = 0; i < 10; i++)
		h[i] = apird_table_insert(&t, &objs[i]);
	apird_table_remove(&t, h[3]);
	apird_table_remove(&t, h[7]);
	for (uint32_t k = apird_table_next(&t, 0); k; k = apird_table_next(&t, k)) {
		n++;
		sum += k;
		/* Removing the current handle while iterating is allowed. */
		apird_table_remove(&t, k);
	}
	CU_ASSERT_EQUAL(n, 8);
	CU_ASSERT_EQUAL(sum, 55 - h[3] - h[7]);
	CU_ASSERT_EQUAL(t.count, 0);
	apird_table_fini(&t);
}

static CU_TestInfo table_tests[] = {
	{ "insert get remove", test_insert_get_remove },
	{ "limit", test_limit },
	{ "no quick reuse", test_no_quick_reuse },
	{ "churn", test_churn },
	{ "iterate", test_iterate },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "object_table", table_tests })
