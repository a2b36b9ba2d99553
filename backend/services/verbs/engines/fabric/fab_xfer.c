/* SPDX-License-Identifier: MIT */
/*
 * Moving messages: the buffers (one slab, registered once when the
 * provider needs local descriptors), sending with a backlog per peer for
 * the provider's -FI_EAGAIN (a connection still forming, a full queue), the
 * receive buffers kept posted, and reading the CQ. Nothing here allocates
 * per message.
 *
 * tcp;ofi_rxm never reports a connection it cannot form: a refused one is
 * dropped and formed again on the next send, one that gets no answer stays
 * "connecting"; sends to that peer say -FI_EAGAIN for as long as it lasts.
 * Hence a backlog per peer (the others' messages leave meanwhile), and a
 * bound on how long a peer's messages may wait.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "apir/log.h"
#include "fabric.h"

#define CQ_BATCHES_PER_POLL 4

/* ---- receive buffers ---------------------------------------------------------- */

static void rx_post(struct apird_fabric *f, struct fab_rx *rx)
{
	ssize_t ret = fi_recv(f->ep, rx->buf, FAB_BUF_SIZE, f->slab_desc, FI_ADDR_UNSPEC, &rx->ctx);

	if (ret == 0)
		return;
	if (ret != -FI_EAGAIN && !f->cq_error_logged) {
		f->cq_error_logged = true;
		fab_log_fi("posting a receive buffer", (int)ret);
	}
	rx->next = f->repost;
	f->repost = rx;
}

void fab_rx_release(struct apird_fabric *f, struct fab_rx *rx)
{
	rx_post(f, rx);
}

static void repost_flush(struct apird_fabric *f)
{
	struct fab_rx *list = f->repost;

	f->repost = NULL;
	while (list) {
		struct fab_rx *rx = list;

		list = rx->next;
		rx_post(f, rx);
	}
}

/* ---- send buffers -------------------------------------------------------------- */

void fab_tx_put(struct apird_fabric *f, struct fab_tx *tx)
{
	tx->next = f->tx_free;
	f->tx_free = tx;
	f->tx_free_count++;
}

struct fab_tx *fab_tx_get(struct apird_fabric *f)
{
	struct fab_tx *tx = f->tx_free;

	if (tx) {
		f->tx_free = tx->next;
		f->tx_free_count--;
	}
	return tx;
}

uint32_t fab_tx_available(const struct apird_fabric *f)
{
	return f->tx_free_count;
}

/* Returns 0 (sent; an injected tx is free again), -FI_EAGAIN or an error. */
static ssize_t tx_try(struct apird_fabric *f, struct fab_tx *tx)
{
	fi_addr_t a = fab_peer_addr(f, tx->peer);
	ssize_t ret;

	if (a == FI_ADDR_UNSPEC)
		return -FI_EHOSTUNREACH;
	if (tx->len <= f->inject_size) {
		ret = fi_inject(f->ep, tx->buf, tx->len, a);
		if (ret == 0)
			fab_tx_put(f, tx);
		return ret;
	}
	return fi_send(f->ep, tx->buf, tx->len, f->slab_desc, a, &tx->ctx);
}

static void backlog_push(struct apird_fabric *f, struct fab_peer *p, struct fab_tx *tx)
{
	tx->next = NULL;
	if (p->backlog) {
		p->backlog_tail->next = tx;
	} else {
		p->backlog = tx;
		p->backlog_moved_ns = apird_now_ns();
		f->backlogged++;
	}
	p->backlog_tail = tx;
}

/* Back at the head, where it was: the backlog has not moved. */
static void backlog_unpop(struct apird_fabric *f, struct fab_peer *p, struct fab_tx *tx)
{
	tx->next = p->backlog;
	if (!p->backlog) {
		p->backlog_tail = tx;
		f->backlogged++;
	}
	p->backlog = tx;
}

static struct fab_tx *backlog_pop(struct apird_fabric *f, struct fab_peer *p)
{
	struct fab_tx *tx = p->backlog;

	p->backlog = tx->next;
	if (!p->backlog) {
		p->backlog_tail = NULL;
		f->backlogged--;
	}
	return tx;
}

static void send_failed(struct apird_fabric *f, struct fab_tx *tx, int err)
{
	struct fab_peer *p = tx->peer;
	bool current = tx->generation == p->generation;

	fab_tx_put(f, tx);
	if (current)
		fab_peer_failed(f, p, err);
}

void fab_tx_send(struct apird_fabric *f, struct fab_tx *tx, struct fab_peer *p, size_t len)
{
	ssize_t ret;

	tx->peer = p;
	tx->generation = p->generation;
	tx->len = len;
	/* Behind p's backlog, so that messages to a peer keep their order. */
	if (p->backlog) {
		backlog_push(f, p, tx);
		return;
	}
	ret = tx_try(f, tx);
	if (ret == -FI_EAGAIN)
		backlog_push(f, p, tx);
	else if (ret < 0)
		send_failed(f, tx, (int)-ret);
}

/* Sends p's backlog in order while the provider takes it. Messages of an
 * earlier generation are dropped: they belong to QPs that failed with it. */
static void peer_flush(struct apird_fabric *f, struct fab_peer *p)
{
	while (p->backlog) {
		struct fab_tx *tx = backlog_pop(f, p);
		ssize_t ret;

		if (tx->generation != p->generation) {
			fab_tx_put(f, tx);
			continue;
		}
		ret = tx_try(f, tx);
		if (ret == -FI_EAGAIN) {
			backlog_unpop(f, p, tx);
			return;
		}
		if (ret < 0)
			send_failed(f, tx, (int)-ret);
		else
			p->backlog_moved_ns = apird_now_ns();
	}
}

/* Whether p's backlog has not moved for longer than p's QPs wait for an
 * answer (their longest transport timeout): what waits is of no use any
 * more. Never before FAB_PEER_PATIENCE_MIN_NS, so that a connection still
 * forming under load is not given up because some QP's timeout is tiny. */
static bool peer_stuck(const struct apird_fabric *f, const struct fab_peer *p)
{
	uint64_t waited = apird_now_ns() - p->backlog_moved_ns;

	if (waited <= FAB_PEER_PATIENCE_MIN_NS)
		return false;
	for (const struct fab_qp *fq = f->qps; fq; fq = fq->next)
		if (fq->peer == p && fq->qp && waited <= sw_transport_timeout_ns(fq->qp))
			return false;
	return true;
}

/* p's backlog is dropped, and p forgotten so that the provider stops the
 * connection it could not form and the next message tries afresh. Its QPs
 * are left to time out on their own rules. */
static void peer_give_up(struct apird_fabric *f, struct fab_peer *p)
{
	uint64_t waited = apird_now_ns() - p->backlog_moved_ns;
	unsigned int n = 0;

	while (p->backlog) {
		fab_tx_put(f, backlog_pop(f, p));
		n++;
	}
	apir_warn("fabric: peer %s: no message could leave for %llu ms: %u dropped, its address "
		  "forgotten", p->addr, (unsigned long long)(waited / 1000000), n);
	fab_peer_forget(f, p);
}

static void backlog_flush(struct apird_fabric *f)
{
	for (uint32_t i = 0; i < f->num_peers && f->backlogged; i++) {
		struct fab_peer *p = f->peers[i];

		if (p->backlog)
			peer_flush(f, p);
		if (p->backlog && peer_stuck(f, p))
			peer_give_up(f, p);
	}
}

bool fab_backlog_fresh(const struct apird_fabric *f)
{
	uint64_t now = apird_now_ns();

	for (uint32_t i = 0; i < f->num_peers && f->backlogged; i++) {
		const struct fab_peer *p = f->peers[i];

		if (p->backlog && now - p->backlog_moved_ns < FAB_CONNECT_SPIN_NS)
			return true;
	}
	return false;
}

/* ---- RMA contexts ------------------------------------------------------------- */

struct fab_rma *fab_rma_get(struct apird_fabric *f)
{
	struct fab_rma *op = f->rma_free;

	if (op)
		f->rma_free = op->next;
	return op;
}

void fab_rma_put(struct apird_fabric *f, struct fab_rma *op)
{
	fab_region_put(f, op->region);
	op->region = NULL;
	op->exec = NULL;
	op->fq = NULL;
	op->next = f->rma_free;
	f->rma_free = op;
}

/* ---- set-up ------------------------------------------------------------------------- */

int fab_buffers_init(struct apird_fabric *f)
{
	int ret;

	f->slab_len = (size_t)(FAB_RX_BUFS + FAB_TX_BUFS) * FAB_BUF_SIZE;
	f->slab = mmap(NULL, f->slab_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f->slab == MAP_FAILED) {
		f->slab = NULL;
		return -FI_ENOMEM;
	}
	if (f->local_mr) {
		ret = fab_mr_reg(f, f->slab, f->slab_len, FI_SEND | FI_RECV, &f->slab_mr);
		if (ret) {
			fab_log_fi("registering message buffers", ret);
			return ret;
		}
		f->slab_desc = fi_mr_desc(f->slab_mr);
	}
	for (uint32_t i = 0; i < FAB_TX_BUFS; i++) {
		f->tx[i].ctx.kind = FAB_CTX_TX;
		f->tx[i].buf = f->slab + (size_t)(FAB_RX_BUFS + i) * FAB_BUF_SIZE;
		fab_tx_put(f, &f->tx[i]);
	}
	for (uint32_t i = 0; i < FAB_RMA_OPS; i++) {
		f->rma[i].ctx.kind = FAB_CTX_RMA;
		fab_rma_put(f, &f->rma[i]);
	}
	for (uint32_t i = 0; i < FAB_RX_BUFS; i++) {
		f->rx[i].ctx.kind = FAB_CTX_RX;
		f->rx[i].buf = f->slab + (size_t)i * FAB_BUF_SIZE;
		rx_post(f, &f->rx[i]);
	}
	return 0;
}

/* After the endpoint is closed: nothing is posted any more. */
void fab_buffers_fini(struct apird_fabric *f)
{
	if (f->slab_mr)
		fi_close(&f->slab_mr->fid);
	f->slab_mr = NULL;
	if (f->slab)
		munmap(f->slab, f->slab_len);
	f->slab = NULL;
}

/* ---- the CQ ---------------------------------------------------------------------------- */

/* Whether err says the peer apird is gone or unreachable. */
static bool peer_gone(int err)
{
	return err == FI_ECONNREFUSED || err == FI_ECONNRESET || err == FI_ECONNABORTED ||
	       err == FI_ENOTCONN || err == FI_EHOSTUNREACH || err == FI_ETIMEDOUT ||
	       err == FI_ENETUNREACH || err == FI_ESHUTDOWN || err == EPIPE;
}

static void rx_dispatch(struct apird_fabric *f, struct fab_rx *rx)
{
	struct fab_peer *p = NULL;
	union ibv_gid gid;
	struct fab_msg m;
	const char *why;
	int err;

	if (fab_msg_parse(rx->buf, rx->len, &m, &why)) {
		fab_peer_malformed(f, fab_peer_by_addr(f, rx->src), why);
		fab_rx_release(f, rx);
		return;
	}
	memcpy(gid.raw, m.hdr->src_gid, sizeof(gid.raw));
	if (m.hdr->type == APIR_FAB_UD || m.hdr->type == APIR_FAB_HELLO) {
		if (m.hdr->type == APIR_FAB_UD)
			fab_ud_arrived(f, &m);
		fab_rx_release(f, rx);
		return;
	}
	/* A request may be the sender's first word to us: its answer needs
	 * the sender in the AV. An ACK answers a peer we already know. */
	p = m.hdr->type == APIR_FAB_REQ ? fab_peer_get(f, &gid, &err) : fab_peer_find(f, &gid);
	if (!p || (f->has_source && rx->src != FI_ADDR_NOTAVAIL && rx->src != p->fi_addr)) {
		fab_peer_malformed(f, p ? p : fab_peer_by_addr(f, rx->src),
				   p ? "sent from another address than its GID's" :
				       "from a GID that is not a reachable peer");
		fab_rx_release(f, rx);
		return;
	}
	if (m.hdr->type == APIR_FAB_ACK) {
		fab_ack_arrived(f, &m, p);
		fab_rx_release(f, rx);
	} else if (!fab_req_arrived(f, rx, &m, p)) {
		fab_rx_release(f, rx);
	}
}

static void cq_dispatch(struct apird_fabric *f, const struct fi_cq_msg_entry *e, fi_addr_t src)
{
	struct fab_ctx *c = e->op_context;

	switch (c->kind) {
	case FAB_CTX_RX: {
		struct fab_rx *rx = (struct fab_rx *)c;

		rx->len = e->len;
		rx->src = src;
		rx_dispatch(f, rx);
		break;
	}
	case FAB_CTX_TX:
		fab_tx_put(f, (struct fab_tx *)c);
		break;
	case FAB_CTX_RMA:
		fab_rma_done(f, (struct fab_rma *)c, true);
		break;
	}
}

static void rma_failed(struct apird_fabric *f, struct fab_rma *op, int err)
{
	struct fab_peer *p = op->fq ? op->exec->rx->peer : NULL;

	fab_rma_done(f, op, false);
	if (p && peer_gone(err))
		fab_peer_failed(f, p, err);
}

static void cq_error(struct apird_fabric *f)
{
	struct fi_cq_err_entry e;
	struct fab_ctx *c;

	memset(&e, 0, sizeof(e));
	if (fi_cq_readerr(f->cq, &e, 0) != 1)
		return;
	c = e.op_context;
	if (!c) {
		apir_dbg("fabric: error completion without context: %s", fi_strerror(e.err));
		return;
	}
	switch (c->kind) {
	case FAB_CTX_RX:
		/* Canceled: the endpoint is closing; truncated: a peer sent more
		 * than any valid message holds. */
		if (e.err != FI_ECANCELED) {
			apir_dbg("fabric: receive failed: %s", fi_strerror(e.err));
			fab_rx_release(f, (struct fab_rx *)c);
		}
		break;
	case FAB_CTX_TX:
		send_failed(f, (struct fab_tx *)c, e.err);
		break;
	case FAB_CTX_RMA:
		rma_failed(f, (struct fab_rma *)c, e.err);
		break;
	}
}

static unsigned int cq_read_batch(struct apird_fabric *f, bool *more)
{
	struct fi_cq_msg_entry ev[FAB_CQ_BATCH];
	fi_addr_t src[FAB_CQ_BATCH];
	ssize_t n;

	*more = false;
	n = f->has_source ? fi_cq_readfrom(f->cq, ev, FAB_CQ_BATCH, src) :
			    fi_cq_read(f->cq, ev, FAB_CQ_BATCH);
	if (n == -FI_EAVAIL) {
		cq_error(f);
		*more = true;
		return 1;
	}
	if (n < 0) {
		if (n != -FI_EAGAIN && !f->cq_error_logged) {
			f->cq_error_logged = true;
			fab_log_fi("reading the completion queue", (int)n);
		}
		return 0;
	}
	for (ssize_t i = 0; i < n; i++)
		cq_dispatch(f, &ev[i], f->has_source ? src[i] : FI_ADDR_NOTAVAIL);
	*more = n == FAB_CQ_BATCH;
	return (unsigned int)n;
}

unsigned int fab_cq_poll(struct apird_fabric *f)
{
	unsigned int n = 0;
	bool more = true;

	for (int i = 0; i < CQ_BATCHES_PER_POLL && more; i++)
		n += cq_read_batch(f, &more);
	if (f->backlogged)
		backlog_flush(f);
	if (f->repost)
		repost_flush(f);
	return n;
}
