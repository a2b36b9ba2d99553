/* SPDX-License-Identifier: MIT */
/* Framing: round trips, fd passing, oversized and truncated frames. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apir/wire.h"
#include "unit.h"

static int sp[2];

static void pair_open(void)
{
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
}

static void pair_close(void)
{
	close(sp[0]);
	close(sp[1]);
}

static void test_roundtrip(void)
{
	struct apir_frame f;
	const char msg[] = "hello apir";

	pair_open();
	CU_ASSERT_EQUAL(apir_frame_send(sp[0], msg, sizeof(msg), NULL, 0), 0);
	CU_ASSERT_EQUAL(apir_frame_recv(sp[1], &f), 0);
	CU_ASSERT_EQUAL(f.len, sizeof(msg));
	CU_ASSERT_EQUAL(memcmp(f.buf, msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(f.num_fds, 0);
	apir_frame_release(&f);
	pair_close();
}

static void test_fds(void)
{
	struct apir_frame f;
	int p[2], fds[2];
	char c = 0;

	pair_open();
	CU_ASSERT_FATAL(pipe(p) == 0);
	fds[0] = p[0];
	fds[1] = p[1];
	CU_ASSERT_EQUAL(apir_frame_send(sp[0], "x", 1, fds, 2), 0);
	close(p[0]);
	close(p[1]);
	CU_ASSERT_EQUAL_FATAL(apir_frame_recv(sp[1], &f), 0);
	CU_ASSERT_EQUAL_FATAL(f.num_fds, 2);
	/* The passed fds are live: a byte written into one comes out of the other. */
	CU_ASSERT_EQUAL(write(f.fds[1], "z", 1), 1);
	CU_ASSERT_EQUAL(read(f.fds[0], &c, 1), 1);
	CU_ASSERT_EQUAL(c, 'z');
	CU_ASSERT(fcntl(f.fds[0], F_GETFD) & FD_CLOEXEC);
	apir_frame_release(&f);
	pair_close();
}

static void test_empty_payload(void)
{
	struct apir_frame f;

	pair_open();
	CU_ASSERT_EQUAL(apir_frame_send(sp[0], "", 0, NULL, 0), 0);
	CU_ASSERT_EQUAL(apir_frame_recv(sp[1], &f), 0);
	CU_ASSERT_EQUAL(f.len, 0);
	apir_frame_release(&f);
	pair_close();
}

static void test_oversized(void)
{
	struct apir_frame f;
	uint8_t hdr[4] = { 0xff, 0xff, 0xff, 0x7f };

	pair_open();
	CU_ASSERT_EQUAL(apir_frame_send(sp[0], "x", APIR_MAX_FRAME + 1, NULL, 0), -EMSGSIZE);
	CU_ASSERT_EQUAL(write(sp[0], hdr, sizeof(hdr)), 4);
	CU_ASSERT_EQUAL(apir_frame_recv(sp[1], &f), -EMSGSIZE);
	CU_ASSERT_PTR_NULL(f.buf);
	pair_close();
}

static void test_truncated(void)
{
	struct apir_frame f;
	uint8_t partial[6] = { 10, 0, 0, 0, 'a', 'b' };

	pair_open();
	CU_ASSERT_EQUAL(write(sp[0], partial, sizeof(partial)), 6);
	shutdown(sp[0], SHUT_WR);
	CU_ASSERT_EQUAL(apir_frame_recv(sp[1], &f), -EPROTO);
	pair_close();
}

static void test_eof(void)
{
	struct apir_frame f;

	pair_open();
	shutdown(sp[0], SHUT_WR);
	CU_ASSERT_EQUAL(apir_frame_recv(sp[1], &f), -ECONNRESET);
	pair_close();
}

static void test_too_many_fds(void)
{
	struct apir_frame f;
	int fds[APIR_MAX_FDS + 1];

	pair_open();
	CU_ASSERT_EQUAL(apir_frame_send(sp[0], "x", 1, fds, APIR_MAX_FDS + 1), -EMSGSIZE);
	pair_close();
	(void)f;
}

static CU_TestInfo framing_tests[] = {
	{ "roundtrip", test_roundtrip },
	{ "fds", test_fds },
	{ "empty payload", test_empty_payload },
	{ "oversized", test_oversized },
	{ "truncated", test_truncated },
	{ "eof", test_eof },
	{ "too many fds", test_too_many_fds },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "framing", framing_tests })
