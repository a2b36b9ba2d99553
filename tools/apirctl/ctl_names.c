/* SPDX-License-Identifier: MIT */
/* Names of QP types and states as verbs documents them, and GIDs as text. */
#include <arpa/inet.h>
#include <stdio.h>

#include <infiniband/verbs.h>

#include "ctl.h"

const char *ctl_qp_type_name(uint32_t type)
{
	switch (type) {
	case IBV_QPT_RC:
		return "RC";
	case IBV_QPT_UC:
		return "UC";
	case IBV_QPT_UD:
		return "UD";
	case IBV_QPT_RAW_PACKET:
		return "RAW_PACKET";
	case IBV_QPT_XRC_SEND:
		return "XRC_SEND";
	case IBV_QPT_XRC_RECV:
		return "XRC_RECV";
	case IBV_QPT_DRIVER:
		return "DRIVER";
	default:
		return "?";
	}
}

const char *ctl_qp_state_name(uint32_t state)
{
	static const char *const names[] = {
		[IBV_QPS_RESET] = "RESET", [IBV_QPS_INIT] = "INIT", [IBV_QPS_RTR] = "RTR",
		[IBV_QPS_RTS] = "RTS",     [IBV_QPS_SQD] = "SQD",   [IBV_QPS_SQE] = "SQE",
		[IBV_QPS_ERR] = "ERR",
	};

	return state < sizeof(names) / sizeof(names[0]) && names[state] ? names[state] : "?";
}

void ctl_gid_text(const ProtobufCBinaryData *gid, char *buf, size_t len)
{
	if (gid->len != 16 || !inet_ntop(AF_INET6, gid->data, buf, (socklen_t)len))
		snprintf(buf, len, "-");
}
