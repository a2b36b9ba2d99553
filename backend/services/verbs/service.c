/* SPDX-License-Identifier: MIT */
/*
 * The verbs service: libibverbs' calls (handlers in one file per object
 * kind), the device they act on, and the order in which a session's
 * objects are released. The device's engine is the config's "engine"
 * (engines[]); the sw engine reaches other apirds through a remote link
 * (links[]) when fabric_addr is set.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apir/log.h"
#include "dispatch.h"
#include "engine.h"
#include "handlers.h"
#include "service.h"
#include "util.h"
#include "verbs_service.h"
#ifdef APIR_ENGINE_FABRIC
#include "fabric.h"
#endif

static const struct verbs_engine_ops *const engines[] = {
	&apird_sw_engine,
};

#define VERB(body, fn, fds) [APIR__REQUEST__BODY_##body] = { #fn, apird_do_##fn, fds }

static const struct apird_handler handlers[] = {
	VERB(QUERY_DEVICE, query_device, 0),
	VERB(QUERY_PORT, query_port, 0),
	VERB(QUERY_GID_TABLE, query_gid_table, 0),
	VERB(ALLOC_PD, alloc_pd, 0),
	VERB(DEALLOC_PD, dealloc_pd, 0),
	VERB(REG_MR, reg_mr, 1),
	VERB(DEREG_MR, dereg_mr, 0),
	VERB(CREATE_COMP_CHANNEL, create_comp_channel, 1),
	VERB(DESTROY_COMP_CHANNEL, destroy_comp_channel, 0),
	VERB(CREATE_CQ, create_cq, 0),
	VERB(DESTROY_CQ, destroy_cq, 0),
	VERB(CREATE_SRQ, create_srq, 0),
	VERB(MODIFY_SRQ, modify_srq, 0),
	VERB(QUERY_SRQ, query_srq, 0),
	VERB(DESTROY_SRQ, destroy_srq, 0),
	VERB(CREATE_QP, create_qp, 0),
	VERB(MODIFY_QP, modify_qp, 0),
	VERB(QUERY_QP, query_qp, 0),
	VERB(DESTROY_QP, destroy_qp, 0),
	VERB(CREATE_AH, create_ah, 0),
	VERB(DESTROY_AH, destroy_ah, 0),
};

static const struct verbs_engine_ops *engine_named(const char *name)
{
	for (size_t i = 0; i < APIRD_ARRAY_SIZE(engines); i++)
		if (!strcmp(engines[i]->name, name))
			return engines[i];
	return NULL;
}

static void log_unknown_engine(const char *name)
{
	char known[128] = "";

	for (size_t i = 0; i < APIRD_ARRAY_SIZE(engines); i++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "",
			 engines[i]->name);
	apir_err("engine '%s' is not one of this apird's engines: %s", name, known);
}

/* The remote link the device gets: the fabric when fabric_addr is set. */
static int pick_link(struct verbs_dev *d, const struct apird_config *cfg)
{
	if (!cfg->fabric_enabled)
		return 0;
#ifdef APIR_ENGINE_FABRIC
	d->remote_link = &apird_fabric_link;
	return 0;
#else
	(void)d;
	apir_err("fabric_addr is set but this apird was built without the fabric engine "
		 "(-DAPIR_ENGINE_FABRIC=OFF)");
	return -ENOTSUP;
#endif
}

static int verbs_start(struct apird *apird, void **priv)
{
	const struct apird_config *cfg = &apird->cfg;
	struct verbs_dev *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	d->apird = apird;
	d->next_qpn = 2;
	d->next_srqn = 2;
	/* With the fabric on, the GID names this apird's fabric address. */
	apird_gid_from_ipv4(&d->gid, cfg->fabric_enabled ? cfg->fabric_ip : cfg->gid_ipv4);
	d->engine = engine_named(cfg->engine);
	if (!d->engine) {
		log_unknown_engine(cfg->engine);
		rc = -EINVAL;
	} else {
		rc = pick_link(d, cfg);
	}
	if (!rc)
		rc = d->engine->start(d, cfg);
	if (rc) {
		free(d);
		return rc;
	}
	*priv = d;
	return 0;
}

static void verbs_stop(struct apird *apird, void *priv)
{
	struct verbs_dev *d = priv;

	(void)apird;
	d->engine->stop(d);
	apird_num_map_fini(&d->qps);
	apird_num_map_fini(&d->srqs);
	apird_num_map_fini(&d->mr_keys);
	free(d);
}

static int verbs_session_open(struct apird_session *s)
{
	struct verbs_session *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	apird_table_init(&v->pds, APIRD_MAX_PD);
	apird_table_init(&v->mrs, APIRD_MAX_MR);
	apird_table_init(&v->channels, APIRD_MAX_CQ);
	apird_table_init(&v->cqs, APIRD_MAX_CQ);
	apird_table_init(&v->srqs, APIRD_MAX_SRQ);
	apird_table_init(&v->qps, APIRD_MAX_QP);
	apird_table_init(&v->ahs, APIRD_MAX_AH);
	s->priv = v;
	return 0;
}

#define DESTROY_ALL(s, v, table, destroy)                                                \
	for (uint32_t h_ = apird_table_next(&(v)->table, 0); h_;                         \
	     h_ = apird_table_next(&(v)->table, h_))                                     \
		destroy((s), apird_table_get(&(v)->table, h_))

/* Dependents first: QPs hold CQs, SRQs and PDs; CQs hold channels. */
static void verbs_session_close(struct apird_session *s)
{
	struct verbs_session *v = verbs_session(s);

	DESTROY_ALL(s, v, qps, apird_qp_destroy);
	DESTROY_ALL(s, v, ahs, apird_ah_destroy);
	DESTROY_ALL(s, v, srqs, apird_srq_destroy);
	DESTROY_ALL(s, v, cqs, apird_cq_destroy);
	DESTROY_ALL(s, v, mrs, apird_mr_destroy);
	DESTROY_ALL(s, v, channels, apird_channel_destroy);
	DESTROY_ALL(s, v, pds, apird_pd_destroy);
	apird_table_fini(&v->pds);
	apird_table_fini(&v->mrs);
	apird_table_fini(&v->channels);
	apird_table_fini(&v->cqs);
	apird_table_fini(&v->srqs);
	apird_table_fini(&v->qps);
	apird_table_fini(&v->ahs);
	free(v);
	s->priv = NULL;
}

/* Every QP to ERR, so the frontend sees its outstanding work flushed. */
static void verbs_session_fatal(struct apird_session *s)
{
	struct verbs_session *v = verbs_session(s);

	for (uint32_t h = apird_table_next(&v->qps, 0); h; h = apird_table_next(&v->qps, h)) {
		struct apird_qp *qp = apird_table_get(&v->qps, h);

		if (qp->state != IBV_QPS_ERR)
			apird_qp_set_state(verbs_dev_of(s), qp, IBV_QPS_ERR);
	}
}

static void verbs_session_describe(const struct apird_session *s, char *buf, size_t len)
{
	const struct verbs_session *v = verbs_session(s);

	snprintf(buf, len, "%u QPs, %u CQs, %u SRQs, %u MRs, %u PDs, %u AHs, %u completion channels",
		 v->qps.count, v->cqs.count, v->srqs.count, v->mrs.count, v->pds.count,
		 v->ahs.count, v->channels.count);
}

const struct apird_service_ops apird_verbs_service = {
	.name = "verbs",
	.handlers = handlers,
	.num_handlers = APIRD_ARRAY_SIZE(handlers),
	.data_plane = true,
	.start = verbs_start,
	.stop = verbs_stop,
	.session_open = verbs_session_open,
	.session_close = verbs_session_close,
	.session_fatal = verbs_session_fatal,
	.session_describe = verbs_session_describe,
};

void apird_session_async_event(struct apird_session *s, enum ibv_event_type type,
			       enum apir_obj_kind kind, uint32_t handle)
{
	struct apir_async_event_rec rec = {
		.event_type = (uint32_t)type,
		.obj_kind = (uint32_t)kind,
		.obj_handle = handle,
	};

	apird_session_notify(s, APIRD_SINK_ASYNC, &rec, sizeof(rec));
}

/* A session that has not said Hello yet has no objects. */
struct apird_ah *apird_ah_lookup(struct apird_session *s, uint32_t handle)
{
	const struct verbs_session *v = verbs_session(s);

	return v ? apird_table_get(&v->ahs, handle) : NULL;
}

const union ibv_gid *apird_local_gid(const struct verbs_dev *d)
{
	return &d->gid;
}
