/* SPDX-License-Identifier: MIT */
/* Handle tables (object_table.c): what a session's objects are named by. */
#ifndef APIRD_OBJECT_TABLE_H
#define APIRD_OBJECT_TABLE_H

#include <stdint.h>

/* A handle table: handle -> object pointer. Handles are 1-based, never 0,
 * and are not reused until the table wraps around. */
struct apird_table {
	void **slots;
	uint32_t cap;
	uint32_t count;
	uint32_t next_hint;
	uint32_t limit;              /* maximum live objects */
};

int apird_table_init(struct apird_table *t, uint32_t limit);
void apird_table_fini(struct apird_table *t);
/* Returns a new handle (> 0) or 0 when full / out of memory. */
uint32_t apird_table_insert(struct apird_table *t, void *obj);
void *apird_table_get(const struct apird_table *t, uint32_t handle);
void *apird_table_remove(struct apird_table *t, uint32_t handle);
/* Iterate: returns the next live handle > after, or 0 at the end. */
uint32_t apird_table_next(const struct apird_table *t, uint32_t after);

#endif /* APIRD_OBJECT_TABLE_H */
