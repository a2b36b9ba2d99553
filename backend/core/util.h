/* SPDX-License-Identifier: MIT */
/* Small helpers every part of apird uses, one home each. */
#ifndef APIRD_UTIL_H
#define APIRD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The struct of type that holds ptr as its member (libfabric's headers
 * define the same macro). */
#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#define APIRD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* CLOCK_MONOTONIC in nanoseconds: every deadline of apird is on it. */
static inline uint64_t apird_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* APIRD_UTIL_H */
