/* SPDX-License-Identifier: MIT */
/*
 * The magic-prefixed frame codec of stream.h. The receive buffer holds at
 * most one partial frame plus what one read brought, so it stays small;
 * frames are taken from its head without moving the rest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apir/wire.h"
#include "apir/stream.h"

void apir_stream_header(uint8_t hdr[APIR_STREAM_HDR], uint32_t len)
{
	apir_put_le32(hdr, APIR_STREAM_MAGIC);
	apir_put_le32(hdr + 4, len);
}

/* Room for n more bytes behind the buffered ones: consumed bytes are
 * dropped and the buffer doubles, so that feeding N bytes copies O(N). */
static int rx_reserve(struct apir_stream_rx *rx, size_t n)
{
	size_t cap = rx->cap ? rx->cap : 4096;
	uint8_t *b;

	if (rx->head + rx->len + n <= rx->cap)
		return 0;
	if (rx->head) {
		memmove(rx->buf, rx->buf + rx->head, rx->len);
		rx->head = 0;
		if (rx->len + n <= rx->cap)
			return 0;
	}
	while (cap < rx->len + n)
		cap *= 2;
	b = realloc(rx->buf, cap);
	if (!b)
		return ENOMEM;
	rx->buf = b;
	rx->cap = cap;
	return 0;
}

int apir_stream_feed(struct apir_stream_rx *rx, const void *data, size_t n)
{
	if (rx_reserve(rx, n))
		return ENOMEM;
	if (n) /* data may be NULL for an empty feed */
		memcpy(rx->buf + rx->head + rx->len, data, n);
	rx->len += n;
	return 0;
}

static void rx_consume(struct apir_stream_rx *rx, size_t n)
{
	rx->head = rx->len > n ? rx->head + n : 0;
	rx->len -= n;
}

size_t apir_stream_find_magic(const uint8_t *buf, size_t len, size_t from)
{
	uint8_t magic[4];
	const uint8_t *p = buf + from, *end = buf + len;

	apir_put_le32(magic, APIR_STREAM_MAGIC);
	while (p < end && (p = memchr(p, magic[0], (size_t)(end - p)))) {
		size_t avail = (size_t)(end - p) < 4 ? (size_t)(end - p) : 4;

		if (memcmp(p, magic, avail) == 0)
			return (size_t)(p - buf);
		p++;
	}
	return len;
}

long apir_stream_frame_len(const uint8_t *buf, size_t len)
{
	uint32_t n;

	if (len < APIR_STREAM_HDR)
		return 0;
	n = apir_get_le32(buf + 4);
	if (n > APIR_MAX_FRAME)
		return -1;
	return len >= APIR_STREAM_HDR + n ? (long)(APIR_STREAM_HDR + n) : 0;
}

/* Drops bytes up to the first position that may start a frame. */
static void rx_seek_magic(struct apir_stream_rx *rx)
{
	size_t i = apir_stream_find_magic(rx->buf + rx->head, rx->len, 0);

	rx->skipped += i;
	rx_consume(rx, i);
}

int apir_stream_next(struct apir_stream_rx *rx, uint8_t **payload, size_t *len)
{
	for (;;) {
		long frame;
		size_t n;

		rx_seek_magic(rx);
		frame = apir_stream_frame_len(rx->buf + rx->head, rx->len);
		if (frame < 0) {
			/* A magic inside garbage: skip it and look further. */
			rx->skipped += 1;
			rx_consume(rx, 1);
			continue;
		}
		if (frame == 0)
			return 0;
		n = (size_t)frame - APIR_STREAM_HDR;
		*payload = malloc(n ? n : 1);
		if (!*payload)
			return -ENOMEM;
		memcpy(*payload, rx->buf + rx->head + APIR_STREAM_HDR, n);
		*len = n;
		rx_consume(rx, APIR_STREAM_HDR + n);
		return 1;
	}
}

void apir_stream_rx_free(struct apir_stream_rx *rx)
{
	free(rx->buf);
	*rx = (struct apir_stream_rx){ 0 };
}
