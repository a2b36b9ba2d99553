/* SPDX-License-Identifier: MIT */
/* apird's scheduling policy (sched_policy.c), applied to this thread. */
#include <errno.h>
#include <sched.h>
#include <unistd.h>

#include "config.h"
#include "test_daemon.h"
#include "unit.h"

static struct apird_config cfg;

static void setup(int priority, uint32_t spin_us)
{
	struct sched_param normal = { 0 };

	apir_log_init("apird-test", APIR_LOG_ERROR);
	apird_config_defaults(&cfg);
	cfg.sched_priority = priority;
	cfg.spin_us = spin_us;
	CU_ASSERT_FATAL(sched_setscheduler(0, SCHED_OTHER, &normal) == 0);
}

/* Whether this thread runs SCHED_FIFO at priority. */
static bool fifo_at(int priority)
{
	struct sched_param p;

	return sched_getscheduler(0) == SCHED_FIFO && sched_getparam(0, &p) == 0 &&
	       p.sched_priority == priority;
}

static void test_off(void)
{
	setup(0, 0);
	CU_ASSERT_EQUAL(apird_sched_apply(&cfg), 0);
	CU_ASSERT_EQUAL(sched_getscheduler(0), SCHED_OTHER);
}

/* An explicit priority is applied, or refused with an error (never
 * silently ignored). root always may. */
static void test_explicit(void)
{
	int rc;

	setup(7, 50);
	rc = apird_sched_apply(&cfg);
	CU_ASSERT(rc == 0 || rc == -EPERM);
	CU_ASSERT_EQUAL(rc == 0, fifo_at(7));
	if (geteuid() == 0)
		CU_ASSERT_EQUAL(rc, 0);
	setup(0, 0);
}

/* auto: the lowest real-time priority when apird sleeps at once; never an
 * error. */
static void test_auto_sleeping(void)
{
	setup(APIRD_SCHED_PRIORITY_AUTO, 0);
	CU_ASSERT_EQUAL(apird_sched_apply(&cfg), 0);
	CU_ASSERT(fifo_at(1) || sched_getscheduler(0) == SCHED_OTHER);
	if (geteuid() == 0)
		CU_ASSERT(fifo_at(1));
	setup(0, 0);
}

/* auto leaves a spinning apird at normal scheduling: at SCHED_FIFO its
 * spin would hold the core for spin_us after every piece of work. */
static void test_auto_spinning(void)
{
	setup(APIRD_SCHED_PRIORITY_AUTO, 50);
	CU_ASSERT_EQUAL(apird_sched_apply(&cfg), 0);
	CU_ASSERT_EQUAL(sched_getscheduler(0), SCHED_OTHER);
}

static CU_TestInfo sched_tests[] = {
	{ "off", test_off },
	{ "explicit priority", test_explicit },
	{ "auto, sleeping apird", test_auto_sleeping },
	{ "auto, spinning apird", test_auto_spinning },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "sched_policy", sched_tests })
