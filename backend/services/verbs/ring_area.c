/* SPDX-License-Identifier: MIT */
/*
 * The shared area of a CQ, SRQ or QP (rings and their control lines), in
 * whatever memory the session's transport shares with its frontend.
 */
#include "handlers.h"

int apird_ring_area_open(struct apird_call *c, const char *name, size_t len,
			 Apir__GpaExtent *const *ring, size_t num_ring, void **area)
{
	struct apird_mem_ref ref = { .ext = ring, .n_ext = num_ring };

	return c->s->tr->area_open(c, name, len, &ref, area);
}

void apird_ring_area_close(struct apird_session *s, void *area, size_t len)
{
	s->tr->area_close(s, area, len);
}
