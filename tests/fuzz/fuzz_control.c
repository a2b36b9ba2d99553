/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a frontend's control plane as apird serves it. Each
 * input is one session of a real apird (the daemon, session and dispatch
 * code, no fabric): a valid Hello, then the input's frames (fuzz_control.h),
 * each served and answered, then the session's end, which must release
 * everything it created (LeakSanitizer). A hostile frontend may get errors
 * or lose its session; apird may never crash, read out of bounds or leak.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apir.pb-c.h"
#include "apir/wire.h"
#include "control.h"
#include "fuzz_control.h"
#include "session.h"

static struct apird d;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct apird_config cfg;

	(void)argc;
	(void)argv;
	apir_log_init("apird-fuzz", APIR_LOG_ERROR);
	apird_config_defaults(&cfg);
	if (apird_daemon_init(&d, &cfg))
		abort();
	return 0;
}

/* Reads every response apird wrote, closing the fds they carry. */
static void drain(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	struct apir_frame f;

	while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) && apir_frame_recv(sock, &f) == 0)
		apir_frame_release(&f);
}

/* Sends one frame and lets apird serve it; false once apird closed the
 * session. */
static bool exchange(struct apird_session *s, int sock, const void *buf, size_t len)
{
	bool alive;

	if (apir_frame_send(sock, buf, len, NULL, 0))
		return false;
	alive = apird_session_serve(s);
	drain(sock);
	sw_engine_poll(&d);
	return alive;
}

static bool hello(struct apird_session *s, int sock)
{
	Apir__Hello h = APIR__HELLO__INIT;
	Apir__Request r = APIR__REQUEST__INIT;
	uint8_t buf[256];

	h.protocol_version = APIR_PROTOCOL_VERSION;
	h.features = APIR_FEAT_ALL;
	h.client_name = "fuzz";
	r.id = 1;
	r.body_case = APIR__REQUEST__BODY_HELLO;
	r.hello = &h;
	if (apir__request__get_packed_size(&r) > sizeof(buf))
		abort();
	return exchange(s, sock, buf, apir__request__pack(&r, buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct apird_session *s;
	int sp[2];
	bool alive;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp))
		abort();
	s = apird_session_create(&d, sp[1]);
	if (!s)
		abort();
	alive = hello(s, sp[0]);
	while (alive && size >= FUZZ_FRAME_LEN_BYTES) {
		size_t len = (size_t)data[0] | (size_t)data[1] << 8;

		data += FUZZ_FRAME_LEN_BYTES;
		size -= FUZZ_FRAME_LEN_BYTES;
		if (len > size)
			len = size;
		alive = exchange(s, sp[0], data, len);
		data += len;
		size -= len;
	}
	if (alive)
		apird_session_close(s, "fuzz input done");
	apird_sessions_reap(&d);
	close(sp[0]);
	return 0;
}
