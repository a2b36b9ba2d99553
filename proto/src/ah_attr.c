/* SPDX-License-Identifier: MIT */
#include "apir/ah_attr.h"

void apir_ah_attr_to_msg(const struct ibv_ah_attr *ah, Apir__AhAttr *m)
{
	apir__ah_attr__init(m);
	m->dlid = ah->dlid;
	m->sl = ah->sl;
	m->src_path_bits = ah->src_path_bits;
	m->static_rate = ah->static_rate;
	m->is_global = ah->is_global != 0;
	m->port_num = ah->port_num;
	if (!ah->is_global)
		return;
	m->dgid.data = (uint8_t *)ah->grh.dgid.raw;
	m->dgid.len = sizeof(ah->grh.dgid.raw);
	m->flow_label = ah->grh.flow_label;
	m->sgid_index = ah->grh.sgid_index;
	m->hop_limit = ah->grh.hop_limit;
	m->traffic_class = ah->grh.traffic_class;
}
