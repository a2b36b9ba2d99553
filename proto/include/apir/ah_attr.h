/* SPDX-License-Identifier: MIT */
/* ibv_ah_attr on the wire (apir.AhAttr), for the frontend and apird alike. */
#ifndef APIR_AH_ATTR_H
#define APIR_AH_ATTR_H

#include <infiniband/verbs.h>

#include "apir.pb-c.h"

/* Initializes m from ah; m->dgid points into ah, which must outlive the
 * packing of m (packing only reads through it). */
void apir_ah_attr_to_msg(const struct ibv_ah_attr *ah, Apir__AhAttr *m);

#endif /* APIR_AH_ATTR_H */
