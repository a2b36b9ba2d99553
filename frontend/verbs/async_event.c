/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous events. async_fd is the read end of a pipe whose write end
 * only apird holds; apird writes apir_async_event_rec records naming
 * objects by handle. EOF means apird is gone: that is reported once as
 * IBV_EVENT_DEVICE_FATAL, as a device that disappeared would be.
 */
#include <errno.h>
#include <unistd.h>

#include "core.h"

/* The object kind an event type names (APIR_OBJ_NONE: no element). */
static enum apir_obj_kind event_obj_kind(enum ibv_event_type t)
{
	switch (t) {
	case IBV_EVENT_QP_FATAL:
	case IBV_EVENT_QP_REQ_ERR:
	case IBV_EVENT_QP_ACCESS_ERR:
	case IBV_EVENT_COMM_EST:
	case IBV_EVENT_SQ_DRAINED:
	case IBV_EVENT_PATH_MIG:
	case IBV_EVENT_PATH_MIG_ERR:
	case IBV_EVENT_QP_LAST_WQE_REACHED:
		return APIR_OBJ_QP;
	case IBV_EVENT_CQ_ERR:
		return APIR_OBJ_CQ;
	case IBV_EVENT_SRQ_ERR:
	case IBV_EVENT_SRQ_LIMIT_REACHED:
		return APIR_OBJ_SRQ;
	case IBV_EVENT_PORT_ACTIVE:
	case IBV_EVENT_PORT_ERR:
	case IBV_EVENT_LID_CHANGE:
	case IBV_EVENT_PKEY_CHANGE:
	case IBV_EVENT_SM_CHANGE:
	case IBV_EVENT_CLIENT_REREGISTER:
	case IBV_EVENT_GID_CHANGE:
		return APIR_OBJ_PORT;
	default:
		return APIR_OBJ_NONE;
	}
}

/* Fills event from rec; false if the record is to be skipped (its object
 * was destroyed meanwhile, or the record does not make sense). */
static bool event_from_record(struct apir_context *actx, const struct apir_async_event_rec *rec,
			      struct ibv_async_event *event)
{
	enum ibv_event_type type = (enum ibv_event_type)rec->event_type;
	enum apir_obj_kind kind = event_obj_kind(type);
	void *obj;

	event->event_type = type;
	if (type == IBV_EVENT_DEVICE_FATAL) {
		__atomic_store_n(&actx->async_fatal_reported, true, __ATOMIC_RELAXED);
		return true;
	}
	if (kind == APIR_OBJ_NONE || rec->obj_kind != kind || rec->obj_handle > UINT32_MAX) {
		apir_warn("apird sent an async event that names no object (type %u, kind %u): dropped",
			  rec->event_type, rec->obj_kind);
		return false;
	}
	if (kind == APIR_OBJ_PORT) {
		event->element.port_num = (int)rec->obj_handle;
		return true;
	}
	obj = apir_obj_find(actx, kind, (uint32_t)rec->obj_handle);
	if (kind == APIR_OBJ_QP)
		event->element.qp = obj;
	else if (kind == APIR_OBJ_CQ)
		event->element.cq = obj;
	else
		event->element.srq = obj;
	return obj != NULL;
}

static int device_fatal_once(struct apir_context *actx, struct ibv_async_event *event)
{
	if (__atomic_exchange_n(&actx->async_fatal_reported, true, __ATOMIC_RELAXED)) {
		errno = EIO;
		return -1;
	}
	event->event_type = IBV_EVENT_DEVICE_FATAL;
	event->element.port_num = 0;
	return 0;
}

APIR_EXPORT int ibv_get_async_event(struct ibv_context *context, struct ibv_async_event *event)
{
	struct apir_context *actx = to_actx(context);
	struct apir_async_event_rec rec;
	ssize_t n;

	for (;;) {
		n = read(context->async_fd, &rec, sizeof(rec));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n != (ssize_t)sizeof(rec))
			return device_fatal_once(actx, event);   /* EOF: apird is gone */
		if (event_from_record(actx, &rec, event))
			return 0;
	}
}

/* Counted on the object, as rdma-core does, so that destroying it can wait
 * until every event that named it was acknowledged. */
APIR_EXPORT void ibv_ack_async_event(struct ibv_async_event *event)
{
	pthread_mutex_t *lock;
	pthread_cond_t *cond;
	uint32_t *count;

	switch (event_obj_kind(event->event_type)) {
	case APIR_OBJ_QP:
		lock = &event->element.qp->mutex;
		cond = &event->element.qp->cond;
		count = &event->element.qp->events_completed;
		break;
	case APIR_OBJ_CQ:
		lock = &event->element.cq->mutex;
		cond = &event->element.cq->cond;
		count = &event->element.cq->async_events_completed;
		break;
	case APIR_OBJ_SRQ:
		lock = &event->element.srq->mutex;
		cond = &event->element.srq->cond;
		count = &event->element.srq->events_completed;
		break;
	default:
		return;
	}
	pthread_mutex_lock(lock);
	++*count;
	pthread_cond_signal(cond);
	pthread_mutex_unlock(lock);
}
