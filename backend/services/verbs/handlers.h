/* SPDX-License-Identifier: MIT */
/*
 * The verbs service's handlers (one file per object kind) and what they
 * share: device limits of the wire, the reply storage, teardown of one
 * object kind at a time. Private to services/verbs.
 */
#ifndef APIRD_VERBS_HANDLERS_H
#define APIRD_VERBS_HANDLERS_H

#include <stdbool.h>
#include <stdint.h>

#include "apir.pb-c.h"
#include "apir/wire.h"
#include "dispatch.h"
#include "engine.h"
#include "transport.h"
#include "verbs.h"

/* The device has one port. */
#define APIRD_PORT_NUM 1u
/* The largest CQ: APIRD_MAX_CQE, within the ring ABI's bound on rings. */
#define APIRD_CQE_LIMIT \
	(APIRD_MAX_CQE < APIR_MAX_RING_ENTRIES ? APIRD_MAX_CQE : APIR_MAX_RING_ENTRIES)

/* Storage for every response body, so handlers allocate nothing. */
union verbs_reply {
	Apir__DeviceAttr device_attr;
	Apir__PortAttr port_attr;
	struct {
		Apir__GidTable table;
		Apir__GidEntry entry;
		Apir__GidEntry *entries[1];
	} gid_table;
	Apir__RegMrReply reg_mr;
	Apir__CreateCqReply create_cq;
	Apir__CreateSrqReply create_srq;
	Apir__SrqAttr srq_attr;
	struct {
		Apir__CreateQpReply reply;
		Apir__QpCap cap;
	} create_qp;
	struct {
		Apir__QueryQpReply reply;
		Apir__QpAttr attr;
		Apir__QpCap cap;
		Apir__QpCap attr_cap;
		Apir__AhAttr ah;
		Apir__AhAttr alt_ah;
	} query_qp;
	Apir__CreateAhReply create_ah;
};

_Static_assert(sizeof(union verbs_reply) <= APIRD_REPLY_STORAGE,
	       "the verbs replies must fit the call's reply storage");

/* The call's reply storage as the verbs replies. */
static inline union verbs_reply *verbs_reply(struct apird_call *c)
{
	return (union verbs_reply *)(void *)c->reply.service;
}

/* The call's verbs device and session. */
static inline struct verbs_dev *call_dev(const struct apird_call *c)
{
	return verbs_dev_of(c->s);
}

static inline struct verbs_session *call_session(const struct apird_call *c)
{
	return verbs_session(c->s);
}

/* Ring sizes are powers of two: the smallest one >= n (n <= 2^31). */
static inline uint32_t apird_ring_entries(uint32_t n)
{
	uint32_t e = 1;

	while (e < n)
		e <<= 1;
	return e;
}

/* Handlers: return 0 or a positive errno (via apird_fail). */
int apird_do_query_device(struct apird_call *c);
int apird_do_query_port(struct apird_call *c);
int apird_do_query_gid_table(struct apird_call *c);
int apird_do_alloc_pd(struct apird_call *c);
int apird_do_dealloc_pd(struct apird_call *c);
int apird_do_reg_mr(struct apird_call *c);
int apird_do_dereg_mr(struct apird_call *c);
int apird_do_create_comp_channel(struct apird_call *c);
int apird_do_destroy_comp_channel(struct apird_call *c);
int apird_do_create_cq(struct apird_call *c);
int apird_do_destroy_cq(struct apird_call *c);
int apird_do_create_srq(struct apird_call *c);
int apird_do_modify_srq(struct apird_call *c);
int apird_do_query_srq(struct apird_call *c);
int apird_do_destroy_srq(struct apird_call *c);
int apird_do_create_qp(struct apird_call *c);
int apird_do_modify_qp(struct apird_call *c);
int apird_do_query_qp(struct apird_call *c);
int apird_do_destroy_qp(struct apird_call *c);
int apird_do_create_ah(struct apird_call *c);
int apird_do_destroy_ah(struct apird_call *c);

/* Session teardown, one kind at a time (in this order: QPs, AHs, SRQs,
 * CQs, MRs, channels, PDs). */
void apird_qp_destroy(struct apird_session *s, struct apird_qp *qp);
void apird_ah_destroy(struct apird_session *s, struct apird_ah *ah);
void apird_srq_destroy(struct apird_session *s, struct apird_srq *srq);
void apird_cq_destroy(struct apird_session *s, struct apird_cq *cq);
void apird_mr_destroy(struct apird_session *s, struct apird_mr *mr);
void apird_channel_destroy(struct apird_session *s, struct apird_comp_channel *ch);
void apird_pd_destroy(struct apird_session *s, struct apird_pd *pd);

/* Moves a QP to state (validated by the caller), publishes it to the
 * frontend and tells the engine. */
void apird_qp_set_state(struct verbs_dev *d, struct apird_qp *qp, enum ibv_qp_state state);


/* address_vector.c: ibv_ah_attr from the wire, checked against what this
 * apird can reach; and back for QueryQp. */
int apird_av_from_msg(struct apird_call *c, const Apir__AhAttr *m, struct ibv_ah_attr *av);

/* qp_attr.c: ibv_qp_attr from the wire, every field in attr_mask checked. */
int apird_qp_attr_from_msg(struct apird_call *c, const struct apird_qp *qp,
			   const Apir__QpAttr *m, uint32_t attr_mask, struct ibv_qp_attr *attr);
/* Stores the fields named by attr_mask into qp->attr. */
void apird_qp_attr_store(struct apird_qp *qp, const struct ibv_qp_attr *attr, uint32_t attr_mask);
void apird_qp_cap_to_msg(const struct ibv_qp_cap *cap, Apir__QpCap *m);
void apird_qp_attr_to_msg(const struct apird_qp *qp, Apir__QpAttr *m, Apir__QpCap *cap,
			  Apir__AhAttr *ah, Apir__AhAttr *alt_ah);

/* A ring's shared area through the session's transport (transport.h). */
int apird_ring_area_open(struct apird_call *c, const char *name, size_t len,
			 Apir__GpaExtent *const *ring, size_t num_ring, void **area);
void apird_ring_area_close(struct apird_session *s, void *area, size_t len);

#endif /* APIRD_VERBS_HANDLERS_H */
