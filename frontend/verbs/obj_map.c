/* SPDX-License-Identifier: MIT */
/*
 * Per-context map from apird handles to frontend objects. Events (async
 * events, completion-channel records) name objects by handle; this turns
 * them back into the application's ibv_qp / ibv_cq / ibv_srq. A hash of
 * chains under one mutex: lookups happen per event, not per work request.
 */
#include <errno.h>
#include <stdlib.h>

#include "core.h"

#define OBJ_MAP_BUCKETS 256u

struct obj_entry {
	struct obj_entry *next;
	enum apir_obj_kind kind;
	uint32_t handle;
	void *obj;
};

struct apir_obj_map {
	pthread_mutex_t lock;
	struct obj_entry *bucket[OBJ_MAP_BUCKETS];
};

static unsigned int obj_bucket(enum apir_obj_kind kind, uint32_t handle)
{
	return (handle * 2654435761u + (uint32_t)kind) % OBJ_MAP_BUCKETS;
}

/* The link that points at the entry for (kind, handle), or at the chain's
 * terminating NULL. Caller holds the lock. */
static struct obj_entry **obj_slot(struct apir_obj_map *m, enum apir_obj_kind kind,
				   uint32_t handle)
{
	struct obj_entry **e = &m->bucket[obj_bucket(kind, handle)];

	while (*e && ((*e)->kind != kind || (*e)->handle != handle))
		e = &(*e)->next;
	return e;
}

int apir_obj_map_create(struct apir_context *actx)
{
	struct apir_obj_map *m = calloc(1, sizeof(*m));

	if (!m)
		return ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	actx->obj_map = m;
	return 0;
}

void apir_obj_map_destroy(struct apir_context *actx)
{
	struct apir_obj_map *m = actx->obj_map;

	if (!m)
		return;
	for (unsigned int i = 0; i < OBJ_MAP_BUCKETS; i++) {
		while (m->bucket[i]) {
			struct obj_entry *e = m->bucket[i];

			m->bucket[i] = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
	actx->obj_map = NULL;
}

int apir_obj_register(struct apir_context *actx, enum apir_obj_kind kind,
		      uint32_t handle, void *obj)
{
	struct apir_obj_map *m = actx->obj_map;
	struct obj_entry **slot;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	slot = obj_slot(m, kind, handle);
	if (*slot) {
		rc = EEXIST;   /* apird reused a live handle */
	} else {
		*slot = malloc(sizeof(**slot));
		if (*slot)
			**slot = (struct obj_entry){ .kind = kind, .handle = handle, .obj = obj };
		else
			rc = ENOMEM;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void apir_obj_unregister(struct apir_context *actx, enum apir_obj_kind kind,
			 uint32_t handle)
{
	struct apir_obj_map *m = actx->obj_map;
	struct obj_entry **slot, *e;

	pthread_mutex_lock(&m->lock);
	slot = obj_slot(m, kind, handle);
	e = *slot;
	if (e)
		*slot = e->next;
	pthread_mutex_unlock(&m->lock);
	free(e);
}

void *apir_obj_find(struct apir_context *actx, enum apir_obj_kind kind,
		    uint32_t handle)
{
	struct apir_obj_map *m = actx->obj_map;
	struct obj_entry *e;
	void *obj;

	pthread_mutex_lock(&m->lock);
	e = *obj_slot(m, kind, handle);
	obj = e ? e->obj : NULL;
	pthread_mutex_unlock(&m->lock);
	return obj;
}
