/* SPDX-License-Identifier: MIT */
/* The magic-prefixed frame codec of the virtio-serial transport: round
 * trips, frames split anywhere, garbage and half frames resynced by magic,
 * oversized lengths skipped. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "apir/wire.h"
#include "apir/stream.h"
#include "unit.h"

/* Appends a frame whose payload is len bytes of value fill. */
static size_t put_frame(uint8_t *out, uint8_t fill, uint32_t len)
{
	apir_stream_header(out, len);
	memset(out + APIR_STREAM_HDR, fill, len);
	return APIR_STREAM_HDR + len;
}

static bool payload_is(const uint8_t *p, size_t len, uint8_t fill, size_t want_len)
{
	if (len != want_len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] != fill)
			return false;
	return true;
}

static void test_header_layout(void)
{
	uint8_t hdr[APIR_STREAM_HDR];

	apir_stream_header(hdr, 0x01020304);
	CU_ASSERT(memcmp(hdr, "APIR", 4) == 0);
	CU_ASSERT(hdr[4] == 4 && hdr[5] == 3 && hdr[6] == 2 && hdr[7] == 1);
}

static void test_byte_by_byte(void)
{
	struct apir_stream_rx rx = { 0 };
	uint8_t buf[256], *p;
	size_t n = 0, len;
	int frames = 0;

	n += put_frame(buf + n, 0xaa, 17);
	n += put_frame(buf + n, 0xbb, 0);
	n += put_frame(buf + n, 0xcc, 100);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_FATAL(apir_stream_feed(&rx, buf + i, 1) == 0);
		while (apir_stream_next(&rx, &p, &len) == 1) {
			static const uint8_t fill[] = { 0xaa, 0xbb, 0xcc };
			static const size_t lens[] = { 17, 0, 100 };

			CU_ASSERT(frames < 3 && payload_is(p, len, fill[frames], lens[frames]));
			frames++;
			free(p);
		}
	}
	CU_ASSERT(frames == 3);
	CU_ASSERT(rx.skipped == 0);
	apir_stream_rx_free(&rx);
}

static void test_garbage_resync(void)
{
	struct apir_stream_rx rx = { 0 };
	uint8_t buf[256], *p;
	size_t n = 0, len;

	memcpy(buf, "xAPIyAPgarbage", 14);   /* magic prefixes that do not complete */
	n = 14;
	n += put_frame(buf + n, 0x11, 9);
	CU_ASSERT_FATAL(apir_stream_feed(&rx, buf, n) == 0);
	CU_ASSERT_FATAL(apir_stream_next(&rx, &p, &len) == 1);
	CU_ASSERT(payload_is(p, len, 0x11, 9));
	CU_ASSERT(rx.skipped == 14);
	free(p);
	CU_ASSERT(apir_stream_next(&rx, &p, &len) == 0);
	apir_stream_rx_free(&rx);
}

static void test_oversized_length_skipped(void)
{
	struct apir_stream_rx rx = { 0 };
	uint8_t buf[64], *p;
	size_t n, len;

	apir_stream_header(buf, APIR_MAX_FRAME + 1);
	n = APIR_STREAM_HDR;
	n += put_frame(buf + n, 0x22, 5);
	CU_ASSERT_FATAL(apir_stream_feed(&rx, buf, n) == 0);
	CU_ASSERT_FATAL(apir_stream_next(&rx, &p, &len) == 1);
	CU_ASSERT(payload_is(p, len, 0x22, 5));
	CU_ASSERT(rx.skipped == APIR_STREAM_HDR);
	free(p);
	apir_stream_rx_free(&rx);
}

/* A writer killed mid-frame: the half frame swallows what its length
 * claims, then the reader finds the next magic and every later frame. */
static void test_half_frame_then_frames(void)
{
	struct apir_stream_rx rx = { 0 };
	uint8_t buf[1024], *p;
	size_t n, len;
	int last = -1, intact = 0;

	apir_stream_header(buf, 100);
	memset(buf + APIR_STREAM_HDR, 0x55, 10);
	n = APIR_STREAM_HDR + 10;
	for (int i = 0; i < 10; i++)
		n += put_frame(buf + n, (uint8_t)(0x60 + i), 20);
	CU_ASSERT_FATAL(apir_stream_feed(&rx, buf, n) == 0);
	while (apir_stream_next(&rx, &p, &len) == 1) {
		if (len == 20 && p[0] >= 0x60 && p[0] < 0x6a && payload_is(p, len, p[0], 20)) {
			CU_ASSERT((int)p[0] - 0x60 > last);
			last = p[0] - 0x60;
			intact++;
		}
		free(p);
	}
	CU_ASSERT(last == 9);
	CU_ASSERT(intact >= 6);   /* 100 bytes swallow at most 4 of the 28-byte frames */
	CU_ASSERT(rx.len == 0);
	apir_stream_rx_free(&rx);
}

static CU_TestInfo stream_tests[] = {
	{ "header layout", test_header_layout },
	{ "frames fed byte by byte", test_byte_by_byte },
	{ "garbage before a frame", test_garbage_resync },
	{ "oversized length skipped", test_oversized_length_skipped },
	{ "half frame, then frames", test_half_frame_then_frames },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "stream", stream_tests })
