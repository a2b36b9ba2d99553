/* SPDX-License-Identifier: MIT */
/*
 * An apird for unit tests: the services main.c starts, and sessions bound
 * to the verbs service as a Hello would bind them, for tests that build
 * objects directly instead of through control calls.
 */
#ifndef TEST_DAEMON_H
#define TEST_DAEMON_H

#include "admin.h"
#include "apird.h"
#include "service.h"
#include "unix.h"
#include "unix_conn.h"
#include "unit.h"
#include "util.h"
#include "verbs.h"
#include "verbs_service.h"
#include "vm.h"

static const struct apird_service_ops *const test_services[] = {
	&apird_verbs_service,
	&apird_admin_service,
};

/* What main.c listens on. */
static const struct apird_listener_ops *const test_listeners[] = {
	&apird_unix_listener,
	&apird_vm_listener,
};

static inline int test_listen(struct apird *d)
{
	return apird_listen(d, test_listeners, APIRD_ARRAY_SIZE(test_listeners));
}

/* VMs without sockets: the test attaches streams itself (apird_vm_add). */
static inline void *test_vm_listener(struct apird *d)
{
	static const struct apird_listener_ops *const vms[] = { &apird_vm_listener };

	CU_ASSERT_FATAL(apird_listen(d, vms, 1) == 0);
	return d->listeners[d->num_listeners - 1].priv;
}

static inline int test_daemon_init(struct apird *d, const struct apird_config *cfg)
{
	return apird_daemon_init(d, cfg, test_services, APIRD_ARRAY_SIZE(test_services));
}

static inline struct verbs_dev *test_verbs_dev(const struct apird *d)
{
	return apird_service_find(d, apird_verbs_service.name)->priv;
}

/* A unix session on sock (taken over), bound to the verbs service. */
static inline struct apird_session *test_verbs_session(struct apird *d, int sock)
{
	struct apird_session *s = apird_unix_session_create(d, sock);

	CU_ASSERT_FATAL(s != NULL);
	s->service = apird_service_find(d, apird_verbs_service.name);
	CU_ASSERT_FATAL(apird_verbs_service.session_open(s) == 0);
	return s;
}

#endif /* TEST_DAEMON_H */
