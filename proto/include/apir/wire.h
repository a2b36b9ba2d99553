/* SPDX-License-Identifier: MIT */
/*
 * apir control-plane framing.
 *
 * A frame is a 4-byte little-endian payload length followed by the payload
 * (a packed apir.Request or apir.Response). File descriptors ride along with
 * the first byte of a frame as SCM_RIGHTS ancillary data.
 */
#ifndef APIR_WIRE_H
#define APIR_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define APIR_PROTOCOL_VERSION 1u
#define APIR_MAX_FRAME (64u * 1024u)   /* larger frames are a protocol error */
#define APIR_MAX_FDS 4u                /* fds carried by one frame */
#define APIR_DEFAULT_SOCKET "/run/apir/apird.sock"

/* virtio-serial transport: a byte stream with no fd passing and no message
 * boundaries, which a guest process killed mid-write can leave with half a
 * frame. Every frame there is preceded by this magic (little-endian "APIR");
 * a reader that finds anything else scans forward to the next magic.
 * Layout: magic (LE32), payload length (LE32, at most APIR_MAX_FRAME),
 * payload. The guest's Doorbell requests carry id 0 (nothing answers them).
 * Ring areas the guest allocates are zeroed; apird writes their ring headers
 * (num_entries, entry_size) as it does in the memfds it creates. */
#define APIR_STREAM_MAGIC 0x52495041u
#define APIR_VIRTIO_PORT_NAME "org.apir.0"
/* Hello.transport of an operator tool's session (apir.proto, AdminStatus). */
#define APIR_TRANSPORT_ADMIN "admin"

/* Feature bits negotiated in the handshake. */
#define APIR_FEAT_SW_ENGINE   (1ull << 0)
#define APIR_FEAT_MEMFD_MR    (1ull << 1)
#define APIR_FEAT_UD          (1ull << 2)
#define APIR_FEAT_SRQ         (1ull << 3)
#define APIR_FEAT_ALL (APIR_FEAT_SW_ENGINE | APIR_FEAT_MEMFD_MR | APIR_FEAT_UD | APIR_FEAT_SRQ)

/* The little-endian 32-bit fields of both framings. */
static inline void apir_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t apir_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

struct apir_frame {
	uint8_t *buf;            /* payload */
	size_t len;
	int fds[APIR_MAX_FDS];
	unsigned int num_fds;
};

/* Send one frame (blocking, restarts on EINTR). Returns 0 or -errno. */
int apir_frame_send(int sock, const void *payload, size_t len,
		    const int *fds, unsigned int num_fds);

/* Receive one frame (blocking). On success the caller owns f->buf (free())
 * and every fd in f->fds. Returns 0, -ECONNRESET on orderly EOF, -EMSGSIZE
 * for an oversized frame, -EPROTO for a truncated one, or another -errno.
 * fds beyond APIR_MAX_FDS or arriving mid-frame are closed and reported as
 * -EPROTO. */
int apir_frame_recv(int sock, struct apir_frame *f);

/* Close every fd in the frame and free its buffer. */
void apir_frame_release(struct apir_frame *f);

#endif /* APIR_WIRE_H */
