/* SPDX-License-Identifier: MIT */
/* Protection domains: a handle on apird, nothing local beyond it. */
#include <errno.h>
#include <stdlib.h>

#include "core.h"
#include "queues.h"

APIR_EXPORT struct ibv_pd *ibv_alloc_pd(struct ibv_context *context)
{
	struct apir_session *s = to_session(context);
	Apir__AllocPd body = APIR__ALLOC_PD__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	Apir__Response *resp;
	struct apir_pd *pd;
	int rc;

	pd = calloc(1, sizeof(*pd));
	if (!pd) {
		errno = ENOMEM;
		return NULL;
	}
	req.body_case = APIR__REQUEST__BODY_ALLOC_PD;
	req.alloc_pd = &body;
	rc = apir_rpc_simple(s, &req, APIR__RESPONSE__BODY_HANDLE, &resp);
	if (rc) {
		free(pd);
		errno = rc;
		return NULL;
	}
	pd->handle = resp->handle->handle;
	apir__response__free_unpacked(resp, NULL);
	pd->ibpd.context = context;
	pd->ibpd.handle = pd->handle;
	return &pd->ibpd;
}

APIR_EXPORT int ibv_dealloc_pd(struct ibv_pd *ibpd)
{
	struct apir_pd *pd = (struct apir_pd *)ibpd;
	struct apir_session *s = to_session(ibpd->context);
	Apir__DeallocPd body = APIR__DEALLOC_PD__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	int rc;

	body.pd = pd->handle;
	req.body_case = APIR__REQUEST__BODY_DEALLOC_PD;
	req.dealloc_pd = &body;
	rc = apir_rpc_destroy(s, &req);
	if (!rc)
		free(pd);
	return rc;
}
