/* SPDX-License-Identifier: MIT */
/*
 * Peers: the address vector cache. A GID names an apird (::ffff:<its
 * fabric IP>); its fabric address is that IP and the default port, or the
 * port of a "peer = IP:PORT" line. A peer is resolved and inserted into
 * the AV once and kept; a failed peer is removed from the AV (so a
 * restarted apird at that address gets a fresh connection) and inserted
 * again on next use.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apir/log.h"
#include "fabric.h"

bool fab_gid_ipv4(const union ibv_gid *gid, struct in_addr *ip)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (memcmp(gid->raw, prefix, sizeof(prefix)))
		return false;
	memcpy(&ip->s_addr, &gid->raw[12], 4);
	return true;
}

bool apird_fabric_gid_reachable(const struct verbs_dev *d, const union ibv_gid *gid)
{
	struct in_addr ip;

	if (memcmp(gid, apird_local_gid(d), sizeof(*gid)) == 0)
		return true;
	return d->remote_link_priv && fab_gid_ipv4(gid, &ip) && ip.s_addr != htonl(INADDR_ANY);
}

struct fab_peer *fab_peer_find(struct apird_fabric *f, const union ibv_gid *gid)
{
	for (uint32_t i = 0; i < f->num_peers; i++)
		if (memcmp(&f->peers[i]->gid, gid, sizeof(*gid)) == 0)
			return f->peers[i];
	return NULL;
}

struct fab_peer *fab_peer_by_addr(struct apird_fabric *f, fi_addr_t a)
{
	if (a == FI_ADDR_NOTAVAIL || a == FI_ADDR_UNSPEC)
		return NULL;
	for (uint32_t i = 0; i < f->num_peers; i++)
		if (f->peers[i]->fi_addr == a)
			return f->peers[i];
	return NULL;
}

static struct fab_peer *peer_new(struct apird_fabric *f, const union ibv_gid *gid,
				 struct in_addr ip)
{
	struct fab_peer *p = calloc(1, sizeof(*p));
	char host[INET_ADDRSTRLEN];

	if (!p)
		return NULL;
	p->gid = *gid;
	p->sin.sin_family = AF_INET;
	p->sin.sin_addr = ip;
	p->sin.sin_port = htons(apird_config_peer_port(&f->cfg, ip));
	p->fi_addr = FI_ADDR_UNSPEC;
	inet_ntop(AF_INET, &ip, host, sizeof(host));
	snprintf(p->addr, sizeof(p->addr), "%s:%u", host, ntohs(p->sin.sin_port));
	f->peers[f->num_peers++] = p;
	return p;
}

fi_addr_t fab_peer_addr(struct apird_fabric *f, struct fab_peer *p)
{
	int ret;

	if (p->fi_addr != FI_ADDR_UNSPEC)
		return p->fi_addr;
	ret = fi_av_insert(f->av, &p->sin, 1, &p->fi_addr, 0, NULL);
	if (ret != 1) {
		p->fi_addr = FI_ADDR_UNSPEC;
		if (!p->failure_logged)
			apir_warn("fabric: peer %s: address vector refuses it: %s", p->addr,
				  fi_strerror(ret < 0 ? -ret : FI_EINVAL));
		p->failure_logged = true;
	}
	return p->fi_addr;
}

struct fab_peer *fab_peer_get(struct apird_fabric *f, const union ibv_gid *gid, int *err)
{
	struct fab_peer *p = fab_peer_find(f, gid);
	struct in_addr ip;

	*err = 0;
	if (!p) {
		if (!fab_gid_ipv4(gid, &ip) || ip.s_addr == htonl(INADDR_ANY) ||
		    memcmp(gid, &f->gid, sizeof(*gid)) == 0) {
			*err = EHOSTUNREACH;
			return NULL;
		}
		if (f->num_peers == FAB_PEERS_MAX) {
			*err = ENOSPC;
			return NULL;
		}
		p = peer_new(f, gid, ip);
		if (!p) {
			*err = ENOMEM;
			return NULL;
		}
	}
	if (fab_peer_addr(f, p) == FI_ADDR_UNSPEC) {
		*err = EHOSTUNREACH;
		return NULL;
	}
	return p;
}

void fab_peer_failed(struct apird_fabric *f, struct fab_peer *p, int err)
{
	unsigned int failed = 0;

	for (struct fab_qp *fq = f->qps; fq; fq = fq->next) {
		if (fq->peer == p && fq->qp && fq->sent) {
			fab_requester_fail(f, fq, IBV_WC_RETRY_EXC_ERR);
			failed++;
		}
	}
	apir_warn("fabric: peer %s failed (%s): %u QP%s with requests in flight moved to ERR",
		  p->addr, fi_strerror(err), failed, failed == 1 ? "" : "s");
	fab_peer_forget(f, p);
}

void fab_peer_forget(struct apird_fabric *f, struct fab_peer *p)
{
	if (p->fi_addr != FI_ADDR_UNSPEC)
		fi_av_remove(f->av, &p->fi_addr, 1, 0);
	p->fi_addr = FI_ADDR_UNSPEC;
	p->generation++;
	p->failure_logged = false;
	p->malformed_logged = false;
	p->greeted = false;
}

/* Providers connect on the first send, step through their handshake only
 * now and then, and set up their message buffers on first use (rxm: some
 * 17 MB, milliseconds): a hello when the first QP connects to a peer gets
 * all that done while the application sets up, not on its first request. */
void fab_peer_greet(struct apird_fabric *f, struct fab_peer *p)
{
	struct apir_fab_hello *h;
	struct fab_tx *tx;

	if (p->greeted)
		return;
	tx = fab_tx_get(f);
	if (!tx)
		return;
	h = (struct apir_fab_hello *)tx->buf;
	memset(h, 0, sizeof(*h));
	fab_hdr_init(&h->hdr, APIR_FAB_HELLO, sizeof(*h), &f->gid, 0, 0, 0);
	p->greeted = true;
	fab_tx_send(f, tx, p, sizeof(*h));
}

void fab_peer_malformed(struct apird_fabric *f, struct fab_peer *p, const char *why)
{
	bool *logged = p ? &p->malformed_logged : &f->unknown_malformed_logged;

	if (*logged)
		return;
	*logged = true;
	apir_warn("fabric: dropping a malformed message from %s: %s (further ones from it are "
		  "dropped silently)", p ? p->addr : "an unknown sender", why);
}

void fab_peers_free(struct apird_fabric *f)
{
	for (uint32_t i = 0; i < f->num_peers; i++)
		free(f->peers[i]);
	f->num_peers = 0;
}
