/* SPDX-License-Identifier: MIT */
/*
 * Memory regions: RegMr, DeregMr. apird maps the region's own pages, as
 * the session's transport names them (a sealed memfd the frontend moved
 * them into, guest pages), so RDMA operations become memcpy between
 * mappings.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "handlers.h"

#define MR_ACCESS_SUPPORTED (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			     IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC | IBV_ACCESS_HUGETLB)
#define MR_ACCESS_UNSUPPORTED (IBV_ACCESS_MW_BIND | IBV_ACCESS_ZERO_BASED | IBV_ACCESS_ON_DEMAND)
#define MR_ACCESS_WRITABLE (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			    IBV_ACCESS_REMOTE_ATOMIC)

/* Optional flags (IBV_ACCESS_OPTIONAL_RANGE, e.g. RELAXED_ORDERING) may be
 * ignored by a device, so they are accepted and dropped. */
static int check_access(struct apird_call *c, uint32_t access)
{
	uint32_t known = MR_ACCESS_SUPPORTED | MR_ACCESS_UNSUPPORTED | IBV_ACCESS_OPTIONAL_RANGE;

	if (access & ~known)
		return apird_fail(c, EINVAL, "unknown access flags 0x%x", access & ~known);
	if (access & MR_ACCESS_UNSUPPORTED)
		return apird_fail(c, EOPNOTSUPP, "access flags 0x%x (MW_BIND, ZERO_BASED, ON_DEMAND) "
				  "are not supported", access & MR_ACCESS_UNSUPPORTED);
	if ((access & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)) &&
	    !(access & IBV_ACCESS_LOCAL_WRITE))
		return apird_fail(c, EINVAL, "REMOTE_WRITE and REMOTE_ATOMIC require LOCAL_WRITE");
	return 0;
}

static int check_range(struct apird_call *c, const Apir__RegMr *m)
{
	if (m->length == 0 || m->length > APIRD_MAX_MR_SIZE)
		return apird_fail(c, EINVAL, "length %llu is not in 1..%llu",
				  (unsigned long long)m->length, (unsigned long long)APIRD_MAX_MR_SIZE);
	if (m->addr + m->length < m->addr || m->iova + m->length < m->iova ||
	    m->fd_offset + m->length < m->fd_offset)
		return apird_fail(c, EINVAL, "addr, iova or fd_offset + length wraps around");
	return 0;
}

/* Writable only if the access flags let anyone write: least privilege for
 * engine bugs. */
static int region_prot(uint32_t access)
{
	return PROT_READ | (access & MR_ACCESS_WRITABLE ? PROT_WRITE : 0);
}

static int check_reg_mr(struct apird_call *c, const Apir__RegMr *m)
{
	int rc = check_access(c, m->access);

	return rc ? rc : check_range(c, m);
}

/* The region's pages, as the session's transport names them (transport.h). */
static int map_region(struct apird_call *c, const Apir__RegMr *m, struct apird_mr *mr)
{
	struct apird_mem_ref ref = {
		.fd_index = 0,
		.offset = m->fd_offset,
		.ext = m->pages,
		.n_ext = m->n_pages,
	};
	struct apird_mem_map map;
	int rc = c->s->tr->mem_map(c, &ref, m->length, region_prot(m->access), &map);

	if (rc)
		return rc;
	mr->map = map.map;
	mr->map_len = map.len;
	mr->base = map.base;
	return 0;
}

int apird_do_reg_mr(struct apird_call *c)
{
	const Apir__RegMr *m = c->req->reg_mr;
	struct apird_pd *pd = apird_call_object(c, &call_session(c)->pds, m->pd, "PD");
	struct apird_mr *mr;
	int rc;

	if (!pd)
		return EINVAL;
	rc = check_reg_mr(c, m);
	if (rc)
		return rc;
	mr = calloc(1, sizeof(*mr));
	if (!mr)
		return apird_fail(c, ENOMEM, "out of memory");
	mr->session = c->s;
	mr->pd = pd;
	mr->access = m->access & MR_ACCESS_SUPPORTED;
	mr->iova = m->iova;
	mr->length = m->length;
	rc = map_region(c, m, mr);
	if (rc)
		goto fail;
	rc = apird_mr_keys_assign(call_dev(c), mr);
	if (rc) {
		rc = apird_fail(c, -rc, "no memory key available");
		goto fail_unmap;
	}
	rc = call_dev(c)->engine->reg_mr(call_dev(c), mr);
	if (rc) {
		rc = apird_fail(c, -rc, "cannot register the region with the %s engine",
				call_dev(c)->engine->name);
		goto fail_keys;
	}
	mr->handle = apird_table_insert(&call_session(c)->mrs, mr);
	if (!mr->handle) {
		rc = apird_fail(c, ENOMEM, "at most %u MRs per context", APIRD_MAX_MR);
		goto fail_engine;
	}
	pd->refs++;
	apir__reg_mr_reply__init(&verbs_reply(c)->reg_mr);
	verbs_reply(c)->reg_mr.mr = mr->handle;
	verbs_reply(c)->reg_mr.lkey = mr->lkey;
	verbs_reply(c)->reg_mr.rkey = mr->rkey;
	c->resp.body_case = APIR__RESPONSE__BODY_REG_MR;
	c->resp.reg_mr = &verbs_reply(c)->reg_mr;
	return 0;
fail_engine:
	call_dev(c)->engine->dereg_mr(call_dev(c), mr);
fail_keys:
	apird_mr_keys_release(call_dev(c), mr);
fail_unmap:
	munmap(mr->map, mr->map_len);
fail:
	free(mr);
	return rc;
}

int apird_do_dereg_mr(struct apird_call *c)
{
	struct apird_mr *mr = apird_call_object(c, &call_session(c)->mrs, c->req->dereg_mr->mr, "MR");

	if (!mr)
		return EINVAL;
	apird_mr_destroy(c->s, mr);
	return 0;
}

void apird_mr_destroy(struct apird_session *s, struct apird_mr *mr)
{
	apird_mr_keys_release(verbs_dev_of(s), mr);
	/* Revoked for peers first; the engine may keep the mapping while its
	 * own operations still move bytes in it. */
	verbs_dev_of(s)->engine->dereg_mr(verbs_dev_of(s), mr);
	if (mr->map)
		munmap(mr->map, mr->map_len);
	mr->pd->refs--;
	apird_table_remove(&verbs_session(s)->mrs, mr->handle);
	free(mr);
}
