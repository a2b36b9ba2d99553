/* SPDX-License-Identifier: MIT */
/* Address handles: UD send WQEs name one by handle (apird_ah_lookup()). */
#include <errno.h>
#include <stdlib.h>

#include "handlers.h"

int apird_do_create_ah(struct apird_call *c)
{
	const Apir__CreateAh *m = c->req->create_ah;
	struct apird_pd *pd = apird_call_object(c, &call_session(c)->pds, m->pd, "PD");
	struct ibv_ah_attr av;
	struct apird_ah *ah;
	int rc;

	if (!pd)
		return EINVAL;
	rc = apird_av_from_msg(c, m->attr, &av);
	if (rc)
		return rc;
	ah = calloc(1, sizeof(*ah));
	if (!ah)
		return apird_fail(c, ENOMEM, "out of memory");
	ah->session = c->s;
	ah->pd = pd;
	ah->attr = av;
	ah->handle = apird_table_insert(&call_session(c)->ahs, ah);
	if (!ah->handle) {
		free(ah);
		return apird_fail(c, ENOMEM, "at most %u AHs per context", APIRD_MAX_AH);
	}
	pd->refs++;
	apir__create_ah_reply__init(&verbs_reply(c)->create_ah);
	verbs_reply(c)->create_ah.ah = ah->handle;
	c->resp.body_case = APIR__RESPONSE__BODY_CREATE_AH;
	c->resp.create_ah = &verbs_reply(c)->create_ah;
	return 0;
}

int apird_do_destroy_ah(struct apird_call *c)
{
	struct apird_ah *ah = apird_call_object(c, &call_session(c)->ahs, c->req->destroy_ah->ah, "AH");

	if (!ah)
		return EINVAL;
	apird_ah_destroy(c->s, ah);
	return 0;
}

void apird_ah_destroy(struct apird_session *s, struct apird_ah *ah)
{
	ah->pd->refs--;
	apird_table_remove(&verbs_session(s)->ahs, ah->handle);
	free(ah);
}
