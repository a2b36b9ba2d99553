/* SPDX-License-Identifier: MIT */
/*
 * Completion channels. The frontend keeps the read end of a pipe as
 * ibv_comp_channel.fd and gives apird the write end; apird writes one
 * apir_cq_event_rec per fired CQ and never blocks on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apir/log.h"
#include "dispatch.h"
#include "vm.h"

static int check_pipe_write_end(struct apird_call *c, int fd)
{
	struct stat st;
	int flags = fcntl(fd, F_GETFL);

	if (fstat(fd, &st) || !S_ISFIFO(st.st_mode))
		return apird_fail(c, EINVAL, "a completion channel fd must be a pipe");
	if (flags < 0 || (flags & O_ACCMODE) == O_RDONLY)
		return apird_fail(c, EINVAL, "a completion channel fd must be the pipe's write end");
	if (fcntl(fd, F_SETFL, flags | O_NONBLOCK))
		return apird_fail(c, errno, "cannot make the pipe non-blocking");
	return 0;
}

int apird_do_create_comp_channel(struct apird_call *c)
{
	struct apird_comp_channel *ch;
	/* virtio-serial: events go to the guest as Event frames. */
	int rc = c->s->vm ? 0 : check_pipe_write_end(c, c->in->fds[0]);

	if (rc)
		return rc;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return apird_fail(c, ENOMEM, "out of memory");
	ch->session = c->s;
	ch->handle = apird_table_insert(&c->s->channels, ch);
	if (!ch->handle) {
		free(ch);
		return apird_fail(c, ENOMEM, "at most %u completion channels per context",
				  APIRD_MAX_CQ);
	}
	ch->fd = c->s->vm ? -1 : apird_call_take_fd(c, 0);
	apird_reply_handle(c, ch->handle);
	return 0;
}

int apird_do_destroy_comp_channel(struct apird_call *c)
{
	uint32_t handle = c->req->destroy_comp_channel->channel;
	struct apird_comp_channel *ch = apird_call_object(c, &c->s->channels, handle,
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
	if (ch->fd >= 0)
		close(ch->fd);
	apird_table_remove(&s->channels, ch->handle);
	free(ch);
}

/* A full pipe means the application stopped reading events it asked for:
 * the event is dropped (a later one wakes it just the same). */
void apird_channel_notify(struct apird_comp_channel *ch, uint32_t cq_handle)
{
	struct apir_cq_event_rec rec = { .cq_handle = cq_handle };

	if (ch->session->vm) {
		Apir__Event ev = APIR__EVENT__INIT;

		ev.channel = ch->handle;
		ev.cq = cq_handle;
		apird_vm_send_event(ch->session->vm, &ev);
		return;
	}
	if (write(ch->fd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec))
		apir_dbg("completion channel %u: event for CQ %u dropped: %s", ch->handle, cq_handle,
			 strerror(errno));
}
