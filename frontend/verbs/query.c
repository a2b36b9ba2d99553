/* SPDX-License-Identifier: MIT */
/*
 * Device and port attributes. apird answers once, when the context opens;
 * every query after that is answered from the copy in the context (they
 * are hot in perftest and ibv_devinfo and never change for a session).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "core.h"
#include "queues.h"

#define MLX5_VENDOR_ID 0x02c9u
#define CONNECTX5_PART_ID 4119u

static void device_attr_from_wire(const Apir__DeviceAttr *w, struct ibv_device_attr_ex *ex)
{
	struct ibv_device_attr *a = &ex->orig_attr;

	memset(ex, 0, sizeof(*ex));
	strncpy(a->fw_ver, w->fw_ver, sizeof(a->fw_ver) - 1);
	a->node_guid = htobe64(w->node_guid);
	a->sys_image_guid = htobe64(w->sys_image_guid);
	a->max_mr_size = w->max_mr_size;
	a->page_size_cap = w->page_size_cap;
	a->vendor_id = w->vendor_id;
	a->vendor_part_id = w->vendor_part_id;
	a->hw_ver = w->hw_ver;
	a->max_qp = (int)w->max_qp;
	a->max_qp_wr = (int)w->max_qp_wr;
	a->device_cap_flags = w->device_cap_flags;
	a->max_sge = (int)w->max_sge;
	a->max_sge_rd = (int)w->max_sge_rd;
	a->max_cq = (int)w->max_cq;
	a->max_cqe = (int)w->max_cqe;
	a->max_mr = (int)w->max_mr;
	a->max_pd = (int)w->max_pd;
	a->max_qp_rd_atom = (int)w->max_qp_rd_atom;
	a->max_ee_rd_atom = (int)w->max_ee_rd_atom;
	a->max_res_rd_atom = (int)w->max_res_rd_atom;
	a->max_qp_init_rd_atom = (int)w->max_qp_init_rd_atom;
	a->max_ee_init_rd_atom = (int)w->max_ee_init_rd_atom;
	a->atomic_cap = (enum ibv_atomic_cap)w->atomic_cap;
	a->max_ee = (int)w->max_ee;
	a->max_rdd = (int)w->max_rdd;
	a->max_mw = (int)w->max_mw;
	a->max_raw_ipv6_qp = (int)w->max_raw_ipv6_qp;
	a->max_raw_ethy_qp = (int)w->max_raw_ethy_qp;
	a->max_mcast_grp = (int)w->max_mcast_grp;
	a->max_mcast_qp_attach = (int)w->max_mcast_qp_attach;
	a->max_total_mcast_qp_attach = (int)w->max_total_mcast_qp_attach;
	a->max_ah = (int)w->max_ah;
	a->max_fmr = (int)w->max_fmr;
	a->max_map_per_fmr = (int)w->max_map_per_fmr;
	a->max_srq = (int)w->max_srq;
	a->max_srq_wr = (int)w->max_srq_wr;
	a->max_srq_sge = (int)w->max_srq_sge;
	a->max_pkeys = (uint16_t)w->max_pkeys;
	a->local_ca_ack_delay = (uint8_t)w->local_ca_ack_delay;
	a->phys_port_cnt = (uint8_t)w->phys_port_cnt;
	ex->device_cap_flags_ex = w->device_cap_flags_ex;
	ex->completion_timestamp_mask = w->completion_timestamp_mask;
	ex->hca_core_clock = w->hca_core_clock;
	ex->phys_port_cnt_ex = w->phys_port_cnt;
}

static void port_attr_from_wire(const Apir__PortAttr *w, struct ibv_port_attr *p)
{
	memset(p, 0, sizeof(*p));
	p->state = (enum ibv_port_state)w->state;
	p->max_mtu = (enum ibv_mtu)w->max_mtu;
	p->active_mtu = (enum ibv_mtu)w->active_mtu;
	p->gid_tbl_len = w->gid_tbl_len;
	p->port_cap_flags = w->port_cap_flags;
	p->max_msg_sz = w->max_msg_sz;
	p->bad_pkey_cntr = w->bad_pkey_cntr;
	p->qkey_viol_cntr = w->qkey_viol_cntr;
	p->pkey_tbl_len = (uint16_t)w->pkey_tbl_len;
	p->lid = (uint16_t)w->lid;
	p->sm_lid = (uint16_t)w->sm_lid;
	p->lmc = (uint8_t)w->lmc;
	p->max_vl_num = (uint8_t)w->max_vl_num;
	p->sm_sl = (uint8_t)w->sm_sl;
	p->subnet_timeout = (uint8_t)w->subnet_timeout;
	p->init_type_reply = (uint8_t)w->init_type_reply;
	p->active_width = (uint8_t)w->active_width;
	p->active_speed = (uint8_t)w->active_speed;
	p->phys_state = (uint8_t)w->phys_state;
	p->link_layer = (uint8_t)w->link_layer;
	p->flags = (uint8_t)w->flags;
	p->port_cap_flags2 = (uint16_t)w->port_cap_flags2;
}

static int load_device_attr(struct apir_context *actx)
{
	Apir__QueryDevice body = APIR__QUERY_DEVICE__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	Apir__Response *resp;
	int rc;

	req.body_case = APIR__REQUEST__BODY_QUERY_DEVICE;
	req.query_device = &body;
	rc = apir_rpc_simple(&actx->session, &req, APIR__RESPONSE__BODY_DEVICE_ATTR, &resp);
	if (rc)
		return rc;
	device_attr_from_wire(resp->device_attr, &actx->dev_attr);
	apir__response__free_unpacked(resp, NULL);
	if (actx->emulate_mlx5) {
		/* perftest picks its ibv_wr_* path by these IDs */
		actx->dev_attr.orig_attr.vendor_id = MLX5_VENDOR_ID;
		actx->dev_attr.orig_attr.vendor_part_id = CONNECTX5_PART_ID;
	}
	return 0;
}

static int load_port_attr(struct apir_context *actx)
{
	Apir__QueryPort body = APIR__QUERY_PORT__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	Apir__Response *resp;
	int rc;

	body.port_num = 1;
	req.body_case = APIR__REQUEST__BODY_QUERY_PORT;
	req.query_port = &body;
	rc = apir_rpc_simple(&actx->session, &req, APIR__RESPONSE__BODY_PORT_ATTR, &resp);
	if (rc)
		return rc;
	port_attr_from_wire(resp->port_attr, &actx->port_attr);
	apir__response__free_unpacked(resp, NULL);
	return 0;
}

static int load_gid_table(struct apir_context *actx)
{
	Apir__QueryGidTable body = APIR__QUERY_GID_TABLE__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	Apir__Response *resp;
	const int slots = (int)(sizeof(actx->gid) / sizeof(actx->gid[0]));
	int rc;

	body.port_num = 1;
	req.body_case = APIR__REQUEST__BODY_QUERY_GID_TABLE;
	req.query_gid_table = &body;
	rc = apir_rpc_simple(&actx->session, &req, APIR__RESPONSE__BODY_GID_TABLE, &resp);
	if (rc)
		return rc;
	actx->gid_count = 0;
	for (size_t i = 0; i < resp->gid_table->n_entries; i++) {
		const Apir__GidEntry *e = resp->gid_table->entries[i];

		if (e->gid.len != sizeof(union ibv_gid) || e->index >= (uint32_t)slots || e->port_num != 1) {
			apir_warn("apird sent an invalid GID entry (index %u): ignored", e->index);
			continue;
		}
		memcpy(&actx->gid[e->index], e->gid.data, sizeof(union ibv_gid));
		actx->gid_type[e->index] = (enum ibv_gid_type)e->gid_type;
		if ((int)e->index >= actx->gid_count)
			actx->gid_count = (int)e->index + 1;
	}
	apir__response__free_unpacked(resp, NULL);
	/* The port never reports more entries than we hold. */
	if (actx->port_attr.gid_tbl_len > slots)
		actx->port_attr.gid_tbl_len = slots;
	return 0;
}

int apir_query_load(struct apir_context *actx)
{
	int rc = load_device_attr(actx);

	if (!rc)
		rc = load_port_attr(actx);
	if (!rc)
		rc = load_gid_table(actx);
	return rc;
}

/* Copies what fits of src into a caller buffer of len bytes and zeroes the
 * rest, so a caller built against other headers gets what it knows. */
static void copy_sized(void *dst, size_t len, const void *src, size_t src_len)
{
	size_t n = len < src_len ? len : src_len;

	memcpy(dst, src, n);
	if (len > n)
		memset((uint8_t *)dst + n, 0, len - n);
}

APIR_EXPORT int ibv_query_device(struct ibv_context *context,
				 struct ibv_device_attr *device_attr)
{
	*device_attr = to_actx(context)->dev_attr.orig_attr;
	return 0;
}

int apir_query_device_ex_op(struct ibv_context *ctx,
			    const struct ibv_query_device_ex_input *input,
			    struct ibv_device_attr_ex *attr, size_t attr_size)
{
	if ((input && input->comp_mask) || attr_size < sizeof(attr->orig_attr))
		return EINVAL;
	copy_sized(attr, attr_size, &to_actx(ctx)->dev_attr, sizeof(struct ibv_device_attr_ex));
	return 0;
}

int apir_query_port_op(struct ibv_context *ctx, uint8_t port_num,
		       struct ibv_port_attr *attr, size_t attr_len)
{
	struct apir_context *actx = to_actx(ctx);

	if (port_num != 1)   /* apird's device has one port */
		return EINVAL;
	copy_sized(attr, attr_len, &actx->port_attr, sizeof(actx->port_attr));
	return 0;
}

/* The exported symbol, for binaries built before ibv_query_port became a
 * macro over verbs_context.query_port: their struct ends at link_layer. */
#undef ibv_query_port
APIR_EXPORT int ibv_query_port(struct ibv_context *context, uint8_t port_num,
			       struct _compat_ibv_port_attr *port_attr)
{
	return apir_query_port_op(context, port_num, (struct ibv_port_attr *)port_attr,
				  offsetof(struct ibv_port_attr, flags));
}
