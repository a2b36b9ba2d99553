/* SPDX-License-Identifier: MIT */
/* apird settings: defaults, config file syntax, every key, bad values. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

static struct apird_config cfg;
static char err[256];

static int parse(const char *text)
{
	apird_config_defaults(&cfg);
	err[0] = '\0';
	return apird_config_parse(&cfg, text, err, sizeof(err));
}

static void test_defaults(void)
{
	apird_config_defaults(&cfg);
	CU_ASSERT_STRING_EQUAL(cfg.socket_path, "/run/apir/apird.sock");
	CU_ASSERT_EQUAL(cfg.log_level, APIR_LOG_INFO);
	CU_ASSERT_EQUAL(cfg.gid_ipv4.s_addr, htonl(INADDR_LOOPBACK));
	CU_ASSERT_EQUAL(cfg.spin_us, apird_default_spin_us(sysconf(_SC_NPROCESSORS_ONLN)));
	CU_ASSERT_EQUAL(apird_default_spin_us(2), 0);
	CU_ASSERT_EQUAL(apird_default_spin_us(1), 0);
	CU_ASSERT_EQUAL(apird_default_spin_us(3), APIRD_SPIN_US_DEFAULT);
	CU_ASSERT_EQUAL(apird_default_spin_us(64), APIRD_SPIN_US_DEFAULT);
	CU_ASSERT_STRING_EQUAL(cfg.device_name, "apir0");
	CU_ASSERT_EQUAL(cfg.sched_priority, APIRD_SCHED_PRIORITY_AUTO);
	CU_ASSERT_EQUAL(cfg.session_ring_mib, APIRD_SESSION_RING_MIB_DEFAULT);
}

static void test_sched_priority(void)
{
	CU_ASSERT_EQUAL(parse("sched_priority = 0\n"), 0);
	CU_ASSERT_EQUAL(cfg.sched_priority, 0);
	CU_ASSERT_EQUAL(parse("sched_priority = 99\n"), 0);
	CU_ASSERT_EQUAL(cfg.sched_priority, 99);
	CU_ASSERT_EQUAL(parse("sched_priority = 7\nsched_priority = auto\n"), 0);
	CU_ASSERT_EQUAL(cfg.sched_priority, APIRD_SCHED_PRIORITY_AUTO);
	CU_ASSERT_EQUAL(parse("session_ring_mib = 64\n"), 0);
	CU_ASSERT_EQUAL(cfg.session_ring_mib, 64);
}

static void test_all_keys(void)
{
	CU_ASSERT_EQUAL(parse("# apird settings\n"
			      "socket = /tmp/x/apird.sock\n"
			      "\n"
			      "  log_level=debug   \n"
			      "gid_ipv4 = 10.1.2.3 # the fabric address\n"
			      "spin_us = 0\n"
			      "device_name = apir_7-b\n"), 0);
	CU_ASSERT_STRING_EQUAL(cfg.socket_path, "/tmp/x/apird.sock");
	CU_ASSERT_EQUAL(cfg.log_level, APIR_LOG_DEBUG);
	CU_ASSERT_EQUAL(cfg.gid_ipv4.s_addr, inet_addr("10.1.2.3"));
	CU_ASSERT_EQUAL(cfg.spin_us, 0);
	CU_ASSERT_STRING_EQUAL(cfg.device_name, "apir_7-b");
}

static void test_empty_and_comments(void)
{
	CU_ASSERT_EQUAL(parse(""), 0);
	CU_ASSERT_EQUAL(parse("\n\n# nothing\n   \t\n"), 0);
	CU_ASSERT_STRING_EQUAL(cfg.device_name, "apir0");
}

static void test_errors_name_the_line(void)
{
	CU_ASSERT_EQUAL(parse("spin_us = 5\n\nbogus = 1\n"), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bogus"));
	CU_ASSERT_EQUAL(parse("socket\n"), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 1"));
}

static void test_bad_values(void)
{
	const char *bad[] = {
		"spin_us = -1",        "spin_us = 12abc",      "spin_us = 1000001",
		"spin_us =",           "spin_us = 99999999999999999999",
		"sched_priority = 100", "sched_priority = -1", "sched_priority = fifo",
		"sched_priority =",    "session_ring_mib = 0", "session_ring_mib = 1048577",
		"log_level = loud",    "gid_ipv4 = 300.1.1.1", "gid_ipv4 = ::1",
		"device_name = a b",   "device_name = ../x",   "device_name =",
		"socket =",
		"device_name = 0123456789012345678901234567890123456789012345678901234567890123",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(parse(bad[i]), -EINVAL);
		CU_ASSERT(err[0] != '\0');
	}
}

static void test_long_socket_path(void)
{
	char line[300];

	snprintf(line, sizeof(line), "socket = /%0150d", 0);
	CU_ASSERT_EQUAL(parse(line), -EINVAL);
	snprintf(line, sizeof(line), "socket = /%0106d", 0);
	CU_ASSERT_EQUAL(parse(line), 0);
}

static void test_set_and_load(void)
{
	char path[] = "/tmp/apird-config-XXXXXX";
	int fd = mkstemp(path);
	const char text[] = "spin_us = 7\n";

	apird_config_defaults(&cfg);
	CU_ASSERT_EQUAL(apird_config_set(&cfg, "log_level", "warn", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg.log_level, APIR_LOG_WARN);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	CU_ASSERT_EQUAL(apird_config_load(&cfg, path, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg.spin_us, 7);
	unlink(path);
	CU_ASSERT_EQUAL(apird_config_load(&cfg, path, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
}

static CU_TestInfo config_tests[] = {
	{ "defaults", test_defaults },
	{ "sched_priority", test_sched_priority },
	{ "all keys", test_all_keys },
	{ "empty and comments", test_empty_and_comments },
	{ "errors name the line", test_errors_name_the_line },
	{ "bad values", test_bad_values },
	{ "long socket path", test_long_socket_path },
	{ "set and load", test_set_and_load },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "config", config_tests })
