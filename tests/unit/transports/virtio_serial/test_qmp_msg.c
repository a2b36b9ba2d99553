/* SPDX-License-Identifier: MIT */
/*
 * QMP messages as QEMU 7.2 sends them (greeting, replies, VSERPORT_CHANGE
 * and other events, with "\r\n"), members in any order, and malformed or
 * hostile lines: truncated, trailing bytes, bad escapes, raw control
 * characters, names too long for their field, nesting too deep.
 */
#include <stdio.h>
#include <string.h>

#include "qmp_msg.h"
#include "unit.h"

static struct apird_qmp_msg m;

static enum apird_qmp_kind parse(const char *text)
{
	return apird_qmp_parse(text, strlen(text), "apir0", &m);
}

static void test_greeting_and_replies(void)
{
	CU_ASSERT_EQUAL(parse("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, "
			      "\"major\": 7}, \"package\": \"Debian 1:7.2+dfsg-7+deb12u7\"}, "
			      "\"capabilities\": [\"oob\"]}}\r\n"), APIRD_QMP_GREETING);
	CU_ASSERT_EQUAL(parse("{\"return\": {}}\r\n"), APIRD_QMP_RETURN);
	CU_ASSERT_EQUAL(parse("{\"return\": [1, -2.5e3, true, null, \"x\"], \"id\": 7}"),
			APIRD_QMP_RETURN);
	CU_ASSERT_EQUAL(parse("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
			      "\"The command foo has not been found\"}}"), APIRD_QMP_ERROR);
	CU_ASSERT_EQUAL(parse("{}"), APIRD_QMP_OTHER);
	CU_ASSERT_EQUAL(parse("{\"something\": 1}"), APIRD_QMP_OTHER);
}

/* Replies to apird's commands: qom-get of the port's chardev (a string)
 * and query-chardev (an array; QEMU 7.2's members, in its order and not). */
static void test_command_replies(void)
{
	CU_ASSERT_EQUAL(parse("{\"return\": \"apir0\", \"id\": \"chardev\"}\r\n"), APIRD_QMP_RETURN);
	CU_ASSERT_STRING_EQUAL(m.return_str, "apir0");
	CU_ASSERT_STRING_EQUAL(m.id, "chardev");
	CU_ASSERT_EQUAL(m.chardev_open, -1);
	CU_ASSERT_EQUAL(parse("{\"return\": [{\"frontend-open\": true, \"filename\": \"unix:/s.sock\", "
			      "\"label\": \"console\"}, {\"frontend-open\": false, \"filename\": "
			      "\"unix:/tmp/vm.sock\", \"label\": \"apir0\"}, {\"label\": \"apirqmp\", "
			      "\"frontend-open\": true, \"filename\": \"unix:/q\"}], \"id\": \"state\"}\r\n"),
			APIRD_QMP_RETURN);
	CU_ASSERT_STRING_EQUAL(m.id, "state");
	CU_ASSERT_EQUAL(m.chardev_open, 0);
	CU_ASSERT_STRING_EQUAL(m.return_str, "");
	CU_ASSERT_EQUAL(parse("{\"id\": \"state\", \"return\": [{\"label\": \"apir0\", "
			      "\"frontend-open\": true}]}"), APIRD_QMP_RETURN);
	CU_ASSERT_EQUAL(m.chardev_open, 1);
	/* Not there, a label that only starts like it, a non-boolean, a
	 * non-object element, a label too long to be it. */
	CU_ASSERT_EQUAL(parse("{\"return\": [{\"label\": \"apir01\", \"frontend-open\": false}, 7, "
			      "[], {\"label\": \"apir0\", \"frontend-open\": \"no\"}]}"), APIRD_QMP_RETURN);
	CU_ASSERT_EQUAL(m.chardev_open, -1);
	CU_ASSERT_EQUAL(parse("{\"return\": [{\"label\": \"apir0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			      "xxxxxxxxxxxxxxxxxxxxxxxxx\", \"frontend-open\": false}]}"), APIRD_QMP_RETURN);
	CU_ASSERT_EQUAL(m.chardev_open, -1);
	{
		static const char closed[] = "{\"return\": [{\"label\": \"apir0\", \"frontend-open\": false}]}";

		/* No label asked for: none is found. */
		CU_ASSERT_EQUAL(apird_qmp_parse(closed, strlen(closed), NULL, &m), APIRD_QMP_RETURN);
		CU_ASSERT_EQUAL(m.chardev_open, -1);
	}
	/* An error reply keeps its id. */
	CU_ASSERT_EQUAL(parse("{\"id\": \"chardev\", \"error\": {\"class\": \"DeviceNotFound\", "
			      "\"desc\": \"Device 'org.apir.0' not found\"}}"), APIRD_QMP_ERROR);
	CU_ASSERT_STRING_EQUAL(m.id, "chardev");
	/* Malformed inside the array is malformed. */
	CU_ASSERT_EQUAL(parse("{\"return\": [{\"label\": \"apir0\", \"frontend-open\": fals}]}"),
			APIRD_QMP_INVALID);
	CU_ASSERT_EQUAL(m.chardev_open, -1);
}

static void test_vserport_change(void)
{
	CU_ASSERT_EQUAL(parse("{\"timestamp\": {\"seconds\": 1796279454, \"microseconds\": 138813}, "
			      "\"event\": \"VSERPORT_CHANGE\", \"data\": {\"open\": false, "
			      "\"id\": \"org.apir.0\"}}\r\n"), APIRD_QMP_EVENT);
	CU_ASSERT_STRING_EQUAL(m.event, "VSERPORT_CHANGE");
	CU_ASSERT_STRING_EQUAL(m.data_id, "org.apir.0");
	CU_ASSERT_EQUAL(m.data_open, 0);
	/* data before event, opening, no spaces. */
	CU_ASSERT_EQUAL(parse("{\"data\":{\"id\":\"org.apir.0\",\"open\":true},\"event\":"
			      "\"VSERPORT_CHANGE\"}"), APIRD_QMP_EVENT);
	CU_ASSERT_EQUAL(m.data_open, 1);
	CU_ASSERT_STRING_EQUAL(m.data_id, "org.apir.0");
	/* Escapes decode; a non-ASCII one cannot match any id. */
	CU_ASSERT_EQUAL(parse("{\"event\":\"VSERPORT_CHANGE\",\"data\":{\"id\":\"org\\u002eapir.0\","
			      "\"open\":false}}"), APIRD_QMP_EVENT);
	CU_ASSERT_STRING_EQUAL(m.data_id, "org.apir.0");
	CU_ASSERT_EQUAL(parse("{\"event\":\"X\",\"data\":{\"id\":\"a\\u00e9\\\"\\\\\\/\\n\"}}"),
			APIRD_QMP_EVENT);
	CU_ASSERT_STRING_EQUAL(m.data_id, "a?\"\\/\n");
}

static void test_other_events(void)
{
	CU_ASSERT_EQUAL(parse("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
			      "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, "
			      "\"reason\": \"guest-shutdown\"}}"), APIRD_QMP_EVENT);
	CU_ASSERT_STRING_EQUAL(m.event, "SHUTDOWN");
	CU_ASSERT_STRING_EQUAL(m.data_id, "");
	CU_ASSERT_EQUAL(m.data_open, -1);
	/* Members of the wrong type are not taken for the right ones. */
	CU_ASSERT_EQUAL(parse("{\"event\":\"VSERPORT_CHANGE\",\"data\":{\"id\":7,\"open\":\"false\"}}"),
			APIRD_QMP_EVENT);
	CU_ASSERT_STRING_EQUAL(m.data_id, "");
	CU_ASSERT_EQUAL(m.data_open, -1);
	/* An event name that is not a string is no event. */
	CU_ASSERT_EQUAL(parse("{\"event\": 3}"), APIRD_QMP_OTHER);
	/* Only the top-level data counts. */
	CU_ASSERT_EQUAL(parse("{\"event\":\"E\",\"x\":{\"data\":{\"open\":false}}}"), APIRD_QMP_EVENT);
	CU_ASSERT_EQUAL(m.data_open, -1);
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"",
		"   ",
		"[]",
		"\"QMP\"",
		"{",
		"{\"return\": {}",
		"{\"return\": {}}}",
		"{\"return\": {}} x",
		"{\"return\" {}}",
		"{\"return\": {},}",
		"{,}",
		"{\"a\": tru}",
		"{\"a\": nul}",
		"{\"a\": -}",
		"{\"a\": 1.}",
		"{\"a\": 1e}",
		"{\"a\": [1,]}",
		"{\"a\": [1 2]}",
		"{\"a\": \"unterminated}",
		"{\"a\": \"bad \\x escape\"}",
		"{\"a\": \"short \\u12\"}",
		"{\"a\": \"raw \n newline\"}",
		"{'a': 1}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(parse(bad[i]), APIRD_QMP_INVALID);
		CU_ASSERT_STRING_EQUAL(m.event, "");
		CU_ASSERT_EQUAL(m.data_open, -1);
	}
	/* A valid event followed by garbage tells nothing. */
	CU_ASSERT_EQUAL(parse("{\"event\":\"VSERPORT_CHANGE\",\"data\":{\"id\":\"org.apir.0\","
			      "\"open\":false}}}"), APIRD_QMP_INVALID);
	CU_ASSERT_STRING_EQUAL(m.data_id, "");
	/* The length given is the message: bytes past it are not read. */
	CU_ASSERT_EQUAL(apird_qmp_parse("{\"return\": {}}garbage", 14, NULL, &m), APIRD_QMP_RETURN);
}

static void test_limits(void)
{
	char line[512], name[APIRD_QMP_NAME_MAX + 1];
	size_t n = 0;

	/* A name of exactly the field's capacity fits; one more byte does not. */
	memset(name, 'a', sizeof(name));
	name[APIRD_QMP_NAME_MAX - 1] = '\0';
	snprintf(line, sizeof(line), "{\"event\":\"E\",\"data\":{\"id\":\"%s\"}}", name);
	CU_ASSERT_EQUAL(parse(line), APIRD_QMP_EVENT);
	CU_ASSERT_EQUAL(strlen(m.data_id), APIRD_QMP_NAME_MAX - 1);
	name[APIRD_QMP_NAME_MAX - 1] = 'a';
	name[APIRD_QMP_NAME_MAX] = '\0';
	snprintf(line, sizeof(line), "{\"event\":\"E\",\"data\":{\"id\":\"%s\"}}", name);
	CU_ASSERT_EQUAL(parse(line), APIRD_QMP_INVALID);
	snprintf(line, sizeof(line), "{\"event\":\"%s\"}", name);
	CU_ASSERT_EQUAL(parse(line), APIRD_QMP_INVALID);
	/* A long key is just an unknown member. */
	snprintf(line, sizeof(line), "{\"%s\": 1, \"return\": {}}", name);
	CU_ASSERT_EQUAL(parse(line), APIRD_QMP_RETURN);

	/* 32 levels of nesting are fine, 33 are not. */
	for (int depth = 32; depth <= 33; depth++) {
		n = 0;
		line[n++] = '{';
		line[n++] = '"';
		line[n++] = 'a';
		line[n++] = '"';
		line[n++] = ':';
		for (int i = 1; i < depth; i++)
			line[n++] = '[';
		for (int i = 1; i < depth; i++)
			line[n++] = ']';
		line[n++] = '}';
		CU_ASSERT_EQUAL(apird_qmp_parse(line, n, NULL, &m),
				depth == 32 ? APIRD_QMP_OTHER : APIRD_QMP_INVALID);
	}
}

static CU_TestInfo qmp_msg_tests[] = {
	{ "greeting and replies", test_greeting_and_replies },
	{ "replies to qom-get and query-chardev", test_command_replies },
	{ "VSERPORT_CHANGE", test_vserport_change },
	{ "other events and wrong types", test_other_events },
	{ "malformed lines", test_malformed },
	{ "length and nesting limits", test_limits },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "qmp_msg", qmp_msg_tests })
