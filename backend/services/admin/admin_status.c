/* SPDX-License-Identifier: MIT */
/*
 * AdminStatus: what apirctl shows an operator. The sessions, every QP with
 * its peer, and per-QP counters, in pages that each fit one frame; the
 * client asks again from the cursors a reply returns. Nothing here names a
 * memory key or an address of guest memory: whoever can connect to the
 * socket may read all of it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "dispatch.h"
#include "util.h"
#include "verbs.h"
#include "verbs_service.h"

/* Room left in a frame for the envelope and the device summary. */
#define PAGE_BUDGET (APIR_MAX_FRAME - 1024u)
/* A repeated field's item costs its tag and length varint on top. */
#define ITEM_OVERHEAD 4u

struct qp_row {
	Apir__QpInfo info;
	union ibv_gid peer_gid;
};

/* Everything one reply points into, freed once it was sent. */
struct status_page {
	Apir__AdminStatusReply reply;
	Apir__DeviceSummary device;
	union ibv_gid gid;
	char fabric_addr[APIRD_FABRIC_ADDR_MAX];
	struct apird_session **sessions;  /* candidates, by id */
	struct apird_qp **qps;            /* candidates, by QPN */
	size_t num_sessions, num_qps;
	Apir__SessionInfo *session_rows;
	Apir__SessionInfo **session_ptrs;
	struct qp_row *qp_rows;
	Apir__QpInfo **qp_ptrs;
	size_t used;                      /* packed bytes of the rows so far */
};

static void page_free(struct apird_call *c)
{
	struct status_page *p = c->reply_storage;

	free(p->sessions);
	free(p->qps);
	free(p->session_rows);
	free(p->session_ptrs);
	free(p->qp_rows);
	free(p->qp_ptrs);
	free(p);
	c->reply_storage = NULL;
}

/* Sessions an operator sees: every session that said Hello, but the asking one. */
static bool listed(const struct apird_call *c, const struct apird_session *s)
{
	return s != c->s && s->handshaken;
}

/* A session's verbs objects; an empty set for a session of another service. */
static const struct verbs_session *objects_of(const struct apird_session *s)
{
	static const struct verbs_session none;

	return s->service->ops == &apird_verbs_service ? verbs_session(s) : &none;
}

/* The verbs device, whose QPs are listed; NULL if apird has none. */
static struct verbs_dev *verbs_dev(const struct apird *d)
{
	const struct apird_service *svc = apird_service_find(d, apird_verbs_service.name);

	return svc ? svc->priv : NULL;
}

static int by_session_id(const void *a, const void *b)
{
	uint64_t x = (*(struct apird_session *const *)a)->id;
	uint64_t y = (*(struct apird_session *const *)b)->id;

	return (x > y) - (x < y);
}

static int by_qp_num(const void *a, const void *b)
{
	uint32_t x = (*(struct apird_qp *const *)a)->qp_num;
	uint32_t y = (*(struct apird_qp *const *)b)->qp_num;

	return (x > y) - (x < y);
}

/* Counts what is listed for the summary and gathers, sorted, what this page
 * may show: sessions and QPs at or after the cursors. */
static int gather(struct apird_call *c, struct status_page *p, const Apir__AdminStatus *req)
{
	size_t ns = 0, nq = 0;

	for (struct apird_session *s = c->d->sessions; s; s = s->next) {
		if (!listed(c, s))
			continue;
		ns++;
		nq += objects_of(s)->qps.count;
	}
	p->device.num_sessions = (uint32_t)ns;
	p->device.num_qps = (uint32_t)nq;
	p->sessions = calloc(ns ? ns : 1, sizeof(*p->sessions));
	p->qps = calloc(nq ? nq : 1, sizeof(*p->qps));
	if (!p->sessions || !p->qps)
		return -ENOMEM;
	for (struct apird_session *s = c->d->sessions; s; s = s->next) {
		const struct apird_table *qps = &objects_of(s)->qps;

		if (!listed(c, s))
			continue;
		if (s->id >= req->session_from)
			p->sessions[p->num_sessions++] = s;
		for (uint32_t h = apird_table_next(qps, 0); h; h = apird_table_next(qps, h)) {
			struct apird_qp *qp = apird_table_get(qps, h);

			if (qp->qp_num >= req->qp_from)
				p->qps[p->num_qps++] = qp;
		}
	}
	qsort(p->sessions, p->num_sessions, sizeof(*p->sessions), by_session_id);
	qsort(p->qps, p->num_qps, sizeof(*p->qps), by_qp_num);
	return 0;
}

static int rows_alloc(struct status_page *p)
{
	size_t ns = p->num_sessions ? p->num_sessions : 1, nq = p->num_qps ? p->num_qps : 1;

	p->session_rows = calloc(ns, sizeof(*p->session_rows));
	p->session_ptrs = calloc(ns, sizeof(*p->session_ptrs));
	p->qp_rows = calloc(nq, sizeof(*p->qp_rows));
	p->qp_ptrs = calloc(nq, sizeof(*p->qp_ptrs));
	return p->session_rows && p->session_ptrs && p->qp_rows && p->qp_ptrs ? 0 : -ENOMEM;
}

/* Whether one more row of packed size len fits the page; counts it if so. */
static bool page_take(struct status_page *p, size_t len)
{
	if (p->used + len + ITEM_OVERHEAD > PAGE_BUDGET)
		return false;
	p->used += len + ITEM_OVERHEAD;
	return true;
}

static uint64_t mr_bytes(const struct apird_session *s)
{
	uint64_t total = 0;

	const struct apird_table *mrs = &objects_of(s)->mrs;

	for (uint32_t h = apird_table_next(mrs, 0); h; h = apird_table_next(mrs, h))
		total += ((const struct apird_mr *)apird_table_get(mrs, h))->length;
	return total;
}

static void session_row(const struct apird_session *s, Apir__SessionInfo *m)
{
	apir__session_info__init(m);
	m->id = s->id;
	/* Packing only reads through these pointers, while s is alive. */
	m->client_name = (char *)s->client;
	m->transport = (char *)s->transport;
	m->pid = s->pid;
	m->num_pds = objects_of(s)->pds.count;
	m->num_mrs = objects_of(s)->mrs.count;
	m->num_cqs = objects_of(s)->cqs.count;
	m->num_srqs = objects_of(s)->srqs.count;
	m->num_qps = objects_of(s)->qps.count;
	m->num_ahs = objects_of(s)->ahs.count;
	m->num_comp_channels = objects_of(s)->channels.count;
	m->mr_bytes = mr_bytes(s);
}

/* A destination QP is part of an RC/UC QP from RTR on. */
static bool qp_has_peer(const struct apird_qp *qp)
{
	return (qp->qp_type == IBV_QPT_RC || qp->qp_type == IBV_QPT_UC) &&
	       qp->state != IBV_QPS_RESET && qp->state != IBV_QPS_INIT && qp->attr.dest_qp_num;
}

/* A peer on another apird: what the fabric engine connected the QP to. */
static void remote_peer_fill(const struct apird_qp *qp, struct qp_row *row)
{
	Apir__QpInfo *m = &row->info;

	m->peer_remote = true;
	m->peer_qp_num = qp->remote.qpn;
	row->peer_gid = qp->remote.gid;
	/* Packing only reads through this pointer, while qp is alive. */
	m->peer_fabric_addr = (char *)qp->remote.addr;
	m->fabric_requests_sent = qp->remote.requests_sent;
	m->fabric_rnr_naks = qp->remote.rnr_naks;
	m->fabric_naks_sent = qp->remote.naks_sent;
}

static void peer_fill(struct verbs_dev *d, const struct apird_qp *qp, struct qp_row *row)
{
	Apir__QpInfo *m = &row->info;

	m->has_peer = true;
	if (qp->remote.active) {
		remote_peer_fill(qp, row);
	} else {
		const struct apird_qp *peer = apird_qp_lookup(d, qp->attr.dest_qp_num);

		m->peer_qp_num = qp->attr.dest_qp_num;
		row->peer_gid = *apird_local_gid(d);
		m->peer_session_id = peer ? peer->session->id : 0;
	}
	m->peer_gid.data = row->peer_gid.raw;
	m->peer_gid.len = sizeof(row->peer_gid.raw);
}

static void qp_row(struct verbs_dev *d, const struct apird_qp *qp, struct qp_row *row)
{
	Apir__QpInfo *m = &row->info;

	apir__qp_info__init(m);
	m->qp_num = qp->qp_num;
	m->qp_type = qp->qp_type;
	m->state = qp->state;
	m->session_id = qp->session->id;
	m->bytes_sent = qp->bytes_sent;
	m->ops_sent = qp->ops_sent;
	m->bytes_received = qp->bytes_received;
	m->ops_received = qp->ops_received;
	if (qp_has_peer(qp))
		peer_fill(d, qp, row);
}

/* Sessions first, then QPs, while they fit; the cursors say where the
 * next page starts. */
static void page_fill(struct apird_call *c, struct status_page *p, const Apir__AdminStatus *req)
{
	Apir__AdminStatusReply *r = &p->reply;

	r->next_session_from = req->session_from;
	r->next_qp_from = req->qp_from;
	for (size_t i = 0; i < p->num_sessions; i++) {
		Apir__SessionInfo *m = &p->session_rows[r->n_sessions];

		session_row(p->sessions[i], m);
		if (!page_take(p, apir__session_info__get_packed_size(m))) {
			r->more = true;
			r->next_session_from = p->sessions[i]->id;
			return;
		}
		p->session_ptrs[r->n_sessions++] = m;
		r->next_session_from = p->sessions[i]->id + 1;
	}
	for (size_t i = 0; i < p->num_qps; i++) {
		struct qp_row *row = &p->qp_rows[r->n_qps];

		qp_row(verbs_dev(c->d), p->qps[i], row);
		if (!page_take(p, apir__qp_info__get_packed_size(&row->info))) {
			r->more = true;
			r->next_qp_from = p->qps[i]->qp_num;
			return;
		}
		p->qp_ptrs[r->n_qps++] = &row->info;
		r->next_qp_from = p->qps[i]->qp_num + 1;
	}
}

static void device_summary(struct apird_call *c, struct status_page *p)
{
	struct apird_config *cfg = &c->d->cfg;
	struct verbs_dev *d = verbs_dev(c->d);
	Apir__DeviceSummary *m = &p->device;

	m->device_name = cfg->device_name;
	m->version = APIR_VERSION;
	if (d)
		p->gid = *apird_local_gid(d);
	m->gid.data = p->gid.raw;
	m->gid.len = sizeof(p->gid.raw);
	m->pid = (uint32_t)getpid();
	if (cfg->fabric_enabled) {
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &cfg->fabric_ip, ip, sizeof(ip));
		snprintf(p->fabric_addr, sizeof(p->fabric_addr), "%s:%u", ip, cfg->fabric_port);
		m->fabric_addr = p->fabric_addr;
		m->fabric_provider = cfg->fabric_provider;
	}
}

int apird_do_admin_status(struct apird_call *c)
{
	const Apir__AdminStatus *req = c->req->admin_status;
	struct status_page *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return apird_fail(c, ENOMEM, "no memory for the status");
	c->reply_storage = p;
	c->release_reply = page_free;
	apir__admin_status_reply__init(&p->reply);
	apir__device_summary__init(&p->device);
	rc = gather(c, p, req);
	if (!rc)
		rc = rows_alloc(p);
	if (rc)
		return apird_fail(c, -rc, "no memory for the status");
	device_summary(c, p);
	page_fill(c, p, req);
	p->reply.device = &p->device;
	p->reply.sessions = p->session_ptrs;
	p->reply.qps = p->qp_ptrs;
	c->resp.body_case = APIR__RESPONSE__BODY_ADMIN_STATUS;
	c->resp.admin_status = &p->reply;
	return 0;
}

static const struct apird_handler handlers[] = {
	[APIR__REQUEST__BODY_ADMIN_STATUS] = { "admin_status", apird_do_admin_status, 0 },
};

/* An operator tool's session: status only, no data plane. Frontends from
 * before services said "admin" in Hello.transport. */
const struct apird_service_ops apird_admin_service = {
	.name = "admin",
	.alias = APIR_TRANSPORT_ADMIN,
	.handlers = handlers,
	.num_handlers = APIRD_ARRAY_SIZE(handlers),
	.data_plane = false,
};
