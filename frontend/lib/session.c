/* SPDX-License-Identifier: MIT */
/*
 * A session with apird: one control connection, and what the handshake
 * (Hello) sets up for the data plane, each transport its own way: the
 * session page apird writes, the doorbell that wakes it, the async event
 * fd. apird keeps one session per connection and ends it when the
 * connection closes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apir/log.h"
#include "conn.h"

int apir_session_connect(struct apir_session *s, const struct apir_transport *t,
			 const char *path)
{
	s->page = NULL;
	s->doorbell_fd = -1;
	s->async_fd = -1;
	return apir_conn_connect(&s->conn, t, path);
}

static int hello_check(const Apir__Response *resp)
{
	if (resp->body_case != APIR__RESPONSE__BODY_HELLO) {
		apir_warn("malformed handshake reply from apird");
		return EPROTO;
	}
	if (resp->hello->protocol_version != APIR_PROTOCOL_VERSION) {
		apir_warn("apird speaks protocol %u, this library %u",
			  resp->hello->protocol_version, APIR_PROTOCOL_VERSION);
		return EPROTONOSUPPORT;
	}
	return 0;
}

int apir_session_hello(struct apir_session *s, uint64_t features)
{
	const struct apir_transport *t = s->conn.t;
	Apir__Hello hello = APIR__HELLO__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	Apir__Response *resp = NULL;
	int fds[APIR_HELLO_FDS];
	unsigned int nfds = 0;
	int rc;

	hello.protocol_version = APIR_PROTOCOL_VERSION;
	hello.features = features;
	hello.client_name = program_invocation_short_name;
	hello.pid = (uint32_t)getpid();
	req.body_case = APIR__REQUEST__BODY_HELLO;
	req.hello = &hello;
	rc = t->hello_prepare(s, &hello);
	if (!rc)
		rc = apir_rpc(s, &req, NULL, 0, &resp, fds, &nfds, APIR_HELLO_FDS);
	if (!rc)
		rc = hello_check(resp);
	if (!rc)
		apir_dbg("session %llu with %s over %s", (unsigned long long)resp->hello->session_id,
			 resp->hello->server_name, t->name);
	if (resp)
		apir__response__free_unpacked(resp, NULL);
	if (rc) {
		apir_close_fds(fds, nfds);
		nfds = 0;
	}
	return t->hello_finish(s, &hello, rc, fds, nfds);
}

void apir_session_close(struct apir_session *s)
{
	if (s->conn.t)
		s->conn.t->session_end(s);
	apir_conn_close(&s->conn);
}

bool apir_session_dead(struct apir_session *s)
{
	struct apir_conn *c = &s->conn;

	if (atomic_load_explicit(&c->dead, memory_order_relaxed))
		return true;
	if (s->page && atomic_load_explicit(&s->page->device_fatal, memory_order_acquire)) {
		apir_conn_fail(c, "apird", ESHUTDOWN);
		return true;
	}
	if (c->t->hung_up(c)) {
		apir_conn_fail(c, "apird", ECONNRESET);
		return true;
	}
	return false;
}

int apir_rpc_destroy(struct apir_session *s, Apir__Request *req)
{
	int rc = apir_rpc_simple(s, req, APIR__RESPONSE__BODY__NOT_SET, NULL);

	if (rc && apir_session_dead(s))
		return 0;
	return rc;
}
