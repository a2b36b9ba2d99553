/* SPDX-License-Identifier: MIT */
/* The operator's status service, for main.c's services[] (admin_status.c). */
#ifndef APIRD_ADMIN_H
#define APIRD_ADMIN_H

#include "service.h"

struct apird_call;

extern const struct apird_service_ops apird_admin_service;

/* AdminStatus: the device, the sessions and the QPs, a page at a time. */
int apird_do_admin_status(struct apird_call *c);

#endif /* APIRD_ADMIN_H */
