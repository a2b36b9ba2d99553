/* SPDX-License-Identifier: MIT */
/*
 * A frontend session of a real apird inside a fuzz target: the daemon,
 * session and dispatch code over a socketpair, no threads, no fabric.
 * apird serves each frame synchronously (apird_session_serve), so every
 * response is in the socket when a call returns.
 */
#ifndef APIR_FUZZ_SESSION_H
#define APIR_FUZZ_SESSION_H

#include <stdbool.h>

#include "apir.pb-c.h"
#include "apir/wire.h"
#include "apird.h"
#include "sw.h"
#include "test_daemon.h"
#include "session.h"

struct fuzz_client {
	struct apird *d;
	struct apird_session *s;     /* NULL once apird closed it */
	int sock;
	uint64_t next_id;
};

/* The apird of the fuzz target, started with default settings (logging
 * errors only) by this file's LLVMFuzzerInitialize. */
extern struct apird fuzz_apird;
/* A new session that sent a valid Hello; false if apird refused it. */
bool fuzz_client_open(struct fuzz_client *c, struct apird *d);
/* Sends one frame of raw payload and lets apird serve it, then throws the
 * answers away; false once apird closed the session. */
bool fuzz_client_send_raw(struct fuzz_client *c, const void *buf, size_t len);
/* One request with fds; the response (NULL: none), its fds in out_fds
 * (*num_out, at most APIR_MAX_FDS; the caller closes them). */
Apir__Response *fuzz_call(struct fuzz_client *c, Apir__Request *req, const int *fds,
			  unsigned int num_fds, int *out_fds, unsigned int *num_out);
/* Ends the session (everything it created is released) and reaps it. */
void fuzz_client_close(struct fuzz_client *c);

#endif /* APIR_FUZZ_SESSION_H */
