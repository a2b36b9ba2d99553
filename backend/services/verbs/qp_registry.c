/* SPDX-License-Identifier: MIT */
/*
 * Daemon-wide QP and SRQ numbers. Numbers are 24 bits (they travel in BTH
 * and DETH fields); 0 and 1 are the special QP0/QP1 of IB management.
 * Allocation moves forward and wraps, so a destroyed QP's number is not
 * reused while a peer may still name it.
 */
#include <errno.h>

#include "verbs.h"

#define NUM_FIRST 2u
#define NUM_LAST 0xffffffu

static int number_assign(struct apird_num_map *m, uint32_t *next, void *obj, uint32_t *out)
{
	uint32_t n = *next;

	if (m->count >= NUM_LAST - NUM_FIRST + 1)
		return -ENOMEM;
	for (;;) {
		if (n < NUM_FIRST || n > NUM_LAST)
			n = NUM_FIRST;
		if (!apird_num_map_get(m, n))
			break;
		n++;
	}
	if (apird_num_map_insert(m, n, obj))
		return -ENOMEM;
	*out = n;
	*next = n + 1;
	return 0;
}

int apird_qpn_assign(struct verbs_dev *d, struct apird_qp *qp)
{
	return number_assign(&d->qps, &d->next_qpn, qp, &qp->qp_num);
}

void apird_qpn_release(struct verbs_dev *d, struct apird_qp *qp)
{
	apird_num_map_remove(&d->qps, qp->qp_num);
}

int apird_srqn_assign(struct verbs_dev *d, struct apird_srq *srq)
{
	return number_assign(&d->srqs, &d->next_srqn, srq, &srq->srq_num);
}

void apird_srqn_release(struct verbs_dev *d, struct apird_srq *srq)
{
	apird_num_map_remove(&d->srqs, srq->srq_num);
}

struct apird_qp *apird_qp_lookup(struct verbs_dev *d, uint32_t qp_num)
{
	return apird_num_map_get(&d->qps, qp_num);
}

struct apird_srq *apird_srq_lookup(struct verbs_dev *d, uint32_t srq_num)
{
	return apird_num_map_get(&d->srqs, srq_num);
}
