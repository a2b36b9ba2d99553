/* SPDX-License-Identifier: MIT */
/*
 * A verbs engine: what executes the objects the verbs service validated
 * and owns (PDs, MRs, CQs, SRQs, QPs, AHs, their rings, keys and numbers).
 * Handlers call the engine only through this table; the engine attaches
 * its own state to the objects. The device's engine is chosen by the
 * config key "engine" (engines[] in service.c); "sw" is the default. A
 * NULL member means the engine has nothing to do there.
 */
#ifndef APIRD_VERBS_ENGINE_H
#define APIRD_VERBS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "verbs.h"

struct verbs_engine_ops {
	const char *name;
	/* Starts the engine on d (registers its pollers with d->apird).
	 * Returns 0 or -errno (the reason is logged). */
	int (*start)(struct verbs_dev *d, const struct apird_config *cfg);
	void (*stop)(struct verbs_dev *d);
	/* Whether an address vector may name gid: this apird's GID, or one
	 * the engine can reach. */
	bool (*gid_reachable)(const struct verbs_dev *d, const union ibv_gid *gid);
	/* A region was registered (keys assigned) / is going away: its pages
	 * may still be in use by the engine after dereg (it then takes over
	 * mr->map, setting it NULL, and unmaps it later). */
	int (*reg_mr)(struct verbs_dev *d, struct apird_mr *mr);
	void (*dereg_mr)(struct verbs_dev *d, struct apird_mr *mr);
	/* Before a validated ModifyQp's attributes are stored: an address
	 * vector may move the QP's peer. Returns 0 or -errno with err set. */
	int (*modify_qp)(struct verbs_dev *d, struct apird_qp *qp, const struct ibv_qp_attr *attr,
			 uint32_t mask, char *err, size_t err_len);
	/* Moves qp to state (validated by the caller) and publishes it. */
	void (*set_qp_state)(struct verbs_dev *d, struct apird_qp *qp, enum ibv_qp_state state);
	/* Before qp is freed: forget it everywhere. */
	void (*destroy_qp)(struct verbs_dev *d, struct apird_qp *qp);
};

/* The engines this apird was built with (service.c). */
extern const struct verbs_engine_ops apird_sw_engine;

#endif /* APIRD_VERBS_ENGINE_H */
