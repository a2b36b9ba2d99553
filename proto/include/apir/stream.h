/* SPDX-License-Identifier: MIT */
/*
 * Frames on a byte stream without fd passing (the virtio-serial port):
 * APIR_STREAM_MAGIC (LE32), payload length (LE32), payload. A receiver that
 * finds anything but the magic where a frame should start skips forward to
 * the next magic, so a writer killed mid-frame costs one frame, not the
 * stream. Used by both ends: the guest frontend and apird's VM connection.
 */
#ifndef APIR_STREAM_H
#define APIR_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define APIR_STREAM_HDR 8u

/* Writes the 8-byte header of a frame of len payload bytes to hdr. */
void apir_stream_header(uint8_t hdr[APIR_STREAM_HDR], uint32_t len);

/* Scanning buf[0, len), for receivers that keep their own buffer: the
 * offset of the first byte at or after from that may start a frame (a
 * magic, or a prefix of it at the end), len if none. */
size_t apir_stream_find_magic(const uint8_t *buf, size_t len, size_t from);
/* The frame at buf (a magic is there): its whole length, header included,
 * once all of it is in buf[0, len); 0 while bytes are missing; -1 when its
 * header announces more than APIR_MAX_FRAME (garbage that looks like a
 * magic). */
long apir_stream_frame_len(const uint8_t *buf, size_t len);

/* Receive side: bytes go in with apir_stream_feed, whole frames come out
 * with apir_stream_next. */
struct apir_stream_rx {
	uint8_t *buf;
	size_t head;         /* buf[head, head + len) is buffered */
	size_t len;          /* bytes buffered */
	size_t cap;
	uint64_t skipped;    /* garbage bytes dropped while resyncing */
};

/* Appends n bytes. Returns 0 or ENOMEM. */
int apir_stream_feed(struct apir_stream_rx *rx, const void *data, size_t n);

/*
 * Takes the next whole frame: returns 1 and copies its payload into a
 * malloc()ed *payload (caller frees) of *len bytes, 0 when more bytes are
 * needed, or -ENOMEM. Garbage before a magic, and a header whose length
 * exceeds APIR_MAX_FRAME, are skipped (counted in rx->skipped).
 */
int apir_stream_next(struct apir_stream_rx *rx, uint8_t **payload, size_t *len);

void apir_stream_rx_free(struct apir_stream_rx *rx);

#endif /* APIR_STREAM_H */
