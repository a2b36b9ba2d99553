/* SPDX-License-Identifier: MIT */
/* The per-context map from apird handles to frontend objects. */
#include <errno.h>
#include <stdlib.h>

#include "core.h"
#include "unit.h"

static void test_register_find_unregister(void)
{
	struct apir_context actx = { 0 };
	int qp, cq;

	CU_ASSERT_EQUAL_FATAL(apir_obj_map_create(&actx), 0);
	CU_ASSERT_EQUAL(apir_obj_register(&actx, APIR_OBJ_QP, 5, &qp), 0);
	CU_ASSERT_EQUAL(apir_obj_register(&actx, APIR_OBJ_CQ, 5, &cq), 0);   /* kinds apart */
	CU_ASSERT_EQUAL(apir_obj_register(&actx, APIR_OBJ_QP, 5, &cq), EEXIST);
	CU_ASSERT_PTR_EQUAL(apir_obj_find(&actx, APIR_OBJ_QP, 5), &qp);
	CU_ASSERT_PTR_EQUAL(apir_obj_find(&actx, APIR_OBJ_CQ, 5), &cq);
	CU_ASSERT_PTR_NULL(apir_obj_find(&actx, APIR_OBJ_SRQ, 5));
	apir_obj_unregister(&actx, APIR_OBJ_QP, 5);
	CU_ASSERT_PTR_NULL(apir_obj_find(&actx, APIR_OBJ_QP, 5));
	CU_ASSERT_PTR_EQUAL(apir_obj_find(&actx, APIR_OBJ_CQ, 5), &cq);
	apir_obj_unregister(&actx, APIR_OBJ_QP, 5);   /* unknown: no effect */
	apir_obj_map_destroy(&actx);
	CU_ASSERT_PTR_NULL(actx.obj_map);
}

static void test_many_handles(void)
{
	struct apir_context actx = { 0 };
	static int objs[5000];
	int missing = 0;

	CU_ASSERT_EQUAL_FATAL(apir_obj_map_create(&actx), 0);
	for (uint32_t h = 0; h < 5000; h++)
		CU_ASSERT_EQUAL(apir_obj_register(&actx, APIR_OBJ_CQ, h * 3 + 1, &objs[h]), 0);
	for (uint32_t h = 0; h < 5000; h += 2)
		apir_obj_unregister(&actx, APIR_OBJ_CQ, h * 3 + 1);
	for (uint32_t h = 0; h < 5000; h++) {
		void *want = h % 2 ? &objs[h] : NULL;

		missing += apir_obj_find(&actx, APIR_OBJ_CQ, h * 3 + 1) != want;
	}
	CU_ASSERT_EQUAL(missing, 0);
	apir_obj_map_destroy(&actx);   /* frees what is still registered */
}

static CU_TestInfo obj_map_tests[] = {
	{ "register, find, unregister", test_register_find_unregister },
	{ "many handles", test_many_handles },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "obj_map", obj_map_tests })
