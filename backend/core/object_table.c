/* SPDX-License-Identifier: MIT */
/*
 * Per-session handle tables. A handle is slot index + 1. Allocation walks
 * forward from the last handle given out and wraps only when at least half
 * of the slots are free (otherwise the table doubles), so a freed handle is
 * not handed out again soon: a frontend that uses a stale handle gets
 * EINVAL rather than someone else's object.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "object_table.h"

#define TABLE_MIN_CAP 16u

int apird_table_init(struct apird_table *t, uint32_t limit)
{
	memset(t, 0, sizeof(*t));
	t->limit = limit;
	return 0;
}

void apird_table_fini(struct apird_table *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static int table_grow(struct apird_table *t)
{
	uint32_t cap = t->cap ? t->cap * 2 : TABLE_MIN_CAP;
	void **slots;

	if (cap < t->cap)
		return -ENOMEM;
	slots = realloc(t->slots, (size_t)cap * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	memset(slots + t->cap, 0, (size_t)(cap - t->cap) * sizeof(*slots));
	t->slots = slots;
	t->cap = cap;
	return 0;
}

/* First free slot at or after from, or cap if there is none. */
static uint32_t table_free_slot(const struct apird_table *t, uint32_t from)
{
	uint32_t i;

	for (i = from; i < t->cap; i++)
		if (!t->slots[i])
			break;
	return i;
}

uint32_t apird_table_insert(struct apird_table *t, void *obj)
{
	uint32_t slot;

	if (!obj || t->count >= t->limit)
		return 0;
	slot = table_free_slot(t, t->next_hint);
	if (slot == t->cap) {
		if (t->count * 2 < t->cap) {
			slot = table_free_slot(t, 0);
		} else {
			if (table_grow(t))
				return 0;
			slot = table_free_slot(t, slot);
		}
	}
	t->slots[slot] = obj;
	t->count++;
	t->next_hint = slot + 1;
	return slot + 1;
}

void *apird_table_get(const struct apird_table *t, uint32_t handle)
{
	if (handle == 0 || handle > t->cap)
		return NULL;
	return t->slots[handle - 1];
}

void *apird_table_remove(struct apird_table *t, uint32_t handle)
{
	void *obj = apird_table_get(t, handle);

	if (obj) {
		t->slots[handle - 1] = NULL;
		t->count--;
	}
	return obj;
}

uint32_t apird_table_next(const struct apird_table *t, uint32_t after)
{
	for (uint32_t i = after; i < t->cap; i++)
		if (t->slots[i])
			return i + 1;
	return 0;
}
