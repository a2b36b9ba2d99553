/* SPDX-License-Identifier: MIT */
/*
 * ctrl_rtt: cost of control-plane verbs through apir (each one a request and
 * a response on the control socket): ibv_reg_mr of 4 KiB with its
 * ibv_dereg_mr, and ibv_alloc_pd with its ibv_dealloc_pd. An ordinary verbs
 * application: run it through apir-run.
 *
 *   ctrl_rtt [ITERATIONS]
 * prints lines "NAME median_us p99_us".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <infiniband/verbs.h>

#define REG_LEN 4096u

struct samples {
	double *us;
	unsigned int n;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void print_samples(const char *name, struct samples *s)
{
	qsort(s->us, s->n, sizeof(double), cmp_double);
	printf("%s %.2f %.2f\n", name, s->us[s->n / 2], s->us[(s->n * 99) / 100]);
}

static int time_reg_mr(struct ibv_pd *pd, void *buf, struct samples *reg, struct samples *dereg)
{
	for (unsigned int i = 0; i < reg->n; i++) {
		double t0 = now_us(), t1, t2;
		struct ibv_mr *mr = ibv_reg_mr(pd, buf, REG_LEN, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);

		t1 = now_us();
		if (!mr) {
			fprintf(stderr, "ctrl_rtt: ibv_reg_mr: %s\n", strerror(errno));
			return -1;
		}
		if (ibv_dereg_mr(mr)) {
			fprintf(stderr, "ctrl_rtt: ibv_dereg_mr: %s\n", strerror(errno));
			return -1;
		}
		t2 = now_us();
		reg->us[i] = t1 - t0;
		dereg->us[i] = t2 - t1;
	}
	return 0;
}

static int time_alloc_pd(struct ibv_context *ctx, struct samples *pair)
{
	for (unsigned int i = 0; i < pair->n; i++) {
		double t0 = now_us();
		struct ibv_pd *pd = ibv_alloc_pd(ctx);

		if (!pd || ibv_dealloc_pd(pd)) {
			fprintf(stderr, "ctrl_rtt: ibv_alloc_pd/ibv_dealloc_pd: %s\n", strerror(errno));
			return -1;
		}
		/* Two round trips: report one. */
		pair->us[i] = (now_us() - t0) / 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int n = argc > 1 ? (unsigned int)strtoul(argv[1], NULL, 0) : 2000;
	struct samples reg = { calloc(n, sizeof(double)), n };
	struct samples dereg = { calloc(n, sizeof(double)), n };
	struct samples pd_rtt = { calloc(n, sizeof(double)), n };
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = list && list[0] ? ibv_open_device(list[0]) : NULL;
	struct ibv_pd *pd = ctx ? ibv_alloc_pd(ctx) : NULL;
	void *buf = NULL;
	int rc = 1;

	if (n == 0 || !reg.us || !dereg.us || !pd_rtt.us || !pd || posix_memalign(&buf, 4096, REG_LEN)) {
		fprintf(stderr, "ctrl_rtt: setup failed (no device, or out of memory): %s\n", strerror(errno));
		goto out;
	}
	memset(buf, 0, REG_LEN);
	if (time_reg_mr(pd, buf, &reg, &dereg) || time_alloc_pd(ctx, &pd_rtt))
		goto out;
	print_samples("reg_mr_4k", &reg);
	print_samples("dereg_mr_4k", &dereg);
	print_samples("alloc_pd", &pd_rtt);
	rc = 0;
out:
	if (pd)
		ibv_dealloc_pd(pd);
	if (ctx)
		ibv_close_device(ctx);
	if (list)
		ibv_free_device_list(list);
	free(buf);
	free(reg.us);
	free(dereg.us);
	free(pd_rtt.us);
	return rc;
}
