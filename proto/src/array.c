/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>

#include "apir/array.h"

#define ARRAY_MIN_CAP 8

void *apir_array_grow(void *array, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap <= SIZE_MAX / 2 ? 2 * *cap : SIZE_MAX;

	if (need <= *cap)
		return array;
	if (n < ARRAY_MIN_CAP)
		n = ARRAY_MIN_CAP;
	if (n < need)
		n = need;
	if (!elem || n > SIZE_MAX / elem)
		return NULL;
	array = realloc(array, n * elem);
	if (array)
		*cap = n;
	return array;
}
