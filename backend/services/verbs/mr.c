/* SPDX-License-Identifier: MIT */
/*
 * Memory regions: RegMr, DeregMr. The frontend moved the region's pages
 * into a memfd sealed against shrinking; apird maps the same pages, so
 * RDMA operations become memcpy between mappings. The seal is what makes
 * the mapping safe: the frontend cannot truncate the file under apird.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "control.h"
#include "dispatch.h"
#include "vm.h"

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

static int check_memfd(struct apird_call *c, int fd, const Apir__RegMr *m)
{
	struct stat st;
	int seals;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return apird_fail(c, EINVAL, "the region's fd is not a memfd");
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return apird_fail(c, EINVAL, "the region's fd is not a memfd (it has no seals)");
	if (!(seals & F_SEAL_SHRINK))
		return apird_fail(c, EINVAL, "the region's memfd is not sealed with F_SEAL_SHRINK");
	if ((uint64_t)st.st_size < m->fd_offset + m->length)
		return apird_fail(c, EINVAL, "the memfd holds %lld bytes, the region ends at %llu",
				  (long long)st.st_size,
				  (unsigned long long)(m->fd_offset + m->length));
	return 0;
}

/* Writable only if the access flags let anyone write: least privilege for
 * engine bugs. */
static int region_prot(uint32_t access)
{
	return PROT_READ | (access & MR_ACCESS_WRITABLE ? PROT_WRITE : 0);
}

/* Maps the pages holding [fd_offset, fd_offset + length). */
static int map_region(struct apird_call *c, int fd, const Apir__RegMr *m, struct apird_mr *mr)
{
	uint64_t map_off = m->fd_offset & ~(uint64_t)(APIR_PAGE_SIZE - 1);
	int prot = region_prot(m->access);

	mr->map_len = apir_align_up(m->fd_offset - map_off + m->length, APIR_PAGE_SIZE);
	mr->map = mmap(NULL, mr->map_len, prot, MAP_SHARED, fd, (off_t)map_off);
	if (mr->map == MAP_FAILED) {
		int err = errno;

		mr->map = NULL;
		if (err == EPERM)
			return apird_fail(c, EACCES, "the region's memfd is write-sealed but the "
					  "access flags allow writes");
		return apird_fail(c, err, "cannot map the region's memfd");
	}
	mr->base = (uint8_t *)mr->map + (m->fd_offset - map_off);
	return 0;
}

static int check_reg_mr(struct apird_call *c, const Apir__RegMr *m)
{
	int rc = check_access(c, m->access);

	if (!rc)
		rc = check_range(c, m);
	if (rc || c->s->vm)
		return rc;   /* guest extents are checked as they are mapped */
	if (m->n_pages)
		return apird_fail(c, EINVAL, "guest-physical pages are for the virtio-serial transport");
	return check_memfd(c, c->in->fds[0], m);
}

int apird_do_reg_mr(struct apird_call *c)
{
	const Apir__RegMr *m = c->req->reg_mr;
	struct apird_pd *pd = apird_call_object(c, &c->s->pds, m->pd, "PD");
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
	if (c->s->vm)
		rc = apird_vm_map_region(c, m, region_prot(m->access), mr);
	else
		rc = map_region(c, c->in->fds[0], m, mr);
	if (rc)
		goto fail;
	rc = apird_mr_keys_assign(c->d, mr);
	if (rc) {
		rc = apird_fail(c, -rc, "no memory key available");
		goto fail_unmap;
	}
	rc = apird_fabric_mr_register(c->d, mr);
	if (rc) {
		rc = apird_fail(c, -rc, "cannot register the region with the fabric");
		goto fail_keys;
	}
	mr->handle = apird_table_insert(&c->s->mrs, mr);
	if (!mr->handle) {
		rc = apird_fail(c, ENOMEM, "at most %u MRs per context", APIRD_MAX_MR);
		goto fail_fabric;
	}
	pd->refs++;
	apir__reg_mr_reply__init(&c->reply.reg_mr);
	c->reply.reg_mr.mr = mr->handle;
	c->reply.reg_mr.lkey = mr->lkey;
	c->reply.reg_mr.rkey = mr->rkey;
	c->resp.body_case = APIR__RESPONSE__BODY_REG_MR;
	c->resp.reg_mr = &c->reply.reg_mr;
	return 0;
fail_fabric:
	apird_fabric_mr_unregister(c->d, mr);
fail_keys:
	apird_mr_keys_release(c->d, mr);
fail_unmap:
	munmap(mr->map, mr->map_len);
fail:
	free(mr);
	return rc;
}

int apird_do_dereg_mr(struct apird_call *c)
{
	struct apird_mr *mr = apird_call_object(c, &c->s->mrs, c->req->dereg_mr->mr, "MR");

	if (!mr)
		return EINVAL;
	apird_mr_destroy(c->s, mr);
	return 0;
}

void apird_mr_destroy(struct apird_session *s, struct apird_mr *mr)
{
	apird_mr_keys_release(s->d, mr);
	/* Revoked for peers first; the fabric engine may keep the mapping
	 * while its own operations still move bytes in it. */
	apird_fabric_mr_unregister(s->d, mr);
	if (mr->map)
		munmap(mr->map, mr->map_len);
	mr->pd->refs--;
	apird_table_remove(&s->mrs, mr->handle);
	free(mr);
}
