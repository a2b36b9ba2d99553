/* SPDX-License-Identifier: MIT */
/* Protection domains: AllocPd, DeallocPd. */
#include <errno.h>
#include <stdlib.h>

#include "handlers.h"

int apird_do_alloc_pd(struct apird_call *c)
{
	struct apird_pd *pd = calloc(1, sizeof(*pd));

	if (!pd)
		return apird_fail(c, ENOMEM, "out of memory");
	pd->session = c->s;
	pd->handle = apird_table_insert(&call_session(c)->pds, pd);
	if (!pd->handle) {
		free(pd);
		return apird_fail(c, ENOMEM, "at most %u PDs per context", APIRD_MAX_PD);
	}
	apird_reply_handle(c, pd->handle);
	return 0;
}

int apird_do_dealloc_pd(struct apird_call *c)
{
	uint32_t handle = c->req->dealloc_pd->pd;
	struct apird_pd *pd = apird_call_object(c, &call_session(c)->pds, handle, "PD");

	if (!pd)
		return EINVAL;
	if (pd->refs)
		return apird_fail(c, EBUSY, "PD %u is still used by %u MRs, QPs, SRQs or AHs",
				  handle, pd->refs);
	apird_pd_destroy(c->s, pd);
	return 0;
}

void apird_pd_destroy(struct apird_session *s, struct apird_pd *pd)
{
	apird_table_remove(&verbs_session(s)->pds, pd->handle);
	free(pd);
}
