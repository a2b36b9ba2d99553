/* SPDX-License-Identifier: MIT */
/*
 * Completion channels. The channel is a pipe: apird holds the write end and
 * writes one apir_cq_event_rec per armed CQ that fired (over virtio-serial
 * the port's reader holds it and writes what Event frames say); the read end is
 * ibv_comp_channel.fd, so applications can poll() it, and a blocking or
 * non-blocking read follows whatever O_NONBLOCK the application set.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "core.h"
#include "queues.h"

static int channel_remote_create(struct apir_session *s, int write_end, uint32_t *handle)
{
	Apir__CreateCompChannel body = APIR__CREATE_COMP_CHANNEL__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	Apir__Response *resp;
	unsigned int nfds;
	int rc;

	req.body_case = APIR__REQUEST__BODY_CREATE_COMP_CHANNEL;
	req.create_comp_channel = &body;
	rc = apir_rpc(s, &req, &write_end, s->conn.t->channel_fds, &resp, NULL, &nfds, 0);
	if (rc)
		return rc;
	rc = resp->body_case == APIR__RESPONSE__BODY_HANDLE ? 0 : EPROTO;
	if (!rc)
		*handle = resp->handle->handle;
	apir__response__free_unpacked(resp, NULL);
	return rc;
}

APIR_EXPORT struct ibv_comp_channel *ibv_create_comp_channel(struct ibv_context *context)
{
	struct apir_session *s = to_session(context);
	struct apir_comp_channel *ch = calloc(1, sizeof(*ch));
	int p[2], rc;

	if (!ch) {
		errno = ENOMEM;
		return NULL;
	}
	if (pipe2(p, O_CLOEXEC)) {
		rc = errno;
		free(ch);
		errno = rc;
		return NULL;
	}
	rc = channel_remote_create(s, p[1], &ch->priv.handle);
	if (rc)
		close(p[1]);
	else
		rc = s->conn.t->channel_attach(s, ch->priv.handle, p[1]);
	if (rc) {
		close(p[0]);
		free(ch);
		errno = rc;
		return NULL;
	}
	ch->ibch.context = context;
	ch->ibch.fd = p[0];
	ch->ibch.refcnt = 0;
	return &ch->ibch;
}

APIR_EXPORT int ibv_destroy_comp_channel(struct ibv_comp_channel *channel)
{
	struct apir_session *s = to_session(channel->context);
	Apir__DestroyCompChannel body = APIR__DESTROY_COMP_CHANNEL__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	int rc;

	if (__atomic_load_n(&channel->refcnt, __ATOMIC_RELAXED))
		return EBUSY;   /* CQs still use it */
	body.channel = apir_comp_channel_handle(channel);
	req.body_case = APIR__REQUEST__BODY_DESTROY_COMP_CHANNEL;
	req.destroy_comp_channel = &body;
	rc = apir_rpc_destroy(s, &req);
	if (rc)
		return rc;
	s->conn.t->channel_detach(s, body.channel);
	close(channel->fd);
	free(channel);
	return 0;
}

/* One record, or an errno: EIO at EOF (apird gone) or for a short read (a
 * record is 8 bytes, which a pipe delivers whole). */
static int read_event(int fd, struct apir_cq_event_rec *rec)
{
	ssize_t n;

	do
		n = read(fd, rec, sizeof(*rec));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno;
	return n == (ssize_t)sizeof(*rec) ? 0 : EIO;
}

APIR_EXPORT int ibv_get_cq_event(struct ibv_comp_channel *channel, struct ibv_cq **cq,
				 void **cq_context)
{
	struct apir_context *actx = to_actx(channel->context);
	struct apir_cq_event_rec rec;
	struct apir_cq *acq;
	int rc;

	/* Records of CQs destroyed since they were written are skipped. */
	do {
		rc = read_event(channel->fd, &rec);
		if (rc) {
			errno = rc;
			return -1;
		}
		acq = rec.cq_handle <= UINT32_MAX ?
			apir_obj_find(actx, APIR_OBJ_CQ, (uint32_t)rec.cq_handle) : NULL;
	} while (!acq);
	*cq = ibv_cq_ex_to_cq(&acq->cq_ex);
	*cq_context = (*cq)->cq_context;
	pthread_mutex_lock(&(*cq)->mutex);
	acq->comp_events_reported++;
	pthread_mutex_unlock(&(*cq)->mutex);
	return 0;
}

APIR_EXPORT void ibv_ack_cq_events(struct ibv_cq *cq, unsigned int nevents)
{
	pthread_mutex_lock(&cq->mutex);
	cq->comp_events_completed += nevents;
	pthread_cond_signal(&cq->cond);
	pthread_mutex_unlock(&cq->mutex);
}
