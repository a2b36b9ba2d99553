/* SPDX-License-Identifier: MIT */
/*
 * Address vectors (ibv_ah_attr), as ModifyQp(AV) and CreateAh carry them.
 * A destination is local when its GID is this apird's own GID, or when
 * the vector has no GRH (is_global = 0): then the destination QP is on
 * this apird and is found by its QPN. With the fabric on, an IPv4-mapped
 * GID names another apird, reached through the engine's remote link.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "handlers.h"

static int check_fields(struct apird_call *c, const Apir__AhAttr *m)
{
	if (m->port_num != APIRD_PORT_NUM)
		return apird_fail(c, EINVAL, "address vector: port %u does not exist", m->port_num);
	if (m->sl > 15 || m->dlid > 0xffff || m->src_path_bits > 0x7f ||
	    m->static_rate > IBV_RATE_1200_GBPS)
		return apird_fail(c, EINVAL, "address vector: sl, dlid, src_path_bits or static_rate "
				  "out of range");
	if (!m->is_global)
		return 0;
	if (m->dgid.len != sizeof(union ibv_gid))
		return apird_fail(c, EINVAL, "address vector: dgid has %zu bytes, not 16",
				  m->dgid.len);
	if (m->sgid_index != 0)
		return apird_fail(c, EINVAL, "address vector: sgid_index %u, the GID table has "
				  "1 entry", m->sgid_index);
	if (m->hop_limit > 0xff || m->traffic_class > 0xff || m->flow_label > 0xfffff)
		return apird_fail(c, EINVAL, "address vector: hop_limit, traffic_class or "
				  "flow_label out of range");
	return 0;
}

static int check_reachable(struct apird_call *c, const struct ibv_ah_attr *av)
{
	const union ibv_gid *local = apird_local_gid(call_dev(c));
	char dst[INET6_ADDRSTRLEN], own[INET6_ADDRSTRLEN];

	if (!av->is_global || call_dev(c)->engine->gid_reachable(call_dev(c), &av->grh.dgid))
		return 0;
	inet_ntop(AF_INET6, av->grh.dgid.raw, dst, sizeof(dst));
	inet_ntop(AF_INET6, local->raw, own, sizeof(own));
	if (!call_dev(c)->remote_link)
		return apird_fail(c, EHOSTUNREACH, "destination GID %s is not this apird (%s) and "
				  "the fabric is off (apird --fabric-addr)", dst, own);
	return apird_fail(c, EHOSTUNREACH, "destination GID %s is neither this apird (%s) nor an "
			  "IPv4-mapped GID of another apird", dst, own);
}

bool apird_av_is_local(const struct verbs_dev *d, const struct ibv_ah_attr *av)
{
	const union ibv_gid *local = apird_local_gid(d);

	return !av->is_global || memcmp(av->grh.dgid.raw, local->raw, sizeof(local->raw)) == 0;
}

int apird_av_from_msg(struct apird_call *c, const Apir__AhAttr *m, struct ibv_ah_attr *av)
{
	int rc;

	if (!m)
		return apird_fail(c, EINVAL, "address vector missing");
	rc = check_fields(c, m);
	if (rc)
		return rc;
	memset(av, 0, sizeof(*av));
	av->dlid = (uint16_t)m->dlid;
	av->sl = (uint8_t)m->sl;
	av->src_path_bits = (uint8_t)m->src_path_bits;
	av->static_rate = (uint8_t)m->static_rate;
	av->is_global = m->is_global ? 1 : 0;
	av->port_num = (uint8_t)m->port_num;
	if (av->is_global) {
		memcpy(av->grh.dgid.raw, m->dgid.data, sizeof(av->grh.dgid.raw));
		av->grh.flow_label = m->flow_label;
		av->grh.sgid_index = (uint8_t)m->sgid_index;
		av->grh.hop_limit = (uint8_t)m->hop_limit;
		av->grh.traffic_class = (uint8_t)m->traffic_class;
	}
	return check_reachable(c, av);
}

void apird_gid_from_ipv4(union ibv_gid *gid, struct in_addr a)
{
	memset(gid, 0, sizeof(*gid));
	gid->raw[10] = 0xff;
	gid->raw[11] = 0xff;
	memcpy(&gid->raw[12], &a.s_addr, 4);
}
