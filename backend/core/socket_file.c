/* SPDX-License-Identifier: MIT */
/*
 * Listening unix sockets at paths of the file system (the control socket,
 * each VM's port and monitor): parent directories created, a stale socket
 * file replaced, a live one refused, and on shutdown only our own file
 * unlinked (a successor may have replaced it).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "apir/log.h"
#include "socket_file.h"

/* mkdir -p of the directory that holds path. */
static int make_parent_dirs(const char *path)
{
	char dir[APIRD_SOCKET_PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

static void unix_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", path);
}

/* An existing socket file is replaced only if nobody answers on it. */
static int clear_stale_socket(const char *path)
{
	struct sockaddr_un a;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		apir_err("%s exists and is not a socket; not replacing it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unix_addr(&a, path);
	rc = connect(fd, (struct sockaddr *)&a, sizeof(a)) ? errno : 0;
	close(fd);
	if (rc == ECONNREFUSED) {
		apir_info("replacing stale socket %s", path);
		return unlink(path) && errno != ENOENT ? -errno : 0;
	}
	apir_err("%s: another apird is running (connect: %s)", path, rc ? strerror(rc) : "accepted");
	return -EADDRINUSE;
}

int apird_socket_listen(const char *path, struct stat *st)
{
	struct sockaddr_un a;
	int fd, rc;

	rc = make_parent_dirs(path);
	if (!rc)
		rc = clear_stale_socket(path);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unix_addr(&a, path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, SOMAXCONN) || stat(path, st)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

void apird_socket_unlink(const char *path, const struct stat *st)
{
	struct stat now;

	if (!stat(path, &now) && now.st_dev == st->st_dev && now.st_ino == st->st_ino)
		unlink(path);
}
