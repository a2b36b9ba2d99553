/* SPDX-License-Identifier: MIT */
/* Memory keys: random, non-zero, lkey != rkey, unique daemon-wide. */
#include <stdlib.h>
#include <string.h>

#include "test_daemon.h"
#include "unit.h"

enum { NUM_MRS = 20000 };

static struct apird d;
static struct apird_mr *mrs;

static void daemon_up(void)
{
	struct apird_config cfg;

	apird_config_defaults(&cfg);
	memset(&d, 0, sizeof(d));
	CU_ASSERT_FATAL(test_daemon_init(&d, &cfg) == 0);
	mrs = calloc(NUM_MRS, sizeof(*mrs));
	CU_ASSERT_FATAL(mrs != NULL);
}

static void daemon_down(void)
{
	apird_daemon_fini(&d);
	free(mrs);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void test_unique_nonzero(void)
{
	uint32_t *keys = malloc(2 * NUM_MRS * sizeof(*keys));
	size_t dups = 0;

	daemon_up();
	CU_ASSERT_FATAL(keys != NULL);
	for (int i = 0; i < NUM_MRS; i++) {
		CU_ASSERT_EQUAL_FATAL(apird_mr_keys_assign(test_verbs_dev(&d), &mrs[i]), 0);
		CU_ASSERT_NOT_EQUAL(mrs[i].lkey, 0);
		CU_ASSERT_NOT_EQUAL(mrs[i].rkey, 0);
		CU_ASSERT_NOT_EQUAL(mrs[i].lkey, mrs[i].rkey);
		keys[2 * i] = mrs[i].lkey;
		keys[2 * i + 1] = mrs[i].rkey;
	}
	qsort(keys, 2 * NUM_MRS, sizeof(*keys), cmp_u32);
	for (size_t i = 1; i < 2 * NUM_MRS; i++)
		dups += keys[i] == keys[i - 1];
	CU_ASSERT_EQUAL(dups, 0);
	free(keys);
	daemon_down();
}

static void test_lookup_and_release(void)
{
	daemon_up();
	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL_FATAL(apird_mr_keys_assign(test_verbs_dev(&d), &mrs[i]), 0);
	for (int i = 0; i < 100; i++) {
		CU_ASSERT_PTR_EQUAL(apird_mr_lookup(test_verbs_dev(&d), mrs[i].lkey), &mrs[i]);
		CU_ASSERT_PTR_EQUAL(apird_mr_lookup(test_verbs_dev(&d), mrs[i].rkey), &mrs[i]);
	}
	CU_ASSERT_PTR_NULL(apird_mr_lookup(test_verbs_dev(&d), 0));
	for (int i = 0; i < 100; i += 2)
		apird_mr_keys_release(test_verbs_dev(&d), &mrs[i]);
	for (int i = 0; i < 100; i++) {
		struct apird_mr *want = i % 2 ? &mrs[i] : NULL;

		CU_ASSERT_PTR_EQUAL(apird_mr_lookup(test_verbs_dev(&d), mrs[i].lkey), want);
		CU_ASSERT_PTR_EQUAL(apird_mr_lookup(test_verbs_dev(&d), mrs[i].rkey), want);
	}
	daemon_down();
}

/* Keys are not a counter: consecutive registrations are far apart. */
static void test_not_sequential(void)
{
	int close_pairs = 0;

	daemon_up();
	for (int i = 0; i < 64; i++)
		CU_ASSERT_EQUAL_FATAL(apird_mr_keys_assign(test_verbs_dev(&d), &mrs[i]), 0);
	for (int i = 1; i < 64; i++) {
		uint32_t delta = mrs[i].rkey - mrs[i - 1].rkey;

		close_pairs += delta < 1024 || delta > UINT32_MAX - 1024;
	}
	CU_ASSERT(close_pairs < 2);
	daemon_down();
}

static CU_TestInfo mr_keys_tests[] = {
	{ "unique and non-zero", test_unique_nonzero },
	{ "lookup and release", test_lookup_and_release },
	{ "not sequential", test_not_sequential },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "mr_keys", mr_keys_tests })
