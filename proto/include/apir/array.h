/* SPDX-License-Identifier: MIT */
/*
 * Growing arrays by doubling, so that appending N elements one at a time
 * costs O(N) copies. Every growable array of apir goes through here: one
 * realloc(len + 1) per element turned a guest that stopped reading its port
 * into quadratic work for apird.
 */
#ifndef APIR_ARRAY_H
#define APIR_ARRAY_H

#include <stddef.h>

/*
 * Returns array with room for need elements of elem bytes, its capacity
 * being *cap: array itself if need <= *cap, else a reallocation whose
 * capacity (stored in *cap) at least doubles. Returns NULL when out of
 * memory or on overflow; array and *cap are then unchanged.
 */
void *apir_array_grow(void *array, size_t *cap, size_t need, size_t elem);

#endif /* APIR_ARRAY_H */
