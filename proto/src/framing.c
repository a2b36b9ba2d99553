/* SPDX-License-Identifier: MIT */
#include "apir/wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int apir_frame_send(int sock, const void *payload, size_t len,
		    const int *fds, unsigned int num_fds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * APIR_MAX_FDS)];
	} ctl;
	uint8_t hdr[4];
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t total = sizeof(hdr) + len;

	if (len > APIR_MAX_FRAME || num_fds > APIR_MAX_FDS)
		return -EMSGSIZE;
	apir_put_le32(hdr, (uint32_t)len);
	if (num_fds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * num_fds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * num_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * num_fds);
	}
	while (total) {
		ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		total -= (size_t)n;
		/* Ancillary data went with the first byte; advance the iovecs. */
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
		while (n > 0 && msg.msg_iovlen) {
			if ((size_t)n >= msg.msg_iov->iov_len) {
				n -= (ssize_t)msg.msg_iov->iov_len;
				msg.msg_iov++;
				msg.msg_iovlen--;
			} else {
				msg.msg_iov->iov_base = (uint8_t *)msg.msg_iov->iov_base + n;
				msg.msg_iov->iov_len -= (size_t)n;
				n = 0;
			}
		}
	}
	return 0;
}

/* Collect SCM_RIGHTS fds from one recvmsg; returns -EPROTO if the frame
 * carries more than allowed (all received fds are kept in f so the caller
 * closes them). */
static int take_fds(struct msghdr *msg, struct apir_frame *f)
{
	int rc = 0;

	if (msg->msg_flags & MSG_CTRUNC)
		rc = -EPROTO;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t n;
		int fds[APIR_MAX_FDS * 2];

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > sizeof(fds) / sizeof(fds[0]))
			n = sizeof(fds) / sizeof(fds[0]);
		memcpy(fds, CMSG_DATA(c), n * sizeof(int));
		for (size_t i = 0; i < n; i++) {
			if (f->num_fds < APIR_MAX_FDS)
				f->fds[f->num_fds++] = fds[i];
			else {
				close(fds[i]);
				rc = -EPROTO;
			}
		}
	}
	return rc;
}

static int recv_exact(int sock, void *buf, size_t len, struct apir_frame *f, int want_fds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * APIR_MAX_FDS * 2)];
	} ctl;
	uint8_t *p = buf;
	int rc = 0;

	while (len) {
		struct iovec iov = { .iov_base = p, .iov_len = len };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (want_fds) {
			msg.msg_control = ctl.buf;
			msg.msg_controllen = sizeof(ctl.buf);
		}
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return p == buf && want_fds ? -ECONNRESET : -EPROTO;
		if (msg.msg_controllen) {
			int r = want_fds ? take_fds(&msg, f) : -EPROTO;

			if (!want_fds) {
				/* fds in the middle of a frame: close them, fail the frame. */
				struct apir_frame stray = { .num_fds = 0 };

				take_fds(&msg, &stray);
				for (unsigned int i = 0; i < stray.num_fds; i++)
					close(stray.fds[i]);
			}
			if (r && !rc)
				rc = r;
		}
		p += n;
		len -= (size_t)n;
		want_fds = 0;
	}
	return rc;
}

int apir_frame_recv(int sock, struct apir_frame *f)
{
	uint8_t hdr[4];
	uint32_t len;
	int rc;

	memset(f, 0, sizeof(*f));
	rc = recv_exact(sock, hdr, sizeof(hdr), f, 1);
	if (rc)
		goto fail;
	len = apir_get_le32(hdr);
	if (len > APIR_MAX_FRAME) {
		rc = -EMSGSIZE;
		goto fail;
	}
	f->buf = malloc(len ? len : 1);
	if (!f->buf) {
		rc = -ENOMEM;
		goto fail;
	}
	f->len = len;
	rc = recv_exact(sock, f->buf, len, f, 0);
	if (rc)
		goto fail;
	return 0;
fail:
	apir_frame_release(f);
	return rc;
}

void apir_frame_release(struct apir_frame *f)
{
	for (unsigned int i = 0; i < f->num_fds; i++)
		close(f->fds[i]);
	f->num_fds = 0;
	free(f->buf);
	f->buf = NULL;
	f->len = 0;
}
