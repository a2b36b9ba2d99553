/* SPDX-License-Identifier: MIT */
/*
 * Memory regions. The region's pages are put into the process memory file
 * (frontend/lib/procmem.c), which goes to apird with RegMr at offset addr
 * (in a guest: the pages are locked and named by guest-physical extents);
 * apird maps the region's pages of it and answers with the keys. iova is
 * the address remote peers use (perftest sends the raw buffer address, so
 * ibv_reg_mr registers iova == addr).
 */
#include <errno.h>
#include <stdlib.h>

#include "core.h"
#include "queues.h"

static int reg_mr_remote(struct apir_session *s, struct apir_mr *mr,
			 const struct apir_mem_ref *ref, uint64_t iova, unsigned int access)
{
	Apir__RegMr body = APIR__REG_MR__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	Apir__Response *resp;
	unsigned int nfds;
	int rc;

	body.pd = ((struct apir_pd *)mr->ibmr.pd)->handle;
	body.addr = (uintptr_t)mr->ibmr.addr;
	body.length = mr->ibmr.length;
	body.iova = iova;
	body.access = access;
	body.fd_offset = ref->offset;
	body.pages = ref->pages.ext;
	body.n_pages = ref->pages.n;
	req.body_case = APIR__REQUEST__BODY_REG_MR;
	req.reg_mr = &body;
	rc = apir_rpc(s, &req, &ref->fd, ref->fd >= 0, &resp, NULL, &nfds, 0);
	if (rc)
		return rc;
	if (resp->body_case != APIR__RESPONSE__BODY_REG_MR) {
		apir__response__free_unpacked(resp, NULL);
		return EPROTO;
	}
	mr->handle = resp->reg_mr->mr;
	mr->ibmr.handle = mr->handle;
	mr->ibmr.lkey = resp->reg_mr->lkey;
	mr->ibmr.rkey = resp->reg_mr->rkey;
	apir__response__free_unpacked(resp, NULL);
	return 0;
}

/* Remote write or atomic access needs local write (IB spec 10.6.3.1). */
static bool access_ok(unsigned int access)
{
	return (access & IBV_ACCESS_LOCAL_WRITE) ||
	       !(access & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC));
}

static struct ibv_mr *reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			     uint64_t iova, unsigned int access)
{
	struct apir_session *s = to_session(pd->context);
	const struct apir_transport *t = s->conn.t;
	struct apir_mem_ref ref;
	struct apir_mr *mr;
	int rc;

	/* Optional-range bits are hints a device may ignore. */
	access &= ~(unsigned int)IBV_ACCESS_OPTIONAL_RANGE;
	if (!access_ok(access) || length == 0) {
		errno = EINVAL;
		return NULL;
	}
	mr = calloc(1, sizeof(*mr));
	if (!mr) {
		errno = ENOMEM;
		return NULL;
	}
	mr->ibmr.context = pd->context;
	mr->ibmr.pd = pd;
	mr->ibmr.addr = addr;
	mr->ibmr.length = length;
	rc = t->mem_acquire(addr, length, &ref);
	if (!rc) {
		rc = reg_mr_remote(s, mr, &ref, iova, access);
		t->mem_ref_free(&ref);
		if (rc)
			t->mem_release(addr, length);
	}
	if (rc) {
		free(mr);
		errno = rc;
		return NULL;
	}
	return &mr->ibmr;
}

#undef ibv_reg_mr
APIR_EXPORT struct ibv_mr *ibv_reg_mr(struct ibv_pd *pd, void *addr, size_t length, int access)
{
	return reg_mr(pd, addr, length, (uintptr_t)addr, (unsigned int)access);
}

#undef ibv_reg_mr_iova
APIR_EXPORT struct ibv_mr *ibv_reg_mr_iova(struct ibv_pd *pd, void *addr, size_t length,
					   uint64_t iova, int access)
{
	return reg_mr(pd, addr, length, iova, (unsigned int)access);
}

APIR_EXPORT struct ibv_mr *ibv_reg_mr_iova2(struct ibv_pd *pd, void *addr, size_t length,
					    uint64_t iova, unsigned int access)
{
	return reg_mr(pd, addr, length, iova, access);
}

APIR_EXPORT int ibv_dereg_mr(struct ibv_mr *ibmr)
{
	struct apir_mr *mr = (struct apir_mr *)ibmr;
	struct apir_session *s = to_session(ibmr->context);
	Apir__DeregMr body = APIR__DEREG_MR__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	int rc;

	body.mr = mr->handle;
	req.body_case = APIR__REQUEST__BODY_DEREG_MR;
	req.dereg_mr = &body;
	rc = apir_rpc_destroy(s, &req);
	if (rc)
		return rc;
	s->conn.t->mem_release(ibmr->addr, ibmr->length);
	free(mr);
	return 0;
}

/* Not supported: the old MR stays valid, as the verb promises on failure. */
APIR_EXPORT int ibv_rereg_mr(struct ibv_mr *mr, int flags, struct ibv_pd *pd, void *addr,
			     size_t length, int access)
{
	(void)mr;
	(void)flags;
	(void)pd;
	(void)addr;
	(void)length;
	(void)access;
	errno = EOPNOTSUPP;
	return IBV_REREG_MR_ERR_CMD;
}
