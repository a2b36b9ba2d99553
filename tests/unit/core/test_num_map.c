/* SPDX-License-Identifier: MIT */
/* The number map under the QPN and memory-key registries. */
#include <errno.h>
#include <stdlib.h>

#include "num_map.h"
#include "unit.h"

static void test_basic(void)
{
	struct apird_num_map m = { 0 };
	int a, b;

	CU_ASSERT_PTR_NULL(apird_num_map_get(&m, 5));
	CU_ASSERT_PTR_NULL(apird_num_map_remove(&m, 5));
	CU_ASSERT_EQUAL(apird_num_map_insert(&m, 0, &a), -EINVAL);
	CU_ASSERT_EQUAL(apird_num_map_insert(&m, 5, &a), 0);
	CU_ASSERT_EQUAL(apird_num_map_insert(&m, 5, &b), -EEXIST);
	CU_ASSERT_EQUAL(apird_num_map_insert(&m, UINT32_MAX, &b), 0);
	CU_ASSERT_PTR_EQUAL(apird_num_map_get(&m, 5), &a);
	CU_ASSERT_PTR_EQUAL(apird_num_map_get(&m, UINT32_MAX), &b);
	CU_ASSERT_PTR_NULL(apird_num_map_get(&m, 0));
	CU_ASSERT_PTR_EQUAL(apird_num_map_remove(&m, 5), &a);
	CU_ASSERT_PTR_NULL(apird_num_map_get(&m, 5));
	CU_ASSERT_EQUAL(m.count, 1);
	apird_num_map_fini(&m);
}

/* Random inserts and removes checked against a plain array. */
static void test_against_model(void)
{
	enum { KEYS = 5000 };
	static char present[KEYS];
	struct apird_num_map m = { 0 };
	unsigned int seed = 12345;

	for (int i = 0; i < 200000; i++) {
		uint32_t k = 1 + (uint32_t)(rand_r(&seed) % (KEYS - 1));

		if (present[k]) {
			CU_ASSERT_PTR_EQUAL(apird_num_map_remove(&m, k), &present[k]);
			present[k] = 0;
		} else {
			CU_ASSERT_EQUAL(apird_num_map_insert(&m, k, &present[k]), 0);
			present[k] = 1;
		}
	}
	for (uint32_t k = 1; k < KEYS; k++)
		CU_ASSERT_PTR_EQUAL(apird_num_map_get(&m, k), present[k] ? &present[k] : NULL);
	CU_ASSERT(m.count * 2 <= m.cap);
	apird_num_map_fini(&m);
}

static CU_TestInfo num_map_tests[] = {
	{ "basic", test_basic },
	{ "against a model", test_against_model },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "num_map", num_map_tests })
