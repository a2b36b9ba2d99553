/* SPDX-License-Identifier: MIT */
/* The client library's control connection: request/response matching,
 * status to errno, fd passing both ways, and a dead apird (EOF, bad frames,
 * fatal). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "apir/client.h"
#include "unit.h"

static struct apir_session *session;
static int server = -1;
static struct apir_session_page page;

/* A connected session whose apird end is `server`. */
static void connect_pair(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int lsock = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "/tmp/apir-test-conn.%d", getpid());
	unlink(addr.sun_path);
	CU_ASSERT_FATAL(bind(lsock, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	CU_ASSERT_FATAL(listen(lsock, 1) == 0);
	session = calloc(1, sizeof(*session));
	CU_ASSERT_FATAL(session != NULL);
	CU_ASSERT_FATAL(apir_session_connect(session, &apir_transport_unix, addr.sun_path) == 0);
	server = accept(lsock, NULL, NULL);
	CU_ASSERT_FATAL(server >= 0);
	close(lsock);
	unlink(addr.sun_path);
	memset(&page, 0, sizeof(page));
	session->page = &page;
}

static void disconnect_pair(void)
{
	session->page = NULL;   /* not apird's: nothing to unmap */
	apir_session_close(session);
	free(session);
	close(server);
}

/* Queues a response on the apird end before the call that reads it. */
static void queue_response(uint64_t id, int status, uint32_t handle, const int *fds, unsigned int nfds)
{
	Apir__Response resp = APIR__RESPONSE__INIT;
	Apir__Handle h = APIR__HANDLE__INIT;
	uint8_t buf[256];
	size_t len;

	resp.id = id;
	resp.status = status;
	resp.num_fds = nfds;
	if (!status) {
		h.handle = handle;
		resp.body_case = APIR__RESPONSE__BODY_HANDLE;
		resp.handle = &h;
	}
	len = apir__response__pack(&resp, buf);
	CU_ASSERT_FATAL(apir_frame_send(server, buf, len, fds, nfds) == 0);
}

/* The request apird received. */
static Apir__Request *server_request(struct apir_frame *f)
{
	Apir__Request *req;

	CU_ASSERT_FATAL(apir_frame_recv(server, f) == 0);
	req = apir__request__unpack(NULL, f->len, f->buf);
	CU_ASSERT_FATAL(req != NULL);
	return req;
}

static int call_alloc_pd(Apir__Response **resp, const int *fds, unsigned int nfds,
			 int *out_fds, unsigned int *n_out, unsigned int max_out)
{
	Apir__AllocPd body = APIR__ALLOC_PD__INIT;
	Apir__Request req = APIR__REQUEST__INIT;

	req.body_case = APIR__REQUEST__BODY_ALLOC_PD;
	req.alloc_pd = &body;
	return apir_rpc(session, &req, fds, nfds, resp, out_fds, n_out, max_out);
}

static void test_call_and_reply(void)
{
	Apir__Response *resp;
	Apir__Request *req;
	struct apir_frame f;

	connect_pair();
	queue_response(1, 0, 42, NULL, 0);
	CU_ASSERT_EQUAL(call_alloc_pd(&resp, NULL, 0, NULL, NULL, 0), 0);
	CU_ASSERT_FATAL(resp != NULL);
	CU_ASSERT_EQUAL(resp->body_case, APIR__RESPONSE__BODY_HANDLE);
	CU_ASSERT_EQUAL(resp->handle->handle, 42);
	apir__response__free_unpacked(resp, NULL);
	req = server_request(&f);
	CU_ASSERT_EQUAL(req->id, 1);
	CU_ASSERT_EQUAL(req->num_fds, 0);
	CU_ASSERT_EQUAL(req->body_case, APIR__REQUEST__BODY_ALLOC_PD);
	apir__request__free_unpacked(req, NULL);
	apir_frame_release(&f);
	CU_ASSERT_FALSE(apir_session_dead(session));
	disconnect_pair();
}

static void test_status_is_errno(void)
{
	Apir__Response *resp = (void *)1;

	connect_pair();
	queue_response(1, EEXIST, 0, NULL, 0);
	CU_ASSERT_EQUAL(call_alloc_pd(&resp, NULL, 0, NULL, NULL, 0), EEXIST);
	CU_ASSERT_PTR_NULL(resp);
	CU_ASSERT_FALSE(apir_session_dead(session));
	disconnect_pair();
}

static void test_fds_both_ways(void)
{
	Apir__Response *resp;
	Apir__Request *req;
	struct apir_frame f;
	int p[2], out[2];
	unsigned int n_out;
	char c = 'x';

	connect_pair();
	CU_ASSERT_FATAL(pipe(p) == 0);
	queue_response(1, 0, 1, p, 2);
	CU_ASSERT_EQUAL(call_alloc_pd(&resp, &p[1], 1, out, &n_out, 2), 0);
	CU_ASSERT_EQUAL(n_out, 2);
	apir__response__free_unpacked(resp, NULL);
	req = server_request(&f);
	CU_ASSERT_EQUAL(req->num_fds, 1);
	CU_ASSERT_EQUAL(f.num_fds, 1);
	/* the fds travelled: write through the received write end, read from ours */
	CU_ASSERT_EQUAL(write(f.fds[0], &c, 1), 1);
	c = 0;
	CU_ASSERT_EQUAL(read(out[0], &c, 1), 1);
	CU_ASSERT_EQUAL(c, 'x');
	apir__request__free_unpacked(req, NULL);
	apir_frame_release(&f);
	close(out[0]);
	close(out[1]);
	/* more fds than the caller accepts fail the call */
	queue_response(2, 0, 1, p, 2);
	CU_ASSERT_EQUAL(call_alloc_pd(&resp, NULL, 0, out, &n_out, 1), EPROTO);
	CU_ASSERT_EQUAL(n_out, 0);
	close(p[0]);
	close(p[1]);
	disconnect_pair();
}

static void test_wrong_id_kills_connection(void)
{
	Apir__Response *resp;

	connect_pair();
	queue_response(7, 0, 1, NULL, 0);
	CU_ASSERT_EQUAL(call_alloc_pd(&resp, NULL, 0, NULL, NULL, 0), EIO);
	CU_ASSERT_TRUE(apir_session_dead(session));
	/* later calls fail at once */
	queue_response(2, 0, 1, NULL, 0);
	CU_ASSERT_EQUAL(call_alloc_pd(&resp, NULL, 0, NULL, NULL, 0), EIO);
	disconnect_pair();
}

static void test_eof_is_dead(void)
{
	Apir__Response *resp;

	connect_pair();
	CU_ASSERT_FALSE(apir_session_dead(session));
	shutdown(server, SHUT_WR);
	CU_ASSERT_TRUE(apir_session_dead(session));
	CU_ASSERT_EQUAL(call_alloc_pd(&resp, NULL, 0, NULL, NULL, 0), EIO);
	disconnect_pair();
}

static void test_fatal_flag_is_dead(void)
{
	connect_pair();
	atomic_store(&page.device_fatal, 1);
	CU_ASSERT_TRUE(apir_session_dead(session));
	disconnect_pair();
}

static CU_TestInfo conn_tests[] = {
	{ "call and reply", test_call_and_reply },
	{ "failure status is the errno", test_status_is_errno },
	{ "fds both ways", test_fds_both_ways },
	{ "wrong response id kills the connection", test_wrong_id_kills_connection },
	{ "EOF is a dead apird", test_eof_is_dead },
	{ "device_fatal is a dead apird", test_fatal_flag_is_dead },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "conn", conn_tests })
