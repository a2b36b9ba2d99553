/* SPDX-License-Identifier: MIT */
/* A hash map from non-zero 32-bit numbers (QPNs, SRQ numbers, memory keys)
 * to objects, for the lookups the engine makes on every work request. */
#ifndef APIRD_NUM_MAP_H
#define APIRD_NUM_MAP_H

#include <stdint.h>

struct apird_num_slot {
	uint32_t key;                /* 0: empty */
	void *val;
};

struct apird_num_map {
	struct apird_num_slot *slots;
	uint32_t cap;                /* power of two, or 0 before the first insert */
	uint32_t count;
};

/* Returns 0, -EINVAL for key 0, -EEXIST or -ENOMEM. */
int apird_num_map_insert(struct apird_num_map *m, uint32_t key, void *val);
void *apird_num_map_get(const struct apird_num_map *m, uint32_t key);
/* Returns the removed value or NULL. */
void *apird_num_map_remove(struct apird_num_map *m, uint32_t key);
void apird_num_map_fini(struct apird_num_map *m);

#endif /* APIRD_NUM_MAP_H */
