/* SPDX-License-Identifier: MIT */
/*
 * The fabric engine's address vector cache on a real endpoint: a GID names
 * an apird (IPv4-mapped), resolves once to its address (default port or
 * "peer" line) and stays cached; a failed peer leaves the AV and is
 * inserted afresh on next use; what is not another apird's GID is refused.
 */
#include "fabric.h"
#include "test_fabric_fixture.h"

static union ibv_gid gid_v4(const char *ip)
{
	union ibv_gid g;
	struct in_addr a;

	memset(&g, 0, sizeof(g));
	CU_ASSERT_FATAL(inet_pton(AF_INET, ip, &a) == 1);
	g.raw[10] = g.raw[11] = 0xff;
	memcpy(&g.raw[12], &a.s_addr, 4);
	return g;
}

static void test_resolve_and_cache(void)
{
	struct apird_fabric *f;
	union ibv_gid b = gid_v4("127.0.0.2"), c = gid_v4("127.0.0.9");
	struct fab_peer *p, *q;
	char want[32];
	int err;

	fab_setup();
	f = fx.v->remote_link_priv;
	CU_ASSERT_FATAL(f != NULL);
	p = fab_peer_get(f, &b, &err);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(err, 0);
	snprintf(want, sizeof(want), "127.0.0.2:%u", fab_test_port(1));
	CU_ASSERT_STRING_EQUAL(p->addr, want);          /* the "peer" line's port */
	CU_ASSERT_NOT_EQUAL(p->fi_addr, FI_ADDR_UNSPEC);
	CU_ASSERT_PTR_EQUAL(fab_peer_get(f, &b, &err), p);
	CU_ASSERT_EQUAL(f->num_peers, 1);
	q = fab_peer_get(f, &c, &err);
	CU_ASSERT_FATAL(q != NULL);
	CU_ASSERT_STRING_EQUAL(q->addr, "127.0.0.9:7471");  /* the default port */
	CU_ASSERT_PTR_EQUAL(fab_peer_find(f, &c), q);
	CU_ASSERT_PTR_EQUAL(fab_peer_by_addr(f, q->fi_addr), q);
	fab_teardown();
}

static void test_refused_gids(void)
{
	union ibv_gid link_local = { .raw = { 0xfe, 0x80, [15] = 1 } };
	union ibv_gid own, any = gid_v4("0.0.0.0");
	struct apird_fabric *f;
	int err;

	fab_setup();
	f = fx.v->remote_link_priv;
	own = *apird_local_gid(fx.v);
	CU_ASSERT_PTR_NULL(fab_peer_get(f, &link_local, &err));
	CU_ASSERT_EQUAL(err, EHOSTUNREACH);
	CU_ASSERT_PTR_NULL(fab_peer_get(f, &own, &err));
	CU_ASSERT_EQUAL(err, EHOSTUNREACH);
	CU_ASSERT_PTR_NULL(fab_peer_get(f, &any, &err));
	CU_ASSERT_EQUAL(err, EHOSTUNREACH);
	CU_ASSERT_EQUAL(f->num_peers, 0);
	CU_ASSERT(apird_fabric_gid_reachable(fx.v, &own));
	CU_ASSERT(!apird_fabric_gid_reachable(fx.v, &link_local));
	CU_ASSERT(apird_fabric_gid_reachable(fx.v, &link_local) ==
		  apird_fabric_gid_reachable(fab_vb, &link_local));
	fab_teardown();
}

/* Without the fabric, only this apird's own GID is reachable. */
static void test_fabric_off(void)
{
	union ibv_gid other = gid_v4("127.0.0.2");

	fx_setup();
	CU_ASSERT_PTR_NULL(fx.v->remote_link_priv);
	CU_ASSERT(!apird_fabric_gid_reachable(fx.v, &other));
	CU_ASSERT(apird_fabric_gid_reachable(fx.v, apird_local_gid(fx.v)));
	fx_teardown();
}

static void test_failed_peer_is_forgotten(void)
{
	union ibv_gid b = gid_v4("127.0.0.2");
	struct apird_fabric *f;
	struct fab_peer *p;
	uint32_t generation;
	int err;

	fab_setup();
	f = fx.v->remote_link_priv;
	p = fab_peer_get(f, &b, &err);
	CU_ASSERT_FATAL(p != NULL);
	generation = p->generation;
	fab_peer_failed(f, p, FI_ECONNRESET);
	CU_ASSERT_EQUAL(p->fi_addr, FI_ADDR_UNSPEC);
	CU_ASSERT_EQUAL(p->generation, generation + 1);
	CU_ASSERT_PTR_NULL(fab_peer_by_addr(f, FI_ADDR_UNSPEC));
	CU_ASSERT_PTR_EQUAL(fab_peer_get(f, &b, &err), p);   /* inserted again */
	CU_ASSERT_NOT_EQUAL(p->fi_addr, FI_ADDR_UNSPEC);
	fab_teardown();
}

static void test_peer_table_bounded(void)
{
	struct apird_fabric *f;
	union ibv_gid g;
	int err = 0;
	uint32_t i;

	fab_setup();
	f = fx.v->remote_link_priv;
	g = gid_v4("10.200.0.0");
	for (i = 0; i < FAB_PEERS_MAX + 1; i++) {
		g.raw[14] = (uint8_t)(i >> 8);
		g.raw[15] = (uint8_t)i;
		g.raw[13] = 1;
		if (!fab_peer_get(f, &g, &err))
			break;
	}
	CU_ASSERT_EQUAL(i, FAB_PEERS_MAX);
	CU_ASSERT_EQUAL(err, ENOSPC);
	fab_teardown();
}

static CU_TestInfo tests[] = {
	{ "resolve and cache", test_resolve_and_cache },
	{ "refused GIDs", test_refused_gids },
	{ "fabric off", test_fabric_off },
	{ "failed peer is forgotten", test_failed_peer_is_forgotten },
	{ "peer table bounded", test_peer_table_bounded },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "fabric peers", tests })
