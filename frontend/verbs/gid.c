/* SPDX-License-Identifier: MIT */
/*
 * GID and P_Key tables of port 1, answered from the copy fetched at open
 * (perftest's best-GID search queries every entry four times).
 *
 * Error conventions differ per verb and follow rdma-core: ibv_query_gid,
 * ibv_query_pkey and ibv_get_pkey_index return -1 with errno;
 * _ibv_query_gid_ex returns an errno (ENODATA for an empty entry);
 * _ibv_query_gid_table returns a count or a negative errno.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "core.h"

/* rdma-core's private enum ibv_gid_type_sysfs (ibv_query_gid_type). */
enum { GID_TYPE_SYSFS_IB_ROCE_V1 = 0, GID_TYPE_SYSFS_ROCE_V2 = 1 };

static bool gid_index_ok(struct apir_context *actx, uint32_t port_num, uint32_t index)
{
	return port_num == 1 && index < (uint32_t)actx->port_attr.gid_tbl_len;
}

static bool gid_empty(const union ibv_gid *gid)
{
	static const union ibv_gid zero;

	return memcmp(gid, &zero, sizeof(zero)) == 0;
}

/* Entries the table has room for but apird did not fill read as zero. */
static const union ibv_gid *gid_at(struct apir_context *actx, uint32_t index)
{
	static const union ibv_gid zero;

	return (int)index < actx->gid_count ? &actx->gid[index] : &zero;
}

APIR_EXPORT int ibv_query_gid(struct ibv_context *context, uint8_t port_num,
			      int index, union ibv_gid *gid)
{
	struct apir_context *actx = to_actx(context);

	if (index < 0 || !gid_index_ok(actx, port_num, (uint32_t)index)) {
		errno = EINVAL;
		return -1;
	}
	*gid = *gid_at(actx, (uint32_t)index);
	return 0;
}

APIR_EXPORT int ibv_query_gid_type(struct ibv_context *context, uint8_t port_num,
				   unsigned int index, int *type)
{
	struct apir_context *actx = to_actx(context);

	if (!gid_index_ok(actx, port_num, index)) {
		errno = EINVAL;
		return -1;
	}
	*type = (int)index < actx->gid_count && actx->gid_type[index] == IBV_GID_TYPE_ROCE_V2 ?
			GID_TYPE_SYSFS_ROCE_V2 : GID_TYPE_SYSFS_IB_ROCE_V1;
	return 0;
}

static void gid_entry_fill(struct apir_context *actx, uint32_t index, struct ibv_gid_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->gid = *gid_at(actx, index);
	e->gid_index = index;
	e->port_num = 1;
	e->gid_type = actx->gid_type[index];
}

APIR_EXPORT int _ibv_query_gid_ex(struct ibv_context *context, uint32_t port_num,
				  uint32_t gid_index, struct ibv_gid_entry *entry,
				  uint32_t flags, size_t entry_size)
{
	struct apir_context *actx = to_actx(context);

	if (flags || entry_size < sizeof(*entry) || !gid_index_ok(actx, port_num, gid_index))
		return EINVAL;
	if (gid_empty(gid_at(actx, gid_index)))
		return ENODATA;
	gid_entry_fill(actx, gid_index, entry);
	return 0;
}

APIR_EXPORT ssize_t _ibv_query_gid_table(struct ibv_context *context,
					 struct ibv_gid_entry *entries, size_t max_entries,
					 uint32_t flags, size_t entry_size)
{
	struct apir_context *actx = to_actx(context);
	size_t n = 0;

	if (flags || entry_size < sizeof(*entries))
		return -EINVAL;
	for (uint32_t i = 0; i < (uint32_t)actx->port_attr.gid_tbl_len; i++) {
		if (gid_empty(gid_at(actx, i)))
			continue;
		if (n == max_entries)
			return -EINVAL;
		gid_entry_fill(actx, i, (struct ibv_gid_entry *)((uint8_t *)entries + n * entry_size));
		n++;
	}
	return (ssize_t)n;
}

/* The P_Key table is the default partition alone. */
APIR_EXPORT int ibv_query_pkey(struct ibv_context *context, uint8_t port_num,
			       int index, __be16 *pkey)
{
	struct apir_context *actx = to_actx(context);

	if (port_num != 1 || index < 0 || index >= actx->port_attr.pkey_tbl_len) {
		errno = EINVAL;
		return -1;
	}
	*pkey = index == 0 ? htobe16(0xffff) : 0;
	return 0;
}

APIR_EXPORT int ibv_get_pkey_index(struct ibv_context *context, uint8_t port_num,
				   __be16 pkey)
{
	__be16 entry;

	for (int i = 0; ibv_query_pkey(context, port_num, i, &entry) == 0; i++)
		if (entry == pkey)
			return i;
	errno = ENOENT;
	return -1;
}
