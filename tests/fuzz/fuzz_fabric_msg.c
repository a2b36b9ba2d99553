/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a message from a peer apird (fab_msg_parse). Whatever
 * the bytes, the parser accepts or refuses them without reading outside
 * the buffer (ASan), and what it accepts has every pointer and count
 * inside the message.
 */
#include <stdlib.h>
#include <string.h>

#include "fabric.h"

static _Alignas(64) uint8_t buf[FAB_BUF_SIZE];

static void check_inside(const void *p, size_t len, size_t msg_len)
{
	const uint8_t *b = p;

	if (len && (!b || b < buf || b + len > buf + msg_len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fab_msg m;
	const char *why = NULL;

	if (size > sizeof(buf))
		return -1;
	memcpy(buf, data, size);
	if (fab_msg_parse(buf, size, &m, &why)) {
		if (!why)
			abort();
		return 0;
	}
	check_inside(m.hdr, sizeof(*m.hdr), size);
	if (m.req)
		check_inside(m.req, sizeof(*m.req), size);
	if (m.ack)
		check_inside(m.ack, sizeof(*m.ack), size);
	if (m.ud)
		check_inside(m.ud, sizeof(*m.ud), size);
	if (m.req && m.segs)
		check_inside(m.segs, m.req->num_segs * sizeof(*m.segs), size);
	check_inside(m.payload, m.payload_len, size);
	return 0;
}
