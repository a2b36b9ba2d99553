/* SPDX-License-Identifier: MIT */
/* Listening unix sockets at file system paths (socket_file.c). */
#ifndef APIRD_SOCKET_FILE_H
#define APIRD_SOCKET_FILE_H

#include <sys/stat.h>

#include "config.h"

/* A listening unix stream socket at path (parent directories created, a
 * stale socket file replaced, a live one refused), O_NONBLOCK. Returns the
 * fd and the socket file's identity in *st, or -errno. */
int apird_socket_listen(const char *path, struct stat *st);
/* Unlinks path if it still is the socket file *st (a successor may have
 * replaced it). */
void apird_socket_unlink(const char *path, const struct stat *st);

#endif /* APIRD_SOCKET_FILE_H */
