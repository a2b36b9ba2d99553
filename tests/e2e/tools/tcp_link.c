/* SPDX-License-Identifier: MIT */
#include "tcp_link.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "verbs_pair.h"

/* A responder waiting for a completion answers within VP_WAIT_SECONDS; a
 * peer that says nothing for this long (times vp_time_factor()) is gone (a
 * cut link sends no FIN). */
#define TCP_LINK_TIMEOUT_S 60

static int fail_errno(const char *what)
{
	fprintf(stderr, "tcp_link: %s: %s\n", what, strerror(errno));
	return -1;
}

/* Small request/reply messages: no Nagle delay, bounded waits. */
static int tune(int fd)
{
	struct timeval tv = { .tv_sec = (time_t)TCP_LINK_TIMEOUT_S * vp_time_factor() };
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		fail_errno("setsockopt");
		close(fd);
		return -1;
	}
	return fd;
}

int tcp_accept_one(const char *port)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *ai;
	int one = 1, lfd, fd, rc;

	rc = getaddrinfo(NULL, port, &hints, &ai);
	if (rc) {
		fprintf(stderr, "tcp_link: port '%s': %s\n", port, gai_strerror(rc));
		return -1;
	}
	lfd = socket(ai->ai_family, ai->ai_socktype, 0);
	if (lfd < 0) {
		freeaddrinfo(ai);
		return fail_errno("socket");
	}
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, ai->ai_addr, ai->ai_addrlen) || listen(lfd, 1)) {
		fail_errno("listen");
		freeaddrinfo(ai);
		close(lfd);
		return -1;
	}
	freeaddrinfo(ai);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		fail_errno("accept");
	close(lfd);
	return fd < 0 ? -1 : tune(fd);
}

int tcp_dial(const char *host_port)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	char host[256];
	const char *colon = strrchr(host_port, ':');
	struct addrinfo *ai;
	int fd, rc;

	if (!colon || colon == host_port || (size_t)(colon - host_port) >= sizeof(host)) {
		fprintf(stderr, "tcp_link: '%s' is not HOST:PORT\n", host_port);
		return -1;
	}
	memcpy(host, host_port, (size_t)(colon - host_port));
	host[colon - host_port] = '\0';
	rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc) {
		fprintf(stderr, "tcp_link: %s: %s\n", host_port, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, ai->ai_socktype, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		fprintf(stderr, "tcp_link: connect to %s: %s\n", host_port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return tune(fd);
}

int tcp_send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail_errno("send");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int tcp_recv_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, p + got, len - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && got == 0)
			return -2;
		if (n == 0) {
			fprintf(stderr, "tcp_link: peer closed mid-message\n");
			return -1;
		}
		if (n < 0)
			return fail_errno(errno == EAGAIN ? "recv (timed out)" : "recv");
		got += (size_t)n;
	}
	return 0;
}
