/* SPDX-License-Identifier: MIT */
/*
 * Completion channels. Each is a sink of the session's transport
 * (transport.h): on unix the write end of a pipe whose read end the
 * frontend keeps as ibv_comp_channel.fd, in a VM Event frames. apird sends
 * one apir_cq_event_rec per fired CQ and never blocks on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apir/log.h"
#include "handlers.h"

int apird_do_create_comp_channel(struct apird_call *c)
{
	struct apird_comp_channel *ch = calloc(1, sizeof(*ch));
	int rc;

	if (!ch)
		return apird_fail(c, ENOMEM, "out of memory");
	ch->session = c->s;
	ch->handle = apird_table_insert(&call_session(c)->channels, ch);
	if (!ch->handle) {
		free(ch);
		return apird_fail(c, ENOMEM, "at most %u completion channels per context",
				  APIRD_MAX_CQ);
	}
	rc = c->s->tr->sink_open(c, ch->handle, &ch->sink);
	if (rc) {
		apird_table_remove(&call_session(c)->channels, ch->handle);
		free(ch);
		return rc;
	}
	apird_reply_handle(c, ch->handle);
	return 0;
}

int apird_do_destroy_comp_channel(struct apird_call *c)
{
	uint32_t handle = c->req->destroy_comp_channel->channel;
	struct apird_comp_channel *ch = apird_call_object(c, &call_session(c)->channels, handle,
							  "completion channel");

	if (!ch)
		return EINVAL;
	if (ch->refs)
		return apird_fail(c, EBUSY, "completion channel %u is still used by %u CQs", handle,
				  ch->refs);
	apird_channel_destroy(c->s, ch);
	return 0;
}

void apird_channel_destroy(struct apird_session *s, struct apird_comp_channel *ch)
{
	s->tr->sink_close(s, ch->sink);
	apird_table_remove(&verbs_session(s)->channels, ch->handle);
	free(ch);
}

void apird_channel_notify(struct apird_comp_channel *ch, uint32_t cq_handle)
{
	struct apir_cq_event_rec rec = { .cq_handle = cq_handle };

	apird_session_notify(ch->session, ch->sink, &rec, sizeof(rec));
}
