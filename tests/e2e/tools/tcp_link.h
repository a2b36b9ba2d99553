/* SPDX-License-Identifier: MIT */
/* The TCP connection between the two processes of a split verbs pair: one
 * listens, the other dials, then they exchange fixed-size messages. */
#ifndef TCP_LINK_H
#define TCP_LINK_H

#include <stddef.h>

/* Listens on every address at port, accepts one connection, stops
 * listening. Returns the connected fd, or -1 (reason printed). */
int tcp_accept_one(const char *port);
/* Connects to "HOST:PORT". Returns the fd, or -1 (reason printed). */
int tcp_dial(const char *host_port);
/* Whole messages or nothing: 0, or -1 on error, timeout or EOF (reason
 * printed unless it is a clean EOF before the first byte, then -2). */
int tcp_send_all(int fd, const void *buf, size_t len);
int tcp_recv_all(int fd, void *buf, size_t len);

#endif /* TCP_LINK_H */
