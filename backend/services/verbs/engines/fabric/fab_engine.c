/* SPDX-License-Identifier: MIT */
/*
 * The fabric engine: RC, UC and UD queue pairs whose peer is a QP of
 * another apird, carried by libfabric.
 *
 * Endpoint. One FI_EP_RDM endpoint per apird (provider by name, default
 * "tcp;ofi_rxm"), bound to fabric_addr; one AV (a cache GID -> fi_addr_t,
 * fab_peer.c); one CQ for everything, with a wait fd in apird's epoll set
 * when the provider has one. Data progress is manual: apird's loop polls
 * the CQ on every turn while fabric work is in flight, every
 * FAB_IDLE_POLL_NS otherwise (apird_fabric_poll), and always after a sleep;
 * before sleeping it asks fi_trywait whether it may.
 *
 * Naming. A port GID is ::ffff:<fabric IP> of the apird that owns the QP,
 * so an RTR address vector names the peer apird: its fabric address is
 * that IP and the default port (or a "peer = IP:PORT" line).
 *
 * Memory. Every apird MR is registered with the fabric domain under an
 * internal random 64-bit key that guests never see (fab_region.c): guest
 * rkeys are checked by the apird that owns the memory, exactly as the
 * local engine checks them (engine_sw's sw_remote_resolve); fabric keys
 * only let two apirds move bytes they already agreed on. Deregistration
 * closes the fabric registration, so a revoked region is unreachable.
 *
 * Protocol (fabric_wire.h). The requester (fab_requester.c) turns each
 * send WQE into a request {QPNs, sequence number = PSN, opcode, rkey,
 * remote address, length, imm}; up to FAB_WINDOW per QP in flight.
 * Payloads up to APIR_FAB_EAGER_MAX travel inside the request; larger ones
 * are named by the requester's segments (fabric key, address, length) and
 * the responder PULLS them with fi_read straight into the target pages (an
 * RDMA WRITE's region, a SEND's receive buffers). An RDMA READ is pushed by
 * the responder with fi_write into the requester's segments; an atomic is
 * executed by the responder on its memory (engine_sw's atomic code) and
 * the original value comes back in the ACK.
 * The responder (fab_responder.c) validates every request against its QP
 * (connected back to this requester GID and QPN, type, state), PD, rkey,
 * access and bounds through engine_sw's helpers, executes requests of a
 * QP in sequence order (the next waits until the previous one's bytes are
 * in place, so a SEND after a WRITE never overtakes it; only bulk WRITEs
 * behind bulk WRITEs overlap, on providers that place RMA data in issue
 * order) and answers each, in order, with an ACK or a NAK (REM_ACCESS,
 * REM_INV_REQ, REM_OP, RNR, no such QP). The requester completes WQEs in
 * order as ACKs arrive. Messages are injected when the provider allows.
 * RNR: the responder NAKs and drops later requests of that QP until the
 * NAKed sequence number comes again (go-back-N); the requester rewinds to
 * that WQE and resends after the responder's min_rnr_timer, up to
 * rnr_retry times (7: forever).
 * UD: one datagram message (at most the 4096-byte MTU), no ACK; the
 * receiver checks the Q_Key and drops what it cannot place.
 *
 * Faults. No ACK within 4.096 us x 2^timeout (1 s for timeout 0) x
 * (retry_cnt + 1): the head WQE completes with RETRY_EXC_ERR and the QP
 * goes to ERR (the rest is flushed). An error completion naming a peer
 * (connection refused or reset) fails the QPs with requests in flight to
 * that peer the same way, leaves other QPs alone, and removes the peer
 * from the AV so a restarted apird there is reached afresh. A responder
 * whose RMA with a peer makes no progress within its QP's timeout gives
 * that peer up the same way (a cut link reports nothing). Messages the
 * provider cannot take yet wait in a backlog of their peer (fab_xfer.c),
 * so a peer that cannot be reached (its apird gone, its connection not
 * forming: the provider says nothing but -FI_EAGAIN) holds up no other;
 * once they have waited longer than that peer's QPs' timeouts, they are
 * dropped and the peer is removed from the AV, its QPs timing out on
 * their own.
 *
 * Peers are infrastructure, yet every field of their messages is checked
 * (fab_wire.c) and a malformed message is dropped and logged once per peer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apir/log.h"
#include "fabric.h"

#define FAB_API_VERSION FI_VERSION(1, 9)
#define FAB_RXM_CM_PROGRESS_US "100"

void fab_log_fi(const char *what, int ret)
{
	apir_err("fabric: %s: %s", what, fi_strerror(ret < 0 ? -ret : ret));
}

/* inject: ask for injects of any message (no send completion, the buffer
 * reusable at once); providers that cannot are asked again without. */
static struct fi_info *fab_hints(const char *provider, bool source, bool inject)
{
	struct fi_info *h = fi_allocinfo();

	if (!h)
		return NULL;
	h->caps = FI_MSG | FI_RMA | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE |
		  FI_SEND | FI_RECV | (source ? FI_SOURCE : 0);
	h->mode = FI_CONTEXT | FI_CONTEXT2;
	h->addr_format = FI_SOCKADDR_IN;
	h->ep_attr->type = FI_EP_RDM;
	h->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
	h->domain_attr->threading = FI_THREAD_DOMAIN;
	/* ACKs follow their requests' order, and a READ's ACK its data. */
	h->tx_attr->msg_order = FI_ORDER_SAS;
	h->rx_attr->msg_order = FI_ORDER_SAS;
	h->tx_attr->inject_size = inject ? APIR_FAB_MSG_MAX : 0;
	h->fabric_attr->prov_name = strdup(provider);
	if (!h->fabric_attr->prov_name) {
		fi_freeinfo(h);
		return NULL;
	}
	return h;
}

/* With FI_SOURCE if the provider offers it (a request's sender can then be
 * checked against the GID it claims), else without; preferably with
 * injects of whole messages. */
static int fab_getinfo(struct apird_fabric *f)
{
	char node[INET_ADDRSTRLEN], service[8];
	int ret = -FI_ENODATA;

	inet_ntop(AF_INET, &f->cfg.fabric_ip, node, sizeof(node));
	snprintf(service, sizeof(service), "%u", f->cfg.fabric_port);
	for (int attempt = 0; attempt < 4 && ret; attempt++) {
		bool source = attempt < 2, inject = !(attempt & 1);
		struct fi_info *hints = fab_hints(f->cfg.fabric_provider, source, inject);

		if (!hints)
			return -FI_ENOMEM;
		ret = fi_getinfo(FAB_API_VERSION, node, service, FI_SOURCE, hints, &f->info);
		fi_freeinfo(hints);
		f->has_source = source && !ret;
	}
	if (ret)
		apir_err("fabric: provider '%s' offers no reliable-datagram endpoint with messages "
			 "and RMA on %s:%s: %s", f->cfg.fabric_provider, node, service,
			 fi_strerror(-ret));
	return ret;
}

static void fab_read_attrs(struct apird_fabric *f)
{
	const struct fi_info *i = f->info;
	uint64_t mr_mode = i->domain_attr->mr_mode;
	size_t key_size = i->domain_attr->mr_key_size;
	const char *prov = i->fabric_attr->prov_name;

	f->local_mr = mr_mode & FI_MR_LOCAL;
	f->virt_addr = mr_mode & FI_MR_VIRT_ADDR;
	f->prov_key = mr_mode & FI_MR_PROV_KEY;
	f->key_mask = key_size >= 8 || key_size == 0 ? UINT64_MAX : (1ull << (8 * key_size)) - 1;
	f->inject_size = i->tx_attr->inject_size;
	f->max_rma = i->ep_attr->max_msg_size ? i->ep_attr->max_msg_size : FAB_RMA_CHUNK;
	f->delivery_complete = !(i->tx_attr->msg_order & FI_ORDER_SAW);
	/* These providers carry everything between two endpoints on one byte
	 * stream, so RMA data is placed in the order it was issued. */
	f->ordered_placement = strncmp(prov, "tcp", 3) == 0 || strncmp(prov, "sockets", 7) == 0;
}

static int fab_open_cq(struct apird_fabric *f)
{
	struct fi_cq_attr attr = {
		.size = FAB_RX_BUFS + FAB_TX_BUFS + FAB_RMA_OPS,
		.format = FI_CQ_FORMAT_MSG,
		.wait_obj = FI_WAIT_FD,
	};
	int ret = fi_cq_open(f->domain, &attr, &f->cq, NULL);

	if (ret) {
		attr.wait_obj = FI_WAIT_NONE;
		ret = fi_cq_open(f->domain, &attr, &f->cq, NULL);
		if (ret)
			return ret;
		apir_info("fabric: the provider's CQ has no wait fd: apird polls it every %llu us "
			  "while fabric QPs exist", FAB_NO_WAIT_FD_POLL_NS / 1000);
		return 0;
	}
	if (fi_control(&f->cq->fid, FI_GETWAIT, &f->wait_fd))
		f->wait_fd = -1;
	return 0;
}

static int fab_open(struct apird_fabric *f)
{
	struct fi_av_attr av_attr = { .type = FI_AV_TABLE };
	int ret;

	if (f->info->domain_attr->av_type != FI_AV_UNSPEC)
		av_attr.type = f->info->domain_attr->av_type;
	ret = fi_fabric(f->info->fabric_attr, &f->fabric, NULL);
	if (!ret)
		ret = fi_domain(f->fabric, f->info, &f->domain, NULL);
	if (!ret)
		ret = fi_av_open(f->domain, &av_attr, &f->av, NULL);
	if (!ret)
		ret = fab_open_cq(f);
	if (!ret)
		ret = fi_endpoint(f->domain, f->info, &f->ep, NULL);
	if (!ret)
		ret = fi_ep_bind(f->ep, &f->av->fid, 0);
	if (!ret)
		ret = fi_ep_bind(f->ep, &f->cq->fid, FI_TRANSMIT | FI_RECV);
	if (!ret)
		ret = fi_enable(f->ep);
	if (ret)
		fab_log_fi("opening the endpoint", ret);
	return ret;
}

static void fab_close(struct apird_fabric *f)
{
	if (f->ep)
		fi_close(&f->ep->fid);
	fab_buffers_fini(f);
	fab_regions_free(f);
	if (f->cq)
		fi_close(&f->cq->fid);
	if (f->av)
		fi_close(&f->av->fid);
	if (f->domain)
		fi_close(&f->domain->fid);
	if (f->fabric)
		fi_close(&f->fabric->fid);
	if (f->info)
		fi_freeinfo(f->info);
	fab_peers_free(f);
}

/* Providers start threads of their own (connection management,
 * progress). They must never take apird's signals (SIGTERM would then kill
 * apird without its clean shutdown), so they are created with every signal
 * blocked; threads they create later inherit the mask of apird's thread,
 * which blocks the signals it receives through its signalfd. */
static int fab_open_all(struct apird_fabric *f)
{
	sigset_t all, old;
	int ret;

	/* rxm steps its connection handshake at most every 10 ms by default,
	 * which costs a new peer 20 to 40 ms before its first message; apird
	 * reads the CQ all the time anyway. Read when the provider loads, at
	 * the first fi_getinfo; an operator's own setting stays. */
	setenv("FI_OFI_RXM_CM_PROGRESS_INTERVAL", FAB_RXM_CM_PROGRESS_US, 0);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = fab_getinfo(f);
	if (!ret) {
		fab_read_attrs(f);
		ret = fab_open(f);
	}
	if (!ret)
		ret = fab_buffers_init(f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/*
 * Providers set up their message buffers on first use (rxm: some 17 MB,
 * milliseconds of page faults). One message to this apird's own address
 * at start-up takes that cost out of the first request to a real peer.
 * Best effort: a provider that cannot talk to itself only loses that.
 */
static void fab_warm_up(struct apird_fabric *f)
{
	struct sockaddr_in self_sin = {
		.sin_family = AF_INET,
		.sin_port = htons(f->cfg.fabric_port),
		.sin_addr = f->cfg.fabric_ip,
	};
	uint64_t end = apird_now_ns() + FAB_WARM_UP_NS;
	struct apir_fab_hello h;
	ssize_t ret = -FI_EAGAIN;
	fi_addr_t self;

	if (f->inject_size < sizeof(h) || fi_av_insert(f->av, &self_sin, 1, &self, 0, NULL) != 1)
		return;
	memset(&h, 0, sizeof(h));
	fab_hdr_init(&h.hdr, APIR_FAB_HELLO, sizeof(h), &f->gid, 0, 0, 0);
	while (ret == -FI_EAGAIN && apird_now_ns() < end) {
		ret = fi_inject(f->ep, &h, sizeof(h), self);
		if (ret == -FI_EAGAIN)
			fab_cq_poll(f);
	}
	fi_av_remove(f->av, &self, 1, 0);
}

int apird_fabric_start(struct verbs_dev *d, const struct apird_config *cfg)
{
	struct apird_fabric *f = calloc(1, sizeof(*f));
	char ip[INET_ADDRSTRLEN];
	int ret;

	if (!f)
		return -ENOMEM;
	f->d = d;
	f->cfg = *cfg;
	f->wait_fd = -1;
	apird_gid_from_ipv4(&f->gid, cfg->fabric_ip);
	ret = fab_open_all(f);
	if (ret) {
		fab_close(f);
		free(f);
		return ret == -FI_ENOMEM ? -ENOMEM : -ENODEV;
	}
	d->remote_link_priv = f;
	fab_warm_up(f);
	inet_ntop(AF_INET, &cfg->fabric_ip, ip, sizeof(ip));
	apir_info("fabric: %s:%u, provider %s%s%s", ip, cfg->fabric_port,
		  f->info->fabric_attr->prov_name, f->wait_fd < 0 ? ", no wait fd" : "",
		  f->has_source ? "" : ", senders unchecked (no FI_SOURCE)");
	return 0;
}

void apird_fabric_stop(struct verbs_dev *d)
{
	struct apird_fabric *f = fab_of(d);

	if (!f)
		return;
	while (f->qps) {
		struct fab_qp *fq = f->qps;

		f->qps = fq->next;
		if (fq->qp) {
			fq->qp->link = NULL;
			fq->qp->link_priv = NULL;
		}
		free(fq);
	}
	fab_close(f);
	free(f);
	d->remote_link_priv = NULL;
}

/* Whether anything of the fabric is in flight or waiting: then every turn
 * of the loop polls (progress is manual, peers wait for us). */
static bool fab_working(const struct apird_fabric *f)
{
	if (f->backlogged || f->repost)
		return true;
	for (const struct fab_qp *fq = f->qps; fq; fq = fq->next)
		if (fq->sent || fq->resend_at_ns || fab_responder_busy(fq))
			return true;
	return false;
}

unsigned int apird_fabric_poll(struct verbs_dev *d)
{
	struct apird_fabric *f = fab_of(d);
	unsigned int n;

	if (!f)
		return 0;
	d->now_ns = apird_now_ns();
	/* An idle fabric costs the local engine a syscall per turn otherwise. */
	if (!fab_working(f) && d->now_ns - f->last_poll_ns < FAB_IDLE_POLL_NS)
		return 0;
	f->last_poll_ns = d->now_ns;
	n = fab_cq_poll(f);
	for (struct fab_qp *fq = f->qps, *next; fq; fq = next) {
		next = fq->next;
		if (fab_rma_stalled(fq))
			fab_rma_issue(f, fq);
		if (fab_responder_busy(fq))
			n += fab_responder_progress(f, fq);
	}
	return n + fab_requester_timeouts(f) + fab_rma_timeouts(f);
}

bool apird_fabric_can_sleep(struct verbs_dev *d)
{
	struct apird_fabric *f = fab_of(d);
	struct fid *fids[1];

	if (!f)
		return true;
	/* Whatever wakes apird, the next turn polls. */
	f->last_poll_ns = 0;
	/* Sends wait for a connection that the provider steps forward only
	 * while apird reads the CQ: a short spin forms it in well under a
	 * millisecond instead of a step per timer tick. Bounded, for a peer
	 * that does not answer at all. */
	if (f->backlogged && fab_backlog_fresh(f))
		return false;
	if (f->wait_fd < 0)
		return true;
	fids[0] = &f->cq->fid;
	return fi_trywait(f->fabric, fids, 1) == FI_SUCCESS;
}

static uint64_t earlier(uint64_t a, uint64_t b)
{
	return !a || (b && b < a) ? b : a;
}

/* Work the provider will not wake apird for (sends waiting for a
 * connection, receive buffers to post again, RMA pieces waiting for a
 * context) is retried on a short timer, as is everything without a wait fd. */
uint64_t apird_fabric_next_deadline(const struct verbs_dev *d)
{
	const struct apird_fabric *f = fab_of(d);
	uint64_t next = 0;
	bool retry;

	if (!f)
		return 0;
	retry = f->backlogged || f->repost || (f->wait_fd < 0 && f->qps);
	for (const struct fab_qp *fq = f->qps; fq; fq = fq->next) {
		if (fq->sent)
			next = earlier(next, fq->ack_deadline_ns);
		next = earlier(next, fq->resend_at_ns);
		next = earlier(next, fab_rma_deadline(fq));
		retry |= fab_rma_stalled(fq);
	}
	if (retry)
		next = earlier(next, apird_now_ns() + FAB_NO_WAIT_FD_POLL_NS);
	return next;
}

int apird_fabric_wait_fd(const struct verbs_dev *d)
{
	const struct apird_fabric *f = fab_of(d);

	return f ? f->wait_fd : -1;
}
