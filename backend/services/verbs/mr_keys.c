/* SPDX-License-Identifier: MIT */
/*
 * Memory keys are random so that one tenant cannot guess another's rkey
 * from its own, and lkey != rkey so that handing out an lkey grants no
 * remote access. Both live in one map: apird_mr_lookup() takes either.
 */
#include <errno.h>
#include <sys/random.h>

#include "verbs.h"

/* A random key that is non-zero and not in use. */
static int random_free_key(const struct apird_num_map *m, uint32_t *key)
{
	for (;;) {
		ssize_t n = getrandom(key, sizeof(*key), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(*key))
			return n < 0 ? -errno : -EIO;
		if (*key && !apird_num_map_get(m, *key))
			return 0;
	}
}

int apird_mr_keys_assign(struct verbs_dev *d, struct apird_mr *mr)
{
	struct apird_num_map *m = &d->mr_keys;
	int rc;

	rc = random_free_key(m, &mr->lkey);
	if (!rc)
		rc = apird_num_map_insert(m, mr->lkey, mr);
	if (rc)
		return rc;
	rc = random_free_key(m, &mr->rkey);
	if (!rc)
		rc = apird_num_map_insert(m, mr->rkey, mr);
	if (rc)
		apird_num_map_remove(m, mr->lkey);
	return rc;
}

void apird_mr_keys_release(struct verbs_dev *d, struct apird_mr *mr)
{
	apird_num_map_remove(&d->mr_keys, mr->lkey);
	apird_num_map_remove(&d->mr_keys, mr->rkey);
}

struct apird_mr *apird_mr_lookup(struct verbs_dev *d, uint32_t key)
{
	return apird_num_map_get(&d->mr_keys, key);
}
