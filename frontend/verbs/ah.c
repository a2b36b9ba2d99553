/* SPDX-License-Identifier: MIT */
/*
 * Address handles (UD): created on apird, which resolves the destination;
 * send WQEs name them by handle. ibv_init_ah_from_wc builds the reply
 * address of a received UD message from its completion and GRH.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "queues.h"

APIR_EXPORT struct ibv_ah *ibv_create_ah(struct ibv_pd *pd, struct ibv_ah_attr *attr)
{
	struct apir_session *s = to_session(pd->context);
	Apir__CreateAh body = APIR__CREATE_AH__INIT;
	Apir__AhAttr wire = APIR__AH_ATTR__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	Apir__Response *resp;
	struct apir_ah *ah;
	int rc;

	ah = calloc(1, sizeof(*ah));
	if (!ah) {
		errno = ENOMEM;
		return NULL;
	}
	apir_ah_attr_to_msg(attr, &wire);
	body.pd = ((struct apir_pd *)pd)->handle;
	body.attr = &wire;
	req.body_case = APIR__REQUEST__BODY_CREATE_AH;
	req.create_ah = &body;
	rc = apir_rpc_simple(s, &req, APIR__RESPONSE__BODY_CREATE_AH, &resp);
	if (rc) {
		free(ah);
		errno = rc;
		return NULL;
	}
	ah->handle = resp->create_ah->ah;
	apir__response__free_unpacked(resp, NULL);
	ah->ibah.context = pd->context;
	ah->ibah.pd = pd;
	ah->ibah.handle = ah->handle;
	return &ah->ibah;
}

APIR_EXPORT int ibv_destroy_ah(struct ibv_ah *ibah)
{
	struct apir_ah *ah = (struct apir_ah *)ibah;
	struct apir_session *s = to_session(ibah->context);
	Apir__DestroyAh body = APIR__DESTROY_AH__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	int rc;

	body.ah = ah->handle;
	req.body_case = APIR__REQUEST__BODY_DESTROY_AH;
	req.destroy_ah = &body;
	rc = apir_rpc_destroy(s, &req);
	if (!rc)
		free(ah);
	return rc;
}

/* Index of gid in port 1's table, or -1. */
static int gid_index_of(struct ibv_context *context, uint8_t port_num, const union ibv_gid *gid)
{
	struct ibv_port_attr port;
	union ibv_gid entry;

	if (ibv_query_port(context, port_num, &port))
		return -1;
	for (int i = 0; i < port.gid_tbl_len; i++)
		if (ibv_query_gid(context, port_num, i, &entry) == 0 &&
		    memcmp(&entry, gid, sizeof(entry)) == 0)
			return i;
	return -1;
}

/*
 * The reply goes back to where the message came from: the source of the
 * received GRH becomes our destination, and the GRH destination (one of our
 * GIDs) names our source GID index.
 */
APIR_EXPORT int ibv_init_ah_from_wc(struct ibv_context *context, uint8_t port_num,
				    struct ibv_wc *wc, struct ibv_grh *grh,
				    struct ibv_ah_attr *ah_attr)
{
	uint32_t flow_class;
	int sgid_index;

	memset(ah_attr, 0, sizeof(*ah_attr));
	ah_attr->dlid = wc->slid;
	ah_attr->sl = wc->sl;
	ah_attr->src_path_bits = wc->dlid_path_bits;
	ah_attr->port_num = port_num;
	if (!(wc->wc_flags & IBV_WC_GRH))
		return 0;
	sgid_index = gid_index_of(context, port_num, &grh->dgid);
	if (sgid_index < 0) {
		errno = ENOENT;
		return -1;
	}
	flow_class = be32toh(grh->version_tclass_flow);
	ah_attr->is_global = 1;
	ah_attr->grh.dgid = grh->sgid;
	ah_attr->grh.sgid_index = (uint8_t)sgid_index;
	ah_attr->grh.flow_label = flow_class & 0xfffff;
	ah_attr->grh.traffic_class = (flow_class >> 20) & 0xff;
	ah_attr->grh.hop_limit = 0xff;
	return 0;
}

APIR_EXPORT struct ibv_ah *ibv_create_ah_from_wc(struct ibv_pd *pd, struct ibv_wc *wc,
						 struct ibv_grh *grh, uint8_t port_num)
{
	struct ibv_ah_attr attr;

	if (ibv_init_ah_from_wc(pd->context, port_num, wc, grh, &attr))
		return NULL;
	return ibv_create_ah(pd, &attr);
}
