/* SPDX-License-Identifier: MIT */
/*
 * memcpy_bw: single-core memcpy bandwidth, the ceiling for apird's software
 * engine (an RDMA op between two co-located regions is one memcpy).
 *
 *   memcpy_bw SIZE...     prints "SIZE GB/s" per size (GB = 1e9 bytes), the
 *                         best of ROUNDS measurements
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MEASURE_SECONDS 0.1
#define ROUNDS 5   /* the best round: other load only ever slows a round down */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Copies src to dst until MEASURE_SECONDS pass; returns bytes per second. */
static double copy_rate(void *dst, const void *src, size_t size)
{
	unsigned long copies = 0;
	double start = now_s(), elapsed;

	do {
		for (int i = 0; i < 64; i++) {
			memcpy(dst, src, size);
			/* The copy has an observer: the compiler may not drop it. */
			__asm__ volatile("" : : "r"(dst) : "memory");
		}
		copies += 64;
		elapsed = now_s() - start;
	} while (elapsed < MEASURE_SECONDS);
	return (double)copies * (double)size / elapsed;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: memcpy_bw SIZE...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		size_t size = strtoull(argv[i], NULL, 0);
		void *src, *dst;

		if (size == 0 || posix_memalign(&src, 4096, size) || posix_memalign(&dst, 4096, size)) {
			fprintf(stderr, "memcpy_bw: bad size or out of memory: %s\n", argv[i]);
			return 1;
		}
		memset(src, 0x5a, size);
		memset(dst, 0, size);
		double best = copy_rate(dst, src, size); /* also warms caches and page tables */

		for (int r = 0; r < ROUNDS; r++) {
			double rate = copy_rate(dst, src, size);

			if (rate > best)
				best = rate;
		}
		printf("%zu %.2f\n", size, best / 1e9);
		free(src);
		free(dst);
	}
	return 0;
}
