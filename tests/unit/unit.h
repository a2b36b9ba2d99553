/* SPDX-License-Identifier: MIT */
/* Shared main() for the CUnit test executables: each file defines its
 * suites with APIR_UNIT_SUITES and gets a runner that fails on any failure. */
#ifndef APIR_UNIT_H
#define APIR_UNIT_H

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>

struct apir_unit_suite {
	const char *name;
	CU_TestInfo *tests;
};

/* How many times longer than its figure a test may wait for something:
 * APIR_TIME_FACTOR, which ctest sets (sanitizer builds and runs under load
 * are slower; no test may depend on the speed of the machine). */
static inline unsigned int apir_unit_time_factor(void)
{
	const char *s = getenv("APIR_TIME_FACTOR");
	long f = s ? strtol(s, NULL, 10) : 1;

	return f > 0 && f < 1000 ? (unsigned int)f : 1;
}

static inline int apir_unit_run(const struct apir_unit_suite *suites)
{
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (const struct apir_unit_suite *s = suites; s->name; s++) {
		CU_pSuite suite = CU_add_suite(s->name, NULL, NULL);

		for (CU_TestInfo *t = s->tests; suite && t->pName; t++)
			CU_add_test(suite, t->pName, t->pTestFunc);
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	if (CU_get_number_of_tests_run() == 0)
		failures = 1; /* a suite that runs nothing is a failure */
	CU_cleanup_registry();
	return failures ? 1 : 0;
}

#define APIR_UNIT_MAIN(...)                                                  \
	int main(void)                                                       \
	{                                                                    \
		static const struct apir_unit_suite suites[] = { __VA_ARGS__, \
								 { NULL, NULL } }; \
		return apir_unit_run(suites);                                \
	}

#endif /* APIR_UNIT_H */
