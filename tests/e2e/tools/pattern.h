/* SPDX-License-Identifier: MIT */
/*
 * Test patterns: byte i of the pattern named by a seed is a pure function of
 * (seed, i), so any sub-range of a buffer can be written or checked on its
 * own, in any process.
 */
#ifndef PATTERN_H
#define PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint8_t pattern_byte(uint64_t seed, size_t i);

/* dst[k] = pattern_byte(seed, first + k) for k in [0, len). */
void pattern_fill(uint8_t *dst, size_t len, uint64_t seed, size_t first);

/* The first k with buf[k] != pattern_byte(seed, first + k). */
struct pattern_mismatch {
	size_t index;
	uint8_t got;
	uint8_t want;
};

/* True when buf[0..len) is the pattern; otherwise fills *bad. */
bool pattern_matches(const uint8_t *buf, size_t len, uint64_t seed, size_t first,
		     struct pattern_mismatch *bad);

#endif /* PATTERN_H */
