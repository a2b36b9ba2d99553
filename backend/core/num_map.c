/* SPDX-License-Identifier: MIT */
/*
 * Open addressing with linear probing, kept at most half full. Deletion
 * shifts the following entries back instead of leaving tombstones, so a
 * lookup never walks more than the cluster it belongs to.
 */
#include "num_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NUM_MAP_MIN_CAP 64u

/* murmur3's finalizer: spreads sequential QPNs over the whole table. */
static uint32_t num_hash(uint32_t k)
{
	k ^= k >> 16;
	k *= 0x85ebca6bu;
	k ^= k >> 13;
	k *= 0xc2b2ae35u;
	k ^= k >> 16;
	return k;
}

static uint32_t num_find(const struct apird_num_map *m, uint32_t key)
{
	uint32_t mask = m->cap - 1;
	uint32_t i = num_hash(key) & mask;

	while (m->slots[i].key && m->slots[i].key != key)
		i = (i + 1) & mask;
	return i;
}

static int num_map_resize(struct apird_num_map *m, uint32_t cap)
{
	struct apird_num_map bigger = { .cap = cap };

	bigger.slots = calloc(cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			bigger.slots[num_find(&bigger, m->slots[i].key)] = m->slots[i];
	bigger.count = m->count;
	free(m->slots);
	*m = bigger;
	return 0;
}

int apird_num_map_insert(struct apird_num_map *m, uint32_t key, void *val)
{
	uint32_t i;

	if (key == 0)
		return -EINVAL;
	if ((m->count + 1) * 2 > m->cap) {
		uint32_t cap = m->cap ? m->cap * 2 : NUM_MAP_MIN_CAP;

		if (cap < m->cap || num_map_resize(m, cap))
			return -ENOMEM;
	}
	i = num_find(m, key);
	if (m->slots[i].key)
		return -EEXIST;
	m->slots[i].key = key;
	m->slots[i].val = val;
	m->count++;
	return 0;
}

void *apird_num_map_get(const struct apird_num_map *m, uint32_t key)
{
	uint32_t i;

	if (key == 0 || m->cap == 0)
		return NULL;
	i = num_find(m, key);
	return m->slots[i].key ? m->slots[i].val : NULL;
}

void *apird_num_map_remove(struct apird_num_map *m, uint32_t key)
{
	uint32_t mask = m->cap - 1;
	uint32_t hole, j;
	void *val;

	if (key == 0 || m->cap == 0)
		return NULL;
	hole = num_find(m, key);
	if (!m->slots[hole].key)
		return NULL;
	val = m->slots[hole].val;
	m->slots[hole].key = 0;
	m->count--;
	/* Move back every later entry of the cluster whose home slot is not
	 * between the hole and its current slot (cyclically). */
	for (j = (hole + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		uint32_t home = num_hash(m->slots[j].key) & mask;

		if (((j - home) & mask) >= ((j - hole) & mask)) {
			m->slots[hole] = m->slots[j];
			m->slots[j].key = 0;
			hole = j;
		}
	}
	return val;
}

void apird_num_map_fini(struct apird_num_map *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}
