/* SPDX-License-Identifier: MIT */
/*
 * Fabric registrations of apird MRs. Each MR is registered with the fabric
 * domain over apird's own mapping of it, under a random 64-bit key that
 * only apirds see (requested, unless the provider picks keys itself). A
 * guest's rkey is checked by the apird that owns the memory before any
 * fabric key is used, so these keys only let two apirds move bytes a
 * validated request names.
 *
 * Deregistration closes the fabric registration at once: no peer can reach
 * the region afterwards. Pages that an operation of this apird still moves
 * stay mapped (the region is "retired") until the operation completes.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "apir/log.h"
#include "fabric.h"

#define FAB_KEY_TRIES 16
#define MR_WRITABLE (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)

static uint64_t random_key(const struct apird_fabric *f)
{
	uint64_t k = 0;

	while (getrandom(&k, sizeof(k), 0) != (ssize_t)sizeof(k))
		;
	return k & f->key_mask;
}

/* Peers read every region (a bulk request's source, a READ's target) and
 * write only those apird maps writable. */
static uint64_t fabric_access(const struct apird_mr *mr)
{
	uint64_t access = FI_READ | FI_WRITE | FI_REMOTE_READ;

	if (mr->access & MR_WRITABLE)
		access |= FI_REMOTE_WRITE;
	return access;
}

int fab_mr_reg(struct apird_fabric *f, void *buf, size_t len, uint64_t access,
	       struct fid_mr **mr)
{
	int ret = -FI_ENOKEY;

	for (int i = 0; i < FAB_KEY_TRIES && ret == -FI_ENOKEY; i++)
		ret = fi_mr_reg(f->domain, buf, len, access, 0, f->prov_key ? 0 : random_key(f), 0,
				mr, NULL);
	return ret;
}

int apird_fabric_mr_register(struct verbs_dev *d, struct apird_mr *mr)
{
	struct apird_fabric *f = fab_of(d);
	struct fab_region *r;
	int ret;

	if (!f)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	ret = fab_mr_reg(f, mr->base, mr->length, fabric_access(mr), &r->mr);
	if (ret) {
		fab_log_fi("registering a memory region", ret);
		free(r);
		return ret == -FI_ENOMEM ? -ENOMEM : -EIO;
	}
	r->key = fi_mr_key(r->mr);
	r->desc = fi_mr_desc(r->mr);
	r->base = mr->base;
	mr->link_priv = r;
	return 0;
}

static void region_free(struct fab_region *r)
{
	if (r->mr)
		fi_close(&r->mr->fid);
	if (r->map)
		munmap(r->map, r->map_len);
	free(r);
}

void apird_fabric_mr_unregister(struct verbs_dev *d, struct apird_mr *mr)
{
	struct apird_fabric *f = fab_of(d);
	struct fab_region *r = mr->link_priv;

	if (!r)
		return;
	mr->link_priv = NULL;
	fi_close(&r->mr->fid);
	r->mr = NULL;
	if (!r->refs) {
		free(r);
		return;
	}
	r->map = mr->map;
	r->map_len = mr->map_len;
	mr->map = NULL;
	r->next = f->retired;
	f->retired = r;
}

void fab_region_get(struct fab_region *r)
{
	if (r)
		r->refs++;
}

void fab_pins_take(struct fab_pins *p, const struct sw_sgl *l)
{
	for (uint32_t i = 0; i < l->num; i++) {
		p->r[i] = l->seg[i].mr ? l->seg[i].mr->link_priv : NULL;
		fab_region_get(p->r[i]);
	}
	p->num = l->num;
}

static void retired_remove(struct apird_fabric *f, struct fab_region *r)
{
	for (struct fab_region **pp = &f->retired; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			return;
		}
	}
}

void fab_region_put(struct apird_fabric *f, struct fab_region *r)
{
	if (r && --r->refs == 0 && !r->mr) {
		retired_remove(f, r);
		region_free(r);
	}
}

void fab_pins_release(struct apird_fabric *f, struct fab_pins *p)
{
	for (uint32_t i = 0; i < p->num; i++)
		fab_region_put(f, p->r[i]);
	p->num = 0;
}

void fab_seg_describe(const struct apird_fabric *f, const struct sw_seg *s,
		      struct apir_fab_seg *out)
{
	const struct fab_region *r = s->mr->link_priv;

	out->key = r->key;
	out->addr = f->virt_addr ? (uint64_t)(uintptr_t)s->p : (uint64_t)(s->p - r->base);
	out->length = s->len;
	out->reserved = 0;
}

void fab_regions_free(struct apird_fabric *f)
{
	while (f->retired) {
		struct fab_region *r = f->retired;

		f->retired = r->next;
		region_free(r);
	}
}
