/* SPDX-License-Identifier: MIT */
/*
 * The listening socket and the loop, run in a forked apird: stale and live
 * sockets, the sleeping flag after the spin budget, wake-up by a control
 * message, and a clean SIGTERM (device_fatal, EOF on the async pipe,
 * socket removed, exit status 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apir.pb-c.h"
#include "apir/wire.h"
#include "test_daemon.h"
#include "unit.h"

static char dir[32];
static char sock_path[64];

static void paths_make(void)
{
	snprintf(dir, sizeof(dir), "/tmp/apird-server-XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	/* A directory apird has to create. */
	snprintf(sock_path, sizeof(sock_path), "%s/run/apird.sock", dir);
}

static void paths_remove(void)
{
	char sub[48];

	unlink(sock_path);
	snprintf(sub, sizeof(sub), "%s/run", dir);
	rmdir(sub);
	rmdir(dir);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int connect_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* An apird in a child process; returns once it accepts connections. */
static pid_t daemon_start(uint32_t spin_us)
{
	pid_t pid = fork();

	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct apird_config cfg;
		struct apird d = { 0 };
		int rc;

		apir_log_init("apird-test", APIR_LOG_ERROR);
		apird_config_defaults(&cfg);
		snprintf(cfg.socket_path, sizeof(cfg.socket_path), "%s", sock_path);
		cfg.spin_us = spin_us;
		if (test_daemon_init(&d, &cfg) || apird_loop_catch_signals(&d) || test_listen(&d))
			_exit(10);
		rc = apird_loop_run(&d);
		apird_daemon_fini(&d);
		_exit(rc ? 11 : 0);
	}
	for (unsigned int i = 0; i < 200 * apir_unit_time_factor(); i++) {
		int fd = connect_to(sock_path);

		if (fd >= 0) {
			close(fd);
			break;
		}
		sleep_ms(10);
	}
	return pid;
}

static int daemon_stop(pid_t pid)
{
	int st = 0;

	kill(pid, SIGTERM);
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* One request, one response (fds kept in fds[], count in *num_fds). */
static Apir__Response *rpc(int sock, Apir__Request *req, int *fds, unsigned int *num_fds)
{
	uint8_t buf[512];
	size_t len = apir__request__get_packed_size(req);
	struct pollfd p = { .fd = sock, .events = POLLIN };
	struct apir_frame f;
	Apir__Response *resp;

	CU_ASSERT_FATAL(len <= sizeof(buf));
	apir__request__pack(req, buf);
	CU_ASSERT_FATAL(apir_frame_send(sock, buf, len, NULL, 0) == 0);
	CU_ASSERT_FATAL(poll(&p, 1, 2000) == 1);
	CU_ASSERT_FATAL(apir_frame_recv(sock, &f) == 0);
	resp = apir__response__unpack(NULL, f.len, f.buf);
	memcpy(fds, f.fds, sizeof(f.fds));
	*num_fds = f.num_fds;
	f.num_fds = 0;
	apir_frame_release(&f);
	CU_ASSERT_FATAL(resp != NULL);
	return resp;
}

struct session_fds {
	int sock;
	struct apir_session_page *page;
	int async_fd;
};

static void hello(struct session_fds *s)
{
	Apir__Hello h = APIR__HELLO__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	Apir__Response *resp;
	int fds[APIR_MAX_FDS];
	unsigned int n;

	s->sock = connect_to(sock_path);
	CU_ASSERT_FATAL(s->sock >= 0);
	h.protocol_version = APIR_PROTOCOL_VERSION;
	h.client_name = "test_server";
	req.id = 1;
	req.body_case = APIR__REQUEST__BODY_HELLO;
	req.hello = &h;
	resp = rpc(s->sock, &req, fds, &n);
	CU_ASSERT_FATAL(resp->status == 0 && n == 3);
	apir__response__free_unpacked(resp, NULL);
	s->page = mmap(NULL, APIR_PAGE_SIZE, PROT_READ, MAP_SHARED, fds[0], 0);
	CU_ASSERT_FATAL(s->page != MAP_FAILED);
	s->async_fd = fds[2];
	close(fds[0]);
	close(fds[1]);
}

static void session_close(struct session_fds *s)
{
	munmap(s->page, APIR_PAGE_SIZE);
	close(s->async_fd);
	close(s->sock);
}

static bool wait_sleeping(const struct session_fds *s, uint32_t want)
{
	for (unsigned int i = 0; i < 1000 * apir_unit_time_factor(); i++) {
		if (atomic_load(&s->page->engine_sleeping) == want)
			return true;
		sleep_ms(1);
	}
	return false;
}

static void test_stale_socket_replaced(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char sub[48];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	paths_make();
	snprintf(sub, sizeof(sub), "%s/run", dir);
	CU_ASSERT_FATAL(mkdir(sub, 0755) == 0);
	/* A socket file nobody listens on: what a SIGKILLed apird leaves. */
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	close(fd);
	pid = daemon_start(50);
	fd = connect_to(sock_path);
	CU_ASSERT(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(daemon_stop(pid), 0);
	CU_ASSERT_NOT_EQUAL(access(sock_path, F_OK), 0);
	paths_remove();
}

static void test_live_socket_refused(void)
{
	struct apird_config cfg;
	struct apird d = { 0 };
	struct session_fds s;
	char file[64];
	pid_t pid;
	int fd;

	paths_make();
	pid = daemon_start(50);
	hello(&s);
	apird_config_defaults(&cfg);
	snprintf(cfg.socket_path, sizeof(cfg.socket_path), "%s", sock_path);
	CU_ASSERT_FATAL(test_daemon_init(&d, &cfg) == 0);
	CU_ASSERT_EQUAL(test_listen(&d), -EADDRINUSE);
	/* Refused, it must not have removed the live apird's socket. */
	apird_daemon_fini(&d);
	CU_ASSERT_EQUAL(access(sock_path, F_OK), 0);
	snprintf(file, sizeof(file), "%s/plain-file", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	close(fd);
	memset(&d, 0, sizeof(d));
	snprintf(cfg.socket_path, sizeof(cfg.socket_path), "%s", file);
	CU_ASSERT_FATAL(test_daemon_init(&d, &cfg) == 0);
	CU_ASSERT_EQUAL(test_listen(&d), -EEXIST);
	apird_daemon_fini(&d);
	CU_ASSERT_EQUAL(access(file, F_OK), 0);
	unlink(file);
	session_close(&s);
	CU_ASSERT_EQUAL(daemon_stop(pid), 0);
	paths_remove();
}

/* Idle past the spin budget, apird sets engine_sleeping; a control message
 * wakes it; SIGTERM ends it cleanly and tells the session. */
static void test_sleep_wake_and_stop(void)
{
	Apir__QueryDevice qd = APIR__QUERY_DEVICE__INIT;
	Apir__Request req = APIR__REQUEST__INIT;
	Apir__Response *resp;
	struct session_fds s;
	int fds[APIR_MAX_FDS];
	unsigned int n;
	char c;
	pid_t pid;

	paths_make();
	pid = daemon_start(50);
	hello(&s);
	CU_ASSERT(wait_sleeping(&s, 1));
	req.id = 2;
	req.body_case = APIR__REQUEST__BODY_QUERY_DEVICE;
	req.query_device = &qd;
	resp = rpc(s.sock, &req, fds, &n);
	CU_ASSERT_EQUAL(resp->status, 0);
	CU_ASSERT_EQUAL(resp->id, 2);
	apir__response__free_unpacked(resp, NULL);
	CU_ASSERT(wait_sleeping(&s, 1));
	CU_ASSERT_EQUAL(atomic_load(&s.page->device_fatal), 0);
	CU_ASSERT_EQUAL(daemon_stop(pid), 0);
	CU_ASSERT_EQUAL(atomic_load(&s.page->device_fatal), 1);
	CU_ASSERT_EQUAL(read(s.async_fd, &c, 1), 0);
	CU_ASSERT_NOT_EQUAL(access(sock_path, F_OK), 0);
	session_close(&s);
	paths_remove();
}

static CU_TestInfo server_tests[] = {
	{ "stale socket replaced", test_stale_socket_replaced },
	{ "live socket refused", test_live_socket_refused },
	{ "sleep, wake and stop", test_sleep_wake_and_stop },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "server", server_tests })
