/* SPDX-License-Identifier: MIT */
#include "fuzz_session.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FUZZ_FRAME_MAX 4096u

struct apird fuzz_apird;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct apird_config cfg;

	(void)argc;
	(void)argv;
	apir_log_init("apird-fuzz", APIR_LOG_ERROR);
	apird_config_defaults(&cfg);
	if (test_daemon_init(&fuzz_apird, &cfg))
		abort();
	return 0;
}

static bool has_frame(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void drain(struct fuzz_client *c)
{
	struct apir_frame f;

	while (has_frame(c->sock) && apir_frame_recv(c->sock, &f) == 0)
		apir_frame_release(&f);
}

static bool serve(struct fuzz_client *c, const void *buf, size_t len, const int *fds,
		  unsigned int num_fds)
{
	if (!c->s || apir_frame_send(c->sock, buf, len, fds, num_fds))
		return false;
	if (!apird_unix_session_serve(c->s))
		c->s = NULL;
	return c->s != NULL;
}

bool fuzz_client_send_raw(struct fuzz_client *c, const void *buf, size_t len)
{
	bool alive = serve(c, buf, len, NULL, 0);

	drain(c);
	return alive;
}

Apir__Response *fuzz_call(struct fuzz_client *c, Apir__Request *req, const int *fds,
			  unsigned int num_fds, int *out_fds, unsigned int *num_out)
{
	uint8_t buf[FUZZ_FRAME_MAX];
	Apir__Response *resp = NULL;
	struct apir_frame f;
	size_t len;

	*num_out = 0;
	req->id = c->next_id++;
	req->num_fds = num_fds;
	len = apir__request__get_packed_size(req);
	if (len > sizeof(buf))
		abort();
	apir__request__pack(req, buf);
	serve(c, buf, len, fds, num_fds);
	if (!has_frame(c->sock) || apir_frame_recv(c->sock, &f))
		return NULL;
	resp = apir__response__unpack(NULL, f.len, f.buf);
	if (resp) {
		memcpy(out_fds, f.fds, sizeof(f.fds));
		*num_out = f.num_fds;
		f.num_fds = 0;
	}
	apir_frame_release(&f);
	drain(c);
	return resp;
}

bool fuzz_client_open(struct fuzz_client *c, struct apird *d)
{
	Apir__Hello h = APIR__HELLO__INIT;
	Apir__Request r = APIR__REQUEST__INIT;
	Apir__Response *resp;
	int sp[2], fds[APIR_MAX_FDS];
	unsigned int n;
	bool ok;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp))
		abort();
	memset(c, 0, sizeof(*c));
	c->d = d;
	c->sock = sp[0];
	c->next_id = 1;
	c->s = apird_unix_session_create(d, sp[1]);
	if (!c->s)
		abort();
	h.protocol_version = APIR_PROTOCOL_VERSION;
	h.features = APIR_FEAT_ALL;
	h.client_name = "fuzz";
	r.body_case = APIR__REQUEST__BODY_HELLO;
	r.hello = &h;
	resp = fuzz_call(c, &r, NULL, 0, fds, &n);
	ok = resp && resp->status == 0;
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]);
	if (resp)
		apir__response__free_unpacked(resp, NULL);
	return ok;
}

void fuzz_client_close(struct fuzz_client *c)
{
	if (c->s)
		apird_session_close(c->s, "fuzz input done");
	apird_sessions_reap(c->d);
	close(c->sock);
	c->s = NULL;
}
