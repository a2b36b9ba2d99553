/* SPDX-License-Identifier: MIT */
/*
 * shm_pingpong: round trip between two processes that spin on one shared
 * cache line. The floor for any latency through shared-memory rings.
 *
 *   shm_pingpong [ITERATIONS]    prints "median_us p99_us" of batch averages
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH 1000u

struct line {
	_Alignas(64) _Atomic uint64_t ping;
	_Alignas(64) _Atomic uint64_t pong;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static void echo_forever(struct line *l)
{
	uint64_t seen = 0;

	for (;;) {
		uint64_t v;

		while ((v = atomic_load_explicit(&l->ping, memory_order_acquire)) == seen)
			;
		seen = v;
		atomic_store_explicit(&l->pong, v, memory_order_release);
	}
}

static double batch_rtt(struct line *l, uint64_t *seq)
{
	double start = now_us();

	for (unsigned int i = 0; i < BATCH; i++) {
		uint64_t v = ++*seq;

		atomic_store_explicit(&l->ping, v, memory_order_release);
		while (atomic_load_explicit(&l->pong, memory_order_acquire) != v)
			;
	}
	return (now_us() - start) / BATCH;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 200000;
	unsigned int batches = (unsigned int)(iters / BATCH);
	struct line *l = mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double *rtt = calloc(batches ? batches : 1, sizeof(double));
	uint64_t seq = 0;
	pid_t child;

	if (l == MAP_FAILED || !rtt || batches == 0) {
		fprintf(stderr, "shm_pingpong: setup failed\n");
		return 1;
	}
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0)
		echo_forever(l);
	batch_rtt(l, &seq); /* warm up */
	for (unsigned int b = 0; b < batches; b++)
		rtt[b] = batch_rtt(l, &seq);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	qsort(rtt, batches, sizeof(double), cmp_double);
	printf("%.3f %.3f\n", rtt[batches / 2], rtt[(batches * 99) / 100]);
	free(rtt);
	return 0;
}
