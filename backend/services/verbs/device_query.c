/* SPDX-License-Identifier: MIT */
/*
 * QueryDevice, QueryPort, QueryGidTable: what apird really enforces.
 *
 * Identity: vendor_id 0x026170 is an IEEE OUI with the "locally
 * administered" bit (0x02 in the first octet) set, so it can never collide
 * with a vendor's assigned OUI; applications that key code paths on vendor
 * IDs (perftest) take their generic path. The frontend may present a
 * different profile (APIR_DEVICE_PROFILE=mlx5); apird does not.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "handlers.h"

#define APIRD_VENDOR_ID 0x026170u
#define APIRD_VENDOR_PART_ID 1u
/* CQEs carry CLOCK_MONOTONIC nanoseconds: a 1 GHz clock, in kHz. */
#define APIRD_CLOCK_KHZ 1000000u
/* "\x02api" then the IPv4 address: unique per apird on a fabric. In host
 * order on the wire; the frontend stores it big-endian in ibv_device_attr. */
static uint64_t node_guid(const struct verbs_dev *d)
{
	return 0x02617069ull << 32 | be32toh(d->apird->cfg.gid_ipv4.s_addr);
}

static void fill_limits(Apir__DeviceAttr *a)
{
	a->max_mr_size = APIRD_MAX_MR_SIZE;
	a->page_size_cap = ~(uint64_t)(APIR_PAGE_SIZE - 1);
	a->max_qp = APIRD_MAX_QP;
	a->max_qp_wr = APIRD_MAX_QP_WR;
	a->max_sge = APIR_MAX_SGE;
	a->max_sge_rd = APIR_MAX_SGE;
	a->max_cq = APIRD_MAX_CQ;
	a->max_cqe = APIRD_CQE_LIMIT;
	a->max_mr = APIRD_MAX_MR;
	a->max_pd = APIRD_MAX_PD;
	a->max_qp_rd_atom = APIRD_MAX_QP_RD_ATOM;
	a->max_qp_init_rd_atom = APIRD_MAX_QP_RD_ATOM;
	a->max_res_rd_atom = APIRD_MAX_QP * APIRD_MAX_QP_RD_ATOM;
	a->max_ah = APIRD_MAX_AH;
	a->max_srq = APIRD_MAX_SRQ;
	a->max_srq_wr = APIRD_MAX_SRQ_WR;
	a->max_srq_sge = APIR_MAX_SGE;
	a->max_pkeys = 1;
	a->max_inline_data = APIR_MAX_INLINE;
}

int apird_do_query_device(struct apird_call *c)
{
	Apir__DeviceAttr *a = &verbs_reply(c)->device_attr;

	apir__device_attr__init(a);
	a->fw_ver = APIR_VERSION;
	a->node_guid = node_guid(call_dev(c));
	a->sys_image_guid = a->node_guid;
	a->vendor_id = APIRD_VENDOR_ID;
	a->vendor_part_id = APIRD_VENDOR_PART_ID;
	a->device_cap_flags = IBV_DEVICE_CURR_QP_STATE_MOD | IBV_DEVICE_SYS_IMAGE_GUID |
			      IBV_DEVICE_RC_RNR_NAK_GEN;
	a->atomic_cap = IBV_ATOMIC_HCA;
	a->phys_port_cnt = 1;
	a->completion_timestamp_mask = UINT64_MAX;
	a->hca_core_clock = APIRD_CLOCK_KHZ;
	a->dev_name = c->d->cfg.device_name;
	fill_limits(a);
	c->resp.body_case = APIR__RESPONSE__BODY_DEVICE_ATTR;
	c->resp.device_attr = a;
	return 0;
}

static int check_port(struct apird_call *c, uint32_t port_num)
{
	if (port_num != APIRD_PORT_NUM)
		return apird_fail(c, EINVAL, "port %u does not exist: the device has port 1 only",
				  port_num);
	return 0;
}

int apird_do_query_port(struct apird_call *c)
{
	Apir__PortAttr *p = &verbs_reply(c)->port_attr;
	int rc = check_port(c, c->req->query_port->port_num);

	if (rc)
		return rc;
	apir__port_attr__init(p);
	p->state = IBV_PORT_ACTIVE;
	p->max_mtu = IBV_MTU_4096;
	p->active_mtu = IBV_MTU_4096;
	p->gid_tbl_len = 1;
	p->port_cap_flags = IBV_PORT_IP_BASED_GIDS;
	p->max_msg_sz = APIRD_MAX_MSG_SZ;
	p->pkey_tbl_len = 1;
	p->max_vl_num = 1;               /* VL0 only */
	p->active_width = 2;             /* 4X */
	p->active_speed = 32;            /* EDR: 4X EDR = 100 Gb/s nominal */
	p->phys_state = 5;               /* LinkUp */
	p->link_layer = IBV_LINK_LAYER_ETHERNET;
	c->resp.body_case = APIR__RESPONSE__BODY_PORT_ATTR;
	c->resp.port_attr = p;
	return 0;
}

int apird_do_query_gid_table(struct apird_call *c)
{
	typeof(verbs_reply(c)->gid_table) *t = &verbs_reply(c)->gid_table;
	int rc = check_port(c, c->req->query_gid_table->port_num);

	if (rc)
		return rc;
	apir__gid_table__init(&t->table);
	apir__gid_entry__init(&t->entry);
	t->entry.gid.data = (uint8_t *)apird_local_gid(call_dev(c))->raw;
	t->entry.gid.len = sizeof(union ibv_gid);
	t->entry.index = 0;
	t->entry.port_num = APIRD_PORT_NUM;
	t->entry.gid_type = IBV_GID_TYPE_ROCE_V2;
	t->entries[0] = &t->entry;
	t->table.entries = t->entries;
	t->table.n_entries = 1;
	c->resp.body_case = APIR__RESPONSE__BODY_GID_TABLE;
	c->resp.gid_table = &t->table;
	return 0;
}
