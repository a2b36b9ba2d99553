/* SPDX-License-Identifier: MIT */
/*
 * fabric_baseline: what libfabric itself does between two hosts, the floor
 * under apir's cross-host figures (apird's fabric engine uses the same
 * provider, FI_EP_RDM).
 *
 *   fabric_baseline [--provider P] [--port N] server IP
 *   fabric_baseline [--provider P] [--port N] client SERVER_IP
 *
 * The client measures, and prints one line each:
 *   pingpong 8 <median round trip us> <median one-way us>   fi_send/fi_recv of 8 B
 *   write <bytes> <GB/s>          fi_write, 64 KiB, 128 KiB (apird's RMA piece)
 *                                 and 1 MiB, WRITE_WINDOW writes in flight into
 *                                 one registered target
 *   pingpong_sleep 8 <rtt us> <one-way us>   the ping-pong again with both
 *                                 ends sleeping in fi_cq_sread between messages,
 *                                 as a process without a core to spin on must
 * Bandwidth is the best of 3 rounds of about 1 GB (1e9 bytes/s). The server echoes pings
 * and polls its CQ (the provider's progress is manual) until the client
 * says it is done. Exits 0, or 1 with the reason on stderr.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>

#define DEFAULT_PORT "7479"
#define TARGET_LEN (1u << 20)
#define CTL_LEN 256u
#define PING_LEN 8u
#define PINGS 20000u
#define PING_WARMUP 1000u
#define ROUNDS 3
#define WRITE_WINDOW 256u
#define WAIT_SECONDS 30.0
#define DONE_MAGIC UINT64_MAX
#define SLEEP_MAGIC (UINT64_MAX - 1)   /* from now on, sleep on the CQ */
#define SREAD_TIMEOUT_MS 100

struct fab {
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_cq *cq;
	struct fid_av *av;
	struct fid_ep *ep;
	fi_addr_t peer;
	struct fid_mr *mr;           /* buf, registered for local and remote use */
	uint8_t *buf;                /* TARGET_LEN bytes: write source or target */
	uint8_t ctl[2 * CTL_LEN];    /* control messages: ctl_rx, then ctl_tx */
	uint8_t *ctl_rx, *ctl_tx;
	struct fid_mr *ctl_mr;       /* ctl (FI_MR_LOCAL providers) */
	uint64_t sends_done, recvs_done, writes_done;
	size_t last_recv_len;
	bool sleep;                  /* wait for completions in fi_cq_sread */
};

/* What the server tells the client about its target buffer. */
struct target_info {
	uint64_t addr;               /* what fi_write's addr means for this provider */
	uint64_t key;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int fab_fail(const char *what, long rc)
{
	fprintf(stderr, "fabric_baseline: %s: %s\n", what, fi_strerror((int)-rc));
	return -1;
}

/* ---- set-up ---------------------------------------------------------------- */

static int get_info(struct fab *f, const char *prov, const char *node, const char *port, bool server)
{
	struct fi_info *hints = fi_allocinfo();
	int rc;

	if (!hints)
		return fab_fail("fi_allocinfo", -FI_ENOMEM);
	hints->caps = FI_MSG | FI_RMA;
	hints->ep_attr->type = FI_EP_RDM;
	/* Every MR mode this program handles; the provider says which apply. */
	hints->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
	hints->fabric_attr->prov_name = strdup(prov);
	rc = fi_getinfo(FI_VERSION(1, 9), node, port, server ? FI_SOURCE : 0, hints, &f->info);
	fi_freeinfo(hints);
	if (rc) {
		fprintf(stderr, "fabric_baseline: fi_getinfo(%s, %s:%s): %s\n", prov, node, port, fi_strerror(-rc));
		return -1;
	}
	return 0;
}

static int open_endpoint(struct fab *f)
{
	struct fi_cq_attr cq_attr = { .format = FI_CQ_FORMAT_MSG, .size = 1024,
				      .wait_obj = FI_WAIT_UNSPEC };
	struct fi_av_attr av_attr = { .type = FI_AV_TABLE };
	int rc;

	if ((rc = fi_fabric(f->info->fabric_attr, &f->fabric, NULL)))
		return fab_fail("fi_fabric", rc);
	if ((rc = fi_domain(f->fabric, f->info, &f->domain, NULL)))
		return fab_fail("fi_domain", rc);
	if ((rc = fi_cq_open(f->domain, &cq_attr, &f->cq, NULL)))
		return fab_fail("fi_cq_open", rc);
	if ((rc = fi_av_open(f->domain, &av_attr, &f->av, NULL)))
		return fab_fail("fi_av_open", rc);
	if ((rc = fi_endpoint(f->domain, f->info, &f->ep, NULL)))
		return fab_fail("fi_endpoint", rc);
	if ((rc = fi_ep_bind(f->ep, &f->cq->fid, FI_TRANSMIT | FI_RECV)))
		return fab_fail("fi_ep_bind(cq)", rc);
	if ((rc = fi_ep_bind(f->ep, &f->av->fid, 0)))
		return fab_fail("fi_ep_bind(av)", rc);
	if ((rc = fi_enable(f->ep)))
		return fab_fail("fi_enable", rc);
	return 0;
}

static int register_buffers(struct fab *f)
{
	int rc;

	f->buf = aligned_alloc(4096, TARGET_LEN);
	if (!f->buf)
		return fab_fail("aligned_alloc", -FI_ENOMEM);
	memset(f->buf, 0x5a, TARGET_LEN);
	rc = fi_mr_reg(f->domain, f->buf, TARGET_LEN, FI_SEND | FI_RECV | FI_WRITE | FI_REMOTE_WRITE,
		       0, 1, 0, &f->mr, NULL);
	if (rc)
		return fab_fail("fi_mr_reg(buffer)", rc);
	f->ctl_rx = f->ctl;
	f->ctl_tx = f->ctl + CTL_LEN;
	rc = fi_mr_reg(f->domain, f->ctl, sizeof(f->ctl), FI_SEND | FI_RECV, 0, 2, 0, &f->ctl_mr, NULL);
	return rc ? fab_fail("fi_mr_reg(control)", rc) : 0;
}

static void fab_close(struct fab *f)
{
	struct fid *fids[] = {
		f->ep ? &f->ep->fid : NULL, f->mr ? &f->mr->fid : NULL,
		f->ctl_mr ? &f->ctl_mr->fid : NULL, f->av ? &f->av->fid : NULL,
		f->cq ? &f->cq->fid : NULL, f->domain ? &f->domain->fid : NULL,
		f->fabric ? &f->fabric->fid : NULL,
	};

	for (size_t i = 0; i < sizeof(fids) / sizeof(fids[0]); i++)
		if (fids[i])
			fi_close(fids[i]);
	if (f->info)
		fi_freeinfo(f->info);
	free(f->buf);
}

/* ---- progress and operations ------------------------------------------------------- */

static int progress(struct fab *f)
{
	struct fi_cq_msg_entry e[16];
	ssize_t n = f->sleep ? fi_cq_sread(f->cq, e, 16, NULL, SREAD_TIMEOUT_MS) :
			       fi_cq_read(f->cq, e, 16);

	if (n == -FI_EAGAIN)
		return 0;
	if (n == -FI_EAVAIL) {
		struct fi_cq_err_entry err = { 0 };

		fi_cq_readerr(f->cq, &err, 0);
		fprintf(stderr, "fabric_baseline: completion error: %s (%s)\n", fi_strerror(err.err),
			fi_cq_strerror(f->cq, err.prov_errno, err.err_data, NULL, 0));
		return -1;
	}
	if (n < 0)
		return fab_fail("fi_cq_read", n);
	for (ssize_t i = 0; i < n; i++) {
		if (e[i].flags & FI_RECV) {
			f->recvs_done++;
			f->last_recv_len = e[i].len;
		} else if (e[i].flags & FI_RMA) {
			f->writes_done++;
		} else {
			f->sends_done++;
		}
	}
	return 0;
}

/* One poll of the CQ on the way to something; fails once deadline passed. */
static int progress_until(struct fab *f, double deadline, const char *what)
{
	if (now_s() > deadline) {
		fprintf(stderr, "fabric_baseline: %s: nothing for %.0f s\n", what, WAIT_SECONDS);
		return -1;
	}
	return progress(f);
}

/* Polls until *counter reaches target. */
static int wait_count(struct fab *f, const uint64_t *counter, uint64_t target, const char *what)
{
	double deadline = now_s() + WAIT_SECONDS;

	while (*counter < target)
		if (progress_until(f, deadline, what))
			return -1;
	return 0;
}

static void *desc_of(struct fid_mr *mr)
{
	return fi_mr_desc(mr);
}

static int post_recv(struct fab *f, void *buf, size_t len, struct fid_mr *mr)
{
	double deadline = now_s() + WAIT_SECONDS;
	ssize_t rc;

	while ((rc = fi_recv(f->ep, buf, len, desc_of(mr), FI_ADDR_UNSPEC, NULL)) == -FI_EAGAIN)
		if (progress_until(f, deadline, "fi_recv"))
			return -1;
	return rc ? fab_fail("fi_recv", rc) : 0;
}

/* The first sends find no connection yet: -FI_EAGAIN until it forms. */
static int post_send(struct fab *f, const void *buf, size_t len, struct fid_mr *mr)
{
	double deadline = now_s() + WAIT_SECONDS;
	ssize_t rc;

	while ((rc = fi_send(f->ep, buf, len, desc_of(mr), f->peer, NULL)) == -FI_EAGAIN)
		if (progress_until(f, deadline, "fi_send (no connection?)"))
			return -1;
	return rc ? fab_fail("fi_send", rc) : 0;
}

static int send_wait(struct fab *f, const void *buf, size_t len, struct fid_mr *mr)
{
	uint64_t want = f->sends_done + 1;

	return post_send(f, buf, len, mr) ? -1 : wait_count(f, &f->sends_done, want, "send");
}

/* Receives one message into ctl_rx (the receive is posted first). */
static int recv_wait(struct fab *f)
{
	uint64_t want = f->recvs_done + 1;

	return post_recv(f, f->ctl_rx, CTL_LEN, f->ctl_mr) ? -1 :
	       wait_count(f, &f->recvs_done, want, "receive");
}

/* ---- the server ------------------------------------------------------------------------ */

/* Echoes 8-byte pings until the DONE message; meanwhile the client's
 * writes land in buf (polling the CQ drives them). */
static int serve_pings(struct fab *f)
{
	for (;;) {
		uint64_t v;

		if (recv_wait(f))
			return -1;
		memcpy(&v, f->ctl_rx, sizeof(v));
		if (v == DONE_MAGIC)
			return 0;
		if (v == SLEEP_MAGIC)
			f->sleep = true;
		memcpy(f->ctl_tx, &v, sizeof(v));
		if (post_send(f, f->ctl_tx, PING_LEN, f->ctl_mr))
			return -1;
	}
}

static int run_server(struct fab *f)
{
	struct target_info t = {
		.addr = (f->info->domain_attr->mr_mode & FI_MR_VIRT_ADDR) ? (uintptr_t)f->buf : 0,
		.key = fi_mr_key(f->mr),
	};
	int rc;

	/* The client's first message is its address. */
	if (recv_wait(f))
		return -1;
	rc = fi_av_insert(f->av, f->ctl_rx, 1, &f->peer, 0, NULL);
	if (rc != 1)
		return fab_fail("fi_av_insert(client)", rc < 0 ? rc : -FI_EINVAL);
	memcpy(f->ctl_tx, &t, sizeof(t));
	if (send_wait(f, f->ctl_tx, sizeof(t), f->ctl_mr))
		return -1;
	return serve_pings(f);
}

/* ---- the client ------------------------------------------------------------------------ */

/* Sends len bytes of ctl_tx and waits for the answer in ctl_rx. */
static int request_reply(struct fab *f, size_t len, const char *what)
{
	uint64_t want = f->recvs_done + 1;

	return post_recv(f, f->ctl_rx, CTL_LEN, f->ctl_mr) || send_wait(f, f->ctl_tx, len, f->ctl_mr) ||
	       wait_count(f, &f->recvs_done, want, what) ? -1 : 0;
}

static int hello(struct fab *f, struct target_info *t)
{
	size_t len = CTL_LEN;
	int rc = fi_av_insert(f->av, f->info->dest_addr, 1, &f->peer, 0, NULL);

	if (rc != 1)
		return fab_fail("fi_av_insert(server)", rc < 0 ? rc : -FI_EINVAL);
	rc = fi_getname(&f->ep->fid, f->ctl_tx, &len);
	if (rc)
		return fab_fail("fi_getname", rc);
	if (request_reply(f, len, "the server's reply"))
		return -1;
	memcpy(t, f->ctl_rx, sizeof(*t));
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static int pingpong(struct fab *f, double *rtt_us)
{
	static double samples[PINGS];

	for (uint64_t i = 0; i < PING_WARMUP + PINGS; i++) {
		double t0 = now_s();
		uint64_t want = f->recvs_done + 1;

		memcpy(f->ctl_tx, &i, sizeof(i));
		if (post_recv(f, f->ctl_rx, CTL_LEN, f->ctl_mr) ||
		    post_send(f, f->ctl_tx, PING_LEN, f->ctl_mr) ||
		    wait_count(f, &f->recvs_done, want, "pong"))
			return -1;
		if (i >= PING_WARMUP)
			samples[i - PING_WARMUP] = (now_s() - t0) * 1e6;
	}
	*rtt_us = median(samples, PINGS);
	return 0;
}

/* One round: iters writes of len bytes, at most window in flight. */
static int write_round(struct fab *f, const struct target_info *t, size_t len, unsigned int iters,
		       unsigned int window, double *gbps)
{
	uint64_t base = f->writes_done, posted = 0, seen = base;
	double t0 = now_s(), deadline = t0 + WAIT_SECONDS;

	while (posted < iters) {
		ssize_t rc;

		/* The deadline is for silence, not for the whole round. */
		if (f->writes_done != seen) {
			seen = f->writes_done;
			deadline = now_s() + WAIT_SECONDS;
		}
		if (posted - (f->writes_done - base) >= window) {
			if (progress_until(f, deadline, "write completions"))
				return -1;
			continue;
		}
		rc = fi_write(f->ep, f->buf, len, desc_of(f->mr), f->peer, t->addr, t->key, NULL);
		if (rc == -FI_EAGAIN) {
			if (progress_until(f, deadline, "fi_write"))
				return -1;
			continue;
		}
		if (rc)
			return fab_fail("fi_write", rc);
		posted++;
	}
	if (wait_count(f, &f->writes_done, base + iters, "write completions"))
		return -1;
	*gbps = (double)len * iters / (now_s() - t0) / 1e9;
	return 0;
}

/* The best of ROUNDS rounds: on a shared machine a round only ever loses. */
static int write_bw(struct fab *f, const struct target_info *t, size_t len, double *gbps)
{
	/* About 1 GB per round. The window is what keeps tcp;ofi_rxm busiest
	 * here (tried 1 to 1000 in flight: 256 is at or near the best for
	 * both sizes; ib_write_bw keeps 128 in flight). */
	unsigned int iters = (unsigned int)((1u << 30) / len);

	*gbps = 0;
	for (int r = 0; r < ROUNDS; r++) {
		double round;

		if (write_round(f, t, len, iters, WRITE_WINDOW, &round))
			return -1;
		if (round > *gbps)
			*gbps = round;
	}
	return 0;
}

static int run_client(struct fab *f)
{
	static const size_t sizes[] = { 65536, 1u << 17, 1u << 20 };
	const uint64_t done = DONE_MAGIC, sleep = SLEEP_MAGIC;
	struct target_info t;
	double rtt, gbps;

	if (hello(f, &t) || pingpong(f, &rtt))
		return -1;
	printf("pingpong %u %.2f %.2f\n", PING_LEN, rtt, rtt / 2);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (write_bw(f, &t, sizes[i], &gbps))
			return -1;
		printf("write %zu %.2f\n", sizes[i], gbps);
	}
	memcpy(f->ctl_tx, &sleep, sizeof(sleep));
	if (request_reply(f, sizeof(sleep), "the server's echo of sleep"))
		return -1;
	f->sleep = true;
	if (pingpong(f, &rtt))
		return -1;
	printf("pingpong_sleep %u %.2f %.2f\n", PING_LEN, rtt, rtt / 2);
	memcpy(f->ctl_tx, &done, sizeof(done));
	return send_wait(f, f->ctl_tx, sizeof(done), f->ctl_mr);
}

/* ---- main ------------------------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out, "usage: fabric_baseline [--provider P] [--port N] server IP | client SERVER_IP\n"
		     "  --provider P   libfabric provider (default tcp;ofi_rxm)\n"
		     "  --port N       the server's port (default " DEFAULT_PORT ")\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "provider", required_argument, NULL, 'P' },
		{ "port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prov = "tcp;ofi_rxm", *port = DEFAULT_PORT;
	struct fab f = { 0 };
	bool server;
	int opt, rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'P')
			prov = optarg;
		else if (opt == 'p')
			port = optarg;
		else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind + 2 != argc || (strcmp(argv[optind], "server") && strcmp(argv[optind], "client"))) {
		usage(stderr);
		return 2;
	}
	server = !strcmp(argv[optind], "server");
	rc = get_info(&f, prov, argv[optind + 1], port, server) || open_endpoint(&f) || register_buffers(&f);
	if (!rc)
		rc = server ? run_server(&f) : run_client(&f);
	fab_close(&f);
	return rc ? 1 : 0;
}
