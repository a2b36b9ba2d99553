/* SPDX-License-Identifier: MIT */
/* The verbs service, for main.c's services[] (service.c). */
#ifndef APIRD_VERBS_SERVICE_H
#define APIRD_VERBS_SERVICE_H

#include "service.h"

extern const struct apird_service_ops apird_verbs_service;

#endif /* APIRD_VERBS_SERVICE_H */
