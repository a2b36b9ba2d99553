/* SPDX-License-Identifier: MIT */
/*
 * One control call: a decoded request, the fds that came with it, and the
 * response being built. Verb handlers (one file per object kind) fill the
 * response or fail the call with apird_fail().
 */
#ifndef APIRD_DISPATCH_H
#define APIRD_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "apir.pb-c.h"
#include "apir/wire.h"
#include "apird.h"
#include "session.h"

/* The device has one port. */
#define APIRD_PORT_NUM 1u
/* The largest CQ: APIRD_MAX_CQE, within the ring ABI's bound on rings. */
#define APIRD_CQE_LIMIT \
	(APIRD_MAX_CQE < APIR_MAX_RING_ENTRIES ? APIRD_MAX_CQE : APIR_MAX_RING_ENTRIES)

/* Storage for every response body, so handlers allocate nothing. */
union apird_reply {
	Apir__HelloReply hello;
	Apir__DeviceAttr device_attr;
	Apir__PortAttr port_attr;
	struct {
		Apir__GidTable table;
		Apir__GidEntry entry;
		Apir__GidEntry *entries[1];
	} gid_table;
	Apir__Handle handle;
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
	Apir__Empty empty;
};

struct apird_call {
	struct apird_session *s;
	struct apird *d;
	const Apir__Request *req;
	struct apir_frame *in;       /* its fds: a handler keeps one with apird_call_take_fd() */
	Apir__Response resp;
	union apird_reply reply;
	int out_fds[APIR_MAX_FDS];   /* sent with the response */
	bool out_close[APIR_MAX_FDS];/* closed once sent (false: apird keeps using it) */
	unsigned int num_out_fds;
	bool close_session;          /* after the response is sent */
	/* Frees what a handler allocated for a response too large for reply;
	 * called once the response was sent or dropped. */
	void (*release_reply)(struct apird_call *c);
	void *reply_storage;
	char error[256];
};

/* Serves one received frame. Returns false when it closed the session
 * (undecodable frame, failed send, handshake refused). */
bool apird_dispatch(struct apird_session *s, struct apir_frame *in);
/* The same for a request already decoded from in (the virtio-serial reader
 * decodes first); frees req. */
bool apird_dispatch_request(struct apird_session *s, Apir__Request *req, struct apir_frame *in);

/* Fails the call: records a reason for the response and returns err
 * (a positive errno) for the handler to return. */
int apird_fail(struct apird_call *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Takes ownership of received fd i (the frame will not close it). */
int apird_call_take_fd(struct apird_call *c, unsigned int i);
/* Attaches fd to the response; close_after: apird closes it once sent. */
void apird_call_send_fd(struct apird_call *c, int fd, bool close_after);
/* Replies with a Handle body. */
void apird_reply_handle(struct apird_call *c, uint32_t handle);

/* Ring sizes are powers of two: the smallest one >= n (n <= 2^31). */
static inline uint32_t apird_ring_entries(uint32_t n)
{
	uint32_t e = 1;

	while (e < n)
		e <<= 1;
	return e;
}

/* Handlers: return 0 or a positive errno (via apird_fail). */
int apird_do_hello(struct apird_call *c);
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
/* Operator requests: only on a session whose Hello said APIR_TRANSPORT_ADMIN. */
int apird_do_admin_status(struct apird_call *c);

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
void apird_qp_set_state(struct apird *d, struct apird_qp *qp, enum ibv_qp_state state);

/* The session's object with this handle in table t (handles of other
 * sessions mean nothing here), or NULL after failing the call with EINVAL
 * naming kind ("PD", "CQ"). */
void *apird_call_object(struct apird_call *c, const struct apird_table *t, uint32_t handle,
			const char *kind);

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

#endif /* APIRD_DISPATCH_H */
