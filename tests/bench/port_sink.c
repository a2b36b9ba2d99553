/* SPDX-License-Identifier: MIT */
/*
 * port_sink: the host end of a guest's virtio-serial port for the raw port
 * throughput baseline (run_vm_bench.sh). QEMU's socket chardev connects to
 * SOCKET; a guest process writes BYTES bytes into its end of the port.
 *
 *   port_sink SOCKET BYTES    prints "BYTES SECONDS GB/s" (GB = 1e9 bytes)
 *
 * The clock runs from the first read to the one that completes BYTES, and
 * the bytes of that first read are not counted: what is timed is bytes
 * flowing, not the guest starting its writer. The chardev never reports
 * the guest closing the port, so the sink stops at BYTES, not at EOF; an
 * EOF before that (QEMU gone) is an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (1u << 20)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Listens on path (replacing a stale socket file); returns the fd or -1. */
static int listen_on(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "port_sink: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 1)) {
		fprintf(stderr, "port_sink: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return fd;
}

/* Reads want bytes from fd; sets *seconds to the timed span and returns
 * the bytes read in it, or 0 on error. */
static unsigned long long drain(int fd, unsigned long long want, double *seconds)
{
	static char buf[BUF_SIZE];
	unsigned long long got = 0, first = 0;
	double start = 0, end = 0;

	while (got < want) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "port_sink: %s after %llu of %llu bytes\n",
				n ? strerror(errno) : "EOF", got, want);
			return 0;
		}
		end = now_s();
		if (!got) {
			start = end;
			first = (unsigned long long)n;
		}
		got += (unsigned long long)n;
	}
	if (got == first || end <= start) {
		fprintf(stderr, "port_sink: everything came in one read: nothing to time\n");
		return 0;
	}
	*seconds = end - start;
	return got - first;
}

int main(int argc, char **argv)
{
	unsigned long long want, timed;
	double seconds = 0;
	int lfd, fd;

	if (argc != 3 || !(want = strtoull(argv[2], NULL, 0))) {
		fprintf(stderr, "usage: port_sink SOCKET BYTES\n");
		return 2;
	}
	lfd = listen_on(argv[1]);
	if (lfd < 0)
		return 1;
	fd = accept(lfd, NULL, NULL);
	if (fd < 0) {
		fprintf(stderr, "port_sink: accept: %s\n", strerror(errno));
		return 1;
	}
	timed = drain(fd, want, &seconds);
	if (!timed)
		return 1;
	printf("%llu %.4f %.3f\n", want, seconds, (double)timed / seconds / 1e9);
	close(fd);
	close(lfd);
	unlink(argv[1]);
	return 0;
}
