/* SPDX-License-Identifier: MIT */
/*
 * Protection and data movement: every lkey and rkey is checked against what
 * its owner registered before a byte moves, then bytes move by memmove
 * between apird's mappings of the regions (memmove: a guest may name
 * overlapping buffers, which must not be undefined behaviour in apird).
 */
#include <string.h>

#include "sw.h"

/* Offset of [addr, addr + len) inside mr, or false when it sticks out
 * (written so that no sum can overflow). */
static bool mr_range(const struct apird_mr *mr, uint64_t addr, uint64_t len, uint64_t *off)
{
	if (addr < mr->iova)
		return false;
	*off = addr - mr->iova;
	return *off <= mr->length && len <= mr->length - *off;
}

static enum ibv_wc_status sge_resolve(struct verbs_dev *d, const struct apird_session *s,
				      const struct apird_pd *pd, const struct apir_sge *sge,
				      bool write, struct sw_seg *out)
{
	struct apird_mr *mr = apird_mr_lookup(d, sge->lkey);
	uint64_t off;

	if (!mr || mr->lkey != sge->lkey || mr->session != s || mr->pd != pd)
		return IBV_WC_LOC_PROT_ERR;
	if (write && !(mr->access & IBV_ACCESS_LOCAL_WRITE))
		return IBV_WC_LOC_PROT_ERR;
	if (!mr_range(mr, sge->addr, sge->length, &off))
		return IBV_WC_LOC_PROT_ERR;
	out->p = mr->base + off;
	out->len = sge->length;
	out->mr = mr;
	return IBV_WC_SUCCESS;
}

/* Zero-length SGEs are skipped without a key check: they name no byte. */
enum ibv_wc_status sw_sgl_resolve(struct verbs_dev *d, const struct apird_session *s,
				  const struct apird_pd *pd, const struct apir_sge *sge,
				  uint32_t num, bool write, uint64_t max_len, struct sw_sgl *out)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i < num; i++)
		total += sge[i].length;
	if (total > max_len)
		return IBV_WC_LOC_LEN_ERR;
	out->num = 0;
	out->len = total;
	for (uint32_t i = 0; i < num; i++) {
		enum ibv_wc_status st;

		if (!sge[i].length)
			continue;
		st = sge_resolve(d, s, pd, &sge[i], write, &out->seg[out->num]);
		if (st != IBV_WC_SUCCESS)
			return st;
		out->num++;
	}
	return IBV_WC_SUCCESS;
}

/* A zero-length RDMA names no byte, so its rkey is not checked (the IBA
 * lets a responder skip the R_Key check for a zero-length request). */
enum ibv_wc_status sw_remote_resolve(struct verbs_dev *d, const struct apird_qp *responder,
				     uint32_t rkey, uint64_t addr, uint64_t len,
				     unsigned int access, struct sw_sgl *out)
{
	struct apird_mr *mr;
	uint64_t off;

	out->num = 0;
	out->len = len;
	if (!len)
		return IBV_WC_SUCCESS;
	mr = apird_mr_lookup(d, rkey);
	if (!mr || mr->rkey != rkey || mr->pd != responder->pd)
		return IBV_WC_REM_ACCESS_ERR;
	if ((mr->access & access) != access || (responder->attr.qp_access_flags & access) != access)
		return IBV_WC_REM_ACCESS_ERR;
	if (!mr_range(mr, addr, len, &off))
		return IBV_WC_REM_ACCESS_ERR;
	sw_sgl_single(out, mr->base + off, (uint32_t)len);
	out->seg[0].mr = mr;
	return IBV_WC_SUCCESS;
}

void sw_sgl_single(struct sw_sgl *l, void *p, uint32_t len)
{
	l->seg[0].p = p;
	l->seg[0].len = len;
	l->seg[0].mr = NULL;
	l->num = len ? 1 : 0;
	l->len = len;
}

struct cursor {
	const struct sw_sgl *l;
	uint32_t i;
	uint32_t off;
};

static void copy_span(struct cursor *d, struct cursor *s, uint64_t len)
{
	while (len) {
		const struct sw_seg *ds = &d->l->seg[d->i], *ss = &s->l->seg[s->i];
		uint64_t n = len;

		if (n > ds->len - d->off)
			n = ds->len - d->off;
		if (n > ss->len - s->off)
			n = ss->len - s->off;
		memmove(ds->p + d->off, ss->p + s->off, n);
		len -= n;
		d->off += n;
		s->off += n;
		if (d->off == ds->len) {
			d->i++;
			d->off = 0;
		}
		if (s->off == ss->len) {
			s->i++;
			s->off = 0;
		}
	}
}

/*
 * Copies len bytes (no more than either list holds; lists hold no empty
 * segments). Applications such as ib_write_lat spin on the last byte of a
 * buffer with no verbs call, so the last byte is stored only after every
 * other byte is visible. (glibc's memmove ends its non-temporal path with
 * sfence, so the fence here also orders those stores.)
 */
void sw_copy(const struct sw_sgl *dst, const struct sw_sgl *src, uint64_t len)
{
	struct cursor dc = { .l = dst }, sc = { .l = src };

	if (!len)
		return;
	copy_span(&dc, &sc, len - 1);
	atomic_thread_fence(memory_order_release);
	copy_span(&dc, &sc, 1);
}
