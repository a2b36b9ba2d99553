/* SPDX-License-Identifier: MIT */
#include "pattern.h"

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint8_t pattern_byte(uint64_t seed, size_t i)
{
	return (uint8_t)(mix64(seed * 0x100000001b3ull + i / 8) >> ((i % 8) * 8));
}

void pattern_fill(uint8_t *dst, size_t len, uint64_t seed, size_t first)
{
	for (size_t k = 0; k < len; k++)
		dst[k] = pattern_byte(seed, first + k);
}

bool pattern_matches(const uint8_t *buf, size_t len, uint64_t seed, size_t first,
		     struct pattern_mismatch *bad)
{
	for (size_t k = 0; k < len; k++) {
		uint8_t want = pattern_byte(seed, first + k);

		if (buf[k] != want) {
			*bad = (struct pattern_mismatch){ .index = k, .got = buf[k], .want = want };
			return false;
		}
	}
	return true;
}
